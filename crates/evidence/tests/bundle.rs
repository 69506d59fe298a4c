//! Dispute bundles: written from a log in memory, verified, then tampered
//! with in every way the format must catch.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod common;

use std::io::{Cursor, Read, Write};

use common::{Log, ORIGIN, receipt_file, retired_signer, signature_png, signer};
use doorstep_evidence::bundle::VERIFY_PY;
use doorstep_evidence::{
    BundleInput, BundleRecord, BundleReport, EvidenceError, KeysUsed, verify_bundle, write_bundle,
};
use doorstep_merkle::note::Signer;
use serde_json::json;

/// The log has 40 records; the bundle is about a visit: records 10–14 (a
/// check-in, a signature, a payment, an outcome, a void) and 22, at the
/// checkpoint of size 38.
const SIZE: u64 = 38;
const INDICES: [u64; 6] = [10, 11, 12, 13, 14, 22];

fn keys() -> Vec<String> {
    vec![
        signer().verifier().to_key(),
        retired_signer().verifier().to_key(),
    ]
}

fn input<'a>(log: &Log, note: &'a str) -> BundleInput<'a> {
    BundleInput {
        origin: ORIGIN,
        created_at: "2026-12-01T08:30:00Z",
        subject: json!({"owner_phone": "138****5678", "rooms": ["3栋2单元1502室"], "dispute": "业主称未缴费"}),
        checkpoint_note: note,
        tree_size: SIZE,
        keys: keys(),
        records: INDICES
            .iter()
            .map(|&i| BundleRecord {
                index: i,
                bytes: log.records[i as usize].clone(),
                inclusion: log.proof(i, SIZE),
            })
            .collect(),
        attachments: vec![
            ("receipt-R2026-00012.pdf".into(), receipt_file(12)),
            ("signature-sig-11.png".into(), signature_png(11)),
            ("photos/门牌.jpg".into(), b"JPEG door plate".to_vec()),
        ],
    }
}

fn bundle() -> Vec<u8> {
    let log = Log::new(40);
    let note = log.checkpoint(SIZE, &signer());
    write_bundle(&input(&log, &note)).unwrap()
}

fn entries(zip: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut a = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
    (0..a.len())
        .map(|i| {
            let mut f = a.by_index(i).unwrap();
            let mut b = Vec::new();
            f.read_to_end(&mut b).unwrap();
            (f.name().to_string(), b)
        })
        .collect()
}

fn rezip(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        w.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// The bundle with `f` applied to its entries.
fn tampered(f: impl FnOnce(&mut Vec<(String, Vec<u8>)>)) -> Vec<u8> {
    let mut e = entries(&bundle());
    f(&mut e);
    rezip(&e)
}

fn get<'a>(e: &'a mut [(String, Vec<u8>)], name: &str) -> &'a mut Vec<u8> {
    &mut e.iter_mut().find(|(n, _)| n == name).unwrap().1
}

fn verify(zip: &[u8]) -> BundleReport {
    verify_bundle(zip, None).unwrap()
}

fn record_problem(r: &BundleReport, index: u64) -> String {
    r.records
        .iter()
        .find(|x| x.index == index)
        .unwrap()
        .problem
        .clone()
        .unwrap_or_default()
}

fn file_problem(r: &BundleReport, path: &str) -> String {
    r.files
        .iter()
        .find(|x| x.path == path)
        .unwrap_or_else(|| panic!("{path} not in report:\n{r}"))
        .problem
        .clone()
        .unwrap_or_default()
}

/// Only the given records failed.
fn failed_records(r: &BundleReport) -> Vec<u64> {
    r.records
        .iter()
        .filter(|x| !x.ok)
        .map(|x| x.index)
        .collect()
}

