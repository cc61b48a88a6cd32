//! Password and client-credentials grants, client authentication, users' state.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::Value;
use tessera_tests::{ADMIN_PASSWORD, Auth, ClientSpec, spawn_app, spawn_app_with};

/// Verifies an access token with the keys the server publishes, as a resource server would.
pub async fn verify_with_jwks(app: &tessera_tests::TestApp, token: &str) -> Value {
    let jwks: JwkSet =
        serde_json::from_value(app.get_json("/.well-known/jwks.json").await).unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let kid = header.kid.expect("kid");
    let jwk = jwks.find(&kid).expect("kid is published");
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut v = Validation::new(header.alg);
    v.set_issuer(&[&app.base]);
    v.set_audience(&[&app.base]);
    jsonwebtoken::decode::<Value>(token, &key, &v)
        .expect("signature and claims verify")
        .claims
}

#[tokio::test]
async fn password_grant_issues_verifiable_tokens() {
    let app = spawn_app().await;
    let user_id = app.add_user("alice", "alice-password", false).await;
    app.add_client(ClientSpec::public("web")).await;

    let a = app
        .login(Auth::Public("web"), "alice", "alice-password")
        .await;
    a.assert_ok();
    assert_eq!(a.headers["cache-control"], "no-store");
    assert_eq!(a.headers["pragma"], "no-cache");
    assert_eq!(a.str("token_type"), "Bearer");
    assert_eq!(a.body["expires_in"], 300);
    assert_eq!(a.str("scope"), "read write");
    let rt = a.str("refresh_token");
    assert!(rt.starts_with("tsr_") && rt.len() == 47, "{rt}");

    let claims = verify_with_jwks(&app, a.str("access_token")).await;
    assert_eq!(claims["sub"], user_id.as_str());
    assert_eq!(claims["client_id"], "web");
    assert_eq!(claims["scope"], "read write");
    assert_eq!(claims["iss"], app.base.as_str());
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    let sid = claims["sid"].as_str().expect("sid");
    // The family exists and only the hash of the refresh token is stored.
    let rows = app
        .query(&format!(
            "SELECT token_hash FROM refresh_tokens WHERE family_id = '{sid}'"
        ))
        .await;
    assert_eq!(rows.len(), 1);
    let stored: String = rows[0].try_get("", "token_hash").unwrap();
    assert_ne!(stored, rt);
    assert_eq!(stored.len(), 64);
    app.stop().await;
}

#[tokio::test]
async fn bootstrap_creates_admin_client_user_and_key() {
    let app = spawn_app().await;
    let a = app
        .login(Auth::Public("tessera-admin"), "admin", ADMIN_PASSWORD)
        .await;
    a.assert_ok();
    assert_eq!(a.str("scope"), "admin");
    let jwks: Value = app.get_json("/.well-known/jwks.json").await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["alg"], "ES256");
    assert_eq!(keys[0]["kty"], "EC");
    assert_eq!(keys[0]["crv"], "P-256");
    assert!(keys[0].get("d").is_none(), "no private material");
    app.stop().await;
}

#[tokio::test]
async fn wrong_password_unknown_user_and_disabled_user_are_refused() {
    let app = spawn_app().await;
    let uid = app.add_user("bob", "bob-password", false).await;
    app.add_client(ClientSpec::public("web")).await;

    app.login(Auth::Public("web"), "bob", "nope-nope")
        .await
        .assert_error(400, "invalid_grant");
    let unknown = app
        .login(Auth::Public("web"), "nobody", "bob-password")
        .await;
    unknown.assert_error(400, "invalid_grant");
    assert_eq!(
        unknown.body["error_description"],
        app.login(Auth::Public("web"), "bob", "wrong-again")
            .await
            .body["error_description"],
        "unknown and known users get the same answer"
    );

    let ok = app.login(Auth::Public("web"), "bob", "bob-password").await;
    ok.assert_ok();
    let now = app.clock.now_ms();
    // Only the flag, as a failed second step of "disable, then end sessions" would
    // leave it: the flag alone must stop sign-in and refresh.
    tessera_server::store::users::set_disabled(&app.state().db.write, &uid, true, now)
        .await
        .unwrap();
    app.login(Auth::Public("web"), "bob", "bob-password")
        .await
        .assert_error(400, "invalid_grant");
    app.refresh(Auth::Public("web"), ok.str("refresh_token"))
        .await
        .assert_error(400, "invalid_grant");

    let failed = app
        .query("SELECT reason FROM audit_events WHERE kind = 'login_failed' ORDER BY id")
        .await;
    let reasons: Vec<String> = failed
        .iter()
        .map(|r| r.try_get("", "reason").unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "bad_password",
            "unknown_user",
            "bad_password",
            "user_disabled"
        ]
    );
    app.stop().await;
}

