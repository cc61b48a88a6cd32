#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Property-based fuzzing of every parser that sees untrusted input: each takes any
//! input without panicking, accepts only what its rule allows, and gives back what it
//! accepted. 256 cases a property by default (CI); run longer by hand with
//! `PROPTEST_CASES=100000 cargo test -p tessera-server --test parsers`. A failure prints
//! the smallest input that shows it: add that as a regression case below.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use proptest::prelude::*;

use tessera_server::api::json::duplicate_key;
use tessera_server::config::{Overrides, Settings};
use tessera_server::crypto::jwt::{self, AccessClaims};
use tessera_server::crypto::keys::{KeyRing, SigningAlg, StoredKey, generate};
use tessera_server::domain::{
    ClientId, CodeChallenge, CodeVerifier, Origin, RedirectUri, RefreshTokenValue, Scope, Username,
};
use tessera_server::web::cookies;

/// Any string, weighted towards the characters parsers care about.
fn untrusted() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,200}",
        "[A-Za-z0-9._~+/=:@%#?&-]{0,150}",
        "(https?|ftp|javascript|data)://[A-Za-z0-9.:@\\[\\]_-]{0,40}(/[ -~]{0,40})?",
    ]
}

proptest! {
    #[test]
    fn refresh_tokens_accept_only_their_own_shape(s in untrusted()) {
        if let Some(t) = RefreshTokenValue::parse(&s) {
            prop_assert_eq!(t.expose(), s.as_str());
            prop_assert_eq!(s.len(), 47);
            prop_assert!(s.starts_with("tsr_"));
        }
    }

    #[test]
    fn a_changed_refresh_token_is_another_token(i in 0usize..47, c in "[A-Za-z0-9_-]") {
        let t = RefreshTokenValue::generate();
        let mut s = t.expose().to_owned();
        s.replace_range(i..=i, &c);
        match RefreshTokenValue::parse(&s) {
            Some(other) if s != t.expose() => prop_assert_ne!(other.hash(), t.hash()),
            Some(_) => {}
            None => prop_assert!(i < 4, "only a changed prefix is refused"),
        }
    }

    #[test]
    fn pkce_verifiers_and_challenges(s in untrusted()) {
        if CodeVerifier::parse(&s).is_ok() {
            prop_assert!((43..=128).contains(&s.len()));
            prop_assert!(s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)));
        }
        if let Ok(c) = CodeChallenge::parse(&s) {
            prop_assert_eq!(c.as_str().len(), 43);
        }
    }

    #[test]
    fn a_challenge_is_met_by_its_verifier_alone(v in "[A-Za-z0-9._~-]{43,128}", w in "[A-Za-z0-9._~-]{43,128}") {
        use sha2::Digest as _;
        let challenge = CodeChallenge::parse(&B64.encode(sha2::Sha256::digest(v.as_bytes()))).unwrap();
        prop_assert!(challenge.is_met_by(&CodeVerifier::parse(&v).unwrap()));
        if v != w {
            prop_assert!(!challenge.is_met_by(&CodeVerifier::parse(&w).unwrap()));
        }
    }

    #[test]
    fn redirect_uris_are_absolute_http_s_without_fragment_or_user(s in untrusted()) {
        if let Ok(r) = RedirectUri::parse(&s) {
            prop_assert_eq!(r.as_str(), s.as_str());
            prop_assert!(s.len() <= RedirectUri::MAX_LEN);
            let u = url::Url::parse(&s).unwrap();
            prop_assert!(u.scheme() == "https" || (u.scheme() == "http" && tessera_server::domain::is_loopback(&u)));
            prop_assert!(u.fragment().is_none() && !s.contains('#'));
            prop_assert!(u.username().is_empty() && u.password().is_none());
            prop_assert!(!s.chars().any(|c| c.is_whitespace() || c.is_control()));
        }
    }

    #[test]
    fn origins_are_exactly_scheme_host_port(s in untrusted()) {
        if let Ok(o) = Origin::parse(&s) {
            prop_assert_eq!(o.as_str(), s.as_str());
            prop_assert_eq!(url::Url::parse(&s).unwrap().origin().ascii_serialization(), s);
        }
    }

    #[test]
    fn scopes_round_trip(s in untrusted()) {
        if let Ok(scope) = Scope::parse(&s) {
            let again = Scope::parse(&scope.to_string()).unwrap();
            prop_assert_eq!(&again, &scope);
            prop_assert!(scope.iter().all(|t| !t.is_empty() && !t.contains(' ')));
        }
    }

    #[test]
    fn names_and_client_ids(s in untrusted()) {
        if let Ok(u) = Username::parse(&s) {
            prop_assert_eq!(u.as_str(), s.as_str());
            prop_assert!(!s.chars().any(|c| c.is_whitespace() || c.is_control()));
        }
        if ClientId::parse(&s).is_ok() {
            prop_assert!(!s.is_empty() && s.len() <= 128 && s.is_ascii());
        }
    }

    #[test]
    fn cookie_headers(header in untrusted(), value in "[A-Za-z0-9_-]{1,60}") {
        let kind = cookies::Kind::RefreshToken { client_id: "spa" };
        let req = |h: &str| poem::Request::builder().header("cookie", h).finish();
        // Anything reads without a panic; a well-formed cookie among junk is found.
        let _ = cookies::read(&req(&header), kind, true);
        let junk: String = header.chars().filter(|c| c.is_ascii_graphic() && *c != ';').collect();
        let sent = format!("{junk}; {}={value}", kind.name(true));
        if junk.contains('=') && !junk.contains(&kind.name(true)) {
            prop_assert_eq!(cookies::read(&req(&sent), kind, true), Some(value));
        }
    }

    #[test]
    fn json_duplicate_keys(keys in proptest::collection::btree_set("[a-z]{1,6}", 1..8), dup in any::<prop::sample::Index>(), junk in any::<Vec<u8>>()) {
        let _ = duplicate_key(&junk);
        let keys: Vec<_> = keys.into_iter().collect();
        let object = |ks: &[String]| format!("{{{}}}", ks.iter().map(|k| format!("\"{k}\": [{{\"{k}\": 1}}]")).collect::<Vec<_>>().join(", "));
        prop_assert_eq!(duplicate_key(object(&keys).as_bytes()), None);
        let mut twice = keys.clone();
        twice.push(keys[dup.index(keys.len())].clone());
        prop_assert!(duplicate_key(object(&twice).as_bytes()).is_some());
        // Nested a level down, too.
        let nested = format!("{{\"outer\": {}}}", object(&twice));
        prop_assert!(duplicate_key(nested.as_bytes()).is_some());
    }

    #[test]
    fn config_files(body in prop_oneof![untrusted(), "([a-z_]{1,20} = ([0-9]{1,12}|\"[ -~]{0,20}\"|true|\\[\\])\n){1,5}"]) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tessera.toml");
        std::fs::write(&path, &body).unwrap();
        // Settings or a message; a loaded setting always passes validation.
        if let Ok(s) = Settings::load(Some(&path), &Overrides::default()) {
            prop_assert!(s.validate().is_ok());
        }
    }
}

