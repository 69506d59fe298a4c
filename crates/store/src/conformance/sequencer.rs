//! Conformance stories for the sequencer (issue 14): payments queue their
//! receipt numbers, evidence records and running totals instead of writing
//! rows every payment of a company shares; what they queued is taken up in
//! batches without changing a figure.

use super::{bill, billed_estate};
use crate::*;
use doorstep_domain::{Fen, ObjectKind, Period};
use jiff::civil::date;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

fn cash(
    e: &Estate,
    by: &User,
    objects: Vec<(ObjectKind, i64)>,
    amount: i64,
    key: &str,
) -> NewPayment {
    NewPayment {
        estate_id: e.id,
        objects,
        line_ids: vec![],
        amount: Fen(amount),
        method: "cash".into(),
        paid_on: date(2026, 2, 15),
        at: 110,
        recorded_by: Some(by.id),
        idempotency_key: Some(key.into()),
        booking_id: None,
        offline: false,
        only_due_now: false,
    }
}

fn sorted_totals(mut t: Vec<TotalRow>) -> Vec<TotalRow> {
    t.retain(|r| r.fen != 0);
    t.sort_by(|a, b| {
        (a.estate_id, a.dim, a.key, &a.period, &a.paid_month).cmp(&(
            b.estate_id,
            b.dim,
            b.key,
            &b.period,
            &b.paid_month,
        ))
    });
    t
}

/// Folding the running totals' deltas changes no figure a report reads,
/// and a second fold finds nothing left; a sequencer pass after every
/// payment settled finds nothing queued.
pub async fn totals_fold_into_the_same_figures(s: Arc<dyn Store>) {
    let (e, fin, room, sp) = billed_estate(&s).await;
    bill(&s, e.id, Period::parse("2026-01").unwrap()).await;
    bill(&s, e.id, Period::parse("2026-02").unwrap()).await;
    let mut ids = Vec::new();
    for (i, obj) in [(ObjectKind::Room, room.id), (ObjectKind::Space, sp.id)]
        .into_iter()
        .enumerate()
    {
        for k in 0..3 {
            let p = s
                .record_payment(&cash(&e, &fin, vec![obj], 1_000 + k, &format!("f-{i}-{k}")))
                .await
                .unwrap();
            ids.push(p.id);
        }
    }
    // Every payment has its receipt, numbered 1..=6 in payment order.
    let mut numbers = Vec::new();
    for id in &ids {
        numbers.push(s.receipt_of_payment(*id).await.unwrap().unwrap().number);
    }
    assert_eq!(numbers, (1..=6).collect::<Vec<i64>>());
    let before = sorted_totals(s.report_totals(ReportScope::Estate(e.id)).await.unwrap());
    let balances = s.ledger_balances(Some(e.id)).await.unwrap();
    assert!(
        balances
            .iter()
            .any(|(_, a, b)| *a == format!("cash:{}", fin.id) && *b == 6_006),
        "the collector holds the six payments: {balances:?}"
    );
    s.fold_totals(100_000).await.unwrap();
    assert_eq!(
        sorted_totals(s.report_totals(ReportScope::Estate(e.id)).await.unwrap()),
        before
    );
    assert_eq!(s.ledger_balances(Some(e.id)).await.unwrap(), balances);
    assert_eq!(
        s.fold_totals(100_000).await.unwrap(),
        0,
        "nothing left to fold"
    );
    assert_eq!(s.sequence().await.unwrap(), 0, "nothing left queued");
    let report = check_ledger(s.as_ref(), None).await.unwrap();
    assert!(report.ok(), "ledger problems: {:#?}", report.problems);
}

/// Holds, in another transaction, the rows a backend's payments could
/// share (the company's receipt counter and log head, the estate's running
/// totals) until the returned value is dropped.
pub type Holder = Box<
    dyn FnOnce(i64, i64) -> Pin<Box<dyn Future<Output = Box<dyn std::any::Any + Send>> + Send>>
        + Send,
>;

