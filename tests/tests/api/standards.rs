//! Revocation, introspection, key rotation and encryption at rest, lockout, metrics, CORS.

use std::time::Duration;

use serde_json::Value;
use tessera_tests::{Answer, Auth, ClientSpec, TestApp, spawn_app, spawn_app_with};

use crate::password::verify_with_jwks;

/// A user `alice`, a public client `web`, and a confidential resource server `api`.
async fn setup(app: &TestApp) -> String {
    app.add_user("alice", "alice-password", false).await;
    app.add_client(ClientSpec::public("web")).await;
    app.add_client(ClientSpec {
        grants: "client_credentials",
        ..ClientSpec::confidential("api")
    })
    .await
    .unwrap()
}

async fn introspect(app: &TestApp, secret: &str, token: &str) -> Value {
    let a = app
        .oauth_post(
            "/oauth/introspect",
            Auth::Basic("api", secret),
            &[("token", token)],
        )
        .await;
    a.assert_ok();
    assert_eq!(a.headers["cache-control"], "no-store");
    a.body
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_family_only() {
    let app = spawn_app().await;
    let secret = setup(&app).await;
    let one = app
        .login(Auth::Public("web"), "alice", "alice-password")
        .await;
    let two = app
        .login(Auth::Public("web"), "alice", "alice-password")
        .await;
    assert_eq!(
        introspect(&app, &secret, one.str("access_token")).await["active"],
        true
    );

    let r = app
        .oauth_post(
            "/oauth/revoke",
            Auth::Public("web"),
            &[
                ("token", one.str("refresh_token")),
                ("token_type_hint", "refresh_token"),
            ],
        )
        .await;
    r.assert_ok();
    app.refresh(Auth::Public("web"), one.str("refresh_token"))
        .await
        .assert_error(400, "invalid_grant");
    // The access token of the revoked family is now inactive, with nothing else said.
    assert_eq!(
        introspect(&app, &secret, one.str("access_token")).await,
        serde_json::json!({"active": false})
    );
    // The other session is untouched.
    app.refresh(Auth::Public("web"), two.str("refresh_token"))
        .await
        .assert_ok();
    let reasons = app
        .query("SELECT revoke_reason FROM refresh_families WHERE revoked_at IS NOT NULL")
        .await;
    assert_eq!(reasons.len(), 1);
    assert_eq!(
        reasons[0].try_get::<String>("", "revoke_reason").unwrap(),
        "logout"
    );
    app.stop().await;
}

#[tokio::test]
async fn revoking_an_access_token_and_odd_revocations() {
    let app = spawn_app().await;
    setup(&app).await;
    let one = app
        .login(Auth::Public("web"), "alice", "alice-password")
        .await;
    app.oauth_post(
        "/oauth/revoke",
        Auth::Public("web"),
        &[("token", one.str("access_token"))],
    )
    .await
    .assert_ok();
    app.refresh(Auth::Public("web"), one.str("refresh_token"))
        .await
        .assert_error(400, "invalid_grant");
    // Unknown and already revoked tokens: 200.
    for t in ["tsr_nope", "garbage", one.str("refresh_token")] {
        app.oauth_post("/oauth/revoke", Auth::Public("web"), &[("token", t)])
            .await
            .assert_ok();
    }
    app.oauth_post("/oauth/revoke", Auth::Public("web"), &[("token", "")])
        .await
        .assert_error(400, "invalid_request");
    app.oauth_post("/oauth/revoke", Auth::Public("web"), &[])
        .await
        .assert_error(400, "invalid_request");
    app.oauth_post("/oauth/revoke", Auth::Public("ghost"), &[("token", "x")])
        .await
        .assert_error(401, "invalid_client");
    // Another client cannot revoke web's session.
    app.add_client(ClientSpec::public("other")).await;
    let two = app
        .login(Auth::Public("web"), "alice", "alice-password")
        .await;
    app.oauth_post(
        "/oauth/revoke",
        Auth::Public("other"),
        &[("token", two.str("refresh_token"))],
    )
    .await
    .assert_ok();
    app.refresh(Auth::Public("web"), two.str("refresh_token"))
        .await
        .assert_ok();
    app.stop().await;
}

#[tokio::test]
async fn introspection_reports_access_and_refresh_tokens() {
    let app = spawn_app().await;
    let secret = setup(&app).await;
    let a = app
        .login(Auth::Public("web"), "alice", "alice-password")
        .await;
    let i = introspect(&app, &secret, a.str("access_token")).await;
    assert_eq!(i["active"], true);
    assert_eq!(i["token_type"], "Bearer");
    assert_eq!(i["client_id"], "web");
    assert_eq!(i["username"], "alice");
    assert_eq!(i["scope"], "read write");
    assert!(i["exp"].is_i64() && i["sid"].is_string());

    // Refresh tokens are reported only to their own client.
    assert_eq!(
        introspect(&app, &secret, a.str("refresh_token")).await["active"],
        false
    );
    let own = app
        .oauth_post(
            "/oauth/introspect",
            Auth::Public("web"),
            &[("token", a.str("refresh_token"))],
        )
        .await;
    own.assert_error(401, "invalid_client");

    for garbage in [
        "x",
        "a.b.c",
        "tsr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        assert_eq!(
            introspect(&app, &secret, garbage).await,
            serde_json::json!({"active": false})
        );
    }
    // An expired access token is inactive.
    app.clock.advance(Duration::from_secs(301));
    assert_eq!(
        introspect(&app, &secret, a.str("access_token")).await["active"],
        false
    );
    app.stop().await;
}

