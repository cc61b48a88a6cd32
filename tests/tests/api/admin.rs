//! The admin API: authorization, each operation's effect seen through the token
//! endpoint, audit rows naming the acting admin, and paging.

use reqwest::Method;
use serde_json::{Value, json};
use tessera_tests::{Answer, Auth, ClientSpec, TestApp, spawn_app};

async fn get(app: &TestApp, token: &str, path: &str) -> Answer {
    app.send_bearer(Method::GET, path, token, None).await
}

async fn send(app: &TestApp, token: &str, method: Method, path: &str, body: Value) -> Answer {
    app.send_bearer(method, path, token, Some(body)).await
}

/// The audit events of one kind, newest first, through the API.
async fn audit(app: &TestApp, token: &str, kind: &str) -> Vec<Value> {
    let a = get(
        app,
        token,
        &format!("/admin/v1/audit?kind={kind}&limit=500"),
    )
    .await;
    a.assert_ok();
    a.body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn only_admin_tokens_of_admins_get_in() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password", false).await;
    app.add_client(ClientSpec::public("web")).await;
    let path = "/admin/v1/users";
    let none = TestApp::answer(app.http.get(app.url(path)).send().await.unwrap()).await;
    assert_eq!(none.status, 401, "{}", none.body);
    assert_eq!(none.body["error"], "invalid_token");
    get(&app, "garbage", path)
        .await
        .assert_error(401, "invalid_token");
    let user = app
        .login(Auth::Public("web"), "alice", "alice-password")
        .await;
    get(&app, user.str("access_token"), path)
        .await
        .assert_error(403, "insufficient_scope");
    let admin = app.admin_token().await;
    get(&app, &admin, path).await.assert_ok();
    // An expired admin token is refused.
    app.clock.advance(std::time::Duration::from_secs(301));
    get(&app, &admin, path)
        .await
        .assert_error(401, "invalid_token");
    // A demoted admin loses access at once, even with a fresh token.
    let admin = app.admin_token().await;
    let id = app.add_user("boss", "boss-password", true).await;
    let boss_login = app
        .login(Auth::Public("tessera-admin"), "boss", "boss-password")
        .await;
    let boss = boss_login.str("access_token").to_owned();
    get(&app, &boss, path).await.assert_ok();
    send(
        &app,
        &admin,
        Method::PATCH,
        &format!("/admin/v1/users/{id}"),
        json!({"is_admin": false}),
    )
    .await
    .assert_ok();
    get(&app, &boss, path)
        .await
        .assert_error(403, "insufficient_scope");
    // Refreshing no longer yields the admin scope.
    let r = app
        .refresh(
            Auth::Public("tessera-admin"),
            boss_login.str("refresh_token"),
        )
        .await;
    r.assert_ok();
    assert_eq!(r.str("scope"), "");
    app.stop().await;
}

