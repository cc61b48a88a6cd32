//! The browser sign-in session: after the sign-in page accepted a password, its cookie
//! lets an authorize request for any client skip the password until it expires
//! (`sso_session_ttl`), the user signs out (`/oauth/logout`), or an administrator, a
//! password change, disabling or deleting the user ends it.

use sea_orm::TransactionTrait;

use super::{OAuthError, credentials};
use crate::clock::Millis;
use crate::domain::{AuditKind, BrowserSecret, RequestMeta, RevokeReason};
use crate::state::AppState;
use crate::store::audit::{self, AuditEvent};
use crate::store::entities::{signin_session, user};
use crate::store::signin::{self, NewSession};
use crate::store::users;

/// A session that has just begun: the cookie value to set, and until when.
pub struct Started {
    pub id: String,
    pub cookie: BrowserSecret,
    pub expires_at: Millis,
}

/// A live session and its (enabled) user.
pub struct Current {
    pub session: signin_session::Model,
    pub user: user::Model,
}

/// Checks the name and password (the password grant's brute-force rules apply), then
/// starts a session. `replacing` is the cookie of a session this sign-in supersedes
/// (`prompt=login`), which ends.
pub async fn sign_in(
    state: &AppState,
    client_id: &str,
    username: &str,
    password: &str,
    replacing: Option<&str>,
    meta: &RequestMeta,
) -> Result<(Started, user::Model), OAuthError> {
    let user = credentials::check(state, client_id, username, password, meta).await?;
    let cookie = BrowserSecret::generate();
    let id = uuid::Uuid::now_v7().to_string();
    let now = state.clock.now_ms();
    let expires_at = now.saturating_add(state.settings.sso_session_ttl.saturating_mul(1000));
    let txn = state.db.write.begin().await?;
    if !users::record_login(&txn, &user.id, &user.password_hash, now).await? {
        txn.rollback().await?;
        return Err(OAuthError::InvalidGrant(
            "invalid username or password".into(),
        ));
    }
    credentials::succeeded(&txn, username, meta).await?;
    if let Some(old) = replacing.and_then(BrowserSecret::parse)
        && let Some(s) = signin::find_by_token(&txn, &old.hash()).await?
    {
        signin::end(&txn, &s.id, RevokeReason::Logout.as_str(), now).await?;
    }
    signin::insert(
        &txn,
        NewSession {
            id: id.clone(),
            token_hash: cookie.hash(),
            user_id: &user.id,
            expires_at,
        },
        meta,
        now,
    )
    .await?;
    let event = |kind| AuditEvent {
        actor: Some(user.id.clone()),
        user_id: Some(user.id.clone()),
        client_id: Some(client_id.to_owned()),
        ip: meta.ip.clone(),
        detail: Some(serde_json::json!({ "signin_session": id })),
        ..AuditEvent::new(kind)
    };
    audit::record(&txn, now, event(AuditKind::LoginSucceeded)).await?;
    audit::record(&txn, now, event(AuditKind::SessionStarted)).await?;
    txn.commit().await?;
    Ok((
        Started {
            id,
            cookie,
            expires_at,
        },
        user,
    ))
}

/// The live session a cookie value names, if any (and its user still enabled).
pub async fn current(
    state: &AppState,
    cookie: Option<&str>,
) -> Result<Option<Current>, OAuthError> {
    let Some(token) = cookie.and_then(BrowserSecret::parse) else {
        return Ok(None);
    };
    let now = state.clock.now_ms();
    let Some(session) = signin::find_by_token(&state.db.read, &token.hash())
        .await?
        .filter(|s| s.is_live(now))
    else {
        return Ok(None);
    };
    let Some(user) = users::find(&state.db.read, &session.user_id)
        .await?
        .filter(|u| !u.disabled)
    else {
        return Ok(None);
    };
    Ok(Some(Current { session, user }))
}

/// Ends the session a cookie names (sign-out). Unknown or ended sessions are fine.
pub async fn sign_out(
    state: &AppState,
    cookie: Option<&str>,
    meta: &RequestMeta,
) -> Result<(), OAuthError> {
    let Some(token) = cookie.and_then(BrowserSecret::parse) else {
        return Ok(());
    };
    let now = state.clock.now_ms();
    let txn = state.db.write.begin().await?;
    if let Some(s) = signin::find_by_token(&txn, &token.hash()).await?
        && signin::end(&txn, &s.id, RevokeReason::Logout.as_str(), now).await?
    {
        audit::record(
            &txn,
            now,
            AuditEvent {
                actor: Some(s.user_id.clone()),
                user_id: Some(s.user_id.clone()),
                ip: meta.ip.clone(),
                reason: Some(RevokeReason::Logout.as_str().into()),
                detail: Some(serde_json::json!({ "signin_session": s.id })),
                ..AuditEvent::new(AuditKind::SessionEnded)
            },
        )
        .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Where to send the browser after sign-out: `uri` if it is one of the client's
/// registered redirect URIs (exact match), with `state` appended.
pub async fn post_logout_target(
    state: &AppState,
    client_id: &str,
    uri: &str,
    state_param: Option<&str>,
) -> Option<String> {
    let client = state
        .clients
        .get(&state.db.read, client_id)
        .await
        .ok()
        .flatten()
        .filter(|c| !c.disabled)?;
    if !client.redirect_uri_list().iter().any(|r| r == uri) {
        return None;
    }
    let mut url = url::Url::parse(uri).ok()?;
    if let Some(s) = state_param.filter(|s| s.len() <= 1024) {
        url.query_pairs_mut().append_pair("state", s);
    }
    Some(url.into())
}
