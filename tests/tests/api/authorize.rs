//! The authorize endpoint, its sign-in page and the authorization-code grant with PKCE
//! (DESIGN.md, "Browser sign-in"): parameter checks and where their errors go, the form
//! and its CSRF protection, the brute-force rules shared with the password grant, the
//! code's single use and lifetime, the sign-in session, logout, and the security headers
//! of every page.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tessera_tests::browser_flow::{
    Browser, Flow, Page, SPA_CALLBACK, add_browser_client, browser_client, csrf_cookie, family,
    form_of, session_cookie, sid_of,
};
use tessera_tests::{Answer, Auth, ClientSpec, TestApp, spawn_app, spawn_app_with};

const PASSWORD: &str = "alice-password";
const OTHER_CALLBACK: &str = "http://127.0.0.1:5173/other";

/// alice, and the first-party public client `spa` (one redirect URI); the admin token.
async fn setup(app: &TestApp) -> String {
    app.add_user("alice", PASSWORD, false).await;
    let admin = app.admin_token().await;
    add_browser_client(app, &admin, browser_client("spa", &[SPA_CALLBACK])).await;
    admin
}

fn flow() -> Flow {
    Flow::new("spa", SPA_CALLBACK, "read")
}

/// Trades a code at the token endpoint as the public client of `flow`.
async fn exchange(app: &TestApp, flow: &Flow, code: &str) -> Answer {
    exchange_with(app, flow, code, &[]).await
}

/// `exchange` with some form fields replaced (`Some`) or removed (`None`).
async fn exchange_with(
    app: &TestApp,
    flow: &Flow,
    code: &str,
    changes: &[(&str, Option<&str>)],
) -> Answer {
    let mut form: Vec<(String, String)> = flow.exchange_form(code);
    form.retain(|(k, _)| k != "client_id");
    for (k, v) in changes {
        form.retain(|(n, _)| n != k);
        if let Some(v) = v {
            form.push(((*k).to_owned(), (*v).to_owned()));
        }
    }
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    app.token(Auth::Public(&flow.client_id), &form).await
}

/// A 400 HTML error page that redirects nowhere.
#[track_caller]
fn assert_error_page(page: &Page, why: &str) {
    assert_eq!(page.status, 400, "{why}: {}", page.body);
    assert!(
        page.location().is_none(),
        "{why}: never a redirect, got Location {:?}",
        page.location()
    );
    page.assert_html_security_headers();
    assert!(!page.is_sign_in(), "{why}: no sign-in form");
}

