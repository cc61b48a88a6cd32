//! The browser cookies, their names and attributes in one table (DESIGN.md, "Browser
//! sign-in" and "Single-page apps"):
//!
//! | cookie | name | SameSite | lifetime |
//! |---|---|---|---|
//! | sign-in session | `__Host-tessera-session` | Lax (top-level navigations from apps on other sites) | `sso_session_ttl` |
//! | refresh token | `__Host-tessera-rt-<client_id>` | Strict | until the token's idle expiry |
//! | sign-in form CSRF | `__Host-tessera-csrf` | Strict | the browser session |
//!
//! All are `HttpOnly`, `Path=/` and `Secure`; `cookie_secure = false` (plain-http
//! development) drops `Secure` and with it the `__Host-` prefix, which requires it.

use cookie::{Cookie, SameSite};
use poem::Request;
use poem::http::header;

/// Which cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind<'a> {
    Session,
    RefreshToken { client_id: &'a str },
    Csrf,
}

impl Kind<'_> {
    pub fn name(self, secure: bool) -> String {
        let prefix = if secure { "__Host-" } else { "" };
        match self {
            Kind::Session => format!("{prefix}tessera-session"),
            Kind::RefreshToken { client_id } => format!("{prefix}tessera-rt-{client_id}"),
            Kind::Csrf => format!("{prefix}tessera-csrf"),
        }
    }

    fn same_site(self) -> SameSite {
        match self {
            Kind::Session => SameSite::Lax,
            Kind::RefreshToken { .. } | Kind::Csrf => SameSite::Strict,
        }
    }
}

/// A `Set-Cookie` value; `max_age` in seconds (`None`: until the browser closes).
pub fn set(kind: Kind<'_>, secure: bool, value: &str, max_age: Option<i64>) -> String {
    let mut c = Cookie::build((kind.name(secure), value.to_owned()))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(kind.same_site());
    if let Some(secs) = max_age {
        c = c.max_age(cookie::time::Duration::seconds(secs.max(0)));
    }
    c.build().to_string()
}

/// A `Set-Cookie` value that removes the cookie (`Max-Age=0`).
pub fn clear(kind: Kind<'_>, secure: bool) -> String {
    set(kind, secure, "", Some(0))
}

/// The value of the named cookie in the request, if sent (the first, if sent twice).
pub fn read(req: &Request, kind: Kind<'_>, secure: bool) -> Option<String> {
    let name = kind.name(secure);
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_follow_the_contract() {
        let c = set(
            Kind::RefreshToken { client_id: "spa" },
            true,
            "tsr_x",
            Some(60),
        );
        assert!(c.starts_with("__Host-tessera-rt-spa=tsr_x"), "{c}");
        for attr in [
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Path=/",
            "Max-Age=60",
        ] {
            assert!(c.contains(attr), "{c} lacks {attr}");
        }
        let s = set(Kind::Session, false, "v", Some(5));
        assert!(s.starts_with("tessera-session=v"), "{s}");
        assert!(s.contains("SameSite=Lax") && !s.contains("Secure"), "{s}");
        assert!(clear(Kind::Csrf, true).contains("Max-Age=0"));
    }
}
