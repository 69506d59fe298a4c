//! The double-entry ledger: account codes, entry checks, builders, balances,
//! the clerk's checks, and cash custody.

use doorstep_domain::ledger::*;
use doorstep_domain::{Category, Fen, ObjectKind};
use std::collections::BTreeMap;

const ROOM: ObjectKind = ObjectKind::Room;
const SPACE: ObjectKind = ObjectKind::Space;

fn every_account() -> Vec<Account> {
    vec![
        Account::Receivable {
            object: ROOM,
            object_id: 12,
            fee_item_id: 3,
        },
        Account::Receivable {
            object: SPACE,
            object_id: 7,
            fee_item_id: 4,
        },
        Account::Revenue { fee_item_id: 3 },
        Account::OnBehalfPayable { fee_item_id: 5 },
        Account::Waivers { fee_item_id: 3 },
        Account::LateFeeIncome { estate_id: 1 },
        Account::CashOnHand { user_id: 42 },
        Account::CashInSafe { estate_id: 1 },
        Account::Clearing {
            provider: "wechat".into(),
            merchant: "1900000109".into(),
        },
        Account::CashOverShort { estate_id: 1 },
        Account::Advance {
            object: ROOM,
            object_id: 12,
        },
        Account::HandoverSuspense { estate_id: 1 },
    ]
}

fn receivable(object: ObjectKind, object_id: i64, fee_item_id: i64) -> Account {
    Account::Receivable {
        object,
        object_id,
        fee_item_id,
    }
}

fn sides(e: &Entry) -> Vec<(String, i64, i64)> {
    e.postings
        .iter()
        .map(|p| (p.account.code(), p.debit.0, p.credit.0))
        .collect()
}

fn s(code: &str, debit: i64, credit: i64) -> (String, i64, i64) {
    (code.to_string(), debit, credit)
}

// ---------------------------------------------------------------- codes

#[test]
fn codes_round_trip_for_every_variant() {
    let expected = [
        "receivable:room:12:3",
        "receivable:space:7:4",
        "revenue:3",
        "on_behalf:5",
        "waivers:3",
        "late_fee_income:1",
        "cash:42",
        "safe:1",
        "clearing:wechat:1900000109",
        "over_short:1",
        "advance:room:12",
        "handover_suspense:1",
    ];
    for (a, code) in every_account().into_iter().zip(expected) {
        assert_eq!(a.code(), code);
        assert_eq!(a.to_string(), code);
        assert_eq!(Account::parse(code).unwrap(), a);
        assert!(a.validate().is_ok(), "{code}");
        // Serde stores the code (through `String`).
        assert_eq!(String::from(a.clone()), code);
        assert_eq!(Account::try_from(code.to_string()).unwrap(), a);
        assert_eq!(code.parse::<Account>().unwrap(), a);
    }
    for kind in EntryKind::ALL {
        assert_eq!(EntryKind::parse(kind.code()).unwrap(), kind);
    }
    assert!(EntryKind::parse("payout").is_err());
}

#[test]
fn bad_codes_are_refused_with_a_message() {
    let cases = [
        ("", "unknown account"),
        ("receivable:room:12", "expected receivable:<room|space>"),
        ("receivable:room:12:3:9", "expected receivable:<room|space>"),
        ("receivable:flat:12:3", "object must be room or space"),
        (
            "receivable:room:-12:3",
            "object id must be a positive whole number",
        ),
        (
            "receivable:room:012:3",
            "object id must be a positive whole number",
        ),
        (
            "receivable:room:+12:3",
            "object id must be a positive whole number",
        ),
        (
            "receivable:room:0:3",
            "object id must be a positive whole number",
        ),
        (
            "receivable:room:12:",
            "fee item id must be a positive whole number",
        ),
        ("revenue:abc", "fee item id must be a positive whole number"),
        ("revenue:99999999999999999999", "positive whole number"),
        ("cash", "expected cash:<user_id>"),
        ("cash:4 ", "user id must be"),
        ("safe:1:2", "expected safe:<estate_id>"),
        ("clearing:wechat", "expected clearing:<provider>:<merchant>"),
        (
            "clearing:wechat:19:00",
            "expected clearing:<provider>:<merchant>",
        ),
        ("clearing:WeChat:1900", "provider must be"),
        ("clearing::1900", "provider must be"),
        ("clearing:wechat:", "merchant id must be"),
        ("clearing:wechat:19-00", "merchant id must be"),
        ("advance:room", "expected advance:<room|space>:<object_id>"),
        ("Revenue:3", "unknown account \"Revenue\""),
        ("收入:3", "must be ASCII"),
    ];
    for (code, want) in cases {
        let err = Account::parse(code).expect_err(code);
        let msg = err.to_string();
        assert!(msg.contains(want), "{code:?}: {msg}");
        assert!(msg.contains(&format!("{code:?}")), "{code:?}: {msg}");
    }
}

