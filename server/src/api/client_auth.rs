//! Client authentication at the token endpoint (RFC 6749 §2.3): HTTP Basic
//! (`client_secret_basic`), form fields (`client_secret_post`), or `client_id` alone for
//! public clients. Exactly one method per request.

use crate::oauth::OAuthError;
use crate::oauth::client_auth::{self, Client, Credentials};
use crate::state::AppState;
use percent_encoding::percent_decode_str;
use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Basic;

/// `client_secret_basic`: client id and secret, each form-urlencoded, as the Basic
/// user name and password.
#[derive(SecurityScheme)]
#[oai(ty = "basic")]
pub struct ClientSecretBasic(Basic);

/// Confidential clients authenticate with Basic (or with `client_secret` in the form);
/// public clients send only `client_id` in the form.
#[derive(SecurityScheme)]
pub enum ClientAuth {
    Basic(ClientSecretBasic),
    #[oai(fallback)]
    Form,
}

fn form_decode(s: &str) -> Option<String> {
    percent_decode_str(&s.replace('+', " "))
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// Extracts the credentials and authenticates the client ([`client_auth::authenticate`]).
pub async fn authenticate(
    state: &AppState,
    req: &Request,
    auth: &ClientAuth,
    form_client_id: Option<&str>,
    form_secret: Option<&str>,
) -> Result<Client, OAuthError> {
    let basic_header = req
        .headers()
        .contains_key(poem::http::header::AUTHORIZATION);
    let fail = |d: &str| OAuthError::InvalidClient {
        description: d.to_owned(),
        basic: basic_header,
    };
    let (client_id, secret) = match auth {
        ClientAuth::Basic(ClientSecretBasic(b)) => {
            if form_secret.is_some() {
                return Err(OAuthError::InvalidRequest(
                    "use one client authentication method, not both Basic and client_secret".into(),
                ));
            }
            let id = form_decode(&b.username).ok_or_else(|| fail("malformed Basic credentials"))?;
            let secret =
                form_decode(&b.password).ok_or_else(|| fail("malformed Basic credentials"))?;
            if form_client_id.is_some_and(|f| f != id) {
                return Err(OAuthError::InvalidRequest(
                    "client_id in the form differs from the authenticated client".into(),
                ));
            }
            (id, Some(secret))
        }
        ClientAuth::Form if basic_header => {
            return Err(fail("unsupported Authorization header; use HTTP Basic"));
        }
        ClientAuth::Form => {
            let id = form_client_id.ok_or_else(|| fail("client authentication is required"))?;
            (id.to_owned(), form_secret.map(str::to_owned))
        }
    };
    client_auth::authenticate(
        state,
        Credentials {
            client_id: &client_id,
            secret: secret.as_deref(),
            basic: basic_header,
            from: crate::api::meta::client_ip(req).as_deref(),
        },
    )
    .await
}