async fn signin_sessions(app: &TestApp, admin: &str, query: &str) -> Vec<Value> {
    let a = app
        .send_bearer(
            Method::GET,
            &format!("/admin/v1/signin-sessions?{query}"),
            admin,
            None,
        )
        .await;
    a.assert_ok();
    a.body["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn sign_in_redirects_with_a_code_that_starts_a_new_family() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let flow = flow();
    let mut b = Browser::new(&app);

    let page = b.get(&flow.path()).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.assert_html_security_headers();
    assert!(page.is_sign_in(), "{}", page.body);
    // Browsers apply form-action to the redirect after the post: it must name the app.
    let csp = page.header("content-security-policy").unwrap();
    let form_action = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("form-action"))
        .unwrap();
    assert!(
        form_action
            .split(' ')
            .any(|s| s == "http://127.0.0.1:5173" || s == SPA_CALLBACK),
        "{csp}"
    );
    assert!(
        page.body
            .contains(r#"<form method="post" action="/oauth/authorize">"#),
        "{}",
        page.body
    );
    for id in ["username", "password"] {
        assert!(
            page.body.contains(&format!(r#"<label for="{id}">"#)),
            "a label for {id}: {}",
            page.body
        );
    }
    // The form echoes every authorize parameter that was sent.
    for (k, v) in flow.params() {
        assert_eq!(page.hidden(&k).as_deref(), Some(v.as_str()), "hidden {k}");
    }
    // The CSRF cookie, and the form's token equal to it; no session yet.
    let csrf = page
        .cookie(&csrf_cookie(true))
        .unwrap_or_else(|| panic!("a CSRF cookie: {:?}", page.cookies));
    csrf.assert_attributes(true, "Strict");
    assert!(csrf.value.len() >= 16, "{}", csrf.value);
    assert_eq!(page.csrf_token(), csrf.value);
    assert!(page.cookie(&session_cookie(true)).is_none());

    let done = b.sign_in(&page, "alice", PASSWORD).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let session = done
        .cookie(&session_cookie(true))
        .unwrap_or_else(|| panic!("a session cookie: {:?}", done.cookies));
    session.assert_attributes(true, "Lax");
    assert_eq!(session.max_age(), Some(28800), "{}", session.raw);
    assert!(session.value.len() >= 32, "{}", session.value);
    let code = flow.code_from(&done, &app.base);
    assert!(code.len() >= 43, "256 random bits: {code}");

    let t = exchange(&app, &flow, &code).await;
    t.assert_ok();
    assert_eq!(t.headers["cache-control"], "no-store");
    assert_eq!(t.str("token_type"), "Bearer");
    assert_eq!(t.str("scope"), "read");
    assert!(t.str("refresh_token").starts_with("tsr_"));
    let sid = sid_of(t.str("access_token"));
    let f = family(&app, &admin, &sid).await;
    assert_eq!(f["username"], "alice", "{f}");
    assert_eq!(f["client_id"], "spa", "{f}");
    assert_eq!(f["state"], "active", "{f}");
    // A real session: /me works, the refresh token rotates within the family.
    app.get_bearer("/me/sessions", t.str("access_token"))
        .await
        .assert_ok();
    let r = app
        .refresh(Auth::Public("spa"), t.str("refresh_token"))
        .await;
    r.assert_ok();
    assert_eq!(sid_of(r.str("access_token")), sid);
    app.stop().await;
}

#[tokio::test]
async fn pkce_s256_is_required_and_plain_is_refused() {
    let app = spawn_app().await;
    setup(&app).await;
    let flow = flow();
    let verifier = flow.verifier.clone();
    for (why, changes) in [
        ("no code_challenge", vec![("code_challenge", None)]),
        (
            "no code_challenge at all",
            vec![("code_challenge", None), ("code_challenge_method", None)],
        ),
        (
            "method plain",
            vec![
                ("code_challenge", Some(verifier.as_str())),
                ("code_challenge_method", Some("plain")),
            ],
        ),
        ("no method (RFC 7636 would mean plain)", {
            vec![("code_challenge_method", None)]
        }),
        (
            "unknown method",
            vec![("code_challenge_method", Some("S512"))],
        ),
    ] {
        let mut b = Browser::new(&app);
        let page = b.get(&flow.path_with(&changes)).await;
        assert_eq!(page.status, 302, "{why}: {}", page.body);
        flow.assert_error_redirect(&page, &app.base, "invalid_request");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_wrong_or_missing_verifier_is_refused() {
    let app = spawn_app().await;
    setup(&app).await;
    let flow = flow();
    let mut b = Browser::new(&app);
    let code = b.code(&app, &flow, "alice", PASSWORD).await;
    let other = Flow::new("spa", SPA_CALLBACK, "read");
    exchange_with(
        &app,
        &flow,
        &code,
        &[("code_verifier", Some(&other.verifier))],
    )
    .await
    .assert_error(400, "invalid_grant");
    // The challenge itself is not the verifier.
    let code = b.code(&app, &flow, "alice", PASSWORD).await;
    exchange_with(
        &app,
        &flow,
        &code,
        &[("code_verifier", Some(&flow.challenge))],
    )
    .await
    .assert_error(400, "invalid_grant");
    let code = b.code(&app, &flow, "alice", PASSWORD).await;
    // A missing parameter is a malformed request (RFC 6749 §5.2).
    let a = exchange_with(&app, &flow, &code, &[("code_verifier", None)]).await;
    a.assert_error(400, "invalid_request");
    assert!(a.body.get("access_token").is_none());
    app.stop().await;
}

#[tokio::test]
async fn a_refused_exchange_leaves_the_code_to_its_owner() {
    let app = spawn_app().await;
    setup(&app).await;
    let flow = flow();
    let mut b = Browser::new(&app);
    let code = b.code(&app, &flow, "alice", PASSWORD).await;
    // Someone with the code but not the verifier (or with the wrong URI) cannot burn it.
    let other = Flow::new("spa", SPA_CALLBACK, "read");
    exchange_with(
        &app,
        &flow,
        &code,
        &[("code_verifier", Some(&other.verifier))],
    )
    .await
    .assert_error(400, "invalid_grant");
    exchange_with(
        &app,
        &flow,
        &code,
        &[("redirect_uri", Some(OTHER_CALLBACK))],
    )
    .await
    .assert_error(400, "invalid_grant");
    exchange(&app, &flow, &code).await.assert_ok();
    app.stop().await;
}

#[tokio::test]
async fn a_code_replayed_after_its_60_seconds_still_revokes_the_family() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let flow = flow();
    let mut b = Browser::new(&app);
    let code = b.code(&app, &flow, "alice", PASSWORD).await;
    let first = exchange(&app, &flow, &code).await;
    first.assert_ok();
    let sid = sid_of(first.str("access_token"));
    app.clock.advance(Duration::from_secs(120));
    exchange(&app, &flow, &code)
        .await
        .assert_error(400, "invalid_grant");
    let f = family(&app, &admin, &sid).await;
    assert_eq!(f["revoke_reason"], "code_reused", "{f}");
    app.stop().await;
}

#[tokio::test]
async fn a_code_dies_with_the_sign_in_session_that_issued_it() {
    let app = spawn_app().await;
    setup(&app).await;
    let flow = flow();
    let mut b = Browser::new(&app);
    let code = b.code(&app, &flow, "alice", PASSWORD).await;
    let out = b.get("/oauth/logout").await;
    assert_eq!(out.status, 200);
    exchange(&app, &flow, &code)
        .await
        .assert_error(400, "invalid_grant");
    app.stop().await;
}

#[tokio::test]
async fn a_code_works_once_and_its_replay_revokes_the_family() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let rs = app
        .add_client(ClientSpec {
            grants: "client_credentials",
            ..ClientSpec::confidential("rs")
        })
        .await
        .unwrap();
    let flow = flow();
    let mut b = Browser::new(&app);
    let code = b.code(&app, &flow, "alice", PASSWORD).await;
    let first = exchange(&app, &flow, &code).await;
    first.assert_ok();
    let sid = sid_of(first.str("access_token"));
    assert_eq!(family(&app, &admin, &sid).await["state"], "active");

    let again = exchange(&app, &flow, &code).await;
    again.assert_error(400, "invalid_grant");
    assert!(again.body.get("access_token").is_none());
    let f = family(&app, &admin, &sid).await;
    assert_eq!(f["state"], "revoked", "{f}");
    assert_eq!(f["revoke_reason"], "code_reused", "{f}");
    // Everything the first use issued is dead.
    app.refresh(Auth::Public("spa"), first.str("refresh_token"))
        .await
        .assert_error(400, "invalid_grant");
    let i = app
        .oauth_post(
            "/oauth/introspect",
            Auth::Basic("rs", &rs),
            &[("token", first.str("access_token"))],
        )
        .await;
    i.assert_ok();
    assert_eq!(i.body, json!({"active": false}));
    app.stop().await;
}

#[tokio::test]
async fn a_code_expires_after_60_seconds() {
    let app = spawn_app().await;
    setup(&app).await;
    let mut b = Browser::new(&app);
    let early = flow();
    let code = b.code(&app, &early, "alice", PASSWORD).await;
    app.clock.advance(Duration::from_secs(58));
    exchange(&app, &early, &code).await.assert_ok();

    // The session skips the password for the second code.
    let late = flow();
    let page = b.get(&late.path()).await;
    let code = late.code_from(&page, &app.base);
    app.clock.advance(Duration::from_secs(61));
    exchange(&app, &late, &code)
        .await
        .assert_error(400, "invalid_grant");
    app.stop().await;
}

#[tokio::test]
async fn the_code_is_bound_to_its_redirect_uri_and_client() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    add_browser_client(
        &app,
        &admin,
        browser_client("two", &[SPA_CALLBACK, OTHER_CALLBACK]),
    )
    .await;
    let flow = Flow::new("two", SPA_CALLBACK, "read");
    let mut b = Browser::new(&app);

    // Another registered URI at token time.
    let code = b.code(&app, &flow, "alice", PASSWORD).await;
    exchange_with(
        &app,
        &flow,
        &code,
        &[("redirect_uri", Some(OTHER_CALLBACK))],
    )
    .await
    .assert_error(400, "invalid_grant");
    // Sent to authorize, left out at token time.
    let page = b.get(&flow.path()).await;
    let code = flow.code_from(&page, &app.base);
    // The code is bound to the redirect URI it was sent with (RFC 6749 §4.1.3).
    let a = exchange_with(&app, &flow, &code, &[("redirect_uri", None)]).await;
    a.assert_error(400, "invalid_grant");
    // Another client presents the code (with the right verifier and URI).
    let page = b.get(&flow.path()).await;
    let code = flow.code_from(&page, &app.base);
    let thief = Flow {
        client_id: "spa".into(),
        ..flow.clone()
    };
    exchange(&app, &thief, &code)
        .await
        .assert_error(400, "invalid_grant");
    // And the proper exchange still works for a fresh code.
    let page = b.get(&flow.path()).await;
    let code = flow.code_from(&page, &app.base);
    exchange(&app, &flow, &code).await.assert_ok();
    app.stop().await;
}

#[tokio::test]
async fn redirect_uri_may_be_omitted_only_when_exactly_one_is_registered() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    add_browser_client(
        &app,
        &admin,
        browser_client("two", &[SPA_CALLBACK, OTHER_CALLBACK]),
    )
    .await;
    let flow = flow();
    let mut b = Browser::new(&app);
    let page = b.get(&flow.path_with(&[("redirect_uri", None)])).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let done = b.sign_in(&page, "alice", PASSWORD).await;
    let code = flow.code_from(&done, &app.base);
    // Not sent to authorize, so not needed at token time.
    exchange_with(&app, &flow, &code, &[("redirect_uri", None)])
        .await
        .assert_ok();

    // Two registered: the server cannot know where to send the browser.
    let two = Flow::new("two", SPA_CALLBACK, "read");
    let page = b.get(&two.path_with(&[("redirect_uri", None)])).await;
    assert_error_page(&page, "two URIs, none sent");
    app.stop().await;
}

#[tokio::test]
async fn unknown_client_or_redirect_uri_gets_an_error_page_never_a_redirect() {
    let app = spawn_app().await;
    setup(&app).await;
    let flow = flow();
    let mut b = Browser::new(&app);
    for (why, changes) in [
        ("unknown client", vec![("client_id", Some("nope"))]),
        ("no client", vec![("client_id", None)]),
        (
            "foreign redirect_uri",
            vec![("redirect_uri", Some("https://evil.example/callback"))],
        ),
        (
            "a longer path",
            vec![("redirect_uri", Some("http://127.0.0.1:5173/callback/x"))],
        ),
        (
            "an added query",
            vec![("redirect_uri", Some("http://127.0.0.1:5173/callback?x=1"))],
        ),
        (
            "another port",
            vec![("redirect_uri", Some("http://127.0.0.1:5174/callback"))],
        ),
        // Even with other errors that would otherwise be redirected.
        (
            "unknown client and a bad response_type",
            vec![
                ("client_id", Some("nope")),
                ("response_type", Some("token")),
            ],
        ),
        (
            "foreign redirect_uri and no PKCE",
            vec![
                ("redirect_uri", Some("https://evil.example/callback")),
                ("code_challenge", None),
            ],
        ),
    ] {
        let page = b.get(&flow.path_with(&changes)).await;
        assert_error_page(&page, why);
    }
    app.stop().await;
}

#[tokio::test]
async fn other_errors_are_redirected_with_error_state_and_iss() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let mut pw_only = browser_client("pw", &[SPA_CALLBACK]);
    pw_only["grant_types"] = json!(["password", "refresh_token"]);
    add_browser_client(&app, &admin, pw_only).await;
    let flow = flow();
    let mut b = Browser::new(&app);
    for (changes, error) in [
        (
            vec![("response_type", Some("token"))],
            "unsupported_response_type",
        ),
        (
            vec![("response_type", Some("code id_token"))],
            "unsupported_response_type",
        ),
        (vec![("response_type", None)], "invalid_request"),
        (vec![("scope", Some("read admin"))], "invalid_scope"),
    ] {
        let page = b.get(&flow.path_with(&changes)).await;
        assert_eq!(page.status, 302, "{error}: {}", page.body);
        flow.assert_error_redirect(&page, &app.base, error);
    }
    // A client without the authorization_code grant.
    let pw = Flow::new("pw", SPA_CALLBACK, "read");
    let page = b.get(&pw.path()).await;
    pw.assert_error_redirect(&page, &app.base, "unauthorized_client");
    // Nothing was signed in along the way.
    assert!(b.cookie(&session_cookie(true)).is_none());
    app.stop().await;
}

