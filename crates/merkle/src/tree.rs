//! A Merkle tree kept as its complete ("perfect") subtrees, so that a
//! database can store nodes once and serve roots and proofs for any past
//! size without rebuilding.
//!
//! The perfect node at `(level, index)` is the root of the `2^level` leaves
//! starting at leaf `index · 2^level`; level 0 holds the leaf hashes. It
//! exists as soon as the tree has `(index + 1) · 2^level` leaves and never
//! changes afterwards. Every subtree the RFC 6962 definitions need for a tree
//! of size `n` is either such a perfect node or is split further, so roots
//! and proofs for any `n` up to the current size read at most
//! O(log² n) nodes and compute the rest.

use std::collections::HashMap;

use crate::{EMPTY_ROOT, Hash, ProofError, node_hash, split_point};

/// Read access to the perfect nodes of one tree.
pub trait NodeStore {
    /// The perfect node at `level` (0 = leaf hashes) and `index` within that
    /// level, or `None` if it has not been stored.
    fn get(&self, level: u8, index: u64) -> Option<Hash>;
}

/// The perfect nodes created by appending `leaf` to a tree of `size` leaves,
/// as `(level, index, hash)`, lowest level first: the leaf itself at
/// `(0, size)`, then one node per level for as long as the new leaf completes
/// a subtree. The caller stores them all (in one transaction); the tree then
/// has `size + 1` leaves.
///
/// Reads the left siblings it needs from `store`, which must hold every
/// perfect node of the tree of `size` leaves.
pub fn append(
    size: u64,
    leaf: Hash,
    store: &impl NodeStore,
) -> Result<Vec<(u8, u64, Hash)>, ProofError> {
    if size == u64::MAX {
        return Err(ProofError::TreeFull);
    }
    let mut nodes = vec![(0u8, size, leaf)];
    let (mut level, mut index, mut hash) = (0u8, size, leaf);
    while index & 1 == 1 {
        let left = get(store, level, index - 1)?;
        hash = node_hash(&left, &hash);
        level += 1;
        index >>= 1;
        nodes.push((level, index, hash));
    }
    Ok(nodes)
}

/// The root of the tree's first `size` leaves (any size up to the number of
/// leaves appended so far); [`EMPTY_ROOT`] for size 0.
pub fn root_at(size: u64, store: &impl NodeStore) -> Result<Hash, ProofError> {
    if size == 0 {
        return Ok(EMPTY_ROOT);
    }
    subtree(store, 0, size)
}

/// The inclusion proof (RFC 6962 §2.1.1 `PATH`, RFC 9162 §2.1.3.1) of leaf
/// `index` in the tree of the first `size` leaves, ordered from the leaf up.
pub fn inclusion_proof(
    index: u64,
    size: u64,
    store: &impl NodeStore,
) -> Result<Vec<Hash>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut proof = Vec::new();
    path(store, index, 0, size, &mut proof)?;
    Ok(proof)
}

/// The consistency proof (RFC 6962 §2.1.2 `PROOF`, RFC 9162 §2.1.4.1) that
/// the tree of the first `size1` leaves is a prefix of the tree of the first
/// `size2` leaves.
///
/// Empty when `size1 == size2`. A proof from the empty tree is refused
/// ([`ProofError::EmptyFirstTree`]) because no verifier accepts one.
pub fn consistency_proof(
    size1: u64,
    size2: u64,
    store: &impl NodeStore,
) -> Result<Vec<Hash>, ProofError> {
    if size1 > size2 {
        return Err(ProofError::SizesOutOfOrder { size1, size2 });
    }
    if size1 == 0 {
        return Err(ProofError::EmptyFirstTree);
    }
    let mut proof = Vec::new();
    if size1 < size2 {
        subproof(store, size1, 0, size2, true, &mut proof)?;
    }
    Ok(proof)
}

fn get(store: &impl NodeStore, level: u8, index: u64) -> Result<Hash, ProofError> {
    store
        .get(level, index)
        .ok_or(ProofError::MissingNode { level, index })
}

/// MTH of leaves `start..end` (`start < end`).
fn subtree(store: &impl NodeStore, start: u64, end: u64) -> Result<Hash, ProofError> {
    let n = end - start;
    if n.is_power_of_two() && start & (n - 1) == 0 {
        let level = n.trailing_zeros() as u8;
        return get(store, level, start >> level);
    }
    // n >= 2 here: a single leaf is a perfect node at level 0.
    let k = split_point(n);
    let left = subtree(store, start, start + k)?;
    let right = subtree(store, start + k, end)?;
    Ok(node_hash(&left, &right))
}

/// RFC 6962 `PATH(m, D[start:end])`, pushing the deepest sibling first.
fn path(
    store: &impl NodeStore,
    m: u64,
    start: u64,
    end: u64,
    out: &mut Vec<Hash>,
) -> Result<(), ProofError> {
    let n = end - start;
    if n == 1 {
        return Ok(());
    }
    let k = split_point(n);
    if m < start + k {
        path(store, m, start, start + k, out)?;
        out.push(subtree(store, start + k, end)?);
    } else {
        path(store, m, start + k, end, out)?;
        out.push(subtree(store, start, start + k)?);
    }
    Ok(())
}

/// RFC 6962 `SUBPROOF(m, D[start:end], b)` with `m` counted from `start`.
fn subproof(
    store: &impl NodeStore,
    m: u64,
    start: u64,
    end: u64,
    complete: bool,
    out: &mut Vec<Hash>,
) -> Result<(), ProofError> {
    let n = end - start;
    if m == n {
        if !complete {
            out.push(subtree(store, start, end)?);
        }
        return Ok(());
    }
    let k = split_point(n);
    if m <= k {
        subproof(store, m, start, start + k, complete, out)?;
        out.push(subtree(store, start + k, end)?);
    } else {
        subproof(store, m - k, start + k, end, false, out)?;
        out.push(subtree(store, start, start + k)?);
    }
    Ok(())
}

