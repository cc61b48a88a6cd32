//! Bounds on what a client registration (and the server's defaults) may say: lifetimes
//! and redirect URIs. One set of rules for the CLI, the admin API and the config file.

use std::fmt;

/// A lifetime setting and its allowed range, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// Access tokens are bearer credentials that cannot be recalled from a resource
    /// server: at most a day (RFC 9700 §2.2.2 wants them short).
    AccessTtl,
    /// A refresh token unused this long expires: at most a year.
    RefreshIdleTtl,
    /// A family ends this long after sign-in: at most a year.
    RefreshAbsoluteTtl,
    /// A retry with a just-spent token is allowed this long: at most a minute, since the
    /// window is also a window for a thief.
    ReuseLeeway,
}

impl Lifetime {
    pub const ALL: [Lifetime; 4] = [
        Lifetime::AccessTtl,
        Lifetime::RefreshIdleTtl,
        Lifetime::RefreshAbsoluteTtl,
        Lifetime::ReuseLeeway,
    ];

    /// The field (and config key) this lifetime is set by.
    pub fn field(self) -> &'static str {
        match self {
            Lifetime::AccessTtl => "access_ttl",
            Lifetime::RefreshIdleTtl => "refresh_idle_ttl",
            Lifetime::RefreshAbsoluteTtl => "refresh_absolute_ttl",
            Lifetime::ReuseLeeway => "reuse_leeway",
        }
    }

    pub fn range(self) -> std::ops::RangeInclusive<i64> {
        const DAY: i64 = 24 * 3600;
        match self {
            Lifetime::AccessTtl => 1..=DAY,
            Lifetime::RefreshIdleTtl | Lifetime::RefreshAbsoluteTtl => 1..=365 * DAY,
            Lifetime::ReuseLeeway => 0..=60,
        }
    }

    /// Checks a value; the error names the allowed range.
    pub fn check(self, secs: i64) -> Result<i64, String> {
        let r = self.range();
        if r.contains(&secs) {
            Ok(secs)
        } else {
            Err(format!(
                "must be between {} and {} seconds",
                r.start(),
                r.end()
            ))
        }
    }
}

/// Whether a URL's host is this machine (`localhost`, `*.localhost`, 127.0.0.0/8, `::1`):
/// the one place where plain http is tolerated, for redirect URIs and for cookies.
pub fn is_loopback(u: &url::Url) -> bool {
    match u.host() {
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// A registered redirect URI: absolute `https` (or `http` to a loopback host) with a
/// host, no fragment
/// (RFC 6749 §3.1.2), no user information, at most 2048 bytes. Compared with the
/// presented one as an exact string (OAuth 2.1 §2.3.1), so it is stored as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri(String);

impl RedirectUri {
    pub const MAX_LEN: usize = 2048;

    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            Err(format!(
                "`{}` {why}",
                s.chars().take(80).collect::<String>()
            ))
        };
        if s.len() > Self::MAX_LEN {
            return bad("is longer than 2048 bytes");
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return bad("contains whitespace or control characters");
        }
        let Ok(u) = url::Url::parse(s) else {
            return bad("is not an absolute URI");
        };
        // The URL parser forgives `https:///host`; an exact-match registration should not.
        let authority = s.split_once("://").map(|(_, rest)| rest);
        if !matches!(u.scheme(), "https" | "http")
            || u.host_str().is_none_or(str::is_empty)
            || authority.is_none_or(|a| a.starts_with('/'))
        {
            return bad("must be an absolute http(s) URI with a host");
        }
        if u.scheme() == "http" && !is_loopback(&u) {
            // OAuth 2.1 §2.3.1 and RFC 9700 §2.6: codes must not travel in clear, except
            // to the same machine.
            return bad("must use https (http only for localhost and loopback addresses)");
        }
        if u.fragment().is_some() || s.contains('#') {
            return bad("must not have a fragment");
        }
        if !u.username().is_empty() || u.password().is_some() {
            return bad("must not carry user information");
        }
        Ok(RedirectUri(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A browser origin a client may call from: exactly `scheme://host[:port]` (http or
/// https), written as browsers send it in `Origin`, so it is compared as a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin(String);

impl Origin {
    pub fn parse(s: &str) -> Result<Self, String> {
        let shown = s.chars().take(80).collect::<String>();
        let bad = |why: &str| Err(format!("`{shown}` {why}"));
        if s.len() > 256 {
            return bad("is longer than 256 bytes");
        }
        let Ok(u) = url::Url::parse(s) else {
            return bad("is not an origin such as https://app.example.com");
        };
        if !matches!(u.scheme(), "https" | "http") || u.host_str().is_none_or(str::is_empty) {
            return bad("must be an http(s) origin such as https://app.example.com");
        }
        let origin = u.origin().ascii_serialization();
        if origin != s {
            return bad(&format!(
                "must be exactly scheme://host[:port], no path or trailing slash (did you mean `{origin}`?)"
            ));
        }
        Ok(Origin(origin))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_are_bounded() {
        assert!(Lifetime::AccessTtl.check(300).is_ok());
        assert!(Lifetime::AccessTtl.check(10 * 365 * 24 * 3600).is_err());
        assert!(Lifetime::AccessTtl.check(0).is_err());
        assert!(Lifetime::ReuseLeeway.check(0).is_ok());
        assert!(Lifetime::ReuseLeeway.check(61).is_err());
        assert!(Lifetime::RefreshIdleTtl.check(-1).is_err());
    }

    #[test]
    fn redirect_uris() {
        for ok in [
            "https://app.example.com/cb",
            "http://127.0.0.1:5173/callback?x=1",
            "http://localhost/cb",
        ] {
            assert!(RedirectUri::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/relative",
            "javascript:alert(1)",
            "https://app.example.com/cb#frag",
            "https://user:pw@app.example.com/cb",
            "https://app.example.com/c b",
            "ftp://example.com/",
            "http://app.example.com/cb",
            "https:///nohost",
        ] {
            assert!(RedirectUri::parse(bad).is_err(), "{bad}");
        }
        assert!(RedirectUri::parse(&format!("https://a.example/{}", "x".repeat(2100))).is_err());
    }

    #[test]
    fn origins() {
        for ok in ["https://app.example.com", "http://127.0.0.1:5173"] {
            assert_eq!(Origin::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "*",
            "null",
            "https://app.example.com/",
            "https://app.example.com/cb",
            "https://APP.example.com",
            "https://app.example.com:443",
            "ftp://app.example.com",
            "app.example.com",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad}");
        }
    }
}
