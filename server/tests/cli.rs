#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! The `tessera` binary: CLI subcommands against the same database as a running server,
//! whose effect the server sees at once; configuration errors; graceful shutdown.

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

    // client remove: its sessions end.
    env.ok(&["client", "remove", "web"], None);
    assert_eq!(
        refresh(&base, "web", fourth["refresh_token"].as_str().unwrap()).0,
        401
    );

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
