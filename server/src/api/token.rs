//! `POST /oauth/token`.

use poem::Request;
use poem::web::Data;
use poem_openapi::payload::{Form, Json};
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::ApiTag;
use super::client_auth::{ClientAuth, authenticate};
use super::error::{ErrorBody, OAuthErrors, describe_parse_error, present};
use super::meta::request_meta;
use crate::domain::GrantType;
use crate::oauth::{self, OAuthError, TokenSet};
use crate::state::AppState;

#[derive(Default)]
pub struct TokenApi;

/// A token request (RFC 6749 §4.3.2, §4.4.2, §6), form-encoded. Which fields are needed
/// depends on `grant_type`; parameters sent empty count as omitted.
#[derive(Debug, Object, Deserialize)]
pub struct TokenRequest {
    /// `password`, `refresh_token` or `client_credentials`.
    pub grant_type: String,
    /// `password` grant: the user's name.
    pub username: Option<String>,
    /// `password` grant: the user's password.
    #[oai(write_only)]
    pub password: Option<String>,
    /// `refresh_token` grant: the refresh token to exchange (it is rotated).
    pub refresh_token: Option<String>,
    /// Space-separated scopes; on refresh, a subset of the original grant.
    pub scope: Option<String>,
    /// The client, when not authenticated with HTTP Basic (public clients, or with
    /// `client_secret` for `client_secret_post`).
    pub client_id: Option<String>,
    /// `client_secret_post` authentication.
    #[oai(write_only)]
    pub client_secret: Option<String>,
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Object)]
pub struct TokenResponseBody {
    /// A JWT access token (RFC 9068), `typ: at+jwt`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Lifetime of the access token in seconds.
    pub expires_in: i64,
    /// A new opaque refresh token (`tsr_...`); the one presented is now spent.
    #[oai(skip_serializing_if_is_none)]
    pub refresh_token: Option<String>,
    /// The granted scope, space-separated.
    pub scope: String,
}

#[derive(ApiResponse)]
#[oai(bad_request_handler = "bad_request")]
pub enum TokenResponse {
    /// Tokens issued.
    #[oai(status = 200)]
    Ok(Json<TokenResponseBody>),
    /// `invalid_request`, `invalid_grant`, `unauthorized_client`,
    /// `unsupported_grant_type` or `invalid_scope`.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// `invalid_client`; with `WWW-Authenticate` when HTTP Basic was used.
    #[oai(status = 401)]
    Unauthorized(
        Json<ErrorBody>,
        #[oai(header = "WWW-Authenticate")] Option<String>,
    ),
    /// The request body is larger than the configured limit.
    #[oai(status = 413)]
    TooLarge(Json<ErrorBody>),
    /// `invalid_grant`: too many failed sign-ins for this user or address; retry after
    /// the given seconds.
    #[oai(status = 429)]
    TooManyAttempts(Json<ErrorBody>, #[oai(header = "Retry-After")] String),
    /// An internal fault (`server_error`), never caused by the request.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// `temporarily_unavailable`: overloaded; retry after the given seconds.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>, #[oai(header = "Retry-After")] String),
}

fn bad_request(err: poem::Error) -> TokenResponse {
    if err.status() == poem::http::StatusCode::PAYLOAD_TOO_LARGE {
        return TokenResponse::TooLarge(Json(ErrorBody::new(
            "invalid_request",
            "the request body is too large",
        )));
    }
    TokenResponse::BadRequest(Json(ErrorBody::new(
        "invalid_request",
        format!(
            "the body must be application/x-www-form-urlencoded with a grant_type: {}",
            describe_parse_error(&err)
        ),
    )))
}

impl OAuthErrors for TokenResponse {
    fn bad_request(body: Json<ErrorBody>) -> Self {
        TokenResponse::BadRequest(body)
    }
    fn unauthorized(body: Json<ErrorBody>, www_authenticate: Option<String>) -> Self {
        TokenResponse::Unauthorized(body, www_authenticate)
    }
    fn internal(body: Json<ErrorBody>) -> Self {
        TokenResponse::Internal(body)
    }
    fn unavailable(body: Json<ErrorBody>, retry_after: String) -> Self {
        TokenResponse::Unavailable(body, retry_after)
    }
    fn too_many_attempts(body: Json<ErrorBody>, retry_after: String) -> Self {
        TokenResponse::TooManyAttempts(body, retry_after)
    }
}

impl From<TokenSet> for TokenResponse {
    fn from(t: TokenSet) -> Self {
        TokenResponse::Ok(Json(TokenResponseBody {
            access_token: t.access_token,
            token_type: "Bearer".into(),
            expires_in: t.expires_in,
            refresh_token: t.refresh_token,
            scope: t.scope.to_string(),
        }))
    }
}

fn required<'a>(v: &'a Option<String>, name: &str) -> Result<&'a str, OAuthError> {
    present(v).ok_or_else(|| OAuthError::InvalidRequest(format!("`{name}` is required")))
}

#[OpenApi(tag = "ApiTag::Oauth")]
impl TokenApi {
    /// Issue tokens
    ///
    /// Grants `password` (starts a refresh family), `refresh_token` (rotates: the
    /// presented token is spent and a new one returned; presenting a spent token again
    /// revokes the whole family) and `client_credentials`. Responses carry
    /// `Cache-Control: no-store`.
    #[oai(path = "/oauth/token", method = "post", operation_id = "token")]
    async fn token(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ClientAuth,
        body: Form<TokenRequest>,
    ) -> TokenResponse {
        let grant = GrantType::parse(&body.grant_type);
        let result = self.handle(&state, req, &auth, &body, grant).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) => ErrorBody::from_grant_code(e),
        };
        state
            .metrics
            .grant(grant.map_or("unknown", GrantType::as_str), outcome);
        match result {
            Ok(t) => t.into(),
            Err(e) => TokenResponse::from_grant(e),
        }
    }
}

impl TokenApi {
    async fn handle(
        &self,
        state: &AppState,
        req: &Request,
        auth: &ClientAuth,
        body: &TokenRequest,
        grant: Option<GrantType>,
    ) -> Result<TokenSet, OAuthError> {
        let grant = grant
            .filter(|g| GrantType::SUPPORTED.contains(g))
            .ok_or_else(|| {
                OAuthError::UnsupportedGrantType(format!(
                    "grant_type must be one of: {}",
                    GrantType::join(&GrantType::SUPPORTED)
                ))
            })?;
        let client = authenticate(
            state,
            req,
            auth,
            present(&body.client_id),
            present(&body.client_secret),
        )
        .await?;
        let meta = request_meta(req);
        match grant {
            GrantType::Password => {
                let req = oauth::password::PasswordRequest {
                    username: required(&body.username, "username")?,
                    password: required(&body.password, "password")?,
                    scope: present(&body.scope),
                };
                oauth::password::grant(state, &client, req, &meta).await
            }
            GrantType::RefreshToken => {
                let req = oauth::refresh::RefreshRequest {
                    refresh_token: required(&body.refresh_token, "refresh_token")?,
                    scope: present(&body.scope),
                };
                oauth::refresh::grant(state, &client, req, &meta).await
            }
            GrantType::ClientCredentials => {
                oauth::client_credentials::grant(state, &client, present(&body.scope))
            }
            GrantType::AuthorizationCode => Err(OAuthError::UnsupportedGrantType(
                "authorization_code is not supported yet".into(),
            )),
        }
    }
}
