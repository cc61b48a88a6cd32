#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! The `tessera` binary: CLI subcommands against the same database as a running server,
//! whose effect the server sees at once (a client row within a second); configuration
//! errors; graceful shutdown.

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_tessera");

struct Env {
    dir: tempfile::TempDir,
    db_url: String,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        // These tests exercise the binary; the database matrix is the end-to-end suite's
        // job, so they always use a private SQLite file.
        let db_url = format!("sqlite://{}?mode=rwc", dir.path().join("cli.db").display());
        Env { dir, db_url }
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .env_remove("TESSERA_TEST_DATABASE_URL")
            .env("TESSERA_DATABASE_URL", &self.db_url)
            .env("TESSERA_ARGON2__MEMORY_KIB", "256")
            .env("TESSERA_ARGON2__ITERATIONS", "1")
            .env("TESSERA_KEY_RELOAD_INTERVAL", "1")
            .env("RUST_LOG", "warn")
            .current_dir(self.dir.path());
        c
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut c = self.cmd(args);
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        {
            let mut input = child.stdin.take().unwrap();
            if let Some(s) = stdin {
                input.write_all(s.as_bytes()).unwrap();
            }
        }
        child.wait_with_output().unwrap()
    }

    #[track_caller]
    fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "tessera {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    #[track_caller]
    fn fails(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run(args, stdin);
        assert!(!out.status.success(), "tessera {args:?} should fail");
        String::from_utf8(out.stderr).unwrap()
    }
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(env: &Env) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = env
            .cmd(&["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("TESSERA_ADMIN_PASSWORD", "admin-password")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(200) = reqwest::blocking_get(&format!("{base}/healthz")) {
                break;
            }
            assert!(Instant::now() < deadline, "server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Server { child, base }
    }

    fn stop(mut self) -> std::process::ExitStatus {
        // SIGTERM, then wait for the graceful exit.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// A tiny blocking HTTP helper on top of reqwest's async client.
mod reqwest {
    pub use ::reqwest::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    pub fn blocking_get(url: &str) -> Result<u16> {
        rt().block_on(async { Ok(get(url).await?.status().as_u16()) })
    }

    pub fn get_json(url: &str) -> serde_json::Value {
        rt().block_on(async { get(url).await.unwrap().json().await.unwrap() })
    }

    pub fn post_form(url: &str, form: &[(&str, &str)]) -> (u16, serde_json::Value) {
        rt().block_on(async {
            let r = Client::new().post(url).form(form).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json().await.unwrap())
        })
    }

    /// Any method with a bearer token and an optional JSON body; the answer's status and
    /// body (JSON, or the text as a JSON string).
    pub fn send(
        method: Method,
        url: &str,
        bearer: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        rt().block_on(async {
            let mut r = Client::new().request(method, url).bearer_auth(bearer);
            if let Some(b) = body {
                r = r.json(&b);
            }
            let resp = r.send().await.unwrap();
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap();
            let body = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
            (status, body)
        })
    }
}

fn login(base: &str, client: &str, user: &str, password: &str) -> (u16, Value) {
    reqwest::post_form(
        &format!("{base}/oauth/token"),
        &[
            ("grant_type", "password"),
            ("client_id", client),
            ("username", user),
            ("password", password),
        ],
    )
}

fn refresh(base: &str, client: &str, token: &str) -> (u16, Value) {
    reqwest::post_form(
        &format!("{base}/oauth/token"),
        &[
            ("grant_type", "refresh_token"),
            ("client_id", client),
            ("refresh_token", token),
        ],
    )
}

fn kid_of(jwt: &str) -> String {
    use base64::Engine;
    let h = jwt.split('.').next().unwrap();
    let v: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(h)
            .unwrap(),
    )
    .unwrap();
    v["kid"].as_str().unwrap().to_owned()
}