#[test]
fn accounts_that_cannot_be_written_are_invalid() {
    let bad = [
        Account::CashOnHand { user_id: 0 },
        Account::Revenue { fee_item_id: -1 },
        Account::Clearing {
            provider: "wechat".into(),
            merchant: "a:b".into(),
        },
        Account::Clearing {
            provider: "".into(),
            merchant: "ab".into(),
        },
    ];
    for a in bad {
        assert!(a.validate().is_err(), "{a:?}");
        assert!(Account::parse(&a.code()).is_err(), "{a:?}");
    }
}

#[test]
fn kinds_and_normal_sides() {
    use AccountKind::*;
    let want = [
        (Asset, Side::Debit),
        (Asset, Side::Debit),
        (Income, Side::Credit),
        (Liability, Side::Credit),
        (ContraIncome, Side::Debit),
        (Income, Side::Credit),
        (Asset, Side::Debit),
        (Asset, Side::Debit),
        (Asset, Side::Debit),
        (Expense, Side::Debit),
        (Liability, Side::Credit),
    ];
    for (a, (kind, side)) in every_account().iter().zip(want) {
        assert_eq!(a.kind(), kind, "{a}");
        assert_eq!(a.normal_side(), side, "{a}");
    }
}

// ---------------------------------------------------------------- entries

#[test]
fn check_refuses_malformed_entries() {
    let cash = Account::CashOnHand { user_id: 1 };
    let rev = Account::Revenue { fee_item_id: 1 };
    let entry = |postings| Entry {
        kind: EntryKind::Adjustment,
        postings,
    };

    assert!(matches!(entry(vec![]).check(), Err(LedgerError::Empty(_))));

    let both = Posting {
        account: cash.clone(),
        debit: Fen(100),
        credit: Fen(100),
    };
    let e = entry(vec![both]).check().unwrap_err();
    assert!(
        e.to_string().starts_with("posting 1 (cash:1): both debit"),
        "{e}"
    );

    let zero = entry(vec![
        Posting::debit(cash.clone(), Fen(100)),
        Posting::credit(rev.clone(), Fen(100)),
        Posting::debit(cash.clone(), Fen(0)),
    ]);
    let e = zero.check().unwrap_err();
    assert!(
        e.to_string()
            .contains("posting 3 (cash:1): both debit and credit are zero")
    );

    let negative = entry(vec![
        Posting::debit(cash.clone(), Fen(-100)),
        Posting::credit(rev.clone(), Fen(-100)),
    ]);
    assert!(
        negative
            .check()
            .unwrap_err()
            .to_string()
            .contains("negative")
    );

    let bad_account = entry(vec![
        Posting::debit(Account::CashOnHand { user_id: 0 }, Fen(100)),
        Posting::credit(rev.clone(), Fen(100)),
    ]);
    assert!(matches!(
        bad_account.check(),
        Err(LedgerError::Posting { index: 1, .. })
    ));

    let unbalanced = entry(vec![
        Posting::debit(cash.clone(), Fen(10_000)),
        Posting::credit(rev.clone(), Fen(9_000)),
    ]);
    assert_eq!(
        unbalanced.check(),
        Err(LedgerError::Unbalanced {
            debits: Fen(10_000),
            credits: Fen(9_000)
        })
    );

    let ok = entry(vec![
        Posting::debit(cash, Fen(10_000)),
        Posting::credit(rev, Fen(10_000)),
    ]);
    assert_eq!(ok.check(), Ok(()));
    assert_eq!(ok.total(), Fen(10_000));
}

