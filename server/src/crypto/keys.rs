//! Signing keys: generation, the in-memory key ring, and the published JWKS.
//!
//! Private keys are decoded once when the ring is loaded and kept in memory as ready key
//! pairs ([`KeyPair`]), so signing an access token never parses a key (jsonwebtoken's
//! `encode` would re-read the PKCS#8 document on every call: a third of a signature's cost).

use std::collections::HashMap;
use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

use crate::clock::Millis;

crate::vocabulary! {
    /// The JWS algorithms Tessera signs with.
    pub enum SigningAlg {
        Es256 = "ES256",
        EdDsa = "EdDSA",
        Rs256 = "RS256",
    }
}

impl SigningAlg {
    pub fn jwt_alg(self) -> Algorithm {
        match self {
            SigningAlg::Es256 => Algorithm::ES256,
            SigningAlg::EdDsa => Algorithm::EdDSA,
            SigningAlg::Rs256 => Algorithm::RS256,
        }
    }

    fn key_alg(self) -> KeyAlgorithm {
        match self {
            SigningAlg::Es256 => KeyAlgorithm::ES256,
            SigningAlg::EdDsa => KeyAlgorithm::EdDSA,
            SigningAlg::Rs256 => KeyAlgorithm::RS256,
        }
    }

    /// The signing key from PKCS#8 DER. jsonwebtoken wants RSA keys as PKCS#1, so those
    /// go through its PEM reader, which unwraps PKCS#8.
    fn encoding_key(self, pkcs8: &[u8]) -> Result<EncodingKey, String> {
        match self {
            SigningAlg::Es256 => Ok(EncodingKey::from_ec_der(pkcs8)),
            SigningAlg::EdDsa => Ok(EncodingKey::from_ed_der(pkcs8)),
            SigningAlg::Rs256 => {
                let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.to_vec()));
                EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| e.to_string())
            }
        }
    }
}

/// A private key, parsed once, ready to sign.
pub enum KeyPair {
    Es256(EcdsaKeyPair),
    EdDsa(Ed25519KeyPair),
    Rs256(aws_lc_rs::rsa::KeyPair),
}

impl KeyPair {
    fn from_pkcs8(alg: SigningAlg, der: &[u8]) -> Result<KeyPair, String> {
        let rejected = |e: aws_lc_rs::error::KeyRejected| e.to_string();
        Ok(match alg {
            SigningAlg::Es256 => KeyPair::Es256(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(rejected)?,
            ),
            SigningAlg::EdDsa => {
                KeyPair::EdDsa(Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(rejected)?)
            }
            SigningAlg::Rs256 => {
                KeyPair::Rs256(aws_lc_rs::rsa::KeyPair::from_pkcs8(der).map_err(rejected)?)
            }
        })
    }

    /// The JWS signature of `message` (RFC 7518 §3: ES256 as the fixed-size `R || S`).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, aws_lc_rs::error::Unspecified> {
        match self {
            KeyPair::Es256(k) => Ok(k.sign(&SystemRandom::new(), message)?.as_ref().to_vec()),
            KeyPair::EdDsa(k) => Ok(k.sign(message).as_ref().to_vec()),
            KeyPair::Rs256(k) => {
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(
                    &aws_lc_rs::signature::RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut sig,
                )?;
                Ok(sig)
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key generation failed")]
    Generate,
    #[error("signing key {kid} cannot be decoded: {reason}")]
    Decode { kid: String, reason: String },
    #[error("unknown signing algorithm `{0}`")]
    UnknownAlg(String),
}

/// A freshly generated key pair, before it is stored.
pub struct GeneratedKey {
    pub kid: String,
    pub alg: SigningAlg,
    /// PKCS#8 DER of the private key.
    pub private_der: Vec<u8>,
    pub public_jwk: Jwk,
}

pub fn generate(alg: SigningAlg) -> Result<GeneratedKey, KeyError> {
    let rng = SystemRandom::new();
    let private_der = match alg {
        SigningAlg::Es256 => EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| KeyError::Generate)?
            .as_ref()
            .to_vec(),
        SigningAlg::EdDsa => Ed25519KeyPair::generate_pkcs8v1(&rng)
            .map_err(|_| KeyError::Generate)?
            .as_ref()
            .to_vec(),
        SigningAlg::Rs256 => {
            let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                .map_err(|_| KeyError::Generate)?;
            let der: aws_lc_rs::encoding::Pkcs8V1Der<'static> =
                pair.as_der().map_err(|_| KeyError::Generate)?;
            der.as_ref().to_vec()
        }
    };
    let encoding = alg
        .encoding_key(&private_der)
        .map_err(|_| KeyError::Generate)?;
    let mut public_jwk =
        Jwk::from_encoding_key(&encoding, alg.jwt_alg()).map_err(|_| KeyError::Generate)?;
    let kid = public_jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|_| KeyError::Generate)?;
    public_jwk.common.key_id = Some(kid.clone());
    public_jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    public_jwk.common.key_algorithm = Some(alg.key_alg());
    Ok(GeneratedKey {
        kid,
        alg,
        private_der,
        public_jwk,
    })
}