#[tokio::test]
async fn malformed_requests_to_a_known_client_are_redirected_as_invalid_request() {
    let app = spawn_app().await;
    setup(&app).await;
    let flow = flow();
    let mut b = Browser::new(&app);
    for (why, extra) in [
        ("state twice", vec![("state", flow.state.as_str())]),
        ("scope twice", vec![("scope", "read")]),
        ("prompt=none with login", vec![("prompt", "none login")]),
        ("a challenge of the wrong length", vec![]),
    ] {
        let path = if extra.is_empty() {
            flow.path_with(&[("code_challenge", Some("too-short"))])
        } else {
            let mut params = flow.params();
            params.extend(
                extra
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
            );
            tessera_tests::browser_flow::authorize_path(&params)
        };
        let page = b.get(&path).await;
        assert_eq!(page.status, 302, "{why}: {}", page.body);
        let r = page.redirect();
        assert_eq!(r.target, SPA_CALLBACK, "{why}");
        assert_eq!(r.param("error"), Some("invalid_request"), "{why}: {r:?}");
        assert_eq!(r.param("iss"), Some(app.base.as_str()), "{why}");
    }
    // client_id twice: the client is in doubt, so a page.
    let mut params = flow.params();
    params.push(("client_id".into(), "spa".into()));
    let page = b
        .get(&tessera_tests::browser_flow::authorize_path(&params))
        .await;
    assert_error_page(&page, "client_id twice");
    // An oversized state is refused and not echoed.
    let long = "s".repeat(1025);
    let page = b.get(&flow.path_with(&[("state", Some(&long))])).await;
    let r = page.redirect();
    assert_eq!(r.param("error"), Some("invalid_request"), "{r:?}");
    assert!(r.param("state").is_none(), "{r:?}");
    app.stop().await;
}

