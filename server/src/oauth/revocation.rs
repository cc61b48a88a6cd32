//! Token revocation (RFC 7009). Revoking a refresh token, or an access token of a
//! session, ends its whole family (reason `logout`); revoking a client-credentials access
//! token (which has no family) records its `jti` until it would have expired.

use sea_orm::TransactionTrait;

use super::OAuthError;
use crate::admin::{Actor, sessions};
use crate::crypto::jwt;
use crate::domain::{AuditKind, RefreshTokenValue, RequestMeta, RevokeReason};
use crate::state::AppState;
use crate::store::audit::{self, AuditEvent};
use crate::store::entities::client;
use crate::store::{revoked, rotation};

/// Which kind of token a hint names; unknown hints are ignored (RFC 7009 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenHint {
    AccessToken,
    RefreshToken,
}

impl TokenHint {
    pub fn parse(s: Option<&str>) -> Option<Self> {
        match s {
            Some("access_token") => Some(TokenHint::AccessToken),
            Some("refresh_token") => Some(TokenHint::RefreshToken),
            _ => None,
        }
    }
}

/// Revokes `token` if it was issued to `client`. Unknown, foreign and already-revoked
/// tokens are accepted silently: the answer never tells a caller whether a token exists.
pub async fn revoke(
    state: &AppState,
    client: &client::Model,
    token: &str,
    meta: &RequestMeta,
) -> Result<(), OAuthError> {
    let now = state.clock.now_ms();
    let family_id = if let Some(rt) = RefreshTokenValue::parse(token) {
        rotation::find_token(&state.db.read, &rt.hash())
            .await?
            .filter(|t| t.client_id == client.client_id)
            .map(|t| t.family_id)
    } else {
        let Some(claims) = jwt::verify(&state.keys(), token, &state.issuer, &state.audience, now)
            .ok()
            .filter(|c| c.client_id == client.client_id)
        else {
            return Ok(());
        };
        if claims.sid.is_none() {
            // A client-credentials token: no family to end, so remember its id, with
            // the audit event in the same transaction (once, however often revoked).
            let txn = state.db.write.begin().await?;
            let first = revoked::insert(
                &txn,
                &claims.jti,
                &client.client_id,
                claims.exp.saturating_mul(1000),
                now,
            )
            .await?;
            if !first {
                // Revoked already (perhaps by a concurrent request still committing).
                txn.commit().await?;
                state.revoked.changed();
                return Ok(());
            }
            audit::record(
                &txn,
                now,
                Actor::Client {
                    id: client.client_id.clone(),
                    ip: meta.ip.clone(),
                }
                .stamp(AuditEvent {
                    client_id: Some(client.client_id.clone()),
                    detail: Some(serde_json::json!({"jti": claims.jti})),
                    ..AuditEvent::new(AuditKind::TokenRevoked)
                }),
            )
            .await?;
            txn.commit().await?;
            state.revoked.changed();
            return Ok(());
        }
        claims.sid
    };
    let Some(family_id) = family_id else {
        return Ok(());
    };
    if let Some(family) = crate::store::sessions::find(&state.db.read, &family_id).await? {
        let actor = match &family.user_id {
            Some(id) => Actor::User {
                id: id.clone(),
                ip: meta.ip.clone(),
            },
            None => Actor::Client {
                id: client.client_id.clone(),
                ip: meta.ip.clone(),
            },
        };
        sessions::end_family(state, &family, RevokeReason::Logout, &actor, None).await?;
    }
    Ok(())
}