#[tokio::test]
async fn refresh_token_introspection_for_its_own_confidential_client() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password", false).await;
    let secret = app
        .add_client(ClientSpec::confidential("svc"))
        .await
        .unwrap();
    let a = app
        .login(Auth::Basic("svc", &secret), "alice", "alice-password")
        .await;
    let rt = a.str("refresh_token").to_owned();
    let i = app
        .oauth_post(
            "/oauth/introspect",
            Auth::Basic("svc", &secret),
            &[("token", &rt)],
        )
        .await;
    assert_eq!(i.body["active"], true, "{}", i.body);
    assert_eq!(i.body["token_type"], "refresh_token");
    app.refresh(Auth::Basic("svc", &secret), &rt)
        .await
        .assert_ok();
    let i = app
        .oauth_post(
            "/oauth/introspect",
            Auth::Basic("svc", &secret),
            &[("token", &rt)],
        )
        .await;
    assert_eq!(
        i.body,
        serde_json::json!({"active": false}),
        "a spent token is not exchangeable"
    );
    app.stop().await;
}

async fn jwks_kids(app: &TestApp) -> Vec<String> {
    let v: Value = app.get_json("/.well-known/jwks.json").await;
    v["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

fn kid_of(jwt: &str) -> String {
    jsonwebtoken::decode_header(jwt).unwrap().kid.unwrap()
}

#[tokio::test]
async fn key_rotation_prepublishes_then_retires() {
    let app = spawn_app_with(|s| s.key_prepublish = Some(60)).await;
    let secret = setup(&app).await;
    let before = app
        .login(Auth::Public("web"), "alice", "alice-password")
        .await;
    let old_kid = kid_of(before.str("access_token"));
    let state = app.state();
    let new_kid = tessera_server::admin::keys::rotate(
        state,
        &tessera_server::admin::Actor::Cli,
        tessera_server::crypto::keys::SigningAlg::EdDsa,
    )
    .await
    .unwrap()
    .kid;
    // Published at once, but not signing yet.
    let kids = jwks_kids(&app).await;
    assert!(kids.contains(&old_kid) && kids.contains(&new_kid));
    let during = app
        .login(Auth::Public("web"), "alice", "alice-password")
        .await;
    assert_eq!(kid_of(during.str("access_token")), old_kid);

    // After the pre-publication delay the new key signs; the old one still verifies.
    app.clock.advance(Duration::from_secs(61));
    let after = app
        .login(Auth::Public("web"), "alice", "alice-password")
        .await;
    assert_eq!(kid_of(after.str("access_token")), new_kid);
    assert_eq!(
        jsonwebtoken::decode_header(after.str("access_token"))
            .unwrap()
            .alg,
        jsonwebtoken::Algorithm::EdDSA
    );
    verify_with_jwks(&app, after.str("access_token")).await;
    let during_token = during.str("access_token");
    assert_eq!(
        introspect(&app, &secret, during_token).await["active"],
        true
    );
    assert!(jwks_kids(&app).await.contains(&old_kid));

    // Once every token it signed has expired, the old key leaves the JWKS.
    app.clock.advance(Duration::from_secs(301));
    state.reload_keys().await.unwrap();
    assert_eq!(jwks_kids(&app).await, vec![new_kid.clone()]);
    app.stop().await;
}

#[tokio::test]
async fn a_retired_key_stops_verifying_at_once() {
    let app = spawn_app().await;
    let secret = setup(&app).await;
    let before = app
        .login(Auth::Public("web"), "alice", "alice-password")
        .await;
    let old_kid = kid_of(before.str("access_token"));
    let state = app.state();
    tessera_server::admin::keys::rotate(
        state,
        &tessera_server::admin::Actor::Cli,
        tessera_server::crypto::keys::SigningAlg::Rs256,
    )
    .await
    .unwrap();
    // On PostgreSQL the new key signs once every instance can have published it.
    let prepublish = state.settings.prepublish_secs() as u64;
    app.clock
        .advance(std::time::Duration::from_secs(prepublish));
    let after = app
        .login(Auth::Public("web"), "alice", "alice-password")
        .await;
    assert_ne!(kid_of(after.str("access_token")), old_kid);
    verify_with_jwks(&app, after.str("access_token")).await;
    // Signed before the rotation: still verifies from the JWKS.
    verify_with_jwks(&app, before.str("access_token")).await;
    tessera_server::store::keys::retire_now(&state.db.write, &old_kid, app.clock.now_ms())
        .await
        .unwrap();
    state.reload_keys().await.unwrap();
    assert!(!jwks_kids(&app).await.contains(&old_kid));
    assert_eq!(
        introspect(&app, &secret, before.str("access_token")).await["active"],
        false
    );
    assert_eq!(
        introspect(&app, &secret, after.str("access_token")).await["active"],
        true
    );
    app.stop().await;
}

#[tokio::test]
async fn private_keys_are_encrypted_at_rest_and_need_the_right_kek() {
    let kek_a = "11".repeat(32);
    let kek_b = "22".repeat(32);
    let a = kek_a.clone();
    let app = spawn_app_with(move |s| {
        s.key_encryption_key = Some(tessera_server::config::SecretString(a));
    })
    .await;
    let rows = app.query("SELECT key_encryption FROM signing_keys").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].try_get::<String>("", "key_encryption").unwrap(),
        "A256GCM"
    );
    app.add_client(ClientSpec::public("web")).await;
    app.add_user("alice", "alice-password", false).await;
    app.login(Auth::Public("web"), "alice", "alice-password")
        .await
        .assert_ok();

    let b = kek_b.clone();
    let (err, app) = app
        .restart(move |s| s.key_encryption_key = Some(tessera_server::config::SecretString(b)))
        .await
        .err()
        .expect("the wrong KEK is refused");
    assert!(
        format!("{err:#}").contains("wrong key-encryption key"),
        "{err:#}"
    );
    let (err, app) = app
        .restart(|s| s.key_encryption_key = None)
        .await
        .err()
        .expect("a missing KEK is refused");
    assert!(
        format!("{err:#}").contains("no key-encryption key is configured"),
        "{err:#}"
    );
    let app = app
        .restart(move |s| s.key_encryption_key = Some(tessera_server::config::SecretString(kek_a)))
        .await
        .map_err(|(e, _)| e)
        .expect("the right KEK works");
    app.login(Auth::Public("web"), "alice", "alice-password")
        .await
        .assert_ok();
    app.stop().await;
}