#[tokio::test]
async fn without_a_scope_the_clients_scopes_are_granted() {
    let app = spawn_app().await;
    setup(&app).await;
    let flow = flow();
    let mut b = Browser::new(&app);
    let page = b.get(&flow.path_with(&[("scope", None)])).await;
    let done = b.sign_in(&page, "alice", PASSWORD).await;
    let code = flow.code_from(&done, &app.base);
    let t = exchange(&app, &flow, &code).await;
    t.assert_ok();
    let mut granted: Vec<&str> = t.str("scope").split(' ').collect();
    granted.sort();
    assert_eq!(granted, ["read", "write"]);
    app.stop().await;
}

#[tokio::test]
async fn disabling_the_user_ends_the_sign_in_session() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let alice = app
        .query("SELECT id FROM users WHERE username = 'alice'")
        .await[0]
        .try_get::<String>("", "id")
        .unwrap();
    let flow = flow();
    let mut b = Browser::new(&app);
    b.code(&app, &flow, "alice", PASSWORD).await;
    app.send_bearer(
        Method::PATCH,
        &format!("/admin/v1/users/{alice}"),
        &admin,
        Some(json!({"disabled": true})),
    )
    .await
    .assert_ok();
    let page = b.get(&flow.path_with(&[("prompt", Some("none"))])).await;
    flow.assert_error_redirect(&page, &app.base, "login_required");
    // And a disabled user cannot sign in on the page: the same message as a wrong password.
    let page = b.get(&flow.path()).await;
    let refused = b.sign_in(&page, "alice", PASSWORD).await;
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert_eq!(
        refused.alert().as_deref(),
        Some("The user name or password is incorrect.")
    );
    assert!(refused.cookie(&session_cookie(true)).is_none());
    app.stop().await;
}

