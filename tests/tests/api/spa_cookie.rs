//! Refresh tokens in an HttpOnly cookie for single-page apps (DESIGN.md, "Single-page
//! apps"): no `refresh_token` in any body, the cookie's exact attributes, refresh and
//! revoke only with an allowed `Origin` and `Tessera-CSRF: 1` (otherwise nothing
//! changes), no `refresh_token` field from such a client, rotation and reuse detection
//! through the cookie, and the cookie cleared whenever the family is gone.

use std::time::Duration;

use serde_json::{Value, json};
use tessera_tests::browser_flow::{
    Browser, Flow, SPA_CALLBACK, SPA_ORIGIN, SetCookie, add_browser_client, browser_client,
    cookie_client, family, refresh_cookie, sid_of,
};
use tessera_tests::{Answer, TestApp, spawn_app, spawn_app_with};

const IDLE: i64 = 3600;

/// alice; the cookie client `spa` (idle lifetime [`IDLE`]); the admin token.
async fn setup(app: &TestApp) -> String {
    app.add_user("alice", "alice-password", false).await;
    let admin = app.admin_token().await;
    let mut c = cookie_client("spa");
    c["refresh_idle_ttl"] = json!(IDLE);
    let view = add_browser_client(app, &admin, c).await;
    assert_eq!(view["client"]["refresh_token_delivery"], "cookie", "{view}");
    assert_eq!(view["client"]["allowed_origins"], json!([SPA_ORIGIN]));
    admin
}

const PROOF: [(&str, &str); 2] = [("origin", SPA_ORIGIN), ("tessera-csrf", "1")];

/// A code for alice on the cookie client `spa`.
async fn code(app: &TestApp, b: &mut Browser) -> (Flow, String) {
    let flow = Flow::new("spa", SPA_CALLBACK, "read");
    let code = b.code(app, &flow, "alice", "alice-password").await;
    (flow, code)
}

/// Trades `code` with the given headers.
async fn exchange(
    b: &mut Browser,
    flow: &Flow,
    code: &str,
    headers: &[(&str, &str)],
) -> (Answer, Vec<SetCookie>) {
    let form = flow.exchange_form(code);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    b.oauth("/oauth/token", &form, headers).await
}

/// Signs alice in and trades the code from the app's origin with `Tessera-CSRF`, as the
/// SDK does. Returns the browser (holding the refresh cookie), the token answer, the
/// cookies it set and the family id.
async fn signed_in(app: &TestApp) -> (Browser, Answer, Vec<SetCookie>, String) {
    let mut b = Browser::new(app);
    let (flow, code) = code(app, &mut b).await;
    let (a, cookies) = exchange(&mut b, &flow, &code, &PROOF).await;
    a.assert_ok();
    let sid = sid_of(a.str("access_token"));
    (b, a, cookies, sid)
}

/// The refresh request the SDK sends: cookie, Origin, Tessera-CSRF.
async fn refresh(b: &mut Browser) -> (Answer, Vec<SetCookie>) {
    b.oauth(
        "/oauth/token",
        &[("grant_type", "refresh_token"), ("client_id", "spa")],
        &PROOF,
    )
    .await
}

fn rt_cookie(cookies: &[SetCookie], secure: bool) -> Option<&SetCookie> {
    let name = refresh_cookie(secure, "spa");
    cookies.iter().find(|c| c.name == name)
}

/// A fresh refresh cookie: a `tsr_` token with the documented attributes and an
/// idle-lifetime Max-Age.
#[track_caller]
fn assert_fresh_cookie(cookies: &[SetCookie], secure: bool) -> String {
    let c = rt_cookie(cookies, secure).unwrap_or_else(|| panic!("a refresh cookie: {cookies:?}"));
    c.assert_attributes(secure, "Strict");
    assert!(c.value.starts_with("tsr_"), "{}", c.raw);
    let max_age = c.max_age().unwrap_or_else(|| panic!("Max-Age: {}", c.raw));
    assert!(
        (IDLE - 2..=IDLE).contains(&max_age),
        "Max-Age = seconds to idle expiry ({IDLE}): {}",
        c.raw
    );
    c.value.clone()
}