#[tokio::test]
async fn repeated_failures_delay_then_lock_then_expire() {
    let app = spawn_app().await;
    setup(&app).await;
    let web = Auth::Public("web");
    for _ in 0..3 {
        app.login(web, "alice", "wrong-password")
            .await
            .assert_error(400, "invalid_grant");
    }
    // Delayed: even the right password must wait.
    let a = app.login(web, "alice", "alice-password").await;
    assert_eq!(a.status, 429, "{}", a.body);
    assert_eq!(a.error(), "invalid_grant");
    assert_eq!(a.headers["retry-after"], "1");
    // Keep failing, waiting out each delay, until the account locks.
    for _ in 3..10 {
        app.clock.advance(Duration::from_secs(61));
        app.login(web, "alice", "wrong-password")
            .await
            .assert_error(400, "invalid_grant");
    }
    app.clock.advance(Duration::from_secs(61));
    let locked = app.login(web, "alice", "alice-password").await;
    assert_eq!(locked.status, 429);
    let retry: i64 = locked.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 60 && retry <= 900, "{retry}");
    let events = app
        .query("SELECT reason FROM audit_events WHERE kind = 'account_locked'")
        .await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].try_get::<String>("", "reason").unwrap(), "user");
    // Another user from the same address is not affected.
    app.add_user("bob", "bob-password", false).await;
    app.login(web, "bob", "bob-password").await.assert_ok();
    // The lock expires; success resets the count.
    app.clock.advance(Duration::from_secs(901));
    app.login(web, "alice", "alice-password").await.assert_ok();
    app.login(web, "alice", "wrong-password")
        .await
        .assert_error(400, "invalid_grant");
    app.login(web, "alice", "alice-password").await.assert_ok();
    app.stop().await;
}

