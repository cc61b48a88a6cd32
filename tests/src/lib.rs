//! Test harness: [`spawn_app`] starts the real Tessera server in-process on a random port,
//! against a fresh database (a temp SQLite file, or a fresh PostgreSQL database when
//! `TESSERA_TEST_DATABASE_URL` is set), and returns a [`TestApp`] with an HTTP client.
//! Setup (users, clients) writes straight to the store, without audit events;
//! assertions go through HTTP. Logs are silent unless `TEST_LOG=1`.

// A test harness: a setup step that fails must stop the test at once, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database};
use serde_json::Value;
use tessera_server::app::{RunningServer, SpawnOptions, spawn};
use tessera_server::clock::Clock;
use tessera_server::config::Settings;
use tessera_server::crypto::password::{Argon2Cost, PasswordHasher};
use tessera_server::domain::{ClientId, ClientSecret, GrantType, Scope, Username};
use tessera_server::state::AppState;
use tessera_server::store::clients::{self, NewClient};
use tessera_server::store::users;

pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

/// Cheap argon2 for tests; one test uses the production cost.
pub fn cheap_argon2() -> Argon2Cost {
    Argon2Cost {
        memory_kib: 256,
        iterations: 1,
        parallelism: 1,
    }
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub clock: Clock,
    pub database_url: String,
    server: Option<RunningServer>,
    /// (admin URL, database name) of a PostgreSQL test database, dropped by `stop`.
    pg: Option<(String, String)>,
    /// The settings the server was started with.
    pub settings: Settings,
    _dir: Option<tempfile::TempDir>,
}

/// Settings for a test server: port 0, a fresh database, cheap hashing.
pub async fn test_settings() -> (Settings, Option<tempfile::TempDir>) {
    let mut s = Settings {
        listen: "127.0.0.1:0".into(),
        argon2: cheap_argon2(),
        ..Settings::default()
    };
    let dir = match std::env::var("TESSERA_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            s.database_url = fresh_postgres_database(&url).await;
            None
        }
        _ => {
            let dir = tempfile::tempdir().expect("temp dir");
            s.database_url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
            Some(dir)
        }
    };
    (s, dir)
}

/// Creates `tessera_test_<random>` on the server of `admin_url` and returns its URL.
async fn fresh_postgres_database(admin_url: &str) -> String {
    let name = format!("tessera_test_{}", uuid::Uuid::new_v4().simple());
    let conn = Database::connect(admin_url)
        .await
        .expect("connect to PostgreSQL");
    conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    let _ = conn.close().await;
    let (base, query) = match admin_url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (admin_url, String::new()),
    };
    let prefix = match base.rfind('/') {
        Some(i) if i > base.find("://").map_or(0, |j| j + 2) => &base[..i],
        _ => base,
    };
    format!("{prefix}/{name}{query}")
}

fn pg_database(url: &str) -> Option<(String, String)> {
    let admin = std::env::var("TESSERA_TEST_DATABASE_URL").ok()?;
    let name = url.rsplit('/').next()?.split('?').next()?.to_owned();
    name.starts_with("tessera_test_").then_some((admin, name))
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let (mut settings, dir) = test_settings().await;
    configure(&mut settings);
    let mut app = start(settings, Clock::default())
        .await
        .expect("server starts");
    app._dir = dir;
    app
}

async fn start(settings: Settings, clock: Clock) -> anyhow::Result<TestApp> {
    if std::env::var("TEST_LOG").is_ok_and(|v| v == "1") {
        tessera_server::telemetry::init(tessera_server::config::LogFormat::Text);
    }
    let database_url = settings.database_url.clone();
    let kept = settings.clone();
    let server = spawn(
        settings,
        SpawnOptions {
            clock: clock.clone(),
            shutdown_signal: None,
            admin_password: Some(ADMIN_PASSWORD.into()),
        },
    )
    .await?;
    let base = format!("http://{}", server.addr);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("http client");
    Ok(TestApp {
        base,
        http,
        clock,
        pg: pg_database(&database_url),
        database_url,
        settings: kept,
        server: Some(server),
        _dir: None,
    })
}