#[test]
fn a_fresh_bundle_verifies() {
    let zip = bundle();
    let names: Vec<String> = entries(&zip).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        &names[..4],
        ["README.txt", "manifest.json", "checkpoint.txt", "keys.txt"]
    );
    assert!(names.contains(&"records/12.json".to_string()));
    assert!(names.contains(&"proofs/22.json".to_string()));
    assert!(names.contains(&"attachments/photos/门牌.jpg".to_string()));

    let r = verify(&zip);
    assert!(r.ok, "{r}");
    assert_eq!(r.keys_used, KeysUsed::FromBundle);
    assert_eq!(r.origin, ORIGIN);
    assert_eq!(r.tree_size, SIZE);
    assert_eq!(r.root, Log::new(40).root(SIZE));
    assert_eq!(r.signed_by, [common::KEY_NAME]);
    assert_eq!(
        r.records.iter().map(|x| x.index).collect::<Vec<_>>(),
        INDICES
    );
    let text = r.to_string();
    assert!(text.contains("record #12: OK"), "{text}");
    assert!(
        text.contains("only shows the bundle is consistent with itself"),
        "{text}"
    );
    assert!(text.ends_with("VERDICT: OK — 6 record(s) are in the log as signed at tree size 38 (by the keys shipped in the bundle)"), "{text}");

    // The receipt and the signature image are bound to their records; the
    // photo is not vouched for by any record.
    let receipt = r
        .files
        .iter()
        .find(|f| f.path == "attachments/receipt-R2026-00012.pdf")
        .unwrap();
    assert_eq!(
        receipt.bound_to,
        [
            (12, "receipt_sha256".to_string()),
            (14, "receipt_sha256".to_string())
        ]
    );
    let png = r
        .files
        .iter()
        .find(|f| f.path == "attachments/signature-sig-11.png")
        .unwrap();
    assert_eq!(png.bound_to, [(11, "image_sha256".to_string())]);
    assert!(text.contains("file attachments/photos/门牌.jpg: OK (matches the manifest, but no logged record names its hash)"), "{text}");
    assert!(text.contains("file attachments/receipt-R2026-00012.pdf: OK (matches receipt_sha256 of record #12, receipt_sha256 of record #14)"), "{text}");

    // With the company's published key.
    let trusted = [signer().verifier().to_key()];
    let r = verify_bundle(&zip, Some(&trusted)).unwrap();
    assert!(r.ok, "{r}");
    assert_eq!(r.keys_used, KeysUsed::Trusted);
    assert!(r.to_string().ends_with("tree size 38"));

    // The manifest says what it should.
    let e = entries(&zip);
    let manifest: serde_json::Value =
        serde_json::from_slice(&e.iter().find(|(n, _)| n == "manifest.json").unwrap().1).unwrap();
    assert_eq!(manifest["format"], "doorstep-evidence-bundle/1");
    assert_eq!(manifest["subject"]["owner_phone"], "138****5678");
    assert_eq!(
        manifest["records"][0],
        json!({"index": 10, "file": "records/10.json", "proof": "proofs/10.json"})
    );
    let proof: serde_json::Value =
        serde_json::from_slice(&e.iter().find(|(n, _)| n == "proofs/12.json").unwrap().1).unwrap();
    assert_eq!(proof["index"], 12);
    assert_eq!(proof["tree_size"], SIZE);
    assert_eq!(
        proof["leaf_hash"],
        hex::encode(doorstep_merkle::leaf_hash(&Log::new(40).records[12]))
    );
    let readme = String::from_utf8(e[0].1.clone()).unwrap();
    assert!(
        readme.contains("验证步骤") && readme.contains("To verify:") && readme.contains(VERIFY_PY)
    );
}

#[test]
fn bundles_are_reproducible() {
    assert_eq!(bundle(), bundle());
}

#[test]
fn a_checkpoint_signed_by_a_retired_key_verifies() {
    let log = Log::new(40);
    let note = log.checkpoint(SIZE, &retired_signer());
    let zip = write_bundle(&input(&log, &note)).unwrap();
    assert!(verify(&zip).ok);
}