#[test]
fn cli_changes_take_effect_in_a_running_server() {
    let env = Env::new();
    let out = env.ok(
        &["user", "add", "alice", "--password-stdin"],
        Some("alice-password\n"),
    );
    assert!(out.contains("created user alice"), "{out}");
    let err = env.fails(
        &["user", "add", "alice", "--password-stdin"],
        Some("x-password\n"),
    );
    assert!(err.contains("already exists"), "{err}");
    let err = env.fails(&["user", "add", "bob", "--password-stdin"], Some("short\n"));
    assert!(err.contains("at least 8"), "{err}");
    env.ok(
        &[
            "client",
            "add",
            "web",
            "--public",
            "--grant",
            "password,refresh_token",
            "--scope",
            "read write",
        ],
        None,
    );
    let out = env.ok(&["client", "add", "svc", "--scope", "jobs"], None);
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .expect("secret printed once")
        .to_owned();
    assert!(secret.starts_with("tsc_"));
    let err = env.fails(
        &["client", "add", "bad", "--grant", "password,implicit"],
        None,
    );
    assert!(err.contains("implicit"), "{err}");

    let server = Server::start(&env);
    let base = server.base.clone();
    let list = env.ok(&["user", "list"], None);
    assert!(list.contains("alice") && list.contains("admin"), "{list}");
    let list = env.ok(&["client", "list"], None);
    assert!(
        list.contains("tessera-admin") && list.contains("svc"),
        "{list}"
    );

    // Client credentials with the printed secret.
    let (status, body) = reqwest::post_form(
        &format!("{base}/oauth/token"),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "svc"),
            ("client_secret", &secret),
        ],
    );
    assert_eq!(status, 200, "{body}");

    // passwd: old sessions end, the new password works at once.
    let (status, first) = login(&base, "web", "alice", "alice-password");
    assert_eq!(status, 200, "{first}");
    let out = env.ok(
        &["user", "passwd", "alice", "--password-stdin"],
        Some("new-password\r\n"),
    );
    assert!(out.contains("1 session(s) ended"), "{out}");
    assert_eq!(
        refresh(&base, "web", first["refresh_token"].as_str().unwrap()).0,
        400
    );
    assert_eq!(login(&base, "web", "alice", "alice-password").0, 400);
    let (status, second) = login(&base, "web", "alice", "new-password");
    assert_eq!(status, 200);

    // disable / enable.
    env.ok(&["user", "disable", "alice"], None);
    assert_eq!(login(&base, "web", "alice", "new-password").0, 400);
    assert_eq!(
        refresh(&base, "web", second["refresh_token"].as_str().unwrap()).0,
        400
    );
    env.ok(&["user", "enable", "alice"], None);
    let (status, third) = login(&base, "web", "alice", "new-password");
    assert_eq!(status, 200);

    // keys rotate: published, then used for signing after the reload interval.
    let old_kid = kid_of(third["access_token"].as_str().unwrap());
    let out = env.ok(&["keys", "rotate", "--alg", "EdDSA"], None);
    let new_kid = out.trim().rsplit(' ').next().unwrap().to_owned();
    std::thread::sleep(Duration::from_millis(2500));
    let jwks = reqwest::get_json(&format!("{base}/.well-known/jwks.json"));
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(
        kids.contains(&old_kid.as_str()) && kids.contains(&new_kid.as_str()),
        "{jwks}"
    );
    let (_, fourth) = login(&base, "web", "alice", "new-password");
    assert_eq!(kid_of(fourth["access_token"].as_str().unwrap()), new_kid);
    let keys = env.ok(&["keys", "list"], None);
    // The same state names as the admin API: the old key no longer signs but verifies.
    assert!(
        keys.contains("EdDSA") && keys.contains("retiring"),
        "{keys}"
    );
    let err = env.fails(&["keys", "retire", &new_kid], None);
    assert!(err.contains("only signing key"), "{err}");

    // client remove: its sessions end at once; the client itself is unknown to the
    // running server within a second (its client cache, docs/architecture.md).
    env.ok(&["client", "remove", "web"], None);
    let last = fourth["refresh_token"].as_str().unwrap();
    let (status, body) = refresh(&base, "web", last);
    assert!(status == 400 || status == 401, "{status} {body}");
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let (status, body) = refresh(&base, "web", last);
        if status == 401 {
            assert_eq!(body["error"], "invalid_client", "{body}");
            break;
        }
        assert_eq!(body["error"], "invalid_grant", "{body}");
        assert!(
            Instant::now() < deadline,
            "removed client still known after 3 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let status = server.stop();
    assert!(status.success(), "graceful exit on SIGTERM: {status:?}");
    let migrations = env.ok(&["migrate", "status"], None);
    assert!(migrations.contains("applied"), "{migrations}");
}

