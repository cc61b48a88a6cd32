//! Encryption of private signing keys at rest: AES-256-GCM under a key-encryption key
//! (KEK) read from a file or the environment. The key id is the associated data, so a
//! ciphertext cannot be moved to another key's row.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;

/// The scheme name stored in `signing_keys.key_encryption`.
pub const SCHEME: &str = "A256GCM";

/// A 256-bit key-encryption key. Never printed.
#[derive(Clone)]
pub struct Kek([u8; 32]);

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Kek(***)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KekError {
    #[error(
        "the key-encryption key must be 32 bytes, written as 64 hex digits or base64 \
         (e.g. `openssl rand -base64 32`)"
    )]
    Format,
    #[error("cannot read the key-encryption key file {path}: {reason}")]
    File { path: String, reason: String },
    #[error("cannot decrypt signing key {kid}: wrong key-encryption key, or the row was altered")]
    Decrypt { kid: String },
    #[error("signing key {kid} is encrypted ({scheme}) but no key-encryption key is configured")]
    Missing { kid: String, scheme: String },
    #[error("signing key {kid} uses unknown encryption `{scheme}`")]
    Scheme { kid: String, scheme: String },
    #[error("encryption failed")]
    Encrypt,
    #[error(
        "signing key {kid} is stored unencrypted although a key-encryption key is configured; \
         create keys with the same key-encryption key configured"
    )]
    Plaintext { kid: String },
}

impl Kek {
    /// Parses 64 hex digits or base64 (standard or URL-safe, padded or not) of 32 bytes.
    pub fn parse(text: &str) -> Result<Kek, KekError> {
        let t = text.trim();
        let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..32)
                .map(|i| u8::from_str_radix(&t[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| KekError::Format)?
        } else {
            let engines = [
                base64::engine::general_purpose::STANDARD,
                base64::engine::general_purpose::STANDARD_NO_PAD,
                base64::engine::general_purpose::URL_SAFE,
                base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ];
            engines
                .iter()
                .find_map(|e| e.decode(t).ok())
                .ok_or(KekError::Format)?
        };
        let arr: [u8; 32] = bytes.try_into().map_err(|_| KekError::Format)?;
        Ok(Kek(arr))
    }

    pub fn from_file(path: &std::path::Path) -> Result<Kek, KekError> {
        let text = std::fs::read_to_string(path).map_err(|e| KekError::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Kek::parse(&text)
    }

    fn key(&self) -> Result<LessSafeKey, KekError> {
        let unbound = UnboundKey::new(&AES_256_GCM, &self.0).map_err(|_| KekError::Encrypt)?;
        Ok(LessSafeKey::new(unbound))
    }

    /// `nonce || ciphertext || tag`.
    pub fn seal(&self, kid: &str, plaintext: &[u8]) -> Result<Vec<u8>, KekError> {
        let nonce_bytes = crate::crypto::random::bytes::<NONCE_LEN>();
        let mut buf = plaintext.to_vec();
        self.key()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(kid.as_bytes()),
                &mut buf,
            )
            .map_err(|_| KekError::Encrypt)?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&buf);
        Ok(out)
    }

    pub fn open(&self, kid: &str, sealed: &[u8]) -> Result<Vec<u8>, KekError> {
        let fail = || KekError::Decrypt {
            kid: kid.to_owned(),
        };
        if sealed.len() < NONCE_LEN {
            return Err(fail());
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| fail())?;
        let mut buf = ct.to_vec();
        let plain = self
            .key()?
            .open_in_place(nonce, Aad::from(kid.as_bytes()), &mut buf)
            .map_err(|_| fail())?;
        Ok(plain.to_vec())
    }
}

/// The private key DER of a stored row, decrypted if it is encrypted.
pub fn unwrap_private(
    kid: &str,
    stored: &[u8],
    scheme: Option<&str>,
    kek: Option<&Kek>,
) -> Result<Vec<u8>, KekError> {
    match (scheme, kek) {
        (None, None) => Ok(stored.to_vec()),
        // With a KEK configured every key is encrypted (the start encrypts old rows): a
        // plaintext row now was planted or written by a tool without the KEK.
        (None, Some(_)) => Err(KekError::Plaintext {
            kid: kid.to_owned(),
        }),
        (Some(SCHEME), Some(kek)) => kek.open(kid, stored),
        (Some(s), None) => Err(KekError::Missing {
            kid: kid.to_owned(),
            scheme: s.to_owned(),
        }),
        (Some(s), Some(_)) => Err(KekError::Scheme {
            kid: kid.to_owned(),
            scheme: s.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hex_and_base64() {
        let hex = "00".repeat(32);
        assert!(Kek::parse(&hex).is_ok());
        assert!(Kek::parse(&base64::engine::general_purpose::STANDARD.encode([7u8; 32])).is_ok());
        assert!(Kek::parse("short").is_err());
        assert!(Kek::parse(&base64::engine::general_purpose::STANDARD.encode([7u8; 31])).is_err());
        assert_eq!(format!("{:?}", Kek::parse(&hex).unwrap()), "Kek(***)");
    }

    #[test]
    fn seal_open_and_refuse_wrong_key_or_kid() {
        let a = Kek::parse(&"11".repeat(32)).unwrap();
        let b = Kek::parse(&"22".repeat(32)).unwrap();
        let sealed = a.seal("kid1", b"secret der").unwrap();
        assert_eq!(a.open("kid1", &sealed).unwrap(), b"secret der");
        assert!(b.open("kid1", &sealed).is_err());
        assert!(a.open("kid2", &sealed).is_err());
        assert!(unwrap_private("kid1", &sealed, Some(SCHEME), None).is_err());
        assert_eq!(unwrap_private("k", b"plain", None, None).unwrap(), b"plain");
        assert!(unwrap_private("k", b"plain", None, Some(&a)).is_err());
    }
}
