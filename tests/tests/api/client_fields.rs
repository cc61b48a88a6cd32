//! The browser fields of a client in the admin API: `allowed_origins` (exact origins),
//! `refresh_token_delivery` (`body` | `cookie`, which needs an origin and the refresh
//! grant), `require_consent`, and the `authorization_code` grant (which needs a redirect
//! URI). Refusals are 400 `invalid_request` naming the field.

use reqwest::Method;
use serde_json::{Value, json};
use tessera_tests::browser_flow::{
    SPA_CALLBACK, SPA_ORIGIN, browser_client, cookie_client, create_client,
};
use tessera_tests::{Answer, TestApp, spawn_app};

#[track_caller]
fn assert_refused(a: &Answer, fields: &[&str], why: &str) {
    assert_eq!(a.status, 400, "{why}: {}", a.body);
    assert_eq!(a.error(), "invalid_request", "{why}: {}", a.body);
    let field = a.body["field"].as_str().unwrap_or("<none>");
    assert!(
        fields.contains(&field),
        "{why}: the field should be one of {fields:?}: {}",
        a.body
    );
}

async fn patch(app: &TestApp, admin: &str, id: &str, body: Value) -> Answer {
    app.send_bearer(
        Method::PATCH,
        &format!("/admin/v1/clients/{id}"),
        admin,
        Some(body),
    )
    .await
}

#[tokio::test]
async fn browser_fields_default_round_trip_and_update() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let plain = create_client(
        &app,
        &admin,
        json!({"client_id": "plain", "public": true, "grant_types": ["password"]}),
    )
    .await;
    plain.assert_ok();
    let c = &plain.body["client"];
    assert_eq!(c["allowed_origins"], json!([]), "{c}");
    assert_eq!(c["refresh_token_delivery"], "body", "{c}");
    assert_eq!(c["require_consent"], false, "{c}");

    let mut body = cookie_client("spa");
    body["require_consent"] = json!(true);
    let spa = create_client(&app, &admin, body).await;
    spa.assert_ok();
    assert!(spa.body.get("client_secret").is_none_or(Value::is_null));
    let c = &spa.body["client"];
    assert_eq!(c["allowed_origins"], json!([SPA_ORIGIN]), "{c}");
    assert_eq!(c["refresh_token_delivery"], "cookie", "{c}");
    assert_eq!(c["require_consent"], true, "{c}");
    assert_eq!(
        c["grant_types"],
        json!(["authorization_code", "refresh_token"]),
        "{c}"
    );
    assert_eq!(c["redirect_uris"], json!([SPA_CALLBACK]), "{c}");
    let got = app
        .send_bearer(Method::GET, "/admin/v1/clients/spa", &admin, None)
        .await;
    got.assert_ok();
    for f in [
        "allowed_origins",
        "refresh_token_delivery",
        "require_consent",
        "grant_types",
    ] {
        assert_eq!(got.body[f], c[f], "{f}: {}", got.body);
    }

    let u = patch(
        &app,
        &admin,
        "spa",
        json!({"require_consent": false, "allowed_origins": [SPA_ORIGIN, "https://app.example"]}),
    )
    .await;
    u.assert_ok();
    assert_eq!(u.body["require_consent"], false);
    assert_eq!(
        u.body["allowed_origins"],
        json!([SPA_ORIGIN, "https://app.example"])
    );
    assert_eq!(u.body["refresh_token_delivery"], "cookie", "untouched");
    let u = patch(
        &app,
        &admin,
        "spa",
        json!({"refresh_token_delivery": "body"}),
    )
    .await;
    u.assert_ok();
    assert_eq!(u.body["refresh_token_delivery"], "body");
    app.stop().await;
}

#[tokio::test]
async fn origins_must_be_exact_scheme_host_port() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    for (i, bad) in [
        "http://127.0.0.1:5173/app",
        "http://127.0.0.1:5173/",
        "*",
        "null",
        "127.0.0.1:5173",
        "ftp://files.example",
        "https://app.example?x=1",
        "https://user@app.example",
        "",
    ]
    .into_iter()
    .enumerate()
    {
        let mut c = browser_client(&format!("c{i}"), &[SPA_CALLBACK]);
        c["allowed_origins"] = json!([bad]);
        let a = create_client(&app, &admin, c).await;
        assert_refused(&a, &["allowed_origins"], &format!("origin `{bad}`"));
    }
    // Updates are checked the same way.
    create_client(&app, &admin, browser_client("ok", &[SPA_CALLBACK]))
        .await
        .assert_ok();
    let a = patch(
        &app,
        &admin,
        "ok",
        json!({"allowed_origins": ["https://app.example/path"]}),
    )
    .await;
    assert_refused(&a, &["allowed_origins"], "update");
    app.stop().await;
}

#[tokio::test]
async fn cookie_delivery_needs_an_origin_and_the_refresh_grant() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let mut c = cookie_client("a");
    c["allowed_origins"] = json!([]);
    let a = create_client(&app, &admin, c).await;
    assert_refused(&a, &["allowed_origins"], "no origin");
    let mut c = cookie_client("b");
    c["grant_types"] = json!(["authorization_code"]);
    let a = create_client(&app, &admin, c).await;
    assert_refused(&a, &["refresh_token_delivery"], "no refresh grant");
    let mut c = cookie_client("c");
    c["refresh_token_delivery"] = json!("carrier-pigeon");
    let a = create_client(&app, &admin, c).await;
    assert_eq!(a.status, 400, "{}", a.body);
    // An existing cookie client cannot lose its last origin.
    create_client(&app, &admin, cookie_client("spa"))
        .await
        .assert_ok();
    let a = patch(&app, &admin, "spa", json!({"allowed_origins": []})).await;
    assert_refused(&a, &["allowed_origins"], "update");
    let a = patch(
        &app,
        &admin,
        "spa",
        json!({"grant_types": ["authorization_code"]}),
    )
    .await;
    assert_refused(
        &a,
        &["refresh_token_delivery"],
        "update drops the refresh grant",
    );
    app.stop().await;
}

#[tokio::test]
async fn the_code_grant_needs_a_redirect_uri() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let a = create_client(&app, &admin, browser_client("a", &[])).await;
    assert_refused(&a, &["redirect_uris"], "no redirect URI");
    let mut c = browser_client("b", &[SPA_CALLBACK]);
    c.as_object_mut().unwrap().remove("redirect_uris");
    let a = create_client(&app, &admin, c).await;
    assert_refused(&a, &["redirect_uris"], "redirect_uris left out");
    // Plain http only to loopback.
    let a = create_client(
        &app,
        &admin,
        browser_client("c", &["http://app.example/callback"]),
    )
    .await;
    assert_refused(&a, &["redirect_uris"], "http to a public host");
    create_client(
        &app,
        &admin,
        browser_client("d", &["http://localhost:3000/cb", "https://app.example/cb"]),
    )
    .await
    .assert_ok();

    // Through an update: adding the grant, or removing the last URI.
    create_client(
        &app,
        &admin,
        json!({"client_id": "pw", "public": true, "grant_types": ["password"]}),
    )
    .await
    .assert_ok();
    let a = patch(
        &app,
        &admin,
        "pw",
        json!({"grant_types": ["password", "authorization_code"]}),
    )
    .await;
    assert_refused(&a, &["redirect_uris"], "update adds the grant");
    let a = patch(&app, &admin, "d", json!({"redirect_uris": []})).await;
    assert_refused(&a, &["redirect_uris"], "update removes the URIs");
    app.stop().await;
}