#[test]
fn overflow_is_an_error_not_a_wrap() {
    let cash = Account::CashOnHand { user_id: 1 };
    let rev = Account::Revenue { fee_item_id: 1 };
    let e = Entry {
        kind: EntryKind::Adjustment,
        postings: vec![
            Posting::debit(cash.clone(), Fen(i64::MAX)),
            Posting::debit(cash, Fen(2)),
            Posting::credit(rev.clone(), Fen(1)),
            Posting::credit(rev, Fen(1)),
        ],
    };
    assert_eq!(e.check(), Err(LedgerError::Overflow("total debits")));
    assert_eq!(e.total(), Fen(i64::MAX));

    let lines = [
        BilledLine {
            object: ROOM,
            object_id: 1,
            fee_item_id: 1,
            category: Category::Property,
            amount: Fen(i64::MAX),
        },
        BilledLine {
            object: ROOM,
            object_id: 2,
            fee_item_id: 1,
            category: Category::Property,
            amount: Fen(1),
        },
    ];
    assert!(matches!(
        billing_entry(&lines),
        Err(LedgerError::Overflow(_))
    ));

    let paid = [PaidLine {
        object: ROOM,
        object_id: 1,
        fee_item_id: 1,
        late_fee: Fen(i64::MAX),
        principal: Fen(1),
    }];
    assert!(matches!(
        payment_entry(Account::CashOnHand { user_id: 1 }, 1, &paid, None),
        Err(LedgerError::Overflow(_))
    ));
}

#[test]
fn reversal_balances_and_nets_every_account_to_zero() {
    let e = billing_entry(&[
        BilledLine {
            object: ROOM,
            object_id: 12,
            fee_item_id: 3,
            category: Category::Property,
            amount: Fen(120_000),
        },
        BilledLine {
            object: ROOM,
            object_id: 12,
            fee_item_id: 5,
            category: Category::OnBehalf,
            amount: Fen(3_000),
        },
    ])
    .unwrap();
    let r = e.reversal(EntryKind::Void);
    assert_eq!(r.kind, EntryKind::Void);
    assert_eq!(r.check(), Ok(()));
    assert_eq!(r.total(), e.total());
    assert_eq!(r.postings.len(), e.postings.len());
    for (a, b) in e.postings.iter().zip(&r.postings) {
        assert_eq!(a.account, b.account);
        assert_eq!((a.debit, a.credit), (b.credit, b.debit));
    }
    let bal = balances(e.postings.iter().chain(&r.postings));
    assert_eq!(bal.len(), 4);
    assert!(bal.values().all(|v| *v == 0), "{bal:?}");
}

// ---------------------------------------------------------------- builders

#[test]
fn billing_debits_each_line_and_credits_each_item_once() {
    let line = |object, object_id, fee_item_id, category, amount| BilledLine {
        object,
        object_id,
        fee_item_id,
        category,
        amount: Fen(amount),
    };
    let e = billing_entry(&[
        line(ROOM, 12, 3, Category::Property, 22_375),
        line(ROOM, 12, 5, Category::OnBehalf, 3_000),
        line(ROOM, 13, 3, Category::Property, 18_000),
        line(SPACE, 7, 4, Category::Parking, 0),
        line(SPACE, 8, 4, Category::Parking, 15_000),
    ])
    .unwrap();
    assert_eq!(e.kind, EntryKind::Billing);
    assert_eq!(
        sides(&e),
        vec![
            s("receivable:room:12:3", 22_375, 0),
            s("receivable:room:12:5", 3_000, 0),
            s("receivable:room:13:3", 18_000, 0),
            s("receivable:space:8:4", 15_000, 0),
            s("revenue:3", 0, 40_375),
            s("on_behalf:5", 0, 3_000),
            s("revenue:4", 0, 15_000),
        ]
    );
    assert_eq!(e.total(), Fen(58_375));
    let bal = balances(&e.postings);
    assert_eq!(bal.values().sum::<i64>(), 0);
    assert_eq!(bal[&Account::Revenue { fee_item_id: 3 }], -40_375);

    // Nothing but zeros, no lines, a negative amount, mixed categories.
    assert!(matches!(
        billing_entry(&[line(ROOM, 1, 1, Category::Property, 0)]),
        Err(LedgerError::Empty(_))
    ));
    assert!(matches!(billing_entry(&[]), Err(LedgerError::Empty(_))));
    let e = billing_entry(&[line(ROOM, 1, 1, Category::Property, -5)]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "amount: line 1: must not be negative, got ¥-0.05"
    );
    let e = billing_entry(&[
        line(ROOM, 1, 1, Category::Property, 5),
        line(ROOM, 2, 1, Category::OnBehalf, 5),
    ])
    .unwrap_err();
    assert!(
        e.to_string().starts_with("category: line 2: fee item 1"),
        "{e}"
    );
    // A bad id is caught by the entry check.
    assert!(matches!(
        billing_entry(&[line(ROOM, 0, 1, Category::Property, 5)]),
        Err(LedgerError::Posting { index: 1, .. })
    ));
}

