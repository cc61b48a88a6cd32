//! Token lifecycle outside the grants: revocation (RFC 7009) and introspection (RFC 7662).

use crate::crypto::jwt;
use crate::domain::{RefreshTokenValue, RevokeReason};
use crate::grants::GrantError;
use crate::state::AppState;
use crate::store::entities::client;
use crate::store::entities::refresh_family;
use crate::store::families::{self, Owner, RequestMeta};
use crate::store::users;

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

/// Ends one family (if still live) with its audit row, counting it in the metrics.
/// Returns whether this call ended it.
pub async fn end_family(
    state: &AppState,
    family: &refresh_family::Model,
    reason: RevokeReason,
    actor: &str,
    ip: Option<String>,
) -> Result<bool, sea_orm::DbErr> {
    let ended = families::revoke_with_audit(
        &state.db.write,
        family,
        reason,
        actor,
        ip,
        state.clock.now_ms(),
    )
    .await?;
    if ended {
        state.metrics.revoked(reason.as_str(), 1);
    }
    Ok(ended)
}

/// Ends every live family of a user or a client (an audit row each), counting them in
/// the metrics. Returns how many.
pub async fn end_sessions(
    state: &AppState,
    owner: Owner<'_>,
    reason: RevokeReason,
    actor: &str,
) -> Result<u64, sea_orm::DbErr> {
    let n =
        families::revoke_all(&state.db.write, owner, reason, actor, state.clock.now_ms()).await?;
    let n = n as u64;
    state.metrics.revoked(reason.as_str(), n);
    Ok(n)
}

/// Revokes the family of a refresh token, or of an access token's `sid`, if the token
/// was issued to `client`. Unknown, foreign and already-revoked tokens are accepted
/// silently: the answer never tells a caller whether a token exists.
pub async fn revoke(
    state: &AppState,
    client: &client::Model,
    token: &str,
    meta: &RequestMeta,
) -> Result<(), GrantError> {
    let now = state.clock.now_ms();
    let family_id = if let Some(rt) = RefreshTokenValue::parse(token) {
        families::find_token(&state.db.read, &rt.hash())
            .await?
            .filter(|t| t.client_id == client.client_id)
            .map(|t| t.family_id)
    } else {
        jwt::verify(&state.keys(), token, &state.issuer, &state.audience, now)
            .ok()
            .filter(|c| c.client_id == client.client_id)
            .and_then(|c| c.sid)
    };
    let Some(family_id) = family_id else {
        return Ok(());
    };
    if let Some(family) = families::find(&state.db.read, &family_id).await? {
        let actor = family
            .user_id
            .clone()
            .unwrap_or_else(|| client.client_id.clone());
        end_family(
            state,
            &family,
            RevokeReason::Logout,
            &actor,
            meta.ip.clone(),
        )
        .await?;
    }
    Ok(())
}

/// What introspection reports about an active token.
#[derive(Debug, Default)]
pub struct Introspection {
    pub active: bool,
    pub token_type: Option<&'static str>,
    pub scope: Option<String>,
    pub client_id: Option<String>,
    pub username: Option<String>,
    pub sub: Option<String>,
    pub aud: Option<String>,
    pub iss: Option<String>,
    pub exp: Option<i64>,
    pub iat: Option<i64>,
    pub jti: Option<String>,
    pub sid: Option<String>,
}

/// Access tokens: signature, expiry, and a live family. Refresh tokens (reported only to
/// the client they were issued to): unused, unexpired, live family. Anything else is
/// simply inactive, with no reason given.
pub async fn introspect(
    state: &AppState,
    client: &client::Model,
    token: &str,
    hint: Option<TokenHint>,
) -> Result<Introspection, GrantError> {
    let now = state.clock.now_ms();
    // The token's shape decides where to look; a hint can only narrow nothing here, as
    // both kinds are recognisable (RFC 7662 §2.1 lets the server search all types).
    let _ = hint;
    if let Some(rt) = RefreshTokenValue::parse(token) {
        let Some(t) = families::find_token(&state.db.read, &rt.hash()).await? else {
            return Ok(Introspection::default());
        };
        if t.client_id != client.client_id || t.used_at.is_some() || t.expires_at <= now {
            return Ok(Introspection::default());
        }
        let family = families::find(&state.db.read, &t.family_id).await?;
        if !family.is_some_and(|f| f.revoked_at.is_none() && f.expires_at > now) {
            return Ok(Introspection::default());
        }
        let username = match &t.user_id {
            Some(id) => users::find(&state.db.read, id).await?.map(|u| u.username),
            None => None,
        };
        return Ok(Introspection {
            active: true,
            token_type: Some("refresh_token"),
            scope: Some(t.scope),
            client_id: Some(t.client_id),
            username,
            sub: t.user_id,
            iss: Some(state.issuer.clone()),
            exp: Some(t.expires_at.div_euclid(1000)),
            iat: Some(t.issued_at.div_euclid(1000)),
            sid: Some(t.family_id),
            ..Default::default()
        });
    }
    let Ok(claims) = jwt::verify(&state.keys(), token, &state.issuer, &state.audience, now) else {
        return Ok(Introspection::default());
    };
    let mut username = None;
    if let Some(sid) = &claims.sid {
        let family = families::find(&state.db.read, sid).await?;
        if !family.is_some_and(|f| f.revoked_at.is_none() && f.expires_at > now) {
            return Ok(Introspection::default());
        }
        match users::find(&state.db.read, &claims.sub).await? {
            Some(u) if !u.disabled => username = Some(u.username),
            _ => return Ok(Introspection::default()),
        }
    }
    Ok(Introspection {
        active: true,
        token_type: Some("Bearer"),
        scope: Some(claims.scope),
        client_id: Some(claims.client_id),
        username,
        sub: Some(claims.sub),
        aud: Some(claims.aud),
        iss: Some(claims.iss),
        exp: Some(claims.exp),
        iat: Some(claims.iat),
        jti: Some(claims.jti),
        sid: claims.sid,
    })
}
