//! Proof Key for Code Exchange (RFC 7636), S256 only (OAuth 2.1 §4.1.1: `plain` is
//! refused).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// An S256 `code_challenge`: BASE64URL(SHA-256(verifier)), always 43 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeChallenge(String);

impl CodeChallenge {
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.len() != 43
            || !s
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(
                "code_challenge must be the 43-character base64url SHA-256 of the code_verifier"
                    .into(),
            );
        }
        Ok(CodeChallenge(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `verifier` hashes to this challenge (compared in constant time).
    pub fn is_met_by(&self, verifier: &CodeVerifier) -> bool {
        let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.0.as_bytes()));
        bool::from(computed.as_bytes().ct_eq(self.0.as_bytes()))
    }
}

/// A `code_verifier`: 43 to 128 unreserved characters (RFC 7636 §4.1).
#[derive(Clone, PartialEq, Eq)]
pub struct CodeVerifier(String);

impl CodeVerifier {
    pub fn parse(s: &str) -> Result<Self, String> {
        if !(43..=128).contains(&s.len()) || !s.bytes().all(unreserved) {
            return Err(
                "code_verifier must be 43 to 128 characters from A-Z a-z 0-9 - . _ ~".into(),
            );
        }
        Ok(CodeVerifier(s.to_owned()))
    }
}

impl std::fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeVerifier(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b() {
        let v = CodeVerifier::parse("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
        let c = CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM").unwrap();
        assert!(c.is_met_by(&v));
        let other = CodeVerifier::parse(&"a".repeat(43)).unwrap();
        assert!(!c.is_met_by(&other));
    }

    #[test]
    fn shapes() {
        assert!(CodeVerifier::parse(&"a".repeat(42)).is_err());
        assert!(CodeVerifier::parse(&"a".repeat(129)).is_err());
        assert!(CodeVerifier::parse(&format!("{}!", "a".repeat(43))).is_err());
        assert!(CodeChallenge::parse("short").is_err());
        assert!(CodeChallenge::parse(&"+".repeat(43)).is_err());
    }
}
