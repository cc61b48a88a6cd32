//! The server's wire vocabulary (grant types, states, reasons, kinds, ...) as the enums
//! progenitor generates from the OpenAPI spec. Those enums give `Display` (the wire
//! string), `FromStr`, serde, `Copy` and `Ord`, but no list of their variants, so each
//! list is written here once. The exhaustive `match` beside each list stops the build
//! when the spec gains a variant (a variant missing from the list is a compile error, a
//! repeated one an unreachable-pattern warning), so no list falls behind the server.

use tessera_client::types::{
    AuditKind, FamilyState, GrantType, KeyState, RefreshTokenDelivery, RevokeReason, SigningAlg,
    StatsRange, TokenState,
};

/// A generated string enum whose every variant is known.
pub trait Vocab: Copy + PartialEq + std::fmt::Display + 'static {
    /// Every variant, in the order the spec lists them.
    const ALL: &'static [Self];
}

macro_rules! vocab {
    ($($t:ident: [$($v:ident),+ $(,)?];)+) => {$(
        impl Vocab for $t {
            const ALL: &'static [Self] = &[$($t::$v),+];
        }
        const _: () = {
            #[allow(dead_code)]
            fn every_variant_is_listed(x: $t) {
                match x {
                    $($t::$v => {})+
                }
            }
        };
    )+};
}

vocab! {
    GrantType: [Password, RefreshToken, ClientCredentials, AuthorizationCode];
    RevokeReason: [
        Logout,
        Admin,
        ReuseDetected,
        PasswordChanged,
        UserDisabled,
        ClientRemoved,
        ClientDisabled,
        CodeReused,
    ];
    FamilyState: [Active, Revoked, Expired];
    TokenState: [Active, Used, Invalidated, Revoked, Expired];
    KeyState: [Pending, Active, Retiring, Retired];
    SigningAlg: [Es256, EdDsa, Rs256];
    StatsRange: [Hour, Week];
    RefreshTokenDelivery: [Body, Cookie];
    AuditKind: [
        LoginSucceeded,
        LoginFailed,
        AccountLocked,
        TokenRefreshed,
        ReuseDetected,
        FamilyRevoked,
        KeyCreated,
        KeyRotated,
        KeyRetired,
        UserCreated,
        UserUpdated,
        UserDeleted,
        ClientCreated,
        ClientUpdated,
        ClientRemoved,
        ClientSecretRotated,
        TokenRevoked,
        AdminAction,
        SessionStarted,
        SessionEnded,
        ConsentGranted,
        CodeExchanged,
    ];
}

/// Words joined by spaces, e.g. a client's grant types.
pub fn join<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each listed variant's wire name parses back to it, and the names are distinct.
    fn round_trips<T: Vocab + std::str::FromStr + std::fmt::Debug>() {
        let names: Vec<String> = T::ALL.iter().map(ToString::to_string).collect();
        for (v, n) in T::ALL.iter().zip(&names) {
            assert_eq!(n.parse::<T>().ok(), Some(*v), "{n}");
        }
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
    }

    #[test]
    fn every_list_round_trips() {
        round_trips::<GrantType>();
        round_trips::<RevokeReason>();
        round_trips::<FamilyState>();
        round_trips::<TokenState>();
        round_trips::<KeyState>();
        round_trips::<SigningAlg>();
        round_trips::<StatsRange>();
        round_trips::<AuditKind>();
        round_trips::<RefreshTokenDelivery>();
    }

    #[test]
    fn wire_names_come_from_the_spec() {
        assert_eq!(
            GrantType::ClientCredentials.to_string(),
            "client_credentials"
        );
        assert_eq!(SigningAlg::EdDsa.to_string(), "EdDSA");
        assert_eq!(RevokeReason::ReuseDetected.to_string(), "reuse_detected");
        assert_eq!(
            join(&[GrantType::Password, GrantType::RefreshToken]),
            "password refresh_token"
        );
    }
}