/// One key as the ring holds it, decoded and ready.
pub struct LoadedKey {
    pub kid: String,
    pub alg: SigningAlg,
    pub signer: KeyPair,
    pub decoding: DecodingKey,
    pub jwk: Jwk,
    pub activate_at: Millis,
    pub retired_at: Option<Millis>,
    pub publish_until: Option<Millis>,
}

/// A stored key, as the store hands it to [`KeyRing::build`].
pub struct StoredKey {
    pub kid: String,
    pub alg: String,
    pub private_der: Vec<u8>,
    pub public_jwk: String,
    pub activate_at: Millis,
    pub retired_at: Option<Millis>,
    pub publish_until: Option<Millis>,
}

impl LoadedKey {
    pub fn from_stored(k: StoredKey) -> Result<Self, KeyError> {
        let alg = SigningAlg::parse(&k.alg).ok_or_else(|| KeyError::UnknownAlg(k.alg.clone()))?;
        let decode_err = |reason: String| KeyError::Decode {
            kid: k.kid.clone(),
            reason,
        };
        let jwk: Jwk =
            serde_json::from_str(&k.public_jwk).map_err(|e| decode_err(e.to_string()))?;
        let decoding = DecodingKey::from_jwk(&jwk).map_err(|e| decode_err(e.to_string()))?;
        let encoding = alg.encoding_key(&k.private_der).map_err(decode_err)?;
        // Make sure the private key matches the published one before signing with it.
        let derived = Jwk::from_encoding_key(&encoding, alg.jwt_alg())
            .map_err(|e| decode_err(e.to_string()))?;
        if derived.algorithm != jwk.algorithm {
            return Err(decode_err(
                "private key does not match the public key".into(),
            ));
        }
        let signer = KeyPair::from_pkcs8(alg, &k.private_der).map_err(decode_err)?;
        Ok(LoadedKey {
            kid: k.kid,
            alg,
            signer,
            decoding,
            jwk,
            activate_at: k.activate_at,
            retired_at: k.retired_at,
            publish_until: k.publish_until,
        })
    }

    /// Usable for signing at `now`: activated and not (yet) retired. A rotation schedules
    /// the old key's retirement for the instant the new key activates.
    pub fn signs_at(&self, now: Millis) -> bool {
        self.activate_at <= now && self.retired_at.is_none_or(|r| now < r)
    }

    /// Published in the JWKS and accepted for verification at `now`: until
    /// `publish_until` when set, else while not retired.
    pub fn verifies_at(&self, now: Millis) -> bool {
        match self.publish_until {
            Some(until) => now < until,
            None => self.retired_at.is_none_or(|r| now < r),
        }
    }
}

/// Every key the server knows, decoded. Rebuilt from the store when keys change (and
/// periodically, to see changes made by other instances or the CLI).
#[derive(Default)]
pub struct KeyRing {
    keys: HashMap<String, Arc<LoadedKey>>,
}

impl KeyRing {
    pub fn build(stored: Vec<StoredKey>) -> Result<Self, KeyError> {
        let mut keys = HashMap::new();
        for k in stored {
            let k = LoadedKey::from_stored(k)?;
            keys.insert(k.kid.clone(), Arc::new(k));
        }
        Ok(KeyRing { keys })
    }

