//! Security regressions: a token stands only while its user and client exist and are
//! enabled (the flag alone suffices, whatever happened to the families); disabling a
//! client ends its sessions at once and for good; a revoked client-credentials token is
//! really revoked; client lifetimes and redirect URIs are bounded; disabling a user ends
//! their families in the same operation and says how many.

use reqwest::Method;
use serde_json::{Value, json};
use tessera_tests::{Answer, Auth, ClientSpec, TestApp, spawn_app};

/// The confidential resource server that introspects tokens in these tests.
const RS: &str = "rs";

async fn add_resource_server(app: &TestApp) -> String {
    app.add_client(ClientSpec {
        grants: "client_credentials",
        ..ClientSpec::confidential(RS)
    })
    .await
    .unwrap()
}

/// Introspects `token` as the confidential client `id` (HTTP Basic).
async fn introspect_as(app: &TestApp, id: &str, secret: &str, token: &str) -> Value {
    let a = app
        .oauth_post(
            "/oauth/introspect",
            Auth::Basic(id, secret),
            &[("token", token)],
        )
        .await;
    a.assert_ok();
    a.body
}

fn inactive() -> Value {
    json!({"active": false})
}

async fn admin_get(app: &TestApp, token: &str, path: &str) -> Answer {
    let a = app.send_bearer(Method::GET, path, token, None).await;
    a.assert_ok();
    a
}

async fn admin_send(app: &TestApp, token: &str, method: Method, path: &str, body: Value) -> Answer {
    app.send_bearer(method, path, token, Some(body)).await
}

/// Every family matching the query, through the admin API.
async fn families(app: &TestApp, admin: &str, query: &str) -> Vec<Value> {
    let a = admin_get(app, admin, &format!("/admin/v1/families?{query}&limit=500")).await;
    a.body["items"].as_array().unwrap().clone()
}

/// Audit events matching the query, newest first, through the admin API.
async fn audit(app: &TestApp, admin: &str, query: &str) -> Vec<Value> {
    let a = admin_get(app, admin, &format!("/admin/v1/audit?{query}&limit=500")).await;
    a.body["items"].as_array().unwrap().clone()
}

/// A client-credentials access token for the confidential client `id`.
async fn client_token(app: &TestApp, id: &str, secret: &str) -> String {
    let a = app
        .token(
            Auth::Basic(id, secret),
            &[("grant_type", "client_credentials")],
        )
        .await;
    a.assert_ok();
    a.str("access_token").to_owned()
}

/// Asserts that a user's refresh token, access token and `/me` are all refused, as
/// seen by `client` (which issued them, and may introspect its own refresh token).
async fn assert_refused(app: &TestApp, client: &str, secret: &str, login: &Answer, why: &str) {
    let rt = login.str("refresh_token");
    let at = login.str("access_token");
    app.refresh(Auth::Basic(client, secret), rt)
        .await
        .assert_error(400, "invalid_grant");
    assert_eq!(
        introspect_as(app, client, secret, rt).await,
        inactive(),
        "{why}: refresh token"
    );
    assert_eq!(
        introspect_as(app, client, secret, at).await,
        inactive(),
        "{why}: access token"
    );
    app.get_bearer("/me/sessions", at)
        .await
        .assert_error(401, "invalid_token");
}

