//! Properties by construction: for every tree size 1..=70, every root,
//! inclusion proof and consistency proof that the store-backed tree produces
//! equals the RFC 6962 definition computed from the leaf list, verifies, and
//! stops verifying when any proof element has a flipped byte or the proof is
//! cut short or extended.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use doorstep_merkle::{
    Hash, MemStore, NodeStore, ProofError, append, consistency_proof, inclusion_proof, leaf_hash,
    root, root_at, verify_consistency, verify_inclusion,
};

const MAX: u64 = 70;

fn leaves() -> Vec<Hash> {
    (0..MAX)
        .map(|i| leaf_hash(format!("evidence record {i}").as_bytes()))
        .collect()
}

fn store() -> MemStore {
    let mut store = MemStore::new();
    for leaf in leaves() {
        store.push(leaf).unwrap();
    }
    store
}

fn k(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// RFC 6962 §2.1.1 `PATH(m, D[n])`, straight from the definition.
fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
    let n = d.len();
    if n <= 1 {
        return vec![];
    }
    let k = k(n);
    if m < k {
        let mut p = path(m, &d[..k]);
        p.push(root(&d[k..]));
        p
    } else {
        let mut p = path(m - k, &d[k..]);
        p.push(root(&d[..k]));
        p
    }
}

/// RFC 6962 §2.1.2 `SUBPROOF(m, D[n], b)`, straight from the definition.
fn subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if b { vec![] } else { vec![root(d)] };
    }
    let k = k(n);
    if m <= k {
        let mut p = subproof(m, &d[..k], b);
        p.push(root(&d[k..]));
        p
    } else {
        let mut p = subproof(m - k, &d[k..], false);
        p.push(root(&d[..k]));
        p
    }
}

fn flipped(proof: &[Hash], element: usize, byte: usize) -> Vec<Hash> {
    let mut bad = proof.to_vec();
    bad[element][byte] ^= 0x01;
    bad
}

#[test]
fn roots_match_the_definition_at_every_size() {
    let leaves = leaves();
    let store = store();
    for n in 0..=MAX {
        assert_eq!(
            root_at(n, &store).unwrap(),
            root(&leaves[..n as usize]),
            "size {n}"
        );
    }
    assert_eq!(store.root().unwrap(), root(&leaves));
    // Beyond what was appended the store says what is missing.
    assert!(matches!(
        root_at(MAX + 1, &store),
        Err(ProofError::MissingNode { .. })
    ));
}

#[test]
fn append_stores_exactly_the_perfect_subtrees() {
    let leaves = leaves();
    let mut store = MemStore::new();
    let mut stored = 0usize;
    for (i, leaf) in leaves.iter().enumerate() {
        let nodes = append(i as u64, *leaf, &store).unwrap();
        // Leaf i completes one subtree per trailing one bit of i, plus itself.
        assert_eq!(nodes.len(), (i as u64).trailing_ones() as usize + 1);
        for (level, index, hash) in &nodes {
            let start = (*index as usize) << level;
            let end = start + (1usize << level);
            assert_eq!(end, i + 1, "a new node ends at the new leaf");
            assert_eq!(*hash, root(&leaves[start..end]), "node ({level}, {index})");
            assert_eq!(store.get(*level, *index), None, "never rewritten");
        }
        stored += nodes.len();
        store.push(*leaf).unwrap();
    }
    // A tree of n leaves has at most 2n − 1 perfect nodes.
    assert!(stored < 2 * leaves.len());
}

#[test]
fn every_inclusion_proof_verifies_and_every_tampering_fails() {
    let leaves = leaves();
    let store = store();
    for n in 1..=MAX {
        let d = &leaves[..n as usize];
        let r = root(d);
        for i in 0..n {
            let leaf = &d[i as usize];
            let proof = inclusion_proof(i, n, &store).unwrap();
            assert_eq!(proof, path(i as usize, d), "PATH({i}, D[{n}])");
            assert_eq!(
                verify_inclusion(i, n, leaf, &proof, &r),
                Ok(()),
                "({i}, {n})"
            );

            for e in 0..proof.len() {
                for byte in [0, e % 32, 31] {
                    let bad = flipped(&proof, e, byte);
                    assert!(matches!(
                        verify_inclusion(i, n, leaf, &bad, &r),
                        Err(ProofError::RootMismatch { .. })
                    ));
                }
            }
            if let Some((_, short)) = proof.split_last() {
                assert!(matches!(
                    verify_inclusion(i, n, leaf, short, &r),
                    Err(ProofError::WrongProofLength { .. })
                ));
            }
            let mut long = proof.clone();
            long.push(r);
            assert!(matches!(
                verify_inclusion(i, n, leaf, &long, &r),
                Err(ProofError::WrongProofLength { .. })
            ));
            let mut other_leaf = *leaf;
            other_leaf[0] ^= 0x80;
            assert!(verify_inclusion(i, n, &other_leaf, &proof, &r).is_err());
            if n > 1 {
                let j = (i + 1) % n;
                assert!(
                    verify_inclusion(j, n, leaf, &proof, &r).is_err(),
                    "({i}→{j}, {n})"
                );
            }
        }
        assert_eq!(
            verify_inclusion(n, n, &d[0], &[], &r),
            Err(ProofError::IndexOutOfRange { index: n, size: n })
        );
    }
}

#[test]
fn every_consistency_proof_verifies_and_every_tampering_fails() {
    let leaves = leaves();
    let store = store();
    let roots: Vec<Hash> = (0..=MAX as usize).map(|n| root(&leaves[..n])).collect();
    for n2 in 1..=MAX {
        let r2 = &roots[n2 as usize];
        for n1 in 1..=n2 {
            let r1 = &roots[n1 as usize];
            let proof = consistency_proof(n1, n2, &store).unwrap();
            let want = if n1 == n2 {
                vec![]
            } else {
                subproof(n1 as usize, &leaves[..n2 as usize], true)
            };
            assert_eq!(proof, want, "PROOF({n1}, D[{n2}])");
            assert_eq!(
                verify_consistency(n1, n2, r1, r2, &proof),
                Ok(()),
                "({n1}, {n2})"
            );

            for e in 0..proof.len() {
                for byte in [0, e % 32, 31] {
                    let bad = flipped(&proof, e, byte);
                    assert!(
                        verify_consistency(n1, n2, r1, r2, &bad).is_err(),
                        "({n1}, {n2}) element {e} byte {byte}"
                    );
                }
            }
            if let Some((_, short)) = proof.split_last() {
                assert!(matches!(
                    verify_consistency(n1, n2, r1, r2, short),
                    Err(ProofError::WrongProofLength { .. })
                ));
            }
            let mut long = proof.clone();
            long.push(*r2);
            assert!(matches!(
                verify_consistency(n1, n2, r1, r2, &long),
                Err(ProofError::WrongProofLength { .. })
            ));
            // A root of another size, or the roots swapped, never pass.
            let other = &roots[(n1 as usize % MAX as usize) + 1];
            if other != r1 {
                assert!(verify_consistency(n1, n2, other, r2, &proof).is_err());
            }
            if n1 != n2 {
                assert!(verify_consistency(n1, n2, r2, r1, &proof).is_err());
            }
        }
        assert_eq!(
            verify_consistency(0, n2, &roots[0], r2, &[]),
            Err(ProofError::EmptyFirstTree)
        );
    }
}