#[test]
fn one_changed_byte_in_a_record_is_named() {
    let zip = tampered(|e| {
        let r = get(e, "records/12.json");
        // 35000 fen → 36000 fen: still valid, canonical JSON.
        let s = String::from_utf8(r.clone())
            .unwrap()
            .replace("\"amount_fen\":35000", "\"amount_fen\":36000");
        *r = s.into_bytes();
    });
    let r = verify(&zip);
    assert!(!r.ok);
    assert_eq!(failed_records(&r), [12]);
    assert!(
        record_problem(&r, 12).starts_with(
            "the record's bytes do not match its leaf hash (changed after it was logged)"
        ),
        "{r}"
    );
    assert!(r.to_string().contains("record #12: FAILED — the record's bytes do not match its leaf hash (changed after it was logged)"));
    assert!(file_problem(&r, "records/12.json").contains("changed after the bundle was written"));
    assert!(
        r.to_string().ends_with(
            "VERDICT: FAILED — 1 of 6 record(s), 1 file(s) and 0 other problem(s) found"
        ),
        "{r}"
    );

    // Even when the manifest's hash is updated to match, the log catches it.
    let zip2 = tampered(|e| {
        let r = get(e, "records/13.json");
        r[10] ^= 1;
        let sha = common::sha256_hex(r);
        let m = get(e, "manifest.json");
        let mut v: serde_json::Value = serde_json::from_slice(m).unwrap();
        for f in v["files"].as_array_mut().unwrap() {
            if f["path"] == "records/13.json" {
                f["sha256"] = sha.clone().into();
            }
        }
        *m = serde_json::to_vec(&v).unwrap();
    });
    let r = verify(&zip2);
    assert_eq!(failed_records(&r), [13]);
    assert!(r.files.iter().all(|f| f.ok), "{r}");
    assert!(record_problem(&r, 13).contains("do not match its leaf hash"));
}

#[test]
fn a_deleted_record_file_is_named() {
    let zip = tampered(|e| e.retain(|(n, _)| n != "records/22.json"));
    let r = verify(&zip);
    assert!(!r.ok);
    assert_eq!(failed_records(&r), [22]);
    assert_eq!(
        record_problem(&r, 22),
        "its file records/22.json is missing from the bundle"
    );
    assert_eq!(
        file_problem(&r, "records/22.json"),
        "missing from the bundle"
    );
}

#[test]
fn swapped_record_files_are_named() {
    let zip = tampered(|e| {
        let a = get(e, "records/10.json").clone();
        let b = get(e, "records/22.json").clone();
        *get(e, "records/10.json") = b;
        *get(e, "records/22.json") = a;
    });
    let r = verify(&zip);
    assert_eq!(failed_records(&r), [10, 22]);
    assert!(
        record_problem(&r, 10)
            .contains("records/10.json holds the bytes of record #22, not of record #10"),
        "{r}"
    );
    assert!(
        record_problem(&r, 22)
            .contains("records/22.json holds the bytes of record #10, not of record #22"),
        "{r}"
    );
}

