//! Browser-flow helpers (authorization code + PKCE, sign-in pages, cookies): a
//! [`Browser`] that never follows redirects and keeps its cookies by hand, so tests see
//! every `Set-Cookie` with its attributes; a PKCE pair computed here, independently of the
//! server; the hidden fields of a form; admin-API clients with the browser fields.

// A test harness: a setup step that fails must stop the test at once, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use base64::Engine;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode, Url};
use serde_json::{Value, json};
use sha2::Digest;

use crate::{Answer, TestApp};

/// A public SPA client's redirect URI and origin (not served by anyone: the browser
/// never follows redirects here).
pub const SPA_ORIGIN: &str = "http://127.0.0.1:5173";
pub const SPA_CALLBACK: &str = "http://127.0.0.1:5173/callback";

/// `base64url(SHA-256(verifier))`, RFC 7636 §4.2.
pub fn s256(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier))
}

/// A fresh PKCE pair: (verifier, S256 challenge).
pub fn pkce() -> (String, String) {
    let verifier = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let challenge = s256(&verifier);
    (verifier, challenge)
}

/// One `Set-Cookie` header, parsed.
#[derive(Debug, Clone)]
pub struct SetCookie {
    pub name: String,
    pub value: String,
    /// Attributes as sent, names lower-cased, in order.
    pub attrs: Vec<(String, Option<String>)>,
    pub raw: String,
}

impl SetCookie {
    pub fn parse(raw: &str) -> Option<SetCookie> {
        let mut parts = raw.split(';');
        let (name, value) = parts.next()?.trim().split_once('=')?;
        let attrs = parts
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim().to_owned())),
                None => (p.to_ascii_lowercase(), None),
            })
            .collect();
        Some(SetCookie {
            name: name.trim().to_owned(),
            value: value.trim().to_owned(),
            attrs,
            raw: raw.to_owned(),
        })
    }

    pub fn has(&self, attr: &str) -> bool {
        self.attrs.iter().any(|(k, _)| k.eq_ignore_ascii_case(attr))
    }

    /// The value of an attribute (`Path`, `SameSite`, `Max-Age`, ...).
    pub fn attr(&self, attr: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(attr))
            .and_then(|(_, v)| v.as_deref())
    }

    pub fn max_age(&self) -> Option<i64> {
        self.attr("max-age").map(|v| v.parse().expect("Max-Age"))
    }

    /// A cookie that deletes itself: `Max-Age=0` (or negative).
    pub fn clears(&self) -> bool {
        self.max_age().is_some_and(|m| m <= 0)
    }

    /// Asserts the exact attribute set: `Path=/`, `HttpOnly`, `SameSite=<same_site>`,
    /// `Secure` exactly when `secure`, no `Domain`.
    #[track_caller]
    pub fn assert_attributes(&self, secure: bool, same_site: &str) {
        assert_eq!(self.attr("path"), Some("/"), "{}", self.raw);
        assert!(self.has("httponly"), "HttpOnly: {}", self.raw);
        assert_eq!(
            self.has("secure"),
            secure,
            "Secure must be {}: {}",
            if secure { "set" } else { "absent" },
            self.raw
        );
        assert_eq!(
            self.attr("samesite").map(str::to_ascii_lowercase),
            Some(same_site.to_ascii_lowercase()),
            "{}",
            self.raw
        );
        assert!(!self.has("domain"), "no Domain: {}", self.raw);
    }
}

/// Every `Set-Cookie` of a response.
pub fn set_cookies(headers: &HeaderMap) -> Vec<SetCookie> {
    headers
        .get_all("set-cookie")
        .iter()
        .map(|v| SetCookie::parse(v.to_str().expect("ascii Set-Cookie")).expect("Set-Cookie"))
        .collect()
}

/// Cookie names with or without the `__Host-` prefix (`cookie_secure`).
pub fn cookie_name(secure: bool, base: &str) -> String {
    if secure {
        format!("__Host-{base}")
    } else {
        base.to_owned()
    }
}

