//! Auditing a stored log: every kind of tampering is found and named.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use common::{Log, retired_signer, signer};
use doorstep_evidence::audit::{Finding, StoredCheckpoint, StoredRecord, audit};
use doorstep_merkle::Hash;
use doorstep_merkle::note::{Signer, Verifier};

/// What the database holds.
#[derive(Clone)]
struct Db {
    size: u64,
    records: Vec<Option<Vec<u8>>>,
    leaf_hashes: Vec<Option<Hash>>,
    checkpoints: Vec<StoredCheckpoint>,
}

impl Db {
    /// A log of `n` records with a checkpoint at each of `sizes`.
    fn new(n: usize, sizes: &[u64]) -> (Db, Log) {
        Db::from_log(Log::new(n), sizes, &signer())
    }

    fn from_log(log: Log, sizes: &[u64], s: &Signer) -> (Db, Log) {
        let checkpoints = sizes
            .iter()
            .map(|&size| StoredCheckpoint {
                size,
                root: log.root(size),
                note: log.checkpoint(size, s),
            })
            .collect();
        let db = Db {
            size: log.records.len() as u64,
            records: log.records.iter().cloned().map(Some).collect(),
            leaf_hashes: log.leaves.iter().copied().map(Some).collect(),
            checkpoints,
        };
        (db, log)
    }

    fn audit(&self) -> Vec<Finding> {
        self.audit_with(&[signer().verifier(), retired_signer().verifier()])
    }

    fn audit_with(&self, verifiers: &[Verifier]) -> Vec<Finding> {
        let records = self.records.iter().enumerate().filter_map(|(i, r)| {
            r.clone().map(|bytes| StoredRecord {
                index: i as u64,
                bytes,
            })
        });
        audit(
            self.size,
            records,
            |i| self.leaf_hashes.get(i as usize).copied().flatten(),
            &self.checkpoints,
            verifiers,
        )
    }

    fn record_mut(&mut self, i: u64) -> &mut Vec<u8> {
        self.records[i as usize].as_mut().unwrap()
    }

    /// Rewrites record `i` and its stored leaf hash consistently.
    fn rewrite(&mut self, i: u64, bytes: Vec<u8>) {
        self.leaf_hashes[i as usize] = Some(doorstep_merkle::leaf_hash(&bytes));
        self.records[i as usize] = Some(bytes);
    }
}

fn every(n: u64) -> Vec<u64> {
    (1..=n).collect()
}

/// Another canonical record with the same shape as record `i`.
fn rewritten(i: u64) -> Vec<u8> {
    let s = String::from_utf8(common::record(i as usize)).unwrap();
    let s = s.replacen("\"at\":\"2026-", "\"at\":\"2025-", 1);
    assert!(doorstep_evidence::record::is_canonical(s.as_bytes()));
    s.into_bytes()
}

#[test]
fn an_intact_log_has_no_findings() {
    let (db, _) = Db::new(40, &[1, 5, 17, 32, 40, 0]);
    assert_eq!(db.audit(), []);
    // Checkpoints signed by the retired key still count.
    let (db, _) = Db::from_log(Log::new(40), &[20, 40], &retired_signer());
    assert_eq!(db.audit(), []);
    // An empty log.
    let (db, _) = Db::new(0, &[0]);
    assert_eq!(db.audit(), []);
}

#[test]
fn a_changed_byte_is_named() {
    let (mut db, _) = Db::new(40, &[10, 20, 30, 40]);
    let r = db.record_mut(17);
    let at = r.iter().position(|&b| b == b'u').unwrap();
    r[at] = b'v';
    let f = db.audit();
    assert_eq!(
        f,
        [
            Finding::Changed { index: 17 },
            Finding::CheckpointBroken {
                size: 20,
                first_bad_from: 10,
                first_bad_to: 19
            },
            Finding::LaterCheckpointsBroken {
                count: 2,
                from_size: 30,
                to_size: 40
            },
        ]
    );
    assert_eq!(
        f[0].to_string(),
        "record #17 was changed: its bytes no longer match the leaf hash logged for it"
    );
    assert_eq!(
        f[1].to_string(),
        "the signed checkpoint at size 20 no longer matches the records: one of records #10–#19 was rewritten after it was signed"
    );
    assert_eq!(
        f[2].to_string(),
        "2 later checkpoint(s) (sizes 30–40) do not match either, as follows from the rewrite above"
    );
}

#[test]
fn a_deleted_record_is_missing() {
    let (mut db, _) = Db::new(40, &[10, 20, 40]);
    db.records[23] = None;
    assert_eq!(db.audit(), [Finding::Missing { index: 23 }]);
    assert_eq!(
        Finding::Missing { index: 23 }.to_string(),
        "record #23 is missing: the log has no record at that index"
    );
    // The last one, and its leaf hash.
    db.records[39] = None;
    db.leaf_hashes[39] = None;
    let f = db.audit();
    assert_eq!(
        f,
        [
            Finding::Missing { index: 23 },
            Finding::Missing { index: 39 },
            Finding::LeafHashMissing { index: 39 },
            Finding::CheckpointBroken {
                size: 40,
                first_bad_from: 20,
                first_bad_to: 39
            },
        ]
    );
}

