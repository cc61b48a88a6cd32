use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "signing_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub kid: String,
    pub alg: String,
    /// Private key DER, encrypted when `key_encryption` names a scheme.
    pub private_key: Vec<u8>,
    pub key_encryption: Option<String>,
    /// The public JWK as published.
    pub public_jwk: String,
    pub created_at: i64,
    /// From this instant the key may sign; before it, it is only published.
    pub activate_at: i64,
    pub retired_at: Option<i64>,
    /// A retired key stays in the JWKS (and verifies) until this instant.
    pub publish_until: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