#[tokio::test]
async fn a_burst_of_concurrent_guesses_cannot_pass_the_lock_threshold() {
    let app = spawn_app().await;
    setup(&app).await;
    let guesses = (0..30).map(|i| {
        let app = &app;
        async move {
            app.login(Auth::Public("web"), "alice", &format!("guess-{i}"))
                .await
        }
    });
    let answers = futures::future::join_all(guesses).await;
    let checked = answers.iter().filter(|a| a.status == 400).count();
    let refused = answers.iter().filter(|a| a.status == 429).count();
    assert_eq!(
        checked + refused,
        30,
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    assert!(
        checked <= 10,
        "at most lock_after guesses are checked, got {checked}"
    );
    // Each guess is counted before it is hashed, and only a name already past
    // `delay_after` failures (3) is delayed: at least that many were really checked.
    assert!(checked >= 3, "only {checked} guesses were checked");
    app.stop().await;
}

/// A password-grant sign-in from a given client address (as told by a proxy).
async fn login_from(app: &TestApp, ip: &str, user: &str, password: &str) -> Answer {
    let req = app
        .http
        .post(app.url("/oauth/token"))
        .header("x-forwarded-for", ip)
        .form(&[
            ("grant_type", "password"),
            ("client_id", "web"),
            ("username", user),
            ("password", password),
        ]);
    TestApp::answer(req.send().await.unwrap()).await
}

/// Ten wrong passwords lock the name from the address they came from, however the name
/// is capitalised; its owner elsewhere still signs in. So no one can lock an account
/// (`admin` included) for everyone by guessing at it.
#[tokio::test]
async fn a_name_locked_from_one_address_still_signs_in_from_another() {
    let app = spawn_app_with(|s| s.trusted_proxy_hops = 1).await;
    setup(&app).await;
    let attacker = "203.0.113.9";
    for i in 0..10 {
        let name = if i % 2 == 0 { "alice" } else { "ALICE" };
        app.clock.advance(Duration::from_secs(61));
        login_from(&app, attacker, name, "wrong-password")
            .await
            .assert_error(400, "invalid_grant");
    }
    app.clock.advance(Duration::from_secs(61));
    let locked = login_from(&app, attacker, "alice", "alice-password").await;
    assert_eq!(locked.status, 429, "{}", locked.body);
    login_from(&app, "198.51.100.7", "alice", "alice-password")
        .await
        .assert_ok();
    // Still locked where the guesses came from, after the owner's success elsewhere.
    let again = login_from(&app, attacker, "alice", "alice-password").await;
    assert_eq!(again.status, 429, "{}", again.body);
    app.stop().await;
}

/// Without trusted proxies, `X-Forwarded-For` is the client's own claim: a guesser who
/// sends a new one with every attempt is still counted at its real address.
#[tokio::test]
async fn a_forged_forwarded_for_is_ignored_without_trusted_proxies() {
    let app = spawn_app().await; // trusted_proxy_hops = 0
    setup(&app).await;
    for i in 0..10 {
        app.clock.advance(Duration::from_secs(61));
        login_from(&app, &format!("192.0.2.{i}"), "alice", "wrong-password")
            .await
            .assert_error(400, "invalid_grant");
    }
    app.clock.advance(Duration::from_secs(61));
    let a = login_from(&app, "192.0.2.200", "alice", "alice-password").await;
    assert_eq!(a.status, 429, "{}", a.body);
    app.stop().await;
}

/// A success clears the name's count: nine failures, a success, nine more failures, and
/// the right password still works, all inside one window (the clock moves only as far
/// as each delay asks).
#[tokio::test]
async fn a_success_resets_the_failure_count() {
    let app = spawn_app().await;
    setup(&app).await;
    let web = Auth::Public("web");
    let nine_failures = || async {
        for _ in 0..9 {
            let a = app.login(web, "alice", "wrong-password").await;
            a.assert_error(400, "invalid_grant");
            app.clock.advance(Duration::from_secs(61));
        }
    };
    nine_failures().await;
    app.login(web, "alice", "alice-password").await.assert_ok();
    // Without the reset, the success counted as the tenth attempt and the next is refused.
    nine_failures().await;
    app.login(web, "alice", "alice-password").await.assert_ok();
    app.stop().await;
}

/// Counters nobody needs any more (no failure within the window, no lock in force) are
/// deleted; the ones still in use stay.
#[tokio::test]
async fn pruning_deletes_only_the_failure_counters_no_longer_needed() {
    let app = spawn_app().await;
    setup(&app).await;
    for name in ["nobody1", "nobody2"] {
        app.login(Auth::Public("web"), name, "wrong-password")
            .await
            .assert_error(400, "invalid_grant");
    }
    let count = || async { app.query("SELECT key FROM login_throttle").await.len() };
    assert_eq!(count().await, 3, "two names and the address");
    let state = app.state();
    let window = state.settings.lockout.window_secs * 1000;
    let pruned = |at| tessera_server::store::throttle::prune(&state.db.write, at, window);
    assert_eq!(pruned(app.clock.now_ms()).await.unwrap(), 0);
    app.clock.advance(Duration::from_secs(100));
    app.login(Auth::Public("web"), "nobody3", "wrong-password")
        .await
        .assert_error(400, "invalid_grant");
    let later = app.clock.now_ms() + window - 50_000;
    assert_eq!(pruned(later).await.unwrap(), 2, "the first two names");
    assert_eq!(
        count().await,
        2,
        "the third name and the address, failed lately"
    );
    app.stop().await;
}

#[tokio::test]
async fn replays_are_caught_even_with_a_bad_scope() {
    let app = spawn_app().await;
    setup(&app).await;
    let a = app
        .login(Auth::Public("web"), "alice", "alice-password")
        .await;
    let t0 = a.str("refresh_token").to_owned();
    let t1 = app
        .refresh(Auth::Public("web"), &t0)
        .await
        .str("refresh_token")
        .to_owned();
    app.token(
        Auth::Public("web"),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &t0),
            ("scope", "nonsense"),
        ],
    )
    .await
    .assert_error(400, "invalid_grant");
    app.refresh(Auth::Public("web"), &t1)
        .await
        .assert_error(400, "invalid_grant");
    app.stop().await;
}