/// A [`NodeStore`] in memory, with the tree's current size: for tests, tools
/// and small logs.
#[derive(Debug, Clone, Default)]
pub struct MemStore {
    size: u64,
    nodes: HashMap<(u8, u64), Hash>,
}

impl MemStore {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of leaves appended.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one leaf hash (see [`append`]) and returns its index.
    pub fn push(&mut self, leaf: Hash) -> Result<u64, ProofError> {
        let index = self.size;
        for (level, i, hash) in append(index, leaf, self)? {
            self.nodes.insert((level, i), hash);
        }
        self.size = index + 1;
        Ok(index)
    }

    /// The current root.
    pub fn root(&self) -> Result<Hash, ProofError> {
        root_at(self.size, self)
    }

    /// Adds a node read from elsewhere (a database), for computing roots
    /// and proofs over a partial copy of a tree.
    pub fn insert(&mut self, level: u8, index: u64, hash: Hash) {
        self.nodes.insert((level, index), hash);
    }
}

/// A [`NodeStore`] that answers every read with zeros and remembers what
/// was asked: run a root or proof computation over it once to learn which
/// stored nodes the real computation needs (the traversal depends only on
/// sizes and indices, never on hash values), fetch exactly those, then
/// compute for real.
#[derive(Debug, Default)]
pub struct Recorder {
    asked: std::cell::RefCell<Vec<(u8, u64)>>,
}

impl Recorder {
    /// A recorder that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// The nodes read so far, without repeats, in the order first read.
    pub fn nodes(&self) -> Vec<(u8, u64)> {
        let mut seen = std::collections::HashSet::new();
        self.asked
            .borrow()
            .iter()
            .copied()
            .filter(|n| seen.insert(*n))
            .collect()
    }
}

impl NodeStore for Recorder {
    fn get(&self, level: u8, index: u64) -> Option<Hash> {
        self.asked.borrow_mut().push((level, index));
        Some([0; 32])
    }
}

impl NodeStore for MemStore {
    fn get(&self, level: u8, index: u64) -> Option<Hash> {
        self.nodes.get(&(level, index)).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{leaf_hash, root};

    #[test]
    fn the_recorder_names_exactly_the_nodes_a_proof_reads() {
        let mut t = MemStore::new();
        for i in 0..37u64 {
            t.push(leaf_hash(&i.to_be_bytes())).unwrap();
        }
        for (index, size) in [(0u64, 1u64), (5, 37), (36, 37), (12, 20)] {
            let r = Recorder::new();
            inclusion_proof(index, size, &r).unwrap();
            let mut partial = MemStore::new();
            for (l, i) in r.nodes() {
                partial.insert(l, i, t.get(l, i).unwrap());
            }
            assert_eq!(
                inclusion_proof(index, size, &partial).unwrap(),
                inclusion_proof(index, size, &t).unwrap()
            );
        }
        let r = Recorder::new();
        consistency_proof(7, 37, &r).unwrap();
        root_at(37, &r).unwrap();
        let mut partial = MemStore::new();
        for (l, i) in r.nodes() {
            partial.insert(l, i, t.get(l, i).unwrap());
        }
        assert_eq!(root_at(37, &partial).unwrap(), t.root().unwrap());
        assert_eq!(
            consistency_proof(7, 37, &partial).unwrap(),
            consistency_proof(7, 37, &t).unwrap()
        );
    }

    #[test]
    fn append_returns_the_completed_subtrees() {
        let mut store = MemStore::new();
        let leaves: Vec<Hash> = (0u8..8).map(|i| leaf_hash(&[i])).collect();
        for (i, leaf) in leaves.iter().enumerate().take(7) {
            assert_eq!(store.push(*leaf), Ok(i as u64));
        }
        let nodes = append(7, leaves[7], &store).expect("append");
        let levels: Vec<(u8, u64)> = nodes.iter().map(|(l, i, _)| (*l, *i)).collect();
        assert_eq!(levels, [(0, 7), (1, 3), (2, 1), (3, 0)]);
        assert_eq!(nodes[3].2, root(&leaves));
    }

    #[test]
    fn missing_nodes_are_reported_not_invented() {
        let store = MemStore::new();
        assert_eq!(root_at(0, &store), Ok(EMPTY_ROOT));
        assert_eq!(
            root_at(1, &store),
            Err(ProofError::MissingNode { level: 0, index: 0 })
        );
        assert_eq!(
            append(1, [0; 32], &store),
            Err(ProofError::MissingNode { level: 0, index: 0 })
        );
        assert_eq!(append(u64::MAX, [0; 32], &store), Err(ProofError::TreeFull));
    }

    #[test]
    fn proof_requests_outside_the_tree_are_refused() {
        let mut store = MemStore::new();
        store.push(leaf_hash(b"x")).expect("push");
        assert_eq!(
            inclusion_proof(1, 1, &store),
            Err(ProofError::IndexOutOfRange { index: 1, size: 1 })
        );
        assert_eq!(
            consistency_proof(0, 1, &store),
            Err(ProofError::EmptyFirstTree)
        );
        assert_eq!(
            consistency_proof(2, 1, &store),
            Err(ProofError::SizesOutOfOrder { size1: 2, size2: 1 })
        );
        assert_eq!(consistency_proof(1, 1, &store), Ok(vec![]));
        assert_eq!(inclusion_proof(0, 1, &store), Ok(vec![]));
    }
}