#[test]
fn payment_debits_the_source_and_credits_principal_late_fee_and_advance() {
    let lines = [
        PaidLine {
            object: ROOM,
            object_id: 12,
            fee_item_id: 3,
            late_fee: Fen(150),
            principal: Fen(22_375),
        },
        PaidLine {
            object: ROOM,
            object_id: 12,
            fee_item_id: 5,
            late_fee: Fen(0),
            principal: Fen(3_000),
        },
        PaidLine {
            object: SPACE,
            object_id: 8,
            fee_item_id: 4,
            late_fee: Fen(50),
            principal: Fen(0),
        },
    ];
    let clearing = Account::Clearing {
        provider: "alipay".into(),
        merchant: "2088102147948060".into(),
    };
    let e = payment_entry(clearing, 9, &lines, Some((ROOM, 12, Fen(10_000)))).unwrap();
    assert_eq!(e.kind, EntryKind::Payment);
    assert_eq!(
        sides(&e),
        vec![
            s("clearing:alipay:2088102147948060", 35_575, 0),
            s("receivable:room:12:3", 0, 22_375),
            s("receivable:room:12:5", 0, 3_000),
            s("late_fee_income:9", 0, 200),
            s("advance:room:12", 0, 10_000),
        ]
    );
    assert_eq!(balances(&e.postings).values().sum::<i64>(), 0);

    // Cash, no late fee, no advance.
    let e = payment_entry(Account::CashOnHand { user_id: 42 }, 9, &lines[1..2], None).unwrap();
    assert_eq!(
        sides(&e),
        vec![s("cash:42", 3_000, 0), s("receivable:room:12:5", 0, 3_000)]
    );
    // Into the safe (counter payment), advance only.
    let e = payment_entry(
        Account::CashInSafe { estate_id: 9 },
        9,
        &[],
        Some((SPACE, 8, Fen(5_000))),
    )
    .unwrap();
    assert_eq!(
        sides(&e),
        vec![s("safe:9", 5_000, 0), s("advance:space:8", 0, 5_000)]
    );

    // Refusals.
    let e = payment_entry(Account::Revenue { fee_item_id: 3 }, 9, &lines, None).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("source: revenue:3 cannot receive"),
        "{e}"
    );
    assert!(matches!(
        payment_entry(Account::CashOnHand { user_id: 42 }, 9, &[], None),
        Err(LedgerError::Empty(_))
    ));
    assert!(matches!(
        payment_entry(
            Account::CashOnHand { user_id: 42 },
            9,
            &[],
            Some((ROOM, 1, Fen(0)))
        ),
        Err(LedgerError::Empty(_))
    ));
    let neg = [PaidLine {
        principal: Fen(-1),
        ..lines[0].clone()
    }];
    let e = payment_entry(Account::CashOnHand { user_id: 42 }, 9, &neg, None).unwrap_err();
    assert!(e.to_string().starts_with("principal: line 1"), "{e}");
    let e = payment_entry(
        Account::CashOnHand { user_id: 42 },
        9,
        &lines,
        Some((ROOM, 1, Fen(-1))),
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("advance:"), "{e}");
}

#[test]
fn waiver_debits_waivers_or_the_on_behalf_payable() {
    let e = waiver_entry((ROOM, 12, 3), Category::Property, Fen(1_000)).unwrap();
    assert_eq!(e.kind, EntryKind::Waiver);
    assert_eq!(
        sides(&e),
        vec![
            s("waivers:3", 1_000, 0),
            s("receivable:room:12:3", 0, 1_000)
        ]
    );
    let e = waiver_entry((SPACE, 8, 5), Category::OnBehalf, Fen(300)).unwrap();
    assert_eq!(
        sides(&e),
        vec![s("on_behalf:5", 300, 0), s("receivable:space:8:5", 0, 300)]
    );
    assert!(matches!(
        waiver_entry((ROOM, 12, 3), Category::Property, Fen(0)),
        Err(LedgerError::Empty(_))
    ));
    assert!(waiver_entry((ROOM, 12, 3), Category::Property, Fen(-1)).is_err());
}