#[tokio::test]
async fn prompt_none_without_a_session_is_login_required() {
    let app = spawn_app().await;
    setup(&app).await;
    let flow = flow();
    let mut b = Browser::new(&app);
    let page = b.get(&flow.path_with(&[("prompt", Some("none"))])).await;
    assert_eq!(page.status, 302, "{}", page.body);
    flow.assert_error_redirect(&page, &app.base, "login_required");
    // With a session, prompt=none answers with the code.
    b.code(&app, &flow, "alice", PASSWORD).await;
    let page = b.get(&flow.path_with(&[("prompt", Some("none"))])).await;
    let code = flow.code_from(&page, &app.base);
    exchange(&app, &flow, &code).await.assert_ok();
    app.stop().await;
}

#[tokio::test]
async fn prompt_login_asks_for_the_password_despite_a_session() {
    let app = spawn_app().await;
    setup(&app).await;
    let flow = flow();
    let mut b = Browser::new(&app);
    b.code(&app, &flow, "alice", PASSWORD).await;
    let page = b.get(&flow.path_with(&[("prompt", Some("login"))])).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.is_sign_in(), "{}", page.body);
    page.assert_html_security_headers();
    assert_eq!(page.hidden("prompt").as_deref(), Some("login"));
    // A wrong password is refused even though a session exists.
    let wrong = b.sign_in(&page, "alice", "not-it").await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert!(wrong.location().is_none());
    let done = b.sign_in(&wrong, "alice", PASSWORD).await;
    let code = flow.code_from(&done, &app.base);
    exchange(&app, &flow, &code).await.assert_ok();
    app.stop().await;
}

#[tokio::test]
async fn a_session_skips_the_password_for_another_client() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    add_browser_client(&app, &admin, browser_client("wiki", &[OTHER_CALLBACK])).await;
    let mut b = Browser::new(&app);
    let spa = flow();
    let code = b.code(&app, &spa, "alice", PASSWORD).await;
    let one = exchange(&app, &spa, &code).await;
    one.assert_ok();

    let wiki = Flow::new("wiki", OTHER_CALLBACK, "read write");
    let page = b.get(&wiki.path()).await;
    assert_eq!(page.status, 302, "straight to the code: {}", page.body);
    let code = wiki.code_from(&page, &app.base);
    let two = exchange(&app, &wiki, &code).await;
    two.assert_ok();
    assert_eq!(two.str("scope"), "read write");
    let (a, b2) = (
        sid_of(one.str("access_token")),
        sid_of(two.str("access_token")),
    );
    assert_ne!(a, b2, "each code starts its own family");
    let f = family(&app, &admin, &b2).await;
    assert_eq!(
        (f["username"].clone(), f["client_id"].clone()),
        (json!("alice"), json!("wiki"))
    );

    // Another browser (no cookie) gets the sign-in page.
    let mut other = Browser::new(&app);
    let page = other.get(&wiki.path()).await;
    assert_eq!(page.status, 200);
    assert!(page.is_sign_in());
    app.stop().await;
}

#[tokio::test]
async fn the_session_ends_after_sso_session_ttl() {
    let app = spawn_app_with(|s| s.sso_session_ttl = 600).await;
    setup(&app).await;
    let flow = flow();
    let mut b = Browser::new(&app);
    let page = b.get(&flow.path()).await;
    let done = b.sign_in(&page, "alice", PASSWORD).await;
    let c = done.cookie(&session_cookie(true)).unwrap();
    assert_eq!(c.max_age(), Some(600), "{}", c.raw);
    app.clock.advance(Duration::from_secs(590));
    let page = b.get(&flow.path()).await;
    flow.code_from(&page, &app.base);
    app.clock.advance(Duration::from_secs(20));
    let page = b.get(&flow.path()).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.is_sign_in());
    let page = b.get(&flow.path_with(&[("prompt", Some("none"))])).await;
    flow.assert_error_redirect(&page, &app.base, "login_required");
    app.stop().await;
}

