use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "clients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_id: String,
    /// Hex SHA-256 of the secret; `None` for public clients.
    pub secret_hash: Option<String>,
    pub is_public: bool,
    /// Space-separated grant types.
    pub grant_types: String,
    /// Space-separated scopes the client may request.
    pub scopes: String,
    /// JSON array of registered redirect URIs.
    pub redirect_uris: String,
    /// Lifetimes and leeway in seconds; `None` means the server's configured default.
    pub access_ttl: Option<i64>,
    pub refresh_idle_ttl: Option<i64>,
    pub refresh_absolute_ttl: Option<i64>,
    pub reuse_leeway: Option<i64>,
    pub disabled: bool,
    /// Client-credentials access tokens issued before this (milliseconds) are dead: set
    /// when the client is disabled, so enabling it again does not revive them.
    pub tokens_valid_after: Option<i64>,
    /// JSON array of exact browser origins (CORS, and the Origin check of cookie refreshes).
    pub allowed_origins: String,
    /// `body` (default) or `cookie`: where the refresh token goes.
    pub refresh_token_delivery: String,
    /// Third-party client: the user is asked before it gets tokens.
    pub require_consent: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
