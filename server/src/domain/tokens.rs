use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// 256 random bits in unpadded base64url.
const RANDOM_B64_LEN: usize = 43;

fn random_b64() -> String {
    URL_SAFE_NO_PAD.encode(crate::crypto::random::bytes::<32>())
}

fn sha256_hex(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        use fmt::Write;
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn well_formed(s: &str, prefix: &str) -> bool {
    s.len() == prefix.len() + RANDOM_B64_LEN
        && s.starts_with(prefix)
        && s[prefix.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// An opaque refresh token: `tsr_` + 256 random bits in base64url. The prefix lets secret
/// scanners find leaked tokens. Only [`RefreshTokenValue::hash`] is ever stored.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshTokenValue(String);

impl RefreshTokenValue {
    pub const PREFIX: &'static str = "tsr_";

    pub fn generate() -> Self {
        RefreshTokenValue(format!("{}{}", Self::PREFIX, random_b64()))
    }

    /// Accepts only the exact shape Tessera issues, so garbage is refused before any
    /// database work.
    pub fn parse(s: &str) -> Option<Self> {
        well_formed(s, Self::PREFIX).then(|| RefreshTokenValue(s.to_owned()))
    }

    /// Lower-case hex SHA-256, the lookup key in the store.
    pub fn hash(&self) -> String {
        sha256_hex(&self.0)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for RefreshTokenValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshTokenValue(***)")
    }
}

/// A random browser-side secret: an authorization code, a sign-in session cookie value,
/// or a CSRF token. 256 random bits in base64url; only its SHA-256 is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct BrowserSecret(String);

impl BrowserSecret {
    pub fn generate() -> Self {
        BrowserSecret(random_b64())
    }

    /// Accepts only the shape Tessera issues.
    pub fn parse(s: &str) -> Option<Self> {
        well_formed(s, "").then(|| BrowserSecret(s.to_owned()))
    }

    pub fn hash(&self) -> String {
        sha256_hex(&self.0)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Constant-time equality with a presented value (CSRF double submit).
    pub fn matches(&self, presented: &str) -> bool {
        use subtle::ConstantTimeEq;
        self.0.len() == presented.len() && bool::from(self.0.as_bytes().ct_eq(presented.as_bytes()))
    }
}

impl fmt::Debug for BrowserSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BrowserSecret(***)")
    }
}

/// A client secret. Generated ones are `tsc_` + 256 random bits; operators may bring their
/// own (16 to 256 bytes). Stored as SHA-256: a secret with this much entropy gains nothing
/// from a slow hash, and a slow hash would cap every refresh at a few per second.
#[derive(Clone)]
pub struct ClientSecret(String);

impl ClientSecret {
    pub const PREFIX: &'static str = "tsc_";

    pub fn generate() -> Self {
        ClientSecret(format!("{}{}", Self::PREFIX, random_b64()))
    }

    pub fn parse(s: String) -> Result<Self, String> {
        if s.len() < 16 || s.len() > 256 {
            return Err("client secret must be 16 to 256 bytes".into());
        }
        Ok(ClientSecret(s))
    }

    pub fn hash(&self) -> String {
        sha256_hex(&self.0)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(***)")
    }
}

/// SHA-256 of a presented secret, for a constant-time comparison with a stored hash.
pub fn hash_presented_secret(s: &str) -> String {
    sha256_hex(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_refresh_tokens_parse_and_differ() {
        let a = RefreshTokenValue::generate();
        let b = RefreshTokenValue::generate();
        assert_ne!(a.expose(), b.expose());
        assert!(a.expose().starts_with("tsr_"));
        assert_eq!(RefreshTokenValue::parse(a.expose()), Some(a.clone()));
        assert_eq!(a.hash().len(), 64);
        assert_ne!(a.hash(), b.hash());
    }

    #[test]
    fn malformed_refresh_tokens_are_refused() {
        let good = RefreshTokenValue::generate().into_string();
        assert!(RefreshTokenValue::parse(&good[1..]).is_none());
        assert!(RefreshTokenValue::parse(&format!("{good}x")).is_none());
        assert!(RefreshTokenValue::parse(&good.replace("tsr_", "tsx_")).is_none());
        assert!(RefreshTokenValue::parse(&format!("tsr_{}", "!".repeat(43))).is_none());
        assert!(RefreshTokenValue::parse("").is_none());
    }

    #[test]
    fn debug_never_prints_the_value() {
        let t = RefreshTokenValue::generate();
        assert!(!format!("{t:?}").contains(&t.expose()[4..]));
        let s = ClientSecret::generate();
        assert!(!format!("{s:?}").contains(&s.expose()[4..]));
    }

    #[test]
    fn secret_hash_is_sha256() {
        assert_eq!(
            hash_presented_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
