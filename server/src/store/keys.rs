use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

use super::entities::signing_key::{self, Entity as SigningKeys};
use crate::clock::Millis;
use crate::crypto::keys::{GeneratedKey, StoredKey};

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<signing_key::Model>, DbErr> {
    SigningKeys::find()
        .order_by_desc(signing_key::Column::ActivateAt)
        .all(db)
        .await
}

/// Keys the ring must hold at `now`: not retired, or retired but still published.
pub async fn load_live(db: &impl ConnectionTrait, now: Millis) -> Result<Vec<StoredKey>, DbErr> {
    let rows = SigningKeys::find()
        .filter(
            Condition::any()
                .add(signing_key::Column::RetiredAt.is_null())
                .add(signing_key::Column::PublishUntil.gt(now)),
        )
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|k| StoredKey {
            kid: k.kid,
            alg: k.alg,
            private_der: k.private_key,
            public_jwk: k.public_jwk,
            activate_at: k.activate_at,
            retired_at: k.retired_at,
            publish_until: k.publish_until,
        })
        .collect())
}

pub async fn insert(
    db: &impl ConnectionTrait,
    key: &GeneratedKey,
    now: Millis,
    activate_at: Millis,
) -> Result<(), DbErr> {
    SigningKeys::insert(signing_key::ActiveModel {
        kid: Set(key.kid.clone()),
        alg: Set(key.alg.as_str().to_owned()),
        private_key: Set(key.private_der.clone()),
        key_encryption: Set(None),
        public_jwk: Set(serde_json::to_string(&key.public_jwk).unwrap_or_default()),
        created_at: Set(now),
        activate_at: Set(activate_at),
        retired_at: Set(None),
        publish_until: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Schedules every unretired key other than `keep` to stop signing at `retire_at` (when
/// the new key activates); they stay published until `publish_until` so the tokens they
/// signed keep verifying.
pub async fn retire_others(
    db: &impl ConnectionTrait,
    keep: &str,
    retire_at: Millis,
    publish_until: Millis,
) -> Result<u64, DbErr> {
    let r = SigningKeys::update_many()
        .col_expr(signing_key::Column::RetiredAt, Some(retire_at).into())
        .col_expr(
            signing_key::Column::PublishUntil,
            Some(publish_until).into(),
        )
        .filter(signing_key::Column::RetiredAt.is_null())
        .filter(signing_key::Column::Kid.ne(keep))
        .exec(db)
        .await?;
    Ok(r.rows_affected)
}

/// Forces a key out now: it stops signing and leaves the JWKS at once.
pub async fn retire_now(db: &impl ConnectionTrait, kid: &str, now: Millis) -> Result<bool, DbErr> {
    let r = SigningKeys::update_many()
        .col_expr(signing_key::Column::RetiredAt, Some(now).into())
        .col_expr(signing_key::Column::PublishUntil, Some(now).into())
        .filter(signing_key::Column::Kid.eq(kid))
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}