#[tokio::test]
async fn a_disabled_or_deleted_user_cannot_refresh_even_with_live_families() {
    let app = spawn_app().await;
    let bob = app.add_user("bob", "bob-password", false).await;
    let carol = app.add_user("carol", "carol-password", false).await;
    let secret = app
        .add_client(ClientSpec::confidential("svc"))
        .await
        .unwrap();
    let svc = Auth::Basic("svc", &secret);
    let b = app.login(svc, "bob", "bob-password").await;
    b.assert_ok();
    let c = app.login(svc, "carol", "carol-password").await;
    c.assert_ok();
    // Everything stands before.
    for login in [&b, &c] {
        for t in ["refresh_token", "access_token"] {
            let i = introspect_as(&app, "svc", &secret, login.str(t)).await;
            assert_eq!(i["active"], true, "{t}: {i}");
        }
        app.get_bearer("/me/sessions", login.str("access_token"))
            .await
            .assert_ok();
    }

    // Only the flag, straight in the store: no family is revoked.
    let now = app.clock.now_ms();
    assert!(
        tessera_server::store::users::set_disabled(&app.state().db.write, &bob, true, now)
            .await
            .unwrap()
    );
    assert_refused(&app, "svc", &secret, &b, "disabled user").await;

    // The user row gone, straight in the store: the families are left behind.
    assert!(
        tessera_server::store::users::delete(&app.state().db.write, &carol)
            .await
            .unwrap()
    );
    assert_refused(&app, "svc", &secret, &c, "deleted user").await;

    // Both families are still live in the store: it was the user check that refused.
    let admin = app.admin_token().await;
    for uid in [&bob, &carol] {
        let f = families(&app, &admin, &format!("user_id={uid}")).await;
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0]["state"], "active", "{f:?}");
    }
    // Another resource server sees the access tokens inactive too.
    let rs_secret = add_resource_server(&app).await;
    for login in [&b, &c] {
        assert_eq!(
            introspect_as(&app, RS, &rs_secret, login.str("access_token")).await,
            inactive()
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn disabling_a_client_ends_its_sessions_and_tokens_for_good() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password", false).await;
    app.add_client(ClientSpec::public("web")).await;
    let rs = add_resource_server(&app).await;
    let admin = app.admin_token().await;
    let me = app.admin_id().await;
    let web = Auth::Public("web");
    let one = app.login(web, "alice", "alice-password").await;
    one.assert_ok();
    let two = app.login(web, "alice", "alice-password").await;
    two.assert_ok();
    assert_eq!(
        introspect_as(&app, RS, &rs, one.str("access_token")).await["active"],
        true
    );

    let d = admin_send(
        &app,
        &admin,
        Method::PATCH,
        "/admin/v1/clients/web",
        json!({"disabled": true}),
    )
    .await;
    d.assert_ok();
    assert_eq!(d.body["disabled"], true);
    let fams = families(&app, &admin, "client_id=web").await;
    assert_eq!(fams.len(), 2, "{fams:?}");
    for f in &fams {
        assert_eq!(f["state"], "revoked", "{f}");
        assert_eq!(f["revoke_reason"], "client_disabled", "{f}");
    }
    let revoked = audit(&app, &admin, "kind=family_revoked&client_id=web").await;
    assert_eq!(revoked.len(), 2, "{revoked:?}");
    for e in &revoked {
        assert_eq!(e["reason"], "client_disabled", "{e}");
        assert_eq!(e["actor"], me.as_str(), "{e}");
    }
    // The disabled client cannot even authenticate; its tokens stand nowhere.
    for login in [&one, &two] {
        app.refresh(web, login.str("refresh_token"))
            .await
            .assert_error(401, "invalid_client");
        assert_eq!(
            introspect_as(&app, RS, &rs, login.str("access_token")).await,
            inactive()
        );
        app.get_bearer("/me/sessions", login.str("access_token"))
            .await
            .assert_error(401, "invalid_token");
    }
    app.login(web, "alice", "alice-password")
        .await
        .assert_error(401, "invalid_client");

    // Re-enabling does not bring the old sessions back.
    let e = admin_send(
        &app,
        &admin,
        Method::PATCH,
        "/admin/v1/clients/web",
        json!({"disabled": false}),
    )
    .await;
    e.assert_ok();
    assert_eq!(e.body["disabled"], false);
    for login in [&one, &two] {
        app.refresh(web, login.str("refresh_token"))
            .await
            .assert_error(400, "invalid_grant");
        assert_eq!(
            introspect_as(&app, RS, &rs, login.str("access_token")).await,
            inactive()
        );
        app.get_bearer("/me/sessions", login.str("access_token"))
            .await
            .assert_error(401, "invalid_token");
    }
    for f in families(&app, &admin, "client_id=web").await {
        assert_eq!(f["revoke_reason"], "client_disabled", "{f}");
    }
    // A new sign-in works again.
    let fresh = app.login(web, "alice", "alice-password").await;
    fresh.assert_ok();
    app.refresh(web, fresh.str("refresh_token"))
        .await
        .assert_ok();

    // Client-credentials tokens: inactive once their client is disabled...
    let job = app
        .add_client(ClientSpec {
            grants: "client_credentials",
            ..ClientSpec::confidential("job")
        })
        .await
        .unwrap();
    let job_at = client_token(&app, "job", &job).await;
    let i = introspect_as(&app, RS, &rs, &job_at).await;
    assert_eq!(i["active"], true, "{i}");
    assert_eq!(i["client_id"], "job", "{i}");
    admin_send(
        &app,
        &admin,
        Method::PATCH,
        "/admin/v1/clients/job",
        json!({"disabled": true}),
    )
    .await
    .assert_ok();
    assert_eq!(introspect_as(&app, RS, &rs, &job_at).await, inactive());

    // ...or removed.
    let job2 = app
        .add_client(ClientSpec {
            grants: "client_credentials",
            ..ClientSpec::confidential("job2")
        })
        .await
        .unwrap();
    let job2_at = client_token(&app, "job2", &job2).await;
    assert_eq!(introspect_as(&app, RS, &rs, &job2_at).await["active"], true);
    app.send_bearer(Method::DELETE, "/admin/v1/clients/job2", &admin, None)
        .await
        .assert_ok();
    assert_eq!(introspect_as(&app, RS, &rs, &job2_at).await, inactive());
    app.stop().await;
}

#[tokio::test]
async fn revoking_a_client_credentials_token_revokes_it() {
    let app = spawn_app().await;
    let rs = add_resource_server(&app).await;
    let job = app
        .add_client(ClientSpec {
            grants: "client_credentials",
            ..ClientSpec::confidential("job")
        })
        .await
        .unwrap();
    let at = client_token(&app, "job", &job).await;
    let other = client_token(&app, "job", &job).await;
    assert_eq!(introspect_as(&app, RS, &rs, &at).await["active"], true);

    // Another client cannot revoke it (answered 200, nothing happens).
    app.oauth_post("/oauth/revoke", Auth::Basic(RS, &rs), &[("token", &at)])
        .await
        .assert_ok();
    assert_eq!(introspect_as(&app, RS, &rs, &at).await["active"], true);

    // Its own client can.
    let r = app
        .oauth_post(
            "/oauth/revoke",
            Auth::Basic("job", &job),
            &[("token", &at), ("token_type_hint", "access_token")],
        )
        .await;
    r.assert_ok();
    assert_eq!(introspect_as(&app, RS, &rs, &at).await, inactive());
    assert_eq!(introspect_as(&app, "job", &job, &at).await, inactive());
    // Only that token: the client's other token still stands.
    assert_eq!(introspect_as(&app, RS, &rs, &other).await["active"], true);
    // Revoking it again is fine and changes nothing.
    app.oauth_post("/oauth/revoke", Auth::Basic("job", &job), &[("token", &at)])
        .await
        .assert_ok();
    assert_eq!(introspect_as(&app, RS, &rs, &at).await, inactive());

    let admin = app.admin_token().await;
    let events = audit(&app, &admin, "kind=token_revoked").await;
    assert!(!events.is_empty(), "a token_revoked event");
    for e in &events {
        assert_eq!(e["client_id"], "job", "{e}");
        assert_eq!(e["actor"], "client:job", "{e}");
    }
    // Neither the API nor the table holds the token, nor its signature.
    let signature = at.rsplit('.').next().unwrap();
    let shown = serde_json::to_string(&events).unwrap();
    assert!(
        !shown.contains(&at) && !shown.contains(signature),
        "{shown}"
    );
    for row in app.query("SELECT kind, detail FROM audit_events").await {
        let detail: Option<String> = row.try_get("", "detail").unwrap();
        let detail = detail.unwrap_or_default();
        assert!(
            !detail.contains(&at) && !detail.contains(signature),
            "{detail}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn client_lifetimes_and_redirect_uris_are_bounded() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let created = admin_send(
        &app,
        &admin,
        Method::POST,
        "/admin/v1/clients",
        json!({"client_id": "web", "public": true, "grant_types": ["password", "refresh_token"]}),
    )
    .await;
    created.assert_ok();
    let before = admin_get(&app, &admin, "/admin/v1/clients/web").await.body;

    let long_uri = format!("https://x.example/{}", "a".repeat(2048));
    let refused: Vec<(&str, Value)> = vec![
        ("access_ttl", json!({"access_ttl": 315_360_000})),
        ("access_ttl", json!({"access_ttl": 86_401})),
        ("access_ttl", json!({"access_ttl": 0})),
        ("refresh_idle_ttl", json!({"refresh_idle_ttl": 31_536_001})),
        ("refresh_absolute_ttl", json!({"refresh_absolute_ttl": 0})),
        ("reuse_leeway", json!({"reuse_leeway": 61})),
        ("reuse_leeway", json!({"reuse_leeway": -1})),
        (
            "redirect_uris",
            json!({"redirect_uris": ["https://x.example/cb#frag"]}),
        ),
        (
            "redirect_uris",
            json!({"redirect_uris": ["https://user:pw@x.example/cb"]}),
        ),
        ("redirect_uris", json!({"redirect_uris": ["/cb"]})),
        (
            "redirect_uris",
            json!({"redirect_uris": ["ftp://x.example/cb"]}),
        ),
        ("redirect_uris", json!({"redirect_uris": [long_uri]})),
    ];
    for (i, (field, settings)) in refused.iter().enumerate() {
        // On creation...
        let id = format!("bad{i}");
        let mut body = json!({"client_id": id, "public": true, "grant_types": ["password"]});
        for (k, v) in settings.as_object().unwrap() {
            body[k] = v.clone();
        }
        let a = admin_send(&app, &admin, Method::POST, "/admin/v1/clients", body).await;
        a.assert_error(400, "invalid_request");
        assert_eq!(a.body["field"], *field, "POST {settings}: {}", a.body);
        app.send_bearer(
            Method::GET,
            &format!("/admin/v1/clients/{id}"),
            &admin,
            None,
        )
        .await
        .assert_error(404, "not_found");
        // ...and on update.
        let a = admin_send(
            &app,
            &admin,
            Method::PATCH,
            "/admin/v1/clients/web",
            settings.clone(),
        )
        .await;
        a.assert_error(400, "invalid_request");
        assert_eq!(a.body["field"], *field, "PATCH {settings}: {}", a.body);
    }
    // Nothing changed, nothing was created.
    let after = admin_get(&app, &admin, "/admin/v1/clients/web").await.body;
    assert_eq!(before, after);
    let list = admin_get(&app, &admin, "/admin/v1/clients").await;
    assert_eq!(list.body["total"], 2, "{}", list.body);

    // The bounds themselves are allowed.
    let ok = admin_send(
        &app,
        &admin,
        Method::PATCH,
        "/admin/v1/clients/web",
        json!({"access_ttl": 86_400, "refresh_idle_ttl": 31_536_000,
               "refresh_absolute_ttl": 31_536_000, "reuse_leeway": 60,
               "redirect_uris": ["http://localhost:8080/cb", "https://app.example/cb?x=1"]}),
    )
    .await;
    ok.assert_ok();
    assert_eq!(ok.body["effective_access_ttl"], 86_400);
    assert_eq!(ok.body["effective_reuse_leeway"], 60);
    let ok = admin_send(
        &app,
        &admin,
        Method::PATCH,
        "/admin/v1/clients/web",
        json!({"access_ttl": 1, "refresh_idle_ttl": 1, "refresh_absolute_ttl": 1, "reuse_leeway": 0}),
    )
    .await;
    ok.assert_ok();
    assert_eq!(ok.body["reuse_leeway"], 0);
    app.stop().await;
}

#[tokio::test]
async fn disabling_a_user_ends_their_families_and_counts_them() {
    let app = spawn_app().await;
    let alice = app.add_user("alice", "alice-password", false).await;
    let bob = app.add_user("bob", "bob-password", false).await;
    app.add_client(ClientSpec::public("web")).await;
    let web = Auth::Public("web");
    let admin = app.admin_token().await;
    let me = app.admin_id().await;
    let mut live = Vec::new();
    for _ in 0..3 {
        let a = app.login(web, "alice", "alice-password").await;
        a.assert_ok();
        live.push(a);
    }
    // One already ended by a sign-out: not counted again.
    let gone = app.login(web, "alice", "alice-password").await;
    app.oauth_post(
        "/oauth/revoke",
        web,
        &[("token", gone.str("refresh_token"))],
    )
    .await
    .assert_ok();
    let bobs = app.login(web, "bob", "bob-password").await;
    bobs.assert_ok();

    let d = admin_send(
        &app,
        &admin,
        Method::PATCH,
        &format!("/admin/v1/users/{alice}"),
        json!({"disabled": true}),
    )
    .await;
    d.assert_ok();
    assert_eq!(d.body["disabled"], true);
    assert_eq!(d.body["live_sessions"], 0);

    // Ended by the operation itself, not by a later check.
    let fams = families(&app, &admin, &format!("user_id={alice}")).await;
    assert_eq!(fams.len(), 4, "{fams:?}");
    let by_reason = |r: &str| fams.iter().filter(|f| f["revoke_reason"] == r).count();
    assert!(fams.iter().all(|f| f["state"] == "revoked"), "{fams:?}");
    assert_eq!(by_reason("user_disabled"), 3, "{fams:?}");
    assert_eq!(by_reason("logout"), 1, "{fams:?}");
    let active = families(&app, &admin, &format!("user_id={alice}&state=active")).await;
    assert!(active.is_empty(), "{active:?}");
    for a in &live {
        app.refresh(web, a.str("refresh_token"))
            .await
            .assert_error(400, "invalid_grant");
    }
    // Bob is untouched.
    let b = families(&app, &admin, &format!("user_id={bob}")).await;
    assert_eq!(b[0]["state"], "active");

    let updated = audit(&app, &admin, &format!("kind=user_updated&user_id={alice}")).await;
    assert_eq!(updated.len(), 1, "{updated:?}");
    assert_eq!(
        updated[0]["detail"],
        json!({"disabled": true, "sessions_ended": 3})
    );
    assert_eq!(updated[0]["actor"], me.as_str());
    let revoked = audit(
        &app,
        &admin,
        &format!("kind=family_revoked&user_id={alice}"),
    )
    .await;
    let disabled: Vec<&Value> = revoked
        .iter()
        .filter(|e| e["reason"] == "user_disabled")
        .collect();
    assert_eq!(disabled.len(), 3, "{revoked:?}");
    assert!(disabled.iter().all(|e| e["actor"] == me.as_str()));
    app.stop().await;
}

// Known server bugs, found while writing the tests above. Each test states the behaviour
// the fixes promise; run them with `--ignored` once the server is fixed.

#[tokio::test]
async fn reenabling_a_client_does_not_revive_its_client_credentials_tokens() {
    let app = spawn_app().await;
    let rs = add_resource_server(&app).await;
    let job = app
        .add_client(ClientSpec {
            grants: "client_credentials",
            ..ClientSpec::confidential("job")
        })
        .await
        .unwrap();
    let admin = app.admin_token().await;
    let at = client_token(&app, "job", &job).await;
    for disabled in [true, false] {
        admin_send(
            &app,
            &admin,
            Method::PATCH,
            "/admin/v1/clients/job",
            json!({"disabled": disabled}),
        )
        .await
        .assert_ok();
        assert_eq!(
            introspect_as(&app, RS, &rs, &at).await,
            inactive(),
            "disabled: {disabled}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn a_new_client_under_a_removed_clients_id_does_not_inherit_its_tokens() {
    let app = spawn_app().await;
    let rs = add_resource_server(&app).await;
    let job = app
        .add_client(ClientSpec {
            grants: "client_credentials",
            ..ClientSpec::confidential("job")
        })
        .await
        .unwrap();
    let admin = app.admin_token().await;
    let at = client_token(&app, "job", &job).await;
    app.send_bearer(Method::DELETE, "/admin/v1/clients/job", &admin, None)
        .await
        .assert_ok();
    assert_eq!(introspect_as(&app, RS, &rs, &at).await, inactive());
    admin_send(
        &app,
        &admin,
        Method::POST,
        "/admin/v1/clients",
        json!({"client_id": "job", "grant_types": ["client_credentials"]}),
    )
    .await
    .assert_ok();
    assert_eq!(introspect_as(&app, RS, &rs, &at).await, inactive());
    app.stop().await;
}

/// A client row stored before lifetimes were bounded: its ten-year access lifetime is
/// clamped to a day where it is used, and the client can still be disabled (the edit
/// clamps the stored value instead of refusing it).
#[tokio::test]
async fn stored_lifetimes_from_before_the_bounds_are_clamped() {
    let app = spawn_app().await;
    app.add_user("carol", "carol-password", false).await;
    app.add_client(ClientSpec {
        access_ttl: Some(10 * 365 * 24 * 3600),
        ..ClientSpec::public("legacy")
    })
    .await;
    let login = app
        .login(Auth::Public("legacy"), "carol", "carol-password")
        .await;
    login.assert_ok();
    assert_eq!(login.body["expires_in"], 86400, "{}", login.body);
    let admin = app.admin_token().await;
    let r = admin_send(
        &app,
        &admin,
        Method::PATCH,
        "/admin/v1/clients/legacy",
        json!({"disabled": true}),
    )
    .await;
    r.assert_ok();
    assert_eq!(r.body["access_ttl"], 86400, "{}", r.body);
    assert_eq!(r.body["disabled"], true);
    app.stop().await;
}