pub fn session_cookie(secure: bool) -> String {
    cookie_name(secure, "tessera-session")
}

pub fn csrf_cookie(secure: bool) -> String {
    cookie_name(secure, "tessera-csrf")
}

pub fn refresh_cookie(secure: bool, client_id: &str) -> String {
    cookie_name(secure, &format!("tessera-rt-{client_id}"))
}

/// The redirect target of a response: the URI without its query, and the query.
#[derive(Debug)]
pub struct Redirect {
    pub target: String,
    pub params: HashMap<String, String>,
}

impl Redirect {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

/// A response as a browser sees it.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    pub cookies: Vec<SetCookie>,
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ascii header"))
    }

    pub fn location(&self) -> Option<&str> {
        self.header("location")
    }

    /// The `Set-Cookie` for `name`, if the response sent one.
    pub fn cookie(&self, name: &str) -> Option<&SetCookie> {
        self.cookies.iter().find(|c| c.name == name)
    }

    /// The parsed `Location` of a redirect (panics when there is none).
    #[track_caller]
    pub fn redirect(&self) -> Redirect {
        let loc = self
            .location()
            .unwrap_or_else(|| panic!("no Location ({}): {}", self.status, self.body));
        let url = Url::parse(loc).unwrap_or_else(|e| panic!("Location `{loc}`: {e}"));
        let params = url.query_pairs().into_owned().collect();
        let mut target = url.clone();
        target.set_query(None);
        Redirect {
            target: target.to_string(),
            params,
        }
    }

    /// The `code` of a redirect, if this is one that carries a code.
    pub fn redirect_code(&self) -> Option<String> {
        if !self.status.is_redirection() {
            return None;
        }
        self.location()?;
        self.redirect().param("code").map(str::to_owned)
    }

    /// The body as an OAuth JSON answer.
    pub fn answer(&self) -> Answer {
        Answer {
            status: self.status,
            headers: self.headers.clone(),
            body: serde_json::from_str(&self.body).unwrap_or(Value::String(self.body.clone())),
        }
    }

    /// `(name, value)` of every `<input type="hidden">`, HTML entities decoded.
    pub fn hidden_fields(&self) -> Vec<(String, String)> {
        inputs(&self.body)
            .into_iter()
            .filter(|a| a.get("type").map(String::as_str) == Some("hidden"))
            .filter_map(|a| Some((a.get("name")?.clone(), a.get("value")?.clone())))
            .collect()
    }

    pub fn hidden(&self, name: &str) -> Option<String> {
        self.hidden_fields()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    #[track_caller]
    pub fn csrf_token(&self) -> String {
        self.hidden("csrf_token")
            .unwrap_or_else(|| panic!("no csrf_token in the page ({}): {}", self.status, self.body))
    }

    /// A sign-in page: the form with `username`, `password` and the sign-in button.
    pub fn is_sign_in(&self) -> bool {
        self.body.contains(r#"name="username""#)
            && self.body.contains(r#"name="password""#)
            && self.body.contains(r#"value="sign_in""#)
    }

    /// A consent page: the allow and deny buttons.
    pub fn is_consent(&self) -> bool {
        self.body.contains(r#"name="action" value="allow""#)
            && self.body.contains(r#"name="action" value="deny""#)
    }

    /// The text of the `role="alert"` element, if any.
    pub fn alert(&self) -> Option<String> {
        let i = self.body.find(r#"role="alert""#)?;
        let rest = &self.body[i..];
        let start = rest.find('>')? + 1;
        let end = rest[start..].find('<')? + start;
        Some(unescape(rest[start..end].trim()))
    }

    /// The security headers every HTML page of the server carries.
    #[track_caller]
    pub fn assert_html_security_headers(&self) {
        let ct = self.header("content-type").unwrap_or_default();
        assert!(ct.starts_with("text/html"), "content-type: {ct}");
        let csp = self
            .header("content-security-policy")
            .unwrap_or_else(|| panic!("no CSP ({}): {:?}", self.status, self.headers));
        let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
        for d in [
            "default-src 'none'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ] {
            assert!(directives.contains(&d), "CSP lacks `{d}`: {csp}");
        }
        assert!(
            directives
                .iter()
                .any(|d| d.starts_with("form-action 'self'")),
            "CSP lacks form-action 'self': {csp}"
        );
        assert_eq!(self.header("x-frame-options"), Some("DENY"));
        assert_eq!(self.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(self.header("cache-control"), Some("no-store"));
        // The notes say `no-referrer`; the server sends `same-origin` on purpose (with
        // `no-referrer` browsers post the page's own forms with `Origin: null`). Either
        // keeps the authorize URL from other origins.
        let referrer = self.header("referrer-policy");
        assert!(
            matches!(referrer, Some("no-referrer" | "same-origin")),
            "Referrer-Policy: {referrer:?}"
        );
    }
}

/// The attributes of every `<input ...>` tag.
fn inputs(html: &str) -> Vec<HashMap<String, String>> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find("<input") {
        let tag = &rest[i + "<input".len()..];
        let end = tag.find('>').unwrap_or(tag.len());
        out.push(attributes(&tag[..end]));
        rest = &tag[end..];
    }
    out
}

/// `name="value"` pairs of a tag (double-quoted values, as the server writes them).
fn attributes(tag: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut rest = tag;
    while let Some(eq) = rest.find("=\"") {
        let name = rest[..eq]
            .rsplit(|c: char| c.is_whitespace())
            .next()
            .unwrap_or_default()
            .to_owned();
        let after = &rest[eq + 2..];
        let Some(close) = after.find('"') else { break };
        out.insert(name, unescape(&after[..close]));
        rest = &after[close + 1..];
    }
    out
}

/// Decodes the HTML entities an escaping template engine writes.
pub fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let Some(semi) = tail.find(';') else {
            out.push_str(tail);
            return out;
        };
        let entity = &tail[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &tail[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// One authorization request: a client, its redirect URI and scope, a random state and a
/// fresh PKCE pair.
#[derive(Debug, Clone)]
pub struct Flow {
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: String,
    pub verifier: String,
    pub challenge: String,
}

impl Flow {
    pub fn new(client_id: &str, redirect_uri: &str, scope: &str) -> Flow {
        let (verifier, challenge) = pkce();
        Flow {
            client_id: client_id.into(),
            redirect_uri: redirect_uri.into(),
            scope: scope.into(),
            state: format!("st-{}", uuid::Uuid::new_v4().simple()),
            verifier,
            challenge,
        }
    }

    /// The authorize parameters a well-behaved client sends.
    pub fn params(&self) -> Vec<(String, String)> {
        [
            ("response_type", "code"),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("scope", &self.scope),
            ("state", &self.state),
            ("code_challenge", &self.challenge),
            ("code_challenge_method", "S256"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// `/oauth/authorize?...` with [`Flow::params`].
    pub fn path(&self) -> String {
        authorize_path(&self.params())
    }

    /// [`Flow::params`] with some replaced or added (`Some`) or removed (`None`).
    pub fn path_with(&self, changes: &[(&str, Option<&str>)]) -> String {
        let mut params = self.params();
        for (k, v) in changes {
            params.retain(|(n, _)| n != k);
            if let Some(v) = v {
                params.push(((*k).to_owned(), (*v).to_owned()));
            }
        }
        authorize_path(&params)
    }

    /// The token request that trades `code` (public client: `client_id` in the form).
    pub fn exchange_form(&self, code: &str) -> Vec<(String, String)> {
        [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("code_verifier", &self.verifier),
            ("redirect_uri", &self.redirect_uri),
            ("client_id", &self.client_id),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// Asserts a redirect to this flow's redirect URI with `code`, `state` and `iss`;
    /// returns the code.
    #[track_caller]
    pub fn code_from(&self, page: &Page, issuer: &str) -> String {
        assert!(
            page.status == StatusCode::SEE_OTHER || page.status == StatusCode::FOUND,
            "a redirect with the code, got {}: {}",
            page.status,
            page.body
        );
        let r = page.redirect();
        assert_eq!(r.target, self.redirect_uri, "{r:?}");
        assert_eq!(r.param("state"), Some(self.state.as_str()), "{r:?}");
        assert_eq!(r.param("iss"), Some(issuer), "{r:?}");
        assert!(r.param("error").is_none(), "{r:?}");
        r.param("code")
            .unwrap_or_else(|| panic!("no code: {r:?}"))
            .to_owned()
    }

    /// Asserts an error redirect to this flow's redirect URI (RFC 6749 §4.1.2.1, with
    /// `state` and `iss`).
    #[track_caller]
    pub fn assert_error_redirect(&self, page: &Page, issuer: &str, error: &str) {
        assert!(
            page.status.is_redirection(),
            "an error redirect `{error}`, got {}: {}",
            page.status,
            page.body
        );
        let r = page.redirect();
        assert_eq!(r.target, self.redirect_uri, "{r:?}");
        assert_eq!(r.param("error"), Some(error), "{r:?}");
        assert!(
            r.param("error_description").is_some_and(|d| !d.is_empty()),
            "{r:?}"
        );
        assert_eq!(r.param("state"), Some(self.state.as_str()), "{r:?}");
        assert_eq!(r.param("iss"), Some(issuer), "{r:?}");
        assert!(r.param("code").is_none(), "{r:?}");
    }
}

/// `/oauth/authorize?<params>`, form-encoded.
pub fn authorize_path(params: &[(String, String)]) -> String {
    let mut u = Url::parse("http://x/oauth/authorize").unwrap();
    u.query_pairs_mut().extend_pairs(params);
    format!("/oauth/authorize?{}", u.query().unwrap_or_default())
}

/// A browser with a hand-kept cookie jar that never follows redirects. All cookies of
/// the test server's host live in one jar (cookies ignore ports), so the SPA's refresh
/// cookie sits next to the sign-in session, as in a real browser.
pub struct Browser {
    base: String,
    http: reqwest::Client,
    jar: BTreeMap<String, String>,
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        Browser {
            base: app.base.clone(),
            http: no_redirect_client(),
            jar: BTreeMap::new(),
        }
    }

    /// The issuer's origin, as a browser sends it on a same-origin form post.
    pub fn issuer_origin(&self) -> &str {
        &self.base
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.jar.get(name).map(String::as_str)
    }

    pub fn set_cookie(&mut self, name: &str, value: &str) {
        self.jar.insert(name.to_owned(), value.to_owned());
    }

    pub fn remove_cookie(&mut self, name: &str) {
        self.jar.remove(name);
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        }
    }

    /// Sends a request with the jar's cookies and `headers`; keeps the cookies it sets.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        form: Option<&[(String, String)]>,
    ) -> Page {
        let mut req = self.http.request(method, self.url(path));
        if !self.jar.is_empty() {
            let cookie = self
                .jar
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            req = req.header("cookie", cookie);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(form) = form {
            req = req.form(form);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.text().await.expect("body");
        let cookies = set_cookies(&headers);
        for c in &cookies {
            if c.clears() {
                self.jar.remove(&c.name);
            } else {
                self.jar.insert(c.name.clone(), c.value.clone());
            }
        }
        Page {
            status,
            headers,
            body,
            cookies,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, &[], None).await
    }

    /// A form post with `Origin` = the issuer, as a browser submits the server's own form.
    pub async fn post(&mut self, path: &str, form: &[(String, String)]) -> Page {
        let origin = self.base.clone();
        self.send(Method::POST, path, &[("origin", &origin)], Some(form))
            .await
    }

    /// Submits the form of `page`: its hidden fields plus `extra`.
    pub async fn submit(&mut self, page: &Page, extra: &[(&str, &str)]) -> Page {
        let form = form_of(page, extra);
        self.post("/oauth/authorize", &form).await
    }

    /// Signs in on a sign-in `page`.
    pub async fn sign_in(&mut self, page: &Page, user: &str, password: &str) -> Page {
        assert!(
            page.is_sign_in(),
            "a sign-in page ({}): {}",
            page.status,
            page.body
        );
        self.submit(
            page,
            &[
                ("username", user),
                ("password", password),
                ("action", "sign_in"),
            ],
        )
        .await
    }

    /// The whole first-party flow: authorize, sign in (unless the session skips it), and
    /// the code from the redirect.
    pub async fn code(&mut self, app: &TestApp, flow: &Flow, user: &str, password: &str) -> String {
        let page = self.get(&flow.path()).await;
        if page.status.is_redirection() {
            return flow.code_from(&page, &app.base);
        }
        assert_eq!(page.status, 200, "{}", page.body);
        let done = self.sign_in(&page, user, password).await;
        flow.code_from(&done, &app.base)
    }

    /// POSTs a form to `/oauth/token` (or another endpoint) with the jar's cookies and
    /// `headers`; the answer as JSON.
    pub async fn oauth(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> (Answer, Vec<SetCookie>) {
        let form: Vec<(String, String)> = form
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let page = self.send(Method::POST, path, headers, Some(&form)).await;
        (page.answer(), page.cookies)
    }
}

/// The hidden fields of `page`'s form plus `extra`.
pub fn form_of(page: &Page, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut form = page.hidden_fields();
    form.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    form
}

/// A reqwest client that never follows redirects and keeps no cookies.
pub fn no_redirect_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .expect("http client")
}

/// The admin API body of a public browser client: the code and refresh grants, scopes
/// `read write`, the given redirect URIs. Tests add `allowed_origins`,
/// `refresh_token_delivery`, `require_consent`, ...
pub fn browser_client(id: &str, redirect_uris: &[&str]) -> Value {
    json!({
        "client_id": id,
        "public": true,
        "grant_types": ["authorization_code", "refresh_token"],
        "scopes": ["read", "write"],
        "redirect_uris": redirect_uris,
    })
}

/// The cookie SPA client: [`browser_client`] with [`SPA_ORIGIN`] and cookie delivery.
pub fn cookie_client(id: &str) -> Value {
    let mut c = browser_client(id, &[SPA_CALLBACK]);
    c["allowed_origins"] = json!([SPA_ORIGIN]);
    c["refresh_token_delivery"] = json!("cookie");
    c
}

/// `POST /admin/v1/clients` with `body`.
pub async fn create_client(app: &TestApp, admin: &str, body: Value) -> Answer {
    app.send_bearer(Method::POST, "/admin/v1/clients", admin, Some(body))
        .await
}

/// Creates a client through the admin API, asserting success.
pub async fn add_browser_client(app: &TestApp, admin: &str, body: Value) -> Value {
    let a = create_client(app, admin, body).await;
    a.assert_ok();
    a.body
}

/// The family (admin API view) with this id.
pub async fn family(app: &TestApp, admin: &str, id: &str) -> Value {
    let a = app
        .send_bearer(
            Method::GET,
            &format!("/admin/v1/families/{id}"),
            admin,
            None,
        )
        .await;
    a.assert_ok();
    a.body["family"].clone()
}

/// The `sid` claim (refresh family id) of an access token.
pub fn sid_of(access_token: &str) -> String {
    let payload = access_token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    let v: Value = serde_json::from_slice(&bytes).expect("JSON claims");
    v["sid"].as_str().expect("sid").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s256_matches_rfc_7636_appendix_b() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn set_cookie_and_hidden_fields_parse() {
        let c = SetCookie::parse("__Host-a=b=c; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0")
            .unwrap();
        assert_eq!((c.name.as_str(), c.value.as_str()), ("__Host-a", "b=c"));
        assert!(c.clears());
        c.assert_attributes(true, "Lax");
        let p = Page {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: r#"<input type="hidden" name="state" value="a&amp;b&#x27;&quot;">
<input id="u" name="username" type="text" value="">"#
                .into(),
            cookies: vec![],
        };
        assert_eq!(p.hidden_fields(), [("state".into(), "a&b'\"".into())]);
    }
}
