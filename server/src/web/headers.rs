//! The security headers of every page, set in one place: a strict Content-Security-Policy
//! (nothing but our own stylesheet loads; forms post only to us and, after a redirect,
//! to the client's redirect URI), no framing (clickjacking), no sniffing, no caching, and
//! no referrer to other origins (a page URL carries the authorize request). Not
//! `no-referrer`: with it, browsers send `Origin: null` on the page's own form posts,
//! which the CSRF check must refuse.

use poem::http::{HeaderValue, header};
use poem::{Endpoint, IntoResponse, Request, Response};

/// The origin a page's form may end up at (the client's redirect URI, after the 303).
#[derive(Clone, Debug)]
pub struct FormTargets(pub String);

/// Middleware for the browser routes.
pub async fn apply<E: Endpoint>(ep: E, req: Request) -> poem::Result<Response> {
    let mut resp = ep.call(req).await?.into_response();
    let target = resp.data::<FormTargets>().map(|t| t.0.clone()).filter(|t| {
        t.bytes()
            .all(|b| b.is_ascii_graphic() && b != b';' && b != b',')
    });
    let form_action = match target {
        Some(t) => format!("'self' {t}"),
        None => "'self'".to_owned(),
    };
    let csp = format!(
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(resp)
}
