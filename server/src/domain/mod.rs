//! Domain types. Raw input becomes one of these once, at the edge; past that point the
//! code can rely on it being well formed.

mod names;
mod rotation;
mod scope;
mod throttle;
mod tokens;

pub use names::{ClientId, NewPassword, Username};
pub use rotation::{ReuseDecision, child_expiry, decide_reuse};
pub use scope::Scope;
pub use throttle::{Failures, LockoutPolicy, Thresholds, must_wait, should_lock};
pub use tokens::{
    ClientSecret, RefreshTokenValue, hash_presented_secret as tokens_hash_presented_secret,
};

use std::fmt;

/// The OAuth grant types Tessera knows (RFC 6749 §4, RFC 7636).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantType {
    Password,
    RefreshToken,
    ClientCredentials,
    AuthorizationCode,
}

impl GrantType {
    /// Grants the token endpoint currently serves (also what discovery advertises).
    pub const SUPPORTED: [GrantType; 3] = [
        GrantType::Password,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::Password => "password",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::AuthorizationCode => "authorization_code",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "password" => Some(GrantType::Password),
            "refresh_token" => Some(GrantType::RefreshToken),
            "client_credentials" => Some(GrantType::ClientCredentials),
            "authorization_code" => Some(GrantType::AuthorizationCode),
            _ => None,
        }
    }

    /// Parses a list separated by commas and/or spaces, as the CLI and the store write it.
    pub fn parse_list(s: &str) -> Result<Vec<GrantType>, String> {
        let mut out = Vec::new();
        for part in s.split([',', ' ']).filter(|p| !p.is_empty()) {
            let g = GrantType::parse(part).ok_or_else(|| format!("unknown grant type `{part}`"))?;
            if !out.contains(&g) {
                out.push(g);
            }
        }
        Ok(out)
    }

    pub fn join(list: &[GrantType]) -> String {
        list.iter()
            .map(|g| g.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a refresh family was revoked. Stored as its string form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeReason {
    Logout,
    Admin,
    ReuseDetected,
    PasswordChanged,
    UserDisabled,
    ClientRemoved,
}

impl RevokeReason {
    pub const ALL: [RevokeReason; 6] = [
        RevokeReason::Logout,
        RevokeReason::Admin,
        RevokeReason::ReuseDetected,
        RevokeReason::PasswordChanged,
        RevokeReason::UserDisabled,
        RevokeReason::ClientRemoved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RevokeReason::Logout => "logout",
            RevokeReason::Admin => "admin",
            RevokeReason::ReuseDetected => "reuse_detected",
            RevokeReason::PasswordChanged => "password_changed",
            RevokeReason::UserDisabled => "user_disabled",
            RevokeReason::ClientRemoved => "client_removed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_lists_accept_commas_and_spaces_and_drop_duplicates() {
        assert_eq!(
            GrantType::parse_list("password,refresh_token password").unwrap(),
            vec![GrantType::Password, GrantType::RefreshToken]
        );
        assert!(GrantType::parse_list("password,implicit").is_err());
        assert_eq!(GrantType::parse_list("").unwrap(), vec![]);
    }

    #[test]
    fn revoke_reasons_round_trip() {
        for r in RevokeReason::ALL {
            assert_eq!(RevokeReason::parse(r.as_str()), Some(r));
        }
        assert_eq!(RevokeReason::parse("bored"), None);
    }
}
