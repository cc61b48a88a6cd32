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
use crate::oauth::{self, OAuthError, TokenSet, browser};
use crate::state::AppState;
use crate::web::cookies::{self, Kind};

#[derive(Default)]
pub struct TokenApi;

/// A token request (RFC 6749 §4.3.2, §4.4.2, §6), form-encoded. Which fields are needed
/// depends on `grant_type`; parameters sent empty count as omitted.
#[derive(Debug, Object, Deserialize)]
pub struct TokenRequest {
    /// `authorization_code`, `password`, `refresh_token` or `client_credentials`.
    pub grant_type: String,
    /// `authorization_code` grant: the code from the authorize redirect.
    pub code: Option<String>,
    /// `authorization_code` grant: the PKCE verifier (RFC 7636).
    #[oai(write_only)]
    pub code_verifier: Option<String>,
    /// `authorization_code` grant: the redirect URI, if one was sent to authorize.
    pub redirect_uri: Option<String>,
    /// `password` grant: the user's name.
    pub username: Option<String>,
    /// `password` grant: the user's password.
    #[oai(write_only)]
    pub password: Option<String>,
    /// `refresh_token` grant: the refresh token to exchange (it is rotated). Clients
    /// with cookie delivery send none: the browser sends the cookie.
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
    /// A new opaque refresh token (`tsr_...`); the one presented is now spent. Absent
    /// for clients with cookie delivery: it is in the `Set-Cookie` header instead.
    #[oai(skip_serializing_if_is_none)]
    pub refresh_token: Option<String>,
    /// The granted scope, space-separated.
    pub scope: String,
}

#[derive(ApiResponse)]
#[oai(bad_request_handler = "bad_request")]
pub enum TokenResponse {
    /// Tokens issued. Clients with cookie delivery get the refresh token in
    /// `Set-Cookie: __Host-tessera-rt-<client_id>=...` (HttpOnly, Secure,
    /// SameSite=Strict).
    #[oai(status = 200)]
    Ok(
        Json<TokenResponseBody>,
        #[oai(header = "Set-Cookie")] Option<String>,
    ),
    /// `invalid_request`, `invalid_grant`, `unauthorized_client`,
    /// `unsupported_grant_type` or `invalid_scope`. An `invalid_grant` for a client with
    /// cookie delivery also clears its cookie.
    #[oai(status = 400)]
    BadRequest(
        Json<ErrorBody>,
        #[oai(header = "Set-Cookie")] Option<String>,
    ),
    /// `invalid_client`; with `WWW-Authenticate` when HTTP Basic was used.
    #[oai(status = 401)]
    Unauthorized(
        Json<ErrorBody>,
        #[oai(header = "WWW-Authenticate")] Option<String>,
    ),
    /// The request body is larger than the configured limit.
    #[oai(status = 413)]
    TooLarge(Json<ErrorBody>),
    /// `invalid_grant`: too many failed sign-ins for this user or address; or
    /// `invalid_client`: too many failed client authentications from this address.
    /// Retry after the given seconds.
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
    TokenResponse::BadRequest(
        Json(ErrorBody::new(
            "invalid_request",
            format!(
                "the body must be application/x-www-form-urlencoded with a grant_type: {}",
                describe_parse_error(&err)
            ),
        )),
        None,
    )
}

