//! Checking a stored log for tampering (`doorstep evidence check`).
//!
//! The database keeps, per company, the record bytes, their leaf hashes (and
//! the tree's other perfect nodes) and the signed checkpoints. [`audit`]
//! streams the records in index order once and finds:
//!
//! - records whose bytes no longer hash to their stored leaf hash
//!   ([`Finding::Changed`]), or hash to each other's ([`Finding::Swapped`]);
//! - gaps, records beyond the log's size, missing leaf hashes, bytes that
//!   are not canonical JSON;
//! - checkpoints whose signature does not verify, and — the check that also
//!   catches someone who rewrote a record *and* its stored hashes — signed
//!   checkpoints whose root is no longer what the records' bytes give
//!   ([`Finding::CheckpointBroken`]), with the rewritten record narrowed down
//!   to the records between the last checkpoint that still matches and the
//!   first that does not.
//!
//! The roots are computed from the leaf hashes *recomputed from the bytes*,
//! with a compact frontier of perfect-subtree roots (at most 64 hashes), so
//! memory stays O(log n) however long the log is; only the findings, the
//! checkpoints and the mismatching records' hashes are kept.

use std::collections::HashMap;
use std::fmt;

use doorstep_merkle::note::{Checkpoint, Verifier};
use doorstep_merkle::{EMPTY_ROOT, Hash, leaf_hash, node_hash};

use crate::record::is_canonical;

/// A record as stored: its index and exact bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// The leaf index.
    pub index: u64,
    /// The stored bytes.
    pub bytes: Vec<u8>,
}

/// A checkpoint as stored: its size and root columns and the signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// The tree size column.
    pub size: u64,
    /// The root column.
    pub root: [u8; 32],
    /// The signed note (C2SP tlog-checkpoint).
    pub note: String,
}

/// Something wrong with the stored log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The record's bytes no longer hash to the leaf hash stored for it.
    Changed {
        /// The record.
        index: u64,
    },
    /// Records `a` and `b` were exchanged: each one's bytes hash to the
    /// other's stored leaf hash.
    Swapped {
        /// The lower index.
        a: u64,
        /// The higher index.
        b: u64,
    },
    /// No record is stored at this index, which is inside the log.
    Missing {
        /// The record.
        index: u64,
    },
    /// A record is stored at an index at or beyond the log's size.
    Unexpected {
        /// The record.
        index: u64,
    },
    /// A record came with an index not greater than the one before it (the
    /// audit reads records in ascending index order; this one was skipped).
    OutOfOrder {
        /// The record.
        index: u64,
    },
    /// No leaf hash is stored for this index.
    LeafHashMissing {
        /// The record.
        index: u64,
    },
    /// The records as stored no longer yield this signed checkpoint's root:
    /// a record among `first_bad_from..=first_bad_to` is not what it was
    /// when the checkpoint was signed (the range starts after the last
    /// checkpoint that still matches; when it is one record, that record).
    CheckpointBroken {
        /// The checkpoint's tree size.
        size: u64,
        /// The first record that may have been rewritten.
        first_bad_from: u64,
        /// The last record that may have been rewritten (inclusive).
        first_bad_to: u64,
    },
    /// Later checkpoints that do not match either — a consequence of the
    /// [`Finding::CheckpointBroken`] before them (a root covers every earlier
    /// record), so they are summed up rather than listed.
    LaterCheckpointsBroken {
        /// How many.
        count: u64,
        /// The smallest of their sizes.
        from_size: u64,
        /// The largest of their sizes.
        to_size: u64,
    },
    /// A checkpoint's note does not verify with the log's keys, or its
    /// signed content differs from the stored size and root.
    BadCheckpointSignature {
        /// The stored tree size.
        size: u64,
    },
    /// A signed checkpoint covers more records than the log now has: records
    /// `size..checkpoint_size` were removed from the end.
    Truncated {
        /// The log's size now.
        size: u64,
        /// The checkpoint's tree size.
        checkpoint_size: u64,
    },
    /// The record's bytes are not RFC 8785 canonical JSON.
    NotCanonical {
        /// The record.
        index: u64,
    },
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::Changed { index } => write!(
                f,
                "record #{index} was changed: its bytes no longer match the leaf hash logged for it"
            ),
            Finding::Swapped { a, b } => write!(
                f,
                "records #{a} and #{b} were swapped: each one's bytes match the leaf hash logged for the other"
            ),
            Finding::Missing { index } => {
                write!(
                    f,
                    "record #{index} is missing: the log has no record at that index"
                )
            }
            Finding::Unexpected { index } => write!(
                f,
                "record #{index} should not exist: it lies beyond the log's size"
            ),
            Finding::OutOfOrder { index } => write!(
                f,
                "record #{index} came out of order or twice (records must be read by ascending index); it was skipped"
            ),
            Finding::LeafHashMissing { index } => {
                write!(f, "record #{index} has no leaf hash stored for it")
            }
            Finding::CheckpointBroken {
                size,
                first_bad_from,
                first_bad_to,
            } => {
                if first_bad_from == first_bad_to {
                    write!(
                        f,
                        "the signed checkpoint at size {size} no longer matches the records: \
                         record #{first_bad_from} was rewritten after it was signed"
                    )
                } else {
                    write!(
                        f,
                        "the signed checkpoint at size {size} no longer matches the records: \
                         one of records #{first_bad_from}–#{first_bad_to} was rewritten after it was signed"
                    )
                }
            }
            Finding::LaterCheckpointsBroken {
                count,
                from_size,
                to_size,
            } => write!(
                f,
                "{count} later checkpoint(s) (sizes {from_size}–{to_size}) do not match either, as follows from the rewrite above"
            ),
            Finding::BadCheckpointSignature { size } => write!(
                f,
                "the checkpoint at size {size} is not validly signed by the log's keys (or its stored size/root differ from what was signed)"
            ),
            Finding::Truncated {
                size,
                checkpoint_size,
            } => write!(
                f,
                "records #{size}–#{} were removed: a checkpoint was signed at size {checkpoint_size}, but the log now has {size} record(s)",
                checkpoint_size.saturating_sub(1)
            ),
            Finding::NotCanonical { index } => write!(
                f,
                "record #{index} is not canonical JSON (RFC 8785): Doorstep never writes such bytes"
            ),
        }
    }
}

