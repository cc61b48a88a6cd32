//! Rules for browser apps whose refresh token lives in an HttpOnly cookie
//! (DESIGN.md, "Single-page apps"). The cookie is sent by the browser on its own, so a
//! request that uses it must prove it comes from the app: an `Origin` the client
//! registered (a cross-site page cannot forge it) and the `Tessera-CSRF: 1` header (which
//! a plain form or image cannot send, and which forces a CORS preflight).

use super::OAuthError;
use crate::store::entities::client;

/// The header a cookie request must carry, and its value.
pub const CSRF_HEADER: &str = "Tessera-CSRF";

/// What the browser sent with a cookie request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Proof<'a> {
    pub origin: Option<&'a str>,
    pub csrf_header: Option<&'a str>,
}

/// Refuses a cookie request without a registered `Origin` and the CSRF header. Checked
/// before anything is read or changed, so a refused request leaves the family and the
/// cookie as they were.
pub fn check(client: &client::Model, proof: Proof<'_>) -> Result<(), OAuthError> {
    match proof.origin {
        Some(o) if client.allows_origin(o) => {}
        Some(_) => {
            return Err(OAuthError::InvalidRequest(
                "this origin is not allowed for the client".into(),
            ));
        }
        None => {
            return Err(OAuthError::InvalidRequest(
                "a cookie request must carry the Origin header of an allowed origin".into(),
            ));
        }
    }
    if proof.csrf_header != Some("1") {
        return Err(OAuthError::InvalidRequest(format!(
            "a cookie request must carry the header {CSRF_HEADER}: 1"
        )));
    }
    Ok(())
}

/// A cookie client never sends its refresh token itself: JavaScript must not hold it.
pub fn refuse_body_token(client: &client::Model, sent: bool) -> Result<(), OAuthError> {
    if sent && client.refresh_in_cookie() {
        return Err(OAuthError::InvalidRequest(
            "this client's refresh token travels in its cookie; do not send refresh_token".into(),
        ));
    }
    Ok(())
}
