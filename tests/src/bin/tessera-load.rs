//! Load driver for a running Tessera: each worker signs in once, then rotates its own
//! refresh chain as fast as it can (the hot path), or repeats password sign-ins, or
//! (`--mode code`) signs in once on the sign-in page and then repeats the browser flow
//! a second app goes through with that sign-in session: the authorize redirect with a
//! code, and its exchange (PKCE) for tokens. One "ok" is one whole flow.
//! Bounded in time and requests; talks only to the URL it is given (loopback in practice).
//!
//! `tessera-load --help` lists the flags.
//!
//! Setup (the sign-ins that start the chains, the sign-in sessions, the token to
//! introspect) is done by every worker before any is timed; `setup_seconds` says how long
//! it took, and the figures are of the measured requests alone.
//!
//! Modes: `refresh` (the default), `login` (password grant), `code` (browser flow),
//! `client_credentials`, `introspect` (of a client-credentials token, by the same
//! confidential client) and `jwks`. It prints one JSON line: ok, errors by kind,
//! throttled, busy (503s with `Retry-After`, their p99 and max; the worker then waits as
//! told), rps, p50/p90/p99/max in ms, and for `refresh` how many chains were
//! verified at the end (the previous token of each chain is refused as a replay, and the
//! replay revoked the chain's newest token too).
//!
//! With several URLs (instances of one deployment), each chain's requests go to them in
//! turn, starting at a different one per chain, so every rotation is on another instance
//! than the one before; the end-of-run check replays on yet another. `--mode code` takes
//! one URL.
//!
//! With `--users N`, worker `i` signs in as `{user}{i % N}` (many users, as in real
//! traffic; one user signing in from 32 places at once would be throttled). A `429` is
//! honoured like a well-behaved client would: wait `Retry-After`, then go on.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

/// The command line, as `tessera-load --help` prints it, and what is derived from it.
#[derive(clap::Parser)]
#[command(
    name = "tessera-load",
    args_override_self = true,
    about = "Load driver for a running Tessera: one JSON line of results",
    long_about = "Load driver for a running Tessera. Each worker signs in once (not timed), \
        then repeats its mode as fast as it can for --seconds; one JSON line of results \
        is printed at the end (ok, errors by kind, throttled, busy, rps, p50/p90/p99/max, \
        and for refresh the chains verified)."
)]
struct Args {
    /// The server, or several instances of one deployment, comma-separated: each chain's
    /// requests go to them in turn (chain `i`'s `n`-th to `urls[(i + n) % len]`).
    #[arg(
        long = "url",
        value_name = "URL",
        default_value = "http://127.0.0.1:8080",
        value_delimiter = ','
    )]
    urls: Vec<String>,
    /// The client id.
    #[arg(long, default_value = "bench", allow_hyphen_values = true)]
    client: String,
    /// A confidential client's secret, sent with HTTP Basic on every call (required for
    /// client_credentials and introspect).
    #[arg(long, allow_hyphen_values = true)]
    client_secret: Option<String>,
    /// The user to sign in as; with --users N, worker i signs in as {user}{i % N}.
    #[arg(long, default_value = "bench", allow_hyphen_values = true)]
    user: String,
    /// How many users to spread the workers over (0: the one --user).
    #[arg(long, default_value_t = 0)]
    users: usize,
    /// The users' password (required for login, code, and refresh without
    /// --refresh-tokens). Secrets may begin with `-`.
    #[arg(
        long,
        default_value = "",
        hide_default_value = true,
        allow_hyphen_values = true
    )]
    password: String,
    /// What each worker repeats.
    #[arg(long, default_value = "refresh", value_parser = [
        "refresh", "login", "code", "client_credentials", "introspect", "jwks",
    ])]
    mode: String,
    /// Workers, each with its own chain or sign-in.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// How long the measured part runs (at most 600).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Stop after this many requests in all.
    #[arg(long, default_value_t = 5_000_000)]
    max_requests: u64,
    /// Code mode: the client's registered redirect URI.
    #[arg(long, default_value = "http://127.0.0.1:5173/")]
    redirect_uri: String,
    /// Refresh mode against a peer server: chain i starts from line i of this file.
    #[arg(long = "refresh-tokens", value_name = "FILE")]
    refresh_tokens_file: Option<String>,
    /// The lines of `--refresh-tokens`, read by [`parse_args`].
    #[arg(skip)]
    refresh_tokens: Vec<String>,
    /// The token endpoint's path (a peer's may differ).
    #[arg(long, default_value = "/oauth/token")]
    token_path: String,
    /// Refresh mode, for crash tests: retry an unanswered request with the same token
    /// until an answer comes, as a client does while the server restarts (a chain whose
    /// retry is refused, the lost rotation having committed, stops there).
    #[arg(long)]
    crash_tolerant: bool,
    /// Refresh mode: write each chain's last token and fate to this file (JSON lines).
    #[arg(long, value_name = "FILE")]
    state_out: Option<String>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a = <Args as clap::Parser>::parse();
    for url in &mut a.urls {
        url.truncate(url.trim_end_matches('/').len());
    }
    if let Some(path) = &a.refresh_tokens_file {
        let text = std::fs::read_to_string(path).with_context(|| path.clone())?;
        a.refresh_tokens = text.lines().map(str::to_owned).collect();
    }
    if a.urls.len() > 1 && a.mode == "code" {
        bail!("--mode code takes one --url (its sign-in session lives on one instance)");
    }
    if !a.refresh_tokens.is_empty() && a.refresh_tokens.len() < a.concurrency {
        bail!("--refresh-tokens has fewer tokens than --concurrency");
    }
    let needs_password = match a.mode.as_str() {
        "refresh" => a.refresh_tokens.is_empty(),
        "login" | "code" => true,
        _ => false,
    };
    if needs_password && a.password.is_empty() {
        bail!("--password is required for --mode {}", a.mode);
    }
    if matches!(a.mode.as_str(), "client_credentials" | "introspect") && a.client_secret.is_none() {
        bail!("--client-secret is required for --mode {}", a.mode);
    }
    a.seconds = a.seconds.min(600);
    Ok(a)
}

