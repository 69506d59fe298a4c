//! Dispute bundles: a ZIP that lets a third party check, offline, that a set
//! of evidence records are in the company's signed log, unchanged.
//!
//! ```text
//! README.txt          the verification procedure (Chinese and English) with a Python script
//! manifest.json       {"format":"doorstep-evidence-bundle/1","origin","created_at","subject",
//!                      "checkpoint":"checkpoint.txt","keys":"keys.txt",
//!                      "records":[{"index","file","proof"}],
//!                      "files":[{"path","sha256","bound_to"?:[{"record","field"}]}]}
//! checkpoint.txt      the signed checkpoint (C2SP signed note: origin, tree size S, root)
//! keys.txt            the company's verifier keys (note vkey format), current and retired
//! records/<N>.json    record N's exact bytes (RFC 8785 JSON)
//! proofs/<N>.json     {"index":N,"tree_size":S,"leaf_hash":hex,"inclusion":[hex,…]}
//! attachments/…       signature images, receipts, … (listed in "files" with their SHA-256)
//! ```
//!
//! Every file except `manifest.json` itself is listed in the manifest's
//! `files` with its SHA-256. An attachment whose SHA-256 equals a record's
//! `<x>_sha256` member is *bound* to it (`bound_to`), and the verifier checks
//! that binding against the record, which the signed log vouches for — the
//! manifest alone vouches for nothing, since whoever changes a file can
//! change the manifest too.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::io::{Cursor, Read, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use doorstep_merkle::note::{self, Checkpoint, Verifier};
use doorstep_merkle::{Hash, leaf_hash, verify_inclusion};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::EvidenceError;
use crate::record::{self, hash_fields, is_sha256_hex};

/// The manifest's `format`.
pub const FORMAT: &str = "doorstep-evidence-bundle/1";

const MANIFEST: &str = "manifest.json";
const README: &str = "README.txt";
const CHECKPOINT: &str = "checkpoint.txt";
const KEYS: &str = "keys.txt";
/// The largest file read from a bundle.
const MAX_ENTRY: u64 = 64 << 20;
/// The most data read from one bundle.
const MAX_TOTAL: u64 = 512 << 20;
/// The most files in one bundle.
const MAX_ENTRIES: usize = 100_000;

/// One record to put in a bundle: its log index, exact bytes and inclusion
/// proof in the tree of the checkpoint's size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleRecord {
    /// The record's leaf index in the log.
    pub index: u64,
    /// The record's exact bytes.
    pub bytes: Vec<u8>,
    /// The inclusion proof (leaf to root) in the tree of `tree_size` leaves.
    pub inclusion: Vec<[u8; 32]>,
}

/// Everything a bundle holds.
#[derive(Debug, Clone)]
pub struct BundleInput<'a> {
    /// The log's origin (the checkpoint's first line).
    pub origin: &'a str,
    /// When the bundle was made (RFC 3339 UTC).
    pub created_at: &'a str,
    /// Free-form description of what the dispute is about (masked phone,
    /// rooms, …). Not verified.
    pub subject: Value,
    /// The signed checkpoint note.
    pub checkpoint_note: &'a str,
    /// The checkpoint's tree size.
    pub tree_size: u64,
    /// The company's verifier keys (`<name>+<hash>+<base64>`), current and
    /// retired.
    pub keys: Vec<String>,
    /// The records with their proofs.
    pub records: Vec<BundleRecord>,
    /// Attachments: path under `attachments/` and contents.
    pub attachments: Vec<(String, Vec<u8>)>,
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn record_path(index: u64) -> String {
    format!("records/{index}.json")
}

fn proof_path(index: u64) -> String {
    format!("proofs/{index}.json")
}

fn bad(message: impl Into<String>) -> EvidenceError {
    EvidenceError::BadInput(message.into())
}

