//! Signed notes (C2SP signed-note, as `golang.org/x/mod/sumdb/note` writes
//! them) with Ed25519 keys, and checkpoints (C2SP tlog-checkpoint): the
//! log's origin, tree size and root, signed so that anyone holding the
//! public key can check a proof against them offline.
//!
//! A note is UTF-8 text ending in a newline, then an empty line, then one
//! line per signature: `— <name> <base64(key hash ‖ signature)>`. The key
//! hash is the first four bytes of SHA-256(name ‖ `\n` ‖ 0x01 ‖ public key);
//! keys are written `<name>+<hash hex>+<base64(0x01 ‖ public key)>` (and
//! `PRIVATE+KEY+<name>+<hash hex>+<base64(0x01 ‖ seed)>` for signing keys).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use ed25519_dalek::{Signer as _, Verifier as _};
use sha2::{Digest, Sha256};

const ALG_ED25519: u8 = 1;
/// Notes carry at most this many signatures.
const MAX_SIGNATURES: usize = 100;

/// Why a key, note or checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// A key string is not in the expected form.
    #[error("malformed key: {0}")]
    BadKey(&'static str),
    /// The note's text or signature lines are not well formed.
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    /// A signature line names the key but does not verify.
    #[error("invalid signature for key {0}")]
    BadSignature(String),
    /// No signature by a known key.
    #[error("the note has no signature by a known key")]
    Unverified,
    /// The checkpoint body is not origin / size / root.
    #[error("malformed checkpoint: {0}")]
    BadCheckpoint(&'static str),
}

fn key_hash(name: &str, pubkey: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_ED25519]);
    h.update(pubkey);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| !c.is_whitespace() && c != '+' && !c.is_control())
}

/// A signing key.
pub struct Signer {
    name: String,
    hash: u32,
    key: SigningKey,
}

impl Signer {
    /// The signing key for `name` from a 32-byte Ed25519 seed.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Signer, NoteError> {
        if !valid_name(name) {
            return Err(NoteError::BadKey(
                "the name must be non-empty, without spaces or +",
            ));
        }
        let key = SigningKey::from_bytes(seed);
        Ok(Signer {
            name: name.to_string(),
            hash: key_hash(name, key.verifying_key().as_bytes()),
            key,
        })
    }

    /// Parses `PRIVATE+KEY+<name>+<hash>+<base64(0x01 ‖ seed)>`.
    pub fn from_key(skey: &str) -> Result<Signer, NoteError> {
        let rest = skey
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(NoteError::BadKey("a signing key starts with PRIVATE+KEY+"))?;
        let (name, hash, raw) = split_key(rest)?;
        let raw: [u8; 33] = raw
            .try_into()
            .map_err(|_| NoteError::BadKey("the key must be 33 bytes"))?;
        if raw[0] != ALG_ED25519 {
            return Err(NoteError::BadKey("unknown algorithm"));
        }
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&raw[1..]);
        let s = Signer::from_seed(name, &seed)?;
        if s.hash != hash {
            return Err(NoteError::BadKey("the key hash does not match"));
        }
        Ok(s)
    }

    /// `PRIVATE+KEY+…` (keep it secret).
    pub fn to_key(&self) -> String {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.hash,
            B64.encode(raw)
        )
    }

    /// The matching public key.
    pub fn verifier(&self) -> Verifier {
        Verifier {
            name: self.name.clone(),
            hash: self.hash,
            key: self.key.verifying_key(),
        }
    }

    /// Signs `text` (non-empty, ending in a newline, no empty line at the end
    /// of the text itself) into a note with this one signature.
    pub fn sign(&self, text: &str) -> Result<String, NoteError> {
        check_text(text)?;
        let sig = self.key.sign(text.as_bytes());
        let mut raw = self.hash.to_be_bytes().to_vec();
        raw.extend_from_slice(&sig.to_bytes());
        Ok(format!(
            "{text}\n\u{2014} {} {}\n",
            self.name,
            B64.encode(raw)
        ))
    }
}

/// A public key that checks notes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    name: String,
    hash: u32,
    key: VerifyingKey,
}

fn split_key(s: &str) -> Result<(&str, u32, Vec<u8>), NoteError> {
    let mut parts = s.splitn(3, '+');
    let (Some(name), Some(hash), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(NoteError::BadKey("expected name+hash+key"));
    };
    if !valid_name(name) || hash.len() != 8 {
        return Err(NoteError::BadKey("bad name or hash"));
    }
    let hash =
        u32::from_str_radix(hash, 16).map_err(|_| NoteError::BadKey("the hash is not hex"))?;
    let raw = B64
        .decode(b64)
        .map_err(|_| NoteError::BadKey("the key is not base64"))?;
    Ok((name, hash, raw))
}