#[derive(Default)]
struct Stats {
    latencies_us: Vec<u64>,
    ok: u64,
    throttled: u64,
    /// Latencies of the 503 answers (load shed), which the client then honours.
    busy_us: Vec<u64>,
    errors: std::collections::BTreeMap<String, u64>,
    chains_verified: u64,
    chains_unverified: u64,
    /// Refresh mode: this chain's end state, for `--state-out`.
    chain: Option<Value>,
}

async fn post(http: &reqwest::Client, url: &str, form: &[(&str, &str)]) -> (u16, Value) {
    send(http.post(url).form(form)).await
}

async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    match req.send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            let retry_after = r
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            let mut body = r.json().await.unwrap_or(Value::Null);
            if let (Some(secs), Value::Object(o)) = (retry_after, &mut body) {
                o.insert("retry_after".into(), secs.into());
            }
            (status, body)
        }
        Err(e) => (0, Value::String(e.to_string())),
    }
}

/// Setup sign-ins in flight at once (the server's hashing queue is short by design).
const SETUP_SIGN_INS: usize = 8;

/// RFC 7636 appendix B's verifier and challenge: any valid pair serves a load test.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// The value of cookie `name` in a response's `Set-Cookie` headers.
fn set_cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn code_of(resp: &reqwest::Response) -> Option<String> {
    let loc = resp
        .headers()
        .get(reqwest::header::LOCATION)?
        .to_str()
        .ok()?;
    let url = reqwest::Url::parse(loc).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
}