#[tokio::test]
async fn the_sign_in_form_is_protected_against_csrf() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let flow = flow();
    let mut b = Browser::new(&app);
    let page = b.get(&flow.path()).await;
    let good = form_of(
        &page,
        &[
            ("username", "alice"),
            ("password", PASSWORD),
            ("action", "sign_in"),
        ],
    );
    let without = |name: &str| -> Vec<(String, String)> {
        good.iter().filter(|(k, _)| k != name).cloned().collect()
    };
    let with = |name: &str, value: &str| -> Vec<(String, String)> {
        let mut f = without(name);
        f.push((name.to_owned(), value.to_owned()));
        f
    };
    let csrf_name = csrf_cookie(true);
    let csrf_value = b.cookie(&csrf_name).unwrap().to_owned();
    let origin = app.base.clone();

    type Case<'a> = (&'a str, Vec<(String, String)>, Option<&'a str>, bool);
    let cases: Vec<Case> = vec![
        ("no csrf_token", without("csrf_token"), Some(&origin), true),
        (
            "a wrong csrf_token",
            with("csrf_token", "forged"),
            Some(&origin),
            true,
        ),
        ("no CSRF cookie", good.clone(), Some(&origin), false),
        (
            "a cross-site Origin",
            good.clone(),
            Some("https://evil.example"),
            true,
        ),
        ("Origin null", good.clone(), Some("null"), true),
        (
            "the issuer on another port",
            good.clone(),
            Some("http://127.0.0.1:1"),
            true,
        ),
    ];
    for (why, form, origin, keep_cookie) in cases {
        b.set_cookie(&csrf_name, &csrf_value);
        if !keep_cookie {
            b.remove_cookie(&csrf_name);
        }
        let headers: Vec<(&str, &str)> = origin.iter().map(|o| ("origin", *o)).collect();
        let refused = b
            .send(Method::POST, "/oauth/authorize", &headers, Some(&form))
            .await;
        assert_eq!(refused.status, 403, "{why}: {}", refused.body);
        assert!(refused.location().is_none(), "{why}");
        assert!(
            refused.cookie(&session_cookie(true)).is_none(),
            "{why}: no session"
        );
        refused.assert_html_security_headers();
        // A fresh form to try again, with a new CSRF cookie.
        assert!(refused.is_sign_in(), "{why}: {}", refused.body);
        let fresh = refused
            .cookie(&csrf_name)
            .unwrap_or_else(|| panic!("{why}: a new CSRF cookie"));
        assert_ne!(fresh.value, csrf_value, "{why}");
        assert_eq!(refused.csrf_token(), fresh.value, "{why}");
    }
    assert!(
        signin_sessions(&app, &admin, "include_ended=true")
            .await
            .is_empty(),
        "no sign-in session was created"
    );
    // The same form, same cookie, same-origin (or no Origin at all): accepted.
    b.set_cookie(&csrf_name, &csrf_value);
    let ok = b
        .send(Method::POST, "/oauth/authorize", &[], Some(&good))
        .await;
    flow.code_from(&ok, &app.base);
    assert!(ok.cookie(&session_cookie(true)).is_some());
    app.stop().await;
}

#[tokio::test]
async fn a_wrong_password_shows_the_form_again_with_401() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let flow = flow();
    let mut b = Browser::new(&app);
    let page = b.get(&flow.path()).await;
    for (user, password) in [("alice", "wrong"), ("nobody", PASSWORD)] {
        let wrong = b.sign_in(&page, user, password).await;
        assert_eq!(wrong.status, 401, "{user}: {}", wrong.body);
        assert!(wrong.location().is_none());
        assert!(wrong.cookie(&session_cookie(true)).is_none());
        wrong.assert_html_security_headers();
        assert!(wrong.is_sign_in(), "{}", wrong.body);
        assert_eq!(
            wrong.alert().as_deref(),
            Some("The user name or password is incorrect."),
            "{}",
            wrong.body
        );
        // The form still carries the request.
        assert_eq!(wrong.hidden("state").as_deref(), Some(flow.state.as_str()));
    }
    assert!(
        signin_sessions(&app, &admin, "include_ended=true")
            .await
            .is_empty()
    );
    app.stop().await;
}

