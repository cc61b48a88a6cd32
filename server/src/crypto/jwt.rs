//! Access tokens: RFC 9068 JWTs, signed with the ring's active key and verified with the
//! algorithm pinned to the key named by `kid`.

use jsonwebtoken::{Header, Validation};
use serde::{Deserialize, Serialize};

use super::keys::{KeyRing, LoadedKey};
use crate::clock::Millis;

pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Claims of an access token (RFC 9068 §2.2, plus `sid` = refresh family id).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub client_id: String,
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Not before (seconds). Tessera never sets it; a token that carries one in the
    /// future is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

/// How far a token's `iat` may be ahead of this server's clock (another instance's clock
/// may run a little fast).
const MAX_CLOCK_SKEW_SECS: i64 = 60;

#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("no active signing key")]
    NoSigningKey,
    #[error("signing failed: {0}")]
    Sign(String),
    #[error("token is not valid")]
    Invalid,
}

/// The JWS compact serialization (RFC 7515 §7.1) of the claims, signed with the key's
/// parsed key pair.
pub fn sign(key: &LoadedKey, claims: &AccessClaims) -> Result<String, JwtError> {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    let mut header = Header::new(key.alg.jwt_alg());
    header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
    header.kid = Some(key.kid.clone());
    let fault = |e: serde_json::Error| JwtError::Sign(e.to_string());
    let mut token = B64.encode(serde_json::to_vec(&header).map_err(fault)?);
    token.push('.');
    B64.encode_string(serde_json::to_vec(claims).map_err(fault)?, &mut token);
    let signature = key
        .signer
        .sign(token.as_bytes())
        .map_err(|_| JwtError::Sign("the key refused to sign".into()))?;
    token.push('.');
    B64.encode_string(signature, &mut token);
    Ok(token)
}

