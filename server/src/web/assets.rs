//! Files served from the binary: the pages' stylesheet and the browser SDK.

use poem::http::{HeaderValue, header};
use poem::{Response, handler};

const STYLESHEET: &str = include_str!("../../assets/tessera.css");
const SDK: &str = include_str!("../../assets/tessera.js");

/// `GET /assets/tessera.css`.
#[handler]
pub fn stylesheet() -> Response {
    Response::builder()
        .content_type("text/css; charset=utf-8")
        .header(header::CACHE_CONTROL, "public, max-age=3600")
        .body(STYLESHEET)
}

/// `GET /sdk/tessera.js`: an ES module, imported cross-origin by apps (module scripts
/// are fetched with CORS, hence `Access-Control-Allow-Origin: *`; it is public code).
#[handler]
pub fn sdk() -> Response {
    let mut resp = Response::builder()
        .content_type("text/javascript; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(SDK);
    resp.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    resp
}
