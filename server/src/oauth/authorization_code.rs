//! The authorization code flow (RFC 6749 §4.1 with PKCE, RFC 7636, and RFC 9207's `iss`):
//! checking an authorize request, deciding what the signed-in user still has to do
//! (consent), issuing the code, and exchanging it at the token endpoint.
//!
//! An authorize request is checked in two tiers. A request whose client or redirect URI
//! cannot be trusted is answered with a page, never a redirect (RFC 6749 §4.1.2.1: an
//! open redirector otherwise); every later error is sent back to the client's redirect
//! URI with `state` and `iss`.

use sea_orm::TransactionTrait;
use serde_json::json;

use super::{OAuthError, TokenSet, family, require_grant, resolve_user_scope};
use crate::admin::{Actor, sessions};
use crate::clock::Millis;
use crate::domain::{
    AuditKind, BrowserSecret, ClientId, CodeChallenge, CodeVerifier, GrantType, RequestMeta,
    RevokeReason, Scope,
};
use crate::state::AppState;
use crate::store::audit::{self, AuditEvent};
use crate::store::codes::{self, NewCode};
use crate::store::entities::{client, user};
use crate::store::{signin, users};

/// How long a code may wait for its exchange (DESIGN.md: 60 s).
pub const CODE_TTL_MS: Millis = 60_000;

/// The longest `state` we carry back; longer is refused, so the work per request and the
/// size of the redirect stay bounded.
const MAX_STATE_LEN: usize = 1024;

/// The parameters of an authorize request as sent (query or the sign-in form's hidden
/// fields); empty values count as absent.
#[derive(Debug, Clone, Default)]
pub struct AuthorizeParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    /// Names of parameters sent more than once (RFC 6749 §3.1: an error).
    pub repeated: Vec<String>,
}

/// What `prompt` asked for (OpenID Connect's values, which DESIGN.md adopts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    /// Never show a page: answer `login_required` / `consent_required` instead.
    pub none: bool,
    /// Ask for the password even with a sign-in session.
    pub login: bool,
    /// Ask for consent even if it was given before.
    pub consent: bool,
}

impl Prompt {
    fn parse(raw: Option<&str>) -> Result<Prompt, String> {
        let mut p = Prompt::default();
        for v in raw.unwrap_or("").split(' ').filter(|v| !v.is_empty()) {
            match v {
                "none" => p.none = true,
                "login" => p.login = true,
                "consent" => p.consent = true,
                other => {
                    return Err(format!(
                        "prompt `{}` is not one of: none, login, consent",
                        other.chars().take(32).collect::<String>()
                    ));
                }
            }
        }
        if p.none && (p.login || p.consent) {
            return Err("prompt=none cannot be combined with other values".into());
        }
        Ok(p)
    }
}

/// A request that may not be redirected: shown to the user as a page.
#[derive(Debug)]
pub enum Untrusted {
    /// Unknown, disabled or missing client, or a redirect URI it did not register.
    BadRequest(String),
    /// Our fault (database down): a page too, since nothing is known to be safe yet.
    Unavailable(String),
}

/// An error sent back to the client (RFC 6749 §4.1.2.1).
#[derive(Debug, Clone)]
pub struct Refusal {
    pub error: &'static str,
    pub description: String,
}

impl Refusal {
    fn new(error: &'static str, description: impl Into<String>) -> Refusal {
        Refusal {
            error,
            description: description.into(),
        }
    }
}

/// A checked authorize request: the client and redirect URI are trusted from here on.
#[derive(Debug, Clone)]
pub struct Authorization {
    pub client: std::sync::Arc<client::Model>,
    pub redirect_uri: String,
    pub redirect_uri_sent: bool,
    pub state: Option<String>,
    pub params: AuthorizeParams,
    /// The checks after the redirect URI: their failure is redirected.
    pub checked: Result<Checked, Refusal>,
}

#[derive(Debug, Clone)]
pub struct Checked {
    pub challenge: CodeChallenge,
    pub requested_scope: Option<Scope>,
    pub prompt: Prompt,
}

impl Authorization {
    /// `redirect_uri` with the given parameters, plus `state` and `iss` (RFC 9207).
    pub fn redirect(&self, issuer: &str, params: &[(&str, &str)]) -> String {
        let mut url = match url::Url::parse(&self.redirect_uri) {
            Ok(u) => u,
            // Registered URIs were parsed when registered; keep the string if not.
            Err(_) => return self.redirect_uri.clone(),
        };
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in params {
                q.append_pair(k, v);
            }
            if let Some(s) = &self.state {
                q.append_pair("state", s);
            }
            q.append_pair("iss", issuer);
        }
        url.into()
    }

    pub fn refused(&self, issuer: &str, r: &Refusal) -> String {
        self.redirect(
            issuer,
            &[("error", r.error), ("error_description", &r.description)],
        )
    }
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