#[test]
fn openapi_command_prints_the_committed_spec() {
    let env = Env::new();
    let out = env.ok(&["openapi"], None);
    let printed: Value = serde_json::from_str(&out).unwrap();
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/openapi.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(printed, committed);
}

#[test]
fn configuration_errors_name_the_key_and_file() {
    let env = Env::new();
    let path = env.dir.path().join("tessera.toml");
    std::fs::write(&path, "access_ttl = 60\nrefresh_ttl = 5\n").unwrap();
    let err = env.fails(&["serve", "--config", path.to_str().unwrap()], None);
    assert!(
        err.contains("refresh_ttl") && err.contains("tessera.toml"),
        "{err}"
    );
    let out = env
        .cmd(&["serve"])
        .env("TESSERA_ACCESS_TTL", "-5")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("access_ttl"));
}

// The CLI and the admin API are two doors to the same operations: each rule below is
// tried through both, on the same database, and must give the same answer.

/// The bootstrap administrator signed in to a running server through `tessera-admin`.
struct Admin {
    base: String,
    token: String,
    id: String,
}

impl Admin {
    fn sign_in(base: &str) -> Admin {
        let (status, body) = login(base, "tessera-admin", "admin", "admin-password");
        assert_eq!(status, 200, "{body}");
        let token = body["access_token"].as_str().unwrap().to_owned();
        let mut admin = Admin {
            base: base.to_owned(),
            token,
            id: String::new(),
        };
        admin.id = admin.user_id("admin");
        admin
    }

    fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        reqwest::send(method, &format!("{}{path}", self.base), &self.token, body)
    }

    #[track_caller]
    fn get(&self, path: &str) -> Value {
        let (status, body) = self.call(reqwest::Method::GET, path, None);
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    fn user_id(&self, name: &str) -> String {
        let page = self.get(&format!("/admin/v1/users?search={name}"));
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == name)
            .unwrap_or_else(|| panic!("no user {name}: {page}"))["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Audit events of `kind` matching `filter` (`user_id=..` or `client_id=..`),
    /// newest first.
    fn events(&self, kind: &str, filter: &str) -> Vec<Value> {
        self.get(&format!("/admin/v1/audit?kind={kind}&{filter}&limit=500"))["items"]
            .as_array()
            .unwrap()
            .clone()
    }
}

fn env_and_server() -> (Env, Server, Admin) {
    let env = Env::new();
    let server = Server::start(&env);
    let admin = Admin::sign_in(&server.base);
    (env, server, admin)
}

/// The whitespace-separated columns of the row of `tessera <what> list` whose column
/// `key` is `value`.
fn list_row(env: &Env, what: &str, key: usize, value: &str) -> Option<Vec<String>> {
    env.ok(&[what, "list"], None).lines().skip(1).find_map(|l| {
        let cols: Vec<String> = l.split_whitespace().map(str::to_owned).collect();
        (cols.get(key).map(String::as_str) == Some(value)).then_some(cols)
    })
}

/// The CLI's error names the same field and says the same as the API's 400 body.
#[track_caller]
fn assert_same_refusal(cli_err: &str, status: u16, body: &Value, field: &str) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_request", "{body}");
    assert_eq!(body["field"], field, "{body}");
    let said = body["error_description"].as_str().unwrap();
    assert!(
        cli_err.contains(&format!("{field}: {said}")),
        "CLI: {cli_err}\nAPI: {body}"
    );
}