impl OAuthErrors for TokenResponse {
    fn bad_request(body: Json<ErrorBody>) -> Self {
        TokenResponse::BadRequest(body, None)
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

impl TokenResponse {
    /// The response for a client: the refresh token in the body, or for a cookie
    /// client in its cookie.
    fn issued(t: TokenSet, cookie: Option<(Kind<'_>, bool)>, now_ms: i64) -> Self {
        let (refresh_token, set_cookie) = match (cookie, t.refresh_token) {
            (Some((kind, secure)), Some(rt)) => {
                let max_age = t
                    .refresh_expires_at
                    .map(|at| (at - now_ms).div_euclid(1000));
                (None, Some(cookies::set(kind, secure, &rt, max_age)))
            }
            (_, rt) => (rt, None),
        };
        TokenResponse::Ok(
            Json(TokenResponseBody {
                access_token: t.access_token,
                token_type: "Bearer".into(),
                expires_in: t.expires_in,
                refresh_token,
                scope: t.scope.to_string(),
            }),
            set_cookie,
        )
    }
}

/// A grant of a client with cookie delivery: the response sets its cookie, and a
/// refresh (which came from the cookie) clears it when the token is dead.
struct CookieUse {
    client_id: String,
    from_cookie: bool,
}

/// The `Origin` and `Tessera-CSRF` headers, for the checks of cookie requests.
pub fn browser_proof(req: &Request) -> browser::Proof<'_> {
    let h = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    browser::Proof {
        origin: h("origin"),
        csrf_header: h(browser::CSRF_HEADER),
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
        let mut cookie = None;
        let result = self
            .handle(&state, req, &auth, &body, grant, &mut cookie)
            .await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) => ErrorBody::from_grant_code(e),
        };
        state
            .metrics
            .grant(grant.map_or("unknown", GrantType::as_str), outcome);
        let secure = state.settings.cookie_secure;
        let kind = cookie.as_ref().map(|c| Kind::RefreshToken {
            client_id: &c.client_id,
        });
        let from_cookie = cookie.as_ref().is_some_and(|c| c.from_cookie);
        match result {
            Ok(t) => TokenResponse::issued(t, kind.map(|k| (k, secure)), state.clock.now_ms()),
            // The cookie's token is dead (unknown, expired, revoked, replayed): drop it.
            Err(e @ OAuthError::InvalidGrant(_)) if from_cookie => {
                match (TokenResponse::from_grant(e), kind) {
                    (TokenResponse::BadRequest(body, _), Some(k)) => {
                        TokenResponse::BadRequest(body, Some(cookies::clear(k, secure)))
                    }
                    (other, _) => other,
                }
            }
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
        cookie: &mut Option<CookieUse>,
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
        let in_cookie = client.refresh_in_cookie()
            && matches!(
                grant,
                GrantType::AuthorizationCode | GrantType::RefreshToken
            );
        if in_cookie {
            *cookie = Some(CookieUse {
                client_id: client.client_id.clone(),
                from_cookie: grant == GrantType::RefreshToken,
            });
        }
        match grant {
            GrantType::Password => {
                let req = oauth::password::PasswordRequest {
                    username: required(&body.username, "username")?,
                    password: required(&body.password, "password")?,
                    scope: present(&body.scope),
                };
                oauth::password::grant(state, &client, req, &meta).await
            }
            GrantType::RefreshToken if in_cookie => {
                browser::refuse_body_token(&client, present(&body.refresh_token).is_some())?;
                browser::check(&client, browser_proof(req))?;
                let kind = Kind::RefreshToken {
                    client_id: &client.client_id,
                };
                let Some(token) = cookies::read(req, kind, state.settings.cookie_secure) else {
                    return Err(OAuthError::InvalidGrant(
                        "no refresh-token cookie was sent; sign in again".into(),
                    ));
                };
                let req = oauth::refresh::RefreshRequest {
                    refresh_token: &token,
                    scope: present(&body.scope),
                };
                oauth::refresh::grant(state, &client, req, &meta).await
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
            GrantType::AuthorizationCode => {
                if in_cookie {
                    // The response sets the app's cookie: only the app may ask for it,
                    // or any page could plant its own session in the app.
                    browser::check(&client, browser_proof(req))?;
                }
                let req = oauth::authorization_code::CodeRequest {
                    code: required(&body.code, "code")?,
                    code_verifier: present(&body.code_verifier),
                    redirect_uri: present(&body.redirect_uri),
                };
                oauth::authorization_code::exchange(state, &client, req, &meta).await
            }
        }
    }
}
