//! Revoked access tokens that belong to no family (client credentials), by `jti`.

use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::entities::revoked_access_token::{self, Entity as Revoked};
use crate::clock::Millis;

/// Records the revocation and drops entries that have expired anyway. Returns false
/// when the token was already revoked.
pub async fn insert(
    db: &impl ConnectionTrait,
    jti: &str,
    client_id: &str,
    expires_at: Millis,
    now: Millis,
) -> Result<bool, DbErr> {
    Revoked::delete_many()
        .filter(revoked_access_token::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?;
    let inserted = Revoked::insert(revoked_access_token::ActiveModel {
        jti: Set(jti.to_owned()),
        client_id: Set(client_id.to_owned()),
        expires_at: Set(expires_at),
        revoked_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(revoked_access_token::Column::Jti)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await;
    match inserted {
        Ok(n) => Ok(n > 0),
        Err(DbErr::RecordNotInserted) => Ok(false),
        Err(e) => Err(e),
    }
}

pub async fn is_revoked(db: &impl ConnectionTrait, jti: &str) -> Result<bool, DbErr> {
    Ok(Revoked::find_by_id(jti.to_owned()).one(db).await?.is_some())
}
