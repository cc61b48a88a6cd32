//! Client authentication at the token endpoint (RFC 6749 §2.3): HTTP Basic
//! (`client_secret_basic`), form fields (`client_secret_post`), or `client_id` alone for
//! public clients. Exactly one method per request.

use percent_encoding::percent_decode_str;
use poem::Request;
use poem_openapi::SecurityScheme;
use poem_openapi::auth::Basic;
use subtle::ConstantTimeEq;

use crate::domain::{ClientId, tokens_hash_presented_secret};
use crate::grants::GrantError;
use crate::state::AppState;
use crate::store::{clients, entities::client};

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

/// Finds and checks the client. Every failure is `invalid_client`, with the same
/// description whether the client is unknown or the secret is wrong.
pub async fn authenticate(
    state: &AppState,
    req: &Request,
    auth: &ClientAuth,
    form_client_id: Option<&str>,
    form_secret: Option<&str>,
) -> Result<client::Model, GrantError> {
    let basic_header = req
        .headers()
        .contains_key(poem::http::header::AUTHORIZATION);
    let fail = |d: &str| GrantError::InvalidClient {
        description: d.to_owned(),
        basic: basic_header,
    };
    let (client_id, secret) = match auth {
        ClientAuth::Basic(ClientSecretBasic(b)) => {
            if form_secret.is_some() {
                return Err(GrantError::InvalidRequest(
                    "use one client authentication method, not both Basic and client_secret".into(),
                ));
            }
            let id = form_decode(&b.username).ok_or_else(|| fail("malformed Basic credentials"))?;
            let secret =
                form_decode(&b.password).ok_or_else(|| fail("malformed Basic credentials"))?;
            if form_client_id.is_some_and(|f| f != id) {
                return Err(GrantError::InvalidRequest(
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
    if ClientId::parse(&client_id).is_err() || secret.as_ref().is_some_and(|s| s.len() > 1024) {
        return Err(fail("client authentication failed"));
    }
    let found = clients::find(&state.db.read, &client_id).await?;
    let presented_hash = secret.as_deref().map(tokens_hash_presented_secret);
    let Some(client) = found.filter(|c| !c.disabled) else {
        return Err(fail("client authentication failed"));
    };
    match (&client.secret_hash, presented_hash) {
        (Some(stored), Some(presented)) => {
            if bool::from(stored.as_bytes().ct_eq(presented.as_bytes())) {
                Ok(client)
            } else {
                Err(fail("client authentication failed"))
            }
        }
        (Some(_), None) => Err(fail("client authentication failed")),
        (None, None) => Ok(client),
        (None, Some(_)) => Err(fail("public clients must not send a secret")),
    }
}