#[test]
fn swapped_records_are_named() {
    let (mut db, _) = Db::new(40, &[40]);
    db.records.swap(5, 31);
    assert_eq!(
        db.audit(),
        [
            Finding::Swapped { a: 5, b: 31 },
            Finding::CheckpointBroken {
                size: 40,
                first_bad_from: 0,
                first_bad_to: 39
            },
        ]
    );
    assert_eq!(
        Finding::Swapped { a: 5, b: 31 }.to_string(),
        "records #5 and #31 were swapped: each one's bytes match the leaf hash logged for the other"
    );
    // A swap plus an unrelated change.
    db.record_mut(7)[3] ^= 0x20;
    let f = db.audit();
    assert_eq!(
        &f[..2],
        [
            Finding::Swapped { a: 5, b: 31 },
            Finding::Changed { index: 7 }
        ]
    );
}

#[test]
fn a_consistent_rewrite_is_caught_by_the_checkpoints() {
    // Checkpoints after every append: the record is named exactly.
    let (mut db, _) = Db::new(40, &every(40));
    db.rewrite(17, rewritten(17));
    let f = db.audit();
    assert_eq!(
        f,
        [
            Finding::CheckpointBroken {
                size: 18,
                first_bad_from: 17,
                first_bad_to: 17
            },
            Finding::LaterCheckpointsBroken {
                count: 22,
                from_size: 19,
                to_size: 40
            },
        ]
    );
    assert_eq!(
        f[0].to_string(),
        "the signed checkpoint at size 18 no longer matches the records: record #17 was rewritten after it was signed"
    );

    // Checkpoints every ten records: a range.
    let (mut db, _) = Db::new(40, &[10, 20, 30, 40]);
    db.rewrite(23, rewritten(23));
    assert_eq!(
        db.audit(),
        [
            Finding::CheckpointBroken {
                size: 30,
                first_bad_from: 20,
                first_bad_to: 29
            },
            Finding::LaterCheckpointsBroken {
                count: 1,
                from_size: 40,
                to_size: 40
            },
        ]
    );

    // A record written after the last checkpoint cannot be vouched for yet.
    let (mut db, _) = Db::new(40, &[30]);
    db.rewrite(35, rewritten(35));
    assert_eq!(db.audit(), []);
}

#[test]
fn checkpoint_problems() {
    let (mut db, _) = Db::new(40, &[10, 20, 40]);
    // A forged note.
    db.checkpoints[1].note = db.checkpoints[1].note.replacen("\n20\n", "\n21\n", 1);
    // Stored columns that differ from what was signed.
    db.checkpoints[2].root[0] ^= 1;
    assert_eq!(
        db.audit(),
        [
            Finding::BadCheckpointSignature { size: 20 },
            Finding::BadCheckpointSignature { size: 40 },
        ]
    );
    // Unknown key.
    let (db, _) = Db::new(12, &[12]);
    let other = Signer::from_seed("x", &[9; 32]).unwrap().verifier();
    assert_eq!(
        db.audit_with(&[other]),
        [Finding::BadCheckpointSignature { size: 12 }]
    );
}

#[test]
fn records_beyond_the_size_truncation_and_missing_hashes() {
    // The log's size says 38, but 40 records are stored.
    let (mut db, _) = Db::new(40, &[38]);
    db.size = 38;
    assert_eq!(
        db.audit(),
        [
            Finding::Unexpected { index: 38 },
            Finding::Unexpected { index: 39 }
        ]
    );
    // Records removed from the end, size lowered to hide it.
    let (mut db, _) = Db::new(40, &[20, 40]);
    db.size = 35;
    db.records.truncate(35);
    let f = db.audit();
    assert_eq!(
        f,
        [Finding::Truncated {
            size: 35,
            checkpoint_size: 40
        }]
    );
    assert_eq!(
        f[0].to_string(),
        "records #35–#39 were removed: a checkpoint was signed at size 40, but the log now has 35 record(s)"
    );
    // A leaf hash lost.
    let (mut db, _) = Db::new(40, &[40]);
    db.leaf_hashes[3] = None;
    assert_eq!(db.audit(), [Finding::LeafHashMissing { index: 3 }]);
}

#[test]
fn non_canonical_records_are_named() {
    let mut records: Vec<Vec<u8>> = (0..20).map(common::record).collect();
    records[4] = br#"{"kind":"outcome", "v":1}"#.to_vec();
    let (db, _) = Db::from_log(Log::from_records(records), &[20], &signer());
    let f = db.audit();
    assert_eq!(f, [Finding::NotCanonical { index: 4 }]);
    assert!(
        f[0].to_string()
            .starts_with("record #4 is not canonical JSON")
    );
}