#[test]
fn handover_exact_short_over_and_edge_amounts() {
    let exact = handover_entry(42, 1, Fen(50_000), Fen(50_000)).unwrap();
    assert_eq!(exact.kind, EntryKind::Handover);
    assert_eq!(
        sides(&exact),
        vec![s("safe:1", 50_000, 0), s("cash:42", 0, 50_000)]
    );

    let short = handover_entry(42, 1, Fen(50_000), Fen(49_000)).unwrap();
    assert_eq!(
        sides(&short),
        vec![
            s("safe:1", 49_000, 0),
            s("over_short:1", 1_000, 0),
            s("cash:42", 0, 50_000),
        ]
    );

    let over = handover_entry(42, 1, Fen(50_000), Fen(50_100)).unwrap();
    assert_eq!(
        sides(&over),
        vec![
            s("safe:1", 50_100, 0),
            s("over_short:1", 0, 100),
            s("cash:42", 0, 50_000),
        ]
    );

    // Nothing counted: all of it is short. Nothing expected: all of it over.
    let none_counted = handover_entry(42, 1, Fen(500), Fen(0)).unwrap();
    assert_eq!(
        sides(&none_counted),
        vec![s("over_short:1", 500, 0), s("cash:42", 0, 500)]
    );
    let none_expected = handover_entry(42, 1, Fen(0), Fen(500)).unwrap();
    assert_eq!(
        sides(&none_expected),
        vec![s("safe:1", 500, 0), s("over_short:1", 0, 500)]
    );

    assert!(matches!(
        handover_entry(42, 1, Fen(0), Fen(0)),
        Err(LedgerError::Empty(_))
    ));
    let e = handover_entry(42, 1, Fen(-1), Fen(5)).unwrap_err();
    assert_eq!(e.to_string(), "expected: must not be negative, got ¥-0.01");
    let e = handover_entry(42, 1, Fen(5), Fen(-1)).unwrap_err();
    assert!(e.to_string().starts_with("counted:"), "{e}");

    // The collector's cash nets to zero once the payment is handed over.
    let pay = payment_entry(
        Account::CashOnHand { user_id: 42 },
        1,
        &[PaidLine {
            object: ROOM,
            object_id: 12,
            fee_item_id: 3,
            late_fee: Fen(0),
            principal: Fen(50_000),
        }],
        None,
    )
    .unwrap();
    let bal = balances(pay.postings.iter().chain(&short.postings));
    assert_eq!(bal[&Account::CashOnHand { user_id: 42 }], 0);
    assert_eq!(bal[&Account::CashInSafe { estate_id: 1 }], 49_000);
    assert_eq!(bal[&Account::CashOverShort { estate_id: 1 }], 1_000);
}

#[test]
fn handover_difference_and_verdict() {
    assert_eq!(handover_difference(Fen(500), Fen(500)), Fen(0));
    assert_eq!(handover_difference(Fen(500), Fen(450)), Fen(-50));
    assert_eq!(handover_difference(Fen(500), Fen(520)), Fen(20));
    assert_eq!(handover_verdict(Fen(500), Fen(500)), HandoverVerdict::Exact);
    assert_eq!(
        handover_verdict(Fen(500), Fen(450)),
        HandoverVerdict::Short(Fen(50))
    );
    assert_eq!(
        handover_verdict(Fen(500), Fen(520)),
        HandoverVerdict::Over(Fen(20))
    );
    assert_eq!(
        handover_verdict(Fen(500), Fen(450)).to_string(),
        "short by ¥0.50"
    );
    assert_eq!(
        handover_verdict(Fen(i64::MIN), Fen(i64::MAX)),
        HandoverVerdict::Over(Fen(i64::MAX))
    );
}

// ---------------------------------------------------------------- checks

