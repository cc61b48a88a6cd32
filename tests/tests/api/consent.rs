//! The consent page of a client created with `require_consent: true` (DESIGN.md,
//! "Browser sign-in"): it lists the scopes, the choice is remembered per user, client and
//! scope set, `prompt=consent` asks again, deny is `access_denied`, and the form is
//! CSRF-protected like the sign-in form.

use reqwest::Method;
use serde_json::json;
use tessera_tests::browser_flow::{
    Browser, Flow, Page, SPA_CALLBACK, add_browser_client, browser_client, form_of, session_cookie,
};
use tessera_tests::{Answer, Auth, TestApp, spawn_app};

const PARTNER_CALLBACK: &str = "http://127.0.0.1:5174/cb";

/// alice and bob; the third-party client `partner` (consent) and the first-party `spa`.
async fn setup(app: &TestApp) {
    app.add_user("alice", "alice-password", false).await;
    app.add_user("bob", "bob-password", false).await;
    let admin = app.admin_token().await;
    let mut partner = browser_client("partner", &[PARTNER_CALLBACK]);
    partner["require_consent"] = json!(true);
    let view = add_browser_client(app, &admin, partner).await;
    assert_eq!(view["client"]["require_consent"], true, "{view}");
    add_browser_client(app, &admin, browser_client("spa", &[SPA_CALLBACK])).await;
}

fn partner(scope: &str) -> Flow {
    Flow::new("partner", PARTNER_CALLBACK, scope)
}

async fn exchange(app: &TestApp, flow: &Flow, code: &str) -> Answer {
    let form = flow.exchange_form(code);
    let form: Vec<(&str, &str)> = form
        .iter()
        .filter(|(k, _)| k != "client_id")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    app.token(Auth::Public(&flow.client_id), &form).await
}

/// Asserts a consent page for `flow` that lists `scopes`.
#[track_caller]
fn assert_consent_page(page: &Page, flow: &Flow, scopes: &[&str]) {
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.is_consent(), "a consent page: {}", page.body);
    assert!(!page.is_sign_in(), "{}", page.body);
    page.assert_html_security_headers();
    let visible = without_inputs(&page.body);
    for s in scopes {
        assert!(lists_word(&visible, s), "lists {s}: {}", page.body);
    }
    assert_eq!(page.hidden("state").as_deref(), Some(flow.state.as_str()));
    assert_eq!(page.hidden("client_id").as_deref(), Some("partner"));
    assert!(!page.csrf_token().is_empty());
    assert!(page.location().is_none());
}

/// The page without its `<input>` tags (the hidden fields echo the scope too).
fn without_inputs(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(i) = rest.find("<input") {
        out.push_str(&rest[..i]);
        rest = rest[i..].split_once('>').map_or("", |(_, r)| r);
    }
    out.push_str(rest);
    out
}

/// `word` occurs in `text` as a whole word.
fn lists_word(text: &str, word: &str) -> bool {
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == ':';
    text.match_indices(word).any(|(i, _)| {
        !text[..i].chars().next_back().is_some_and(is_word)
            && !text[i + word.len()..].chars().next().is_some_and(is_word)
    })
}

/// Signs a user in on `flow` and answers the consent page with `action`.
async fn sign_in_and(b: &mut Browser, flow: &Flow, user: &str, action: &str) -> Page {
    let page = b.get(&flow.path()).await;
    let consent = b.sign_in(&page, user, &format!("{user}-password")).await;
    assert!(
        consent.cookie(&session_cookie(true)).is_some(),
        "signed in before the consent page"
    );
    assert_consent_page(&consent, flow, &flow.scope.split(' ').collect::<Vec<_>>());
    b.submit(&consent, &[("action", action)]).await
}

