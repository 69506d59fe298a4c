//! E-receipts and the evidence log through the application, on a real
//! SQLite file: a cash payment at the door is receipted and signed at once;
//! the receipt verifies by note, PDF and number, and a changed byte does
//! not; keys rotate; a failed signing leaves the payment standing and the
//! receipt pending until the job signs it, with no number skipped; voids
//! need a second person and stay verifiable as void; proofs and dispute
//! bundles verify; tampering with stored records is found and named.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use doorstep_app::App;
use doorstep_app::booking::{BookingRequest, By, Target};
use doorstep_app::collect::{CashInput, CheckinInput};
use doorstep_app::demo::{SAMPLE_PASSWORD, seed_collecting, seed_sample};
use doorstep_domain::{Fen, ObjectKind};
use doorstep_store::NewPayment;
use std::sync::Arc;

fn next_weekday() -> jiff::civil::Date {
    let tz = jiff::tz::TimeZone::get("Asia/Shanghai").unwrap();
    let mut d = jiff::Timestamp::now().to_zoned(tz).date();
    loop {
        d = d.tomorrow().unwrap();
        if d.weekday().to_monday_one_offset() <= 5 {
            return d;
        }
    }
}

async fn raw(pool: &sqlx::SqlitePool, sql: &str) {
    sqlx::query(sql).execute(pool).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_and_evidence_from_the_door_to_a_dispute() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("d.sqlite");
    let store = Arc::new(doorstep_store_sqlite::open(&file).await.unwrap());
    let (_sim, _, wechat, alipay) = doorstep_paysim::kit::start(0, |c| c.notify = false)
        .await
        .unwrap();
    let app = App::new(store.clone());
    let ids = seed_sample(&app).await.unwrap();
    seed_collecting(&app, "sample", &wechat, &alipay)
        .await
        .unwrap();
    let login = |u: &'static str| {
        let app = app.clone();
        async move { app.login(u, SAMPLE_PASSWORD).await.unwrap().user }
    };
    let disp = login("s-dispatcher").await;
    let fin = login("s-finance").await;
    let admin = login("s-admin").await;
    let day = next_weekday();
    let b = app
        .create_booking(
            By::Staff(&disp),
            "sample",
            &BookingRequest {
                targets: vec![Target {
                    kind: ObjectKind::Room,
                    id: ids.room_202,
                }],
                date: day.to_string(),
                start: "19:00".into(),
                pays_cash: true,
                call_first: false,
                note: String::new(),
                contact_phone: String::new(),
            },
        )
        .await
        .unwrap();
    app.plan_dispatch(&disp, "sample", day, None, 200)
        .await
        .unwrap();
    let cid = app
        .store
        .booking(b.booking.id)
        .await
        .unwrap()
        .collector_id
        .unwrap();
    let collector = app.store.user(cid).await.unwrap();
    let company = collector.company_id;

    // At the door: check in, take cash. The receipt is issued at once.
    app.open_shift(&collector, "sample").await.unwrap();
    app.check_in(
        &collector,
        b.booking.id,
        &CheckinInput {
            lat: Some(31.2304),
            lng: Some(121.4737),
            accuracy: Some(12.0),
            fix_at_ms: None,
            device: "test-phone".into(),
            client_key: Some("checkin-0001".into()),
            offline: false,
        },
    )
    .await
    .unwrap();
    let cash = app
        .record_cash(
            &collector,
            b.booking.id,
            &CashInput {
                amount: "100.00".into(),
                tendered: Some("100.00".into()),
                client_key: "cash-receipt-0001".into(),
                taken_at_ms: None,
                offline: false,
                shift_id: None,
                prepay: false,
            },
        )
        .await
        .unwrap();
    // The answer carries the receipt's number and link at once; the
    // signature comes in the sequencer's next batch, or when the link is
    // first opened, whichever is first.
    let link = cash.receipt.clone().expect("a receipt for the cash");
    assert_eq!(link.status, "pending");
    assert!(link.url.contains("/r/"), "{}", link.url);
    let receipt_texts = |sms: Vec<doorstep_store::Message>| {
        sms.iter()
            .filter(|m| m.kind == "receipt" && m.body.contains(&link.url))
            .count()
    };
    assert_eq!(receipt_texts(app.store.outbox(None, 50).await.unwrap()), 0);
    let token = link.url.rsplit('/').next().unwrap().to_string();
    let opened = app.receipt_by_token(&token).await.unwrap();
    assert_eq!(opened.status, "issued");
    let r = app
        .store
        .receipt_of_payment(cash.payment.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.status, "issued");
    let note = r.note.clone().unwrap();
    assert!(note.starts_with("doorstep-receipt/v1\n"));
    // The owner's phone gets the link, once: the receipt job finds nothing
    // left to sign and texts nothing more.
    assert_eq!(receipt_texts(app.store.outbox(None, 50).await.unwrap()), 1);
    app.issue_pending_receipts("test").await.unwrap();
    assert_eq!(receipt_texts(app.store.outbox(None, 50).await.unwrap()), 1);

    // The visit ends; the visit report counts it exactly: one visit, at
    // night (a 19:00 slot), on a weekday, checked in before the slot (so
    // not "on time"), one household, one session.
    app.record_visit(
        &collector,
        b.booking.id,
        doorstep_domain::VisitResult::Paid,
        "",
    )
    .await
    .unwrap();
    let rep = app
        .visit_report(&fin, "sample", &day.to_string(), &day.to_string())
        .await
        .unwrap();
    assert_eq!(rep.total.visits, 1, "{rep:?}");
    assert_eq!(
        (rep.total.night.received, rep.total.night.receivable),
        (1, 1)
    );
    assert_eq!(
        (rep.total.weekend.received, rep.total.weekend.receivable),
        (0, 1)
    );
    assert_eq!(
        (rep.total.on_time.received, rep.total.on_time.receivable),
        (0, 1)
    );
    assert_eq!(
        (
            rep.total.per_session.received,
            rep.total.per_session.receivable
        ),
        (1, 1)
    );
    assert_eq!(rep.total.households_per_collector_month.received, 1);
    assert_eq!(rep.by_collector.len(), 1);
    assert_eq!(rep.by_collector[0].name, collector.display_name);
    let checkin_at = app.store.checkins(b.booking.id).await.unwrap()[0].recorded_at;
    let done_at = app.store.booking(b.booking.id).await.unwrap().updated_at;
    assert_eq!(
        rep.total.average_minutes,
        Some(((done_at - checkin_at) + 30) / 60)
    );
    assert!(
        app.visit_report(&fin, "sample", "2026-02-10", "2026-02-01")
            .await
            .is_err()
    );
    let xlsx = doorstep_app::report::visit_xlsx(&rep).unwrap();
    assert!(xlsx.starts_with(b"PK"), "an xlsx (zip) file");
    // Declared a public holiday afterwards, the day counts with weekends.
    app.store
        .set_day_rule(
            r_estate_id(&app).await,
            day,
            Some(&doorstep_domain::DayRule::Holiday),
            "节日",
        )
        .await
        .unwrap();
    let rep = app
        .visit_report(&fin, "sample", &day.to_string(), &day.to_string())
        .await
        .unwrap();
    assert_eq!(
        (rep.total.weekend.received, rep.total.weekend.receivable),
        (1, 1)
    );

    // A son or daughter gets a copy; at most five other phones.
    for k in 0..5 {
        let n = app
            .send_receipt_link(&r, Some(&format!("1390000000{k}")))
            .await
            .unwrap();
        assert_eq!(n, 1);
    }
    assert!(
        app.send_receipt_link(&r, Some("13900000009"))
            .await
            .is_err(),
        "a sixth copy is refused"
    );
    assert!(app.send_receipt_link(&r, Some("12")).await.is_err());

    // Verify by note, PDF and number; a changed byte is caught.
    let v = app.verify_receipt_note(&note).await.unwrap();
    assert_eq!(v.verdict, "valid", "{}", v.why);
    let content = v.content.clone().unwrap();
    assert_eq!(content.total_fen, 10_000);
    assert_eq!(content.number, r.number);
    assert_eq!(content.method, "cash");
    let pdf = app
        .receipt_pdf(&r, doorstep_receipt::Layout::A4)
        .await
        .unwrap();
    assert_eq!(app.verify_receipt_pdf(&pdf).await.unwrap().verdict, "valid");
    assert_eq!(
        app.verify_receipt_number(company, r.number)
            .await
            .unwrap()
            .verdict,
        "valid"
    );
    let forged = note.replace("\"total_fen\":10000", "\"total_fen\":90000");
    assert_ne!(forged, note);
    let v = app.verify_receipt_note(&forged).await.unwrap();
    assert_eq!(v.verdict, "invalid");
    assert!(v.why_zh.contains("改动"), "{}", v.why_zh);
    let other_key =
        doorstep_merkle::note::Signer::from_seed("doorstep/company/1", &[7; 32]).unwrap();
    let self_signed = content.sign(&other_key).unwrap();
    assert_eq!(
        app.verify_receipt_note(&self_signed).await.unwrap().verdict,
        "invalid",
        "a receipt signed with a key of our name but not ours"
    );
    assert_eq!(
        app.verify_receipt_pdf(b"%PDF-1.7 nothing")
            .await
            .unwrap()
            .verdict,
        "invalid"
    );

    // Proofs: the payment's record is in the signed tree.
    let leaf = r.leaf_index.unwrap();
    let proof = app.evidence_proof(company, leaf).await.unwrap();
    assert!(proof.verified);
    assert_eq!(proof.kind, "payment");
    assert!(proof.record.contains(r.sha256.as_deref().unwrap()));
    let cp1 = app.store.latest_checkpoint(company).await.unwrap().unwrap();
    let keys: Vec<_> = app
        .store
        .signing_keys(company)
        .await
        .unwrap()
        .iter()
        .map(|k| doorstep_merkle::note::Verifier::from_key(&k.vkey).unwrap())
        .collect();
    let opened = doorstep_merkle::note::Checkpoint::open(&cp1.note, &keys).unwrap();
    assert_eq!(opened.root, cp1.root);

    // Rotation: new receipts are signed by the new key; old ones still verify.
    let old_key = app
        .store
        .active_signing_key(company)
        .await
        .unwrap()
        .unwrap()
        .0;
    let new_key = app.rotate_signing_key(&admin).await.unwrap();
    assert_ne!(old_key.id, new_key.id);
    assert!(app.rotate_signing_key(&collector).await.is_err());
    assert_eq!(
        app.verify_receipt_note(&note).await.unwrap().verdict,
        "valid"
    );

    // Signing fails (the key is unusable): the payment stands, the receipt
    // waits, and the job signs it later. No number is skipped.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    raw(
        &pool,
        "UPDATE signing_keys SET skey = 'broken' WHERE retired_at IS NULL",
    )
    .await;
    let p2 = app
        .store
        .record_payment(&NewPayment {
            estate_id: r.estate_id,
            objects: vec![(ObjectKind::Room, ids.room_202)],
            line_ids: vec![],
            amount: Fen(500),
            method: "cash".into(),
            paid_on: jiff::civil::date(2026, 11, 27),
            at: doorstep_app::now(),
            recorded_by: Some(fin.id),
            idempotency_key: Some("counter-0002".into()),
            booking_id: None,
            offline: false,
            only_due_now: false,
        })
        .await
        .unwrap();
    let pending = app.receipt_issued_now(p2.id).await.unwrap();
    assert_eq!(pending.status, "pending");
    assert_eq!(pending.number, r.number + 1);
    let pending = app.store.receipt(pending.id).await.unwrap();
    assert_eq!(pending.attempts, 1);
    assert!(pending.last_error.is_some());
    assert!(app.store.payment_fact(p2.id).await.unwrap().is_some());
    app.rotate_company_key(company).await.unwrap();
    assert!(app.issue_pending_receipts("test").await.unwrap() >= 1);
    let fixed = app.store.receipt(pending.id).await.unwrap();
    assert_eq!(fixed.status, "issued");
    assert_eq!(
        app.verify_receipt_note(fixed.note.as_deref().unwrap())
            .await
            .unwrap()
            .verdict,
        "valid"
    );

    // A void: asked by finance, approved by someone else, verifiable as void.
    let rev = app
        .request_receipt_void(&fin, fixed.id, "金额录错")
        .await
        .unwrap();
    assert!(app.decide_reversal(&fin, rev.id, true).await.is_err());
    app.decide_reversal(&admin, rev.id, true).await.unwrap();
    let v = app
        .verify_receipt_note(fixed.note.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(v.verdict, "void");
    assert!(v.why.contains("金额录错"), "{}", v.why);
    let void_pdf = app
        .receipt_pdf(
            &app.store.receipt(fixed.id).await.unwrap(),
            doorstep_receipt::Layout::Thermal80,
        )
        .await
        .unwrap();
    assert_eq!(
        app.verify_receipt_pdf(&void_pdf).await.unwrap().verdict,
        "void"
    );

    // A consistency proof between two signed checkpoints verifies.
    let cp2 = app.checkpoint_now(company).await.unwrap().unwrap();
    assert!(cp2.size > cp1.size);
    let c = app
        .consistency_proof(company, cp1.size, cp2.size)
        .await
        .unwrap();
    let proof: Vec<[u8; 32]> = c
        .proof
        .iter()
        .map(|h| hex::decode(h).unwrap().try_into().unwrap())
        .collect();
    doorstep_merkle::verify_consistency(cp1.size, cp2.size, &cp1.root, &cp2.root, &proof).unwrap();

    // The owner's dispute bundle verifies offline with the company's keys.
    let zip = app
        .export_evidence(&fin, "sample", &[(ObjectKind::Room, ids.room_202)])
        .await
        .unwrap();
    let published = app.company_keys(company).await.unwrap();
    let report = doorstep_evidence::bundle::verify_bundle(&zip, Some(&published)).unwrap();
    assert!(report.ok, "{report}");
    let kinds: Vec<String> = report.records.iter().map(|r| r.index.to_string()).collect();
    assert!(
        kinds.len() >= 4,
        "check-in, payment, payment, void: {kinds:?}"
    );
    assert!(
        report
            .files
            .iter()
            .any(|f| f.path.ends_with(".pdf") && f.ok),
        "{report}"
    );

    // The stored log is intact; then tampering is found and named.
    let audit = app.audit_evidence(company).await.unwrap();
    assert!(audit.findings.is_empty(), "{:?}", audit.findings);
    // The log refuses changes until an attacker drops the triggers.
    assert!(
        sqlx::query("UPDATE evidence_records SET kind = kind")
            .execute(&pool)
            .await
            .is_err()
    );
    assert!(
        sqlx::query("DELETE FROM evidence_records")
            .execute(&pool)
            .await
            .is_err()
    );
    raw(&pool, "DROP TRIGGER evidence_records_no_update").await;
    raw(&pool, "DROP TRIGGER evidence_records_no_delete").await;
    raw(&pool, "DROP TRIGGER merkle_nodes_no_update").await;
    let target = leaf as i64;
    // One changed byte.
    raw(
        &pool,
        &format!("UPDATE evidence_records SET data = CAST(replace(CAST(data AS TEXT), '10000', '10001') AS BLOB) WHERE idx = {target}"),
    )
    .await;
    let f = app.audit_evidence(company).await.unwrap().findings;
    assert!(
        f.iter().any(|x| x.contains(&format!("#{target}"))),
        "changed record not named: {f:?}"
    );
    raw(
        &pool,
        &format!("UPDATE evidence_records SET data = CAST(replace(CAST(data AS TEXT), '10001', '10000') AS BLOB) WHERE idx = {target}"),
    )
    .await;
    assert!(
        app.audit_evidence(company)
            .await
            .unwrap()
            .findings
            .is_empty()
    );
    // Two records swapped.
    raw(&pool, "UPDATE evidence_records SET idx = -1 WHERE idx = 0").await;
    raw(
        &pool,
        &format!("UPDATE evidence_records SET idx = 0 WHERE idx = {target}"),
    )
    .await;
    raw(
        &pool,
        &format!("UPDATE evidence_records SET idx = {target} WHERE idx = -1"),
    )
    .await;
    let f = app.audit_evidence(company).await.unwrap().findings;
    assert!(
        f.iter()
            .any(|x| x.contains("#0") && x.contains(&format!("#{target}"))),
        "swap not named: {f:?}"
    );
    raw(&pool, "UPDATE evidence_records SET idx = -1 WHERE idx = 0").await;
    raw(
        &pool,
        &format!("UPDATE evidence_records SET idx = 0 WHERE idx = {target}"),
    )
    .await;
    raw(
        &pool,
        &format!("UPDATE evidence_records SET idx = {target} WHERE idx = -1"),
    )
    .await;
    assert!(
        app.audit_evidence(company)
            .await
            .unwrap()
            .findings
            .is_empty()
    );
    // History rewritten after a checkpoint: record and leaf hash changed together.
    let rec = app
        .store
        .evidence_record(company, leaf)
        .await
        .unwrap()
        .unwrap();
    let rewritten = String::from_utf8(rec.data)
        .unwrap()
        .replace("10000", "20000");
    let new_leaf = doorstep_merkle::leaf_hash(rewritten.as_bytes());
    sqlx::query("UPDATE evidence_records SET data = $1 WHERE idx = $2")
        .bind(rewritten.as_bytes())
        .bind(target)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE merkle_nodes SET hash = $1 WHERE level = 0 AND idx = $2")
        .bind(new_leaf.to_vec())
        .bind(target)
        .execute(&pool)
        .await
        .unwrap();
    let f = app.audit_evidence(company).await.unwrap().findings;
    assert!(
        f.iter().any(|x| x.contains("checkpoint")),
        "rewrite not caught: {f:?}"
    );
    // A deleted record.
    raw(&pool, "DELETE FROM evidence_records WHERE idx = 1").await;
    let f = app.audit_evidence(company).await.unwrap().findings;
    assert!(
        f.iter().any(|x| x.contains("#1") && x.contains("missing")),
        "deletion not named: {f:?}"
    );
}

async fn r_estate_id(app: &App) -> i64 {
    app.store
        .estate_by_code("sample")
        .await
        .unwrap()
        .unwrap()
        .id
}
