//! `GET|POST /oauth/authorize`: the authorization endpoint and its pages. `GET` checks the
//! request and either redirects at once (a sign-in session, nothing to ask) or shows the
//! sign-in page; the page's form, and the consent page's, `POST` back here with every
//! authorize parameter as a hidden field, so each step re-checks the whole request and
//! the server keeps no state between pages.
//!
//! The forms are protected against cross-site request forgery twice: a double-submit
//! token (a `SameSite=Strict` HttpOnly cookie that a hidden field must equal) and, when
//! the browser sends one, an `Origin` that must be the issuer's.

use std::borrow::Cow;

use poem::http::{StatusCode, header};
use poem::web::Data;
use poem::{Body, Request, Response, handler};

use super::cookies::{self, Kind};
use super::headers::FormTargets;
use super::pages::{self, Consent, SignIn};
use crate::api::meta::request_meta;
use crate::domain::{BrowserSecret, Scope};
use crate::oauth::OAuthError;
use crate::oauth::authorization_code::{
    self as code, Authorization, AuthorizeParams, Checked, Next, Refusal, Untrusted,
};
use crate::oauth::signin_session;
use crate::state::AppState;
use crate::store::entities::user;

/// The authorize parameters, in the order they are echoed as hidden fields.
const PARAMS: [&str; 8] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "prompt",
];

/// The authorize parameters and the form's own fields.
#[derive(Default)]
struct Input {
    params: AuthorizeParams,
    csrf_token: Option<String>,
    username: Option<String>,
    password: Option<String>,
    action: Option<String>,
    /// On the consent form: the sign-in session it was shown to.
    consent_session: Option<String>,
}

/// The form's own fields.
const FORM: [&str; 5] = [
    "csrf_token",
    "username",
    "password",
    "action",
    "consent_session",
];

fn parse<'a>(pairs: impl Iterator<Item = (Cow<'a, str>, Cow<'a, str>)>) -> Input {
    let mut input = Input::default();
    let mut seen: Vec<String> = Vec::new();
    for (k, v) in pairs {
        let key = k.as_ref();
        if !PARAMS.contains(&key) && !FORM.contains(&key) {
            continue;
        }
        if seen.iter().any(|s| s == key) {
            let repeated = &mut input.params.repeated;
            if PARAMS.contains(&key) && !repeated.iter().any(|r| r == key) {
                repeated.push(key.to_owned());
            }
            continue;
        }
        seen.push(key.to_owned());
        let v = Some(v.into_owned()).filter(|v| !v.is_empty());
        let p = &mut input.params;
        match key {
            "response_type" => p.response_type = v,
            "client_id" => p.client_id = v,
            "redirect_uri" => p.redirect_uri = v,
            "scope" => p.scope = v,
            "state" => p.state = v,
            "code_challenge" => p.code_challenge = v,
            "code_challenge_method" => p.code_challenge_method = v,
            "prompt" => p.prompt = v,
            "csrf_token" => input.csrf_token = v,
            "username" => input.username = v,
            "password" => input.password = v,
            "consent_session" => input.consent_session = v,
            _ => input.action = v,
        }
    }
    input
}

fn hidden_fields(p: &AuthorizeParams) -> Vec<(&'static str, &str)> {
    let values = [
        &p.response_type,
        &p.client_id,
        &p.redirect_uri,
        &p.scope,
        &p.state,
        &p.code_challenge,
        &p.code_challenge_method,
        &p.prompt,
    ];
    PARAMS
        .iter()
        .zip(values)
        .filter_map(|(name, v)| v.as_deref().map(|v| (*name, v)))
        .collect()
}

/// `GET /oauth/authorize`.
#[handler]
pub async fn start(req: &Request, state: Data<&AppState>) -> Response {
    let query = req.uri().query().unwrap_or("");
    let input = parse(url::form_urlencoded::parse(query.as_bytes()));
    let a = match code::check(&state, input.params).await {
        Ok(a) => a,
        Err(u) => return untrusted(u),
    };
    let c = match &a.checked {
        Ok(c) => c.clone(),
        Err(r) => return redirect(StatusCode::FOUND, a.refused(&state.issuer, r), vec![]),
    };
    let secure = state.settings.cookie_secure;
    let cookie = cookies::read(req, Kind::Session, secure);
    let current = match signin_session::current(&state, cookie.as_deref()).await {
        Ok(s) => s,
        Err(e) => return fault(&state, &a, StatusCode::FOUND, e),
    };
    match current {
        Some(cur) if !c.prompt.login => {
            let step = Step {
                state: &state,
                req,
                a: &a,
                c: &c,
                status: StatusCode::FOUND,
            };
            step.continue_as(&cur.user, &cur.session.id, false, vec![])
                .await
        }
        _ if c.prompt.none => {
            let r = Refusal {
                error: "login_required",
                description: "the user is not signed in".into(),
            };
            redirect(StatusCode::FOUND, a.refused(&state.issuer, &r), vec![])
        }
        _ => sign_in_page(&state, req, &a, "", None, StatusCode::OK, false),
    }
}

