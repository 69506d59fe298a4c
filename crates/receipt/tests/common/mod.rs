//! A typical receipt and its signing key, shared by the integration tests
//! (and copied by the benchmark).
#![allow(dead_code)]

use doorstep_merkle::note::Signer;
use doorstep_receipt::{ContentLine, ReceiptContent};

pub const KEY_NAME: &str = "doorstep.example/receipts";

pub fn signer() -> Signer {
    Signer::from_seed(KEY_NAME, &[7u8; 32]).unwrap()
}

pub fn line(item: &str, period: &str, basis: &str, amount: i64, late: i64) -> ContentLine {
    ContentLine {
        item: item.into(),
        period: period.into(),
        basis: basis.into(),
        amount_fen: amount,
        late_fee_fen: late,
        waived_fen: 0,
        paid_fen: amount + late,
    }
}

/// Four lines paying ¥1,234.56 by WeChat Pay.
pub fn sample() -> ReceiptContent {
    ReceiptContent {
        v: 1,
        company_id: 7,
        company: "上海静安锦绣物业管理有限公司".into(),
        company_code: "91310106MA1FL5TQ2X".into(),
        estate: "锦绣花园".into(),
        number: 123,
        issued_at: "2026-11-27T19:42:05+08:00".into(),
        payer: "王秀英".into(),
        object: "3栋2单元1201、车位 B-023".into(),
        lines: vec![
            line(
                "物业服务费",
                "2026-10 ~ 2026-12",
                "2.50元/m² × 89.00m² × 3月",
                66750,
                0,
            ),
            line("车位管理费", "2026-11", "150.00元/月 × 1", 15000, 0),
            line("公摊水电费", "2026-11", "", 3456, 0),
            line("装修垃圾清运费", "2026-09", "按次 × 1", 38000, 250),
        ],
        total_fen: 123456,
        method: "wechat".into(),
        transaction_id: Some("4200002345202611271234567890".into()),
        collector: "李建国".into(),
        payment_id: 98765,
    }
}

/// `n` lines with assorted items, each paying ¥10.00 + i fen.
pub fn many_lines(n: usize) -> ReceiptContent {
    let items = [
        "物业服务费",
        "车位管理费",
        "公摊水电费",
        "电梯运行费",
        "二次供水费",
    ];
    let mut c = sample();
    c.lines = (0..n)
        .map(|i| {
            line(
                &format!("{}{:02}", items[i % items.len()], i + 1),
                &format!("2026-{:02}", i % 12 + 1),
                "2.50元/m² × 89.00m²",
                1000 + i as i64,
                0,
            )
        })
        .collect();
    c.total_fen = c.lines.iter().map(|l| l.paid_fen).sum();
    c
}