#[tokio::test]
async fn the_sign_in_form_shares_the_lockout_of_the_password_grant() {
    let app = spawn_app().await;
    setup(&app).await;
    app.add_user("bob", "bob-password", false).await;
    let flow = flow();
    app.add_client(ClientSpec::public("cli")).await;
    let grant = Auth::Public("cli");

    // Three failures through the password grant delay the form.
    for _ in 0..3 {
        app.login(grant, "alice", "wrong")
            .await
            .assert_error(400, "invalid_grant");
    }
    let mut b = Browser::new(&app);
    let page = b.get(&flow.path()).await;
    let delayed = b.sign_in(&page, "alice", PASSWORD).await;
    assert_eq!(delayed.status, 429, "{}", delayed.body);
    assert!(delayed.header("retry-after").is_some());
    assert!(delayed.cookie(&session_cookie(true)).is_none());
    assert!(delayed.location().is_none());
    delayed.assert_html_security_headers();
    // Failures alternate between the form and the grant until the account locks.
    for i in 3..10 {
        app.clock.advance(Duration::from_secs(61));
        if i % 2 == 0 {
            let page = b.get(&flow.path()).await;
            let wrong = b.sign_in(&page, "alice", "wrong").await;
            assert_eq!(wrong.status, 401, "failure {i}: {}", wrong.body);
        } else {
            app.login(grant, "alice", "wrong")
                .await
                .assert_error(400, "invalid_grant");
        }
    }
    app.clock.advance(Duration::from_secs(61));
    let page = b.get(&flow.path()).await;
    let locked = b.sign_in(&page, "alice", PASSWORD).await;
    assert_eq!(locked.status, 429, "{}", locked.body);
    let retry: i64 = locked.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 60 && retry <= 900, "{retry}");
    assert!(locked.cookie(&session_cookie(true)).is_none());
    assert_eq!(app.login(grant, "alice", PASSWORD).await.status, 429);

    // The other way round: three failures on the form delay bob's password grant.
    let mut b = Browser::new(&app);
    for _ in 0..3 {
        let page = b.get(&flow.path()).await;
        let wrong = b.sign_in(&page, "bob", "wrong").await;
        assert_eq!(wrong.status, 401, "{}", wrong.body);
    }
    let a = app.login(grant, "bob", "bob-password").await;
    assert_eq!(a.status, 429, "{}", a.body);
    assert!(a.headers.get("retry-after").is_some());
    app.stop().await;
}

#[tokio::test]
async fn every_html_page_carries_the_security_headers() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let mut consent = browser_client("partner", &[OTHER_CALLBACK]);
    consent["require_consent"] = json!(true);
    add_browser_client(&app, &admin, consent).await;
    let flow = flow();
    let mut b = Browser::new(&app);
    let mut pages = vec![];
    let sign_in = b.get(&flow.path()).await;
    pages.push(("error page", b.get("/oauth/authorize?client_id=nope").await));
    let wrong = b.sign_in(&sign_in, "alice", "wrong").await;
    let mut form = form_of(&wrong, &[("username", "alice"), ("password", PASSWORD)]);
    form.retain(|(k, _)| k != "csrf_token");
    pages.push(("403", b.post("/oauth/authorize", &form).await));
    pages.push(("401", wrong));
    pages.push(("sign-in", sign_in));
    let partner = Flow::new("partner", OTHER_CALLBACK, "read");
    let page = b.get(&partner.path()).await;
    let consent_page = b.sign_in(&page, "alice", PASSWORD).await;
    assert!(consent_page.is_consent(), "{}", consent_page.body);
    pages.push(("consent", consent_page));
    pages.push(("logout", b.get("/oauth/logout").await));
    pages.push(("logout again", b.get("/oauth/logout").await));
    for (why, p) in &pages {
        assert!(
            p.status.is_success() || p.status.is_client_error(),
            "{why}: {}",
            p.status
        );
        p.assert_html_security_headers();
        assert!(
            !p.body.contains("<script"),
            "{why}: works without JavaScript"
        );
        for external in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
            assert!(!p.body.contains(external), "{why}: no external assets");
        }
    }
    let css = app
        .http
        .get(app.url("/assets/tessera.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    app.stop().await;
}

#[tokio::test]
async fn logout_ends_the_session_and_clears_the_cookie() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let flow = flow();
    let mut b = Browser::new(&app);
    b.code(&app, &flow, "alice", PASSWORD).await;
    let name = session_cookie(true);
    let old = b.cookie(&name).unwrap().to_owned();
    let live = signin_sessions(&app, &admin, "username=alice").await;
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(live[0]["active"], true, "{live:?}");

    let out = b.get("/oauth/logout").await;
    assert_eq!(out.status, 200, "{}", out.body);
    out.assert_html_security_headers();
    let cleared = out
        .cookie(&name)
        .unwrap_or_else(|| panic!("the session cookie is cleared: {:?}", out.cookies));
    assert!(cleared.clears(), "{}", cleared.raw);
    assert_eq!(cleared.attr("path"), Some("/"), "{}", cleared.raw);
    assert!(b.cookie(&name).is_none());
    let page = b.get(&flow.path()).await;
    assert_eq!(page.status, 200);
    assert!(page.is_sign_in());
    // The old cookie, kept by a careless browser, is dead on the server too.
    b.set_cookie(&name, &old);
    let page = b.get(&flow.path()).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.is_sign_in());
    let ended = signin_sessions(&app, &admin, "username=alice&include_ended=true").await;
    assert_eq!(ended.len(), 1, "{ended:?}");
    assert_eq!(ended[0]["active"], false, "{ended:?}");
    assert!(ended[0]["ended_at"].is_string(), "{ended:?}");

    // POST works too.
    b.code(&app, &flow, "alice", PASSWORD).await;
    let out = b.send(Method::POST, "/oauth/logout", &[], Some(&[])).await;
    assert_eq!(out.status, 200, "{}", out.body);
    assert!(out.cookie(&name).is_some_and(|c| c.clears()));
    let page = b.get(&flow.path_with(&[("prompt", Some("none"))])).await;
    flow.assert_error_redirect(&page, &app.base, "login_required");
    app.stop().await;
}

