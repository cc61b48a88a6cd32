use std::fmt;

/// A user's login name: 1 to 64 characters from letters, digits and `. _ - @ +`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.is_empty() || s.chars().count() > 64 {
            return Err("username must be 1 to 64 characters".into());
        }
        if !s
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+'))
        {
            return Err("username may contain only letters, digits and . _ - @ +".into());
        }
        Ok(Username(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A client identifier: 1 to 128 characters from the URL-safe set `A-Z a-z 0-9 . _ ~ -`,
/// so it needs no escaping in Basic auth, URLs or logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.is_empty() || s.len() > 128 {
            return Err("client_id must be 1 to 128 characters".into());
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-'))
        {
            return Err("client_id may contain only A-Z a-z 0-9 . _ ~ -".into());
        }
        Ok(ClientId(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password being set: 8 to 1024 bytes. The upper bound keeps hashing work bounded.
pub struct NewPassword(String);

impl NewPassword {
    pub const MAX_LEN: usize = 1024;

    pub fn parse(s: String) -> Result<Self, String> {
        if s.chars().count() < 8 {
            return Err("password must be at least 8 characters".into());
        }
        if s.len() > Self::MAX_LEN {
            return Err(format!("password must be at most {} bytes", Self::MAX_LEN));
        }
        Ok(NewPassword(s))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(Username::parse("alice").is_ok());
        assert!(Username::parse("a.b+c@example.org").is_ok());
        assert!(Username::parse("").is_err());
        assert!(Username::parse("has space").is_err());
        assert!(Username::parse(&"x".repeat(65)).is_err());
    }

    #[test]
    fn client_ids() {
        assert!(ClientId::parse("my-app_1.0~x").is_ok());
        assert!(ClientId::parse("a:b").is_err());
        assert!(ClientId::parse("").is_err());
    }

    #[test]
    fn passwords() {
        assert!(NewPassword::parse("short".into()).is_err());
        assert!(NewPassword::parse("long enough".into()).is_ok());
        assert!(NewPassword::parse("x".repeat(1025)).is_err());
        assert_eq!(
            format!("{:?}", NewPassword::parse("secret123".into()).unwrap()),
            "NewPassword(***)"
        );
    }
}