/// Whether `path` is acceptable under `attachments/`: relative, `/`-separated
/// parts that are not empty, `.` or `..`, no backslashes or control characters.
fn valid_attachment_path(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= 200
        && !path.chars().any(|c| c == '\\' || c.is_control())
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

/// The ZIP timestamp for `created_at` (`YYYY-MM-DDTHH:MM:SS…`), or
/// 1980-01-01 if it does not parse: bundles are byte-for-byte reproducible.
fn zip_time(created_at: &str) -> zip::DateTime {
    let num = |range: std::ops::Range<usize>| -> Option<u16> {
        created_at.get(range).and_then(|s| s.parse::<u16>().ok())
    };
    let parts = (|| {
        Some((
            num(0..4)?,
            u8::try_from(num(5..7)?).ok()?,
            u8::try_from(num(8..10)?).ok()?,
            u8::try_from(num(11..13)?).ok()?,
            u8::try_from(num(14..16)?).ok()?,
            u8::try_from(num(17..19)?).ok()?,
        ))
    })();
    parts
        .and_then(|(y, mo, d, h, mi, s)| zip::DateTime::from_date_and_time(y, mo, d, h, mi, s).ok())
        .unwrap_or_default()
}

/// Writes a bundle as ZIP bytes.
///
/// Refuses input that would not verify: the checkpoint must open with one of
/// `keys` and match `origin` and `tree_size`, every record must be canonical
/// and its inclusion proof must lead to the checkpoint's root, indices and
/// attachment paths must be unique.
pub fn write_bundle(input: &BundleInput) -> Result<Vec<u8>, EvidenceError> {
    if input.origin.is_empty() || input.origin.contains('\n') {
        return Err(bad("the origin must be one non-empty line"));
    }
    let mut verifiers = Vec::new();
    for (i, key) in input.keys.iter().enumerate() {
        let v = Verifier::from_key(key).map_err(|e| {
            bad(format!(
                "key {} ({key:?}) is not a verifier key: {e}",
                i + 1
            ))
        })?;
        verifiers.push(v);
    }
    let cp = Checkpoint::open(input.checkpoint_note, &verifiers).map_err(|e| {
        bad(format!(
            "the checkpoint does not open with the keys given: {e}"
        ))
    })?;
    if cp.origin != input.origin {
        return Err(bad(format!(
            "the checkpoint is for log {:?}, not {:?}",
            cp.origin, input.origin
        )));
    }
    if cp.size != input.tree_size {
        return Err(bad(format!(
            "the checkpoint is for tree size {}, not {}",
            cp.size, input.tree_size
        )));
    }
    if input.records.is_empty() {
        return Err(bad("a bundle needs at least one record"));
    }
    let mut records: Vec<&BundleRecord> = input.records.iter().collect();
    records.sort_by_key(|r| r.index);
    let mut parsed: Vec<(u64, Value)> = Vec::new();
    for pair in records.windows(2) {
        if pair[0].index == pair[1].index {
            return Err(bad(format!("record #{} is given twice", pair[0].index)));
        }
    }
    for r in &records {
        let value =
            record::parse_record(&r.bytes).map_err(|e| bad(format!("record #{}: {e}", r.index)))?;
        verify_inclusion(
            r.index,
            cp.size,
            &leaf_hash(&r.bytes),
            &r.inclusion,
            &cp.root,
        )
        .map_err(|e| {
            bad(format!(
                "record #{}: its inclusion proof does not verify against the checkpoint: {e}",
                r.index
            ))
        })?;
        parsed.push((r.index, value));
    }
    let mut seen = BTreeSet::new();
    for (path, _) in &input.attachments {
        if !valid_attachment_path(path) {
            return Err(bad(format!("bad attachment path {path:?}")));
        }
        if !seen.insert(path.as_str()) {
            return Err(bad(format!("attachment {path:?} is given twice")));
        }
    }

    // The files, in archive order.
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    files.push((README.to_string(), readme(input, &cp).into_bytes()));
    files.push((
        CHECKPOINT.to_string(),
        input.checkpoint_note.as_bytes().to_vec(),
    ));
    let mut keys_txt = String::new();
    for key in &input.keys {
        keys_txt.push_str(key);
        keys_txt.push('\n');
    }
    files.push((KEYS.to_string(), keys_txt.into_bytes()));
    for r in &records {
        files.push((record_path(r.index), r.bytes.clone()));
        let proof = json!({
            "index": r.index,
            "tree_size": cp.size,
            "leaf_hash": hex::encode(leaf_hash(&r.bytes)),
            "inclusion": r.inclusion.iter().map(hex::encode).collect::<Vec<_>>(),
        });
        files.push((proof_path(r.index), pretty(&proof)?));
    }
    for (path, bytes) in &input.attachments {
        files.push((format!("attachments/{path}"), bytes.clone()));
    }

    let mut listed = Vec::new();
    for (path, bytes) in &files {
        let sha = sha256_hex(bytes);
        let mut entry = json!({"path": path, "sha256": sha});
        if path.starts_with("attachments/") {
            let bound: Vec<Value> = parsed
                .iter()
                .flat_map(|(index, value)| {
                    hash_fields(value)
                        .into_iter()
                        .filter(|(_, h)| *h == sha)
                        .map(|(field, _)| json!({"record": index, "field": field}))
                        .collect::<Vec<_>>()
                })
                .collect();
            if !bound.is_empty() {
                entry["bound_to"] = Value::Array(bound);
            }
        }
        listed.push(entry);
    }
    let manifest = json!({
        "format": FORMAT,
        "origin": input.origin,
        "created_at": input.created_at,
        "subject": input.subject,
        "checkpoint": CHECKPOINT,
        "keys": KEYS,
        "records": records
            .iter()
            .map(|r| json!({"index": r.index, "file": record_path(r.index), "proof": proof_path(r.index)}))
            .collect::<Vec<_>>(),
        "files": listed,
    });
    files.insert(1, (MANIFEST.to_string(), pretty(&manifest)?));

    let zip_err = |e: zip::result::ZipError| EvidenceError::Zip(e.to_string());
    let io_err = |e: std::io::Error| EvidenceError::Zip(e.to_string());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip_time(input.created_at))
        .unix_permissions(0o644);
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (path, bytes) in &files {
        w.start_file(path.as_str(), options).map_err(zip_err)?;
        w.write_all(bytes).map_err(io_err)?;
    }
    Ok(w.finish().map_err(zip_err)?.into_inner())
}

