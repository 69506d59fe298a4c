//! A database written before the journal existed (migrations 1–2: bills,
//! a payment, a waived line) gains opening entries when migration 3 runs:
//! the ledger check passes and the receivables are what the bills say;
//! migration 4 numbers a receipt for the old payment; migration 6 sums
//! them into the report totals and the kept ledger balances.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use doorstep_domain::Fen;
use doorstep_store::{Store, check_ledger};

#[tokio::test]
async fn opening_entries_carry_the_old_bills_and_payments() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("old.sqlite");
    {
        let old = doorstep_store_sqlite::open_at_version(&file, 2)
            .await
            .unwrap();
        let pool = old.pool();
        for sql in [
            "INSERT INTO companies (id, name, credit_code, created_at) VALUES (1, '旧物业', '91110000MA01ABCD2Q', 0)",
            "INSERT INTO estates (id, company_id, code, name, timezone) VALUES (1, 1, 'old', '旧小区', 'Asia/Shanghai')",
            "INSERT INTO users (id, company_id, username, display_name, password_hash, role) VALUES (1, 1, 'cashier', '出纳', 'x', 'finance')",
            "INSERT INTO buildings (id, estate_id, name) VALUES (1, 1, '1')",
            "INSERT INTO rooms (id, estate_id, building_id, floor, number, area_centi) VALUES (1, 1, 1, 1, '101', 10000)",
            "INSERT INTO fee_items (id, estate_id, code, name, category, basis, cycle, price_fen, due_day) VALUES (1, 1, 'p', '物业费', 'property', 'per_area', 'monthly', 200, 28)",
            "INSERT INTO fee_items (id, estate_id, code, name, category, basis, cycle, price_fen, due_day) VALUES (2, 1, 'w', '水费', 'on_behalf', 'entered', 'monthly', 0, 28)",
            "INSERT INTO bill_lines (id, estate_id, object_kind, object_id, fee_item_id, period, unit_price_fen, quantity_centi, amount_fen, due_date, status, paid_principal_fen, created_at) VALUES (1, 1, 'room', 1, 1, '2026-01', 200, 10000, 20000, '2026-01-28', 'paid', 20000, 0)",
            "INSERT INTO bill_lines (id, estate_id, object_kind, object_id, fee_item_id, period, unit_price_fen, quantity_centi, amount_fen, due_date, status, paid_principal_fen, created_at) VALUES (2, 1, 'room', 1, 1, '2026-02', 200, 10000, 20000, '2026-02-28', 'partly_paid', 5000, 0)",
            "INSERT INTO bill_lines (id, estate_id, object_kind, object_id, fee_item_id, period, unit_price_fen, quantity_centi, amount_fen, due_date, status, created_at, line_waived_reason) VALUES (3, 1, 'room', 1, 2, '2026-02', 0, 100, 3500, '2026-02-28', 'waived', 0, '漏水减免')",
            "INSERT INTO payments (id, estate_id, method, amount_fen, paid_on, paid_at, recorded_by, idempotency_key) VALUES (1, 1, 'cash', 25300, '2026-03-01', 0, 1, 'visit-1')",
            "INSERT INTO payment_allocations (payment_id, line_id, late_fee_fen, principal_fen) VALUES (1, 1, 0, 20000)",
            "INSERT INTO payment_allocations (payment_id, line_id, late_fee_fen, principal_fen) VALUES (1, 2, 300, 5000)",
        ] {
            sqlx::query(sql)
                .execute(pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        pool.close().await;
    }
    let store = doorstep_store_sqlite::open(&file).await.unwrap();
    // Migration 16 moves the console API's key into the estate's name
    // space: the client's retry, sent after the upgrade, finds its payment.
    let key: String = sqlx::query_scalar("SELECT idempotency_key FROM payments WHERE id = 1")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(key, "api:1:visit-1");
    let retry = store
        .record_payment(&doorstep_store::NewPayment {
            estate_id: 1,
            objects: vec![(doorstep_domain::ObjectKind::Room, 1)],
            line_ids: vec![],
            amount: Fen(25300),
            method: "cash".into(),
            paid_on: jiff::civil::date(2026, 3, 1),
            at: 0,
            recorded_by: Some(1),
            idempotency_key: Some(key),
            booking_id: None,
            offline: false,
            only_due_now: false,
        })
        .await
        .unwrap();
    assert!(retry.replayed && retry.id == 1, "{retry:?}");
    let report = check_ledger(&store, None).await.unwrap();
    assert!(report.ok(), "{:#?}", report.problems);
    assert_eq!(report.payments, 1);
    assert_eq!(
        store.account_balance("receivable:room:1:1").await.unwrap(),
        Fen(15000)
    );
    assert_eq!(
        store.account_balance("receivable:room:1:2").await.unwrap(),
        Fen(0)
    );
    assert_eq!(store.account_balance("cash:1").await.unwrap(), Fen(25300));
    assert_eq!(
        store.account_balance("late_fee_income:1").await.unwrap(),
        Fen(-300)
    );
    assert_eq!(store.account_balance("on_behalf:2").await.unwrap(), Fen(0));
    // The journal is append-only, enforced by the database.
    let e = sqlx::query("UPDATE journal_postings SET debit_fen = debit_fen + 1")
        .execute(store.pool())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    let e = sqlx::query("DELETE FROM journal_entries")
        .execute(store.pool())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");

    // Migration 4 gives the old payment its receipt, numbered 1 and pending
    // (signed by the receipt job), and the next payment takes number 2.
    let r = store.receipt_of_payment(1).await.unwrap().unwrap();
    assert_eq!((r.number, r.status.as_str()), (1, "pending"));
    assert_eq!(r.token.len(), 32);
    assert_eq!(store.pending_receipts(10).await.unwrap().len(), 1);
    let facts = store.receipt_facts(1).await.unwrap();
    assert_eq!(facts.amount, Fen(25300));
    assert_eq!(facts.lines.len(), 2);
    assert_eq!(facts.lines[0].tax_code, "3040801010000000000");
    let p = store
        .record_payment(&doorstep_store::NewPayment {
            estate_id: 1,
            objects: vec![(doorstep_domain::ObjectKind::Room, 1)],
            line_ids: vec![],
            amount: Fen(100),
            method: "cash".into(),
            paid_on: jiff::civil::date(2026, 3, 2),
            at: 10,
            recorded_by: Some(1),
            idempotency_key: None,
            booking_id: None,
            offline: false,
            only_due_now: false,
        })
        .await
        .unwrap();
    assert_eq!(
        store
            .receipt_of_payment(p.id)
            .await
            .unwrap()
            .unwrap()
            .number,
        2
    );

    // Migration 6 sums the old bills and payments into the report totals
    // (the waived water line is due nothing, nothing was paid on it), and
    // the triggers add the new payment.
    let mut totals: Vec<(String, Option<String>, i64)> = store
        .report_totals(doorstep_store::ReportScope::Estate(1))
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.dim == doorstep_store::DIM_ESTATE)
        .map(|t| (t.period, t.paid_month, t.fen))
        .collect();
    totals.sort();
    let m = |s: &str| Some(s.to_string());
    assert_eq!(
        totals,
        vec![
            ("2026-01".into(), None, 20000),
            ("2026-01".into(), m("2026-03"), 20000),
            ("2026-02".into(), None, 20000),
            ("2026-02".into(), m("2026-03"), 5100),
        ]
    );
    assert!(check_ledger(&store, None).await.unwrap().ok());
}
