//! The browser's side of the server: the sign-in, consent and signed-out pages, the
//! browser SDK, cookies and CORS. Like `api/`, this is an edge: it parses, calls
//! [`crate::oauth`], and renders; the rules live there.

pub mod assets;
pub mod authorize;
pub mod cookies;
pub mod cors;
pub mod headers;
pub mod logout;
pub mod pages;

use poem::{EndpointExt, Route, get};

/// Adds the browser routes to `r`, each with the pages' security headers.
pub fn mount(r: Route) -> Route {
    r.at(
        "/oauth/authorize",
        get(authorize::start)
            .post(authorize::submit)
            .around(headers::apply),
    )
    .at(
        "/oauth/logout",
        get(logout::logout)
            .post(logout::logout)
            .around(headers::apply),
    )
    .at(
        "/assets/tessera.css",
        get(assets::stylesheet).around(headers::apply),
    )
    .at("/sdk/tessera.js", get(assets::sdk).around(headers::apply))
}
