//! `AEAD_AES_256_GCM` (RFC 5116) as WeChat Pay uses it for notification
//! resources and downloaded certificates: the key is the ASCII bytes of the
//! merchant's APIv3 key, the nonce the 12 ASCII bytes given, the associated
//! data the given string, and the ciphertext base64 of `ct ‖ tag`.
//!
//! Production keys are 32 bytes (AES-256). The published SDK vectors use
//! 16-byte keys, so 16 bytes selects AES-128 here; [`super::WechatConfig`]
//! accepts only 32-byte keys.

use crate::NotifyError;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

fn nonce_of(nonce: &str) -> Result<&Nonce<aes_gcm::aead::consts::U12>, NotifyError> {
    if nonce.len() != 12 {
        return Err(NotifyError::Malformed(format!(
            "resource nonce must be 12 bytes, got {}",
            nonce.len()
        )));
    }
    Ok(Nonce::from_slice(nonce.as_bytes()))
}

/// Decrypts a resource; the plaintext bytes. The key is 32 bytes (AES-256;
/// 16 bytes, AES-128, only for the published vectors).
pub fn decrypt_resource(
    apiv3_key: &str,
    nonce: &str,
    associated_data: &str,
    ciphertext_b64: &str,
) -> Result<Vec<u8>, NotifyError> {
    let n = nonce_of(nonce)?;
    let ct = B64
        .decode(ciphertext_b64.trim())
        .map_err(|_| NotifyError::Malformed("ciphertext is not base64".into()))?;
    let payload = Payload {
        msg: &ct,
        aad: associated_data.as_bytes(),
    };
    let key = apiv3_key.as_bytes();
    let out = match key.len() {
        32 => Aes256Gcm::new_from_slice(key)
            .map_err(|_| NotifyError::Decrypt)?
            .decrypt(n, payload),
        16 => Aes128Gcm::new_from_slice(key)
            .map_err(|_| NotifyError::Decrypt)?
            .decrypt(n, payload),
        _ => return Err(NotifyError::Decrypt),
    };
    out.map_err(|_| NotifyError::Decrypt)
}

/// Encrypts a resource (the simulator's side); base64 of `ct ‖ tag`.
pub fn encrypt_resource(
    apiv3_key: &str,
    nonce: &str,
    associated_data: &str,
    plaintext: &[u8],
) -> Result<String, NotifyError> {
    let n = nonce_of(nonce)?;
    let payload = Payload {
        msg: plaintext,
        aad: associated_data.as_bytes(),
    };
    let key = apiv3_key.as_bytes();
    let out = match key.len() {
        32 => Aes256Gcm::new_from_slice(key)
            .map_err(|_| NotifyError::Decrypt)?
            .encrypt(n, payload),
        16 => Aes128Gcm::new_from_slice(key)
            .map_err(|_| NotifyError::Decrypt)?
            .encrypt(n, payload),
        _ => return Err(NotifyError::Decrypt),
    };
    out.map(|ct| B64.encode(ct))
        .map_err(|_| NotifyError::Decrypt)
}