/// `POST /oauth/authorize`: the sign-in and consent forms.
#[handler]
pub async fn submit(req: &Request, state: Data<&AppState>, body: Body) -> Response {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    let bytes = match body.into_bytes().await {
        Ok(b) if is_form => b,
        _ => {
            return message(
                StatusCode::BAD_REQUEST,
                "Sign-in failed",
                "The form could not be read. Go back to the application and try again.",
            );
        }
    };
    let input = parse(url::form_urlencoded::parse(&bytes));
    let a = match code::check(&state, input.params.clone()).await {
        Ok(a) => a,
        Err(u) => return untrusted(u),
    };
    if !csrf_ok(&state, req, input.csrf_token.as_deref()) {
        return sign_in_page(
            &state,
            req,
            &a,
            input.username.as_deref().unwrap_or(""),
            Some("This form had expired or was sent from another site. Please sign in again."),
            StatusCode::FORBIDDEN,
            true,
        );
    }
    let c = match &a.checked {
        Ok(c) => c.clone(),
        Err(r) => return redirect(StatusCode::SEE_OTHER, a.refused(&state.issuer, r), vec![]),
    };
    let step = Step {
        state: &state,
        req,
        a: &a,
        c: &c,
        status: StatusCode::SEE_OTHER,
    };
    match input.action.as_deref() {
        Some("sign_in") => step.sign_in(&input).await,
        Some(choice @ ("allow" | "deny")) => {
            step.consent(choice == "allow", input.consent_session.as_deref())
                .await
        }
        _ => sign_in_page(
            &state,
            req,
            &a,
            "",
            Some("Please sign in."),
            StatusCode::BAD_REQUEST,
            false,
        ),
    }
}

/// One step of a checked request.
struct Step<'a> {
    state: &'a AppState,
    req: &'a Request,
    a: &'a Authorization,
    c: &'a Checked,
    /// `302 Found` after a `GET`, `303 See Other` after a form.
    status: StatusCode,
}