/// The roots of the perfect subtrees covering a prefix of the leaves, the
/// largest first: enough to compute the root of the prefix and to extend it.
#[derive(Debug, Default)]
struct Frontier {
    size: u64,
    /// `(level, hash)`, strictly decreasing levels.
    nodes: Vec<(u32, Hash)>,
}

impl Frontier {
    fn push(&mut self, leaf: Hash) {
        let mut node = (0u32, leaf);
        while let Some(&(level, left)) = self.nodes.last() {
            if level != node.0 {
                break;
            }
            self.nodes.pop();
            node = (level + 1, node_hash(&left, &node.1));
        }
        self.nodes.push(node);
        self.size += 1;
    }

    /// The RFC 6962 root of the leaves pushed so far.
    fn root(&self) -> Hash {
        let mut iter = self.nodes.iter().rev();
        let Some(&(_, mut r)) = iter.next() else {
            return EMPTY_ROOT;
        };
        for (_, left) in iter {
            r = node_hash(left, &r);
        }
        r
    }
}

/// A checkpoint whose signature verified, to compare with the records.
#[derive(Clone, Copy)]
struct Signed {
    size: u64,
    root: Hash,
}

/// Tracks checkpoint comparisons as the frontier grows.
struct Checker {
    signed: Vec<Signed>,
    next: usize,
    last_good: u64,
    /// Broken checkpoints after the first one of the current run:
    /// `(count, from_size, to_size)`.
    run: Option<(u64, u64, u64)>,
    in_run: bool,
    findings: Vec<Finding>,
}

impl Checker {
    /// Compares every checkpoint of size `frontier.size`.
    fn check(&mut self, frontier: &Frontier) {
        while let Some(&Signed { size, root }) = self.signed.get(self.next) {
            if size != frontier.size {
                break;
            }
            self.next += 1;
            if frontier.root() == root {
                self.end_run();
                self.last_good = size;
            } else if !self.in_run {
                self.in_run = true;
                self.findings.push(Finding::CheckpointBroken {
                    size,
                    first_bad_from: self.last_good,
                    first_bad_to: size.saturating_sub(1),
                });
            } else {
                self.run = Some(match self.run {
                    None => (1, size, size),
                    Some((n, from, _)) => (n + 1, from, size),
                });
            }
        }
    }

    fn end_run(&mut self) {
        if let Some((count, from_size, to_size)) = self.run.take() {
            self.findings.push(Finding::LaterCheckpointsBroken {
                count,
                from_size,
                to_size,
            });
        }
        self.in_run = false;
    }
}

/// A record whose bytes do not hash to its stored leaf hash.
struct Mismatch {
    index: u64,
    computed: Hash,
    stored: Hash,
}