const ISS: &str = "http://127.0.0.1:8080";

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

fn claims(now_s: i64) -> AccessClaims {
    AccessClaims {
        iss: ISS.into(),
        sub: "alice".into(),
        aud: ISS.into(),
        exp: now_s + 300,
        iat: now_s,
        jti: "j".into(),
        client_id: "c".into(),
        scope: "read".into(),
        sid: None,
        nbf: None,
    }
}

/// Any JSON value, shallow.
fn json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[ -~]{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z]{1,5}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: ProptestConfig::default().cases.div_ceil(2), ..ProptestConfig::default() })]

    /// Tokens signed with the server's own key but with any header and claims: never a
    /// panic, and whatever is accepted meets every rule.
    #[test]
    fn jwts_signed_with_any_header_and_claims(
        header_extra in proptest::collection::btree_map(
            prop_oneof![
                prop::sample::select(vec!["crit", "jku", "jwk", "x5u", "x5c", "kid", "typ", "alg"]).prop_map(str::to_owned),
                "[a-z]{1,5}",
            ],
            json(), 0..4),
        alg in prop_oneof![Just("ES256"), Just("RS256"), Just("HS256"), Just("none"), Just("EdDSA")],
        typ in prop_oneof![Just(Some("at+jwt")), Just(Some("JWT")), Just(None)],
        claim_edits in proptest::collection::btree_map(
            prop_oneof![
                prop::sample::select(vec!["iss", "aud", "exp", "iat", "nbf", "sub", "scope"]).prop_map(str::to_owned),
                "[a-z]{1,5}",
            ],
            json(), 0..4),
        junk in untrusted(),
    ) {
        let ring = ring();
        let now_ms = 1_700_000_000_000;
        let key = ring.signing_key(now_ms).unwrap();
        let mut header = serde_json::json!({"alg": alg, "kid": key.kid});
        if let Some(t) = typ { header["typ"] = t.into(); }
        for (k, v) in header_extra { header[k] = v; }
        let mut body = serde_json::to_value(claims(now_ms / 1000)).unwrap();
        for (k, v) in claim_edits { body[k] = v; }
        let message = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(body.to_string())
        );
        let token = format!("{message}.{}", B64.encode(key.signer.sign(message.as_bytes()).unwrap()));
        let _ = jwt::verify(&ring, &junk, ISS, ISS, now_ms);
        if let Ok(c) = jwt::verify(&ring, &token, ISS, ISS, now_ms) {
            let now = now_ms / 1000;
            prop_assert_eq!(&header["alg"], "ES256");
            prop_assert_eq!(&header["typ"], "at+jwt");
            prop_assert_eq!(&header["kid"], key.kid.as_str());
            prop_assert_eq!(c.iss.as_str(), ISS);
            prop_assert_eq!(c.aud.as_str(), ISS);
            prop_assert!(c.exp > now);
            prop_assert!(c.iat <= now + 60);
            prop_assert!(c.nbf.is_none_or(|n| n <= now));
            for refused in ["crit", "jku", "jwk", "x5u", "x5c"] {
                prop_assert!(header.get(refused).is_none());
            }
        }
    }

    /// One character of a good token changed anywhere: refused, or (where base64 does
    /// not care about the change) the very same claims.
    #[test]
    fn a_tampered_jwt_is_refused(i in any::<prop::sample::Index>(), c in "[A-Za-z0-9_.=-]") {
        let ring = ring();
        let now_ms = 1_700_000_000_000;
        let good = claims(now_ms / 1000);
        let token = jwt::sign(&ring.signing_key(now_ms).unwrap(), &good).unwrap();
        let at = i.index(token.len());
        let mut bad = token.clone();
        bad.replace_range(at..=at, &c);
        if let Ok(got) = jwt::verify(&ring, &bad, ISS, ISS, now_ms) {
            prop_assert_eq!(serde_json::to_value(got).unwrap(), serde_json::to_value(&good).unwrap());
        }
    }
}
