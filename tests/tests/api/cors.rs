//! Per-client CORS (DESIGN.md, "Single-page apps"): an origin in the request's client's
//! `allowed_origins` gets credentialed CORS on `/oauth/token` and `/oauth/revoke`, any
//! client's origin on `/me/*`; preflights are answered for an origin of any client with
//! the documented methods and headers; other origins get nothing; `/.well-known/*` and the
//! SDK are open to every origin, without credentials.

use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::json;
use tessera_tests::browser_flow::{
    Browser, Flow, SPA_CALLBACK, SPA_ORIGIN, add_browser_client, browser_client, cookie_client,
    no_redirect_client,
};
use tessera_tests::{Answer, TestApp, spawn_app};

const OTHER_ORIGIN: &str = "http://127.0.0.1:5174";
const EVIL: &str = "https://evil.example";
const PROOF: [(&str, &str); 2] = [("origin", SPA_ORIGIN), ("tessera-csrf", "1")];

/// alice; the cookie client `spa` ([`SPA_ORIGIN`]) and the body client `other`
/// ([`OTHER_ORIGIN`]); waits until CORS knows both.
async fn setup(app: &TestApp) {
    app.add_user("alice", "alice-password", false).await;
    let admin = app.admin_token().await;
    add_browser_client(app, &admin, cookie_client("spa")).await;
    let mut other = browser_client("other", &["http://127.0.0.1:5174/cb"]);
    other["allowed_origins"] = json!([OTHER_ORIGIN]);
    add_browser_client(app, &admin, other).await;
    for origin in [SPA_ORIGIN, OTHER_ORIGIN] {
        wait_until_allowed(app, origin).await;
    }
}

/// The client origins are cached for up to 1 s: polls a preflight for at most 2 s.
async fn wait_until_allowed(app: &TestApp, origin: &str) {
    let start = Instant::now();
    loop {
        let h = preflight(app, "/oauth/token", origin, "POST").await;
        if h.0 == 204 && acao(&h.1).as_deref() == Some(origin) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{origin} is not CORS-allowed 2 s after its client was created: {} {:?}",
            h.0,
            h.1
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn preflight(app: &TestApp, path: &str, origin: &str, method: &str) -> (u16, HeaderMap) {
    let r = no_redirect_client()
        .request(Method::OPTIONS, app.url(path))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header(
            "access-control-request-headers",
            "authorization, content-type, tessera-csrf",
        )
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.headers().clone())
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).map(|v| v.to_str().unwrap())
}

fn acao(h: &HeaderMap) -> Option<String> {
    header(h, "access-control-allow-origin").map(str::to_owned)
}