/// Audits a stored log of `size` records.
///
/// `records` must come in ascending index order (as `ORDER BY index`
/// returns them); `stored_leaf_hashes(i)` is the leaf hash stored for index
/// `i`; `checkpoints` are the stored signed checkpoints (any order);
/// `verifiers` the log's keys, current and retired.
///
/// Returns the record findings by index, then the checkpoint findings by
/// size. Empty means the log is intact.
pub fn audit(
    size: u64,
    records: impl IntoIterator<Item = StoredRecord>,
    stored_leaf_hashes: impl Fn(u64) -> Option<[u8; 32]>,
    checkpoints: &[StoredCheckpoint],
    verifiers: &[Verifier],
) -> Vec<Finding> {
    let mut record_findings: Vec<Finding> = Vec::new();
    let mut checkpoint_findings: Vec<Finding> = Vec::new();

    let mut signed = Vec::new();
    for cp in checkpoints {
        match Checkpoint::open(&cp.note, verifiers) {
            Ok(c) if c.size == cp.size && c.root == cp.root => {
                if c.size > size {
                    checkpoint_findings.push(Finding::Truncated {
                        size,
                        checkpoint_size: c.size,
                    });
                } else {
                    signed.push(Signed {
                        size: c.size,
                        root: c.root,
                    });
                }
            }
            _ => checkpoint_findings.push(Finding::BadCheckpointSignature { size: cp.size }),
        }
    }
    signed.sort_by_key(|s| s.size);
    let mut checker = Checker {
        signed,
        next: 0,
        last_good: 0,
        run: None,
        in_run: false,
        findings: Vec::new(),
    };
    let mut frontier = Frontier::default();
    let mut mismatches: Vec<Mismatch> = Vec::new();

    // A position with no record: the stored leaf hash stands in for it, so
    // that one deletion (already reported) does not break every checkpoint.
    let fill_gap = |index: u64,
                    frontier: &mut Frontier,
                    checker: &mut Checker,
                    findings: &mut Vec<Finding>| {
        checker.check(frontier);
        findings.push(Finding::Missing { index });
        match stored_leaf_hashes(index) {
            Some(h) => frontier.push(h),
            None => {
                findings.push(Finding::LeafHashMissing { index });
                frontier.push([0; 32]);
            }
        }
    };

    for rec in records {
        if rec.index >= size {
            record_findings.push(Finding::Unexpected { index: rec.index });
            continue;
        }
        if rec.index < frontier.size {
            record_findings.push(Finding::OutOfOrder { index: rec.index });
            continue;
        }
        while frontier.size < rec.index {
            let index = frontier.size;
            fill_gap(index, &mut frontier, &mut checker, &mut record_findings);
        }
        checker.check(&frontier);
        let computed = leaf_hash(&rec.bytes);
        match stored_leaf_hashes(rec.index) {
            None => record_findings.push(Finding::LeafHashMissing { index: rec.index }),
            Some(stored) if stored != computed => mismatches.push(Mismatch {
                index: rec.index,
                computed,
                stored,
            }),
            Some(_) => {}
        }
        if !is_canonical(&rec.bytes) {
            record_findings.push(Finding::NotCanonical { index: rec.index });
        }
        frontier.push(computed);
    }
    while frontier.size < size {
        let index = frontier.size;
        fill_gap(index, &mut frontier, &mut checker, &mut record_findings);
    }
    checker.check(&frontier);
    checker.end_run();

    // Pair up swaps among the mismatches.
    let by_stored: HashMap<Hash, usize> = mismatches
        .iter()
        .enumerate()
        .map(|(i, m)| (m.stored, i))
        .collect();
    let mut paired = vec![false; mismatches.len()];
    for i in 0..mismatches.len() {
        if paired[i] {
            continue;
        }
        let m = &mismatches[i];
        let partner = by_stored
            .get(&m.computed)
            .copied()
            .filter(|&j| j != i && !paired[j] && mismatches[j].computed == m.stored);
        match partner {
            Some(j) => {
                paired[i] = true;
                paired[j] = true;
                let (a, b) = (
                    m.index.min(mismatches[j].index),
                    m.index.max(mismatches[j].index),
                );
                record_findings.push(Finding::Swapped { a, b });
            }
            None => record_findings.push(Finding::Changed { index: m.index }),
        }
    }

    record_findings.sort_by_key(|f| match f {
        Finding::Changed { index }
        | Finding::Missing { index }
        | Finding::Unexpected { index }
        | Finding::OutOfOrder { index }
        | Finding::LeafHashMissing { index }
        | Finding::NotCanonical { index } => *index,
        Finding::Swapped { a, .. } => *a,
        _ => u64::MAX,
    });
    checkpoint_findings.extend(checker.findings);
    checkpoint_findings.sort_by_key(|f| match f {
        Finding::CheckpointBroken { size, .. }
        | Finding::BadCheckpointSignature { size }
        | Finding::LaterCheckpointsBroken {
            from_size: size, ..
        } => *size,
        Finding::Truncated {
            checkpoint_size, ..
        } => *checkpoint_size,
        _ => u64::MAX,
    });
    record_findings.extend(checkpoint_findings);
    record_findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use doorstep_merkle::root;

    #[test]
    fn frontier_root_is_the_rfc_root_at_every_size() {
        let leaves: Vec<Hash> = (0u32..70).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut f = Frontier::default();
        assert_eq!(f.root(), EMPTY_ROOT);
        for (i, leaf) in leaves.iter().enumerate() {
            f.push(*leaf);
            assert_eq!(f.root(), root(&leaves[..=i]), "size {}", i + 1);
            assert!(f.nodes.len() <= 7);
        }
    }
}