/// Checks an authorize request. `Err` is shown as a page; inside `Ok`, a failed
/// [`Authorization::checked`] is redirected.
pub async fn check(state: &AppState, p: AuthorizeParams) -> Result<Authorization, Untrusted> {
    for name in ["client_id", "redirect_uri"] {
        if p.repeated.iter().any(|r| r == name) {
            return Err(Untrusted::BadRequest(format!(
                "The parameter {name} was sent more than once."
            )));
        }
    }
    let Some(client_id) = present(&p.client_id) else {
        return Err(Untrusted::BadRequest(
            "The request names no application (client_id is missing).".into(),
        ));
    };
    let unknown = || Untrusted::BadRequest("The application is not known to this server.".into());
    if ClientId::parse(client_id).is_err() {
        return Err(unknown());
    }
    let client = state
        .clients
        .get(&state.db.read, client_id)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "authorize: client lookup failed");
            Untrusted::Unavailable("The server is busy; please try again in a moment.".into())
        })?
        .filter(|c| !c.disabled)
        .ok_or_else(unknown)?;
    let registered = client.redirect_uri_list();
    let (redirect_uri, sent) = match present(&p.redirect_uri) {
        Some(uri) if registered.iter().any(|r| r == uri) => (uri.to_owned(), true),
        Some(_) => {
            return Err(Untrusted::BadRequest(
                "The redirect_uri is not registered for this application.".into(),
            ));
        }
        None if registered.len() == 1 => (registered[0].clone(), false),
        None => {
            return Err(Untrusted::BadRequest(
                "The request has no redirect_uri, and the application has more than one \
                 registered."
                    .into(),
            ));
        }
    };
    let state_param = present(&p.state).map(str::to_owned);
    let checked = check_rest(&client, &p, state_param.as_deref());
    Ok(Authorization {
        client,
        redirect_uri,
        redirect_uri_sent: sent,
        // An oversized state is not echoed back.
        state: state_param.filter(|s| s.len() <= MAX_STATE_LEN),
        params: p,
        checked,
    })
}

fn check_rest(
    client: &client::Model,
    p: &AuthorizeParams,
    state_param: Option<&str>,
) -> Result<Checked, Refusal> {
    if let Some(name) = p.repeated.first() {
        return Err(Refusal::new(
            "invalid_request",
            format!("the parameter {name} was sent more than once"),
        ));
    }
    if state_param.is_some_and(|s| s.len() > MAX_STATE_LEN) {
        return Err(Refusal::new(
            "invalid_request",
            format!("state must be at most {MAX_STATE_LEN} bytes"),
        ));
    }
    match present(&p.response_type) {
        Some("code") => {}
        None => return Err(Refusal::new("invalid_request", "response_type is required")),
        Some(_) => {
            return Err(Refusal::new(
                "unsupported_response_type",
                "only response_type=code is supported",
            ));
        }
    }
    let policy_grants = client.grants();
    if !policy_grants.contains(&GrantType::AuthorizationCode) {
        return Err(Refusal::new(
            "unauthorized_client",
            format!(
                "client `{}` may not use the authorization_code grant",
                client.client_id
            ),
        ));
    }
    let Some(challenge) = present(&p.code_challenge) else {
        return Err(Refusal::new(
            "invalid_request",
            "code_challenge is required (PKCE with code_challenge_method=S256)",
        ));
    };
    match present(&p.code_challenge_method) {
        Some("S256") => {}
        Some("plain") | None => {
            return Err(Refusal::new(
                "invalid_request",
                "code_challenge_method must be S256 (plain is not accepted)",
            ));
        }
        Some(_) => {
            return Err(Refusal::new(
                "invalid_request",
                "code_challenge_method must be S256",
            ));
        }
    }
    let challenge =
        CodeChallenge::parse(challenge).map_err(|e| Refusal::new("invalid_request", e))?;
    let requested_scope = present(&p.scope)
        .map(Scope::parse)
        .transpose()
        .map_err(|e| Refusal::new("invalid_scope", e))?;
    let allowed = Scope::parse(&client.scopes).unwrap_or_default();
    if requested_scope
        .as_ref()
        .is_some_and(|s| !s.is_subset_of(&allowed))
    {
        return Err(Refusal::new(
            "invalid_scope",
            "the requested scope exceeds what this client may be granted",
        ));
    }
    let prompt =
        Prompt::parse(present(&p.prompt)).map_err(|e| Refusal::new("invalid_request", e))?;
    Ok(Checked {
        challenge,
        requested_scope,
        prompt,
    })
}

