//! A small evidence log in memory, as the database side would keep it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use doorstep_evidence::record::{self, record_bytes};
use doorstep_merkle::note::{Checkpoint, Signer};
use doorstep_merkle::{Hash, MemStore, inclusion_proof, leaf_hash, root_at};
use serde_json::json;
use sha2::{Digest, Sha256};

pub const ORIGIN: &str = "doorstep.example.com/doorstep/7/evidence";
pub const KEY_NAME: &str = "doorstep.example.com/doorstep/7/evidence";

pub fn signer() -> Signer {
    Signer::from_seed(KEY_NAME, &[7u8; 32]).unwrap()
}

/// A key that was in use before, and is now retired.
pub fn retired_signer() -> Signer {
    Signer::from_seed(KEY_NAME, &[6u8; 32]).unwrap()
}

pub fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// The receipt "file" for payment `n` (stands in for a PDF).
pub fn receipt_file(n: usize) -> Vec<u8> {
    format!("%PDF-1.7\n收据 No. R2026-{n:05}\n金额 人民币叁佰伍拾元整\n%%EOF\n").into_bytes()
}

/// A signature image for signature `n` (stands in for a PNG).
pub fn signature_png(n: usize) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.extend_from_slice(format!("strokes of signature {n}").as_bytes());
    b
}

/// The `i`-th record of a realistic log: check-ins, signatures, payments,
/// outcomes and the odd voided receipt, with Chinese text.
pub fn record(i: usize) -> Vec<u8> {
    let booking = 1000 + i / 5;
    let at = format!(
        "2026-11-{:02}T{:02}:{:02}:07Z",
        1 + i % 28,
        9 + i % 10,
        i % 60
    );
    let (kind, fields) = match i % 5 {
        0 => (
            record::CHECKIN,
            json!({
                "booking": booking, "collector": "u-12", "device": "dev-3f9a",
                "lat": 31.230416 + i as f64 * 1e-5, "lng": 121.473701, "accuracy_m": 8.5,
                "fix_at": at, "geofence": {"verdict": "inside", "distance_m": 12},
                "at": at,
            }),
        ),
        1 => (
            record::SIGNATURE,
            json!({
                "booking": booking, "signature": format!("sig-{i}"),
                "shown_sha256": sha256_hex(format!("shown {i}").as_bytes()),
                "strokes_sha256": sha256_hex(format!("strokes {i}").as_bytes()),
                "image_sha256": sha256_hex(&signature_png(i)),
                "at": at,
            }),
        ),
        2 => (
            record::PAYMENT,
            json!({
                "payment": format!("p-{i}"), "booking": booking, "estate": "绿地花园",
                "objects": ["3栋2单元1502室", "车位 B-117"],
                "breakdown": [
                    {"category": "物业费", "item": "物业服务费", "period": "2026-10", "principal_fen": 30000, "late_fee_fen": 450},
                    {"category": "停车费", "item": "地下车位管理费", "period": "2026-10", "principal_fen": 4550, "late_fee_fen": 0},
                ],
                "amount_fen": 35000, "method": "wechat", "provider": "wechat",
                "transaction_id": format!("4200001234202611{i:06}"),
                "collector": "u-12", "device": "dev-3f9a",
                "receipt": format!("R2026-{i:05}"),
                "receipt_sha256": sha256_hex(&receipt_file(i)),
                "at": at,
            }),
        ),
        3 => (
            record::OUTCOME,
            json!({"booking": booking, "result": "paid", "reason": "业主当面缴清\n“谢谢”", "at": at}),
        ),
        _ => (
            record::RECEIPT_VOID,
            json!({
                "receipt": format!("R2026-{:05}", i - 2),
                "receipt_sha256": sha256_hex(&receipt_file(i - 2)),
                "reason": "金额录入错误 / wrong amount", "requested_by": "u-12", "approved_by": "u-2",
                "at": at,
            }),
        ),
    };
    record_bytes(kind, fields).unwrap()
}

/// A log of `n` records with its tree.
pub struct Log {
    pub records: Vec<Vec<u8>>,
    pub leaves: Vec<Hash>,
    pub store: MemStore,
}

impl Log {
    pub fn new(n: usize) -> Log {
        Log::from_records((0..n).map(record).collect())
    }

    pub fn from_records(records: Vec<Vec<u8>>) -> Log {
        let mut store = MemStore::new();
        let mut leaves = Vec::new();
        for r in &records {
            let h = leaf_hash(r);
            store.push(h).unwrap();
            leaves.push(h);
        }
        Log {
            records,
            leaves,
            store,
        }
    }

    pub fn root(&self, size: u64) -> Hash {
        root_at(size, &self.store).unwrap()
    }

    pub fn checkpoint(&self, size: u64, signer: &Signer) -> String {
        Checkpoint {
            origin: ORIGIN.to_string(),
            size,
            root: self.root(size),
        }
        .sign(signer)
        .unwrap()
    }

    pub fn proof(&self, index: u64, size: u64) -> Vec<Hash> {
        inclusion_proof(index, size, &self.store).unwrap()
    }
}
