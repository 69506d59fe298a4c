//! The pure core of the evidence log: an RFC 6962 / RFC 9162 Merkle tree.
//!
//! No I/O, no async, no clock. Hashing follows RFC 6962 §2.1 (= RFC 9162
//! §2.1.1): SHA-256 with a `0x00` prefix for leaves and `0x01` for interior
//! nodes, and the empty tree's root is SHA-256 of the empty string.
//!
//! - [`hash`]: [`leaf_hash`], [`node_hash`] and [`root`] over a slice of leaf
//!   hashes (the definition, for tests and small trees).
//! - [`tree`]: the storage-friendly tree. Only the roots of *complete*
//!   ("perfect") subtrees are ever stored, addressed by `(level, index)` with
//!   level 0 the leaf hashes; they never change once written, so a database
//!   can keep them in an append-only table. [`append`] says which nodes a new
//!   leaf creates; [`root_at`], [`inclusion_proof`] and [`consistency_proof`]
//!   read them through a [`NodeStore`] without rebuilding anything, for any
//!   tree size up to the current one. [`MemStore`] keeps them in memory.
//! - [`note`]: C2SP signed notes with Ed25519 keys, and checkpoints (origin,
//!   tree size, root) in the C2SP tlog-checkpoint format.
//! - [`verify`]: [`verify_inclusion`] and [`verify_consistency`], exactly the
//!   algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2 with the edge rules of the
//!   transparency-dev/merkle verifier (whose public test vectors the tests run).

#![warn(missing_docs)]

pub mod error;
pub mod hash;
pub mod note;
pub mod tree;
pub mod verify;

pub use error::ProofError;
pub use hash::{EMPTY_ROOT, Hash, hash_from_slice, leaf_hash, node_hash, root};
pub use note::{Checkpoint, NoteError, Signer, Verifier};
pub use tree::{
    MemStore, NodeStore, Recorder, append, consistency_proof, inclusion_proof, root_at,
};
pub use verify::{root_from_inclusion_proof, verify_consistency, verify_inclusion};

/// The largest power of two strictly smaller than `n` (the RFC's `k`), for `n >= 2`.
pub(crate) fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::split_point;

    #[test]
    fn split_point_is_largest_power_of_two_below() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(8), 4);
        assert_eq!(split_point(9), 8);
        assert_eq!(split_point(u64::MAX), 1 << 63);
    }
}