fn pretty(v: &Value) -> Result<Vec<u8>, EvidenceError> {
    let mut out = serde_json::to_vec_pretty(v).map_err(|e| bad(e.to_string()))?;
    out.push(b'\n');
    Ok(out)
}

/// Which keys opened the checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeysUsed {
    /// Keys the verifier supplied (e.g. the company's published key): the
    /// report shows the records are in the company's log.
    Trusted,
    /// `keys.txt` from the bundle itself: this only shows the bundle is
    /// consistent with itself — compare `keys.txt` with the company's
    /// published key.
    FromBundle,
}

/// The result for one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordReport {
    /// The record's index in the log.
    pub index: u64,
    /// Whether every check passed.
    pub ok: bool,
    /// What is wrong, naming the record and file (when not ok).
    pub problem: Option<String>,
}

/// The result for one file listed in the manifest (or found unlisted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    /// The path inside the ZIP.
    pub path: String,
    /// Whether it is present, matches its SHA-256, and matches every record
    /// member it is bound to.
    pub ok: bool,
    /// What is wrong (when not ok).
    pub problem: Option<String>,
    /// The record members `(record index, member)` whose hash this file
    /// matches: only these files are vouched for by the signed log.
    pub bound_to: Vec<(u64, String)>,
}

/// What [`verify_bundle`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct BundleReport {
    /// The log's origin (from the checkpoint, else from the manifest).
    pub origin: String,
    /// When the bundle says it was made (not verified).
    pub created_at: String,
    /// The manifest's subject (not verified).
    pub subject: Value,
    /// The checkpoint's tree size.
    pub tree_size: u64,
    /// The checkpoint's root.
    pub root: [u8; 32],
    /// Whose keys were used to open the checkpoint.
    pub keys_used: KeysUsed,
    /// The names of the keys whose signatures verified (empty if none did).
    pub signed_by: Vec<String>,
    /// Problems with the bundle as a whole (the checkpoint, the keys, the
    /// manifest).
    pub problems: Vec<String>,
    /// One entry per record listed in the manifest, by index.
    pub records: Vec<RecordReport>,
    /// One entry per file listed in the manifest, then any unlisted files.
    pub files: Vec<FileReport>,
    /// Whether everything verified.
    pub ok: bool,
}

impl fmt::Display for BundleReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Doorstep evidence bundle")?;
        writeln!(f, "  log:        {}", self.origin)?;
        writeln!(
            f,
            "  checkpoint: tree size {}, root {}",
            self.tree_size,
            hex::encode(self.root)
        )?;
        if self.signed_by.is_empty() {
            writeln!(f, "  signed by:  (no valid signature)")?;
        } else {
            writeln!(f, "  signed by:  {}", self.signed_by.join(", "))?;
        }
        match self.keys_used {
            KeysUsed::Trusted => writeln!(f, "  keys:       the trusted keys supplied")?,
            KeysUsed::FromBundle => writeln!(
                f,
                "  keys:       keys.txt inside the bundle — this only shows the bundle is \
                 consistent with itself; compare keys.txt with the company's published key, \
                 or verify with that key"
            )?,
        }
        writeln!(f, "  created at: {} (not verified)", self.created_at)?;
        if !self.subject.is_null() {
            writeln!(f, "  subject:    {} (not verified)", self.subject)?;
        }
        for p in &self.problems {
            writeln!(f, "PROBLEM: {p}")?;
        }
        for r in &self.records {
            match &r.problem {
                None => writeln!(f, "record #{}: OK", r.index)?,
                Some(p) => writeln!(f, "record #{}: FAILED — {p}", r.index)?,
            }
        }
        for file in &self.files {
            let is_attachment = file.path.starts_with("attachments/");
            match &file.problem {
                Some(p) => writeln!(f, "file {}: FAILED — {p}", file.path)?,
                None if is_attachment && file.bound_to.is_empty() => writeln!(
                    f,
                    "file {}: OK (matches the manifest, but no logged record names its hash)",
                    file.path
                )?,
                None if is_attachment => {
                    let names: Vec<String> = file
                        .bound_to
                        .iter()
                        .map(|(i, field)| format!("{field} of record #{i}"))
                        .collect();
                    writeln!(f, "file {}: OK (matches {})", file.path, names.join(", "))?
                }
                None => {}
            }
        }
        let bad_records = self.records.iter().filter(|r| !r.ok).count();
        let bad_files = self.files.iter().filter(|r| !r.ok).count();
        if self.ok {
            write!(
                f,
                "VERDICT: OK — {} record(s) are in the log as signed at tree size {}{}",
                self.records.len(),
                self.tree_size,
                match self.keys_used {
                    KeysUsed::Trusted => "",
                    KeysUsed::FromBundle => " (by the keys shipped in the bundle)",
                }
            )
        } else {
            write!(
                f,
                "VERDICT: FAILED — {bad_records} of {} record(s), {bad_files} file(s) and {} \
                 other problem(s) found",
                self.records.len(),
                self.problems.len()
            )
        }
    }
}