#[test]
fn bill_partial_payment_waiver_matches_expected_receivable() {
    // Room 12 is billed 1,200.00 property (item 3) and 30.00 water (item 5);
    // space 8 is billed 150.00 parking (item 4).
    let bill = billing_entry(&[
        BilledLine {
            object: ROOM,
            object_id: 12,
            fee_item_id: 3,
            category: Category::Property,
            amount: Fen(120_000),
        },
        BilledLine {
            object: ROOM,
            object_id: 12,
            fee_item_id: 5,
            category: Category::OnBehalf,
            amount: Fen(3_000),
        },
        BilledLine {
            object: SPACE,
            object_id: 8,
            fee_item_id: 4,
            category: Category::Parking,
            amount: Fen(15_000),
        },
    ])
    .unwrap();
    // The owner pays 1,000.00 principal and 2.00 late fee on the property
    // line, and the water in full, in cash.
    let pay = payment_entry(
        Account::CashOnHand { user_id: 42 },
        1,
        &[
            PaidLine {
                object: ROOM,
                object_id: 12,
                fee_item_id: 3,
                late_fee: Fen(200),
                principal: Fen(100_000),
            },
            PaidLine {
                object: ROOM,
                object_id: 12,
                fee_item_id: 5,
                late_fee: Fen(0),
                principal: Fen(3_000),
            },
        ],
        None,
    )
    .unwrap();
    // The rest of the property line (200.00) is waived.
    let waive = waiver_entry((ROOM, 12, 3), Category::Property, Fen(20_000)).unwrap();

    let entries = vec![(1, bill), (2, pay), (3, waive)];
    assert!(check_entries(&entries).is_empty());
    let ledger = balances(entries.iter().flat_map(|(_, e)| &e.postings));

    let bills = [
        (
            ROOM,
            12,
            3,
            expected_receivable(Fen(120_000), Fen(100_000), true),
        ),
        (
            ROOM,
            12,
            5,
            expected_receivable(Fen(3_000), Fen(3_000), false),
        ),
        (SPACE, 8, 4, expected_receivable(Fen(15_000), Fen(0), false)),
    ];
    assert_eq!(bills[0].3, Fen(0));
    assert_eq!(bills[2].3, Fen(15_000));
    assert_eq!(compare_receivables(&ledger, &bills), vec![]);

    assert_eq!(ledger[&receivable(ROOM, 12, 3)], 0);
    assert_eq!(ledger[&receivable(ROOM, 12, 5)], 0);
    assert_eq!(ledger[&receivable(SPACE, 8, 4)], 15_000);
    assert_eq!(ledger[&Account::CashOnHand { user_id: 42 }], 103_200);
    assert_eq!(ledger[&Account::Revenue { fee_item_id: 3 }], -120_000);
    assert_eq!(ledger[&Account::Waivers { fee_item_id: 3 }], 20_000);
    assert_eq!(ledger[&Account::OnBehalfPayable { fee_item_id: 5 }], -3_000);
    assert_eq!(ledger[&Account::LateFeeIncome { estate_id: 1 }], -200);
    assert_eq!(ledger.values().sum::<i64>(), 0);
}

#[test]
fn expected_receivable_rules() {
    assert_eq!(expected_receivable(Fen(1_000), Fen(0), false), Fen(1_000));
    assert_eq!(expected_receivable(Fen(1_000), Fen(400), false), Fen(600));
    assert_eq!(expected_receivable(Fen(1_000), Fen(1_000), false), Fen(0));
    assert_eq!(expected_receivable(Fen(1_000), Fen(400), true), Fen(0));
}

#[test]
fn compare_receivables_catches_missing_and_differing_accounts() {
    let mut ledger = BTreeMap::new();
    ledger.insert(receivable(ROOM, 12, 3), 120_000);
    ledger.insert(receivable(ROOM, 13, 3), 5_000); // no bill line on it
    ledger.insert(receivable(ROOM, 14, 3), 0); // paid off, no bill: fine
    ledger.insert(Account::Revenue { fee_item_id: 3 }, -125_000); // ignored
    let bills = [
        (ROOM, 12, 3, Fen(60_000)),
        (ROOM, 12, 3, Fen(50_000)), // two periods on one receivable
        (SPACE, 8, 4, Fen(15_000)), // not in the ledger
        (SPACE, 9, 4, Fen(0)),      // not in the ledger, nothing owed: fine
    ];
    let problems = compare_receivables(&ledger, &bills);
    assert_eq!(
        problems,
        vec![
            LedgerProblem::ReceivableDiffers {
                account: receivable(ROOM, 12, 3),
                ledger: Some(Fen(120_000)),
                bills: Some(Fen(110_000)),
            },
            LedgerProblem::ReceivableDiffers {
                account: receivable(ROOM, 13, 3),
                ledger: Some(Fen(5_000)),
                bills: None,
            },
            LedgerProblem::ReceivableDiffers {
                account: receivable(SPACE, 8, 4),
                ledger: None,
                bills: Some(Fen(15_000)),
            },
        ]
    );
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "receivable:room:12:3: ledger ¥1,200.00, bills ¥1,100.00",
            "receivable:room:13:3: ledger ¥50.00, no bill line",
            "receivable:space:8:4: not in the ledger, bills ¥150.00",
        ]
    );
}

