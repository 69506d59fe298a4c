//! RFC 6962 §2.1 hashing: leaves, interior nodes and the Merkle Tree Hash.

use sha2::{Digest, Sha256};

use crate::{ProofError, split_point};

/// A SHA-256 hash: a leaf hash, a node hash or a tree root.
pub type Hash = [u8; 32];

/// The root of the empty tree: SHA-256 of the empty string.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;

/// The hash of a leaf: `SHA-256(0x00 ‖ data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(data);
    h.finalize().into()
}

/// The hash of an interior node: `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The Merkle Tree Hash (RFC 6962 §2.1) of a list of leaf hashes.
///
/// `root(&[])` is [`EMPTY_ROOT`]; `root(&[h])` is `h`; otherwise the list is
/// split at the largest power of two smaller than its length and the two
/// halves' roots are combined with [`node_hash`].
pub fn root(leaf_hashes: &[Hash]) -> Hash {
    match leaf_hashes {
        [] => EMPTY_ROOT,
        [only] => *only,
        _ => {
            // A slice is never longer than u64::MAX on the targets we build for.
            let k = split_point(leaf_hashes.len() as u64) as usize;
            let (left, right) = leaf_hashes.split_at(k);
            node_hash(&root(left), &root(right))
        }
    }
}

/// A [`Hash`](type@Hash) from a byte slice that must be exactly 32 bytes long (as read
/// from a database column or decoded from base64/hex).
pub fn hash_from_slice(bytes: &[u8]) -> Result<Hash, ProofError> {
    Hash::try_from(bytes).map_err(|_| ProofError::WrongHashLength(bytes.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        let h: Hash = Sha256::digest(b"").into();
        assert_eq!(h, EMPTY_ROOT);
        assert_eq!(root(&[]), EMPTY_ROOT);
    }

    #[test]
    fn leaf_and_node_are_domain_separated() {
        let a = leaf_hash(b"a");
        let b = leaf_hash(b"b");
        let mut joined = Vec::new();
        joined.extend_from_slice(&a);
        joined.extend_from_slice(&b);
        // The same 64 bytes hashed as a leaf and as a node must differ.
        assert_ne!(leaf_hash(&joined), node_hash(&a, &b));
    }

    #[test]
    fn hash_from_slice_checks_length() {
        assert_eq!(hash_from_slice(&[7; 32]), Ok([7; 32]));
        assert_eq!(hash_from_slice(&[]), Err(ProofError::WrongHashLength(0)));
        assert_eq!(
            hash_from_slice(&[0; 33]),
            Err(ProofError::WrongHashLength(33))
        );
    }
}
