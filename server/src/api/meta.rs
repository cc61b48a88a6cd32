//! Who is asking: address and user agent, for sessions, throttling and the audit trail.

use poem::Request;

use crate::domain::RequestMeta;
use crate::state::AppState;

/// The client's address: the TCP peer, or, behind `trusted_proxy_hops` proxies that
/// append to `X-Forwarded-For`, the entry those proxies saw (counting from the right, so
/// a client cannot forge it by sending the header itself).
pub fn request_meta(req: &Request) -> RequestMeta {
    let ip = client_ip(req);
    let user_agent = req
        .headers()
        .get(poem::http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().filter(|c| !c.is_control()).take(256).collect());
    RequestMeta { ip, user_agent }
}

/// The client's address alone, as [`request_meta`] decides it.
pub fn client_ip(req: &Request) -> Option<String> {
    let peer = req
        .remote_addr()
        .as_socket_addr()
        .map(|a| a.ip().to_string());
    let hops = req
        .data::<AppState>()
        .map_or(0, |s| s.settings.trusted_proxy_hops);
    if hops == 0 {
        peer
    } else {
        forwarded_client(req, hops).or(peer)
    }
}

fn forwarded_client(req: &Request, hops: usize) -> Option<String> {
    let mut entries: Vec<&str> = Vec::new();
    for v in req.headers().get_all("x-forwarded-for") {
        let v = v.to_str().ok()?;
        entries.extend(v.split(',').map(str::trim).filter(|e| !e.is_empty()));
    }
    let pos = entries.len().checked_sub(hops)?;
    entries[pos]
        .parse::<std::net::IpAddr>()
        .ok()
        .map(|ip| ip.to_string())
}