#[test]
fn a_proof_for_another_index_is_named() {
    // proofs/13.json replaced by the proof of record 12.
    let zip = tampered(|e| {
        let p = get(e, "proofs/12.json").clone();
        *get(e, "proofs/13.json") = p;
    });
    let r = verify(&zip);
    assert_eq!(failed_records(&r), [13]);
    assert!(
        record_problem(&r, 13).starts_with("proofs/13.json is the proof for record #12, not #13"),
        "{r}"
    );

    // The same with its index edited to 13: the leaf hash gives it away.
    let zip = tampered(|e| {
        let p = get(e, "proofs/12.json").clone();
        let mut v: serde_json::Value = serde_json::from_slice(&p).unwrap();
        v["index"] = 13.into();
        *get(e, "proofs/13.json") = serde_json::to_vec(&v).unwrap();
    });
    let r = verify(&zip);
    assert_eq!(failed_records(&r), [13]);
    assert!(
        record_problem(&r, 13).contains("holds the bytes of record #12")
            || record_problem(&r, 13).contains("do not match its leaf hash"),
        "{r}"
    );

    // With the leaf hash edited too: the inclusion proof gives it away.
    let zip = tampered(|e| {
        let p = get(e, "proofs/12.json").clone();
        let mut v: serde_json::Value = serde_json::from_slice(&p).unwrap();
        v["index"] = 13.into();
        v["leaf_hash"] = hex::encode(doorstep_merkle::leaf_hash(&Log::new(40).records[13])).into();
        *get(e, "proofs/13.json") = serde_json::to_vec(&v).unwrap();
    });
    let r = verify(&zip);
    assert_eq!(failed_records(&r), [13]);
    assert!(
        record_problem(&r, 13)
            .starts_with("its inclusion proof does not lead to the checkpoint's root"),
        "{r}"
    );

    // A proof for another tree size.
    let zip = tampered(|e| {
        let log = Log::new(40);
        let v = json!({
            "index": 14, "tree_size": 40,
            "leaf_hash": hex::encode(doorstep_merkle::leaf_hash(&log.records[14])),
            "inclusion": log.proof(14, 40).iter().map(hex::encode).collect::<Vec<_>>(),
        });
        *get(e, "proofs/14.json") = serde_json::to_vec(&v).unwrap();
    });
    let r = verify(&zip);
    assert_eq!(failed_records(&r), [14]);
    assert_eq!(
        record_problem(&r, 14),
        "proofs/14.json is for tree size 40, but the checkpoint is for size 38"
    );

    // A manifest that points record 13 at record 12's files.
    let zip = tampered(|e| {
        let m = get(e, "manifest.json");
        let s = String::from_utf8(m.clone())
            .unwrap()
            .replace("\"records/13.json\"", "\"records/12.json\"")
            .replace("\"proofs/13.json\"", "\"proofs/12.json\"");
        *m = s.into_bytes();
    });
    let r = verify(&zip);
    assert!(!r.ok);
    assert!(
        record_problem(&r, 13)
            .contains("manifest.json names records/12.json as its file, not records/13.json"),
        "{r}"
    );
}

#[test]
fn a_forged_checkpoint_is_caught() {
    // The root replaced: the signature no longer verifies.
    let forged_root = doorstep_merkle::leaf_hash(b"a root of the forger's choosing");
    let zip = tampered(|e| {
        let c = get(e, "checkpoint.txt");
        let s = String::from_utf8(c.clone()).unwrap();
        let lines: Vec<&str> = s.split('\n').collect();
        use base64::Engine;
        let new_root = base64::engine::general_purpose::STANDARD.encode(forged_root);
        *c = s.replacen(lines[2], &new_root, 1).into_bytes();
    });
    let r = verify(&zip);
    assert!(!r.ok);
    assert!(
        r.problems[0].starts_with("checkpoint.txt: its signature by"),
        "{r}"
    );
    assert!(
        r.problems[0].contains("does not verify (the checkpoint was altered or forged)"),
        "{r}"
    );
    assert!(r.signed_by.is_empty());
    assert!(file_problem(&r, "checkpoint.txt").contains("changed after the bundle was written"));
    assert_eq!(failed_records(&r), INDICES);
    assert!(
        record_problem(&r, 10).contains("inclusion proof does not lead to the checkpoint's root"),
        "{r}"
    );
    assert!(
        r.to_string()
            .contains("PROBLEM: checkpoint.txt: its signature by")
    );

    // A checkpoint and keys.txt made by someone else with their own key: the
    // bundle is consistent with itself, but not with the company's key.
    let mallory = Signer::from_seed(common::KEY_NAME, &[66u8; 32]).unwrap();
    let log = Log::new(40);
    let note = log.checkpoint(SIZE, &mallory);
    let mut inp = input(&log, &note);
    inp.keys = vec![mallory.verifier().to_key()];
    let zip = write_bundle(&inp).unwrap();
    let r = verify(&zip);
    assert!(r.ok, "self-consistent: {r}");
    assert_eq!(r.keys_used, KeysUsed::FromBundle);
    let trusted = [signer().verifier().to_key()];
    let r = verify_bundle(&zip, Some(&trusted)).unwrap();
    assert!(!r.ok);
    assert_eq!(
        r.problems,
        ["checkpoint.txt: it carries no signature by the trusted keys"]
    );
    assert!(
        record_problem(&r, 12).contains("that checkpoint is not validly signed"),
        "{r}"
    );
}

