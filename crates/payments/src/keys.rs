//! RSA keys and certificates as the providers hand them out, and the one
//! signature both use: RSASSA-PKCS1-v1_5 with SHA-256, base64-encoded.
//!
//! Keys come as PEM (PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY`, SPKI
//! `PUBLIC KEY`, PKCS#1 `RSA PUBLIC KEY`) or, as Alipay's console shows them,
//! as bare base64 of the DER without PEM lines. Certificates are X.509 PEM.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;

/// Why a key or certificate could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// Not a private key in any accepted form.
    #[error("not an RSA private key (PKCS#8, PKCS#1 or bare base64 DER): {0}")]
    Private(String),
    /// Not a public key in any accepted form.
    #[error("not an RSA public key (SPKI, PKCS#1 or bare base64 DER): {0}")]
    Public(String),
    /// Not an X.509 certificate with an RSA key.
    #[error("not an X.509 certificate with an RSA key: {0}")]
    Certificate(String),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Sign(String),
}

fn bare_der(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if compact.is_empty() || compact.contains('-') {
        return None;
    }
    B64.decode(compact).ok()
}

/// Loads a private key: PKCS#8 PEM, PKCS#1 PEM, or bare base64 of either DER.
pub fn load_private_key(text: &str) -> Result<RsaPrivateKey, KeyError> {
    let t = text.trim();
    if t.contains("BEGIN PRIVATE KEY") {
        return RsaPrivateKey::from_pkcs8_pem(t).map_err(|e| KeyError::Private(e.to_string()));
    }
    if t.contains("BEGIN RSA PRIVATE KEY") {
        return RsaPrivateKey::from_pkcs1_pem(t).map_err(|e| KeyError::Private(e.to_string()));
    }
    let der =
        bare_der(t).ok_or_else(|| KeyError::Private("no PEM header and not base64".into()))?;
    RsaPrivateKey::from_pkcs8_der(&der)
        .or_else(|_| RsaPrivateKey::from_pkcs1_der(&der))
        .map_err(|e| KeyError::Private(e.to_string()))
}

/// Loads a public key: SPKI PEM, PKCS#1 PEM, or bare base64 of either DER.
pub fn load_public_key(text: &str) -> Result<RsaPublicKey, KeyError> {
    let t = text.trim();
    if t.contains("BEGIN PUBLIC KEY") {
        return RsaPublicKey::from_public_key_pem(t).map_err(|e| KeyError::Public(e.to_string()));
    }
    if t.contains("BEGIN RSA PUBLIC KEY") {
        return RsaPublicKey::from_pkcs1_pem(t).map_err(|e| KeyError::Public(e.to_string()));
    }
    if t.contains("BEGIN CERTIFICATE") {
        return load_certificate(t)
            .map(|c| c.public_key)
            .map_err(|e| KeyError::Public(e.to_string()));
    }
    let der = bare_der(t).ok_or_else(|| KeyError::Public("no PEM header and not base64".into()))?;
    RsaPublicKey::from_public_key_der(&der)
        .or_else(|_| RsaPublicKey::from_pkcs1_der(&der))
        .map_err(|e| KeyError::Public(e.to_string()))
}

/// An X.509 certificate's serial (upper-case hex, as WeChat's
/// `Wechatpay-Serial` header writes it), validity and RSA public key.
#[derive(Debug, Clone)]
pub struct Certificate {
    /// Serial number, upper-case hex without leading zero bytes.
    pub serial: String,
    /// Not valid before (unix seconds).
    pub not_before: i64,
    /// Not valid after (unix seconds).
    pub not_after: i64,
    /// The subject's key.
    pub public_key: RsaPublicKey,
}

/// Loads an X.509 certificate (PEM).
pub fn load_certificate(pem: &str) -> Result<Certificate, KeyError> {
    use x509_cert::der::{DecodePem, Encode};
    let cert = x509_cert::Certificate::from_pem(pem.trim().as_bytes())
        .map_err(|e| KeyError::Certificate(e.to_string()))?;
    let tbs = &cert.tbs_certificate;
    let bytes = tbs.serial_number.as_bytes();
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    let serial = hex::encode_upper(&bytes[first..]);
    let spki = tbs
        .subject_public_key_info
        .to_der()
        .map_err(|e| KeyError::Certificate(e.to_string()))?;
    let public_key = RsaPublicKey::from_public_key_der(&spki)
        .map_err(|e| KeyError::Certificate(e.to_string()))?;
    let secs = |t: &x509_cert::time::Time| t.to_unix_duration().as_secs() as i64;
    Ok(Certificate {
        serial,
        not_before: secs(&tbs.validity.not_before),
        not_after: secs(&tbs.validity.not_after),
        public_key,
    })
}