/// Signs in on the sign-in page; returns the `Cookie` header of the sign-in session.
async fn page_sign_in(
    http: &reqwest::Client,
    args: &Args,
    username: &str,
    params: &[(&str, &str)],
) -> Result<String, String> {
    let authorize = format!("{}/oauth/authorize", args.urls[0]);
    let page = http
        .get(&authorize)
        .query(params)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let csrf_cookie = ["__Host-tessera-csrf", "tessera-csrf"]
        .iter()
        .find_map(|n| set_cookie(&page, n).map(|v| format!("{n}={v}")))
        .ok_or("no CSRF cookie")?;
    let html = page.text().await.map_err(|e| e.to_string())?;
    let token = html
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .ok_or("no csrf_token field")?
        .to_owned();
    let mut form: Vec<(&str, &str)> = params.to_vec();
    form.extend([
        ("csrf_token", token.as_str()),
        ("username", username),
        ("password", args.password.as_str()),
        ("action", "sign_in"),
    ]);
    let signed_in = http
        .post(&authorize)
        .header(reqwest::header::COOKIE, csrf_cookie)
        .form(&form)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    ["__Host-tessera-session", "tessera-session"]
        .iter()
        .find_map(|n| set_cookie(&signed_in, n).map(|v| format!("{n}={v}")))
        .ok_or_else(|| format!("sign-in page answered {}", signed_in.status()))
}

/// One browser flow with a sign-in session: authorize (302 with a code), exchange.
async fn code_flow(
    http: &reqwest::Client,
    args: &Args,
    session: &str,
    params: &[(&str, &str)],
) -> (u16, Value) {
    let authorize = format!("{}/oauth/authorize", args.urls[0]);
    let resp = match http
        .get(&authorize)
        .query(params)
        .header(reqwest::header::COOKIE, session)
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => return (0, Value::String(e.to_string())),
    };
    let Some(code) = code_of(&resp) else {
        return (resp.status().as_u16(), Value::String("no code".into()));
    };
    post(
        http,
        &format!("{}/oauth/token", args.urls[0]),
        &[
            ("grant_type", "authorization_code"),
            ("client_id", args.client.as_str()),
            ("code", code.as_str()),
            ("code_verifier", VERIFIER),
            ("redirect_uri", args.redirect_uri.as_str()),
        ],
    )
    .await
}