/// What the signed-in user still has to do before the client gets a code.
#[derive(Debug)]
pub enum Next {
    /// Nothing: issue the code for this scope.
    Issue(Scope),
    /// Allow (or deny) these scopes on the consent page.
    Consent(Scope),
}

/// Decides, for a checked request and a signed-in user, whether consent is needed.
/// `consent_shown` is true when answering the consent page (so `prompt=consent` is met).
pub async fn next_step(
    state: &AppState,
    a: &Authorization,
    c: &Checked,
    user: &user::Model,
    consent_shown: bool,
) -> Result<Result<Next, Refusal>, OAuthError> {
    let allowed = Scope::parse(&a.client.scopes).unwrap_or_default();
    let raw = c.requested_scope.as_ref().map(Scope::to_string);
    let scope = match resolve_user_scope(raw.as_deref(), &allowed, user.is_admin) {
        Ok(s) => s,
        Err(e) => return Ok(Err(Refusal::new("invalid_scope", e.to_string()))),
    };
    if !a.client.require_consent || consent_shown {
        return Ok(Ok(Next::Issue(scope)));
    }
    let given = signin::consented_scope(&state.db.read, &user.id, &a.client.client_id)
        .await?
        .and_then(|s| Scope::parse(&s).ok());
    let covered = given.is_some_and(|g| scope.is_subset_of(&g));
    if covered && !c.prompt.consent {
        return Ok(Ok(Next::Issue(scope)));
    }
    if c.prompt.none {
        return Ok(Err(Refusal::new(
            "consent_required",
            "the user has not allowed this application these scopes",
        )));
    }
    Ok(Ok(Next::Consent(scope)))
}