#[tokio::test]
async fn client_authentication_methods() {
    let app = spawn_app().await;
    app.add_user("carol", "carol-password", false).await;
    let secret = app
        .add_client(ClientSpec::confidential("svc"))
        .await
        .unwrap();
    let login = [
        ("grant_type", "password"),
        ("username", "carol"),
        ("password", "carol-password"),
    ];

    app.token(Auth::Basic("svc", &secret), &login)
        .await
        .assert_ok();
    app.token(Auth::Post("svc", &secret), &login)
        .await
        .assert_ok();

    let wrong = app
        .token(Auth::Basic("svc", "tsc_wrong_secret_value"), &login)
        .await;
    wrong.assert_error(401, "invalid_client");
    assert!(
        wrong.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    let wrong = app
        .token(Auth::Post("svc", "tsc_wrong_secret_value"), &login)
        .await;
    wrong.assert_error(401, "invalid_client");
    assert!(wrong.headers.get("www-authenticate").is_none());
    app.token(Auth::Basic("ghost", &secret), &login)
        .await
        .assert_error(401, "invalid_client");
    // A confidential client must authenticate.
    app.token(Auth::Public("svc"), &login)
        .await
        .assert_error(401, "invalid_client");
    // No client at all.
    let resp = app
        .http
        .post(app.url("/oauth/token"))
        .form(&login)
        .send()
        .await
        .unwrap();
    tessera_tests::TestApp::answer(resp)
        .await
        .assert_error(401, "invalid_client");
    // Two methods at once.
    let resp = app
        .http
        .post(app.url("/oauth/token"))
        .basic_auth("svc", Some(&secret))
        .form(&[
            login[0],
            login[1],
            login[2],
            ("client_secret", secret.as_str()),
        ])
        .send()
        .await
        .unwrap();
    tessera_tests::TestApp::answer(resp)
        .await
        .assert_error(400, "invalid_request");
    // A Bearer header is not client authentication.
    let resp = app
        .http
        .post(app.url("/oauth/token"))
        .bearer_auth("whatever")
        .form(&[login[0], login[1], login[2], ("client_id", "svc")])
        .send()
        .await
        .unwrap();
    tessera_tests::TestApp::answer(resp)
        .await
        .assert_error(401, "invalid_client");
    app.stop().await;
}

#[tokio::test]
async fn grant_and_scope_restrictions() {
    let app = spawn_app().await;
    app.add_user("dave", "dave-password", false).await;
    app.add_client(ClientSpec {
        grants: "refresh_token",
        ..ClientSpec::public("narrow")
    })
    .await;
    app.add_client(ClientSpec::public("web")).await;
    app.login(Auth::Public("narrow"), "dave", "dave-password")
        .await
        .assert_error(400, "unauthorized_client");
    app.token(
        Auth::Public("web"),
        &[
            ("grant_type", "password"),
            ("username", "dave"),
            ("password", "dave-password"),
            ("scope", "read delete"),
        ],
    )
    .await
    .assert_error(400, "invalid_scope");
    let a = app
        .token(
            Auth::Public("web"),
            &[
                ("grant_type", "password"),
                ("username", "dave"),
                ("password", "dave-password"),
                ("scope", "read"),
            ],
        )
        .await;
    a.assert_ok();
    assert_eq!(a.str("scope"), "read");
    // A non-admin cannot get the admin scope through the admin client.
    app.token(
        Auth::Public("tessera-admin"),
        &[
            ("grant_type", "password"),
            ("username", "dave"),
            ("password", "dave-password"),
            ("scope", "admin"),
        ],
    )
    .await
    .assert_error(400, "invalid_scope");
    // Nor any token at all: that client signs in administrators only.
    let a = app
        .login(Auth::Public("tessera-admin"), "dave", "dave-password")
        .await;
    a.assert_error(400, "invalid_scope");
    assert!(
        a.body["error_description"]
            .as_str()
            .unwrap()
            .contains("administrators only")
    );
    let families = app
        .query("SELECT id FROM refresh_families WHERE client_id = 'tessera-admin'")
        .await;
    assert!(families.is_empty(), "{} families", families.len());
    app.stop().await;
}

#[tokio::test]
async fn client_credentials_grant() {
    let app = spawn_app().await;
    let secret = app
        .add_client(ClientSpec {
            grants: "client_credentials",
            scope: "jobs",
            access_ttl: Some(60),
            ..ClientSpec::confidential("worker")
        })
        .await
        .unwrap();
    let a = app
        .token(
            Auth::Basic("worker", &secret),
            &[("grant_type", "client_credentials")],
        )
        .await;
    a.assert_ok();
    assert!(a.body.get("refresh_token").is_none());
    assert_eq!(a.body["expires_in"], 60);
    let claims = verify_with_jwks(&app, a.str("access_token")).await;
    assert_eq!(claims["sub"], "worker");
    assert_eq!(claims["scope"], "jobs");
    assert!(claims.get("sid").is_none());
    // A public client cannot use it.
    app.add_client(ClientSpec {
        grants: "client_credentials",
        ..ClientSpec::public("pub")
    })
    .await;
    app.token(Auth::Public("pub"), &[("grant_type", "client_credentials")])
        .await
        .assert_error(400, "unauthorized_client");
    app.stop().await;
}

#[tokio::test]
async fn production_argon2_cost_works_and_is_stored() {
    let app = spawn_app_with(|s| s.argon2 = Default::default()).await;
    app.add_user("erin", "erin-password", false).await;
    app.add_client(ClientSpec::public("web")).await;
    app.login(Auth::Public("web"), "erin", "erin-password")
        .await
        .assert_ok();
    let rows = app
        .query("SELECT password_hash FROM users WHERE username = 'erin'")
        .await;
    let phc: String = rows[0].try_get("", "password_hash").unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    app.stop().await;
}

#[tokio::test]
async fn saturated_hashing_answers_503_with_retry_after() {
    let app = spawn_app_with(|s| {
        s.argon2 = Default::default();
        s.hash_concurrency = Some(1);
        s.hash_queue = 1;
    })
    .await;
    // Twelve different users, so the per-user throttle stays out of the picture.
    for i in 0..12 {
        app.add_user(&format!("frank{i}"), "frank-password", false)
            .await;
    }
    app.add_client(ClientSpec::public("web")).await;
    let names: Vec<String> = (0..12).map(|i| format!("frank{i}")).collect();
    let attempts = names
        .iter()
        .map(|n| app.login(Auth::Public("web"), n, "frank-password"));
    let answers = futures::future::join_all(attempts).await;
    let ok = answers.iter().filter(|a| a.status == 200).count();
    let busy: Vec<_> = answers.iter().filter(|a| a.status == 503).collect();
    assert!(ok >= 1, "some logins succeed");
    assert!(
        !busy.is_empty(),
        "an overloaded hasher refuses instead of queueing forever"
    );
    for b in &busy {
        assert_eq!(b.error(), "temporarily_unavailable");
        assert_eq!(b.headers["retry-after"], "1");
    }
    assert_eq!(ok + busy.len(), answers.len());
    app.stop().await;
}

/// A flood of sign-ins with the right password for one name: the ones shed for load get
/// 503, are answered before any table is touched, and count against no one, so the owner
/// is never told "too many failed sign-ins" for having been refused by a busy server.
#[tokio::test]
async fn sign_ins_shed_for_load_do_not_count_against_the_name() {
    let app = spawn_app_with(|s| {
        s.argon2 = Default::default();
        s.hash_concurrency = Some(1);
        s.hash_queue = 0;
    })
    .await;
    app.add_user("grace", "grace-password", false).await;
    app.add_client(ClientSpec::public("web")).await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let attempts = (0..20).map(|_| app.login(Auth::Public("web"), "grace", "grace-password"));
        for a in futures::future::join_all(attempts).await {
            match a.status.as_u16() {
                200 => {}
                503 => assert_eq!(a.headers["retry-after"], "1"),
                other => panic!("{other}: {}", a.body),
            }
            statuses.push(a.status.as_u16());
        }
    }
    assert!(statuses.contains(&503), "the hasher was never saturated");
    // Every attempt shed for load left no row: at most the admitted ones were counted,
    // and each success cleared its count.
    let rows = app
        .query("SELECT failures FROM login_throttle WHERE key LIKE 'user:%'")
        .await;
    assert!(rows.is_empty(), "{} throttle rows", rows.len());
    app.login(Auth::Public("web"), "grace", "grace-password")
        .await
        .assert_ok();
    app.stop().await;
}

/// The token endpoint authenticates clients from a cache up to a second old, so another
/// instance or the CLI may disable a client that this one still holds. A new family
/// re-reads the client in its own transaction: the cached row gets no session.
#[tokio::test]
async fn a_client_disabled_elsewhere_gets_no_new_family_from_a_cached_row() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password", false).await;
    app.add_client(ClientSpec::public("web")).await;
    // Authenticates the client (it is cached now) and fails on the token.
    let r = app
        .oauth_post(
            "/oauth/token",
            Auth::Public("web"),
            &[("grant_type", "refresh_token"), ("refresh_token", "tsr_x")],
        )
        .await;
    assert_eq!(r.str("error"), "invalid_grant", "{}", r.body);
    // Disabled behind this instance's back, as by another instance: no cache drop.
    app.query("UPDATE clients SET disabled = true WHERE client_id = 'web'")
        .await;
    let a = app
        .login(Auth::Public("web"), "alice", "alice-password")
        .await;
    assert_eq!(a.status.as_u16(), 401, "{}", a.body);
    assert_eq!(a.str("error"), "invalid_client");
    let families = app.query("SELECT id FROM refresh_families").await;
    assert!(families.is_empty(), "{} families", families.len());
}