/// Verifies signature, `typ`, `iss`, `aud` and expiry. The algorithm is the one of the key
/// named by `kid`, never the one the token claims: `alg: none`, HS/RS confusion and
/// unknown or retired keys all fail.
pub fn verify(
    ring: &KeyRing,
    token: &str,
    issuer: &str,
    audience: &str,
    now: Millis,
) -> Result<AccessClaims, JwtError> {
    if token.len() > 8 * 1024 {
        return Err(JwtError::Invalid);
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| JwtError::Invalid)?;
    // Tessera's tokens name their key by `kid` alone. A header that points elsewhere for
    // a key (`jku`, `jwk`, `x5u`, `x5c`) or asks for an extension (`crit`, which must be
    // understood: RFC 7515 §4.1.11) is not one of ours.
    if header.crit.is_some()
        || header.jku.is_some()
        || header.jwk.is_some()
        || header.x5u.is_some()
        || header.x5c.is_some()
    {
        return Err(JwtError::Invalid);
    }
    let kid = header.kid.as_deref().ok_or(JwtError::Invalid)?;
    let key = ring.verifying_key(kid, now).ok_or(JwtError::Invalid)?;
    if header.alg != key.alg.jwt_alg() || header.typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
        return Err(JwtError::Invalid);
    }
    let mut validation = Validation::new(key.alg.jwt_alg());
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    // Expiry is checked against the injected clock below, not the wall clock.
    validation.validate_exp = false;
    validation.leeway = 0;
    let data = jsonwebtoken::decode::<AccessClaims>(token, &key.decoding, &validation)
        .map_err(|_| JwtError::Invalid)?;
    let now_secs = now.div_euclid(1000);
    let c = &data.claims;
    if c.exp <= now_secs
        || c.iat > now_secs + MAX_CLOCK_SKEW_SECS
        || c.nbf.is_some_and(|nbf| nbf > now_secs)
    {
        return Err(JwtError::Invalid);
    }
    Ok(data.claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::keys::{SigningAlg, StoredKey, generate};
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn ring() -> KeyRing {
        let g = generate(SigningAlg::Es256).unwrap();
        KeyRing::build(vec![StoredKey {
            kid: g.kid,
            alg: "ES256".into(),
            private_der: g.private_der,
            public_jwk: serde_json::to_string(&g.public_jwk).unwrap(),
            activate_at: 0,
            retired_at: None,
            publish_until: None,
        }])
        .unwrap()
    }

    fn claims(exp: i64) -> AccessClaims {
        AccessClaims {
            iss: "https://issuer".into(),
            sub: "user".into(),
            aud: "https://issuer".into(),
            exp,
            iat: 0,
            jti: "j".into(),
            client_id: "c".into(),
            scope: "".into(),
            sid: None,
            nbf: None,
        }
    }

    #[test]
    fn round_trip_and_expiry() {
        let ring = ring();
        let key = ring.signing_key(0).unwrap();
        let t = sign(&key, &claims(100)).unwrap();
        assert!(verify(&ring, &t, "https://issuer", "https://issuer", 99_000).is_ok());
        assert!(verify(&ring, &t, "https://issuer", "https://issuer", 100_000).is_err());
        assert!(verify(&ring, &t, "https://other", "https://issuer", 0).is_err());
        assert!(verify(&ring, &t, "https://issuer", "https://other", 0).is_err());
    }

    #[test]
    fn alg_none_and_tampering_are_refused() {
        let ring = ring();
        let key = ring.signing_key(0).unwrap();
        let t = sign(&key, &claims(100)).unwrap();
        let parts: Vec<&str> = t.split('.').collect();
        let none_header = URL_SAFE_NO_PAD
            .encode(format!(r#"{{"alg":"none","typ":"at+jwt","kid":"{}"}}"#, key.kid).as_bytes());
        let forged = format!("{none_header}.{}.", parts[1]);
        assert!(verify(&ring, &forged, "https://issuer", "https://issuer", 0).is_err());
        let hs_header = URL_SAFE_NO_PAD
            .encode(format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{}"}}"#, key.kid).as_bytes());
        let forged = format!("{hs_header}.{}.{}", parts[1], parts[2]);
        assert!(verify(&ring, &forged, "https://issuer", "https://issuer", 0).is_err());
        let mut other = claims(100);
        other.sub = "admin".into();
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&other).unwrap());
        let forged = format!("{}.{body}.{}", parts[0], parts[2]);
        assert!(verify(&ring, &forged, "https://issuer", "https://issuer", 0).is_err());
        assert!(verify(&ring, "garbage", "https://issuer", "https://issuer", 0).is_err());
    }

    /// Signs any header and payload with the ring's key: what a holder of the key (or a
    /// bug of ours) could make.
    fn signed(key: &LoadedKey, header: serde_json::Value, payload: serde_json::Value) -> String {
        let mut t = URL_SAFE_NO_PAD.encode(header.to_string());
        t.push('.');
        t.push_str(&URL_SAFE_NO_PAD.encode(payload.to_string()));
        let sig = key.signer.sign(t.as_bytes()).unwrap();
        format!("{t}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    #[test]
    fn validly_signed_but_unlike_ours_is_refused() {
        let ring = ring();
        let key = ring.signing_key(0).unwrap();
        let header = serde_json::json!({"alg": "ES256", "typ": "at+jwt", "kid": key.kid});
        let payload = serde_json::to_value(claims(100)).unwrap();
        let check = |h: &serde_json::Value, p: &serde_json::Value| {
            verify(
                &ring,
                &signed(&key, h.clone(), p.clone()),
                "https://issuer",
                "https://issuer",
                50_000,
            )
        };
        assert!(check(&header, &payload).is_ok(), "the baseline is valid");
        for (name, value) in [
            ("crit", serde_json::json!(["exp"])),
            ("jku", serde_json::json!("https://evil.example/jwks")),
            ("x5u", serde_json::json!("https://evil.example/cert")),
            ("x5c", serde_json::json!(["MIIB"])),
            ("jwk", serde_json::json!({"kty": "oct", "k": "AAAA"})),
        ] {
            let mut h = header.clone();
            h[name] = value;
            assert!(check(&h, &payload).is_err(), "header {name}");
        }
        let mut h = header.clone();
        h["typ"] = "JWT".into();
        assert!(check(&h, &payload).is_err(), "typ JWT");
        for (name, value) in [
            ("nbf", serde_json::json!(51)),
            ("iat", serde_json::json!(50 + 61)),
            ("exp", serde_json::json!("100")),
            (
                "aud",
                serde_json::json!(["https://issuer", "https://other"]),
            ),
        ] {
            let mut p = payload.clone();
            p[name] = value;
            assert!(check(&header, &p).is_err(), "claim {name}");
        }
        let mut p = payload.clone();
        p["nbf"] = 50.into();
        p["iat"] = (50 + 60).into();
        assert!(
            check(&header, &p).is_ok(),
            "nbf now and iat within the skew"
        );
        let mut p = payload.clone();
        p.as_object_mut().unwrap().remove("sub");
        assert!(check(&header, &p).is_err(), "no sub");
    }
}
