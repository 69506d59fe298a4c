//! Conformance stories for receipts, the evidence log and invoice requests:
//! receipt numbers without gaps under concurrency, issue once, void through
//! an approved void; appends from racing writers build one consistent
//! tree; one live invoice request per payment line.

use super::{bill, billed_estate};
use crate::*;
use doorstep_domain::{Fen, ObjectKind, Period};
use jiff::civil::date;
use std::sync::Arc;

fn evidence(kind: &str, n: u64, objects: Vec<(ObjectKind, i64)>) -> NewEvidence {
    NewEvidence {
        kind: kind.into(),
        estate_id: None,
        booking_id: None,
        payment_id: None,
        objects,
        data: format!("{{\"kind\":\"{kind}\",\"n\":{n},\"v\":1}}").into_bytes(),
        at: 100 + n as i64,
    }
}

/// Racing payments take receipt numbers 1, 2, 3 … with no gaps; a payment
/// that fails takes none; a receipt is issued once, with its evidence
/// record; an approved void voids it and is logged.
pub async fn receipts_are_numbered_without_gaps(s: Arc<dyn Store>) {
    let (e, fin, room, sp) = billed_estate(&s).await;
    bill(&s, e.id, Period::parse("2026-01").unwrap()).await;
    bill(&s, e.id, Period::parse("2026-02").unwrap()).await;
    let pay = |amount: i64, key: String| NewPayment {
        estate_id: e.id,
        objects: vec![(ObjectKind::Room, room.id), (ObjectKind::Space, sp.id)],
        line_ids: vec![],
        amount: Fen(amount),
        method: "cash".into(),
        paid_on: date(2026, 2, 15),
        at: 110,
        recorded_by: Some(fin.id),
        idempotency_key: Some(key),
        booking_id: None,
        offline: false,
        only_due_now: false,
    };
    // One that can never succeed (far more than is owed) between the others.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let s = s.clone();
        let p = if i == 3 {
            pay(99_999_999, format!("too-much-{i}"))
        } else {
            pay(100, format!("receipt-{i}"))
        };
        tasks.push(tokio::spawn(async move { s.record_payment(&p).await }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        if let Ok(r) = t.await.unwrap() {
            ids.push(r.id);
        }
    }
    assert_eq!(
        ids.len(),
        7,
        "the overpayment is refused, the rest recorded"
    );
    let mut numbers = Vec::new();
    for id in &ids {
        let r = s.receipt_of_payment(*id).await.unwrap().unwrap();
        assert_eq!(r.status, "pending");
        assert_eq!(r.token.len(), 32);
        numbers.push(r.number);
    }
    numbers.sort();
    assert_eq!(
        numbers,
        (1..=7).collect::<Vec<i64>>(),
        "no gaps, no repeats"
    );
    // A retried payment (same key) keeps its one receipt.
    let again = s
        .record_payment(&pay(100, "receipt-0".into()))
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(s.pending_receipts(100).await.unwrap().len(), 7);

    // Issue one: the receipt and the payment's evidence record together.
    let r = s.receipt_of_payment(ids[0]).await.unwrap().unwrap();
    let facts = s.receipt_facts(ids[0]).await.unwrap();
    assert_eq!(facts.amount, Fen(100));
    assert!(!facts.lines.is_empty());
    assert!(facts.lines.iter().any(|l| l.payer == "张三"));
    assert_eq!(facts.lines[0].tax_code, "3040801010000000000");
    assert_eq!(facts.lines[0].vat_rate_bp, 600);
    assert_eq!(facts.phones, vec!["13812345678".to_string()]);
    // Several payments' facts at once: the same, in the order asked, a
    // payment that does not exist left out.
    let many = s
        .receipt_facts_many(&[ids[1], 999_999_999, ids[0]])
        .await
        .unwrap();
    assert_eq!(many.len(), 2);
    assert_eq!(many[0].payment_id, ids[1]);
    assert_eq!(many[1].payment_id, ids[0]);
    let key = |f: &ReceiptFacts| {
        (
            f.amount,
            f.estate_id,
            f.company_id,
            f.phones.clone(),
            f.lines
                .iter()
                .map(|l| {
                    (
                        l.line_id,
                        l.object_label.clone(),
                        l.payer.clone(),
                        l.item.clone(),
                        l.period.clone(),
                        l.principal,
                        l.late_fee,
                    )
                })
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(key(&many[1]), key(&facts));
    assert_eq!(key(&many[0]), key(&s.receipt_facts(ids[1]).await.unwrap()));
    for l in many.iter().flat_map(|f| &f.lines) {
        match l.object.0 {
            ObjectKind::Space => assert!(l.object_label.starts_with("车位"), "{l:?}"),
            ObjectKind::Room => assert!(l.object_label.ends_with('室'), "{l:?}"),
        }
    }
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
    let issue = IssueReceipt {
        receipt_id: r.id,
        note: "doorstep-receipt/v1\n{}\n\n— k sig\n".into(),
        sha256: "ab".repeat(32),
        signing_key_id: key.id,
        evidence: NewEvidence {
            payment_id: Some(ids[0]),
            ..evidence("payment", 0, vec![(ObjectKind::Room, room.id)])
        },
        messages: vec![NewMessage {
            estate_id: Some(e.id),
            channel: "sms".into(),
            recipient: "13800000000".into(),
            kind: "receipt".into(),
            body: "receipt link".into(),
            due_at: 120,
        }],
        at: 120,
    };
    let receipt_texts = |all: Vec<Message>| all.iter().filter(|m| m.kind == "receipt").count();
    let texts_before = receipt_texts(s.outbox(Some("13800000000"), 100).await.unwrap());
    let size_before = s.evidence_size(e.company_id).await.unwrap();
    let answers = s
        .issue_receipts(std::slice::from_ref(&issue))
        .await
        .unwrap();
    assert_eq!(answers.len(), 1);
    let (issued, by_this_call) = answers[0].clone();
    assert!(by_this_call);
    assert_eq!(issued.status, "issued");
    // Its link is queued with it, once.
    assert_eq!(
        receipt_texts(s.outbox(Some("13800000000"), 100).await.unwrap()),
        texts_before + 1
    );
    // Its record is queued with it and integrated before anyone reads it.
    let issued = s.receipt(issued.id).await.unwrap();
    assert_eq!(issued.leaf_index, Some(size_before));
    // Issuing again changes nothing, logs nothing and texts nothing.
    let twice = s
        .issue_receipts(std::slice::from_ref(&issue))
        .await
        .unwrap();
    assert_eq!(twice, vec![(issued.clone(), false)]);
    assert_eq!(s.issue_receipt(&issue).await.unwrap(), issued);
    assert_eq!(
        receipt_texts(s.outbox(Some("13800000000"), 100).await.unwrap()),
        texts_before + 1
    );
    assert_eq!(
        s.evidence_size(e.company_id).await.unwrap(),
        size_before + 1
    );
    assert_eq!(
        s.receipt_by_number(e.company_id, issued.number)
            .await
            .unwrap()
            .unwrap()
            .id,
        issued.id
    );
    assert_eq!(
        s.receipt_by_token(&issued.token).await.unwrap().unwrap().id,
        issued.id
    );

    // A void approved by someone else voids the receipt and logs the void.
    let other = s
        .create_user(&NewUser {
            company_id: e.company_id,
            username: "fin2".into(),
            display_name: "财务二".into(),
            password_hash: "x".into(),
            role: doorstep_domain::Role::Finance,
            estate_ids: vec![],
        })
        .await
        .unwrap();
    let rev = s
        .request_reversal(ids[0], "void", "收错了", other.id, 130)
        .await
        .unwrap();
    s.decide_reversal(rev.id, true, fin.id, None, 131)
        .await
        .unwrap();
    let void = s.receipt(issued.id).await.unwrap();
    assert_eq!(void.status, "void");
    assert_eq!(void.void_reason.as_deref(), Some("收错了"));
    let vi = void.void_leaf_index.unwrap();
    let rec = s.evidence_record(e.company_id, vi).await.unwrap().unwrap();
    assert_eq!(rec.kind, "receipt_void");
    let text = String::from_utf8(rec.data).unwrap();
    assert!(text.contains("\"approved_by\""), "{text}");
    let about = s
        .evidence_about(
            e.company_id,
            &[(ObjectKind::Room, room.id), (ObjectKind::Space, sp.id)],
            None,
            None,
        )
        .await
        .unwrap();
    assert!(
        about.iter().any(|r| r.index == vi),
        "{vi} not in {:?}",
        about
            .iter()
            .map(|r| (r.index, r.kind.clone()))
            .collect::<Vec<_>>()
    );
}

/// Writers racing to append to one log build one tree: every record once,
/// indices 0..n, and the stored nodes give the same roots and proofs as the
/// tree built from the records.
pub async fn evidence_log_appends_and_proves(s: Arc<dyn Store>) {
    let (e, _, room, _) = billed_estate(&s).await;
    let company = e.company_id;
    let mut tasks = Vec::new();
    for t in 0..6u64 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for k in 0..5u64 {
                let n = t * 100 + k;
                if k == 4 {
                    let batch: Vec<_> = (0..3)
                        .map(|j| evidence("batch", n * 10 + j, vec![(ObjectKind::Room, room.id)]))
                        .collect();
                    s.append_evidence_batch(company, &batch).await.unwrap();
                } else {
                    s.append_evidence(company, &evidence("test", n, vec![]))
                        .await
                        .unwrap();
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let size = s.evidence_size(company).await.unwrap();
    assert_eq!(size, 6 * 7);
    let records = s.evidence_records(company, 0, 1000).await.unwrap();
    assert_eq!(
        records.iter().map(|r| r.index).collect::<Vec<_>>(),
        (0..size).collect::<Vec<_>>()
    );
    let mut mem = doorstep_merkle::MemStore::new();
    for r in &records {
        mem.push(doorstep_merkle::leaf_hash(&r.data)).unwrap();
    }
    // Every node the root and a few proofs need is stored, and right.
    for n in [1u64, 7, 16, 33, size] {
        let rec = doorstep_merkle::Recorder::new();
        doorstep_merkle::root_at(n, &rec).unwrap();
        doorstep_merkle::inclusion_proof(n - 1, n, &rec).unwrap();
        if n > 1 {
            doorstep_merkle::consistency_proof(1, n, &rec).unwrap();
        }
        let mut partial = doorstep_merkle::MemStore::new();
        for ((l, i), h) in s.merkle_nodes(company, &rec.nodes()).await.unwrap() {
            partial.insert(l, i, h);
        }
        let root = doorstep_merkle::root_at(n, &partial).unwrap();
        assert_eq!(
            root,
            doorstep_merkle::root_at(n, &mem).unwrap(),
            "root at {n}"
        );
        let path = doorstep_merkle::inclusion_proof(n - 1, n, &partial).unwrap();
        let leaf = doorstep_merkle::leaf_hash(&records[(n - 1) as usize].data);
        doorstep_merkle::verify_inclusion(n - 1, n, &leaf, &path, &root).unwrap();
    }
    assert_eq!(
        s.evidence_about(company, &[(ObjectKind::Room, room.id)], None, None)
            .await
            .unwrap()
            .len(),
        18
    );
    assert_eq!(s.evidence_logs().await.unwrap(), vec![(company, size)]);
    // Checkpoints: kept, one per size.
    let key = s
        .add_signing_key(company, "o", "o+1+v", "PRIVATE+KEY+o", 1, true)
        .await
        .unwrap();
    let cp = StoredCheckpoint {
        company_id: company,
        size,
        root: doorstep_merkle::root_at(size, &mem).unwrap(),
        note: "o\n42\nroot\n".into(),
        signing_key_id: key.id,
        signed_at: 5,
    };
    s.add_checkpoint(&cp).await.unwrap();
    s.add_checkpoint(&StoredCheckpoint {
        signed_at: 6,
        ..cp.clone()
    })
    .await
    .unwrap();
    assert_eq!(s.checkpoints(company).await.unwrap(), vec![cp.clone()]);
    assert_eq!(s.latest_checkpoint(company).await.unwrap(), Some(cp));
    // Rotation: the new key signs, the old one is kept, retired.
    let k2 = s
        .add_signing_key(company, "o", "o+2+v", "PRIVATE+KEY+o2", 9, false)
        .await
        .unwrap();
    let keys = s.signing_keys(company).await.unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0].id, k2.id);
    assert_eq!(keys[1].retired_at, Some(9));
    assert_eq!(
        s.active_signing_key(company).await.unwrap().unwrap().0.id,
        k2.id
    );
    // "if none" does not rotate.
    let same = s
        .add_signing_key(company, "o", "o+3+v", "x", 10, true)
        .await
        .unwrap();
    assert_eq!(same.id, k2.id);
}

/// One live invoice request per payment line, also when requests race; a
/// failed request frees its lines; a void receipt takes none.
pub async fn one_invoice_request_per_payment_line(s: Arc<dyn Store>) {
    let (e, fin, room, sp) = billed_estate(&s).await;
    bill(&s, e.id, Period::parse("2026-01").unwrap()).await;
    let p = s
        .record_payment(&NewPayment {
            estate_id: e.id,
            objects: vec![(ObjectKind::Room, room.id), (ObjectKind::Space, sp.id)],
            line_ids: vec![],
            amount: Fen(10_000),
            method: "wechat".into(),
            paid_on: date(2026, 1, 20),
            at: 110,
            recorded_by: Some(fin.id),
            idempotency_key: Some("inv-1".into()),
            booking_id: None,
            offline: false,
            only_due_now: false,
        })
        .await
        .unwrap();
    let r = s.receipt_of_payment(p.id).await.unwrap().unwrap();
    let items = s.list_fee_items(e.id).await.unwrap();
    s.set_fee_item_tax(items[0].id, "3040801010000000000", 900)
        .await
        .unwrap();
    assert!(matches!(
        s.set_fee_item_tax(items[0].id, "30408", 600).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        s.set_fee_item_tax(items[0].id, "3040801010000000000", 10_001)
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        s.fee_item_tax(items[0].id).await.unwrap(),
        ("3040801010000000000".to_string(), 900)
    );
    let req = |title: &str| NewInvoiceRequest {
        receipt_id: r.id,
        kind: "company".into(),
        title: title.into(),
        tax_id: Some("91350100M000100Y43".into()),
        email: Some("a@example.com".into()),
        phone: None,
        address: None,
        bank: None,
        platform: "manual".into(),
        at: 200,
    };
    let mut tasks = Vec::new();
    for i in 0..6 {
        let s = s.clone();
        let q = req(&format!("公司{i}"));
        tasks.push(tokio::spawn(
            async move { s.create_invoice_request(&q).await },
        ));
    }
    let mut won = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(x) => won.push(x),
            Err(StoreError::Conflict(m)) => assert!(m.contains("invoice"), "{m}"),
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(won.len(), 1, "one request wins");
    let first = &won[0];
    assert_eq!(first.amount, Fen(10_000));
    assert_eq!(
        first.lines.iter().map(|l| l.amount).sum::<Fen>(),
        Fen(10_000)
    );
    assert_eq!(first.status, "requested");
    // Issued needs a number; a failed one needs a reason and frees the lines.
    assert!(matches!(
        s.set_invoice_outcome(
            first.id,
            &InvoiceOutcome {
                status: "issued".into(),
                invoice_no: None,
                file_url: None,
                reason: None,
                by: Some(fin.id),
                at: 210
            }
        )
        .await,
        Err(StoreError::Invalid(_))
    ));
    let failed = s
        .set_invoice_outcome(
            first.id,
            &InvoiceOutcome {
                status: "failed".into(),
                invoice_no: None,
                file_url: None,
                reason: Some("抬头与税号不符".into()),
                by: Some(fin.id),
                at: 211,
            },
        )
        .await
        .unwrap();
    assert_eq!(failed.status, "failed");
    let second = s.create_invoice_request(&req("正确公司")).await.unwrap();
    let issued = s
        .set_invoice_outcome(
            second.id,
            &InvoiceOutcome {
                status: "issued".into(),
                invoice_no: Some("26312000000012345678".into()),
                file_url: Some("https://example.com/i.pdf".into()),
                reason: None,
                by: Some(fin.id),
                at: 220,
            },
        )
        .await
        .unwrap();
    assert_eq!(issued.status, "issued");
    assert!(matches!(
        s.create_invoice_request(&req("again")).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        s.set_invoice_outcome(
            issued.id,
            &InvoiceOutcome {
                status: "failed".into(),
                invoice_no: None,
                file_url: None,
                reason: Some("x".into()),
                by: None,
                at: 230
            }
        )
        .await,
        Err(StoreError::Conflict(_))
    ));
    let list = s
        .invoice_requests(e.company_id, Some(e.id), None)
        .await
        .unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(
        s.invoice_requests(e.company_id, None, Some("issued"))
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(s.receipt_invoice_requests(r.id).await.unwrap().len(), 2);
}
