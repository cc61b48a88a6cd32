#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Secrets never leak. One run goes through every way Tessera hands out or takes in a
//! secret: the password grant, rotation and a replay, client credentials, the browser
//! sign-in with PKCE and its code, generated passwords and client secrets from the admin
//! API, a secret rotated, wrong secrets, a password typed into the user-name field,
//! secrets in query strings. Then it searches every log line the server wrote (at
//! `debug`, more than it ships with), every text column of every audit row, every
//! `/admin/v1/audit` page, every error body and `/metrics` for each secret's value.

use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::json;
use tessera_tests::browser_flow::{
    Browser, Flow, SPA_CALLBACK, add_browser_client, browser_client,
};
use tessera_tests::{ADMIN_PASSWORD, Answer, Auth, TestApp, spawn_app};

/// Every log line, as the fmt subscriber wrote it.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

/// What the run saw: the secrets it was given or made, and every place to search.
#[derive(Default)]
struct Sweep {
    secrets: Vec<(&'static str, String)>,
    error_bodies: Vec<String>,
}

impl Sweep {
    fn secret(&mut self, what: &'static str, value: &str) -> String {
        assert!(value.len() >= 8, "{what} too short to search for: {value}");
        self.secrets.push((what, value.to_owned()));
        value.to_owned()
    }

