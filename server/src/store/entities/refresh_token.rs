use sea_orm::entity::prelude::*;

/// One generation of a family. `client_id`, `user_id`, `scope` and `family_expires_at`
/// are copied from the family so the rotation needs no join.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_tokens")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub family_id: String,
    pub parent_id: Option<i64>,
    pub generation: i32,
    /// Hex SHA-256 of the token value; the value itself is never stored.
    #[sea_orm(unique)]
    pub token_hash: String,
    pub client_id: String,
    pub user_id: Option<String>,
    pub scope: String,
    pub issued_at: i64,
    /// Idle expiry of this token.
    pub expires_at: i64,
    pub family_expires_at: i64,
    /// When it was exchanged (or invalidated by a retry within the leeway).
    pub used_at: Option<i64>,
    /// Set when a retry within the reuse leeway replaced this token unused.
    pub invalidated: bool,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