#[tokio::test]
async fn user_management_takes_effect_at_the_token_endpoint() {
    let app = spawn_app().await;
    app.add_client(ClientSpec::public("web")).await;
    let admin = app.admin_token().await;
    let me = app.admin_id().await;

    let created = send(
        &app,
        &admin,
        Method::POST,
        "/admin/v1/users",
        json!({"username": "carol"}),
    )
    .await;
    created.assert_ok();
    assert_eq!(created.headers["cache-control"], "no-store");
    let pw = created.body["generated_password"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = created.body["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["user"]["is_admin"], false);
    let s = app.login(Auth::Public("web"), "carol", &pw).await;
    s.assert_ok();
    let u = get(&app, &admin, &format!("/admin/v1/users/{id}")).await;
    assert_eq!(u.body["live_sessions"], 1);
    assert!(u.body["last_login_at"].is_string());

    send(
        &app,
        &admin,
        Method::POST,
        "/admin/v1/users",
        json!({"username": "carol", "password": "whatever-1"}),
    )
    .await
    .assert_error(409, "conflict");
    send(
        &app,
        &admin,
        Method::POST,
        "/admin/v1/users",
        json!({"username": "bad name"}),
    )
    .await
    .assert_error(400, "invalid_request");
    send(
        &app,
        &admin,
        Method::POST,
        "/admin/v1/users",
        json!({"username": "dan", "password": "short"}),
    )
    .await
    .assert_error(400, "invalid_request");
    send(
        &app,
        &admin,
        Method::POST,
        "/admin/v1/users",
        json!({"nope": 1}),
    )
    .await
    .assert_error(400, "invalid_request");

    // Disable: sign-in and refresh stop working.
    let d = send(
        &app,
        &admin,
        Method::PATCH,
        &format!("/admin/v1/users/{id}"),
        json!({"disabled": true}),
    )
    .await;
    d.assert_ok();
    assert_eq!(d.body["disabled"], true);
    assert_eq!(d.body["live_sessions"], 0);
    app.login(Auth::Public("web"), "carol", &pw)
        .await
        .assert_error(400, "invalid_grant");
    app.refresh(Auth::Public("web"), s.str("refresh_token"))
        .await
        .assert_error(400, "invalid_grant");
    send(
        &app,
        &admin,
        Method::PATCH,
        &format!("/admin/v1/users/{id}"),
        json!({"disabled": false}),
    )
    .await
    .assert_ok();

    // Set a password: the old one stops working.
    let p = send(
        &app,
        &admin,
        Method::PUT,
        &format!("/admin/v1/users/{id}/password"),
        json!({"password": "brand-new-pass"}),
    )
    .await;
    p.assert_ok();
    assert!(p.body.get("generated_password").is_none_or(Value::is_null));
    app.login(Auth::Public("web"), "carol", &pw)
        .await
        .assert_error(400, "invalid_grant");
    app.login(Auth::Public("web"), "carol", "brand-new-pass")
        .await
        .assert_ok();

    // The last admin cannot be demoted, disabled or deleted.
    send(
        &app,
        &admin,
        Method::PATCH,
        &format!("/admin/v1/users/{me}"),
        json!({"is_admin": false}),
    )
    .await
    .assert_error(409, "conflict");
    app.send_bearer(
        Method::DELETE,
        &format!("/admin/v1/users/{me}"),
        &admin,
        None,
    )
    .await
    .assert_error(409, "conflict");

    // Delete: gone.
    let del = app
        .send_bearer(
            Method::DELETE,
            &format!("/admin/v1/users/{id}"),
            &admin,
            None,
        )
        .await;
    del.assert_ok();
    assert_eq!(del.body["sessions_ended"], 1);
    get(&app, &admin, &format!("/admin/v1/users/{id}"))
        .await
        .assert_error(404, "not_found");
    app.login(Auth::Public("web"), "carol", "brand-new-pass")
        .await
        .assert_error(400, "invalid_grant");

    // Every change was audited with the acting admin.
    for kind in ["user_created", "user_updated", "user_deleted"] {
        let events = audit(&app, &admin, kind).await;
        let mine: Vec<&Value> = events
            .iter()
            .filter(|e| e["user_id"] == id.as_str())
            .collect();
        assert!(!mine.is_empty(), "{kind}");
        for e in mine {
            assert_eq!(e["actor"], me.as_str(), "{kind}: {e}");
        }
    }
    let revoked = audit(&app, &admin, "family_revoked").await;
    assert!(
        revoked
            .iter()
            .any(|e| e["reason"] == "user_disabled" && e["actor"] == me.as_str())
    );
    app.stop().await;
}

#[tokio::test]
async fn client_management_takes_effect_at_the_token_endpoint() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password", false).await;
    let admin = app.admin_token().await;
    let me = app.admin_id().await;

    let c = send(
        &app,
        &admin,
        Method::POST,
        "/admin/v1/clients",
        json!({"client_id": "svc", "grant_types": ["password", "refresh_token"], "scopes": ["read"],
               "redirect_uris": ["https://svc.example/cb"], "reuse_leeway": 5}),
    )
    .await;
    c.assert_ok();
    assert_eq!(c.headers["cache-control"], "no-store");
    let secret = c.body["client_secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("tsc_"));
    assert_eq!(c.body["client"]["effective_reuse_leeway"], 5);
    assert_eq!(c.body["client"]["effective_access_ttl"], 300);
    let s = app
        .login(Auth::Basic("svc", &secret), "alice", "alice-password")
        .await;
    s.assert_ok();

    for bad in [
        json!({"client_id": "x y", "grant_types": ["password"]}),
        json!({"client_id": "p", "public": true, "grant_types": ["client_credentials"]}),
        json!({"client_id": "q", "grant_types": ["implicit"]}),
        json!({"client_id": "r", "grant_types": []}),
        json!({"client_id": "s", "grant_types": ["password"], "access_ttl": -1}),
        json!({"client_id": "t", "grant_types": ["password"], "redirect_uris": ["javascript:alert(1)"]}),
    ] {
        send(&app, &admin, Method::POST, "/admin/v1/clients", bad.clone())
            .await
            .assert_error(400, "invalid_request");
    }
    send(
        &app,
        &admin,
        Method::POST,
        "/admin/v1/clients",
        json!({"client_id": "svc", "grant_types": ["password"]}),
    )
    .await
    .assert_error(409, "conflict");

    // Update: drop the refresh grant, set an access TTL, then reset it to the default.
    let u = send(
        &app,
        &admin,
        Method::PATCH,
        "/admin/v1/clients/svc",
        json!({"grant_types": ["password"], "access_ttl": 60}),
    )
    .await;
    u.assert_ok();
    assert_eq!(u.body["access_ttl"], 60);
    app.refresh(Auth::Basic("svc", &secret), s.str("refresh_token"))
        .await
        .assert_error(400, "unauthorized_client");
    let u = send(
        &app,
        &admin,
        Method::PATCH,
        "/admin/v1/clients/svc",
        json!({"access_ttl": null, "grant_types": ["password", "refresh_token"]}),
    )
    .await;
    assert!(u.body["access_ttl"].is_null());
    assert_eq!(u.body["effective_access_ttl"], 300);
    assert_eq!(u.body["scopes"], json!(["read"]), "untouched fields stay");

    // Rotate the secret: the old one stops working.
    let r = app
        .send_bearer(Method::POST, "/admin/v1/clients/svc/secret", &admin, None)
        .await;
    r.assert_ok();
    assert_eq!(r.headers["cache-control"], "no-store");
    let new_secret = r.body["client_secret"].as_str().unwrap().to_owned();
    app.login(Auth::Basic("svc", &secret), "alice", "alice-password")
        .await
        .assert_error(401, "invalid_client");
    app.login(Auth::Basic("svc", &new_secret), "alice", "alice-password")
        .await
        .assert_ok();

    // Remove: its tokens stop working.
    let live = app
        .login(Auth::Basic("svc", &new_secret), "alice", "alice-password")
        .await;
    let del = app
        .send_bearer(Method::DELETE, "/admin/v1/clients/svc", &admin, None)
        .await;
    del.assert_ok();
    assert_eq!(del.body["sessions_ended"], 3);
    app.refresh(Auth::Basic("svc", &new_secret), live.str("refresh_token"))
        .await
        .assert_error(401, "invalid_client");
    let rows = app
        .query("SELECT COUNT(*) AS n FROM refresh_families WHERE client_id = 'svc' AND revoked_at IS NULL")
        .await;
    assert_eq!(rows[0].try_get::<i64>("", "n").unwrap(), 0);
    app.send_bearer(
        Method::DELETE,
        "/admin/v1/clients/tessera-admin",
        &admin,
        None,
    )
    .await
    .assert_error(409, "conflict");

    for kind in [
        "client_created",
        "client_updated",
        "client_secret_rotated",
        "client_removed",
    ] {
        let events = audit(&app, &admin, kind).await;
        assert!(
            events.iter().any(|e| e["client_id"] == "svc"
                && e["actor"] == me.as_str()
                && e["actor_name"] == "admin"),
            "{kind}: {events:?}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn keys_rotate_and_retire_through_the_api() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let list = get(&app, &admin, "/admin/v1/keys").await;
    list.assert_ok();
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["state"], "active");
    assert!(items[0]["unexpired_tokens"].as_u64().unwrap() >= 1);
    let old = items[0]["kid"].as_str().unwrap().to_owned();

    send(
        &app,
        &admin,
        Method::POST,
        "/admin/v1/keys/rotate",
        json!({"alg": "HS256"}),
    )
    .await
    .assert_error(400, "invalid_request");
    app.send_bearer(
        Method::POST,
        &format!("/admin/v1/keys/{old}/retire"),
        &admin,
        None,
    )
    .await
    .assert_error(409, "conflict");
    let k = send(
        &app,
        &admin,
        Method::POST,
        "/admin/v1/keys/rotate",
        json!({"alg": "EdDSA"}),
    )
    .await;
    k.assert_ok();
    let new = k.body["kid"].as_str().unwrap().to_owned();
    assert_eq!(k.body["alg"], "EdDSA");
    // On PostgreSQL a new key waits for every instance to publish it before it signs.
    let prepublish = app.state().settings.prepublish_secs();
    assert_eq!(
        k.body["state"],
        if prepublish > 0 { "pending" } else { "active" }
    );
    app.clock
        .advance(std::time::Duration::from_secs(prepublish as u64));
    let jwks: Value = app.get_json("/.well-known/jwks.json").await;
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(kids.contains(&new.as_str()) && kids.contains(&old.as_str()));
    let fresh = app.admin_token().await;
    assert_eq!(
        jsonwebtoken::decode_header(&fresh).unwrap().kid.as_deref(),
        Some(new.as_str())
    );

    let r = app
        .send_bearer(
            Method::POST,
            &format!("/admin/v1/keys/{old}/retire"),
            &fresh,
            None,
        )
        .await;
    r.assert_ok();
    assert_eq!(r.body["state"], "retired");
    // The first admin token was signed by the retired key: no longer accepted.
    get(&app, &admin, "/admin/v1/keys")
        .await
        .assert_error(401, "invalid_token");
    let events = audit(&app, &fresh, "key_rotated").await;
    assert_eq!(events.len(), 1);
    assert_eq!(audit(&app, &fresh, "key_retired").await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn families_list_detail_and_revoke() {
    let app = spawn_app().await;
    let alice = app.add_user("alice", "alice-password", false).await;
    app.add_user("bob", "bob-password", false).await;
    app.add_client(ClientSpec::public("web")).await;
    let admin = app.admin_token().await;

    // A family with a replay.
    let t0 = app
        .login(Auth::Public("web"), "alice", "alice-password")
        .await;
    let t1 = app
        .refresh(Auth::Public("web"), t0.str("refresh_token"))
        .await;
    app.refresh(Auth::Public("web"), t1.str("refresh_token"))
        .await
        .assert_ok();
    app.refresh(Auth::Public("web"), t1.str("refresh_token"))
        .await
        .assert_error(400, "invalid_grant");
    let live = app
        .login(Auth::Public("web"), "alice", "alice-password")
        .await;
    let bob = app.login(Auth::Public("web"), "bob", "bob-password").await;

    let reuse = get(&app, &admin, "/admin/v1/families?reason=reuse_detected").await;
    reuse.assert_ok();
    assert_eq!(reuse.body["total"], 1);
    let fam = &reuse.body["items"][0];
    assert_eq!(fam["state"], "revoked");
    assert_eq!(fam["username"], "alice");
    assert_eq!(fam["generations"], 3);
    let fid = fam["id"].as_str().unwrap();

    let detail = get(&app, &admin, &format!("/admin/v1/families/{fid}")).await;
    detail.assert_ok();
    assert_eq!(detail.body["replayed_generation"], 1);
    let tokens = detail.body["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 3);
    assert_eq!(tokens[1]["replayed"], true);
    assert_eq!(tokens[1]["state"], "used");
    assert_eq!(tokens[0]["replayed"], false);
    assert_eq!(tokens[2]["ip"], "127.0.0.1");
    assert!(!detail.body.to_string().contains("tsr_"), "no token values");

    let active = get(
        &app,
        &admin,
        &format!("/admin/v1/families?state=active&user_id={alice}"),
    )
    .await;
    assert_eq!(active.body["total"], 1);
    let by_client = get(&app, &admin, "/admin/v1/families?client_id=web").await;
    assert_eq!(by_client.body["total"], 3);
    get(&app, &admin, "/admin/v1/families?state=sleepy")
        .await
        .assert_error(400, "invalid_request");
    get(&app, &admin, "/admin/v1/families?limit=0")
        .await
        .assert_error(400, "invalid_request");
    get(&app, &admin, "/admin/v1/families/nope")
        .await
        .assert_error(404, "not_found");

    // Revoke one: its refresh stops working.
    let live_id = active.body["items"][0]["id"].as_str().unwrap();
    let r = app
        .send_bearer(
            Method::POST,
            &format!("/admin/v1/families/{live_id}/revoke"),
            &admin,
            None,
        )
        .await;
    r.assert_ok();
    assert_eq!(r.body["revoke_reason"], "admin");
    app.refresh(Auth::Public("web"), live.str("refresh_token"))
        .await
        .assert_error(400, "invalid_grant");

    // Revoke all of a user's, and all of a client's.
    let b = get(&app, &admin, "/admin/v1/users?search=BO").await;
    assert_eq!(b.body["total"], 1);
    let bob_id = b.body["items"][0]["id"].as_str().unwrap();
    let r = app
        .send_bearer(
            Method::POST,
            &format!("/admin/v1/users/{bob_id}/revoke-sessions"),
            &admin,
            None,
        )
        .await;
    assert_eq!(r.body["revoked"], 1);
    app.refresh(Auth::Public("web"), bob.str("refresh_token"))
        .await
        .assert_error(400, "invalid_grant");
    let r = app
        .send_bearer(
            Method::POST,
            "/admin/v1/clients/web/revoke-sessions",
            &admin,
            None,
        )
        .await;
    r.assert_ok();
    assert_eq!(r.body["revoked"], 0);
    let actions = audit(&app, &admin, "admin_action").await;
    assert_eq!(actions.len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn paging_returns_every_row_exactly_once() {
    let app = spawn_app().await;
    app.add_client(ClientSpec::public("web")).await;
    for i in 0..23 {
        app.add_user(&format!("user{i:02}"), "user-password", false)
            .await;
    }
    for i in 0..23 {
        app.login(Auth::Public("web"), &format!("user{i:02}"), "user-password")
            .await
            .assert_ok();
    }
    let admin = app.admin_token().await;
    for (path, key, expected) in [
        ("/admin/v1/users?limit=5", "id", 24),
        ("/admin/v1/families?limit=4", "id", 24),
        ("/admin/v1/clients?limit=1", "client_id", 2),
        ("/admin/v1/audit?kind=login_succeeded&limit=7", "id", 24),
    ] {
        let mut seen = std::collections::HashSet::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let url = match &cursor {
                Some(c) => format!("{path}&cursor={c}"),
                None => path.to_owned(),
            };
            let page = get(&app, &admin, &url).await;
            page.assert_ok();
            assert_eq!(page.body["total"], expected, "{path}");
            for item in page.body["items"].as_array().unwrap() {
                assert!(
                    seen.insert(item[key].to_string()),
                    "{path}: {} twice",
                    item[key]
                );
            }
            pages += 1;
            match page.body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
            assert!(pages < 100);
        }
        assert_eq!(seen.len(), expected as usize, "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn stats_count_what_happened() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password", false).await;
    app.add_client(ClientSpec::public("web")).await;
    let t0 = app
        .login(Auth::Public("web"), "alice", "alice-password")
        .await;
    app.refresh(Auth::Public("web"), t0.str("refresh_token"))
        .await
        .assert_ok();
    app.refresh(Auth::Public("web"), t0.str("refresh_token"))
        .await
        .assert_error(400, "invalid_grant");
    app.login(Auth::Public("web"), "alice", "wrong-password")
        .await;
    let admin = app.admin_token().await;
    let s = get(&app, &admin, "/admin/v1/stats").await;
    s.assert_ok();
    assert_eq!(s.body["range"], "hour");
    assert_eq!(s.body["bucket_seconds"], 60);
    let points = s.body["points"].as_array().unwrap();
    assert_eq!(points.len(), 60);
    let sum = |f: &str| points.iter().map(|p| p[f].as_i64().unwrap()).sum::<i64>();
    assert_eq!(sum("sign_ins"), 2);
    assert_eq!(sum("refreshes"), 1);
    assert_eq!(sum("failed_logins"), 1);
    assert_eq!(sum("reuse_detections"), 1);
    assert_eq!(s.body["recent_reuse_detections"], 1);
    assert_eq!(s.body["totals"]["users"], 2);
    assert_eq!(s.body["totals"]["clients"], 2);
    assert_eq!(s.body["totals"]["live_families"], 1);
    assert_eq!(s.body["totals"]["signing_keys"], 1);
    let w = get(&app, &admin, "/admin/v1/stats?range=week").await;
    assert_eq!(w.body["points"].as_array().unwrap().len(), 168);
    get(&app, &admin, "/admin/v1/stats?range=year")
        .await
        .assert_error(400, "invalid_request");
    app.stop().await;
}

/// A JSON body that names a key twice is refused, not read as its last value: a reviewer
/// of `{"is_admin": false, "is_admin": true}` reads the first.
#[tokio::test]
async fn json_bodies_with_a_key_given_twice_are_refused() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let id = app.add_user("mallory", "mallory-password", false).await;
    // Media types are case-insensitive: the check must not be dodged by spelling.
    for content_type in ["application/json", "Application/JSON; charset=utf-8"] {
        let r = app
            .http
            .patch(app.url(&format!("/admin/v1/users/{id}")))
            .bearer_auth(&admin)
            .header("content-type", content_type)
            .body(r#"{"is_admin": false, "is_admin": true}"#)
            .send()
            .await
            .unwrap();
        let a = tessera_tests::TestApp::answer(r).await;
        a.assert_error(400, "invalid_request");
        assert!(
            a.str("error_description").contains("is_admin"),
            "{}",
            a.body
        );
        assert_eq!(a.headers["cache-control"], "no-store");
    }
    let rows = app
        .query("SELECT is_admin FROM users WHERE username = 'mallory'")
        .await;
    assert!(!rows[0].try_get::<bool>("", "is_admin").unwrap());
    app.stop().await;
}

/// Filtering the audit trail by user or by family finds all of its events, refreshes
/// included, although those indexes leave refreshes out (they are found through the
/// tokens): the same events, the same total, page after page, and no one else's.
#[tokio::test]
async fn audit_filters_include_refreshes() {
    let app = spawn_app().await;
    let alice = app.add_user("alice", "alice-password", false).await;
    let bob = app.add_user("bob", "bob-password", false).await;
    app.add_client(ClientSpec::public("web")).await;
    // Alice: a failed sign-in (no family), two families, 3 + 2 refreshes.
    app.login(Auth::Public("web"), "alice", "wrong")
        .await
        .assert_error(400, "invalid_grant");
    for refreshes in [3, 2] {
        let mut rt = app
            .login(Auth::Public("web"), "alice", "alice-password")
            .await
            .str("refresh_token")
            .to_owned();
        for _ in 0..refreshes {
            let next = app.refresh(Auth::Public("web"), &rt).await;
            next.assert_ok();
            rt = next.str("refresh_token").to_owned();
        }
    }
    // Alice's third family and Bob's one, refreshed 4 times at once, two by two: their
    // events share batches and times, which the filters must still tell apart.
    let mut pair = Vec::new();
    for (name, password) in [("alice", "alice-password"), ("bob", "bob-password")] {
        let t = app.login(Auth::Public("web"), name, password).await;
        pair.push(t.str("refresh_token").to_owned());
    }
    for _ in 0..4 {
        let (a, b) = tokio::join!(
            app.refresh(Auth::Public("web"), &pair[0]),
            app.refresh(Auth::Public("web"), &pair[1])
        );
        a.assert_ok();
        b.assert_ok();
        pair = vec![
            a.str("refresh_token").to_owned(),
            b.str("refresh_token").to_owned(),
        ];
    }
    let admin = app.admin_token().await;
    // The kinds of the events matching `filter` (`user_id` or `family_id` = `id`), read
    // two to a page; each event must match, and the total must be the number read.
    let events = |filter: &'static str, id: &str, query: &str| {
        let (app, admin, id, query) = (&app, &admin, id.to_owned(), query.to_owned());
        async move {
            let mut kinds = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let mut url = format!("/admin/v1/audit?{filter}={id}&limit=2{query}");
                if let Some(c) = &cursor {
                    url.push_str(&format!("&cursor={c}"));
                }
                let page = get(app, admin, &url).await;
                page.assert_ok();
                for item in page.body["items"].as_array().unwrap() {
                    assert_eq!(item[filter], id.as_str(), "{item}");
                    kinds.push(item["kind"].as_str().unwrap().to_owned());
                }
                let total = page.body["total"].as_u64().unwrap();
                match page.body["next_cursor"].as_str() {
                    Some(c) => cursor = Some(c.to_owned()),
                    None => {
                        assert_eq!(total, kinds.len() as u64, "{url}");
                        break;
                    }
                }
            }
            kinds.sort();
            kinds
        }
    };
    let kinds = |user: &str, query: &str| events("user_id", user, query);
    let count = |kinds: &[String], kind: &str| kinds.iter().filter(|k| *k == kind).count();
    let a = kinds(&alice, "").await;
    assert_eq!(count(&a, "token_refreshed"), 9, "{a:?}");
    assert_eq!(count(&a, "login_succeeded"), 3, "{a:?}");
    assert_eq!(count(&a, "login_failed"), 1, "{a:?}");
    let a_refreshed = kinds(&alice, "&kind=token_refreshed").await;
    assert_eq!(a_refreshed.len(), 9, "{a_refreshed:?}");
    let a_logins = kinds(&alice, "&kind=login_succeeded").await;
    assert_eq!(a_logins.len(), 3, "{a_logins:?}");
    let b = kinds(&bob, "").await;
    assert_eq!(count(&b, "token_refreshed"), 4, "{b:?}");
    assert_eq!(count(&b, "login_succeeded"), 1, "{b:?}");
    // By family: each of Alice's three families has its own sign-in and refreshes.
    let families = get(&app, &admin, &format!("/admin/v1/families?user_id={alice}"))
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .clone();
    let mut refreshed = Vec::new();
    for f in &families {
        let k = events("family_id", f["id"].as_str().unwrap(), "").await;
        assert_eq!(count(&k, "login_succeeded"), 1, "{k:?}");
        refreshed.push(count(&k, "token_refreshed"));
    }
    refreshed.sort();
    assert_eq!(refreshed, [2, 3, 4]);
    app.stop().await;
}