/// Reads every entry of the archive into memory (bounded).
fn read_entries(zip_bytes: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, EvidenceError> {
    let zip_err = |e: zip::result::ZipError| EvidenceError::Zip(e.to_string());
    let mut archive = zip::ZipArchive::new(Cursor::new(zip_bytes)).map_err(zip_err)?;
    if archive.len() > MAX_ENTRIES {
        return Err(EvidenceError::BadBundle(format!(
            "{} files is more than a bundle holds",
            archive.len()
        )));
    }
    let mut entries = BTreeMap::new();
    let mut total = 0u64;
    for i in 0..archive.len() {
        let file = archive.by_index(i).map_err(zip_err)?;
        if file.is_dir() {
            continue;
        }
        let name = file.name().to_string();
        let mut bytes = Vec::new();
        file.take(MAX_ENTRY + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| EvidenceError::Zip(format!("{name}: {e}")))?;
        if bytes.len() as u64 > MAX_ENTRY {
            return Err(EvidenceError::BadBundle(format!("{name} is too large")));
        }
        total += bytes.len() as u64;
        if total > MAX_TOTAL {
            return Err(EvidenceError::BadBundle("the bundle is too large".into()));
        }
        if entries.insert(name.clone(), bytes).is_some() {
            return Err(EvidenceError::BadBundle(format!(
                "{name} appears twice in the ZIP"
            )));
        }
    }
    Ok(entries)
}

/// A manifest record entry.
struct ManifestRecord {
    index: u64,
    file: String,
    proof: String,
}

/// A manifest file entry.
struct ManifestFile {
    path: String,
    sha256: String,
    bound_to: Vec<(u64, String)>,
}

fn manifest_str<'a>(m: &'a Value, key: &str) -> Result<&'a str, EvidenceError> {
    m.get(key).and_then(Value::as_str).ok_or_else(|| {
        EvidenceError::BadBundle(format!(
            "manifest.json: \"{key}\" is missing or not a string"
        ))
    })
}

fn parse_manifest(m: &Value) -> Result<(Vec<ManifestRecord>, Vec<ManifestFile>), EvidenceError> {
    let broken = |what: String| EvidenceError::BadBundle(format!("manifest.json: {what}"));
    let mut records = Vec::new();
    let list = m
        .get("records")
        .and_then(Value::as_array)
        .ok_or_else(|| broken("\"records\" is missing or not a list".into()))?;
    for (i, r) in list.iter().enumerate() {
        let index = r
            .get("index")
            .and_then(Value::as_u64)
            .ok_or_else(|| broken(format!("records[{i}] has no index")))?;
        let file = r
            .get("file")
            .and_then(Value::as_str)
            .ok_or_else(|| broken(format!("records[{i}] (record #{index}) has no file")))?;
        let proof = r
            .get("proof")
            .and_then(Value::as_str)
            .ok_or_else(|| broken(format!("records[{i}] (record #{index}) has no proof")))?;
        records.push(ManifestRecord {
            index,
            file: file.to_string(),
            proof: proof.to_string(),
        });
    }
    let mut files = Vec::new();
    let list = m
        .get("files")
        .and_then(Value::as_array)
        .ok_or_else(|| broken("\"files\" is missing or not a list".into()))?;
    for (i, entry) in list.iter().enumerate() {
        let path = entry
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| broken(format!("files[{i}] has no path")))?;
        let sha256 = entry
            .get("sha256")
            .and_then(Value::as_str)
            .ok_or_else(|| broken(format!("files[{i}] ({path}) has no sha256")))?;
        let mut bound_to = Vec::new();
        if let Some(list) = entry.get("bound_to").and_then(Value::as_array) {
            for b in list {
                let (Some(record), Some(field)) = (
                    b.get("record").and_then(Value::as_u64),
                    b.get("field").and_then(Value::as_str),
                ) else {
                    return Err(broken(format!("files[{i}] ({path}) has a bad bound_to")));
                };
                bound_to.push((record, field.to_string()));
            }
        }
        files.push(ManifestFile {
            path: path.to_string(),
            sha256: sha256.to_string(),
            bound_to,
        });
    }
    Ok((records, files))
}

/// The origin, size and root of a checkpoint note read *without* checking
/// its signatures (so that the records can still be examined and the report
/// can say what the forged checkpoint claims).
fn checkpoint_unverified(note: &str) -> Option<Checkpoint> {
    let text = &note[..note.rfind("\n\n")? + 1];
    let mut lines = text.lines();
    let origin = lines.next()?.to_string();
    let size = lines.next()?.parse::<u64>().ok()?;
    let root = B64.decode(lines.next()?).ok()?;
    Some(Checkpoint {
        origin,
        size,
        root: root.try_into().ok()?,
    })
}

/// A proof file.
struct Proof {
    index: u64,
    tree_size: u64,
    leaf_hash: Hash,
    inclusion: Vec<Hash>,
}

