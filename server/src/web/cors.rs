//! CORS (DESIGN.md, "Single-page apps"). A browser app calls the token and revocation
//! endpoints and `/me/*` from its own origin, with its cookie: the answer names that
//! exact origin and allows credentials, and only for an origin the client registered
//! (`allowed_origins`). `*` is never combined with credentials; the public metadata
//! under `/.well-known/` is open to every origin. Origins in the `cors_origins` setting
//! may call every API path (bearer tokens, no cookies), as before.
//!
//! Which client a token or revocation request is for is in its form body (or Basic
//! header), so for a request with an `Origin` that body is read here (it is already
//! bounded by `body_limit`) and handed on. Requests without `Origin` (every non-browser
//! client) pass untouched. The client origins come from a cache refreshed at most once
//! a second ([`OriginCache`]): a client registered or changed a moment ago is known to
//! CORS within a second, on every instance.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Endpoint, IntoResponse, Request, Response};

use crate::state::AppState;

/// How stale the client origins may be.
pub const ORIGIN_CACHE_TTL: Duration = Duration::from_secs(1);

const ALLOW_HEADERS: &str = "Authorization, Content-Type, Tessera-CSRF";
const EXPOSE_HEADERS: &str = "Retry-After, WWW-Authenticate";

/// Client id and its allowed origins, for every client that has some.
type ClientOrigins = Arc<Vec<(String, Vec<String>)>>;

/// Every client's allowed origins, reloaded when older than [`ORIGIN_CACHE_TTL`].
#[derive(Default)]
pub struct OriginCache {
    inner: RwLock<Option<(Instant, ClientOrigins)>>,
}

impl OriginCache {
    async fn get(&self, state: &AppState) -> ClientOrigins {
        let cached = self
            .inner
            .read()
            .ok()
            .and_then(|g| g.as_ref().map(|(at, v)| (*at, v.clone())));
        if let Some((at, v)) = &cached
            && at.elapsed() < ORIGIN_CACHE_TTL
        {
            return v.clone();
        }
        match crate::store::clients::origins(&state.db.read).await {
            Ok(rows) => {
                let v = Arc::new(rows);
                if let Ok(mut g) = self.inner.write() {
                    *g = Some((Instant::now(), v.clone()));
                }
                v
            }
            Err(e) => {
                // Keep answering from the last list rather than failing the request.
                tracing::warn!(error = %e, "loading client origins for CORS failed");
                cached.map(|(_, v)| v).unwrap_or_default()
            }
        }
    }

    fn any_allows(list: &[(String, Vec<String>)], origin: &str) -> bool {
        list.iter().any(|(_, o)| o.iter().any(|o| o == origin))
    }

    fn client_allows(list: &[(String, Vec<String>)], client: &str, origin: &str) -> bool {
        list.iter()
            .any(|(id, o)| id == client && o.iter().any(|o| o == origin))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Area {
    /// `/oauth/token`, `/oauth/revoke`: for the request's client's origins.
    ClientEndpoint,
    /// `/me/*`: for any client's origins (bearer-authenticated).
    Me,
    /// Everything else: only the `cors_origins` setting.
    Other,
}

fn area(path: &str) -> Area {
    match path {
        "/oauth/token" | "/oauth/revoke" => Area::ClientEndpoint,
        p if p == "/me" || p.starts_with("/me/") => Area::Me,
        _ => Area::Other,
    }
}

/// The middleware.
pub async fn apply<E: Endpoint>(ep: E, mut req: Request) -> poem::Result<Response> {
    // Public metadata: open to every origin, on every response (also those without
    // `Origin`, which caches may hand to browsers later).
    if req.uri().path().starts_with("/.well-known/") {
        let mut resp = ep.call(req).await?.into_response();
        resp.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        return Ok(resp);
    }
    let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
    else {
        return Ok(ep.call(req).await?.into_response());
    };
    let path = req.uri().path().to_owned();
    let Some(state) = req.data::<AppState>().cloned() else {
        return Ok(ep.call(req).await?.into_response());
    };
    let area = area(&path);
    let configured = area_allows_setting(&state, &path, &origin);
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        let clients = state.origins.get(&state).await;
        let by_client = area != Area::Other && OriginCache::any_allows(&clients, &origin);
        if !(by_client || configured) {
            return Ok(ep.call(req).await?.into_response());
        }
        let methods = match area {
            Area::ClientEndpoint => "POST",
            Area::Me => "GET, POST, DELETE",
            Area::Other => "GET, POST, PATCH, PUT, DELETE",
        };
        let mut resp = Response::builder().status(StatusCode::NO_CONTENT).finish();
        let h = resp.headers_mut();
        allow(h, &origin, by_client);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(methods),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOW_HEADERS),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        return Ok(resp);
    }
    let by_client = match area {
        Area::Other => false,
        Area::Me => OriginCache::any_allows(&state.origins.get(&state).await, &origin),
        Area::ClientEndpoint => match client_of(&mut req, state.settings.body_limit).await {
            Some(id) => OriginCache::client_allows(&state.origins.get(&state).await, &id, &origin),
            None => false,
        },
    };
    let mut resp = ep.call(req).await?.into_response();
    let h = resp.headers_mut();
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    if by_client || configured {
        allow(h, &origin, by_client);
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSE_HEADERS),
        );
    }
    Ok(resp)
}

/// The `cors_origins` setting covers the API, not the pages.
fn area_allows_setting(state: &AppState, path: &str, origin: &str) -> bool {
    !matches!(path, "/oauth/authorize" | "/oauth/logout")
        && state.settings.cors_origins.iter().any(|o| o == origin)
}

fn allow(h: &mut poem::http::HeaderMap, origin: &str, credentials: bool) {
    if let Ok(v) = HeaderValue::from_str(origin) {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
    }
    if credentials {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    h.append(header::VARY, HeaderValue::from_static("Origin"));
}

/// The client a token or revocation request names: the Basic user, else the form's
/// `client_id`. The body is put back for the endpoint.
async fn client_of(req: &mut Request, limit: usize) -> Option<String> {
    if let Some(id) = basic_user(req) {
        return Some(id);
    }
    let body = req.take_body().into_bytes_limit(limit).await;
    let bytes = match body {
        Ok(b) => b,
        Err(_) => {
            // Unreadable or too large: the endpoint answers it (from an empty body).
            return None;
        }
    };
    let id = url::form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == "client_id")
        .map(|(_, v)| v.into_owned());
    req.set_body(bytes);
    id
}

fn basic_user(req: &Request) -> Option<String> {
    let v = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let b64 = v
        .strip_prefix("Basic ")
        .or_else(|| v.strip_prefix("basic "))?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let user = s.split_once(':')?.0;
    percent_encoding::percent_decode_str(user)
        .decode_utf8()
        .ok()
        .map(|c| c.replace('+', " "))
}