/// Records the user's consent to `scope` (added to what was allowed before).
pub async fn allow(
    state: &AppState,
    client_id: &str,
    user: &user::Model,
    scope: &Scope,
    meta: &RequestMeta,
) -> Result<(), OAuthError> {
    let now = state.clock.now_ms();
    let txn = state.db.write.begin().await?;
    let before = signin::consented_scope(&txn, &user.id, client_id)
        .await?
        .and_then(|s| Scope::parse(&s).ok())
        .unwrap_or_default();
    let all = before.union(scope);
    signin::remember_consent(&txn, &user.id, client_id, &all.to_string(), now).await?;
    audit::record(
        &txn,
        now,
        AuditEvent {
            actor: Some(user.id.clone()),
            user_id: Some(user.id.clone()),
            client_id: Some(client_id.to_owned()),
            ip: meta.ip.clone(),
            detail: Some(json!({ "scope": scope.to_string() })),
            ..AuditEvent::new(AuditKind::ConsentGranted)
        },
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Issues a code for the user and returns the redirect carrying it.
pub async fn issue(
    state: &AppState,
    a: &Authorization,
    c: &Checked,
    user: &user::Model,
    scope: &Scope,
    signin_session_id: Option<&str>,
) -> Result<String, OAuthError> {
    let code = BrowserSecret::generate();
    let now = state.clock.now_ms();
    codes::insert(
        &state.db.write,
        NewCode {
            code_hash: code.hash(),
            client_id: &a.client.client_id,
            user_id: &user.id,
            redirect_uri: &a.redirect_uri,
            redirect_uri_sent: a.redirect_uri_sent,
            code_challenge: c.challenge.as_str(),
            scope: scope.to_string(),
            signin_session_id: signin_session_id.map(str::to_owned),
            expires_at: now + CODE_TTL_MS,
        },
        now,
    )
    .await?;
    Ok(a.redirect(&state.issuer, &[("code", code.expose())]))
}

pub struct CodeRequest<'a> {
    pub code: &'a str,
    pub code_verifier: Option<&'a str>,
    pub redirect_uri: Option<&'a str>,
}

const INVALID_CODE: &str = "the authorization code is invalid, expired or already used";

/// `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6): checks the code's
/// bindings (client, redirect URI, verifier) before spending it, then spends it with a
/// compare-and-set in the transaction that starts the family. A code presented again
/// after it was spent revokes that family (`code_reused`): RFC 6749 §4.1.2, the code
/// leaked.
pub async fn exchange(
    state: &AppState,
    client: &client::Model,
    req: CodeRequest<'_>,
    meta: &RequestMeta,
) -> Result<TokenSet, OAuthError> {
    let policy = client.policy(&state.settings);
    require_grant(&client.client_id, &policy, GrantType::AuthorizationCode)?;
    let verifier = req
        .code_verifier
        .ok_or_else(|| OAuthError::InvalidRequest("`code_verifier` is required (PKCE)".into()))?;
    let verifier = CodeVerifier::parse(verifier).map_err(OAuthError::InvalidGrant)?;
    let Some(code) = BrowserSecret::parse(req.code) else {
        return Err(OAuthError::InvalidGrant(INVALID_CODE.into()));
    };
    let hash = code.hash();
    let now = state.clock.now_ms();
    let Some(row) = codes::find(&state.db.read, &hash).await? else {
        return Err(OAuthError::InvalidGrant(INVALID_CODE.into()));
    };
    if row.client_id != client.client_id {
        return Err(OAuthError::InvalidGrant(INVALID_CODE.into()));
    }
    if row.used_at.is_some() {
        return replayed(state, &row, meta).await;
    }
    if row.expires_at <= now {
        return Err(OAuthError::InvalidGrant(INVALID_CODE.into()));
    }
    match req.redirect_uri {
        Some(uri) if uri == row.redirect_uri => {}
        None if !row.redirect_uri_sent => {}
        None => {
            return Err(OAuthError::InvalidGrant(
                "redirect_uri must repeat the one sent to the authorize endpoint".into(),
            ));
        }
        Some(_) => {
            return Err(OAuthError::InvalidGrant(
                "redirect_uri does not match the one the code was issued for".into(),
            ));
        }
    }
    let challenge = CodeChallenge::parse(&row.code_challenge)
        .map_err(|_| OAuthError::Internal("a stored code challenge is malformed".into()))?;
    if !challenge.is_met_by(&verifier) {
        return Err(OAuthError::InvalidGrant(
            "code_verifier does not match the code_challenge".into(),
        ));
    }
    // The sign-in session that issued the code must still stand: a sign-out, a password
    // change or an administrator ending it in the code's 60 s also voids the code.
    if let Some(sid) = &row.signin_session_id
        && !signin::find(&state.db.read, sid)
            .await?
            .is_some_and(|s| s.is_live(now))
    {
        return Err(OAuthError::InvalidGrant(INVALID_CODE.into()));
    }
    let Some(user) = users::find(&state.db.read, &row.user_id).await? else {
        return Err(OAuthError::InvalidGrant(INVALID_CODE.into()));
    };
    let scope = Scope::parse(&row.scope).unwrap_or_default();
    let txn = state.db.write.begin().await?;
    // The claim comes first: it takes the write lock, and of any number of concurrent
    // exchanges exactly one passes it. The family id is filled in below.
    if !codes::claim(&txn, &hash, now).await? {
        txn.rollback().await?;
        let Some(row) = codes::find(&state.db.write, &hash).await? else {
            return Err(OAuthError::InvalidGrant(INVALID_CODE.into()));
        };
        return replayed(state, &row, meta).await;
    }
    let (set, family_id) = family::start(
        state,
        &txn,
        family::Start {
            client,
            policy: &policy,
            user: &user,
            verified_hash: &user.password_hash,
            scope,
            audit: AuditEvent::new(AuditKind::CodeExchanged),
        },
        meta,
        now,
    )
    .await?;
    codes::set_family(&txn, &hash, &family_id).await?;
    txn.commit().await?;
    Ok(set)
}

/// A spent code presented again: revoke what its first use started.
async fn replayed(
    state: &AppState,
    row: &crate::store::entities::authorization_code::Model,
    meta: &RequestMeta,
) -> Result<TokenSet, OAuthError> {
    if let Some(family_id) = &row.family_id
        && let Some(family) = crate::store::sessions::find(&state.db.read, family_id).await?
    {
        let event = AuditEvent {
            user_id: Some(row.user_id.clone()),
            client_id: Some(row.client_id.clone()),
            family_id: Some(family_id.clone()),
            ip: meta.ip.clone(),
            reason: Some(RevokeReason::CodeReused.as_str().into()),
            ..AuditEvent::new(AuditKind::ReuseDetected)
        };
        sessions::end_family(
            state,
            &family,
            RevokeReason::CodeReused,
            &Actor::System,
            Some(event),
        )
        .await?;
        tracing::warn!(
            client_id = %row.client_id,
            family_id = %family_id,
            "authorization code used twice; its family is revoked"
        );
    }
    Err(OAuthError::InvalidGrant(INVALID_CODE.into()))
}