/// A payment, its receipt and its evidence record commit while another
/// transaction holds every row the company's payments share: nothing in a
/// payment's own transactions waits on them (backends with row locks). The
/// queued receipt number and record are taken up once the holder lets go,
/// in order and without a gap.
pub async fn payments_do_not_wait_on_shared_rows(s: Arc<dyn Store>, hold: Holder) {
    let (e, fin, room, sp) = billed_estate(&s).await;
    bill(&s, e.id, Period::parse("2026-01").unwrap()).await;
    let first = s
        .record_payment(&cash(
            &e,
            &fin,
            vec![(ObjectKind::Room, room.id)],
            500,
            "first",
        ))
        .await
        .unwrap();
    assert_eq!(
        s.receipt_of_payment(first.id)
            .await
            .unwrap()
            .unwrap()
            .number,
        1
    );
    s.append_evidence(
        e.company_id,
        &NewEvidence {
            kind: "test".into(),
            estate_id: Some(e.id),
            booking_id: None,
            payment_id: None,
            objects: vec![],
            data: b"{\"kind\":\"test\",\"v\":1}".to_vec(),
            at: 100,
        },
    )
    .await
    .unwrap();
    s.fold_totals(100_000).await.unwrap();
    let key = s
        .add_signing_key(
            e.company_id,
            "doorstep/company/1",
            "k+1+v",
            "PRIVATE+KEY+k",
            100,
            true,
        )
        .await
        .unwrap();
    let guard = hold(e.company_id, e.id).await;
    let second = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        s.record_payment(&cash(
            &e,
            &fin,
            vec![(ObjectKind::Space, sp.id)],
            700,
            "second",
        )),
    )
    .await
    .expect("the payment waited on a row another transaction holds")
    .unwrap();
    assert!(!second.replayed);
    // Its receipt is queued, not yet numbered: the counter is held.
    assert!(
        s.pending_receipts(100)
            .await
            .unwrap()
            .iter()
            .all(|r| r.payment_id != second.id)
    );
    // Issuing the first receipt logs its record without the log's head.
    let r1 = s.receipt_of_payment(first.id).await.unwrap().unwrap();
    let issued = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        s.issue_receipt(&IssueReceipt {
            receipt_id: r1.id,
            note: "doorstep-receipt/v1\n{}\n\n— k sig\n".into(),
            sha256: "ab".repeat(32),
            signing_key_id: key.id,
            evidence: NewEvidence {
                kind: "payment".into(),
                estate_id: Some(e.id),
                booking_id: None,
                payment_id: Some(first.id),
                objects: vec![(ObjectKind::Room, room.id)],
                data: b"{\"kind\":\"payment\",\"n\":1,\"v\":1}".to_vec(),
                at: 120,
            },
            messages: Vec::new(),
            at: 120,
        }),
    )
    .await
    .expect("issuing a receipt waited on the log's head")
    .unwrap();
    assert_eq!(issued.status, "issued");
    drop(guard);
    // Let go: the second payment is numbered next, the record integrated.
    assert_eq!(
        s.receipt_of_payment(second.id)
            .await
            .unwrap()
            .unwrap()
            .number,
        2
    );
    let again = s.receipt(r1.id).await.unwrap();
    assert_eq!(again.leaf_index, Some(1));
    assert_eq!(s.evidence_size(e.company_id).await.unwrap(), 2);
    s.fold_totals(100_000).await.unwrap();
    let report = check_ledger(s.as_ref(), None).await.unwrap();
    assert!(report.ok(), "ledger problems: {:#?}", report.problems);
}

/// The answer to a payment carries its receipt link at once (the token is
/// drawn in the payment's transaction); the number is given in order by
/// the sequencer's batch, or when the link is opened first, and the link
/// then opens the numbered receipt. A retried payment keeps its one link.
pub async fn a_receipt_link_works_before_its_number(s: Arc<dyn Store>) {
    let (e, fin, room, _) = billed_estate(&s).await;
    bill(&s, e.id, Period::parse("2026-01").unwrap()).await;
    let first = s
        .record_payment(&cash(
            &e,
            &fin,
            vec![(ObjectKind::Room, room.id)],
            100,
            "link-1",
        ))
        .await
        .unwrap();
    let second = s
        .record_payment(&cash(
            &e,
            &fin,
            vec![(ObjectKind::Room, room.id)],
            100,
            "link-2",
        ))
        .await
        .unwrap();
    let r1 = s.receipt_ref_of_payment(first.id).await.unwrap().unwrap();
    let r2 = s.receipt_ref_of_payment(second.id).await.unwrap().unwrap();
    assert_eq!(r1.token.len(), 32);
    assert!(r1.token.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(r1.token, r2.token);
    assert_eq!(r1.status, "pending");
    // Numbered already (SQLite, in the payment's transaction) or not yet
    // (PostgreSQL, queued): never out of order.
    if let (Some(a), Some(b)) = (r1.number, r2.number) {
        assert_eq!((a, b), (1, 2));
    }
    // Asking again does not number it (nothing moves on a read).
    assert_eq!(
        s.receipt_ref_of_payment(second.id).await.unwrap().unwrap(),
        r2
    );
    // The second link opened first: the batch numbers both, in payment order.
    let opened = s.receipt_by_token(&r2.token).await.unwrap().unwrap();
    assert_eq!(opened.payment_id, second.id);
    assert_eq!(opened.token, r2.token);
    assert_eq!(opened.number, 2);
    let one = s.receipt_by_token(&r1.token).await.unwrap().unwrap();
    assert_eq!((one.payment_id, one.number), (first.id, 1));
    assert_eq!(
        s.receipt_ref_of_payment(first.id)
            .await
            .unwrap()
            .unwrap()
            .number,
        Some(1)
    );
    // A retry keeps the one receipt and its link.
    let again = s
        .record_payment(&cash(
            &e,
            &fin,
            vec![(ObjectKind::Room, room.id)],
            100,
            "link-1",
        ))
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.id, first.id);
    assert_eq!(
        s.receipt_ref_of_payment(first.id)
            .await
            .unwrap()
            .unwrap()
            .token,
        r1.token
    );
    // An unknown link opens nothing.
    assert!(s.receipt_by_token(&"0".repeat(32)).await.unwrap().is_none());
    // What a payment reads of its lines: the same lines and amounts as the
    // full read, without the owners' names and phones.
    let q = LineQuery {
        estate_id: e.id,
        open_only: true,
        objects: vec![(ObjectKind::Room, room.id)],
        ..Default::default()
    };
    let full = s.bill_lines(&q).await.unwrap();
    let bare = s.bill_amounts(&q).await.unwrap();
    assert!(!full.is_empty());
    assert!(full.iter().any(|l| !l.owners.is_empty()));
    assert_eq!(bare.len(), full.len());
    for (b, f) in bare.iter().zip(&full) {
        assert_eq!(
            (
                b.id,
                b.amount,
                b.paid_principal,
                b.late_fee_paid,
                b.due_date,
                b.status
            ),
            (
                f.id,
                f.amount,
                f.paid_principal,
                f.late_fee_paid,
                f.due_date,
                f.status
            )
        );
        assert!(b.owners.is_empty() && b.phones.is_empty());
    }
}
