//! Who is asking: address and user agent, for sessions and the audit trail.

use poem::Request;
use poem::web::RemoteAddr;

use crate::store::families::RequestMeta;

pub fn request_meta(req: &Request) -> RequestMeta {
    let remote: &RemoteAddr = req.remote_addr();
    let ip = remote.as_socket_addr().map(|a| a.ip().to_string());
    let user_agent = req
        .headers()
        .get(poem::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(256).collect());
    RequestMeta { ip, user_agent }
}
