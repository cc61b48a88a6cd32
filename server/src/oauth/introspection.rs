//! Token introspection (RFC 7662), and the one check of whether an access token still
//! stands, shared with the bearer authentication of `/me` and the admin API.

use super::OAuthError;
use crate::crypto::jwt::{self, AccessClaims};
use crate::domain::RefreshTokenValue;
use crate::state::AppState;
use crate::store::entities::{client, user};
use crate::store::{rotation, sessions, users};

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

/// Whether a verified access token still stands, and for whom.
pub enum Standing {
    /// A user's token: its family is live, the user enabled, the client enabled (the
    /// client row it was checked against comes along).
    User(user::Model, std::sync::Arc<client::Model>),
    /// A client-credentials token: the client is enabled and the token not revoked.
    Client,
    /// Anything else: the session ended, the user or client is disabled or gone, or the
    /// token was revoked.
    Fallen,
}

async fn enabled_client(
    state: &AppState,
    id: &str,
) -> Result<Option<std::sync::Arc<client::Model>>, OAuthError> {
    Ok(state
        .clients
        .get(&state.db.read, id)
        .await?
        .filter(|c| !c.disabled))
}

async fn enabled_user(state: &AppState, id: &str) -> Result<Option<user::Model>, OAuthError> {
    Ok(users::find(&state.db.read, id)
        .await?
        .filter(|u| !u.disabled))
}

/// The signature and expiry hold (the caller verified them); this checks the rest,
/// every time: the family and the user in the database, the client and the revoked
/// client-credentials tokens through their caches (at most a second old; this
/// instance's own changes at once).
pub async fn standing(state: &AppState, claims: &AccessClaims) -> Result<Standing, OAuthError> {
    let now = state.clock.now_ms();
    let Some(client) = enabled_client(state, &claims.client_id).await? else {
        return Ok(Standing::Fallen);
    };
    let Some(sid) = &claims.sid else {
        let stands = client.accepts_tokens_issued_at(super::issued_ms(claims))
            && !state
                .revoked
                .contains(&state.db.read, &claims.jti, now)
                .await?;
        return Ok(if stands {
            Standing::Client
        } else {
            Standing::Fallen
        });
    };
    let family = sessions::find(&state.db.read, sid).await?;
    if !family.is_some_and(|f| f.is_live(now)) {
        return Ok(Standing::Fallen);
    }
    Ok(match enabled_user(state, &claims.sub).await? {
        Some(u) => Standing::User(u, client),
        None => Standing::Fallen,
    })
}

/// Access tokens: signature, expiry and [`standing`]. Refresh tokens (reported only to
/// the client they were issued to): unused, unexpired, live family, enabled user.
/// Anything else is simply inactive, with no reason given.
pub async fn introspect(
    state: &AppState,
    client: &client::Model,
    token: &str,
) -> Result<Introspection, OAuthError> {
    let now = state.clock.now_ms();
    // The token's shape decides where to look (RFC 7662 §2.1 lets the server search all
    // types), so a `token_type_hint` changes nothing.
    if let Some(rt) = RefreshTokenValue::parse(token) {
        let Some(t) = rotation::find_token(&state.db.read, &rt.hash()).await? else {
            return Ok(Introspection::default());
        };
        if t.client_id != client.client_id || t.used_at.is_some() || t.expires_at <= now {
            return Ok(Introspection::default());
        }
        let family = sessions::find(&state.db.read, &t.family_id).await?;
        if !family.is_some_and(|f| f.is_live(now)) {
            return Ok(Introspection::default());
        }
        let username = match &t.user_id {
            Some(id) => match enabled_user(state, id).await? {
                Some(u) => Some(u.username),
                None => return Ok(Introspection::default()),
            },
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
    let username = match standing(state, &claims).await? {
        Standing::User(u, _) => Some(u.username),
        Standing::Client => None,
        Standing::Fallen => return Ok(Introspection::default()),
    };
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
