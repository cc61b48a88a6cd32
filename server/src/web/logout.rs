//! `GET|POST /oauth/logout`: ends the browser sign-in session. With `client_id` and one
//! of that client's registered redirect URIs as `post_logout_redirect_uri`, the browser
//! is sent back there (with `state`); otherwise a signed-out page is shown.

use std::borrow::Cow;

use poem::http::{Method, StatusCode, header};
use poem::web::Data;
use poem::{Body, Request, Response, handler};

use super::authorize::message;
use super::cookies::{self, Kind};
use crate::api::meta::request_meta;
use crate::oauth::signin_session;
use crate::state::AppState;

#[derive(Default)]
struct Input {
    client_id: Option<String>,
    post_logout_redirect_uri: Option<String>,
    state: Option<String>,
}

fn parse<'a>(pairs: impl Iterator<Item = (Cow<'a, str>, Cow<'a, str>)>) -> Input {
    let mut input = Input::default();
    for (k, v) in pairs {
        let slot = match k.as_ref() {
            "client_id" => &mut input.client_id,
            "post_logout_redirect_uri" => &mut input.post_logout_redirect_uri,
            "state" => &mut input.state,
            _ => continue,
        };
        if slot.is_none() && !v.is_empty() {
            *slot = Some(v.into_owned());
        }
    }
    input
}

#[handler]
pub async fn logout(req: &Request, state: Data<&AppState>, body: Body) -> Response {
    let input = if req.method() == Method::POST {
        match body.into_bytes().await {
            Ok(b) => parse(url::form_urlencoded::parse(&b)),
            Err(_) => Input::default(),
        }
    } else {
        parse(url::form_urlencoded::parse(
            req.uri().query().unwrap_or("").as_bytes(),
        ))
    };
    let secure = state.settings.cookie_secure;
    let cookie = cookies::read(req, Kind::Session, secure);
    let ended = signin_session::sign_out(&state, cookie.as_deref(), &request_meta(req)).await;
    let clear = cookies::clear(Kind::Session, secure);
    if let Err(e) = ended {
        tracing::warn!(error = %e, "sign-out failed");
        let mut resp = message(
            StatusCode::SERVICE_UNAVAILABLE,
            "Not signed out",
            "The server could not end your session just now. Please try again.",
        );
        resp.headers_mut().insert(header::RETRY_AFTER, 1.into());
        return resp;
    }
    let back = match (&input.client_id, &input.post_logout_redirect_uri) {
        (Some(client), Some(uri)) => {
            signin_session::post_logout_target(&state, client, uri, input.state.as_deref()).await
        }
        _ => None,
    };
    let mut resp = match back {
        Some(url) => Response::builder()
            .status(StatusCode::SEE_OTHER)
            .header(header::LOCATION, url)
            .finish(),
        None if input.post_logout_redirect_uri.is_some() => message(
            StatusCode::OK,
            "Signed out",
            "You are signed out. (The address to return to is not registered for this \
             application, so you stay here.)",
        ),
        None => message(
            StatusCode::OK,
            "Signed out",
            "You are signed out of Tessera.",
        ),
    };
    if let Ok(v) = clear.parse() {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}
