//! Proof verification: RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2
//! (consistency), with the edge rules of the transparency-dev/merkle
//! verifier: an index outside the tree fails, a proof of any length other
//! than the one the sizes imply fails, a consistency proof from size 0 fails,
//! and equal sizes need an empty proof and equal roots.

use crate::{Hash, ProofError, node_hash};

/// The number of hashes in an inclusion proof of `index` in a tree of
/// `size` leaves (`index < size`).
fn inclusion_proof_len(index: u64, size: u64) -> usize {
    let (inner, border) = decompose(index, size);
    inner + border
}

/// The number of hashes in a consistency proof from `size1` to `size2`
/// (`0 < size1 < size2`).
fn consistency_proof_len(size1: u64, size2: u64) -> usize {
    let (inner, border) = decompose(size1 - 1, size2);
    let shift = size1.trailing_zeros() as usize;
    let seed = usize::from(!size1.is_power_of_two());
    seed + inner.saturating_sub(shift) + border
}

/// Splits an inclusion proof's length into the part inside the perfect
/// subtree shared with the last leaf (`inner`) and the part along the
/// tree's right border (`border`).
fn decompose(index: u64, size: u64) -> (usize, usize) {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner as usize, border as usize)
}

/// Shifts `fn_` and `sn` right together until `fn_` is odd or zero.
fn shift_to_odd(fn_: &mut u64, sn: &mut u64) {
    while *fn_ & 1 == 0 && *fn_ != 0 {
        *fn_ >>= 1;
        *sn >>= 1;
    }
}

/// The root that an inclusion proof leads to (RFC 9162 §2.1.3.2 steps 1–3),
/// after checking the index and the proof's length. Compare it with a
/// trusted root, or use [`verify_inclusion`].
pub fn root_from_inclusion_proof(
    index: u64,
    size: u64,
    leaf_hash: &Hash,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_proof_len(index, size);
    if proof.len() != expected {
        return Err(ProofError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if sn == 0 {
            return Err(ProofError::Malformed("the proof goes past the root"));
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            shift_to_odd(&mut fn_, &mut sn);
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::Malformed("the proof stops below the root"));
    }
    Ok(r)
}

/// Checks that `leaf_hash` is leaf `index` of the tree of `size` leaves
/// whose root is `root`, given the inclusion proof `proof` (leaf to root).
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf_hash: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let computed = root_from_inclusion_proof(index, size, leaf_hash, proof)?;
    if computed != *root {
        return Err(ProofError::RootMismatch {
            computed,
            expected: *root,
        });
    }
    Ok(())
}

/// Checks that the tree of `size1` leaves with root `root1` is a prefix of
/// the tree of `size2` leaves with root `root2`, given the consistency proof
/// `proof`.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    root1: &Hash,
    root2: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if size2 < size1 {
        return Err(ProofError::SizesOutOfOrder { size1, size2 });
    }
    if size1 == 0 {
        return Err(ProofError::EmptyFirstTree);
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(ProofError::WrongProofLength {
                expected: 0,
                got: proof.len(),
            });
        }
        if root1 != root2 {
            return Err(ProofError::RootsDiffer {
                size: size1,
                root1: *root1,
                root2: *root2,
            });
        }
        return Ok(());
    }
    let expected = consistency_proof_len(size1, size2);
    if proof.len() != expected {
        return Err(ProofError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }

    // Step 1: a first tree that is a perfect subtree is not in the proof.
    let (seed, rest) = if size1.is_power_of_two() {
        (root1, proof)
    } else {
        proof
            .split_first()
            .ok_or(ProofError::Malformed("the proof is empty"))?
    };
    // Step 2.
    let (mut fn_, mut sn) = (size1 - 1, size2 - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // Steps 3–4.
    let (mut fr, mut sr) = (*seed, *seed);
    for c in rest {
        if sn == 0 {
            return Err(ProofError::Malformed("the proof goes past the root"));
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            shift_to_odd(&mut fn_, &mut sn);
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 5.
    if sn != 0 {
        return Err(ProofError::Malformed("the proof stops below the root"));
    }
    if fr != *root1 {
        return Err(ProofError::Root1Mismatch {
            computed: fr,
            expected: *root1,
        });
    }
    if sr != *root2 {
        return Err(ProofError::Root2Mismatch {
            computed: sr,
            expected: *root2,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proof_lengths() {
        assert_eq!(inclusion_proof_len(0, 1), 0);
        assert_eq!(inclusion_proof_len(0, 8), 3);
        assert_eq!(inclusion_proof_len(6, 7), 2);
        assert_eq!(inclusion_proof_len(4, 5), 1);
        assert_eq!(inclusion_proof_len(u64::MAX - 1, u64::MAX), 63);
        assert_eq!(consistency_proof_len(4, 8), 1);
        assert_eq!(consistency_proof_len(1, 8), 3);
        assert_eq!(consistency_proof_len(6, 8), 3);
        assert_eq!(consistency_proof_len(3, 7), 4);
    }

    #[test]
    fn edge_rules() {
        let h = [1; 32];
        assert_eq!(
            verify_inclusion(1, 1, &h, &[], &h),
            Err(ProofError::IndexOutOfRange { index: 1, size: 1 })
        );
        assert_eq!(verify_inclusion(0, 1, &h, &[], &h), Ok(()));
        assert_eq!(
            verify_inclusion(0, 1, &h, &[h], &h),
            Err(ProofError::WrongProofLength {
                expected: 0,
                got: 1
            })
        );
        assert_eq!(
            verify_consistency(0, 0, &h, &h, &[]),
            Err(ProofError::EmptyFirstTree)
        );
        assert_eq!(
            verify_consistency(0, 3, &h, &h, &[]),
            Err(ProofError::EmptyFirstTree)
        );
        assert_eq!(
            verify_consistency(3, 2, &h, &h, &[]),
            Err(ProofError::SizesOutOfOrder { size1: 3, size2: 2 })
        );
        assert_eq!(verify_consistency(3, 3, &h, &h, &[]), Ok(()));
        assert_eq!(
            verify_consistency(3, 3, &h, &h, &[h]),
            Err(ProofError::WrongProofLength {
                expected: 0,
                got: 1
            })
        );
        assert!(matches!(
            verify_consistency(3, 3, &h, &[2; 32], &[]),
            Err(ProofError::RootsDiffer { size: 3, .. })
        ));
        assert_eq!(
            verify_consistency(3, 4, &h, &h, &[]),
            Err(ProofError::WrongProofLength {
                expected: 3,
                got: 0
            })
        );
    }
}