impl Step<'_> {
    async fn sign_in(&self, input: &Input) -> Response {
        let username = input.username.as_deref().unwrap_or("");
        let password = input.password.as_deref().unwrap_or("");
        let page = |msg: &str, status| {
            sign_in_page(
                self.state,
                self.req,
                self.a,
                username,
                Some(msg),
                status,
                false,
            )
        };
        if username.is_empty() || password.is_empty() {
            return page(
                "Enter your user name and password.",
                StatusCode::BAD_REQUEST,
            );
        }
        let secure = self.state.settings.cookie_secure;
        let old = cookies::read(self.req, Kind::Session, secure);
        let meta = request_meta(self.req);
        let signed_in = signin_session::sign_in(
            self.state,
            &self.a.client.client_id,
            username,
            password,
            old.as_deref(),
            &meta,
        )
        .await;
        match signed_in {
            Ok((started, user)) => {
                let cookie = cookies::set(
                    Kind::Session,
                    secure,
                    started.cookie.expose(),
                    Some(self.state.settings.sso_session_ttl),
                );
                self.continue_as(&user, &started.id, false, vec![cookie])
                    .await
            }
            Err(OAuthError::InvalidGrant(_)) => page(
                "The user name or password is incorrect.",
                StatusCode::UNAUTHORIZED,
            ),
            Err(OAuthError::TooManyAttempts { retry_after, .. }) => {
                let mut resp = page(
                    &format!(
                        "Too many failed sign-ins. Try again in {}.",
                        seconds(retry_after)
                    ),
                    StatusCode::TOO_MANY_REQUESTS,
                );
                retry(&mut resp, retry_after);
                resp
            }
            Err(OAuthError::Unavailable(_)) => {
                let mut resp = page(
                    "The server is busy. Please try again in a moment.",
                    StatusCode::SERVICE_UNAVAILABLE,
                );
                retry(&mut resp, 1);
                resp
            }
            Err(OAuthError::InvalidRequest(d)) => page(&d, StatusCode::BAD_REQUEST),
            Err(e) => {
                tracing::error!(error = %e, "sign-in failed");
                page(
                    "An internal error occurred. Please try again.",
                    StatusCode::INTERNAL_SERVER_ERROR,
                )
            }
        }
    }

    /// The consent form's answer. It counts only from the sign-in session it was shown
    /// to: not from another form (the sign-in form of a `prompt=login` request), and not
    /// after another account signed in in another tab.
    async fn consent(&self, allowed: bool, shown_to: Option<&str>) -> Response {
        let secure = self.state.settings.cookie_secure;
        let cookie = cookies::read(self.req, Kind::Session, secure);
        let current = match signin_session::current(self.state, cookie.as_deref()).await {
            Ok(Some(cur)) => cur,
            Ok(None) => {
                return sign_in_page(
                    self.state,
                    self.req,
                    self.a,
                    "",
                    Some("Your sign-in has ended. Please sign in again."),
                    StatusCode::UNAUTHORIZED,
                    false,
                );
            }
            Err(e) => return fault(self.state, self.a, self.status, e),
        };
        if shown_to != Some(current.session.id.as_str()) {
            return sign_in_page(
                self.state,
                self.req,
                self.a,
                "",
                Some("Your sign-in has changed. Please sign in again."),
                StatusCode::UNAUTHORIZED,
                false,
            );
        }
        if !allowed {
            let r = Refusal {
                error: "access_denied",
                description: "the user denied the request".into(),
            };
            return redirect(self.status, self.a.refused(&self.state.issuer, &r), vec![]);
        }
        self.continue_as(&current.user, &current.session.id, true, vec![])
            .await
    }

    /// The user is signed in: ask for consent if needed, else issue the code.
    async fn continue_as(
        &self,
        user: &user::Model,
        session_id: &str,
        consent_given: bool,
        set_cookies: Vec<String>,
    ) -> Response {
        let issuer = &self.state.issuer;
        let next = match code::next_step(self.state, self.a, self.c, user, consent_given).await {
            Ok(n) => n,
            Err(e) => return fault(self.state, self.a, self.status, e),
        };
        match next {
            Err(r) => redirect(self.status, self.a.refused(issuer, &r), set_cookies),
            Ok(Next::Consent(scope)) => {
                let page = ConsentFor {
                    user,
                    scope: &scope,
                    session_id,
                };
                consent_page(self.state, self.req, self.a, page, set_cookies)
            }
            Ok(Next::Issue(scope)) => {
                let meta = request_meta(self.req);
                if consent_given
                    && let Err(e) =
                        code::allow(self.state, &self.a.client.client_id, user, &scope, &meta).await
                {
                    return fault(self.state, self.a, self.status, e);
                }
                match code::issue(self.state, self.a, self.c, user, &scope, Some(session_id)).await
                {
                    Ok(url) => redirect(self.status, url, set_cookies),
                    Err(e) => fault(self.state, self.a, self.status, e),
                }
            }
        }
    }
}

/// The CSRF cookie's value, and the `Set-Cookie` for it when it has to be (re)issued.
fn csrf_token(state: &AppState, req: &Request, fresh: bool) -> (String, Option<String>) {
    let secure = state.settings.cookie_secure;
    let existing = cookies::read(req, Kind::Csrf, secure)
        .filter(|_| !fresh)
        .and_then(|v| BrowserSecret::parse(&v));
    match existing {
        Some(t) => (t.expose().to_owned(), None),
        None => {
            let t = BrowserSecret::generate();
            let set = cookies::set(Kind::Csrf, secure, t.expose(), None);
            (t.expose().to_owned(), Some(set))
        }
    }
}

/// The form's token equals the cookie's, and the browser's `Origin`, if it sent one,
/// is the issuer's.
fn csrf_ok(state: &AppState, req: &Request, field: Option<&str>) -> bool {
    let origin_ok = match req.headers().get(header::ORIGIN).map(|v| v.to_str()) {
        None => true,
        Some(Ok(o)) => o == issuer_origin(&state.issuer),
        Some(Err(_)) => false,
    };
    let cookie = cookies::read(req, Kind::Csrf, state.settings.cookie_secure)
        .and_then(|v| BrowserSecret::parse(&v));
    let token_ok = match (cookie, field) {
        (Some(c), Some(f)) => c.matches(f),
        _ => false,
    };
    origin_ok && token_ok
}