#[test]
fn cli_and_api_both_keep_the_last_administrator() {
    let (env, server, admin) = env_and_server();
    let api = |body: Value| {
        admin.call(
            reqwest::Method::PATCH,
            &format!("/admin/v1/users/{}", admin.id),
            Some(body),
        )
    };

    let err = env.fails(&["user", "disable", "admin"], None);
    let (status, body) = api(serde_json::json!({"disabled": true}));
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "conflict");
    let said = body["error_description"].as_str().unwrap();
    assert!(said.contains("last enabled administrator"), "{body}");
    assert!(err.contains(said), "CLI: {err}\nAPI: {body}");
    // Demotion is refused by the same rule.
    let (status, body) = api(serde_json::json!({"is_admin": false}));
    assert_eq!(status, 409, "{body}");

    // Still an enabled administrator, seen through both doors, with its session intact.
    let u = admin.get(&format!("/admin/v1/users/{}", admin.id));
    assert_eq!(u["disabled"], false, "{u}");
    assert_eq!(u["is_admin"], true, "{u}");
    let row = list_row(&env, "user", 1, "admin").expect("admin listed");
    assert_eq!(row[2..4], ["true", "false"], "ADMIN, DISABLED: {row:?}");
    assert_eq!(
        login(&server.base, "tessera-admin", "admin", "admin-password").0,
        200
    );
    let audit = admin.events("user_updated", &format!("user_id={}", admin.id));
    assert!(audit.is_empty(), "nothing changed: {audit:?}");

    // With a second administrator the rule lets the first go, through either door.
    env.ok(
        &["user", "add", "second", "--admin", "--password-stdin"],
        Some("second-password\n"),
    );
    let out = env.ok(&["user", "disable", "second"], None);
    assert!(out.contains("disabled second"), "{out}");
    // `second` is disabled: `admin` is the last enabled one again.
    let (status, _) = api(serde_json::json!({"disabled": true}));
    assert_eq!(status, 409);
    env.ok(&["user", "enable", "second"], None);
    let (status, body) = api(serde_json::json!({"is_admin": false}));
    assert_eq!(status, 200, "{body}");
    drop(server);
}

#[test]
fn cli_and_api_both_keep_the_builtin_client() {
    let (env, server, admin) = env_and_server();
    let err = env.fails(&["client", "remove", "tessera-admin"], None);
    let (status, body) = admin.call(
        reqwest::Method::DELETE,
        "/admin/v1/clients/tessera-admin",
        None,
    );
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "conflict");
    let said = body["error_description"].as_str().unwrap();
    assert!(said.contains("tessera-admin"), "{body}");
    assert!(err.contains(said), "CLI: {err}\nAPI: {body}");
    // Disabling it is refused too (the API's door; the CLI has no such command).
    let (status, body) = admin.call(
        reqwest::Method::PATCH,
        "/admin/v1/clients/tessera-admin",
        Some(serde_json::json!({"disabled": true})),
    );
    assert_eq!(status, 409, "{body}");

    // Still there and enabled, its sessions alive.
    let c = admin.get("/admin/v1/clients/tessera-admin");
    assert_eq!(c["disabled"], false, "{c}");
    assert!(list_row(&env, "client", 0, "tessera-admin").is_some());
    let fams = admin.get("/admin/v1/families?client_id=tessera-admin&state=active");
    assert_eq!(fams["total"], 1, "{fams}");
    assert_eq!(
        login(&server.base, "tessera-admin", "admin", "admin-password").0,
        200
    );
    let audit = admin.events("client_removed", "client_id=tessera-admin");
    assert!(audit.is_empty(), "{audit:?}");
}