#[test]
fn check_entries_lists_every_bad_entry_by_id() {
    let good = waiver_entry((ROOM, 12, 3), Category::Property, Fen(1_000)).unwrap();
    let unbalanced = Entry {
        kind: EntryKind::Adjustment,
        postings: vec![
            Posting::debit(Account::CashOnHand { user_id: 1 }, Fen(10_000)),
            Posting::credit(Account::Revenue { fee_item_id: 1 }, Fen(9_000)),
        ],
    };
    let empty = Entry {
        kind: EntryKind::Adjustment,
        postings: vec![],
    };
    let problems = check_entries(&[(16, good), (17, unbalanced), (18, empty)]);
    assert_eq!(problems.len(), 2);
    assert_eq!(
        problems[0],
        LedgerProblem::Unbalanced {
            entry_id: 17,
            debits: Fen(10_000),
            credits: Fen(9_000),
        }
    );
    assert_eq!(
        problems[0].to_string(),
        "entry 17 does not balance: debits ¥100.00, credits ¥90.00"
    );
    assert!(matches!(
        problems[1],
        LedgerProblem::Malformed { entry_id: 18, .. }
    ));
    assert_eq!(
        problems[1].to_string(),
        "entry 18: entry has nothing to post: no postings"
    );
}

// ---------------------------------------------------------------- cash custody

#[test]
fn cash_limits_default() {
    let l = CashLimits::default();
    assert_eq!(l.max_fen, Fen(200_000));
    assert_eq!(l.max_hours, 24);
}

#[test]
fn cash_alerts_at_the_edges() {
    let now = 1_800_000_000;
    let limits = CashLimits::default();
    let day = 24 * 3600;
    let held = [
        // Exactly at both limits: no alert.
        CashHeld {
            user_id: 1,
            amount: Fen(200_000),
            oldest_at: now - day,
        },
        // One fen above the amount limit.
        CashHeld {
            user_id: 2,
            amount: Fen(200_001),
            oldest_at: now,
        },
        // One second past the age limit.
        CashHeld {
            user_id: 3,
            amount: Fen(100),
            oldest_at: now - day - 1,
        },
        // Both.
        CashHeld {
            user_id: 4,
            amount: Fen(300_000),
            oldest_at: now - 30 * 3600 - 59,
        },
        // Holding nothing: no alert however old.
        CashHeld {
            user_id: 5,
            amount: Fen(0),
            oldest_at: 0,
        },
        // Taken "in the future" (clock skew): no age alert.
        CashHeld {
            user_id: 6,
            amount: Fen(100),
            oldest_at: now + 3600,
        },
    ];
    let alerts = cash_alerts(&held, now, &limits);
    assert_eq!(
        alerts,
        vec![
            CashAlert {
                user_id: 2,
                reason: AlertReason::Amount {
                    held: Fen(200_001),
                    limit: Fen(200_000),
                },
            },
            CashAlert {
                user_id: 3,
                reason: AlertReason::Age {
                    hours: 24,
                    limit: 24
                },
            },
            CashAlert {
                user_id: 4,
                reason: AlertReason::Amount {
                    held: Fen(300_000),
                    limit: Fen(200_000),
                },
            },
            CashAlert {
                user_id: 4,
                reason: AlertReason::Age {
                    hours: 30,
                    limit: 24
                },
            },
        ]
    );
    assert_eq!(
        alerts[0].to_string(),
        "user 2: holds ¥2,000.01 in cash, more than the ¥2,000.00 limit"
    );
    assert_eq!(
        alerts[3].to_string(),
        "user 4: oldest cash held 30 h, longer than the 24 h limit"
    );

    // Extreme inputs do not overflow.
    let odd = CashLimits {
        max_fen: Fen(0),
        max_hours: i64::MAX,
    };
    let extreme = [CashHeld {
        user_id: 7,
        amount: Fen(1),
        oldest_at: i64::MIN,
    }];
    let alerts = cash_alerts(&extreme, i64::MAX, &odd);
    assert_eq!(alerts.len(), 1);
    assert!(matches!(alerts[0].reason, AlertReason::Amount { .. }));
}
