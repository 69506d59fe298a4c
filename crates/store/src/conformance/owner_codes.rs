//! Owner sign-in codes and sessions: scoped to one company, redacted in
//! every listing, and limits that hold under parallel requests.

use super::booking::owner_with_room;
use super::fixture;
use crate::*;
use doorstep_domain::EstateCode;
use std::sync::Arc;

const PHONE: &str = "13700000001";

fn code(phone: &str, company_id: Option<i64>, now: i64, message: Option<&str>) -> NewCode {
    NewCode {
        phone: phone.into(),
        code_hash: format!("hash-{now}"),
        client: "127.0.0.1".into(),
        company_id,
        now,
        expires_at: now + 300,
        resend_after: 60,
        per_hour: 5,
        message: message.map(|body| NewMessage {
            estate_id: None,
            channel: "sms".into(),
            recipient: phone.into(),
            kind: "code".into(),
            body: body.into(),
            due_at: now,
        }),
    }
}

fn session(token: &str, company_id: i64, now: i64) -> NewOwnerSession {
    NewOwnerSession {
        token_hash: token.into(),
        phone: PHONE.into(),
        company_id,
        now,
        expires_at: now + 1000,
    }
}

async fn second_company(s: &Arc<dyn Store>) -> (Company, Estate) {
    let c = s
        .create_company("安居物业", "91110000MA01ABCD2Q")
        .await
        .unwrap();
    let e = s
        .create_estate(
            c.id,
            &EstateInput {
                code: EstateCode::parse("calm").unwrap(),
                name: "安居小区".into(),
                timezone: "Asia/Shanghai".into(),
                office: "物业中心".into(),
            },
        )
        .await
        .unwrap();
    (c, e)
}

fn stored(r: CodeSend) -> i64 {
    match r {
        CodeSend::Stored(id) => id,
        CodeSend::Refused(s) => panic!("refused: {s:?}"),
    }
}

/// Codes: stored hashed with their message, redacted in listings, tried
/// within their limit, one use; a session belongs to the code's company.
pub async fn owner_codes_and_sessions(s: Arc<dyn Store>) {
    let (a, ea, _) = fixture(&s).await;
    let (b, eb) = second_company(&s).await;
    let (oa, _) = owner_with_room(&s, ea.id, "1", "101", PHONE).await;
    let (ob, _) = owner_with_room(&s, eb.id, "9", "909", PHONE).await;
    // Where the phone is on file, and its owners per company only.
    assert_eq!(
        s.phone_on_file(PHONE).await.unwrap(),
        vec![(a.id, ea.id), (b.id, eb.id)]
    );
    assert!(s.phone_on_file("13700000009").await.unwrap().is_empty());
    let ids = |v: Vec<Owner>| v.into_iter().map(|o| o.id).collect::<Vec<_>>();
    assert_eq!(
        ids(s.owners_by_phone(PHONE, a.id).await.unwrap()),
        vec![oa.id]
    );
    assert_eq!(
        ids(s.owners_by_phone(PHONE, b.id).await.unwrap()),
        vec![ob.id]
    );
    assert!(
        s.owners_by_phone("13700000009", a.id)
            .await
            .unwrap()
            .is_empty()
    );

    // A code for company A: the listing never shows its text; delivery does.
    let id = stored(
        s.insert_code(&code(PHONE, Some(a.id), 1000, Some("验证码 123456")))
            .await
            .unwrap(),
    );
    let listed = s.outbox(Some(PHONE), 5).await.unwrap();
    assert_eq!(listed[0].body, REDACTED_CODE_TEXT);
    assert_eq!(s.outbox(None, 5).await.unwrap()[0].body, REDACTED_CODE_TEXT);
    let due = s.due_messages(1000, 10).await.unwrap();
    assert_eq!(due[0].body, "验证码 123456");
    // Sent: its text is forgotten in the row itself.
    assert!(s.claim_message(due[0].id, 1001).await.unwrap());
    s.redact_sent_code(due[0].id).await.unwrap();
    assert!(s.due_messages(2000, 10).await.unwrap().is_empty());

    // Tries are counted up to the limit; the right code then opens one
    // session, of company A, once.
    let t = s.try_code(PHONE, 1100, 5).await.unwrap().unwrap();
    assert_eq!(
        (t.id, t.code_hash.as_str(), t.attempts, t.company_id),
        (id, "hash-1000", 1, Some(a.id))
    );
    s.code_failed(PHONE, "127.0.0.1", 1110).await.unwrap();
    assert_eq!(s.code_failures(PHONE, 1000).await.unwrap(), vec![1110]);
    assert!(s.code_failures(PHONE, 1110).await.unwrap().is_empty());
    assert!(
        s.try_code(PHONE, 1300, 5).await.unwrap().is_none(),
        "expired"
    );
    assert!(s.use_code(id, &session("tok", a.id, 1120)).await.unwrap());
    assert!(!s.use_code(id, &session("tok2", a.id, 1121)).await.unwrap());
    assert!(s.try_code(PHONE, 1130, 5).await.unwrap().is_none(), "used");
    assert_eq!(
        s.owner_session("tok", 1500).await.unwrap(),
        Some(OwnerSessionInfo {
            phone: PHONE.into(),
            company_id: a.id
        })
    );
    assert_eq!(s.owner_session("tok2", 1500).await.unwrap(), None);
    assert_eq!(s.owner_session("tok", 2120).await.unwrap(), None);
    s.delete_owner_session("tok").await.unwrap();
    assert_eq!(s.owner_session("tok", 1500).await.unwrap(), None);

    // A code of no company (never texted) is counted but opens nothing;
    // nor does a code opened for another company than its own.
    let decoy = stored(
        s.insert_code(&code("13700000009", None, 5000, None))
            .await
            .unwrap(),
    );
    let t = s.try_code("13700000009", 5001, 5).await.unwrap().unwrap();
    assert_eq!((t.attempts, t.company_id), (1, None));
    let mut other = session("tok3", a.id, 5002);
    other.phone = "13700000009".into();
    assert!(!s.use_code(decoy, &other).await.unwrap());
    let real = stored(
        s.insert_code(&code(PHONE, Some(b.id), 5000, Some("验证码 654321")))
            .await
            .unwrap(),
    );
    assert!(
        !s.use_code(real, &session("tok4", a.id, 5003))
            .await
            .unwrap()
    );
    assert!(
        s.use_code(real, &session("tok4", b.id, 5003))
            .await
            .unwrap()
    );
    assert_eq!(
        s.owner_session("tok4", 5004)
            .await
            .unwrap()
            .map(|x| x.company_id),
        Some(b.id)
    );
}