#[tokio::test]
async fn consent_is_asked_once_per_user_client_and_scope_set() {
    let app = spawn_app().await;
    setup(&app).await;
    let mut b = Browser::new(&app);
    let read = partner("read");
    let allowed = sign_in_and(&mut b, &read, "alice", "allow").await;
    assert_eq!(allowed.status, 303, "{}", allowed.body);
    let code = read.code_from(&allowed, &app.base);
    let t = exchange(&app, &read, &code).await;
    t.assert_ok();
    assert_eq!(t.str("scope"), "read");

    // Remembered: the next request goes straight to the code.
    let again = partner("read");
    let page = b.get(&again.path()).await;
    assert_eq!(page.status, 302, "{}", page.body);
    exchange(&app, &again, &again.code_from(&page, &app.base))
        .await
        .assert_ok();
    // prompt=none too.
    let page = b.get(&again.path_with(&[("prompt", Some("none"))])).await;
    again.code_from(&page, &app.base);

    // prompt=consent asks again.
    let page = b
        .get(&again.path_with(&[("prompt", Some("consent"))]))
        .await;
    assert_consent_page(&page, &again, &["read"]);
    assert_eq!(page.hidden("prompt").as_deref(), Some("consent"));
    let done = b.submit(&page, &[("action", "allow")]).await;
    again.code_from(&done, &app.base);

    // A larger scope set asks again, listing the new scope.
    let more = partner("read write");
    let page = b.get(&more.path()).await;
    assert_consent_page(&page, &more, &["read", "write"]);
    let done = b.submit(&page, &[("action", "allow")]).await;
    let t = exchange(&app, &more, &more.code_from(&done, &app.base)).await;
    t.assert_ok();
    assert_eq!(t.str("scope"), "read write");
    let page = b.get(&partner("read write").path()).await;
    assert_eq!(page.status, 302, "now remembered: {}", page.body);

    // Another user has not consented.
    let mut other = Browser::new(&app);
    let bob = partner("read");
    let allowed = sign_in_and(&mut other, &bob, "bob", "allow").await;
    bob.code_from(&allowed, &app.base);
    app.stop().await;
}