/// A token endpoint answer: status, headers and JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn str(&self, field: &str) -> &str {
        self.body[field]
            .as_str()
            .unwrap_or_else(|| panic!("no `{field}` in {}", self.body))
    }

    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("<none>")
    }

    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        assert_eq!(self.status, StatusCode::OK, "body: {}", self.body);
        self
    }

    #[track_caller]
    pub fn assert_error(&self, status: u16, error: &str) -> &Self {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(self.error(), error, "body: {}", self.body);
        self
    }
}

/// How a request authenticates its client.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    /// `client_id` only (public client).
    Public(&'a str),
    /// HTTP Basic.
    Basic(&'a str, &'a str),
    /// `client_id` + `client_secret` in the form.
    Post(&'a str, &'a str),
}

impl TestApp {
    pub fn state(&self) -> &AppState {
        &self.server.as_ref().expect("running").state
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops the server but keeps its database, to start another on it with
    /// [`TestApp::restart`].
    pub async fn restart(
        mut self,
        configure: impl FnOnce(&mut Settings),
    ) -> Result<TestApp, (anyhow::Error, TestApp)> {
        if let Some(s) = self.server.take() {
            let db = s.state.db.clone();
            s.shutdown().await.expect("clean shutdown");
            db.close().await;
        }
        let mut settings = self.settings.clone();
        configure(&mut settings);
        match start(settings, self.clock.clone()).await {
            Ok(mut app) => {
                app.pg = self.pg.take();
                app._dir = self._dir.take();
                Ok(app)
            }
            Err(e) => Err((e, self)),
        }
    }

    /// A second server on the same database, with the same settings and clock: another
    /// instance behind a load balancer. Stopping it leaves the database alone.
    pub async fn another_instance(&self) -> TestApp {
        let mut app = start(self.settings.clone(), self.clock.clone())
            .await
            .expect("a second instance starts");
        app.pg = None;
        app
    }

    /// GET with a bearer token.
    /// GET a JSON document without credentials (the JWKS, the spec, the metadata).
    pub async fn get_json(&self, path: &str) -> Value {
        self.http
            .get(self.url(path))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("a JSON body")
    }

    pub async fn get_bearer(&self, path: &str, token: &str) -> Answer {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        Self::answer(r).await
    }

    /// An admin access token: the bootstrap `admin` through the `tessera-admin` client.
    pub async fn admin_token(&self) -> String {
        let a = self
            .login(Auth::Public("tessera-admin"), "admin", ADMIN_PASSWORD)
            .await;
        a.assert_ok();
        a.str("access_token").to_owned()
    }

    /// The id of the bootstrap administrator `admin`.
    pub async fn admin_id(&self) -> String {
        let rows = self
            .query("SELECT id FROM users WHERE username = 'admin'")
            .await;
        rows[0].try_get("", "id").expect("admin id")
    }

    /// Sends JSON (or nothing) with a bearer token.
    pub async fn send_bearer(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Answer {
        let mut r = self.http.request(method, self.url(path)).bearer_auth(token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        Self::answer(r.send().await.expect("request")).await
    }

    /// DELETE with a bearer token.
    pub async fn delete_bearer(&self, path: &str, token: &str) -> Answer {
        let r = self
            .http
            .delete(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        Self::answer(r).await
    }

    /// POSTs a form to another OAuth endpoint (`/oauth/revoke`, `/oauth/introspect`).
    pub async fn oauth_post(&self, path: &str, auth: Auth<'_>, params: &[(&str, &str)]) -> Answer {
        let mut form: Vec<(&str, &str)> = params.to_vec();
        let mut req = self.http.post(self.url(path));
        match auth {
            Auth::Public(id) => form.push(("client_id", id)),
            Auth::Basic(id, secret) => req = req.basic_auth(id, Some(secret)),
            Auth::Post(id, secret) => {
                form.push(("client_id", id));
                form.push(("client_secret", secret));
            }
        }
        Self::answer(req.form(&form).send().await.expect("request")).await
    }

    /// Shuts the server down cleanly and drops its PostgreSQL database, if any.
    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            let db = s.state.db.clone();
            s.shutdown().await.expect("clean shutdown");
            db.close().await;
        }
        if let Some((admin, name)) = self.pg.take()
            && let Ok(conn) = Database::connect(&admin).await
        {
            let _ = conn
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
            let _ = conn.close().await;
        }
    }

    /// POSTs a form to the token endpoint.
    pub async fn token(&self, auth: Auth<'_>, params: &[(&str, &str)]) -> Answer {
        let mut form: Vec<(&str, &str)> = params.to_vec();
        let mut req = self.http.post(self.url("/oauth/token"));
        match auth {
            Auth::Public(id) => form.push(("client_id", id)),
            Auth::Basic(id, secret) => req = req.basic_auth(id, Some(secret)),
            Auth::Post(id, secret) => {
                form.push(("client_id", id));
                form.push(("client_secret", secret));
            }
        }
        let resp = req.form(&form).send().await.expect("request");
        Self::answer(resp).await
    }

    pub async fn answer(resp: reqwest::Response) -> Answer {
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn login(&self, client: Auth<'_>, user: &str, password: &str) -> Answer {
        self.token(
            client,
            &[
                ("grant_type", "password"),
                ("username", user),
                ("password", password),
            ],
        )
        .await
    }

    pub async fn refresh(&self, client: Auth<'_>, refresh_token: &str) -> Answer {
        self.token(
            client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    /// Creates a user directly in the store (as `tessera user add` does).
    pub async fn add_user(&self, name: &str, password: &str, admin: bool) -> String {
        let hasher = PasswordHasher::new(self.state().settings.argon2, 1, 0).expect("hasher");
        let hash = hasher.hash(password).await.expect("hash");
        let user = users::insert(
            &self.state().db.write,
            &Username::parse(name).expect("username"),
            hash,
            admin,
            self.clock.now_ms(),
        )
        .await
        .expect("insert user");
        user.id
    }

    /// Registers a client (as `tessera client add` does); returns its secret if
    /// confidential.
    pub async fn add_client(&self, spec: ClientSpec<'_>) -> Option<String> {
        let secret = (!spec.public).then(ClientSecret::generate);
        clients::insert(
            &self.state().db.write,
            NewClient {
                client_id: ClientId::parse(spec.id).expect("client id"),
                secret_hash: secret.as_ref().map(|s| s.hash()),
                grant_types: GrantType::parse_list(spec.grants).expect("grants"),
                scopes: Scope::parse(spec.scope).expect("scope"),
                redirect_uris: vec![],
                allowed_origins: vec![],
                refresh_token_delivery: Default::default(),
                require_consent: false,
                access_ttl: spec.access_ttl,
                refresh_idle_ttl: spec.refresh_idle_ttl,
                refresh_absolute_ttl: spec.refresh_absolute_ttl,
                reuse_leeway: spec.reuse_leeway,
            },
            self.clock.now_ms(),
        )
        .await
        .expect("insert client");
        secret.map(|s| s.expose().to_owned())
    }

    /// Rows of `SELECT ...` on the server's database, for checking the audit trail.
    pub async fn query(&self, sql: &str) -> Vec<sea_orm::QueryResult> {
        let db = &self.state().db.read;
        db.query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            sql,
        ))
        .await
        .expect("query")
    }
}

/// A client registration for tests.
#[derive(Clone, Copy)]
pub struct ClientSpec<'a> {
    pub id: &'a str,
    pub public: bool,
    pub grants: &'a str,
    pub scope: &'a str,
    pub access_ttl: Option<i64>,
    pub refresh_idle_ttl: Option<i64>,
    pub refresh_absolute_ttl: Option<i64>,
    pub reuse_leeway: Option<i64>,
}

impl<'a> ClientSpec<'a> {
    pub fn public(id: &'a str) -> Self {
        ClientSpec {
            id,
            public: true,
            grants: "password refresh_token",
            scope: "read write",
            access_ttl: None,
            refresh_idle_ttl: None,
            refresh_absolute_ttl: None,
            reuse_leeway: None,
        }
    }

    pub fn confidential(id: &'a str) -> Self {
        ClientSpec {
            public: false,
            grants: "password refresh_token client_credentials",
            ..Self::public(id)
        }
    }
}

pub mod browser_flow;