#[track_caller]
fn assert_cleared(cookies: &[SetCookie]) {
    let c =
        rt_cookie(cookies, true).unwrap_or_else(|| panic!("the cookie is cleared: {cookies:?}"));
    assert!(c.clears(), "Max-Age=0: {}", c.raw);
    assert_eq!(c.attr("path"), Some("/"), "{}", c.raw);
}

#[track_caller]
fn assert_no_refresh_token(a: &Answer) {
    assert!(a.body.get("refresh_token").is_none(), "{}", a.body);
    assert!(!a.body.to_string().contains("tsr_"), "{}", a.body);
}

async fn generations(app: &TestApp, admin: &str, sid: &str) -> Value {
    family(app, admin, sid).await["generations"].clone()
}

#[tokio::test]
async fn the_code_exchange_sets_the_cookie_and_the_body_has_no_refresh_token() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let (b, a, cookies, sid) = signed_in(&app).await;
    assert_no_refresh_token(&a);
    assert!(a.str("access_token").contains('.'));
    assert_eq!(a.headers["cache-control"], "no-store");
    let value = assert_fresh_cookie(&cookies, true);
    assert_eq!(b.cookie(&refresh_cookie(true, "spa")), Some(value.as_str()));
    let f = family(&app, &admin, &sid).await;
    assert_eq!(f["state"], "active", "{f}");
    assert_eq!(f["client_id"], "spa", "{f}");
    app.stop().await;
}

#[tokio::test]
async fn a_body_client_keeps_its_refresh_token_in_the_body() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let mut c = browser_client("classic", &[SPA_CALLBACK]);
    c["allowed_origins"] = json!([SPA_ORIGIN]);
    let view = add_browser_client(&app, &admin, c).await;
    assert_eq!(
        view["client"]["refresh_token_delivery"], "body",
        "the default"
    );
    let flow = Flow::new("classic", SPA_CALLBACK, "read");
    let mut b = Browser::new(&app);
    let code = b.code(&app, &flow, "alice", "alice-password").await;
    let form = flow.exchange_form(&code);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (a, cookies) = b
        .oauth("/oauth/token", &form, &[("origin", SPA_ORIGIN)])
        .await;
    a.assert_ok();
    assert!(a.str("refresh_token").starts_with("tsr_"));
    assert!(
        cookies.iter().all(|c| !c.name.contains("tessera-rt-")),
        "{cookies:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_cookie_refresh_rotates_and_a_replayed_cookie_revokes_the_family() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let (mut b, _, cookies, sid) = signed_in(&app).await;
    let first = assert_fresh_cookie(&cookies, true);

    let (a, cookies) = refresh(&mut b).await;
    a.assert_ok();
    assert_no_refresh_token(&a);
    assert_eq!(sid_of(a.str("access_token")), sid);
    let second = assert_fresh_cookie(&cookies, true);
    assert_ne!(second, first, "rotated");
    assert_eq!(generations(&app, &admin, &sid).await, 2);
    assert_eq!(
        b.cookie(&refresh_cookie(true, "spa")),
        Some(second.as_str())
    );

    // The idle lifetime is per token: later, the new cookie again lives IDLE seconds.
    app.clock.advance(Duration::from_secs(600));
    let admin = app.admin_token().await; // the first one expired
    let (a, cookies) = refresh(&mut b).await;
    a.assert_ok();
    let third = assert_fresh_cookie(&cookies, true);
    assert_eq!(generations(&app, &admin, &sid).await, 3);

    // The old cookie comes back (a stolen copy): reuse detected, cookie cleared.
    b.set_cookie(&refresh_cookie(true, "spa"), &first);
    let (a, cookies) = refresh(&mut b).await;
    a.assert_error(400, "invalid_grant");
    assert_cleared(&cookies);
    assert!(b.cookie(&refresh_cookie(true, "spa")).is_none());
    let f = family(&app, &admin, &sid).await;
    assert_eq!(f["state"], "revoked", "{f}");
    assert_eq!(f["revoke_reason"], "reuse_detected", "{f}");
    // The newest cookie is dead too, and is cleared as well.
    b.set_cookie(&refresh_cookie(true, "spa"), &third);
    let (a, cookies) = refresh(&mut b).await;
    a.assert_error(400, "invalid_grant");
    assert_cleared(&cookies);
    app.stop().await;
}