/// `/me` takes a third-party client's token only with `tessera:sessions`, and the user
/// grants that on the consent page like any scope: an earlier consent to `read` does not
/// cover it, and `prompt=none` cannot get it.
#[tokio::test]
async fn the_sessions_scope_is_granted_to_a_third_party_only_by_consent() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password", false).await;
    let admin = app.admin_token().await;
    let mut partner_client = browser_client("partner", &[PARTNER_CALLBACK]);
    partner_client["require_consent"] = json!(true);
    partner_client["scopes"] = json!(["read", "tessera:sessions"]);
    add_browser_client(&app, &admin, partner_client).await;
    let mut b = Browser::new(&app);
    let read = partner("read");
    let allowed = sign_in_and(&mut b, &read, "alice", "allow").await;
    let t = exchange(&app, &read, &read.code_from(&allowed, &app.base)).await;
    t.assert_ok();
    app.get_bearer("/me/sessions", t.str("access_token"))
        .await
        .assert_error(403, "insufficient_scope");

    let sessions = partner("read tessera:sessions");
    let page = b
        .get(&sessions.path_with(&[("prompt", Some("none"))]))
        .await;
    assert_eq!(
        page.redirect().param("error"),
        Some("consent_required"),
        "{}",
        page.body
    );
    let page = b.get(&sessions.path()).await;
    assert_consent_page(&page, &sessions, &["read", "tessera:sessions"]);
    let done = b.submit(&page, &[("action", "allow")]).await;
    let t = exchange(&app, &sessions, &sessions.code_from(&done, &app.base)).await;
    t.assert_ok();
    assert_eq!(t.str("scope"), "read tessera:sessions");
    let list = app.get_bearer("/me/sessions", t.str("access_token")).await;
    list.assert_ok();
    assert_eq!(list.body["sessions"].as_array().unwrap().len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn deny_redirects_with_access_denied_and_is_not_remembered_as_allow() {
    let app = spawn_app().await;
    setup(&app).await;
    let mut b = Browser::new(&app);
    let flow = partner("read");
    let denied = sign_in_and(&mut b, &flow, "alice", "deny").await;
    assert_eq!(denied.status, 303, "{}", denied.body);
    flow.assert_error_redirect(&denied, &app.base, "access_denied");
    // Asked again next time; prompt=none says consent_required.
    let page = b.get(&flow.path_with(&[("prompt", Some("none"))])).await;
    assert_eq!(page.status, 302, "{}", page.body);
    flow.assert_error_redirect(&page, &app.base, "consent_required");
    let page = b.get(&flow.path()).await;
    assert_consent_page(&page, &flow, &["read"]);
    app.stop().await;
}

#[tokio::test]
async fn prompt_none_needs_consent_given_before() {
    let app = spawn_app().await;
    setup(&app).await;
    let mut b = Browser::new(&app);
    // Signed in through the first-party client: no consent there.
    let spa = Flow::new("spa", SPA_CALLBACK, "read");
    b.code(&app, &spa, "alice", "alice-password").await;
    let flow = partner("read");
    let page = b.get(&flow.path_with(&[("prompt", Some("none"))])).await;
    flow.assert_error_redirect(&page, &app.base, "consent_required");
    // Without prompt=none the session skips the password but not the consent.
    let page = b.get(&flow.path()).await;
    assert_consent_page(&page, &flow, &["read"]);
    let done = b.submit(&page, &[("action", "allow")]).await;
    flow.code_from(&done, &app.base);
    let page = b.get(&flow.path_with(&[("prompt", Some("none"))])).await;
    flow.code_from(&page, &app.base);
    app.stop().await;
}

#[tokio::test]
async fn first_party_clients_show_no_consent_page() {
    let app = spawn_app().await;
    setup(&app).await;
    let mut b = Browser::new(&app);
    let spa = Flow::new("spa", SPA_CALLBACK, "read write");
    let page = b.get(&spa.path()).await;
    let done = b.sign_in(&page, "alice", "alice-password").await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(!done.is_consent());
    spa.code_from(&done, &app.base);
    app.stop().await;
}

#[tokio::test]
async fn the_consent_form_is_protected_against_csrf() {
    let app = spawn_app().await;
    setup(&app).await;
    let mut b = Browser::new(&app);
    let flow = partner("read");
    let page = b.get(&flow.path()).await;
    let consent = b.sign_in(&page, "alice", "alice-password").await;
    assert_consent_page(&consent, &flow, &["read"]);

    let mut no_token = form_of(&consent, &[("action", "allow")]);
    no_token.retain(|(k, _)| k != "csrf_token");
    let refused = b.post("/oauth/authorize", &no_token).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.location().is_none());
    refused.assert_html_security_headers();

    let form = form_of(&refused, &[("action", "allow")]);
    let cross = b
        .send(
            Method::POST,
            "/oauth/authorize",
            &[("origin", "https://evil.example")],
            Some(&form),
        )
        .await;
    assert_eq!(cross.status, 403, "{}", cross.body);
    assert!(cross.location().is_none());

    // Nothing was remembered: prompt=none still needs consent.
    let page = b.get(&flow.path_with(&[("prompt", Some("none"))])).await;
    flow.assert_error_redirect(&page, &app.base, "consent_required");
    app.stop().await;
}

#[tokio::test]
async fn a_sign_in_form_cannot_be_answered_with_allow() {
    let app = spawn_app().await;
    setup(&app).await;
    let mut b = Browser::new(&app);
    // alice has a session and has allowed `read`.
    let flow = partner("read");
    let allowed = sign_in_and(&mut b, &flow, "alice", "allow").await;
    flow.code_from(&allowed, &app.base);
    // prompt=login shows the sign-in form; "allow" instead of the password gets no code.
    let page = b.get(&flow.path_with(&[("prompt", Some("login"))])).await;
    assert!(page.is_sign_in(), "{}", page.body);
    let answered = b.submit(&page, &[("action", "allow")]).await;
    assert!(
        answered.redirect_code().is_none(),
        "no code without the password: {} {:?}",
        answered.status,
        answered.location()
    );
    // A larger scope set asked on a sign-in form is not consent either.
    let more = partner("read write");
    let page = b.get(&more.path_with(&[("prompt", Some("login"))])).await;
    assert!(page.is_sign_in(), "{}", page.body);
    let answered = b.submit(&page, &[("action", "allow")]).await;
    assert!(answered.redirect_code().is_none(), "{}", answered.status);
    app.stop().await;
}
