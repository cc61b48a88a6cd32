//! What the browser tests stand on: finding Chromium and ChromeDriver (or skipping), a
//! ChromeDriver process that dies with its guard, a static server for `demo/`, and small
//! WebDriver helpers that wait with bounded timeouts and say what they were waiting for.

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{Request, Response, Server, http::StatusCode};
use serde_json::{Value, json};

/// How long any one wait in a browser test may take.
pub const WAIT: Duration = Duration::from_secs(30);

/// The Chromium binary and its WebDriver.
pub struct Tools {
    pub chromedriver: PathBuf,
    pub chromium: PathBuf,
}

/// The first of `names` on `PATH` (or the file named by the environment variable `var`).
fn find_program(var: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(var).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// Chromium and ChromeDriver, or `None` with a message when they are missing. In CI (`CI` set)
/// a missing browser is a failure, not a skip.
pub fn tools() -> Option<Tools> {
    let chromedriver = find_program("TESSERA_CHROMEDRIVER", &["chromedriver"]);
    let chromium = find_program(
        "TESSERA_CHROMIUM",
        &["chromium", "chromium-browser", "google-chrome"],
    );
    match (chromedriver, chromium) {
        (Some(chromedriver), Some(chromium)) => Some(Tools {
            chromedriver,
            chromium,
        }),
        _ => {
            let msg = "chromedriver or chromium not found; install with scripts/browser-deps.sh";
            if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
                panic!("{msg} (CI is set: the browser test must run)");
            }
            eprintln!("skipping the browser test: {msg}");
            None
        }
    }
}

/// A free TCP port on 127.0.0.1 (free a moment ago; good enough for a local test).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running ChromeDriver in its own process group; dropping the guard kills the group
/// (ChromeDriver and any Chromium it started), also when a test panics.
pub struct Driver {
    child: Child,
    pub url: String,
    profile: tempfile::TempDir,
    chromium: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    /// Starts ChromeDriver on a free port and waits until it is ready.
    pub async fn start(tools: &Tools) -> Driver {
        let port = free_port();
        let verbose = std::env::var("TEST_LOG").is_ok_and(|v| v == "1");
        let out = || {
            if verbose {
                Stdio::inherit()
            } else {
                Stdio::null()
            }
        };
        let child = Command::new(&tools.chromedriver)
            .arg(format!("--port={port}"))
            .stdout(out())
            .stderr(out())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", tools.chromedriver.display()));
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            profile: tempfile::tempdir().unwrap(),
            chromium: tools.chromium.clone(),
        };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + WAIT;
        loop {
            let ready = http
                .get(format!("{}/status", driver.url))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if let Ok(r) = ready
                && let Ok(v) = r.json::<Value>().await
                && v["value"]["ready"] == true
            {
                return driver;
            }
            assert!(Instant::now() < deadline, "chromedriver did not get ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A new headless Chromium session with a 1280x900 viewport.
    pub async fn browser(&self) -> Client {
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-background-timer-throttling",
            "--disable-backgrounding-occluded-windows",
            "--disable-renderer-backgrounding",
            "--disable-component-update",
            "--disable-default-apps",
            "--disable-extensions",
            "--disable-sync",
            "--no-first-run",
            "--no-default-browser-check",
            "--password-store=basic",
            "--window-size=1280,900",
            "--hide-scrollbars",
        ];
        let mut args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        args.push(format!("--user-data-dir={}", self.profile.path().display()));
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": self.chromium, "args": args},
            "timeouts": {"script": 30_000, "pageLoad": 30_000},
        });
        let caps = caps.as_object().unwrap().clone();
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let c = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("cannot start a Chromium session: {e}"));
        // A viewport of 1280x900 (the window size includes the browser's own frame).
        let frame = js(&c, "return window.outerHeight - window.innerHeight", vec![]).await;
        let frame = u32::try_from(frame.as_u64().unwrap_or(0)).unwrap_or(0);
        c.set_window_size(1280, 900 + frame).await.unwrap();
        c
    }
}

/// The content type of a file served from `demo/`.
fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

/// Serves the files of `dir` (`/` is `index.html`) on a free port of 127.0.0.1, as
/// `python3 -m http.server` would; returns the origin, e.g. `http://127.0.0.1:41234`.
pub async fn serve_dir(dir: PathBuf) -> String {
    let acceptor = TcpListener::bind("127.0.0.1:0")
        .into_acceptor()
        .await
        .unwrap();
    let addr: SocketAddr = *acceptor.local_addr()[0].as_socket_addr().unwrap();
    let endpoint = poem::endpoint::make(move |req: Request| {
        let dir = dir.clone();
        async move {
            let path = req.uri().path().trim_start_matches('/');
            let name = if path.is_empty() { "index.html" } else { path };
            let safe = name
                .split('/')
                .all(|part| !part.is_empty() && !part.starts_with('.'));
            let file = dir.join(name);
            match (safe, tokio::fs::read(&file).await) {
                (true, Ok(bytes)) => Response::builder()
                    .content_type(content_type(&file))
                    .header("Cache-Control", "no-store")
                    .body(bytes),
                _ => Response::builder()
                    .status(StatusCode::NOT_FOUND)
                    .body("not found"),
            }
        }
    });
    tokio::spawn(Server::new_with_acceptor(acceptor).run(endpoint));
    format!("http://{addr}")
}

/// Runs a script (which may return a promise) and returns its value.
pub async fn js(c: &Client, script: &str, args: Vec<Value>) -> Value {
    c.execute(script, args)
        .await
        .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
}

/// What the page shows, for a failure message.
async fn page_summary(c: &Client) -> String {
    let url = c
        .current_url()
        .await
        .map_or_else(|e| format!("<{e}>"), |u| u.to_string());
    let text = c
        .execute(
            "return document.body ? document.body.innerText : ''",
            vec![],
        )
        .await
        .map_or_else(
            |e| format!("<{e}>"),
            |v| v.as_str().unwrap_or("").to_owned(),
        );
    format!("at {url}:\n{text}")
}

/// Waits until the JavaScript expression `cond` is truthy (errors while a page loads count
/// as not yet), at most [`WAIT`].
pub async fn wait_until(c: &Client, what: &str, cond: &str) {
    let script = format!("return !!({cond});");
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(Value::Bool(true)) = c.execute(&script, vec![]).await {
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "timed out waiting for {what} ({cond}) {}",
                page_summary(c).await
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Clicks the element matching a CSS selector.
pub async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
}

/// Types into the element matching a CSS selector.
pub async fn type_into(c: &Client, css: &str, text: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .send_keys(text)
        .await
        .unwrap_or_else(|e| panic!("cannot type into {css}: {e}"));
}

/// Saves a PNG of the window as `<TESSERA_SCREENSHOTS>/<name>` when that variable is set.
pub async fn screenshot(c: &Client, name: &str) {
    if let Some(dir) = std::env::var_os("TESSERA_SCREENSHOTS").filter(|d| !d.is_empty()) {
        let png = c.screenshot().await.unwrap();
        let path = PathBuf::from(dir).join(name);
        std::fs::write(&path, png).unwrap();
        eprintln!("screenshot: {}", path.display());
    }
}