#[test]
fn cli_and_api_validate_clients_alike() {
    let (env, _server, admin) = env_and_server();
    let create = |body: Value| admin.call(reqwest::Method::POST, "/admin/v1/clients", Some(body));

    // A grant type nobody knows: refused by both parsers.
    let err = env.fails(&["client", "add", "bad-grant", "--grant", "implicit"], None);
    assert!(err.contains("implicit"), "{err}");
    let (status, body) = create(serde_json::json!({
        "client_id": "bad-grant", "grant_types": ["implicit"]}));
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_request", "{body}");

    // The code grant without a redirect URI: refused by the shared rule.
    let err = env.fails(
        &["client", "add", "bad-code", "--grant", "authorization_code"],
        None,
    );
    let (status, body) = create(serde_json::json!({
        "client_id": "bad-code", "grant_types": ["authorization_code"]}));
    assert_same_refusal(&err, status, &body, "redirect_uris");

    // An origin with a path, and cookie delivery without an origin.
    let err = env.fails(
        &[
            "client",
            "add",
            "bad-origin",
            "--public",
            "--origin",
            "https://app.example/x",
        ],
        None,
    );
    let (status, body) = create(serde_json::json!({
        "client_id": "bad-origin", "public": true, "grant_types": ["refresh_token"],
        "allowed_origins": ["https://app.example/x"]}));
    assert_same_refusal(&err, status, &body, "allowed_origins");
    let err = env.fails(
        &[
            "client",
            "add",
            "bad-cookie",
            "--public",
            "--grant",
            "refresh_token",
            "--refresh-cookie",
        ],
        None,
    );
    let (status, body) = create(serde_json::json!({
        "client_id": "bad-cookie", "public": true, "grant_types": ["refresh_token"],
        "refresh_token_delivery": "cookie"}));
    assert_same_refusal(&err, status, &body, "allowed_origins");

    // client_credentials for a public client.
    let err = env.fails(
        &[
            "client",
            "add",
            "bad-pub",
            "--public",
            "--grant",
            "client_credentials",
        ],
        None,
    );
    let (status, body) = create(serde_json::json!({
        "client_id": "bad-pub", "public": true, "grant_types": ["client_credentials"]}));
    assert_same_refusal(&err, status, &body, "grant_types");

    // A redirect URI with a fragment.
    let err = env.fails(
        &[
            "client",
            "add",
            "bad-uri",
            "--public",
            "--redirect-uri",
            "https://x.example/cb#frag",
        ],
        None,
    );
    let (status, body) = create(serde_json::json!({
        "client_id": "bad-uri", "public": true, "grant_types": ["password", "refresh_token"],
        "redirect_uris": ["https://x.example/cb#frag"]}));
    assert_same_refusal(&err, status, &body, "redirect_uris");

    // A ten-year access token.
    let err = env.fails(
        &["client", "add", "bad-ttl", "--access-ttl", "315360000"],
        None,
    );
    let (status, body) = create(serde_json::json!({
        "client_id": "bad-ttl", "grant_types": ["client_credentials"],
        "access_ttl": 315_360_000}));
    assert_same_refusal(&err, status, &body, "access_ttl");

    // A reuse leeway over a minute.
    let err = env.fails(
        &[
            "client",
            "add",
            "bad-leeway",
            "--public",
            "--reuse-leeway",
            "61",
        ],
        None,
    );
    let (status, body) = create(serde_json::json!({
        "client_id": "bad-leeway", "public": true, "grant_types": ["password", "refresh_token"],
        "reuse_leeway": 61}));
    assert_same_refusal(&err, status, &body, "reuse_leeway");

    // Nothing was created, through either door.
    let ids = [
        "bad-grant",
        "bad-code",
        "bad-pub",
        "bad-uri",
        "bad-ttl",
        "bad-leeway",
    ];
    for id in ids {
        let (status, body) = admin.call(
            reqwest::Method::GET,
            &format!("/admin/v1/clients/{id}"),
            None,
        );
        assert_eq!(status, 404, "{id}: {body}");
        assert!(list_row(&env, "client", 0, id).is_none(), "{id}");
    }
    assert_eq!(admin.get("/admin/v1/clients")["total"], 1);
    let created = admin.get("/admin/v1/audit?kind=client_created")["total"].clone();
    assert_eq!(created, 0);

    // The bounds themselves pass both doors.
    env.ok(
        &[
            "client",
            "add",
            "edge-cli",
            "--access-ttl",
            "86400",
            "--reuse-leeway",
            "60",
        ],
        None,
    );
    let (status, body) = create(serde_json::json!({
        "client_id": "edge-api", "grant_types": ["client_credentials"],
        "access_ttl": 86_400, "reuse_leeway": 60}));
    assert_eq!(status, 200, "{body}");
    for id in ["edge-cli", "edge-api"] {
        let c = admin.get(&format!("/admin/v1/clients/{id}"));
        assert_eq!(c["access_ttl"], 86_400, "{c}");
        assert_eq!(c["reuse_leeway"], 60, "{c}");
    }
}

