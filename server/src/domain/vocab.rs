//! The wire vocabulary: every closed set of names that crosses the HTTP edge, the CLI or
//! the database (grant types, revoke reasons, family, token and key states, audit kinds).
//! Each is declared once with [`vocabulary!`], which writes the enum, its spelling, and
//! its poem-openapi `Enum` derive, so the spec lists the values and a generated client
//! gets them as types. See `docs/protocol.md` for what each value means.

/// Declares a closed vocabulary: an enum whose variants each have one spelling, used in
/// the database, the CLI, the audit trail and the OpenAPI spec alike.
#[macro_export]
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, poem_openapi::Enum)]
        $vis enum $name {
            $( $(#[$vmeta])* #[oai(rename = $text)] $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The one spelling of this value.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The value with this exact spelling.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }

            /// The spellings, comma-separated, for error messages.
            pub fn names() -> String {
                [$($text),+].join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

use crate::clock::Millis;

vocabulary! {
    /// The OAuth grant types Tessera knows (RFC 6749 §4, RFC 7636).
    pub enum GrantType {
        Password = "password",
        RefreshToken = "refresh_token",
        ClientCredentials = "client_credentials",
        AuthorizationCode = "authorization_code",
    }
}

impl GrantType {
    /// Grants the token endpoint currently serves (also what discovery advertises).
    pub const SUPPORTED: [GrantType; 4] = [
        GrantType::AuthorizationCode,
        GrantType::Password,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
    ];

    /// Parses a list separated by commas and/or spaces, as the CLI and the store write it.
    pub fn parse_list(s: &str) -> Result<Vec<GrantType>, String> {
        let mut out = Vec::new();
        for part in s.split([',', ' ']).filter(|p| !p.is_empty()) {
            let g = GrantType::parse(part).ok_or_else(|| {
                format!(
                    "unknown grant type `{part}` (known: {})",
                    GrantType::names()
                )
            })?;
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

vocabulary! {
    /// Why a refresh family was revoked.
    pub enum RevokeReason {
        /// The user signed out (RFC 7009 revocation, or `/me/sessions`).
        Logout = "logout",
        /// An administrator ended it.
        Admin = "admin",
        /// A spent refresh token was presented again.
        ReuseDetected = "reuse_detected",
        /// The user's password was changed.
        PasswordChanged = "password_changed",
        /// The user was disabled.
        UserDisabled = "user_disabled",
        /// The client was removed.
        ClientRemoved = "client_removed",
        /// The client was disabled.
        ClientDisabled = "client_disabled",
        /// The authorization code that started it was presented again.
        CodeReused = "code_reused",
    }
}

vocabulary! {
    /// Where a refresh family stands.
    pub enum FamilyState {
        /// Can still be refreshed.
        Active = "active",
        /// Ended early; see its revoke reason.
        Revoked = "revoked",
        /// Past its absolute lifetime.
        Expired = "expired",
    }
}

impl FamilyState {
    /// The one definition of a live family: not revoked and not past its absolute end.
    pub fn of(revoked_at: Option<Millis>, expires_at: Millis, now: Millis) -> FamilyState {
        if revoked_at.is_some() {
            FamilyState::Revoked
        } else if expires_at <= now {
            FamilyState::Expired
        } else {
            FamilyState::Active
        }
    }
}

vocabulary! {
    /// Where one refresh token of a chain stands.
    pub enum TokenState {
        /// The live head of its chain.
        Active = "active",
        /// Exchanged for its successor.
        Used = "used",
        /// Replaced by a retry within the reuse leeway.
        Invalidated = "invalidated",
        /// Unused when its family was revoked.
        Revoked = "revoked",
        /// Past its idle lifetime.
        Expired = "expired",
    }
}

impl TokenState {
    pub fn of(
        used_at: Option<Millis>,
        invalidated: bool,
        expires_at: Millis,
        family_revoked: bool,
        now: Millis,
    ) -> TokenState {
        if invalidated {
            TokenState::Invalidated
        } else if used_at.is_some() {
            TokenState::Used
        } else if family_revoked {
            TokenState::Revoked
        } else if expires_at <= now {
            TokenState::Expired
        } else {
            TokenState::Active
        }
    }
}

vocabulary! {
    /// Where a signing key stands.
    pub enum KeyState {
        /// Published, not signing yet.
        Pending = "pending",
        /// Signing.
        Active = "active",
        /// No longer signing, still published so the tokens it signed verify.
        Retiring = "retiring",
        /// Gone from the JWKS.
        Retired = "retired",
    }
}

impl KeyState {
    pub fn of(
        activate_at: Millis,
        retired_at: Option<Millis>,
        publish_until: Option<Millis>,
        now: Millis,
    ) -> KeyState {
        if publish_until.is_some_and(|u| u <= now) {
            KeyState::Retired
        } else if retired_at.is_some_and(|r| r <= now) {
            KeyState::Retiring
        } else if activate_at > now {
            KeyState::Pending
        } else {
            KeyState::Active
        }
    }

    /// Still able to sign now or later (pending or active).
    pub fn can_sign(self) -> bool {
        matches!(self, KeyState::Pending | KeyState::Active)
    }
}

vocabulary! {
    /// What an audit event records.
    pub enum AuditKind {
        LoginSucceeded = "login_succeeded",
        LoginFailed = "login_failed",
        AccountLocked = "account_locked",
        TokenRefreshed = "token_refreshed",
        ReuseDetected = "reuse_detected",
        FamilyRevoked = "family_revoked",
        KeyCreated = "key_created",
        KeyRotated = "key_rotated",
        KeyRetired = "key_retired",
        UserCreated = "user_created",
        UserUpdated = "user_updated",
        UserDeleted = "user_deleted",
        ClientCreated = "client_created",
        ClientUpdated = "client_updated",
        ClientRemoved = "client_removed",
        ClientSecretRotated = "client_secret_rotated",
        TokenRevoked = "token_revoked",
        AdminAction = "admin_action",
        /// A browser sign-in session began (the sign-in page accepted a password).
        SessionStarted = "session_started",
        /// A browser sign-in session ended (logout, administrator, password change).
        SessionEnded = "session_ended",
        /// A user allowed a consent-requiring client the listed scopes.
        ConsentGranted = "consent_granted",
        /// An authorization code was exchanged and started a refresh family.
        CodeExchanged = "code_exchanged",
    }
}

vocabulary! {
    /// Where a client's refresh tokens go: the token response body, or an HttpOnly
    /// cookie the browser app's JavaScript never sees.
    #[derive(Default)]
    pub enum RefreshTokenDelivery {
        #[default]
        Body = "body",
        Cookie = "cookie",
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::types::{ParseFromJSON, ToJSON};

    use super::*;

    /// The spelling in the spec (poem-openapi) and in the store (`as_str`) are one.
    fn round_trips<T: Copy + PartialEq + std::fmt::Debug + ToJSON + ParseFromJSON>(
        all: &[T],
        as_str: fn(T) -> &'static str,
        parse: fn(&str) -> Option<T>,
    ) {
        for &v in all {
            assert_eq!(v.to_json(), Some(serde_json::json!(as_str(v))));
            assert_eq!(parse(as_str(v)), Some(v));
        }
        assert_eq!(parse("no-such-value"), None);
    }

    #[test]
    fn every_vocabulary_has_one_spelling() {
        round_trips(GrantType::ALL, GrantType::as_str, GrantType::parse);
        round_trips(RevokeReason::ALL, RevokeReason::as_str, RevokeReason::parse);
        round_trips(FamilyState::ALL, FamilyState::as_str, FamilyState::parse);
        round_trips(TokenState::ALL, TokenState::as_str, TokenState::parse);
        round_trips(KeyState::ALL, KeyState::as_str, KeyState::parse);
        round_trips(AuditKind::ALL, AuditKind::as_str, AuditKind::parse);
        round_trips(
            RefreshTokenDelivery::ALL,
            RefreshTokenDelivery::as_str,
            RefreshTokenDelivery::parse,
        );
    }

    #[test]
    fn grant_lists_accept_commas_and_spaces_and_drop_duplicates() {
        assert_eq!(
            GrantType::parse_list("password,refresh_token password").unwrap(),
            vec![GrantType::Password, GrantType::RefreshToken]
        );
        let err = GrantType::parse_list("password,implicit").unwrap_err();
        assert!(err.contains("implicit"), "{err}");
        assert_eq!(GrantType::parse_list("").unwrap(), vec![]);
    }

    #[test]
    fn states_follow_their_dates() {
        assert_eq!(FamilyState::of(None, 10, 5), FamilyState::Active);
        assert_eq!(FamilyState::of(None, 10, 10), FamilyState::Expired);
        assert_eq!(FamilyState::of(Some(1), 10, 5), FamilyState::Revoked);
        assert_eq!(KeyState::of(10, None, None, 5), KeyState::Pending);
        assert_eq!(KeyState::of(0, None, None, 5), KeyState::Active);
        assert_eq!(KeyState::of(0, Some(5), Some(9), 5), KeyState::Retiring);
        assert_eq!(KeyState::of(0, Some(5), Some(5), 5), KeyState::Retired);
        assert_eq!(
            TokenState::of(None, false, 10, false, 5),
            TokenState::Active
        );
        assert_eq!(
            TokenState::of(Some(3), true, 10, true, 5),
            TokenState::Invalidated
        );
        assert_eq!(
            TokenState::of(None, false, 10, true, 5),
            TokenState::Revoked
        );
    }
}