/// One worker: its setup (the sign-in that starts a refresh chain, the sign-in session of
/// `code`, the token that `introspect` asks about), then the measured loop. All workers
/// start the loop together, after every setup (`start`), so the figures are of the
/// mode's own requests only.
async fn worker(
    args: std::sync::Arc<Args>,
    index: usize,
    start: std::sync::Arc<tokio::sync::Barrier>,
    sign_ins: std::sync::Arc<tokio::sync::Semaphore>,
    budget: u64,
) -> Stats {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|_| reqwest::Client::new());
    // The endpoints of every instance, made once; request `k` goes to instance `k % len`.
    let on_each =
        |path: &str| -> Vec<String> { args.urls.iter().map(|u| format!("{u}{path}")).collect() };
    let (token_urls, introspect_urls, jwks_urls) = (
        on_each(&args.token_path),
        on_each("/oauth/introspect"),
        on_each("/.well-known/jwks.json"),
    );
    let username = if args.users > 0 {
        format!("{}{}", args.user, index % args.users)
    } else {
        args.user.clone()
    };
    let login = [
        ("grant_type", "password"),
        ("client_id", args.client.as_str()),
        ("username", username.as_str()),
        ("password", args.password.as_str()),
    ];
    let mut stats = Stats::default();
    let params = [
        ("response_type", "code"),
        ("client_id", args.client.as_str()),
        ("redirect_uri", args.redirect_uri.as_str()),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    let mut session = String::new();
    if args.mode == "code" {
        match page_sign_in(&http, &args, &username, &params).await {
            Ok(s) => session = s,
            Err(e) => {
                stats.errors.insert(format!("sign-in page: {e}"), 1);
            }
        }
    }
    // A confidential client authenticates with HTTP Basic on every call.
    let token_call = |k: usize, form: &[(&str, &str)]| {
        let req = http.post(&token_urls[k % token_urls.len()]).form(form);
        match &args.client_secret {
            Some(secret) => req.basic_auth(&args.client, Some(secret)),
            None => req,
        }
    };
    let cc = [("grant_type", "client_credentials")];
    let mut introspected = String::new();
    if args.mode == "introspect" {
        let (status, body) = send(token_call(index, &cc)).await;
        match body["access_token"].as_str() {
            Some(t) if status == 200 => introspected = t.to_owned(),
            _ => {
                stats
                    .errors
                    .insert(format!("client_credentials: {status}"), 1);
            }
        }
    }
    let mut refresh = String::new();
    let mut previous = String::new();
    if let Some(seeded) = args.refresh_tokens.get(index) {
        refresh = seeded.clone();
    } else if args.mode == "refresh" {
        // A few sign-ins at a time, as the server hashes a few at a time; one refused
        // with 503 (the hashing queue is full) is tried again shortly, for up to ~10 s.
        let _turn = sign_ins.acquire().await;
        for attempt in 1.. {
            match send(token_call(index, &login)).await {
                (200, body) if body["refresh_token"].is_string() => {
                    refresh = body["refresh_token"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                }
                (503, _) if attempt < 50 => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
                (status, body) => {
                    let key = format!(
                        "sign-in: {status} {}",
                        body["error"].as_str().unwrap_or("?")
                    );
                    stats.errors.insert(key, 1);
                }
            }
            break;
        }
    }
    start.wait().await;
    if !stats.errors.is_empty() {
        return stats;
    }
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let mut n = 0;
    let (mut lost_answers, mut unanswered, mut refused) = (0u64, false, None::<u16>);
    while Instant::now() < deadline && n < budget {
        n += 1;
        let k = index + n as usize;
        let start = Instant::now();
        let (status, body) = match args.mode.as_str() {
            "code" => code_flow(&http, &args, &session, &params).await,
            "client_credentials" => send(token_call(k, &cc)).await,
            "introspect" => {
                let req = http
                    .post(&introspect_urls[k % introspect_urls.len()])
                    .form(&[("token", introspected.as_str())])
                    .basic_auth(&args.client, args.client_secret.as_ref());
                match send(req).await {
                    (200, b) if b["active"] != true => (200, json_error("inactive")),
                    other => other,
                }
            }
            "jwks" => send(http.get(&jwks_urls[k % jwks_urls.len()])).await,
            "login" => send(token_call(k, &login)).await,
            _ if refresh.is_empty() => send(token_call(k, &login)).await,
            _ => {
                send(token_call(
                    k,
                    &[
                        ("grant_type", "refresh_token"),
                        ("client_id", args.client.as_str()),
                        ("refresh_token", refresh.as_str()),
                    ],
                ))
                .await
            }
        };
        let took = start.elapsed().as_micros() as u64;
        if status == 200 && body.get("error").is_none() {
            stats.ok += 1;
            stats.latencies_us.push(took);
            if let Some(rt) = body["refresh_token"].as_str() {
                previous = std::mem::replace(&mut refresh, rt.to_owned());
            }
        } else if status == 429 {
            stats.throttled += 1;
            let wait = body["error_description"]
                .as_str()
                .and_then(|d| d.split("in ").nth(1))
                .and_then(|d| d.trim_end_matches(" s").parse::<u64>().ok())
                .unwrap_or(1);
            let until = Instant::now() + Duration::from_secs(wait);
            tokio::time::sleep_until(until.min(deadline).into()).await;
        } else if status == 503 && body["retry_after"].is_u64() {
            // Shed for load: a well-behaved client waits as told.
            stats.busy_us.push(took);
            let wait = body["retry_after"].as_u64().unwrap_or(1);
            let until = Instant::now() + Duration::from_secs(wait);
            tokio::time::sleep_until(until.min(deadline).into()).await;
        } else if args.crash_tolerant && args.mode == "refresh" && (status == 0 || status == 503) {
            // No answer (or not yet ready): the token is still ours to present again.
            *stats
                .errors
                .entry(format!("{status} (retried)"))
                .or_default() += 1;
            if !unanswered {
                lost_answers += 1; // one request in flight when the server went away
            }
            unanswered = true;
            tokio::time::sleep(Duration::from_millis(50)).await;
        } else if args.crash_tolerant && args.mode == "refresh" {
            // Refused after an unanswered try: that try had rotated the token, so this
            // was a replay and the family is revoked. The chain ends; its last token is
            // what the checker looks at.
            let kind = if unanswered {
                "replay after a lost answer"
            } else {
                "refused"
            };
            let key = format!(
                "{status} {} ({kind})",
                body["error"].as_str().unwrap_or("?")
            );
            *stats.errors.entry(key).or_default() += 1;
            refused = Some(status);
            break;
        } else {
            let key = format!("{status} {}", body["error"].as_str().unwrap_or("?"));
            *stats.errors.entry(key).or_default() += 1;
            refresh.clear();
            previous.clear();
        }
        if status == 200 {
            unanswered = false;
        }
    }
    if args.mode == "refresh" {
        stats.chain = Some(serde_json::json!({
            "chain": index,
            "token": refresh,
            "rotations": stats.ok,
            "lost_answers": lost_answers,
            "refused": refused,
        }));
    }
    if args.crash_tolerant {
        return stats;
    }
    // Rotation really happened: the chain's previous token is refused as a replay, and
    // that replay revoked the family, so its newest token is refused too.
    if args.mode == "refresh" && !previous.is_empty() && !refresh.is_empty() {
        let mut refused = 0;
        // On the next instances in turn: a replay on B of a token rotated on A.
        for (j, t) in [&previous, &refresh].into_iter().enumerate() {
            let (status, body) = send(token_call(
                index + n as usize + 1 + j,
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", args.client.as_str()),
                    ("refresh_token", t.as_str()),
                ],
            ))
            .await;
            if status == 400 && body["error"] == "invalid_grant" {
                refused += 1;
            }
        }
        if refused == 2 {
            stats.chains_verified += 1;
        } else {
            stats.chains_unverified += 1;
        }
    }
    stats
}