fn parse_proof(bytes: &[u8]) -> Result<Proof, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON ({e})"))?;
    let hash = |s: &Value| -> Option<Hash> { hex::decode(s.as_str()?).ok()?.try_into().ok() };
    let index = v
        .get("index")
        .and_then(Value::as_u64)
        .ok_or("no \"index\"")?;
    let tree_size = v
        .get("tree_size")
        .and_then(Value::as_u64)
        .ok_or("no \"tree_size\"")?;
    let leaf_hash = v
        .get("leaf_hash")
        .and_then(hash)
        .ok_or("no 32-byte hex \"leaf_hash\"")?;
    let inclusion = v
        .get("inclusion")
        .and_then(Value::as_array)
        .ok_or("no \"inclusion\" list")?
        .iter()
        .map(hash)
        .collect::<Option<Vec<Hash>>>()
        .ok_or("an \"inclusion\" hash is not 32 bytes of hex")?;
    Ok(Proof {
        index,
        tree_size,
        leaf_hash,
        inclusion,
    })
}

fn parse_keys(text: &str) -> (Vec<Verifier>, Vec<String>) {
    let mut verifiers = Vec::new();
    let mut problems = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match Verifier::from_key(line) {
            Ok(v) => verifiers.push(v),
            Err(e) => problems.push(format!(
                "keys.txt line {} is not a verifier key: {e}",
                n + 1
            )),
        }
    }
    (verifiers, problems)
}