#[tokio::test]
async fn without_an_allowed_origin_and_the_csrf_header_nothing_changes() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let (mut b, _, cookies, sid) = signed_in(&app).await;
    let value = assert_fresh_cookie(&cookies, true);
    let form = [("grant_type", "refresh_token"), ("client_id", "spa")];
    for (why, headers) in [
        ("no Origin", vec![("tessera-csrf", "1")]),
        (
            "a foreign Origin",
            vec![("origin", "https://evil.example"), ("tessera-csrf", "1")],
        ),
        (
            "another port",
            vec![("origin", "http://127.0.0.1:5174"), ("tessera-csrf", "1")],
        ),
        (
            "Origin null",
            vec![("origin", "null"), ("tessera-csrf", "1")],
        ),
        (
            "the issuer's own origin",
            vec![("origin", app.base.as_str()), ("tessera-csrf", "1")],
        ),
        ("no Tessera-CSRF", vec![("origin", SPA_ORIGIN)]),
        (
            "Tessera-CSRF not 1",
            vec![("origin", SPA_ORIGIN), ("tessera-csrf", "0")],
        ),
        ("neither", vec![]),
    ] {
        let (a, cookies) = b.oauth("/oauth/token", &form, &headers).await;
        a.assert_error(400, "invalid_request");
        assert!(rt_cookie(&cookies, true).is_none(), "{why}: {cookies:?}");
        assert_eq!(
            b.cookie(&refresh_cookie(true, "spa")),
            Some(value.as_str()),
            "{why}"
        );
        let f = family(&app, &admin, &sid).await;
        assert_eq!(f["state"], "active", "{why}: {f}");
        assert_eq!(f["generations"], 1, "{why}: {f}");
    }
    // The same cookie still works (it was never used, so no reuse either).
    let (a, cookies) = refresh(&mut b).await;
    a.assert_ok();
    assert_fresh_cookie(&cookies, true);
    assert_eq!(family(&app, &admin, &sid).await["state"], "active");
    app.stop().await;
}

#[tokio::test]
async fn a_cookie_client_may_not_send_a_refresh_token_field() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let (mut b, _, cookies, sid) = signed_in(&app).await;
    let value = assert_fresh_cookie(&cookies, true);
    let proof = [("origin", SPA_ORIGIN), ("tessera-csrf", "1")];
    let with_field = [
        ("grant_type", "refresh_token"),
        ("client_id", "spa"),
        ("refresh_token", value.as_str()),
    ];
    // With the cookie and the proof, and the token in the form as well.
    let (a, cookies) = b.oauth("/oauth/token", &with_field, &proof).await;
    a.assert_error(400, "invalid_request");
    assert!(rt_cookie(&cookies, true).is_none(), "{cookies:?}");
    // The token alone in the form, as a script that stole it would send it.
    b.remove_cookie(&refresh_cookie(true, "spa"));
    let (a, _) = b.oauth("/oauth/token", &with_field, &[]).await;
    a.assert_error(400, "invalid_request");
    let (a, _) = b.oauth("/oauth/token", &with_field, &proof).await;
    a.assert_error(400, "invalid_request");
    assert_eq!(generations(&app, &admin, &sid).await, 1);
    // Untouched: the cookie still refreshes.
    b.set_cookie(&refresh_cookie(true, "spa"), &value);
    refresh(&mut b).await.0.assert_ok();
    app.stop().await;
}

