//! The HTTP surface. Every operation is declared with poem-openapi, so `/openapi.json`
//! (and `tessera openapi`) describe exactly what is served. Each operation has one
//! success body type and one error body type
//! ([`ErrorBody`](crate::api::error::ErrorBody)), so client generators can consume the
//! spec. Handlers only translate: they parse input, call one function of
//! [`crate::oauth`] or [`crate::admin`], and map its result; nothing here imports the
//! store or SeaORM (docs/architecture.md, "The rules").

pub mod admin;
pub mod auth;
pub mod client_auth;
pub mod discovery;
pub mod error;
pub mod health;
pub mod json;
pub mod me;
pub mod meta;
pub mod revoke;
pub mod time;
pub mod token;

use poem_openapi::{OpenApiService, Tags};

#[derive(Tags)]
pub enum ApiTag {
    /// OAuth 2 token endpoint (RFC 6749).
    Oauth,
    /// Discovery metadata (RFC 8414) and published signing keys (RFC 7517).
    Discovery,
    /// Liveness and readiness probes, metrics.
    Operations,
    /// The signed-in user's own sessions.
    Me,
    /// Admin API: users.
    #[oai(rename = "admin-users")]
    AdminUsers,
    /// Admin API: clients.
    #[oai(rename = "admin-clients")]
    AdminClients,
    /// Admin API: signing keys.
    #[oai(rename = "admin-keys")]
    AdminKeys,
    /// Admin API: refresh families (sessions) and their token chains, and browser
    /// sign-in sessions.
    #[oai(rename = "admin-families")]
    AdminFamilies,
    /// Admin API: the audit trail.
    #[oai(rename = "admin-audit")]
    AdminAudit,
    /// Admin API: dashboard statistics.
    #[oai(rename = "admin-stats")]
    AdminStats,
}

pub type Apis = (
    token::TokenApi,
    revoke::RevocationApi,
    discovery::DiscoveryApi,
    health::HealthApi,
    me::MeApi,
    admin::users::AdminUsersApi,
    admin::clients::AdminClientsApi,
    admin::keys::AdminKeysApi,
    admin::families::AdminFamiliesApi,
    admin::signin_sessions::AdminSigninSessionsApi,
    admin::audit::AdminAuditApi,
);

/// The API service. It holds no state (handlers take `Data<&AppState>`), so the spec can
/// be printed without a database.
pub fn service() -> OpenApiService<Apis, ()> {
    OpenApiService::new(Apis::default(), "Tessera", env!("CARGO_PKG_VERSION"))
        .description(
            "OAuth2-style authorization server: short-lived JWT access tokens, rotating opaque \
         refresh tokens with family-wide reuse detection.",
        )
        .license("Apache-2.0")
}

/// The OpenAPI document as JSON: what `/openapi.json` serves and `tessera openapi` prints.
pub fn spec_json() -> String {
    service().spec()
}