    /// Keeps the body of an answer that is an error.
    fn answer(&mut self, a: Answer) -> Answer {
        if !a.status.is_success() {
            self.error_bodies.push(a.body.to_string());
        }
        a
    }
}

#[tokio::test]
async fn no_secret_reaches_logs_audit_rows_error_bodies_or_metrics() {
    // The process's one subscriber, so no event of this server can be missed (a scoped
    // one misses events whose interest another thread settled first). A test binary of
    // its own, so that no other test runs under this debug-level subscriber.
    let logs = Logs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("debug,hyper=info,h2=info,reqwest=info")
        .with_ansi(false)
        .with_writer(logs.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber)
        .expect("the log sweep needs the global subscriber: run it without TEST_LOG=1");

    let app = spawn_app().await;
    let mut s = Sweep::default();
    s.secret("the administrator's password", ADMIN_PASSWORD);
    let admin = app.admin_token().await;
    s.secret("an administrator's access token", &admin);

    // The admin API makes a user with a generated password and a client with a secret,
    // rotates the secret, and sets a chosen password.
    let a = s.answer(
        app.send_bearer(
            Method::POST,
            "/admin/v1/users",
            &admin,
            Some(json!({"username": "bob"})),
        )
        .await,
    );
    a.assert_ok();
    let bob_id = a.body["user"]["id"].as_str().unwrap().to_owned();
    s.secret(
        "a generated password",
        a.body["generated_password"].as_str().unwrap(),
    );
    let chosen = s.secret("a chosen password", "bob-chosen-password-4411");
    s.answer(
        app.send_bearer(
            Method::PUT,
            &format!("/admin/v1/users/{bob_id}/password"),
            &admin,
            Some(json!({"password": chosen})),
        )
        .await,
    )
    .assert_ok();
    let a = s.answer(
        app.send_bearer(
            Method::POST,
            "/admin/v1/clients",
            &admin,
            Some(json!({
                "client_id": "svc",
                "public": false,
                "grant_types": ["password", "refresh_token", "client_credentials"],
                "scopes": ["read"],
            })),
        )
        .await,
    );
    a.assert_ok();
    let first_secret = s.secret("a client secret", a.body["client_secret"].as_str().unwrap());
    let a = s.answer(
        app.send_bearer(Method::POST, "/admin/v1/clients/svc/secret", &admin, None)
            .await,
    );
    a.assert_ok();
    let secret = s.secret(
        "a rotated client secret",
        a.body["client_secret"].as_str().unwrap(),
    );
    let client = Auth::Basic("svc", &secret);

    // The password grant, a rotation, and a replay of the spent token.
    let t = s.answer(app.login(client, "bob", &chosen).await);
    t.assert_ok();
    let access = s.secret("an access token", t.str("access_token"));
    let first = s.secret("a refresh token", t.str("refresh_token"));
    let r = s.answer(app.refresh(client, &first).await);
    r.assert_ok();
    s.secret("a rotated access token", r.str("access_token"));
    let second = s.secret("a rotated refresh token", r.str("refresh_token"));
    s.answer(app.refresh(client, &first).await)
        .assert_error(400, "invalid_grant");
    s.answer(app.refresh(client, &second).await)
        .assert_error(400, "invalid_grant");

    // Wrong secrets of every kind, each refused.
    s.answer(
        app.login(Auth::Basic("svc", &first_secret), "bob", &chosen)
            .await,
    )
    .assert_error(401, "invalid_client");
    let typed_as_name = s.secret("a password typed as the user name", "Tr0ub4dor&3-as-a-name");
    let wrong = s.secret("a wrong password", "not-bobs-password-9");
    s.answer(app.login(client, &typed_as_name, &wrong).await)
        .assert_error(400, "invalid_grant");
    s.answer(app.login(client, "bob", &wrong).await)
        .assert_error(400, "invalid_grant");
    let forged = s.secret("a forged refresh token", &format!("tsr_{}", "A".repeat(43)));
    s.answer(app.refresh(client, &forged).await)
        .assert_error(400, "invalid_grant");

    // Secrets where they do not belong: the query string.
    for query in [
        format!("password={chosen}&access_token={access}"),
        format!("client_secret={secret}&refresh_token={second}"),
    ] {
        let resp = app
            .http
            .post(app.url(&format!("/oauth/token?{query}")))
            .form(&[("grant_type", "password")])
            .send()
            .await
            .unwrap();
        s.answer(TestApp::answer(resp).await);
    }

    // Client credentials, introspection and revocation.
    let c = s.answer(
        app.token(client, &[("grant_type", "client_credentials")])
            .await,
    );
    c.assert_ok();
    let machine = s.secret("a client-credentials token", c.str("access_token"));
    s.answer(
        app.oauth_post("/oauth/introspect", client, &[("token", &machine)])
            .await,
    )
    .assert_ok();
    s.answer(
        app.oauth_post("/oauth/introspect", client, &[("token", &forged)])
            .await,
    );
    s.answer(
        app.oauth_post("/oauth/revoke", client, &[("token", &machine)])
            .await,
    );

    // The browser sign-in: its code, PKCE verifier, CSRF token and session cookie.
    add_browser_client(&app, &admin, browser_client("spa", &[SPA_CALLBACK])).await;
    let flow = Flow::new("spa", SPA_CALLBACK, "read");
    s.secret("a PKCE verifier", &flow.verifier.clone());
    let mut b = Browser::new(&app);
    let page = b.get(&flow.path()).await;
    s.secret("a CSRF token", &page.csrf_token());
    let wrong_page = b.sign_in(&page, "bob", &wrong).await;
    let done = b.sign_in(&wrong_page, "bob", &chosen).await;
    let code = s.secret("an authorization code", &flow.code_from(&done, &app.base));
    for cookie in done.cookies.iter().filter(|c| c.value.len() >= 16) {
        s.secrets.push(("a browser cookie", cookie.value.clone()));
    }
    let form = flow.exchange_form(&code);
    let form: Vec<(&str, &str)> = form
        .iter()
        .filter(|(k, _)| k != "client_id")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let t = s.answer(app.token(Auth::Public("spa"), &form).await);
    t.assert_ok();
    s.secret("a code-grant access token", t.str("access_token"));
    s.secret("a code-grant refresh token", t.str("refresh_token"));
    // The code again: refused, and the family revoked.
    s.answer(app.token(Auth::Public("spa"), &form).await)
        .assert_error(400, "invalid_grant");

    // Where to look.
    let mut places: Vec<(String, String)> = Vec::new();
    let columns = "kind, actor, user_id, client_id, family_id, ip, reason, detail";
    for row in app
        .query(&format!("SELECT {columns} FROM audit_events"))
        .await
    {
        for col in columns.split(", ") {
            let v: Option<String> = row.try_get("", col).unwrap();
            places.push((format!("audit column {col}"), v.unwrap_or_default()));
        }
    }
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/admin/v1/audit?limit=200&cursor={c}"),
            None => "/admin/v1/audit?limit=200".to_owned(),
        };
        let page = app.get_bearer(&path, &admin).await;
        page.assert_ok();
        places.push((path, page.body.to_string()));
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let metrics = app.http.get(app.url("/metrics")).send().await.unwrap();
    places.push(("/metrics".into(), metrics.text().await.unwrap()));
    for body in std::mem::take(&mut s.error_bodies) {
        places.push(("an error body".into(), body));
    }
    app.stop().await;
    let logged = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        logged.matches("tessera_server::request").count() >= 20,
        "the server's log lines were not captured: {logged}"
    );
    places.push(("the log".into(), logged));

    let audit_rows = places
        .iter()
        .filter(|(p, _)| p.starts_with("audit"))
        .count();
    assert!(audit_rows > 100, "only {audit_rows} audit values searched");
    for (what, secret) in &s.secrets {
        for (place, text) in &places {
            assert!(
                !text.contains(secret.as_str()),
                "{what} is in {place}: …{}…",
                context(text, secret)
            );
        }
    }
}

/// The text around the first place `needle` occurs.
fn context<'a>(text: &'a str, needle: &str) -> &'a str {
    let at = text.find(needle).unwrap_or(0);
    let start = text.floor_char_boundary(at.saturating_sub(120));
    let end = text.ceil_char_boundary((at + needle.len() + 40).min(text.len()));
    &text[start..end]
}