/// Signs `message` with RSASSA-PKCS1-v1_5/SHA-256; base64 of the signature.
pub fn sign_sha256(key: &RsaPrivateKey, message: &[u8]) -> Result<String, KeyError> {
    let signer = SigningKey::<Sha256>::new(key.clone());
    let sig = signer
        .try_sign(message)
        .map_err(|e| KeyError::Sign(e.to_string()))?;
    Ok(B64.encode(sig.to_bytes()))
}

/// Verifies a base64 RSASSA-PKCS1-v1_5/SHA-256 signature. Anything that is not
/// valid base64 or not a valid signature is `false`.
pub fn verify_sha256(key: &RsaPublicKey, message: &[u8], signature_b64: &str) -> bool {
    let Ok(raw) = B64.decode(signature_b64.trim()) else {
        return false;
    };
    let Ok(sig) = Signature::try_from(raw.as_slice()) else {
        return false;
    };
    VerifyingKey::<Sha256>::new(key.clone())
        .verify(message, &sig)
        .is_ok()
}

/// A fresh 2048-bit key (for the simulator and the demo; real merchants
/// generate theirs with the providers' tools).
pub fn generate() -> Result<RsaPrivateKey, KeyError> {
    RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).map_err(|e| KeyError::Private(e.to_string()))
}

/// PKCS#8 PEM of a private key.
pub fn private_key_pem(key: &RsaPrivateKey) -> Result<String, KeyError> {
    key.to_pkcs8_pem(LineEnding::LF)
        .map(|s| s.to_string())
        .map_err(|e| KeyError::Private(e.to_string()))
}

/// SPKI PEM of a public key.
pub fn public_key_pem(key: &RsaPublicKey) -> Result<String, KeyError> {
    key.to_public_key_pem(LineEnding::LF)
        .map_err(|e| KeyError::Public(e.to_string()))
}

/// Bare base64 of the SPKI DER (how Alipay's console shows public keys).
pub fn public_key_base64(key: &RsaPublicKey) -> Result<String, KeyError> {
    key.to_public_key_der()
        .map(|d| B64.encode(d.as_bytes()))
        .map_err(|e| KeyError::Public(e.to_string()))
}

/// A self-signed X.509 v3 certificate (PEM) for `key`, signed with
/// sha256WithRSAEncryption: the simulator's WeChat Pay platform certificate.
/// `serial` is the serial number's bytes (big-endian, first byte below 0x80).
pub fn self_signed_certificate(
    key: &RsaPrivateKey,
    serial: &[u8],
    common_name: &str,
    not_before: i64,
    not_after: i64,
) -> Result<String, KeyError> {
    use std::str::FromStr;
    use x509_cert::der::asn1::{BitString, UtcTime};
    use x509_cert::der::{Any, Decode, Encode, EncodePem};
    use x509_cert::spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};
    let err = |e: &dyn std::fmt::Display| KeyError::Certificate(e.to_string());
    let time = |t: i64| -> Result<x509_cert::time::Time, KeyError> {
        let secs = u64::try_from(t).map_err(|e| err(&e))?;
        UtcTime::from_unix_duration(std::time::Duration::from_secs(secs))
            .map(x509_cert::time::Time::UtcTime)
            .map_err(|e| err(&e))
    };
    let alg = AlgorithmIdentifierOwned {
        oid: ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11"),
        parameters: Some(Any::null()),
    };
    let name = x509_cert::name::Name::from_str(&format!("CN={common_name},O=Tenpay.com,C=CN"))
        .map_err(|e| err(&e))?;
    let spki_der = key
        .to_public_key()
        .to_public_key_der()
        .map_err(|e| err(&e))?;
    let spki = SubjectPublicKeyInfoOwned::from_der(spki_der.as_bytes()).map_err(|e| err(&e))?;
    let tbs = x509_cert::TbsCertificate {
        version: x509_cert::Version::V3,
        serial_number: x509_cert::serial_number::SerialNumber::new(serial).map_err(|e| err(&e))?,
        signature: alg.clone(),
        issuer: name.clone(),
        validity: x509_cert::time::Validity {
            not_before: time(not_before)?,
            not_after: time(not_after)?,
        },
        subject: name,
        subject_public_key_info: spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: None,
    };
    let tbs_der = tbs.to_der().map_err(|e| err(&e))?;
    let sig = SigningKey::<Sha256>::new(key.clone())
        .try_sign(&tbs_der)
        .map_err(|e| KeyError::Sign(e.to_string()))?;
    let cert = x509_cert::Certificate {
        tbs_certificate: tbs,
        signature_algorithm: alg,
        signature: BitString::from_bytes(&sig.to_bytes()).map_err(|e| err(&e))?,
    };
    cert.to_pem(LineEnding::LF).map_err(|e| err(&e))
}