/// Verifies a bundle.
///
/// The checkpoint is opened with `trusted_keys` when given (e.g. the
/// company's published key), else with the bundle's own `keys.txt` — which
/// only shows the bundle is self-consistent; the report says which.
///
/// Then, for every record listed in the manifest: its leaf hash is
/// recomputed from its bytes and compared with its proof's, the inclusion
/// proof is checked against the checkpoint's root (the proof's tree size
/// must be the checkpoint's), and the bytes must be a canonical record.
/// Every listed file's SHA-256 is checked, files not listed are reported,
/// and each attachment is compared with the record members it is bound to.
///
/// Returns `Err` only when the bytes are not a readable bundle at all (not a
/// ZIP, no manifest, another format) or a trusted key does not parse;
/// everything else is in the report, naming the record or file.
pub fn verify_bundle(
    zip: &[u8],
    trusted_keys: Option<&[String]>,
) -> Result<BundleReport, EvidenceError> {
    let entries = read_entries(zip)?;
    let manifest_bytes = entries
        .get(MANIFEST)
        .ok_or_else(|| EvidenceError::BadBundle("manifest.json is missing".into()))?;
    let manifest: Value = serde_json::from_slice(manifest_bytes)
        .map_err(|e| EvidenceError::BadBundle(format!("manifest.json is not JSON: {e}")))?;
    let format = manifest_str(&manifest, "format")?;
    if format != FORMAT {
        return Err(EvidenceError::BadBundle(format!(
            "manifest.json: unknown format {format:?} (this verifier reads {FORMAT})"
        )));
    }
    let manifest_origin = manifest_str(&manifest, "origin")?.to_string();
    let created_at = manifest
        .get("created_at")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let subject = manifest.get("subject").cloned().unwrap_or(Value::Null);
    let checkpoint_path = manifest
        .get("checkpoint")
        .and_then(Value::as_str)
        .unwrap_or(CHECKPOINT)
        .to_string();
    let keys_path = manifest
        .get("keys")
        .and_then(Value::as_str)
        .unwrap_or(KEYS)
        .to_string();
    let (m_records, m_files) = parse_manifest(&manifest)?;

    let mut problems = Vec::new();

    // Keys.
    let (verifiers, keys_used) = match trusted_keys {
        Some(keys) => {
            let mut vs = Vec::new();
            for key in keys {
                vs.push(Verifier::from_key(key).map_err(|e| EvidenceError::BadKey {
                    key: key.clone(),
                    reason: e.to_string(),
                })?);
            }
            (vs, KeysUsed::Trusted)
        }
        None => match entries.get(&keys_path) {
            Some(bytes) => {
                let text = String::from_utf8_lossy(bytes);
                let (vs, key_problems) = parse_keys(&text);
                problems.extend(
                    key_problems
                        .into_iter()
                        .map(|p| p.replace("keys.txt", &keys_path)),
                );
                (vs, KeysUsed::FromBundle)
            }
            None => {
                problems.push(format!(
                    "{keys_path} is missing from the bundle and no trusted keys were given"
                ));
                (Vec::new(), KeysUsed::FromBundle)
            }
        },
    };

    // The checkpoint.
    let mut signed_by = Vec::new();
    let mut checkpoint_ok = false;
    let checkpoint = match entries.get(&checkpoint_path) {
        None => {
            problems.push(format!("{checkpoint_path} is missing from the bundle"));
            None
        }
        Some(bytes) => match std::str::from_utf8(bytes) {
            Err(_) => {
                problems.push(format!("{checkpoint_path} is not UTF-8 text"));
                None
            }
            Ok(text) => match (
                note::open(text, &verifiers),
                Checkpoint::open(text, &verifiers),
            ) {
                (Ok(opened), Ok(cp)) => {
                    signed_by = opened.signed_by;
                    checkpoint_ok = true;
                    Some(cp)
                }
                (Err(e), _) | (_, Err(e)) => {
                    let whose = match keys_used {
                        KeysUsed::Trusted => "the trusted keys",
                        KeysUsed::FromBundle => "the keys in keys.txt",
                    };
                    let why = match e {
                        note::NoteError::Unverified => {
                            format!("it carries no signature by {whose}")
                        }
                        note::NoteError::BadSignature(k) => format!(
                            "its signature by {k} does not verify (the checkpoint was altered or forged)"
                        ),
                        other => other.to_string(),
                    };
                    problems.push(format!("{checkpoint_path}: {why}"));
                    checkpoint_unverified(text)
                }
            },
        },
    };
    let origin = match &checkpoint {
        Some(cp) => {
            if cp.origin != manifest_origin {
                problems.push(format!(
                    "{checkpoint_path} is for log {:?}, but manifest.json says {:?}",
                    cp.origin, manifest_origin
                ));
            }
            cp.origin.clone()
        }
        None => manifest_origin,
    };
    let (tree_size, root) = checkpoint
        .as_ref()
        .map(|cp| (cp.size, cp.root))
        .unwrap_or((0, [0; 32]));

    // Records. First every proof, so that a record holding another record's
    // bytes can be named.
    let proofs: Vec<Result<Proof, String>> = m_records
        .iter()
        .map(|r| match entries.get(&r.proof) {
            None => Err(format!("its proof {} is missing from the bundle", r.proof)),
            Some(bytes) => {
                parse_proof(bytes).map_err(|e| format!("{} is not a valid proof: {e}", r.proof))
            }
        })
        .collect();
    let mut leaf_owner: HashMap<Hash, u64> = HashMap::new();
    for p in proofs.iter().flatten() {
        leaf_owner.entry(p.leaf_hash).or_insert(p.index);
    }
    let mut seen_index = BTreeSet::new();
    let mut parsed_records: HashMap<u64, Value> = HashMap::new();
    let mut records = Vec::new();
    for (r, proof) in m_records.iter().zip(&proofs) {
        let mut issues: Vec<String> = Vec::new();
        if !seen_index.insert(r.index) {
            issues.push("it is listed twice in manifest.json".into());
        }
        if r.file != record_path(r.index) {
            issues.push(format!(
                "manifest.json names {} as its file, not {}",
                r.file,
                record_path(r.index)
            ));
        }
        match (entries.get(&r.file), proof) {
            (None, _) => issues.push(format!("its file {} is missing from the bundle", r.file)),
            (Some(_), Err(e)) => issues.push(e.clone()),
            (Some(bytes), Ok(proof)) => {
                check_record(
                    r,
                    bytes,
                    proof,
                    checkpoint.as_ref(),
                    &leaf_owner,
                    &mut issues,
                );
                match record::parse_record(bytes) {
                    Ok(v) => {
                        parsed_records.insert(r.index, v);
                    }
                    Err(EvidenceError::NotCanonical) => issues.push(format!(
                        "{} is not canonical JSON (RFC 8785), so it is not the bytes Doorstep logged",
                        r.file
                    )),
                    Err(e) => issues.push(format!("{}: {e}", r.file)),
                }
            }
        }
        if issues.is_empty() && !checkpoint_ok {
            issues.push(format!(
                "its proof leads to the root in {checkpoint_path}, but that checkpoint is not validly signed"
            ));
        }
        records.push(RecordReport {
            index: r.index,
            ok: issues.is_empty(),
            problem: (!issues.is_empty()).then(|| issues.join("; ")),
        });
    }
    if records.is_empty() {
        problems.push("the bundle lists no records".into());
    }

    // Files.
    let mut files = Vec::new();
    let mut listed: BTreeSet<&str> = BTreeSet::new();
    listed.insert(MANIFEST);
    for f in &m_files {
        listed.insert(f.path.as_str());
        let mut issues = Vec::new();
        let mut bound_to = Vec::new();
        match entries.get(&f.path) {
            None => issues.push("missing from the bundle".to_string()),
            Some(bytes) => {
                let actual = sha256_hex(bytes);
                if !actual.eq_ignore_ascii_case(&f.sha256) {
                    issues.push(format!(
                        "its SHA-256 is {actual}, but manifest.json says {} (changed after the bundle was written)",
                        f.sha256
                    ));
                }
                for (index, field) in &f.bound_to {
                    match parsed_records.get(index) {
                        None => issues.push(format!(
                            "it is bound to {field} of record #{index}, which is not readable in the bundle"
                        )),
                        Some(v) => match v.get(field).and_then(Value::as_str) {
                            Some(h) if h == actual => bound_to.push((*index, field.clone())),
                            Some(h) => issues.push(format!(
                                "its SHA-256 {actual} does not match {field} = {h} in record #{index} (the file was changed or replaced)"
                            )),
                            None => issues.push(format!(
                                "it is bound to {field} of record #{index}, but that record has no such member"
                            )),
                        },
                    }
                }
                // Bindings the manifest does not declare, found by hash.
                let mut indices: Vec<&u64> = parsed_records.keys().collect();
                indices.sort();
                for index in indices {
                    for (field, h) in hash_fields(&parsed_records[index]) {
                        if is_sha256_hex(h)
                            && h == actual
                            && !bound_to.iter().any(|(i, fl)| i == index && fl == field)
                            && !f.bound_to.iter().any(|(i, fl)| i == index && fl == field)
                        {
                            bound_to.push((*index, field.to_string()));
                        }
                    }
                }
            }
        }
        files.push(FileReport {
            path: f.path.clone(),
            ok: issues.is_empty(),
            problem: (!issues.is_empty()).then(|| issues.join("; ")),
            bound_to,
        });
    }
    for r in &m_records {
        for path in [&r.file, &r.proof] {
            listed.insert(path.as_str());
        }
    }
    for name in entries.keys() {
        if !listed.contains(name.as_str()) {
            files.push(FileReport {
                path: name.clone(),
                ok: false,
                problem: Some("in the bundle but not listed in manifest.json".into()),
                bound_to: Vec::new(),
            });
        }
    }

    let ok = problems.is_empty()
        && !records.is_empty()
        && records.iter().all(|r| r.ok)
        && files.iter().all(|f| f.ok);
    Ok(BundleReport {
        origin,
        created_at,
        subject,
        tree_size,
        root,
        keys_used,
        signed_by,
        problems,
        records,
        files,
        ok,
    })
}