/// The phone's counter: one code per resend interval, a ceiling per hour;
/// a new code withdraws the older one still waiting.
pub async fn code_sends_follow_the_phone_limits(s: Arc<dyn Store>) {
    let (a, _, _) = fixture(&s).await;
    stored(
        s.insert_code(&code(PHONE, Some(a.id), 1000, Some("一")))
            .await
            .unwrap(),
    );
    let again = s
        .insert_code(&code(PHONE, Some(a.id), 1059, Some("二")))
        .await
        .unwrap();
    assert_eq!(
        again,
        CodeSend::Refused(PhoneSends {
            window_start: 1000,
            sent: 1,
            last_at: 1000
        })
    );
    for (i, at) in [1060, 1120, 1180, 1240].into_iter().enumerate() {
        stored(
            s.insert_code(&code(PHONE, Some(a.id), at, Some(&format!("第{i}"))))
                .await
                .unwrap(),
        );
    }
    // Five in the hour from 1000: the sixth waits for the window to end.
    assert!(matches!(
        s.insert_code(&code(PHONE, Some(a.id), 2000, Some("六")))
            .await
            .unwrap(),
        CodeSend::Refused(PhoneSends { sent: 5, .. })
    ));
    stored(
        s.insert_code(&code(PHONE, Some(a.id), 4600, Some("新")))
            .await
            .unwrap(),
    );
    // Only the newest code waits to be sent; the others were withdrawn.
    let due = s.due_messages(5000, 50).await.unwrap();
    assert_eq!(
        due.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        vec!["新"]
    );
}

/// 60 parallel wrong tries on one code count exactly the limit, and the
/// right code afterwards finds no tries left.
pub async fn parallel_tries_count_exactly_the_limit(s: Arc<dyn Store>) {
    let (a, _, _) = fixture(&s).await;
    let id = stored(
        s.insert_code(&code(PHONE, Some(a.id), 1000, Some("验证码")))
            .await
            .unwrap(),
    );
    let tries = (0..60).map(|_| {
        let s = s.clone();
        tokio::spawn(async move { s.try_code(PHONE, 1001, 5).await.unwrap() })
    });
    let mut counted: Vec<i64> = Vec::new();
    for t in tries {
        if let Some(c) = t.await.unwrap() {
            assert_eq!(c.id, id);
            counted.push(c.attempts);
        }
    }
    counted.sort_unstable();
    assert_eq!(counted, vec![1, 2, 3, 4, 5]);
    assert!(s.try_code(PHONE, 1002, 5).await.unwrap().is_none());
}

/// 30 parallel requests for a code to one phone queue exactly one (the
/// resend interval), and without an interval exactly the hourly ceiling.
pub async fn parallel_code_requests_queue_within_limits(s: Arc<dyn Store>) {
    let (a, _, _) = fixture(&s).await;
    let fire = |phone: &'static str, resend_after: i64| {
        let reqs = (0..30).map(|i| {
            let s = s.clone();
            let mut c = code(phone, Some(a.id), 1000, Some("验证码"));
            c.code_hash = format!("h{i}");
            c.resend_after = resend_after;
            tokio::spawn(async move { s.insert_code(&c).await.unwrap() })
        });
        futures_join(reqs.collect())
    };
    let stored_of = |v: Vec<CodeSend>| {
        v.iter()
            .filter(|r| matches!(r, CodeSend::Stored(_)))
            .count()
    };
    assert_eq!(stored_of(fire(PHONE, 60).await), 1);
    assert_eq!(stored_of(fire("13700000002", 0).await), 5);
    let queued = |p: &'static str| {
        let s = s.clone();
        async move { s.outbox(Some(p), 100).await.unwrap().len() }
    };
    assert_eq!(queued(PHONE).await, 1);
    assert_eq!(queued("13700000002").await, 5);
}

async fn futures_join(handles: Vec<tokio::task::JoinHandle<CodeSend>>) -> Vec<CodeSend> {
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}
