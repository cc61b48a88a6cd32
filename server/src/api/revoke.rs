//! `POST /oauth/revoke` (RFC 7009) and `POST /oauth/introspect` (RFC 7662).

use poem::Request;
use poem::web::Data;
use poem_openapi::payload::{Form, Json};
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::Deserialize;

use super::ApiTag;
use super::client_auth::{ClientAuth, authenticate};
use super::error::{ErrorBody, OAuthErrors, describe_parse_error, present};
use super::meta::request_meta;
use super::token::browser_proof;
use crate::oauth::introspection;
use crate::oauth::revocation::{self, TokenHint};
use crate::oauth::{OAuthError, browser};
use crate::state::AppState;
use crate::web::cookies::{self, Kind};

#[derive(Default)]
pub struct RevocationApi;

/// A revocation or introspection request, form-encoded.
#[derive(Debug, Object, Deserialize)]
pub struct TokenActionRequest {
    /// The access token or refresh token. Revocation by a client with cookie delivery
    /// may omit it: the refresh-token cookie is revoked (and cleared) instead.
    pub token: Option<String>,
    /// `access_token` or `refresh_token`; optional, unknown values are ignored.
    pub token_type_hint: Option<String>,
    /// The client, when not authenticated with HTTP Basic.
    pub client_id: Option<String>,
    /// `client_secret_post` authentication.
    #[oai(write_only)]
    pub client_secret: Option<String>,
}

/// Introspection result (RFC 7662 §2.2). Inactive tokens carry only `active: false`.
#[derive(Debug, Default, Object)]
pub struct IntrospectionResponse {
    pub active: bool,
    /// `Bearer` or `refresh_token`.
    #[oai(skip_serializing_if_is_none)]
    pub token_type: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub scope: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub client_id: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub username: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub sub: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub aud: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    pub iss: Option<String>,
    /// Expiry, seconds since the epoch (for a refresh token: its idle expiry).
    #[oai(skip_serializing_if_is_none)]
    pub exp: Option<i64>,
    #[oai(skip_serializing_if_is_none)]
    pub iat: Option<i64>,
    #[oai(skip_serializing_if_is_none)]
    pub jti: Option<String>,
    /// The refresh family (session) the token belongs to.
    #[oai(skip_serializing_if_is_none)]
    pub sid: Option<String>,
}

