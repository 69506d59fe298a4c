//! What can be wrong with a proof, a hash or a node store.

use crate::Hash;

/// Why a proof was refused, or could not be produced.
///
/// Every verification failure says which rule was broken; a caller that only
/// needs "valid or not" can treat any `Err` as "not valid".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not inside the tree (`index >= size`).
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange {
        /// The leaf index given.
        index: u64,
        /// The tree size given.
        size: u64,
    },
    /// The proof does not have the one length that the index/sizes imply.
    #[error("the proof has {got} hashes, but a proof for these sizes has exactly {expected}")]
    WrongProofLength {
        /// The number of hashes a correct proof has.
        expected: usize,
        /// The number of hashes given.
        got: usize,
    },
    /// A consistency proof from the empty tree was asked for or given.
    #[error("a consistency proof from the empty tree (size1 = 0) is meaningless")]
    EmptyFirstTree,
    /// The first tree of a consistency proof is larger than the second.
    #[error("size1 ({size1}) is larger than size2 ({size2})")]
    SizesOutOfOrder {
        /// The first (older) tree size.
        size1: u64,
        /// The second (newer) tree size.
        size2: u64,
    },
    /// Two trees of the same size have different roots.
    #[error(
        "both trees have size {size} but their roots differ ({} vs {})",
        hex::encode(.root1),
        hex::encode(.root2)
    )]
    RootsDiffer {
        /// The common tree size.
        size: u64,
        /// The first root.
        root1: Hash,
        /// The second root.
        root2: Hash,
    },
    /// An inclusion proof leads to a different root than the one given.
    #[error(
        "the inclusion proof leads to root {}, not to the expected {}",
        hex::encode(.computed),
        hex::encode(.expected)
    )]
    RootMismatch {
        /// The root the proof leads to.
        computed: Hash,
        /// The root given.
        expected: Hash,
    },
    /// A consistency proof leads to a different root for the first tree.
    #[error(
        "the consistency proof leads to first root {}, not to the expected {}",
        hex::encode(.computed),
        hex::encode(.expected)
    )]
    Root1Mismatch {
        /// The first root the proof leads to.
        computed: Hash,
        /// The first root given.
        expected: Hash,
    },
    /// A consistency proof leads to a different root for the second tree.
    #[error(
        "the consistency proof leads to second root {}, not to the expected {}",
        hex::encode(.computed),
        hex::encode(.expected)
    )]
    Root2Mismatch {
        /// The second root the proof leads to.
        computed: Hash,
        /// The second root given.
        expected: Hash,
    },
    /// The proof ran past the top of the tree or stopped short of it (the
    /// RFC 9162 `sn` checks). Unreachable once the length is checked; kept
    /// so the algorithm never panics.
    #[error("the proof does not fit the tree: {0}")]
    Malformed(&'static str),
    /// A byte string that should be a SHA-256 hash has the wrong length.
    #[error("a hash is 32 bytes, this one has {0}")]
    WrongHashLength(usize),
    /// The store does not have a node it must have for a tree of this size
    /// (the size is larger than what was appended, or the store lost a node).
    #[error("the node store has no node at level {level}, index {index}")]
    MissingNode {
        /// The node's level (0 = leaf hashes).
        level: u8,
        /// The node's index within its level.
        index: u64,
    },
    /// The tree already has 2^64 − 1 leaves.
    #[error("the tree is full")]
    TreeFull,
}