#[tokio::test]
async fn logout_redirects_only_to_a_registered_uri_of_the_named_client() {
    let app = spawn_app().await;
    setup(&app).await;
    let flow = flow();
    let mut b = Browser::new(&app);
    b.code(&app, &flow, "alice", PASSWORD).await;
    let q = |pairs: &[(&str, &str)]| {
        let mut u = reqwest::Url::parse("http://x/oauth/logout").unwrap();
        u.query_pairs_mut().extend_pairs(pairs);
        format!("/oauth/logout?{}", u.query().unwrap())
    };
    let out = b
        .get(&q(&[
            ("client_id", "spa"),
            ("post_logout_redirect_uri", SPA_CALLBACK),
            ("state", "bye"),
        ]))
        .await;
    assert_eq!(out.status, 303, "{}", out.body);
    let r = out.redirect();
    assert_eq!(r.target, SPA_CALLBACK);
    assert_eq!(r.param("state"), Some("bye"));
    assert!(
        out.cookie(&session_cookie(true))
            .is_some_and(|c| c.clears())
    );

    for (why, pairs) in [
        (
            "unregistered URI",
            vec![
                ("client_id", "spa"),
                ("post_logout_redirect_uri", "https://evil.example/"),
            ],
        ),
        (
            "no client_id",
            vec![("post_logout_redirect_uri", SPA_CALLBACK)],
        ),
        (
            "unknown client",
            vec![
                ("client_id", "nope"),
                ("post_logout_redirect_uri", SPA_CALLBACK),
            ],
        ),
    ] {
        b.code(&app, &flow, "alice", PASSWORD).await;
        let out = b.get(&q(&pairs)).await;
        assert!(
            !out.status.is_redirection() && out.location().is_none(),
            "{why}: no redirect, got {} {:?}",
            out.status,
            out.location()
        );
        out.assert_html_security_headers();
    }
    app.stop().await;
}

#[tokio::test]
async fn admins_list_and_end_sign_in_sessions() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let flow = flow();
    let mut b = Browser::new(&app);
    b.code(&app, &flow, "alice", PASSWORD).await;
    let s = signin_sessions(&app, &admin, "username=alice").await;
    assert_eq!(s.len(), 1, "{s:?}");
    assert_eq!(s[0]["username"], "alice");
    assert_eq!(s[0]["ip"], "127.0.0.1");
    let id = s[0]["id"].as_str().unwrap();
    let del = app
        .send_bearer(
            Method::DELETE,
            &format!("/admin/v1/signin-sessions/{id}"),
            &admin,
            None,
        )
        .await;
    // The notes say 204; the server answers 200 with the ended session (like the other
    // admin deletions). Either way it must be ended by an admin.
    assert!(
        del.status == 204 || del.status == 200 && del.body["end_reason"] == "admin",
        "{} {}",
        del.status,
        del.body
    );
    let page = b.get(&flow.path()).await;
    assert_eq!(page.status, 200);
    assert!(page.is_sign_in());
    assert!(
        signin_sessions(&app, &admin, "username=alice")
            .await
            .is_empty()
    );
    app.stop().await;
}

#[tokio::test]
async fn without_secure_cookies_the_names_lose_the_host_prefix() {
    let app = spawn_app_with(|s| s.cookie_secure = false).await;
    setup(&app).await;
    let flow = flow();
    let mut b = Browser::new(&app);
    let page = b.get(&flow.path()).await;
    let csrf = page
        .cookie("tessera-csrf")
        .unwrap_or_else(|| panic!("{:?}", page.cookies));
    csrf.assert_attributes(false, "Strict");
    let done = b.sign_in(&page, "alice", PASSWORD).await;
    let session = done
        .cookie("tessera-session")
        .unwrap_or_else(|| panic!("{:?}", done.cookies));
    session.assert_attributes(false, "Lax");
    assert_eq!(session.max_age(), Some(28800));
    for c in page.cookies.iter().chain(&done.cookies) {
        assert!(!c.name.starts_with("__Host-"), "{}", c.raw);
    }
    let code = flow.code_from(&done, &app.base);
    exchange(&app, &flow, &code).await.assert_ok();
    // The unprefixed session works, and logout clears it by that name.
    let page = b.get(&flow.path()).await;
    flow.code_from(&page, &app.base);
    let out = b.get("/oauth/logout").await;
    assert!(out.cookie("tessera-session").is_some_and(|c| c.clears()));
    app.stop().await;
}
