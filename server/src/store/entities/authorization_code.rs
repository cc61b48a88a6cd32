use sea_orm::entity::prelude::*;

/// An authorization code (RFC 6749 §4.1.2): stored by the SHA-256 of its value, bound to
/// a client, a redirect URI and a PKCE challenge, usable once.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "authorization_codes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub code_hash: String,
    pub client_id: String,
    pub user_id: String,
    /// The redirect URI the code was sent to.
    pub redirect_uri: String,
    /// Whether the authorize request named it (then the token request must repeat it).
    pub redirect_uri_sent: bool,
    /// The S256 `code_challenge`.
    pub code_challenge: String,
    pub scope: String,
    pub signin_session_id: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    /// Set, by compare-and-set, by the one exchange that wins.
    pub used_at: Option<i64>,
    /// The refresh family that exchange started (revoked if the code is used again).
    pub family_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