/// The event the CLI wrote and its counterpart from the API have the same kind, reason
/// and detail: the same keys, each value of the same JSON type, and equal values except
/// for the `differing` keys. Only the actor tells them apart.
#[track_caller]
fn assert_same_shape(cli: &Value, api: &Value, admin_id: &str, differing: &[&str]) {
    assert_eq!(cli["kind"], api["kind"], "\nCLI: {cli}\nAPI: {api}");
    assert_eq!(cli["reason"], api["reason"], "\nCLI: {cli}\nAPI: {api}");
    assert_eq!(cli["actor"], "cli", "{cli}");
    assert_eq!(api["actor"], admin_id, "{api}");
    assert_eq!(api["actor_name"], "admin", "{api}");
    let (c, a) = (&cli["detail"], &api["detail"]);
    if c.is_null() && a.is_null() {
        return;
    }
    let (c, a) = (
        c.as_object()
            .unwrap_or_else(|| panic!("CLI detail not an object: {cli}")),
        a.as_object()
            .unwrap_or_else(|| panic!("API detail not an object: {api}")),
    );
    let keys = |m: &serde_json::Map<String, Value>| {
        let mut k: Vec<String> = m.keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(c), keys(a), "\nCLI: {cli}\nAPI: {api}");
    let kind = |v: &Value| match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    for (k, v) in c {
        assert_eq!(kind(v), kind(&a[k]), "{k}\nCLI: {cli}\nAPI: {api}");
        if !differing.contains(&k.as_str()) {
            assert_eq!(v, &a[k], "{k}\nCLI: {cli}\nAPI: {api}");
        }
    }
}

/// Pairs the events of `kind` for the CLI's subject and the API's, newest first, and
/// checks each pair; returns how many pairs there were.
#[track_caller]
fn assert_same_events(
    admin: &Admin,
    kind: &str,
    cli_filter: &str,
    api_filter: &str,
    differing: &[&str],
) -> usize {
    let cli = admin.events(kind, cli_filter);
    let api = admin.events(kind, api_filter);
    assert_eq!(cli.len(), api.len(), "{kind}\nCLI: {cli:#?}\nAPI: {api:#?}");
    assert!(!cli.is_empty(), "no {kind} events for {cli_filter}");
    for (c, a) in cli.iter().zip(&api) {
        assert_same_shape(c, a, &admin.id, differing);
    }
    cli.len()
}