/// The comma-separated values of every header `name`, lower-cased.
fn list(h: &HeaderMap, name: &str) -> Vec<String> {
    h.get_all(name)
        .iter()
        .flat_map(|v| v.to_str().unwrap().split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

#[track_caller]
fn assert_credentialed_cors(h: &HeaderMap, origin: &str, why: &str) {
    assert_eq!(acao(h).as_deref(), Some(origin), "{why}: {h:?}");
    assert_eq!(
        header(h, "access-control-allow-credentials"),
        Some("true"),
        "{why}: {h:?}"
    );
    assert!(
        list(h, "vary").contains(&"origin".to_owned()),
        "{why}: Vary: Origin, {h:?}"
    );
}

#[track_caller]
fn assert_no_cors(h: &HeaderMap, why: &str) {
    for name in [
        "access-control-allow-origin",
        "access-control-allow-credentials",
        "access-control-allow-methods",
        "access-control-allow-headers",
    ] {
        assert!(h.get(name).is_none(), "{why}: no {name}, {h:?}");
    }
}

/// Signs alice in on `spa` and trades the code from its origin.
async fn sign_in(app: &TestApp) -> (Browser, Answer) {
    let flow = Flow::new("spa", SPA_CALLBACK, "read");
    let mut b = Browser::new(app);
    let code = b.code(app, &flow, "alice", "alice-password").await;
    let form = flow.exchange_form(&code);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (a, _) = b.oauth("/oauth/token", &form, &PROOF).await;
    a.assert_ok();
    (b, a)
}

async fn me_sessions(app: &TestApp, token: &str, origin: &str) -> (u16, HeaderMap) {
    let r = no_redirect_client()
        .get(app.url("/me/sessions"))
        .bearer_auth(token)
        .header("origin", origin)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.headers().clone())
}

#[tokio::test]
async fn an_allowed_origin_gets_credentialed_cors_on_token_revoke_and_me() {
    let app = spawn_app().await;
    setup(&app).await;
    let (mut b, login) = sign_in(&app).await;
    assert_credentialed_cors(&login.headers, SPA_ORIGIN, "code exchange");

    let refresh = [("grant_type", "refresh_token"), ("client_id", "spa")];
    let (a, _) = b.oauth("/oauth/token", &refresh, &PROOF).await;
    a.assert_ok();
    assert_credentialed_cors(&a.headers, SPA_ORIGIN, "refresh");

    // Errors too, so the app can read them.
    let (a, _) = b
        .oauth("/oauth/token", &refresh, &[("origin", SPA_ORIGIN)])
        .await;
    a.assert_error(400, "invalid_request");
    assert_credentialed_cors(&a.headers, SPA_ORIGIN, "refused refresh");

    let (status, h) = me_sessions(&app, login.str("access_token"), SPA_ORIGIN).await;
    assert_eq!(status, 200);
    assert_credentialed_cors(&h, SPA_ORIGIN, "/me/sessions");
    // /me/* accepts the origin of any client.
    let (status, h) = me_sessions(&app, login.str("access_token"), OTHER_ORIGIN).await;
    assert_eq!(status, 200);
    assert_credentialed_cors(&h, OTHER_ORIGIN, "/me/sessions, another client's origin");

    let (a, _) = b
        .oauth("/oauth/revoke", &[("client_id", "spa")], &PROOF)
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_credentialed_cors(&a.headers, SPA_ORIGIN, "revoke");
    app.stop().await;
}

#[tokio::test]
async fn cors_on_the_oauth_endpoints_follows_the_requests_client() {
    let app = spawn_app().await;
    setup(&app).await;
    let admin = app.admin_token().await;
    let created = app
        .send_bearer(
            Method::POST,
            "/admin/v1/clients",
            &admin,
            Some(
                json!({"client_id": "conf", "grant_types": ["client_credentials"],
                        "allowed_origins": ["http://127.0.0.1:5175"]}),
            ),
        )
        .await;
    created.assert_ok();
    let secret = created.body["client_secret"].as_str().unwrap().to_owned();
    wait_until_allowed(&app, "http://127.0.0.1:5175").await;
    let mut b = Browser::new(&app);

    // spa's origin asking for `other`, and other's origin asking for `spa`: no CORS.
    let form = [("grant_type", "refresh_token"), ("client_id", "other")];
    let (a, _) = b
        .oauth("/oauth/token", &form, &[("origin", SPA_ORIGIN)])
        .await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert_no_cors(&a.headers, "spa's origin for other");
    let (a, _) = b
        .oauth(
            "/oauth/revoke",
            &[("client_id", "spa")],
            &[("origin", OTHER_ORIGIN), ("tessera-csrf", "1")],
        )
        .await;
    assert_no_cors(&a.headers, "other's origin revoking for spa");
    // other's own origin: allowed.
    let (a, _) = b
        .oauth("/oauth/token", &form, &[("origin", OTHER_ORIGIN)])
        .await;
    assert_credentialed_cors(&a.headers, OTHER_ORIGIN, "other's origin for other");

    // The client of a Basic-authenticated request.
    let r = no_redirect_client()
        .post(app.url("/oauth/token"))
        .basic_auth("conf", Some(&secret))
        .header("origin", "http://127.0.0.1:5175")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_credentialed_cors(r.headers(), "http://127.0.0.1:5175", "Basic auth");
    app.stop().await;
}

#[tokio::test]
async fn a_foreign_origin_gets_no_cors_headers() {
    let app = spawn_app().await;
    setup(&app).await;
    let (mut b, login) = sign_in(&app).await;
    let (a, _) = b
        .oauth(
            "/oauth/token",
            &[("grant_type", "refresh_token"), ("client_id", "spa")],
            &[("origin", EVIL), ("tessera-csrf", "1")],
        )
        .await;
    a.assert_error(400, "invalid_request");
    assert_no_cors(&a.headers, "token");
    let (a, _) = b
        .oauth(
            "/oauth/revoke",
            &[("client_id", "spa")],
            &[("origin", EVIL), ("tessera-csrf", "1")],
        )
        .await;
    assert_no_cors(&a.headers, "revoke");
    let (_, h) = me_sessions(&app, login.str("access_token"), EVIL).await;
    assert_no_cors(&h, "/me/sessions");
    for path in ["/oauth/token", "/oauth/revoke", "/me/sessions"] {
        let (status, h) = preflight(&app, path, EVIL, "POST").await;
        assert_no_cors(&h, &format!("preflight {path} ({status})"));
    }
    // A request without Origin gets no CORS headers either.
    let r = no_redirect_client()
        .post(app.url("/oauth/token"))
        .form(&[("grant_type", "refresh_token"), ("client_id", "spa")])
        .send()
        .await
        .unwrap();
    assert_no_cors(r.headers(), "no Origin");
    app.stop().await;
}

#[tokio::test]
async fn preflights_are_answered_204_with_the_documented_methods_and_headers() {
    let app = spawn_app().await;
    setup(&app).await;
    for (path, origin, method, methods) in [
        ("/oauth/token", SPA_ORIGIN, "POST", vec!["post"]),
        ("/oauth/revoke", SPA_ORIGIN, "POST", vec!["post"]),
        // No client_id in a preflight: any client's origin.
        ("/oauth/token", OTHER_ORIGIN, "POST", vec!["post"]),
        (
            "/me/sessions",
            SPA_ORIGIN,
            "GET",
            vec!["get", "post", "delete"],
        ),
        (
            "/me/sessions/some-family",
            OTHER_ORIGIN,
            "DELETE",
            vec!["get", "post", "delete"],
        ),
    ] {
        let why = format!("{path} from {origin}");
        let (status, h) = preflight(&app, path, origin, method).await;
        assert_eq!(status, 204, "{why}: {h:?}");
        assert_credentialed_cors(&h, origin, &why);
        let mut got = list(&h, "access-control-allow-methods");
        got.sort();
        let mut want: Vec<String> = methods.iter().map(|m| (*m).to_owned()).collect();
        want.sort();
        assert_eq!(got, want, "{why}");
        let mut headers = list(&h, "access-control-allow-headers");
        headers.sort();
        assert_eq!(
            headers,
            ["authorization", "content-type", "tessera-csrf"],
            "{why}"
        );
        assert_eq!(header(&h, "access-control-max-age"), Some("600"), "{why}");
    }
    app.stop().await;
}

#[tokio::test]
async fn well_known_documents_and_the_sdk_are_open_to_every_origin() {
    let app = spawn_app().await;
    setup(&app).await;
    let http = no_redirect_client();
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/jwks.json",
    ] {
        for origin in [Some(EVIL), Some(SPA_ORIGIN), None] {
            let mut req = http.get(app.url(path));
            if let Some(o) = origin {
                req = req.header("origin", o);
            }
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
            assert_eq!(
                acao(r.headers()).as_deref(),
                Some("*"),
                "{path} from {origin:?}"
            );
            assert!(
                r.headers()
                    .get("access-control-allow-credentials")
                    .is_none(),
                "{path}: `*` is never combined with credentials"
            );
        }
    }
    let r = http
        .get(app.url("/sdk/tessera.js"))
        .header("origin", EVIL)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let ct = header(r.headers(), "content-type").unwrap().to_owned();
    assert!(ct.starts_with("text/javascript"), "{ct}");
    assert_eq!(acao(r.headers()).as_deref(), Some("*"));
    assert!(
        r.headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
    let js = r.text().await.unwrap();
    assert!(js.contains("export class TesseraClient"), "an ES module");
    for method in [
        "handleRedirect",
        "signIn",
        "getAccessToken",
        "refresh",
        "fetch",
        "signOut",
    ] {
        assert!(js.contains(method), "the SDK has {method}");
    }
    app.stop().await;
}