/// The log checks of one record: leaf hash and inclusion proof.
fn check_record(
    r: &ManifestRecord,
    bytes: &[u8],
    proof: &Proof,
    checkpoint: Option<&Checkpoint>,
    leaf_owner: &HashMap<Hash, u64>,
    issues: &mut Vec<String>,
) {
    if proof.index != r.index {
        issues.push(format!(
            "{} is the proof for record #{}, not #{}",
            r.proof, proof.index, r.index
        ));
    }
    let computed = leaf_hash(bytes);
    if computed != proof.leaf_hash {
        match leaf_owner.get(&computed) {
            Some(other) if *other != r.index => issues.push(format!(
                "{} holds the bytes of record #{other}, not of record #{} (files swapped or copied)",
                r.file, r.index
            )),
            _ => issues.push(format!(
                "the record's bytes do not match its leaf hash (changed after it was logged): \
                 {} hashes to {}, {} says {}",
                r.file,
                hex::encode(computed),
                r.proof,
                hex::encode(proof.leaf_hash)
            )),
        }
        return;
    }
    let Some(cp) = checkpoint else {
        issues.push("it cannot be checked: there is no readable checkpoint".into());
        return;
    };
    if proof.tree_size != cp.size {
        issues.push(format!(
            "{} is for tree size {}, but the checkpoint is for size {}",
            r.proof, proof.tree_size, cp.size
        ));
        return;
    }
    if proof.index != r.index {
        return;
    }
    if let Err(e) = verify_inclusion(r.index, cp.size, &computed, &proof.inclusion, &cp.root) {
        issues.push(format!(
            "its inclusion proof does not lead to the checkpoint's root — the record is not in \
             the log the checkpoint signs, or the proof or checkpoint was changed ({e})"
        ));
    }
}

/// A Python 3 script (standard library only; `cryptography` optional for the
/// signature) that checks a bundle's inclusion proofs against its checkpoint.
pub const VERIFY_PY: &str = r#"#!/usr/bin/env python3
# Checks a Doorstep evidence bundle: python3 verify.py BUNDLE.zip [KEYS.txt]
import base64, hashlib, json, sys, zipfile
H = lambda b: hashlib.sha256(b).digest()