    /// The key to sign with: the most recently activated key that is active at `now`.
    pub fn signing_key(&self, now: Millis) -> Option<Arc<LoadedKey>> {
        self.keys
            .values()
            .filter(|k| k.signs_at(now))
            .max_by(|a, b| a.activate_at.cmp(&b.activate_at).then(a.kid.cmp(&b.kid)))
            .cloned()
    }

    /// The key for a token's `kid`, only while it may still verify.
    pub fn verifying_key(&self, kid: &str, now: Millis) -> Option<Arc<LoadedKey>> {
        self.keys.get(kid).filter(|k| k.verifies_at(now)).cloned()
    }

    /// The published set: active, pending (pre-published) and retired-but-not-expired keys.
    pub fn jwks(&self, now: Millis) -> JwkSet {
        let mut list: Vec<&Arc<LoadedKey>> =
            self.keys.values().filter(|k| k.verifies_at(now)).collect();
        list.sort_by(|a, b| b.activate_at.cmp(&a.activate_at).then(a.kid.cmp(&b.kid)));
        JwkSet {
            keys: list.into_iter().map(|k| k.jwk.clone()).collect(),
        }
    }

    pub fn algs(&self) -> Vec<SigningAlg> {
        let mut algs: Vec<SigningAlg> = self.keys.values().map(|k| k.alg).collect();
        algs.sort_by_key(|a| a.as_str());
        algs.dedup();
        algs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(g: &GeneratedKey, activate_at: Millis) -> StoredKey {
        StoredKey {
            kid: g.kid.clone(),
            alg: g.alg.as_str().into(),
            private_der: g.private_der.clone(),
            public_jwk: serde_json::to_string(&g.public_jwk).unwrap(),
            activate_at,
            retired_at: None,
            publish_until: None,
        }
    }

    #[test]
    fn every_alg_generates_signs_and_verifies() {
        for &alg in SigningAlg::ALL {
            let g = generate(alg).unwrap();
            let k = LoadedKey::from_stored(stored(&g, 0)).unwrap();
            let claims = crate::crypto::jwt::AccessClaims {
                iss: "i".into(),
                sub: "x".into(),
                aud: "a".into(),
                exp: 4_000_000_000,
                iat: 0,
                jti: "j".into(),
                client_id: "c".into(),
                scope: String::new(),
                sid: None,
                nbf: None,
            };
            let token = crate::crypto::jwt::sign(&k, &claims).unwrap();
            // jsonwebtoken, independent of our signing code, accepts the signature.
            let mut v = jsonwebtoken::Validation::new(alg.jwt_alg());
            v.required_spec_claims.clear();
            v.validate_aud = false;
            let back =
                jsonwebtoken::decode::<crate::crypto::jwt::AccessClaims>(&token, &k.decoding, &v)
                    .unwrap();
            assert_eq!(back.claims, claims);
        }
    }

    #[test]
    fn mismatched_private_key_is_refused() {
        let a = generate(SigningAlg::Es256).unwrap();
        let b = generate(SigningAlg::Es256).unwrap();
        let mut s = stored(&a, 0);
        s.private_der = b.private_der;
        assert!(LoadedKey::from_stored(s).is_err());
    }

    #[test]
    fn signing_key_is_newest_active_and_jwks_follows_states() {
        let old = generate(SigningAlg::Es256).unwrap();
        let new = generate(SigningAlg::Es256).unwrap();
        let pending = generate(SigningAlg::Es256).unwrap();
        let mut old_s = stored(&old, 0);
        old_s.retired_at = Some(10);
        old_s.publish_until = Some(200);
        let ring = KeyRing::build(vec![old_s, stored(&new, 10), stored(&pending, 1_000)]).unwrap();
        assert_eq!(ring.signing_key(5).unwrap().kid, old.kid);
        assert_eq!(ring.signing_key(100).unwrap().kid, new.kid);
        assert_eq!(ring.jwks(100).keys.len(), 3);
        assert_eq!(ring.jwks(300).keys.len(), 2);
        assert!(ring.verifying_key(&old.kid, 100).is_some());
        assert!(ring.verifying_key(&old.kid, 300).is_none());
        assert_eq!(ring.signing_key(2_000).unwrap().kid, pending.kid);
    }
}