fn issuer_origin(issuer: &str) -> String {
    url::Url::parse(issuer)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

fn sign_in_page(
    state: &AppState,
    req: &Request,
    a: &Authorization,
    username: &str,
    error: Option<&str>,
    status: StatusCode,
    fresh_csrf: bool,
) -> Response {
    let (csrf, set) = csrf_token(state, req, fresh_csrf);
    let hidden = hidden_fields(&a.params);
    let html = pages::render(&SignIn {
        client: &a.client.client_id,
        username,
        error,
        hidden: &hidden,
        csrf: &csrf,
    });
    page(status, html, a, set.into_iter().collect())
}

/// Whom the consent page asks, for what.
struct ConsentFor<'a> {
    user: &'a user::Model,
    scope: &'a Scope,
    session_id: &'a str,
}

fn consent_page(
    state: &AppState,
    req: &Request,
    a: &Authorization,
    who: ConsentFor<'_>,
    mut set_cookies: Vec<String>,
) -> Response {
    let (csrf, set) = csrf_token(state, req, false);
    set_cookies.extend(set);
    let mut hidden = hidden_fields(&a.params);
    hidden.push(("consent_session", who.session_id));
    let html = pages::render(&Consent {
        client: &a.client.client_id,
        username: &who.user.username,
        scopes: who.scope.iter().collect(),
        hidden: &hidden,
        csrf: &csrf,
    });
    page(StatusCode::OK, html, a, set_cookies)
}

fn page(status: StatusCode, html: String, a: &Authorization, set_cookies: Vec<String>) -> Response {
    let mut resp = Response::builder()
        .status(status)
        .content_type("text/html; charset=utf-8");
    for c in set_cookies {
        resp = resp.header(header::SET_COOKIE, c);
    }
    let mut resp = resp.body(html);
    // The form's redirect goes to the client: the page's CSP must allow it as a target.
    if let Ok(u) = url::Url::parse(&a.redirect_uri) {
        resp.set_data(FormTargets(u.origin().ascii_serialization()));
    }
    resp
}

fn redirect(status: StatusCode, location: String, set_cookies: Vec<String>) -> Response {
    let mut resp = Response::builder()
        .status(status)
        .header(header::LOCATION, location);
    for c in set_cookies {
        resp = resp.header(header::SET_COOKIE, c);
    }
    resp.finish()
}

/// A fault once the client is trusted: redirected as `server_error` or
/// `temporarily_unavailable` (RFC 6749 §4.1.2.1).
fn fault(state: &AppState, a: &Authorization, status: StatusCode, e: OAuthError) -> Response {
    let r = match e {
        OAuthError::Unavailable(d) => Refusal {
            error: "temporarily_unavailable",
            description: d,
        },
        other => {
            tracing::error!(error = %other, "authorize failed");
            Refusal {
                error: "server_error",
                description: "an internal error occurred".into(),
            }
        }
    };
    redirect(status, a.refused(&state.issuer, &r), vec![])
}

fn untrusted(u: Untrusted) -> Response {
    match u {
        Untrusted::BadRequest(m) => message(StatusCode::BAD_REQUEST, "Sign-in request refused", &m),
        Untrusted::Unavailable(m) => {
            let mut resp = message(StatusCode::SERVICE_UNAVAILABLE, "Try again", &m);
            retry(&mut resp, 1);
            resp
        }
    }
}

/// A page with a title and a message (errors, signed out).
pub fn message(status: StatusCode, title: &str, text: &str) -> Response {
    let html = pages::render(&pages::Message {
        title,
        message: text,
        alert: status.is_client_error() || status.is_server_error(),
    });
    Response::builder()
        .status(status)
        .content_type("text/html; charset=utf-8")
        .body(html)
}

fn retry(resp: &mut Response, secs: i64) {
    if let Ok(v) = secs.max(1).to_string().parse() {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
}

fn seconds(n: i64) -> String {
    match n {
        1 => "1 second".into(),
        n if n < 120 => format!("{n} seconds"),
        n => format!("{} minutes", (n + 59) / 60),
    }
}