#[test]
fn cli_and_api_write_the_same_audit_events() {
    let (env, server, admin) = env_and_server();
    let base = server.base.clone();
    use reqwest::Method;
    env.ok(
        &[
            "client",
            "add",
            "web",
            "--public",
            "--grant",
            "password,refresh_token",
        ],
        None,
    );

    // Create a user each way.
    env.ok(
        &["user", "add", "cli-user", "--password-stdin"],
        Some("cli-password-1\n"),
    );
    let (status, body) = admin.call(
        Method::POST,
        "/admin/v1/users",
        Some(serde_json::json!({"username": "api-user", "password": "api-password-1"})),
    );
    assert_eq!(status, 200, "{body}");
    let cli_user = admin.user_id("cli-user");
    let api_user = body["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(login(&base, "web", "cli-user", "cli-password-1").0, 200);
    assert_eq!(login(&base, "web", "api-user", "api-password-1").0, 200);

    // Change a password each way: one session ended each.
    let out = env.ok(
        &["user", "passwd", "cli-user", "--password-stdin"],
        Some("cli-password-2\n"),
    );
    assert!(out.contains("1 session(s) ended"), "{out}");
    let (status, body) = admin.call(
        Method::PUT,
        &format!("/admin/v1/users/{api_user}/password"),
        Some(serde_json::json!({"password": "api-password-2"})),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sessions_ended"], 1, "{body}");
    assert_eq!(login(&base, "web", "cli-user", "cli-password-2").0, 200);
    assert_eq!(login(&base, "web", "api-user", "api-password-2").0, 200);

    // Disable a user each way: one session ended each.
    let out = env.ok(&["user", "disable", "cli-user"], None);
    assert!(out.contains("1 session(s) ended"), "{out}");
    let (status, body) = admin.call(
        Method::PATCH,
        &format!("/admin/v1/users/{api_user}"),
        Some(serde_json::json!({"disabled": true})),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["live_sessions"], 0, "{body}");

    // Create a public and a confidential client each way.
    env.ok(
        &[
            "client",
            "add",
            "cli-app",
            "--public",
            "--grant",
            "password,refresh_token",
        ],
        None,
    );
    env.ok(&["client", "add", "cli-svc", "--scope", "jobs"], None);
    for body in [
        serde_json::json!({"client_id": "api-app", "public": true,
                           "grant_types": ["password", "refresh_token"]}),
        serde_json::json!({"client_id": "api-svc", "grant_types": ["client_credentials"],
                           "scopes": ["jobs"]}),
    ] {
        let (status, answer) = admin.call(Method::POST, "/admin/v1/clients", Some(body));
        assert_eq!(status, 200, "{answer}");
    }
    // One session on each app, then remove each app each way.
    env.ok(
        &["user", "add", "shared", "--password-stdin"],
        Some("shared-password\n"),
    );
    assert_eq!(login(&base, "cli-app", "shared", "shared-password").0, 200);
    assert_eq!(login(&base, "api-app", "shared", "shared-password").0, 200);
    let out = env.ok(&["client", "remove", "cli-app"], None);
    assert!(out.contains("1 session(s) ended"), "{out}");
    let (status, body) = admin.call(Method::DELETE, "/admin/v1/clients/api-app", None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sessions_ended"], 1, "{body}");

    let (cu, au) = (format!("user_id={cli_user}"), format!("user_id={api_user}"));
    assert_same_events(&admin, "user_created", &cu, &au, &["username"]);
    // Newest first: the disable, then the password change.
    assert_eq!(assert_same_events(&admin, "user_updated", &cu, &au, &[]), 2);
    let updated = admin.events("user_updated", &cu);
    assert_eq!(
        updated[0]["detail"],
        serde_json::json!({"disabled": true, "sessions_ended": 1})
    );
    assert_eq!(
        updated[1]["detail"],
        serde_json::json!({"password": "changed", "sessions_ended": 1})
    );
    // The families those two ended (reasons password_changed, user_disabled).
    assert_eq!(
        assert_same_events(&admin, "family_revoked", &cu, &au, &[]),
        2
    );

    let (cc, ac) = ("client_id=cli-app", "client_id=api-app");
    assert_same_events(&admin, "client_created", cc, ac, &[]);
    assert_eq!(
        admin.events("client_created", cc)[0]["detail"],
        serde_json::json!({"public": true, "grant_types": "password refresh_token"})
    );
    assert_same_events(
        &admin,
        "client_created",
        "client_id=cli-svc",
        "client_id=api-svc",
        &[],
    );
    assert_eq!(
        admin.events("client_created", "client_id=api-svc")[0]["detail"],
        serde_json::json!({"public": false, "grant_types": "client_credentials"})
    );
    assert_same_events(&admin, "client_removed", cc, ac, &[]);
    assert_eq!(
        admin.events("client_removed", cc)[0]["detail"],
        serde_json::json!({"sessions_ended": 1})
    );
    assert_same_events(&admin, "family_revoked", cc, ac, &[]);
    assert_eq!(
        admin.events("family_revoked", cc)[0]["reason"],
        "client_removed"
    );
}