#[derive(ApiResponse)]
#[oai(bad_request_handler = "revoke_bad_request")]
pub enum RevokeResponse {
    /// Revoked, or nothing to revoke (unknown tokens are not reported). A cookie
    /// revocation also clears the cookie.
    #[oai(status = 200)]
    Ok(#[oai(header = "Set-Cookie")] Option<String>),
    /// `invalid_request`.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// `invalid_client`.
    #[oai(status = 401)]
    Unauthorized(
        Json<ErrorBody>,
        #[oai(header = "WWW-Authenticate")] Option<String>,
    ),
    /// `invalid_client`: too many failed client authentications from this address;
    /// retry after the given seconds.
    #[oai(status = 429)]
    TooManyAttempts(Json<ErrorBody>, #[oai(header = "Retry-After")] String),
    /// `server_error`.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// `temporarily_unavailable`.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>, #[oai(header = "Retry-After")] String),
}

#[derive(ApiResponse)]
#[oai(bad_request_handler = "introspect_bad_request")]
pub enum IntrospectResponse {
    /// The token's state.
    #[oai(status = 200)]
    Ok(Json<IntrospectionResponse>),
    /// `invalid_request`.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// `invalid_client`: introspection needs a confidential client.
    #[oai(status = 401)]
    Unauthorized(
        Json<ErrorBody>,
        #[oai(header = "WWW-Authenticate")] Option<String>,
    ),
    /// `invalid_client`: too many failed client authentications from this address;
    /// retry after the given seconds.
    #[oai(status = 429)]
    TooManyAttempts(Json<ErrorBody>, #[oai(header = "Retry-After")] String),
    /// `server_error`.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// `temporarily_unavailable`.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>, #[oai(header = "Retry-After")] String),
}

fn parse_error_body(err: &poem::Error) -> Json<ErrorBody> {
    Json(ErrorBody::new(
        "invalid_request",
        format!(
            "the body must be application/x-www-form-urlencoded with a token: {}",
            describe_parse_error(err)
        ),
    ))
}

fn revoke_bad_request(err: poem::Error) -> RevokeResponse {
    RevokeResponse::BadRequest(parse_error_body(&err))
}

fn introspect_bad_request(err: poem::Error) -> IntrospectResponse {
    IntrospectResponse::BadRequest(parse_error_body(&err))
}

macro_rules! oauth_errors {
    ($ty:ident) => {
        impl OAuthErrors for $ty {
            fn bad_request(body: Json<ErrorBody>) -> Self {
                $ty::BadRequest(body)
            }
            fn unauthorized(body: Json<ErrorBody>, www_authenticate: Option<String>) -> Self {
                $ty::Unauthorized(body, www_authenticate)
            }
            fn internal(body: Json<ErrorBody>) -> Self {
                $ty::Internal(body)
            }
            fn unavailable(body: Json<ErrorBody>, retry_after: String) -> Self {
                $ty::Unavailable(body, retry_after)
            }
            fn too_many_attempts(body: Json<ErrorBody>, retry_after: String) -> Self {
                $ty::TooManyAttempts(body, retry_after)
            }
        }
    };
}
oauth_errors!(RevokeResponse);
oauth_errors!(IntrospectResponse);

fn token_param(body: &TokenActionRequest) -> Result<&str, OAuthError> {
    let Some(token) = present(&body.token) else {
        return Err(OAuthError::InvalidRequest("`token` is required".into()));
    };
    if token.len() > 16 * 1024 {
        return Err(OAuthError::InvalidRequest("`token` is too long".into()));
    }
    Ok(token)
}

#[OpenApi(tag = "ApiTag::Oauth")]
impl RevocationApi {
    /// Revoke a token
    ///
    /// Revoking a refresh token, or an access token, ends its whole refresh family
    /// (reason `logout`): every token of that session stops working. Unknown, foreign or
    /// already-revoked tokens also answer 200.
    #[oai(path = "/oauth/revoke", method = "post", operation_id = "revoke")]
    async fn revoke(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ClientAuth,
        body: Form<TokenActionRequest>,
    ) -> RevokeResponse {
        let result = async {
            let client = authenticate(
                &state,
                req,
                &auth,
                present(&body.client_id),
                present(&body.client_secret),
            )
            .await?;
            let meta = request_meta(req);
            if present(&body.token).is_none() && client.refresh_in_cookie() {
                // Sign-out of a browser app: the token is the cookie's.
                browser::check(&client, browser_proof(req))?;
                let secure = state.settings.cookie_secure;
                let kind = Kind::RefreshToken {
                    client_id: &client.client_id,
                };
                if let Some(token) = cookies::read(req, kind, secure) {
                    revocation::revoke(&state, &client, &token, &meta).await?;
                }
                return Ok(Some(cookies::clear(kind, secure)));
            }
            let token = token_param(&body)?;
            revocation::revoke(&state, &client, token, &meta).await?;
            Ok(None)
        }
        .await;
        match result {
            Ok(cookie) => RevokeResponse::Ok(cookie),
            Err(e) => RevokeResponse::from_grant(e),
        }
    }

    /// Introspect a token
    ///
    /// For confidential clients (resource servers). An access token is active while its
    /// signature and expiry hold, its client is enabled, and either its refresh family is
    /// live and its user enabled, or (client credentials) it was not revoked. A refresh
    /// token (reported only to its own client) is active while it is unused, unexpired,
    /// its family live and its user enabled. Anything else is `{"active": false}`,
    /// without a reason.
    #[oai(
        path = "/oauth/introspect",
        method = "post",
        operation_id = "introspect"
    )]
    async fn introspect(
        &self,
        state: Data<&AppState>,
        req: &Request,
        auth: ClientAuth,
        body: Form<TokenActionRequest>,
    ) -> IntrospectResponse {
        let result = async {
            let token = token_param(&body)?;
            let client = authenticate(
                &state,
                req,
                &auth,
                present(&body.client_id),
                present(&body.client_secret),
            )
            .await?;
            if client.is_public {
                return Err(OAuthError::InvalidClient {
                    description: "introspection needs a confidential client".into(),
                    basic: false,
                });
            }
            // Both kinds are recognisable by shape; the hint is accepted and changes nothing.
            let _ = TokenHint::parse(present(&body.token_type_hint));
            introspection::introspect(&state, &client, token).await
        }
        .await;
        match result {
            Ok(i) => IntrospectResponse::Ok(Json(IntrospectionResponse {
                active: i.active,
                token_type: i.token_type.map(str::to_owned),
                scope: i.scope,
                client_id: i.client_id,
                username: i.username,
                sub: i.sub,
                aud: i.aud,
                iss: i.iss,
                exp: i.exp,
                iat: i.iat,
                jti: i.jti,
                sid: i.sid,
            })),
            Err(e) => IntrospectResponse::from_grant(e),
        }
    }
}