#[tokio::test]
async fn an_address_is_locked_after_many_failures_across_users() {
    let app = spawn_app_with(|s| {
        s.lockout.address.delay_after = 100;
        s.lockout.address.lock_after = 5;
    })
    .await;
    setup(&app).await;
    for i in 0..5 {
        app.login(Auth::Public("web"), &format!("user{i}"), "wrong-password")
            .await
            .assert_error(400, "invalid_grant");
    }
    let a = app
        .login(Auth::Public("web"), "alice", "alice-password")
        .await;
    assert_eq!(a.status, 429, "{}", a.body);
    app.stop().await;
}

fn metric(text: &str, name_and_labels: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name_and_labels))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_counters_move() {
    let app = spawn_app().await;
    setup(&app).await;
    let a = app
        .login(Auth::Public("web"), "alice", "alice-password")
        .await;
    let t0 = a.str("refresh_token").to_owned();
    app.refresh(Auth::Public("web"), &t0).await.assert_ok();
    app.refresh(Auth::Public("web"), &t0)
        .await
        .assert_error(400, "invalid_grant");
    app.login(Auth::Public("web"), "alice", "bad-password")
        .await;
    let resp = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = resp.text().await.unwrap();
    assert_eq!(
        metric(
            &text,
            r#"tessera_token_grants_total{grant="password",outcome="ok"}"#
        ),
        1.0
    );
    assert_eq!(
        metric(
            &text,
            r#"tessera_token_grants_total{grant="password",outcome="invalid_grant"}"#
        ),
        1.0
    );
    assert_eq!(
        metric(
            &text,
            r#"tessera_token_grants_total{grant="refresh_token",outcome="ok"}"#
        ),
        1.0
    );
    assert_eq!(metric(&text, "tessera_reuse_detections_total"), 1.0);
    assert_eq!(
        metric(
            &text,
            r#"tessera_families_revoked_total{reason="reuse_detected"}"#
        ),
        1.0
    );
    assert_eq!(
        metric(
            &text,
            r#"tessera_http_requests_total{operation="token",method="POST",status="200"}"#
        ),
        2.0
    );
    assert!(text.contains("tessera_password_hash_queue_depth"));
    // Each hash is timed on its thread: the two sign-ins above at least (users added
    // through the server's state are hashed there too).
    assert!(metric(&text, "tessera_password_hash_duration_seconds_count") >= 2.0);
    assert!(metric(&text, "tessera_password_hash_duration_seconds_sum") > 0.0);
    assert!(metric(&text, "tessera_password_hash_threads") >= 1.0);
    assert!(text.contains(r#"tessera_db_operation_duration_seconds_count{op="refresh_rotate"} 1"#));
    app.stop().await;
}

#[tokio::test]
async fn cors_allows_only_configured_origins() {
    let app = spawn_app_with(|s| s.cors_origins = vec!["https://app.example".into()]).await;
    let pre = |origin: &'static str| {
        app.http
            .request(reqwest::Method::OPTIONS, app.url("/oauth/token"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .send()
    };
    let ok = pre("https://app.example").await.unwrap();
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let bad = pre("https://evil.example").await.unwrap();
    assert!(bad.headers().get("access-control-allow-origin").is_none());
    app.stop().await;
}

/// A client credentials request for `api` from `ip` (trusted as one proxy hop).
async fn client_credentials_from(app: &TestApp, ip: &str, secret: &str) -> Answer {
    let req = app
        .http
        .post(app.url("/oauth/token"))
        .header("x-forwarded-for", ip)
        .basic_auth("api", Some(secret))
        .form(&[("grant_type", "client_credentials")]);
    TestApp::answer(req.send().await.unwrap()).await
}

/// Twenty wrong client secrets from one address: from then on that client is refused
/// from there (429 `invalid_client`, `Retry-After`), the right secret included, until
/// the window ends; from another address it goes on working, so no one can lock a
/// client out. The introspection and revocation endpoints count alike.
#[tokio::test]
async fn wrong_client_secrets_are_throttled_per_client_and_address() {
    let app = spawn_app_with(|s| s.trusted_proxy_hops = 1).await;
    let secret = setup(&app).await;
    let guesser = "198.51.100.7";
    for _ in 0..19 {
        client_credentials_from(&app, guesser, "tsc_wrong")
            .await
            .assert_error(401, "invalid_client");
    }
    // The twentieth through introspection, which counts too.
    let r = app
        .http
        .post(app.url("/oauth/introspect"))
        .header("x-forwarded-for", guesser)
        .basic_auth("api", Some("tsc_wrong"))
        .form(&[("token", "x")]);
    TestApp::answer(r.send().await.unwrap())
        .await
        .assert_error(401, "invalid_client");
    for secret in ["tsc_wrong", secret.as_str()] {
        let refused = client_credentials_from(&app, guesser, secret).await;
        refused.assert_error(429, "invalid_client");
        let retry: i64 = refused.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&retry), "Retry-After {retry}");
    }
    let r = app
        .http
        .post(app.url("/oauth/revoke"))
        .header("x-forwarded-for", guesser)
        .basic_auth("api", Some(&secret))
        .form(&[("token", "x")]);
    TestApp::answer(r.send().await.unwrap())
        .await
        .assert_error(429, "invalid_client");
    // Elsewhere the client works, and a wrong secret there is an ordinary 401.
    client_credentials_from(&app, "192.0.2.1", &secret)
        .await
        .assert_ok();
    client_credentials_from(&app, "192.0.2.1", "tsc_wrong")
        .await
        .assert_error(401, "invalid_client");
    // The window ends: the right secret works again from the guesser's address.
    app.clock.advance(Duration::from_secs(61));
    client_credentials_from(&app, guesser, &secret)
        .await
        .assert_ok();
    let metrics = app.http.get(app.url("/metrics")).send().await.unwrap();
    let metrics = metrics.text().await.unwrap();
    assert!(
        metrics.contains("tessera_client_auth_throttled_total 3"),
        "{metrics}"
    );
    app.stop().await;
}
