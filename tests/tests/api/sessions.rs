//! `/me/sessions`: a user's own refresh families.

use reqwest::Method;
use serde_json::json;
use tessera_tests::{Auth, ClientSpec, spawn_app};

#[tokio::test]
async fn users_list_and_end_their_own_sessions() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password", false).await;
    app.add_user("bob", "bob-password", false).await;
    app.add_client(ClientSpec::public("web")).await;
    let laptop = app
        .login(Auth::Public("web"), "alice", "alice-password")
        .await;
    let phone = app
        .login(Auth::Public("web"), "alice", "alice-password")
        .await;
    let bob = app.login(Auth::Public("web"), "bob", "bob-password").await;
    let at = laptop.str("access_token");

    let list = app.get_bearer("/me/sessions", at).await;
    list.assert_ok();
    let sessions = list.body["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    for s in sessions {
        assert_eq!(s["client_id"], "web");
        assert_eq!(s["ip"], "127.0.0.1");
        assert!(s["created_at"].as_str().unwrap().contains('T'));
    }
    let phone_sid = sessions.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Bob cannot end Alice's session.
    let bob_at = bob.str("access_token");
    app.delete_bearer(&format!("/me/sessions/{phone_sid}"), bob_at)
        .await
        .assert_error(404, "not_found");
    let ended = app
        .delete_bearer(&format!("/me/sessions/{phone_sid}"), at)
        .await;
    ended.assert_ok();
    assert_eq!(ended.body["revoked"], 1);
    app.refresh(Auth::Public("web"), phone.str("refresh_token"))
        .await
        .assert_error(400, "invalid_grant");
    // Sign out everywhere, this session included: its access token stops working here.
    let all = app.delete_bearer("/me/sessions", at).await;
    all.assert_ok();
    assert_eq!(all.body["revoked"], 1);
    app.get_bearer("/me/sessions", at)
        .await
        .assert_error(401, "invalid_token");
    // Bob is unaffected.
    app.get_bearer("/me/sessions", bob_at).await.assert_ok();
    app.stop().await;
}

/// A confused deputy: a third-party app (one the user consents to) holds a token of the
/// user, and so does every API it sends that token to. It may list or end the user's
/// sessions only with `tessera:sessions`, which it gets only on the consent page (tested
/// in `consent.rs`); the operator's own (first-party) apps may. The password grant shows
/// no consent page, so it never grants that scope to a third-party client.
#[tokio::test]
async fn third_party_tokens_need_the_sessions_scope() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password", false).await;
    app.add_client(ClientSpec::public("web")).await;
    app.add_client(ClientSpec {
        scope: "read tessera:sessions",
        ..ClientSpec::public("third")
    })
    .await;
    let admin = app.admin_token().await;
    app.send_bearer(
        Method::PATCH,
        "/admin/v1/clients/third",
        &admin,
        Some(json!({"require_consent": true})),
    )
    .await
    .assert_ok();
    let first = app
        .login(Auth::Public("web"), "alice", "alice-password")
        .await;
    login_third(&app, Some("read tessera:sessions"))
        .await
        .assert_error(400, "invalid_scope");
    // Asking for nothing grants what the client may have, less that scope.
    let third = login_third(&app, None).await;
    third.assert_ok();
    assert_eq!(third.str("scope"), "read");
    let at = third.str("access_token");
    let refused = app.get_bearer("/me/sessions", at).await;
    refused.assert_error(403, "insufficient_scope");
    assert_eq!(
        refused.headers["www-authenticate"],
        "Bearer realm=\"tessera\", error=\"insufficient_scope\""
    );
    app.delete_bearer("/me/sessions", at)
        .await
        .assert_error(403, "insufficient_scope");
    // Nothing was ended: the first-party session still refreshes.
    app.refresh(Auth::Public("web"), first.str("refresh_token"))
        .await
        .assert_ok();
    // A first-party app's token needs no such scope (its scope is `read write`).
    let list = app
        .get_bearer("/me/sessions", first.str("access_token"))
        .await;
    list.assert_ok();
    assert_eq!(list.body["sessions"].as_array().unwrap().len(), 2);
    app.stop().await;
}

async fn login_third(app: &tessera_tests::TestApp, scope: Option<&str>) -> tessera_tests::Answer {
    let mut form = vec![
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", "alice-password"),
    ];
    form.extend(scope.map(|s| ("scope", s)));
    app.token(Auth::Public("third"), &form).await
}

#[tokio::test]
async fn sessions_need_a_valid_user_token() {
    let app = spawn_app().await;
    let secret = app
        .add_client(ClientSpec {
            grants: "client_credentials",
            ..ClientSpec::confidential("svc")
        })
        .await
        .unwrap();
    let none = app.http.get(app.url("/me/sessions")).send().await.unwrap();
    let none = tessera_tests::TestApp::answer(none).await;
    assert_eq!(none.status, 401, "{}", none.body);
    assert!(none.headers.contains_key("www-authenticate"));
    let garbage = app.get_bearer("/me/sessions", "not.a.jwt").await;
    garbage.assert_error(401, "invalid_token");
    assert!(
        garbage.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let cc = app
        .token(
            Auth::Basic("svc", &secret),
            &[("grant_type", "client_credentials")],
        )
        .await;
    app.get_bearer("/me/sessions", cc.str("access_token"))
        .await
        .assert_error(403, "insufficient_scope");
    app.stop().await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_recorded() {
    let app = tessera_tests::spawn_app_with(|s| s.trusted_proxy_hops = 1).await;
    app.add_user("alice", "alice-password", false).await;
    app.add_client(ClientSpec::public("web")).await;
    let resp = app
        .http
        .post(app.url("/oauth/token"))
        // The first entry is what the client claims; the last is what our proxy saw.
        .header("x-forwarded-for", "6.6.6.6, 203.0.113.9")
        .form(&[
            ("grant_type", "password"),
            ("client_id", "web"),
            ("username", "alice"),
            ("password", "alice-password"),
        ])
        .send()
        .await
        .unwrap();
    let a = tessera_tests::TestApp::answer(resp).await;
    a.assert_ok();
    let list = app.get_bearer("/me/sessions", a.str("access_token")).await;
    assert_eq!(list.body["sessions"][0]["ip"], "203.0.113.9");
    app.stop().await;
}