#[test]
fn a_checkpoint_whose_root_does_not_match_is_caught() {
    // A validly signed checkpoint of another history of the same size.
    let mut other: Vec<Vec<u8>> = (0..40).map(common::record).collect();
    other[30] = common::record(31);
    let fork = Log::from_records(other);
    let note = fork.checkpoint(SIZE, &signer());
    let zip = tampered(|e| *get(e, "checkpoint.txt") = note.into_bytes());
    let r = verify(&zip);
    assert!(!r.ok);
    assert!(r.problems.is_empty(), "{r}");
    assert_eq!(failed_records(&r), INDICES);
    for i in INDICES {
        assert!(
            record_problem(&r, i)
                .starts_with("its inclusion proof does not lead to the checkpoint's root"),
            "{r}"
        );
    }
    // A validly signed checkpoint of an earlier size.
    let log = Log::new(40);
    let note = log.checkpoint(30, &signer());
    let zip = tampered(|e| *get(e, "checkpoint.txt") = note.into_bytes());
    let r = verify(&zip);
    assert_eq!(
        record_problem(&r, 22),
        "proofs/22.json is for tree size 38, but the checkpoint is for size 30"
    );
    // A checkpoint of another log.
    let other_origin = doorstep_merkle::note::Checkpoint {
        origin: "evil.example/log".into(),
        size: SIZE,
        root: log.root(SIZE),
    };
    let signer2 = Signer::from_seed("evil.example/log", &[1u8; 32]).unwrap();
    let note = other_origin.sign(&signer2).unwrap();
    let zip = tampered(|e| {
        *get(e, "checkpoint.txt") = note.clone().into_bytes();
        *get(e, "keys.txt") = format!("{}\n", signer2.verifier().to_key()).into_bytes();
    });
    let r = verify(&zip);
    assert!(!r.ok);
    assert!(
        r.problems
            .iter()
            .any(|p| p.contains("is for log \"evil.example/log\", but manifest.json says")),
        "{r}"
    );
}

#[test]
fn a_changed_attachment_is_caught() {
    let zip = tampered(|e| {
        let a = get(e, "attachments/receipt-R2026-00012.pdf");
        *a = String::from_utf8(a.clone())
            .unwrap()
            .replace("叁佰伍拾", "叁佰陆拾")
            .into_bytes();
    });
    let r = verify(&zip);
    assert!(!r.ok);
    assert!(failed_records(&r).is_empty());
    let p = file_problem(&r, "attachments/receipt-R2026-00012.pdf");
    assert!(p.contains("changed after the bundle was written"), "{p}");
    assert!(p.contains("does not match receipt_sha256 = "), "{p}");
    assert!(
        p.contains("in record #12 (the file was changed or replaced)"),
        "{p}"
    );

    // The manifest updated to match: the record still catches it.
    let zip = tampered(|e| {
        let a = get(e, "attachments/signature-sig-11.png");
        a.push(0);
        let sha = common::sha256_hex(a);
        let m = get(e, "manifest.json");
        let mut v: serde_json::Value = serde_json::from_slice(m).unwrap();
        for f in v["files"].as_array_mut().unwrap() {
            if f["path"] == "attachments/signature-sig-11.png" {
                f["sha256"] = sha.clone().into();
            }
        }
        *m = serde_json::to_vec(&v).unwrap();
    });
    let r = verify(&zip);
    assert!(!r.ok);
    let p = file_problem(&r, "attachments/signature-sig-11.png");
    assert!(
        p.starts_with("its SHA-256")
            && p.contains("does not match image_sha256")
            && p.contains("record #11"),
        "{p}"
    );
    assert!(
        r.to_string()
            .contains("file attachments/signature-sig-11.png: FAILED — ")
    );

    // A deleted attachment.
    let zip = tampered(|e| e.retain(|(n, _)| n != "attachments/photos/门牌.jpg"));
    let r = verify(&zip);
    assert_eq!(
        file_problem(&r, "attachments/photos/门牌.jpg"),
        "missing from the bundle"
    );
}

