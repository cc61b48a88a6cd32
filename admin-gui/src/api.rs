//! The admin's connection to one Tessera server: sign-in through the public client
//! `tessera-admin` (password grant), access tokens refreshed before they expire (the app
//! is itself a rotating client; the refresh token lives in memory only), and typed calls
//! through the generated `tessera-client`. No egui here.

use std::time::{Duration, Instant};

use tessera_client::{Client, Error, types, with_bearer};

pub const CLIENT_ID: &str = "tessera-admin";

/// What went wrong, phrased for a banner or a field.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The server cannot be reached.
    Unreachable(String),
    /// The sign-in was refused (wrong credentials, locked, not an administrator).
    SignInRefused(String),
    /// The session ended (refresh refused): sign in again.
    SessionEnded(String),
    /// 403: the token may not do this.
    Forbidden(String),
    /// 400/404/409: the request was refused; `field` when the server named one.
    Rejected {
        status: u16,
        field: Option<String>,
        message: String,
    },
    /// Anything else (5xx, an unreadable answer).
    Server(String),
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Unreachable(m) => write!(f, "Cannot reach the server: {m}"),
            ApiError::SignInRefused(m) => write!(f, "Sign-in refused: {m}"),
            ApiError::SessionEnded(m) => {
                write!(f, "Your session ended ({m}). Please sign in again.")
            }
            ApiError::Forbidden(m) => write!(f, "Not allowed: {m}"),
            ApiError::Rejected { message, .. } => write!(f, "{message}"),
            ApiError::Server(m) => write!(f, "Server error: {m}"),
        }
    }
}

fn describe(body: &types::ErrorBody) -> String {
    body.error_description
        .clone()
        .unwrap_or_else(|| body.error.clone())
}

/// Maps a generated-client error. A refusal keeps the `field` the server names, so
/// forms can show it next to that field.
pub(crate) fn map_err(e: Error<types::ErrorBody>) -> ApiError {
    match e {
        Error::ErrorResponse(r) => {
            let status = r.status().as_u16();
            let message = describe(&r);
            match status {
                401 => ApiError::SessionEnded(message),
                403 => ApiError::Forbidden(message),
                400 | 404 | 409 => ApiError::Rejected {
                    status,
                    field: r.field.clone(),
                    message,
                },
                _ => ApiError::Server(message),
            }
        }
        Error::CommunicationError(e) => ApiError::Unreachable(e.to_string()),
        other => ApiError::Server(other.to_string()),
    }
}

struct Session {
    refresh_token: String,
    refresh_at: Instant,
    client: Client,
}

/// One signed-in connection.
pub struct Api {
    base: String,
    anon: Client,
    session: Option<Session>,
}

impl Api {
    pub fn new(base_url: &str) -> Api {
        let base = base_url.trim().trim_end_matches('/').to_owned();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .unwrap_or_default();
        Api {
            anon: Client::new_with_client(&base, http),
            base,
            session: None,
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn signed_in(&self) -> bool {
        self.session.is_some()
    }

    fn token_request(grant: types::GrantType) -> types::TokenRequest {
        types::TokenRequest {
            grant_type: grant.to_string(),
            client_id: Some(CLIENT_ID.into()),
            client_secret: None,
            username: None,
            password: None,
            refresh_token: None,
            scope: None,
            code: None,
            code_verifier: None,
            redirect_uri: None,
        }
    }

    fn install(&mut self, t: types::TokenResponseBody) -> Result<(), ApiError> {
        let refresh_token = t
            .refresh_token
            .ok_or_else(|| ApiError::Server("no refresh token in the answer".into()))?;
        // Refresh a little before expiry (at 80 % of the lifetime, at least 5 s ahead).
        let lifetime = u64::try_from(t.expires_in).unwrap_or(60);
        let ahead = (lifetime / 5).max(5).min(lifetime);
        let http = with_bearer(&t.access_token).map_err(|e| ApiError::Server(e.to_string()))?;
        self.session = Some(Session {
            client: Client::new_with_client(&self.base, http),
            refresh_token,
            refresh_at: Instant::now() + Duration::from_secs(lifetime - ahead),
        });
        Ok(())
    }

    pub async fn sign_in(&mut self, username: &str, password: &str) -> Result<(), ApiError> {
        let mut req = Self::token_request(types::GrantType::Password);
        req.username = Some(username.to_owned());
        req.password = Some(password.to_owned());
        req.scope = Some("admin".into());
        match self.anon.token().body(req).send().await {
            Ok(t) => self.install(t.into_inner()),
            Err(Error::ErrorResponse(r)) => Err(ApiError::SignInRefused(describe(&r))),
            Err(e) => Err(map_err(e)),
        }
    }

    /// Ends the session on the server too (revokes the refresh family). Forgets the
    /// tokens whatever happens; an error says the server did not confirm the end.
    pub async fn sign_out(&mut self) -> Result<(), ApiError> {
        if let Some(s) = self.session.take() {
            self.anon
                .revoke()
                .body(types::TokenActionRequest {
                    token: Some(s.refresh_token),
                    token_type_hint: Some("refresh_token".into()),
                    client_id: Some(CLIENT_ID.into()),
                    client_secret: None,
                })
                .send()
                .await
                .map_err(map_err)?;
        }
        Ok(())
    }

    async fn refresh(&mut self) -> Result<(), ApiError> {
        let Some(s) = &self.session else {
            return Err(ApiError::SessionEnded("not signed in".into()));
        };
        let mut req = Self::token_request(types::GrantType::RefreshToken);
        req.refresh_token = Some(s.refresh_token.clone());
        match self.anon.token().body(req).send().await {
            Ok(t) => self.install(t.into_inner()),
            Err(Error::ErrorResponse(r)) => {
                self.session = None;
                Err(ApiError::SessionEnded(describe(&r)))
            }
            Err(e) => Err(map_err(e)),
        }
    }

    /// The authenticated client, refreshing the access token first when it is due.
    pub async fn client(&mut self) -> Result<&Client, ApiError> {
        let due = match &self.session {
            None => return Err(ApiError::SessionEnded("not signed in".into())),
            Some(s) => Instant::now() >= s.refresh_at,
        };
        if due {
            self.refresh().await?;
        }
        self.session
            .as_ref()
            .map(|s| &s.client)
            .ok_or_else(|| ApiError::SessionEnded("not signed in".into()))
    }

    /// Forces the next call to refresh (for tests and after a 401).
    pub fn expire_access_token(&mut self) {
        if let Some(s) = &mut self.session {
            s.refresh_at = Instant::now();
        }
    }
}

/// Runs one call, mapping errors; after a 401 the token is refreshed once and the call
/// retried (the access token may have been revoked with its family, or expired early).
macro_rules! call {
    ($api:expr, |$c:ident| $body:expr) => {{
        let first = {
            let $c = $api.client().await?;
            $body.await
        };
        match first {
            Err(tessera_client::Error::ErrorResponse(r)) if r.status().as_u16() == 401 => {
                $api.expire_access_token();
                let $c = $api.client().await?;
                $body
                    .await
                    .map(|v| v.into_inner())
                    .map_err($crate::api::map_err)
            }
            other => other.map(|v| v.into_inner()).map_err($crate::api::map_err),
        }
    }};
}
pub(crate) use call;