#[test]
fn out_of_order_records_are_skipped_and_named() {
    let (db, log) = Db::new(10, &[10]);
    let mut records: Vec<StoredRecord> = (0..10)
        .map(|i| StoredRecord {
            index: i,
            bytes: log.records[i as usize].clone(),
        })
        .collect();
    records.insert(5, records[2].clone());
    let f = audit(
        10,
        records,
        |i| db.leaf_hashes[i as usize],
        &db.checkpoints,
        &[signer().verifier()],
    );
    assert_eq!(f, [Finding::OutOfOrder { index: 2 }]);
}

/// A tiny deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Random logs of 1..=300 records with random checkpoints (always one at
/// the end), one random tampering each: always found, and the finding names
/// the right record.
#[test]
fn random_single_tampering_is_always_found() {
    let mut rng = Rng(0x5eed_d00a_5eed_d00b);
    let all: Vec<Vec<u8>> = (0..300).map(common::record).collect();
    for round in 0..150 {
        let n = 1 + rng.below(300);
        let mut sizes: Vec<u64> = (0..rng.below(6)).map(|_| rng.below(n + 1)).collect();
        sizes.push(n);
        let log = Log::from_records(all[..n as usize].to_vec());
        let (mut db, _) = Db::from_log(log, &sizes, &signer());
        assert_eq!(db.audit(), [], "round {round}: intact");
        let k = rng.below(n);
        let what = rng.below(6);
        let f = match what {
            0 => {
                let r = db.record_mut(k);
                let at = rng.below(r.len() as u64) as usize;
                r[at] ^= 1 << rng.below(8);
                let f = db.audit();
                assert!(
                    f.contains(&Finding::Changed { index: k }),
                    "round {round}: {f:?}"
                );
                f
            }
            1 => {
                db.records[k as usize] = None;
                let f = db.audit();
                assert_eq!(f, [Finding::Missing { index: k }], "round {round}");
                f
            }
            2 => {
                let j = rng.below(n);
                if j == k {
                    continue;
                }
                db.records.swap(k as usize, j as usize);
                let f = db.audit();
                assert!(
                    f.contains(&Finding::Swapped {
                        a: k.min(j),
                        b: k.max(j)
                    }),
                    "round {round}: {f:?}"
                );
                f
            }
            3 => {
                db.rewrite(k, rewritten(k));
                let f = db.audit();
                let Some(Finding::CheckpointBroken {
                    first_bad_from,
                    first_bad_to,
                    size,
                }) = f.first().cloned()
                else {
                    panic!("round {round}: {f:?}");
                };
                assert!(
                    first_bad_from <= k && k <= first_bad_to,
                    "round {round}: {f:?}"
                );
                assert!(size > k && first_bad_to == size - 1, "round {round}: {f:?}");
                // Narrowed exactly by the checkpoints on either side.
                let below = sizes.iter().copied().filter(|&s| s <= k).max().unwrap_or(0);
                assert_eq!(first_bad_from, below, "round {round}: {f:?}");
                f
            }
            4 => {
                db.records.push(Some(common::record(n as usize)));
                let f = db.audit();
                assert_eq!(f, [Finding::Unexpected { index: n }], "round {round}");
                f
            }
            _ => {
                db.size = k;
                db.records.truncate(k as usize);
                let f = db.audit();
                assert!(
                    f.contains(&Finding::Truncated {
                        size: k,
                        checkpoint_size: n
                    }),
                    "round {round}: {f:?}"
                );
                f
            }
        };
        assert!(!f.is_empty());
    }
}

/// 100 000 records stream through the audit (not timed; shows that it
/// completes with the leaf hashes coming from a lookup).
#[test]
fn a_hundred_thousand_records() {
    const N: u64 = 100_000;
    let bytes = |i: u64| {
        format!(r#"{{"at":"2026-11-05T11:42:07Z","booking":{i},"kind":"outcome","result":"paid","v":1}}"#).into_bytes()
    };
    let leaves: Vec<Hash> = (0..N)
        .map(|i| doorstep_merkle::leaf_hash(&bytes(i)))
        .collect();
    let mut frontier = doorstep_merkle::MemStore::new();
    for l in &leaves {
        frontier.push(*l).unwrap();
    }
    let s = signer();
    let checkpoints: Vec<StoredCheckpoint> = [1, 4096, 65_537, N]
        .iter()
        .map(|&size| {
            let root = doorstep_merkle::root_at(size, &frontier).unwrap();
            let note = doorstep_merkle::note::Checkpoint {
                origin: common::ORIGIN.into(),
                size,
                root,
            }
            .sign(&s)
            .unwrap();
            StoredCheckpoint { size, root, note }
        })
        .collect();
    let records = (0..N).map(|i| StoredRecord {
        index: i,
        bytes: if i == 77_777 { bytes(i + 1) } else { bytes(i) },
    });
    let f = audit(
        N,
        records,
        |i| leaves.get(i as usize).copied(),
        &checkpoints,
        &[s.verifier()],
    );
    assert_eq!(
        f,
        [
            Finding::Changed { index: 77_777 },
            Finding::CheckpointBroken {
                size: N,
                first_bad_from: 65_537,
                first_bad_to: N - 1
            },
        ]
    );
}