impl Verifier {
    /// Parses `<name>+<hash>+<base64(0x01 ‖ public key)>`.
    pub fn from_key(vkey: &str) -> Result<Verifier, NoteError> {
        let (name, hash, raw) = split_key(vkey)?;
        let raw: [u8; 33] = raw
            .try_into()
            .map_err(|_| NoteError::BadKey("the key must be 33 bytes"))?;
        if raw[0] != ALG_ED25519 {
            return Err(NoteError::BadKey("unknown algorithm"));
        }
        let mut pk = [0u8; 32];
        pk.copy_from_slice(&raw[1..]);
        if key_hash(name, &pk) != hash {
            return Err(NoteError::BadKey("the key hash does not match"));
        }
        let key =
            VerifyingKey::from_bytes(&pk).map_err(|_| NoteError::BadKey("not an Ed25519 key"))?;
        Ok(Verifier {
            name: name.to_string(),
            hash,
            key,
        })
    }

    /// `<name>+<hash>+<base64>` (publish it).
    pub fn to_key(&self) -> String {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.hash, B64.encode(raw))
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if text.is_empty() || !text.ends_with('\n') {
        return Err(NoteError::Malformed("the text must end with a newline"));
    }
    if text.ends_with("\n\n") {
        return Err(NoteError::Malformed(
            "the text must not end with an empty line",
        ));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(NoteError::Malformed("control characters in the text"));
    }
    Ok(())
}

/// A note that verified: its text and the names of the known keys that
/// signed it (signatures by unknown keys are ignored, as the format says).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The signed text.
    pub text: String,
    /// Names of the known keys whose signatures verified.
    pub signed_by: Vec<String>,
}

/// Opens a signed note: every signature by a known key must verify, and at
/// least one must be present.
pub fn open(note: &str, verifiers: &[Verifier]) -> Result<Opened, NoteError> {
    let split = note
        .rfind("\n\n")
        .ok_or(NoteError::Malformed("no empty line before the signatures"))?;
    let text = &note[..split + 1];
    let sigs = &note[split + 2..];
    check_text(text)?;
    if !sigs.ends_with('\n') {
        return Err(NoteError::Malformed(
            "the last signature line must end with a newline",
        ));
    }
    let mut signed_by = Vec::new();
    let lines: Vec<&str> = sigs[..sigs.len() - 1].split('\n').collect();
    if lines.len() > MAX_SIGNATURES {
        return Err(NoteError::Malformed("too many signatures"));
    }
    for line in lines {
        let rest = line.strip_prefix("\u{2014} ").ok_or(NoteError::Malformed(
            "a signature line starts with an em dash",
        ))?;
        let (name, b64) = rest.split_once(' ').ok_or(NoteError::Malformed(
            "a signature line is name and signature",
        ))?;
        if !valid_name(name) || b64.contains(' ') {
            return Err(NoteError::Malformed("bad signature line"));
        }
        let raw = B64
            .decode(b64)
            .map_err(|_| NoteError::Malformed("the signature is not base64"))?;
        if raw.len() < 5 {
            return Err(NoteError::Malformed("the signature is too short"));
        }
        let hash = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
        let Some(v) = verifiers.iter().find(|v| v.name == name && v.hash == hash) else {
            continue;
        };
        let sig = Signature::from_slice(&raw[4..])
            .map_err(|_| NoteError::BadSignature(format!("{name}+{hash:08x}")))?;
        v.key
            .verify(text.as_bytes(), &sig)
            .map_err(|_| NoteError::BadSignature(format!("{name}+{hash:08x}")))?;
        if !signed_by.iter().any(|n| n == name) {
            signed_by.push(name.to_string());
        }
    }
    if signed_by.is_empty() {
        return Err(NoteError::Unverified);
    }
    Ok(Opened {
        text: text.to_string(),
        signed_by,
    })
}

/// A checkpoint: the log's origin line, its size and root (C2SP
/// tlog-checkpoint body: `<origin>\n<size>\n<base64 root>\n`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's name, e.g. `doorstep.example.com/evidence`.
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Root hash of the tree of that size.
    pub root: crate::Hash,
}