#[test]
fn unlisted_files_are_reported() {
    let zip = tampered(|e| e.push(("records/23.json".into(), common::record(23))));
    let r = verify(&zip);
    assert!(!r.ok);
    assert_eq!(
        file_problem(&r, "records/23.json"),
        "in the bundle but not listed in manifest.json"
    );
}

#[test]
fn unreadable_bundles_are_errors() {
    assert!(matches!(
        verify_bundle(b"not a zip", None),
        Err(EvidenceError::Zip(_))
    ));
    let zip = tampered(|e| e.retain(|(n, _)| n != "manifest.json"));
    assert_eq!(
        verify_bundle(&zip, None).unwrap_err().to_string(),
        "not a Doorstep evidence bundle: manifest.json is missing"
    );
    let zip = tampered(|e| *get(e, "manifest.json") = br#"{"format":"other/2"}"#.to_vec());
    assert!(matches!(
        verify_bundle(&zip, None),
        Err(EvidenceError::BadBundle(_))
    ));
    let bad_key = ["nope".to_string()];
    assert!(matches!(
        verify_bundle(&bundle(), Some(&bad_key)),
        Err(EvidenceError::BadKey { .. })
    ));
}

#[test]
fn missing_checkpoint_or_keys_are_problems() {
    let r = verify(&tampered(|e| e.retain(|(n, _)| n != "checkpoint.txt")));
    assert!(!r.ok);
    assert!(
        r.problems
            .contains(&"checkpoint.txt is missing from the bundle".to_string()),
        "{r}"
    );
    assert!(record_problem(&r, 10).contains("no readable checkpoint"));
    let r = verify(&tampered(|e| e.retain(|(n, _)| n != "keys.txt")));
    assert!(!r.ok);
    assert!(r.problems[0].contains("keys.txt is missing"), "{r}");
    let r = verify(&tampered(|e| {
        get(e, "keys.txt").extend_from_slice(b"garbage+key\n")
    }));
    assert!(!r.ok);
    assert!(
        r.problems[0].starts_with("keys.txt line 3 is not a verifier key"),
        "{r}"
    );
}

#[test]
fn write_bundle_refuses_what_would_not_verify() {
    let log = Log::new(40);
    let note = log.checkpoint(SIZE, &signer());
    let err = |f: &dyn Fn(&mut BundleInput)| {
        let mut i = input(&log, &note);
        f(&mut i);
        match write_bundle(&i) {
            Err(EvidenceError::BadInput(m)) => m,
            other => panic!("{other:?}"),
        }
    };
    assert!(
        err(&|i| i.records[2].inclusion = log.proof(13, SIZE))
            .starts_with("record #12: its inclusion proof does not verify")
    );
    assert!(
        err(&|i| i.records[2].bytes.push(b' '))
            .starts_with("record #12: the record is valid JSON but not RFC 8785 canonical")
    );
    assert_eq!(
        err(&|i| i.records[1].index = 10),
        "record #10 is given twice"
    );
    assert_eq!(
        err(&|i| i.records.clear()),
        "a bundle needs at least one record"
    );
    assert_eq!(
        err(&|i| i.tree_size = 39),
        "the checkpoint is for tree size 38, not 39"
    );
    assert!(
        err(&|i| i.keys = vec![
            Signer::from_seed("x", &[1; 32])
                .unwrap()
                .verifier()
                .to_key()
        ])
        .starts_with("the checkpoint does not open")
    );
    assert!(err(&|i| i.keys = vec!["junk".into()]).starts_with("key 1"));
    for path in ["", "../x", "a//b", "/abs", "a\\b", "./a"] {
        assert_eq!(
            err(&|i| i.attachments.push((path.into(), vec![]))),
            format!("bad attachment path {path:?}")
        );
    }
    assert!(
        err(&|i| i.attachments.push(("signature-sig-11.png".into(), vec![])))
            .contains("given twice")
    );
    assert!(err(&|i| i.origin = "other").starts_with("the checkpoint is for log"));
}

/// The Python script in README.txt and docs/evidence.md checks a bundle as
/// documented (skipped when python3 is not installed).
#[test]
fn the_documented_python_script_agrees() {
    let docs = include_str!("../../../docs/evidence.md");
    assert!(
        docs.contains(VERIFY_PY.trim_end()),
        "docs/evidence.md must carry the script"
    );
    let Ok(out) = std::process::Command::new("python3")
        .arg("--version")
        .output()
    else {
        eprintln!("python3 not found; skipped");
        return;
    };
    assert!(out.status.success());
    let dir = std::env::temp_dir().join(format!("doorstep-evidence-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("verify.py");
    std::fs::write(&script, VERIFY_PY).unwrap();
    let run = |name: &str, zip: &[u8], key: Option<String>| {
        let path = dir.join(name);
        std::fs::write(&path, zip).unwrap();
        let mut cmd = std::process::Command::new("python3");
        cmd.arg(&script).arg(&path);
        if let Some(key) = key {
            let kp = dir.join(format!("{name}.key"));
            std::fs::write(&kp, key).unwrap();
            cmd.arg(kp);
        }
        let out = cmd.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, text) = run("good.zip", &bundle(), None);
    assert!(ok, "{text}");
    assert!(
        text.contains("record #12: OK") && text.contains("VERDICT: OK"),
        "{text}"
    );
    let (ok, text) = run("good2.zip", &bundle(), Some(signer().verifier().to_key()));
    assert!(ok, "{text}");
    // A key whose base64 holds a '+' (the separator of the key's parts).
    let plus = (0u8..=255)
        .map(|seed| Signer::from_seed(common::KEY_NAME, &[seed; 32]).unwrap())
        .find(|s| s.verifier().to_key().matches('+').count() > 2)
        .unwrap();
    let log = Log::new(40);
    let note = log.checkpoint(SIZE, &plus);
    let mut inp = input(&log, &note);
    inp.keys = vec![plus.verifier().to_key()];
    let (ok, text) = run(
        "plus.zip",
        &write_bundle(&inp).unwrap(),
        Some(plus.verifier().to_key()),
    );
    assert!(ok, "{text}");
    let changed = tampered(|e| get(e, "records/12.json")[20] ^= 1);
    let (ok, text) = run("changed.zip", &changed, None);
    assert!(!ok && text.contains("record #12: FAILED"), "{text}");
    let (ok, text) = run(
        "wrongkey.zip",
        &bundle(),
        Some(
            Signer::from_seed("x", &[1; 32])
                .unwrap()
                .verifier()
                .to_key(),
        ),
    );
    assert!(!ok, "{text}");
    if text.contains("not checked") {
        eprintln!("python cryptography not installed; signature check skipped");
    } else {
        assert!(text.contains("no signature by a known key"), "{text}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