fn json_error(code: &str) -> Value {
    serde_json::json!({ "error": code })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = std::sync::Arc::new(parse_args()?);
    let budget = args.max_requests / args.concurrency.max(1) as u64;
    let setup_started = Instant::now();
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(args.concurrency + 1));
    let sign_ins = std::sync::Arc::new(tokio::sync::Semaphore::new(SETUP_SIGN_INS));
    let handles: Vec<_> = (0..args.concurrency)
        .map(|i| {
            let (args, start, sign_ins) = (args.clone(), start.clone(), sign_ins.clone());
            tokio::spawn(worker(args, i, start, sign_ins, budget))
        })
        .collect();
    start.wait().await;
    let setup_secs = setup_started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut all = Stats::default();
    let mut chains = Vec::new();
    for h in handles {
        let s = h.await?;
        chains.extend(s.chain);
        all.ok += s.ok;
        all.throttled += s.throttled;
        all.chains_verified += s.chains_verified;
        all.chains_unverified += s.chains_unverified;
        all.latencies_us.extend(s.latencies_us);
        all.busy_us.extend(s.busy_us);
        for (k, v) in s.errors {
            *all.errors.entry(k).or_default() += v;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    all.latencies_us.sort_unstable();
    all.busy_us.sort_unstable();
    let pct_of = |v: &[u64], p: f64| {
        if v.is_empty() {
            0.0
        } else {
            let ms = v[((v.len() as f64 - 1.0) * p).round() as usize] as f64 / 1000.0;
            (ms * 100.0).round() / 100.0
        }
    };
    let pct = |p: f64| pct_of(&all.latencies_us, p);
    let line = serde_json::json!({
        "mode": args.mode,
        "concurrency": args.concurrency,
        "users": args.users.max(1),
        "confidential": args.client_secret.is_some(),
        "seconds": (secs * 10.0).round() / 10.0,
        "setup_seconds": (setup_secs * 10.0).round() / 10.0,
        "ok": all.ok,
        "rps": (all.ok as f64 / secs).round(),
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": pct(1.0),
        "throttled": all.throttled,
        "busy": all.busy_us.len(),
        "busy_p99_ms": pct_of(&all.busy_us, 0.99),
        "busy_max_ms": pct_of(&all.busy_us, 1.0),
        "errors": all.errors,
        "chains_verified": all.chains_verified,
        "chains_unverified": all.chains_unverified,
    });
    println!("{line}");
    if let Some(path) = &args.state_out {
        let lines: Vec<String> = chains.iter().map(Value::to_string).collect();
        std::fs::write(path, lines.join("\n") + "\n").with_context(|| path.clone())?;
    }
    Ok(())
}