#[tokio::test]
async fn without_a_cookie_or_with_an_unknown_one_the_grant_is_invalid() {
    let app = spawn_app().await;
    setup(&app).await;
    let (mut b, _, _, _) = signed_in(&app).await;
    b.remove_cookie(&refresh_cookie(true, "spa"));
    let (a, _) = refresh(&mut b).await;
    a.assert_error(400, "invalid_grant");
    b.set_cookie(
        &refresh_cookie(true, "spa"),
        "tsr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    );
    let (a, cookies) = refresh(&mut b).await;
    a.assert_error(400, "invalid_grant");
    assert_cleared(&cookies);
    app.stop().await;
}

#[tokio::test]
async fn revoke_through_the_cookie_ends_the_family_and_clears_the_cookie() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let (mut b, login, cookies, sid) = signed_in(&app).await;
    let value = assert_fresh_cookie(&cookies, true);
    let form = [("client_id", "spa")];

    // Without the proof: refused, nothing changes.
    for headers in [
        vec![("tessera-csrf", "1")],
        vec![("origin", "https://evil.example"), ("tessera-csrf", "1")],
        vec![("origin", SPA_ORIGIN)],
    ] {
        let (a, cookies) = b.oauth("/oauth/revoke", &form, &headers).await;
        a.assert_error(400, "invalid_request");
        assert!(rt_cookie(&cookies, true).is_none(), "{cookies:?}");
        assert_eq!(family(&app, &admin, &sid).await["state"], "active");
    }
    assert_eq!(b.cookie(&refresh_cookie(true, "spa")), Some(value.as_str()));

    let (a, cookies) = b
        .oauth(
            "/oauth/revoke",
            &form,
            &[("origin", SPA_ORIGIN), ("tessera-csrf", "1")],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_cleared(&cookies);
    let f = family(&app, &admin, &sid).await;
    assert_eq!(f["state"], "revoked", "{f}");
    assert_eq!(f["revoke_reason"], "logout", "{f}");
    // The access token goes with the family; the old cookie is refused (and cleared).
    app.get_bearer("/me/sessions", login.str("access_token"))
        .await
        .assert_error(401, "invalid_token");
    b.set_cookie(&refresh_cookie(true, "spa"), &value);
    let (a, cookies) = refresh(&mut b).await;
    a.assert_error(400, "invalid_grant");
    assert_cleared(&cookies);
    app.stop().await;
}

#[tokio::test]
async fn the_code_exchange_of_a_cookie_client_needs_the_same_proof() {
    let app = spawn_app().await;
    let admin = setup(&app).await;
    let mut b = Browser::new(&app);
    let (flow, code) = code(&app, &mut b).await;
    for (why, headers) in [
        ("no Origin, no header", vec![]),
        ("no header", vec![("origin", SPA_ORIGIN)]),
        (
            "a foreign Origin",
            vec![("origin", "https://evil.example"), ("tessera-csrf", "1")],
        ),
        ("no Origin", vec![("tessera-csrf", "1")]),
    ] {
        let (a, cookies) = exchange(&mut b, &flow, &code, &headers).await;
        a.assert_error(400, "invalid_request");
        assert!(a.body.get("access_token").is_none(), "{why}");
        assert!(rt_cookie(&cookies, true).is_none(), "{why}: {cookies:?}");
    }
    // Refused before the code was spent: the app's own exchange still works.
    let (a, cookies) = exchange(&mut b, &flow, &code, &PROOF).await;
    a.assert_ok();
    let value = assert_fresh_cookie(&cookies, true);
    let sid = sid_of(a.str("access_token"));
    assert_eq!(family(&app, &admin, &sid).await["state"], "active");

    // A failed exchange (a spent code) leaves the app's cookie alone.
    let (a, cookies) = exchange(&mut b, &flow, &code, &PROOF).await;
    a.assert_error(400, "invalid_grant");
    assert!(rt_cookie(&cookies, true).is_none(), "{cookies:?}");
    assert_eq!(b.cookie(&refresh_cookie(true, "spa")), Some(value.as_str()));
    app.stop().await;
}

#[tokio::test]
async fn revoke_without_a_cookie_answers_200() {
    let app = spawn_app().await;
    setup(&app).await;
    let mut b = Browser::new(&app);
    let (a, cookies) = b
        .oauth("/oauth/revoke", &[("client_id", "spa")], &PROOF)
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    if let Some(c) = rt_cookie(&cookies, true) {
        assert!(c.clears(), "{}", c.raw);
    }
    app.stop().await;
}

#[tokio::test]
async fn without_secure_cookies_the_refresh_cookie_loses_prefix_and_secure() {
    let app = spawn_app_with(|s| s.cookie_secure = false).await;
    setup(&app).await;
    let (mut b, a, cookies, _) = signed_in(&app).await;
    assert_no_refresh_token(&a);
    assert!(rt_cookie(&cookies, true).is_none(), "{cookies:?}");
    let c = rt_cookie(&cookies, false).unwrap_or_else(|| panic!("tessera-rt-spa: {cookies:?}"));
    assert_eq!(c.name, "tessera-rt-spa");
    let first = assert_fresh_cookie(&cookies, false);
    let (a, cookies) = refresh(&mut b).await;
    a.assert_ok();
    let second = assert_fresh_cookie(&cookies, false);
    assert_ne!(first, second);
    app.stop().await;
}
