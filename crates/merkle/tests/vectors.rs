//! The public transparency-dev/merkle test vectors: RFC 6962 root and node
//! hashes for the eight `LeafInputs`, and every inclusion and consistency
//! proof file under `tests/data` (see its README for the source).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::path::{Path, PathBuf};

use doorstep_merkle::{
    EMPTY_ROOT, Hash, MemStore, NodeStore, ProofError, consistency_proof, hash_from_slice,
    inclusion_proof, leaf_hash, root, root_at, verify_consistency, verify_inclusion,
};
use serde::Deserialize;

/// `testonly/constants.go` `LeafInputs()`.
const LEAF_INPUTS: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// `testonly/constants.go` `RootHashes()`, indexed by tree size.
const ROOT_HASHES: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// `testonly/constants.go` `NodeHashes()`: `[level][index]`.
const NODE_HASHES: [&[&str]; 4] = [
    &[
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    &[
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    &[
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
];

fn h(hex_str: &str) -> Hash {
    hash_from_slice(&hex::decode(hex_str).unwrap()).unwrap()
}

fn leaves() -> Vec<Hash> {
    LEAF_INPUTS
        .iter()
        .map(|s| leaf_hash(&hex::decode(s).unwrap()))
        .collect()
}

fn reference_store() -> MemStore {
    let mut store = MemStore::new();
    for leaf in leaves() {
        store.push(leaf).unwrap();
    }
    store
}

#[test]
fn rfc6962_root_hashes_for_sizes_0_to_8() {
    let leaves = leaves();
    let store = reference_store();
    assert_eq!(h(ROOT_HASHES[0]), EMPTY_ROOT);
    for (size, want) in ROOT_HASHES.iter().enumerate() {
        assert_eq!(root(&leaves[..size]), h(want), "root() of size {size}");
        assert_eq!(
            root_at(size as u64, &store).unwrap(),
            h(want),
            "root_at({size})"
        );
    }
}

#[test]
fn stored_perfect_nodes_are_the_published_node_hashes() {
    let store = reference_store();
    for (level, row) in NODE_HASHES.iter().enumerate() {
        for (index, want) in row.iter().enumerate() {
            assert_eq!(
                store.get(level as u8, index as u64),
                Some(h(want)),
                "({level}, {index})"
            );
        }
        // Nothing beyond the complete subtrees of 8 leaves is stored.
        assert_eq!(store.get(level as u8, row.len() as u64), None);
    }
}

// ---------------------------------------------------------------------------
// JSON vectors

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct InclusionVector {
    leaf_idx: u64,
    tree_size: u64,
    root: String,
    leaf_hash: String,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConsistencyVector {
    size1: u64,
    size2: u64,
    root1: String,
    root2: String,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

/// Standard base64 (with padding), enough for the vectors.
fn base64(s: &str) -> Vec<u8> {
    fn value(c: u8) -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    }
    let s = s.trim_end_matches('=').as_bytes();
    let mut out = Vec::new();
    for chunk in s.chunks(4) {
        let mut acc = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            acc |= value(*c) << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

#[test]
fn base64_decoder() {
    assert_eq!(base64(""), b"");
    assert_eq!(base64("V3JvbmdMZWFm"), b"WrongLeaf");
    assert_eq!(base64("V3JvbmdSb290"), b"WrongRoot");
    assert_eq!(base64("Zm9vYg=="), b"foob");
    assert_eq!(base64("Zm9vYmE="), b"fooba");
}

/// A hash from base64; a value that is not 32 bytes becomes zeros, and the
/// flag says so (the typed API cannot carry it).
fn decode_hash(s: &str) -> (Hash, bool) {
    match hash_from_slice(&base64(s)) {
        Ok(hash) => (hash, true),
        Err(ProofError::WrongHashLength(_)) => ([0; 32], false),
        Err(e) => panic!("{e}"),
    }
}

fn decode_proof(proof: &Option<Vec<String>>) -> (Vec<Hash>, bool) {
    let mut all_ok = true;
    let hashes = proof
        .iter()
        .flatten()
        .map(|s| {
            let (hash, ok) = decode_hash(s);
            all_ok &= ok;
            hash
        })
        .collect();
    (hashes, all_ok)
}

fn json_files(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(kind);
    let mut files = Vec::new();
    for sub in std::fs::read_dir(&dir).unwrap() {
        for file in std::fs::read_dir(sub.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn inclusion_vectors() {
    let files = json_files("inclusion");
    assert_eq!(files.len(), 82, "tests/data/inclusion is incomplete");
    let store = reference_store();
    let (mut happy, mut refused, mut refused_at_type) = (0, 0, 0);
    for path in &files {
        let name = path.display();
        let v: InclusionVector =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let (root, root_ok) = decode_hash(&v.root);
        let (leaf, leaf_ok) = decode_hash(&v.leaf_hash);
        let (proof, proof_ok) = decode_proof(&v.proof);
        let typed_ok = root_ok && leaf_ok && proof_ok;
        let result = verify_inclusion(v.leaf_idx, v.tree_size, &leaf, &proof, &root);
        if v.want_err {
            assert!(result.is_err(), "{name} ({}): accepted", v.desc);
            refused += 1;
            refused_at_type += usize::from(!typed_ok);
        } else {
            assert!(typed_ok, "{name}: a hash is not 32 bytes");
            assert_eq!(result, Ok(()), "{name} ({})", v.desc);
            // The tree of LeafInputs produces exactly the published proof.
            assert_eq!(
                inclusion_proof(v.leaf_idx, v.tree_size, &store).unwrap(),
                proof,
                "{name}"
            );
            assert_eq!(root_at(v.tree_size, &store).unwrap(), root, "{name}");
            happy += 1;
        }
    }
    assert_eq!((happy, refused), (5, 77));
    assert!(refused_at_type < refused);
}

#[test]
fn consistency_vectors() {
    let files = json_files("consistency");
    assert_eq!(files.len(), 84, "tests/data/consistency is incomplete");
    let store = reference_store();
    let (mut happy, mut refused) = (0, 0);
    for path in &files {
        let name = path.display();
        let v: ConsistencyVector =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let (root1, root1_ok) = decode_hash(&v.root1);
        let (root2, root2_ok) = decode_hash(&v.root2);
        let (proof, proof_ok) = decode_proof(&v.proof);
        let result = verify_consistency(v.size1, v.size2, &root1, &root2, &proof);
        if v.want_err {
            assert!(result.is_err(), "{name} ({}): accepted", v.desc);
            refused += 1;
        } else {
            assert!(
                root1_ok && root2_ok && proof_ok,
                "{name}: a hash is not 32 bytes"
            );
            assert_eq!(result, Ok(()), "{name} ({})", v.desc);
            assert_eq!(
                consistency_proof(v.size1, v.size2, &store).unwrap(),
                proof,
                "{name}"
            );
            assert_eq!(root_at(v.size1, &store).unwrap(), root1, "{name}");
            assert_eq!(root_at(v.size2, &store).unwrap(), root2, "{name}");
            happy += 1;
        }
    }
    assert_eq!((happy, refused), (5, 79));
}