def root_from_proof(index, size, leaf, proof):  # RFC 9162 section 2.1.3.2
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0: return None
        if fn & 1 or fn == sn:
            r = H(b"\x01" + p + r)
            while fn & 1 == 0 and fn != 0: fn, sn = fn >> 1, sn >> 1
        else:
            r = H(b"\x01" + r + p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None

z = zipfile.ZipFile(sys.argv[1]); names = set(z.namelist())
manifest = json.loads(z.read("manifest.json")); ok = True
note = z.read("checkpoint.txt").decode()
text = note[: note.rindex("\n\n") + 1]
origin, size, root = text.split("\n")[:3]; size, root = int(size), base64.b64decode(root)
print("log", origin, "tree size", size, "root", root.hex())
try:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    keys = (open(sys.argv[2]).read() if len(sys.argv) > 2 else z.read("keys.txt").decode()).split()
    signed = False
    for line in note[len(text) + 1 :].splitlines():
        name, sig = line[2:].split(" "); sig = base64.b64decode(sig)
        for k in keys:
            kname, khash, kb64 = k.split("+", 2)
            if kname == name and bytes.fromhex(khash) == sig[:4]:
                try: Ed25519PublicKey.from_public_bytes(base64.b64decode(kb64)[1:]).verify(sig[4:], text.encode()); signed = True
                except Exception: print("checkpoint signature by", name, "FAILED"); ok = False
    print("checkpoint signature:", "OK" if signed else "no signature by a known key"); ok = ok and signed
except ImportError:
    print("checkpoint signature: not checked (pip install cryptography)")
for f in manifest["files"]:
    if f["path"] not in names or hashlib.sha256(z.read(f["path"])).hexdigest() != f["sha256"]:
        print("file", f["path"], "FAILED: missing or changed"); ok = False
for rec in manifest["records"]:
    n = rec["index"]
    if rec["file"] not in names or rec["proof"] not in names:
        print("record #%d: FAILED (file missing)" % n); ok = False; continue
    data, proof = z.read(rec["file"]), json.loads(z.read(rec["proof"]))
    leaf = H(b"\x00" + data)
    path = [bytes.fromhex(h) for h in proof["inclusion"]]
    good = (proof["index"] == n and proof["tree_size"] == size and proof["leaf_hash"] == leaf.hex()
            and root_from_proof(n, size, leaf, path) == root)
    print("record #%d: %s" % (n, "OK" if good else "FAILED")); ok = ok and good
print("VERDICT:", "OK" if ok else "FAILED"); sys.exit(0 if ok else 1)
"#;

fn readme(input: &BundleInput, cp: &Checkpoint) -> String {
    let indices: Vec<String> = {
        let mut v: Vec<u64> = input.records.iter().map(|r| r.index).collect();
        v.sort_unstable();
        v.iter().map(|i| format!("#{i}")).collect()
    };
    format!(
        r#"Doorstep 证据包 / Doorstep evidence bundle
=========================================

日志 / Log:            {origin}
检查点 / Checkpoint:   树大小 tree size {size}, 根 root {root}
记录 / Records:        {records}
生成时间 / Created at: {created}

中文说明
--------
本证据包证明其中的每条记录都按原样写入了公司的证据日志（RFC 6962 / RFC 9162
默克尔树），且该日志的状态已由公司的 Ed25519 密钥签名（checkpoint.txt，
C2SP 签名注记格式）。验证步骤：

1. 从可信渠道取得公司公布的验证公钥（格式：名称+哈希+base64），与 keys.txt
   比对。只用包内的 keys.txt 只能证明本包自洽，不能证明它来自该公司。
2. 用该公钥验证 checkpoint.txt 的签名：签名文本为空行之前的全部内容（含最后
   的换行）；签名行格式为“— 名称 base64(4 字节密钥哈希 ‖ 64 字节 Ed25519 签名)”。
   签名文本的三行依次为：日志名、树大小 S、base64 编码的根哈希。
3. 对 manifest.json 中的每条记录 N：读取 records/N.json 的原始字节，计算
   叶哈希 SHA-256(0x00 ‖ 字节)，应等于 proofs/N.json 中的 leaf_hash，且该
   证明的 index = N、tree_size = S；用 inclusion 中的哈希（自叶向根）按
   RFC 9162 第 2.1.3.2 节计算根哈希（内部节点 = SHA-256(0x01 ‖ 左 ‖ 右)），
   应等于检查点中的根。
4. 记录是 RFC 8785 规范化 JSON：重新规范化后字节不变。
5. manifest.json 的 files 列出每个文件的 SHA-256。附件若带 bound_to，其
   SHA-256 必须等于对应记录中该字段（如 receipt_sha256）的值——只有这样的
   附件由签名日志担保；manifest.json 本身没有签名。

自动验证：`doorstep verify bundle 本文件.zip --key 公司公布的公钥`，或运行下面的
Python 3 脚本（保存为 verify.py；安装 cryptography 后还会检查签名）：
    python3 verify.py 本文件.zip [公司公钥.txt]

English
-------
This bundle shows that each record in it was written, byte for byte, to the
company's evidence log (an RFC 6962 / RFC 9162 Merkle tree) whose state is
signed with the company's Ed25519 key (checkpoint.txt, a C2SP signed note).
To verify:

1. Obtain the company's published verifier key (name+hash+base64) from a
   source you trust and compare it with keys.txt. The keys inside the bundle
   only show that the bundle is consistent with itself, not that it comes
   from the company.
2. Check checkpoint.txt's signature with that key: the signed text is
   everything before the empty line (including its final newline); a
   signature line is "— <name> base64(4-byte key hash ‖ 64-byte Ed25519
   signature)". The text's three lines are the log's origin, the tree size S
   and the root hash in base64.
3. For every record N in manifest.json: read the exact bytes of
   records/N.json; the leaf hash SHA-256(0x00 ‖ bytes) must equal leaf_hash
   in proofs/N.json, whose index must be N and tree_size S; folding the
   inclusion hashes (leaf to root) as RFC 9162 section 2.1.3.2 says (interior
   node = SHA-256(0x01 ‖ left ‖ right)) must give the checkpoint's root.
4. A record is RFC 8785 canonical JSON: re-canonicalizing it gives the same
   bytes.
5. manifest.json's "files" lists every file's SHA-256. An attachment with
   "bound_to" must have the SHA-256 written in that record's field (e.g.
   receipt_sha256): only such attachments are vouched for by the signed log;
   manifest.json itself is not signed.

Automatically: `doorstep verify bundle THIS.zip --key KEY` (the company's
published key), or run the Python 3 script below (save it as verify.py; with the
`cryptography` package installed it also checks the signature):
    python3 verify.py THIS.zip [company-key.txt]

----- verify.py -----
{script}"#,
        origin = cp.origin,
        size = cp.size,
        root = hex::encode(cp.root),
        records = indices.join(" "),
        created = input.created_at,
        script = VERIFY_PY,
    )
}