impl Checkpoint {
    /// The note body.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        )
    }

    /// Signs the checkpoint into a note.
    pub fn sign(&self, signer: &Signer) -> Result<String, NoteError> {
        if self.origin.is_empty() || self.origin.contains('\n') {
            return Err(NoteError::BadCheckpoint("the origin is one non-empty line"));
        }
        signer.sign(&self.body())
    }

    /// Opens a signed checkpoint and parses it (extension lines after the
    /// root are allowed and ignored).
    pub fn open(note: &str, verifiers: &[Verifier]) -> Result<Checkpoint, NoteError> {
        let opened = open(note, verifiers)?;
        let mut lines = opened.text.lines();
        let origin = lines
            .next()
            .filter(|l| !l.is_empty())
            .ok_or(NoteError::BadCheckpoint("no origin line"))?;
        let size = lines
            .next()
            .filter(|l| {
                !l.is_empty()
                    && l.bytes().all(|b| b.is_ascii_digit())
                    && (l.len() == 1 || !l.starts_with('0'))
            })
            .and_then(|l| l.parse::<u64>().ok())
            .ok_or(NoteError::BadCheckpoint("the size is not a decimal number"))?;
        let root = lines
            .next()
            .and_then(|l| B64.decode(l).ok())
            .and_then(|r| <[u8; 32]>::try_from(r.as_slice()).ok())
            .ok_or(NoteError::BadCheckpoint(
                "the root is not 32 bytes of base64",
            ))?;
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // golang.org/x/mod sumdb/note's published test key and note
    // (note_test.go, commit 02c9913).
    const PETER_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    const TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    const PETER_SIG: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    const ENOCH_SIG: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    #[test]
    fn published_vector_signs_and_opens() {
        let s = Signer::from_key(PETER_SKEY).unwrap();
        assert_eq!(s.to_key(), PETER_SKEY);
        assert_eq!(s.verifier().to_key(), PETER_VKEY);
        assert_eq!(s.sign(TEXT).unwrap(), format!("{TEXT}\n{PETER_SIG}"));
        let peter = Verifier::from_key(PETER_VKEY).unwrap();
        let enoch = Verifier::from_key(ENOCH_VKEY).unwrap();
        let both = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
        let o = open(&both, std::slice::from_ref(&peter)).unwrap();
        assert_eq!(
            (o.text.as_str(), o.signed_by.clone()),
            (TEXT, vec!["PeterNeumann".to_string()])
        );
        let o = open(&both, &[peter.clone(), enoch]).unwrap();
        assert_eq!(o.signed_by.len(), 2);
        assert_eq!(open(&both, &[]), Err(NoteError::Unverified));
        // A changed byte anywhere in the text or signature is caught.
        let tampered = both.replacen("problem,", "problem;", 1);
        assert!(matches!(
            open(&tampered, std::slice::from_ref(&peter)),
            Err(NoteError::BadSignature(_))
        ));
        let bad_sig = format!("{TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
        assert!(open(&bad_sig, std::slice::from_ref(&peter)).is_err());
        for bad in [
            TEXT.to_string(),
            format!("{TEXT}\n"),
            format!("{TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]),
        ] {
            assert!(
                matches!(
                    open(&bad, std::slice::from_ref(&peter)),
                    Err(NoteError::Malformed(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn mangled_keys_are_refused() {
        let b = PETER_VKEY.as_bytes().to_vec();
        for i in 0..b.len() {
            let mut m = b.clone();
            m[i] = m[i].wrapping_add(1);
            if let Ok(s) = String::from_utf8(m) {
                assert!(Verifier::from_key(&s).is_err(), "{s}");
            }
        }
        assert!(Verifier::from_key(&PETER_VKEY[..PETER_VKEY.len() - 1]).is_err());
        assert!(Signer::from_key(&PETER_SKEY[1..]).is_err());
    }

    #[test]
    fn checkpoints_round_trip() {
        let s = Signer::from_seed("doorstep.test/evidence", &[7u8; 32]).unwrap();
        let c = Checkpoint {
            origin: "doorstep.test/evidence".into(),
            size: 42,
            root: crate::leaf_hash(b"x"),
        };
        let note = c.sign(&s).unwrap();
        assert!(note.starts_with("doorstep.test/evidence\n42\n"));
        assert_eq!(Checkpoint::open(&note, &[s.verifier()]).unwrap(), c);
        let forged = note.replacen("\n42\n", "\n43\n", 1);
        assert!(Checkpoint::open(&forged, &[s.verifier()]).is_err());
        let other = Signer::from_seed("doorstep.test/evidence", &[8u8; 32]).unwrap();
        assert_eq!(
            Checkpoint::open(&note, &[other.verifier()]),
            Err(NoteError::Unverified)
        );
    }
}
