//! Forged and malformed access tokens, end to end: every one is refused by the admin
//! API's bearer check (401), by `/me` (401) and by introspection (`active: false`). The
//! forgeries signed with the server's real key show that each check stands on its own,
//! not only the signature.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use reqwest::Method;
use serde_json::{Value, json};
use tessera_tests::{Auth, ClientSpec, TestApp, spawn_app};

/// Signs any header and payload with the server's current signing key.
fn signed_by_server(app: &TestApp, header: &Value, payload: &Value) -> String {
    let now = app.clock.now_ms();
    let key = app.state().keys().signing_key(now).unwrap();
    let mut t = B64.encode(header.to_string());
    t.push('.');
    t.push_str(&B64.encode(payload.to_string()));
    let sig = key.signer.sign(t.as_bytes()).unwrap();
    format!("{t}.{}", B64.encode(sig))
}

fn hs256(secret: &[u8], header: &Value, payload: &Value) -> String {
    let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    h.kid = header["kid"].as_str().map(str::to_owned);
    h.typ = Some("at+jwt".into());
    jsonwebtoken::encode(&h, payload, &jsonwebtoken::EncodingKey::from_secret(secret)).unwrap()
}

fn part(token: &str, i: usize) -> Value {
    let p = token.split('.').nth(i).unwrap();
    serde_json::from_slice(&B64.decode(p).unwrap()).unwrap()
}

#[tokio::test]
async fn forged_and_malformed_tokens_are_refused_everywhere() {
    let app = spawn_app().await;
    let rs_secret = app
        .add_client(ClientSpec {
            grants: "client_credentials",
            ..ClientSpec::confidential("rs")
        })
        .await
        .unwrap();
    // An RS256 key signs from now on, so HS/RS confusion with its public key is tried.
    let admin = app.admin_token().await;
    let r = app
        .send_bearer(
            Method::POST,
            "/admin/v1/keys/rotate",
            &admin,
            Some(json!({"alg": "RS256"})),
        )
        .await;
    r.assert_ok();
    let prepublish = app.state().settings.prepublish_secs() as u64;
    app.clock
        .advance(std::time::Duration::from_secs(prepublish + 1));
    app.state().reload_keys().await.unwrap();
    let genuine = app.admin_token().await;
    let header = part(&genuine, 0);
    let payload = part(&genuine, 1);
    assert_eq!(header["alg"], "RS256");
    let jwks: Value = app.get_json("/.well-known/jwks.json").await;
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .unwrap()
        .clone();
    let modulus = B64.decode(jwk["n"].as_str().unwrap()).unwrap();

    let with = |base: &Value, changes: Value| {
        let mut v = base.clone();
        for (k, val) in changes.as_object().unwrap() {
            if val.is_null() {
                v.as_object_mut().unwrap().remove(k);
            } else {
                v[k] = val.clone();
            }
        }
        v
    };
    let now = app.clock.now_ms() / 1000;
    let (h, p) = (&header, &payload);
    let sig = genuine.rsplit('.').next().unwrap();
    let mut cases: Vec<(&str, String)> = vec![
        (
            "alg none, no signature",
            format!(
                "{}.{}.",
                B64.encode(with(h, json!({"alg": "none"})).to_string()),
                B64.encode(p.to_string())
            ),
        ),
        (
            "alg none, the genuine signature",
            format!(
                "{}.{}.{sig}",
                B64.encode(with(h, json!({"alg": "none"})).to_string()),
                B64.encode(p.to_string())
            ),
        ),
        (
            "HS256 keyed with the public JWK",
            hs256(jwk.to_string().as_bytes(), h, p),
        ),
        ("HS256 keyed with the modulus", hs256(&modulus, h, p)),
        (
            "tampered payload",
            format!(
                "{}.{}.{sig}",
                genuine.split('.').next().unwrap(),
                B64.encode(with(p, json!({"sub": "someone-else"})).to_string())
            ),
        ),
        ("truncated", genuine[..genuine.len() - 10].to_owned()),
        ("two parts", genuine.rsplit_once('.').unwrap().0.to_owned()),
        ("oversized", format!("{genuine}{}", "A".repeat(20_000))),
        ("not base64", "!!!.???.***".to_owned()),
    ];
    // Signed with the real key, each wrong in one way.
    for (name, hc, pc) in [
        ("no kid", json!({"kid": null}), json!({})),
        ("unknown kid", json!({"kid": "no-such-key"}), json!({})),
        ("injected kid", json!({"kid": "' OR 1=1 --"}), json!({})),
        (
            "path kid",
            json!({"kid": "../../../../etc/passwd"}),
            json!({}),
        ),
        ("typ JWT", json!({"typ": "JWT"}), json!({})),
        ("no typ", json!({"typ": null}), json!({})),
        (
            "jku header",
            json!({"jku": "https://evil.example/jwks.json"}),
            json!({}),
        ),
        (
            "x5u header",
            json!({"x5u": "https://evil.example/cert.pem"}),
            json!({}),
        ),
        ("jwk header", json!({"jwk": jwk.clone()}), json!({})),
        ("crit header", json!({"crit": ["exp"]}), json!({})),
        (
            "alg ES256 on an RS256 key",
            json!({"alg": "ES256"}),
            json!({}),
        ),
        ("expired", json!({}), json!({"exp": now - 1})),
        ("not yet valid", json!({}), json!({"nbf": now + 3600})),
        (
            "issued in the future",
            json!({}),
            json!({"iat": now + 3600}),
        ),
        (
            "wrong iss",
            json!({}),
            json!({"iss": "https://evil.example"}),
        ),
        (
            "wrong aud",
            json!({}),
            json!({"aud": "https://evil.example"}),
        ),
        ("no exp", json!({}), json!({"exp": null})),
        ("no sub", json!({}), json!({"sub": null})),
    ] {
        cases.push((name, signed_by_server(&app, &with(h, hc), &with(p, pc))));
    }
    // The baseline: the same signer with nothing changed is accepted, so each refusal
    // above is the change's doing.
    let baseline = signed_by_server(&app, h, p);
    app.send_bearer(Method::GET, "/admin/v1/users", &baseline, None)
        .await
        .assert_ok();
    for (name, token) in &cases {
        let a = app
            .send_bearer(Method::GET, "/admin/v1/users", token, None)
            .await;
        assert_eq!(a.status, 401, "admin API, {name}: {}", a.body);
        assert_eq!(a.error(), "invalid_token", "admin API, {name}");
        let a = app.get_bearer("/me/sessions", token).await;
        assert_eq!(a.status, 401, "/me, {name}: {}", a.body);
        let i = app
            .oauth_post(
                "/oauth/introspect",
                Auth::Basic("rs", &rs_secret),
                &[("token", token)],
            )
            .await;
        if *name == "oversized" {
            // Over the bound on a token parameter: refused as a request.
            i.assert_error(400, "invalid_request");
            continue;
        }
        i.assert_ok();
        assert_eq!(i.body, json!({"active": false}), "introspection, {name}");
    }
    app.stop().await;
}
