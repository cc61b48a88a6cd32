use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

use super::entities::signing_key::{self, Entity as SigningKeys};
use crate::clock::Millis;
use crate::crypto::kek::{Kek, KekError, SCHEME, unwrap_private};
use crate::crypto::keys::{GeneratedKey, StoredKey};

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<signing_key::Model>, DbErr> {
    SigningKeys::find()
        .order_by_desc(signing_key::Column::ActivateAt)
        .all(db)
        .await
}

/// Keys the ring must hold at `now`: not retired, or retired but still published.
pub async fn load_live(
    db: &impl ConnectionTrait,
    now: Millis,
) -> Result<Vec<signing_key::Model>, DbErr> {
    SigningKeys::find()
        .filter(
            Condition::any()
                .add(signing_key::Column::RetiredAt.is_null())
                .add(signing_key::Column::PublishUntil.gt(now)),
        )
        .all(db)
        .await
}

/// A row as the key ring wants it, its private key decrypted.
pub fn to_stored(k: signing_key::Model, kek: Option<&Kek>) -> Result<StoredKey, KekError> {
    let private_der = unwrap_private(&k.kid, &k.private_key, k.key_encryption.as_deref(), kek)?;
    Ok(StoredKey {
        kid: k.kid,
        alg: k.alg,
        private_der,
        public_jwk: k.public_jwk,
        activate_at: k.activate_at,
        retired_at: k.retired_at,
        publish_until: k.publish_until,
    })
}

/// Encrypts every row still stored in the clear; returns how many.
pub async fn encrypt_plain_rows(db: &impl ConnectionTrait, kek: &Kek) -> anyhow::Result<usize> {
    let plain = SigningKeys::find()
        .filter(signing_key::Column::KeyEncryption.is_null())
        .all(db)
        .await?;
    for k in &plain {
        let sealed = kek.seal(&k.kid, &k.private_key)?;
        SigningKeys::update_many()
            .col_expr(signing_key::Column::PrivateKey, sealed.into())
            .col_expr(signing_key::Column::KeyEncryption, Some(SCHEME).into())
            .filter(signing_key::Column::Kid.eq(k.kid.as_str()))
            .filter(signing_key::Column::KeyEncryption.is_null())
            .exec(db)
            .await?;
    }
    Ok(plain.len())
}

/// Stores a new key, its private half sealed under the KEK when one is configured.
pub async fn insert(
    db: &impl ConnectionTrait,
    key: &GeneratedKey,
    now: Millis,
    activate_at: Millis,
    kek: Option<&Kek>,
) -> anyhow::Result<()> {
    let (private_key, key_encryption) = match kek {
        Some(kek) => (
            kek.seal(&key.kid, &key.private_der)?,
            Some(SCHEME.to_owned()),
        ),
        None => (key.private_der.clone(), None),
    };
    SigningKeys::insert(signing_key::ActiveModel {
        kid: Set(key.kid.clone()),
        alg: Set(key.alg.as_str().to_owned()),
        private_key: Set(private_key),
        key_encryption: Set(key_encryption),
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
