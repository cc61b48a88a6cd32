//! Building and running the server. `main` and the tests both go through
//! [`spawn`](crate::app::spawn): bind (port 0 works), learn the real address, serve
//! until told to stop.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use poem::http::{HeaderValue, StatusCode, header};
use poem::listener::{Acceptor, TcpAcceptor};
use poem::{Endpoint, EndpointExt, IntoResponse, Response, Route};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::api::{self, error::ErrorBody};
use crate::bootstrap;
use crate::clock::Clock;
use crate::config::Settings;
use crate::state::AppState;
use crate::store::{Db, redact_url};

/// A running server.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    /// Key reloading and the SQLite checkpoint.
    background: Vec<JoinHandle<()>>,
}

impl RunningServer {
    /// Stops accepting, lets requests in flight finish, and waits.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.background.iter().for_each(JoinHandle::abort);
        (&mut self.task).await??;
        Ok(())
    }

    /// Waits until the server stops (after SIGINT/SIGTERM when started by `serve`).
    pub async fn wait(mut self) -> anyhow::Result<()> {
        (&mut self.task).await??;
        self.background.iter().for_each(JoinHandle::abort);
        Ok(())
    }
}

/// How to start: the clock, an optional extra shutdown signal, and the first
/// administrator's password (else `TESSERA_ADMIN_PASSWORD`, else generated and printed).
#[derive(Default)]
pub struct SpawnOptions {
    pub clock: Clock,
    pub shutdown_signal: Option<std::pin::Pin<Box<dyn Future<Output = ()> + Send>>>,
    pub admin_password: Option<String>,
}

/// Connects, migrates, bootstraps an empty database, binds and starts serving.
pub async fn spawn(settings: Settings, opts: SpawnOptions) -> anyhow::Result<RunningServer> {
    let SpawnOptions {
        clock,
        shutdown_signal,
        admin_password,
    } = opts;
    let db = Db::connect(&settings.database_url, settings.db_max_connections)
        .await
        .with_context(|| {
            format!(
                "cannot open database {}",
                redact_url(&settings.database_url)
            )
        })?;
    db.migrate_up().await.context("database migration failed")?;

    let acceptor = listen(&settings.listen, settings.max_connections)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let addr = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .context("listener has no address")?;
    let issuer = settings.issuer_for(&addr.to_string());

    warn_if_cookies_cannot_work(&settings, &issuer);
    warn_if_keys_sign_before_published(&settings);
    bootstrap::run(&db, &settings, &clock, admin_password).await?;
    let state = AppState::new(db, settings, issuer, clock).await?;
    let app = routes(&state);

    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let signal = async move {
        match shutdown_signal {
            Some(sig) => {
                tokio::select! {
                    _ = sig => {}
                    _ = stop_rx => {}
                }
            }
            None => {
                let _ = stop_rx.await;
            }
        }
    };
    let limits = crate::serve::Limits {
        max_connections: connections_that_fit(state.settings.max_connections),
        read_timeout: Duration::from_secs(state.settings.read_timeout),
    };
    let task = tokio::spawn(crate::serve::serve(
        acceptor,
        app,
        limits,
        state.metrics.connections_open.clone(),
        signal,
        Duration::from_secs(10),
    ));
    let background = vec![
        tokio::spawn(reload_keys_forever(state.clone())),
        tokio::spawn(checkpoint_forever(state.db.clone())),
        tokio::spawn(prune_throttle_forever(state.clone())),
    ];
    tracing::info!(%addr, issuer = %state.issuer, "tessera listening");
    Ok(RunningServer {
        addr,
        state,
        stop: Some(stop_tx),
        task,
        background,
    })
}

/// Binds the first address `listen` resolves to that can be bound, with a listen backlog
/// of `max_connections` (the kernel caps it at `net.core.somaxconn`). Tokio's default of
/// 1,024 overflowed when a thousand clients connected at once: the kernel dropped their
/// SYNs, and each waited a second for its retransmission.
async fn listen(listen: &str, max_connections: usize) -> anyhow::Result<TcpAcceptor> {
    let backlog = u32::try_from(max_connections.max(1024)).unwrap_or(u32::MAX);
    let mut last = None;
    for addr in tokio::net::lookup_host(listen).await? {
        let socket = if addr.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        match socket.bind(addr).and_then(|()| socket.listen(backlog)) {
            Ok(listener) => return Ok(TcpAcceptor::from_tokio(listener)?),
            Err(e) => last = Some(e),
        }
    }
    Err(last.map_or_else(
        || anyhow::anyhow!("{listen} resolves to no address"),
        anyhow::Error::from,
    ))
}

/// Every connection is a file descriptor: raise the soft limit on open files (up to the
/// hard limit) so that `max_connections` fit with room for the database and logs, and
/// say so if they cannot.
/// Returns the bound on connections that fits.
fn connections_that_fit(max_connections: usize) -> usize {
    const RESERVED: u64 = 256;
    let wanted = max_connections as u64 + RESERVED;
    match rlimit::increase_nofile_limit(wanted) {
        Ok(got) if got < wanted => {
            let fit = usize::try_from(got.saturating_sub(RESERVED).max(16)).unwrap_or(16);
            tracing::warn!(
                open_file_limit = got,
                max_connections,
                serving = fit,
                "the open-file limit is too low for max_connections: serving fewer at once; \
                 raise the hard limit (ulimit -Hn) or lower max_connections"
            );
            fit
        }
        Ok(_) => max_connections,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read or raise the open-file limit");
            max_connections
        }
    }
}

/// Instances load a rotated key at their next reload, a little after each interval: a
/// key that signs no later than that can sign tokens that other instances neither
/// publish nor accept yet.
fn warn_if_keys_sign_before_published(settings: &Settings) {
    if settings.is_postgres() && settings.prepublish_secs() <= settings.key_reload_secs() {
        tracing::warn!(
            key_prepublish = settings.prepublish_secs(),
            key_reload_interval = settings.key_reload_interval,
            "key_prepublish is no longer than key_reload_interval: with several instances, \
             a key rotated on one signs before the others publish it"
        );
    }
}

/// Browsers keep `Secure` cookies from plain http only on loopback hosts: elsewhere
/// the sign-in page could never keep a session. Say so at start rather than let sign-ins
/// fail with "form expired".
fn warn_if_cookies_cannot_work(settings: &Settings, issuer: &str) {
    let Ok(url) = url::Url::parse(issuer) else {
        return;
    };
    if settings.cookie_secure && url.scheme() == "http" && !crate::domain::is_loopback(&url) {
        tracing::warn!(
            %issuer,
            "the issuer is plain http on a non-loopback host: browsers will drop the \
             sign-in cookies (Secure); serve https, or set cookie_secure = false for \
             development"
        );
    }
}

async fn checkpoint_forever(db: Db) {
    use crate::store::{CHECKPOINT_INTERVAL, CHECKPOINT_INTERVAL_IDLE};
    let mut last = None;
    let mut wait = CHECKPOINT_INTERVAL_IDLE;
    loop {
        tokio::time::sleep(wait).await;
        match db.checkpoint().await {
            Ok(answer) => {
                // Idle: the log unchanged since the last checkpoint, which was not held
                // off by another one (the writer's own, or another process's).
                let busy = answer.is_some_and(|(busy, _, _)| busy);
                wait = if answer == last && !busy {
                    CHECKPOINT_INTERVAL_IDLE
                } else {
                    CHECKPOINT_INTERVAL
                };
                last = answer;
            }
            Err(e) => {
                wait = CHECKPOINT_INTERVAL_IDLE;
                tracing::warn!(error = %e, "checkpointing the database failed");
            }
        }
    }
}

/// How often forgotten failed-sign-in counters (and client-authentication counts) are
/// deleted.
const THROTTLE_PRUNE_INTERVAL: Duration = Duration::from_secs(60);

async fn prune_throttle_forever(state: AppState) {
    loop {
        tokio::time::sleep(THROTTLE_PRUNE_INTERVAL).await;
        let window = state.settings.lockout.window_secs.saturating_mul(1000);
        let now = state.clock.now_ms();
        if let Err(e) = crate::store::throttle::prune(&state.db.write, now, window).await {
            tracing::warn!(error = %e, "pruning failed-sign-in counters failed");
        }
        state.client_failures.prune(now);
    }
}

async fn reload_keys_forever(state: AppState) {
    let every = Duration::from_secs(state.settings.key_reload_interval.max(1));
    loop {
        tokio::time::sleep(every).await;
        if let Err(e) = state.reload_keys().await {
            tracing::warn!(error = %e, "reloading signing keys failed");
        }
    }
}

/// The whole HTTP application.
pub fn routes(state: &AppState) -> impl Endpoint + 'static {
    let body_limit = state.settings.body_limit;
    let read_timeout = Duration::from_secs(state.settings.read_timeout);
    let api = api::service();
    let docs = api.swagger_ui();
    let spec = api.spec_endpoint();
    crate::web::mount(Route::new())
        .at("/openapi.json", spec)
        .nest("/docs", docs)
        .nest("/", api)
        .around(crate::web::cors::apply)
        .around(move |ep, mut req| async move {
            // Tokens, codes, generated passwords and secrets, sessions: never cached, the
            // refusals below included.
            let sensitive = ["/oauth/", "/admin/", "/me/"]
                .iter()
                .any(|p| req.uri().path().starts_with(p));
            let mut resp = match refuse_early(&mut req, body_limit, read_timeout).await {
                Some(refused) => refused,
                None => match ep.call(req).await {
                    Ok(r) => r.into_response(),
                    Err(e) => error_response(e),
                },
            };
            if sensitive {
                let h = resp.headers_mut();
                h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            }
            Ok(resp)
        })
        .around(observe)
        .data(state.clone())
}

/// Counts and times every request, and logs one line for it: method, path, status,
/// duration, client address (as `trusted_proxy_hops` decides it) and operation. Never the
/// query string, which may carry a password or a token a client put there.
async fn observe<E: Endpoint>(ep: std::sync::Arc<E>, req: poem::Request) -> poem::Result<Response> {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let path: String = req.uri().path().chars().take(256).collect();
    let ip = crate::api::meta::client_ip(&req);
    let state = req.data::<AppState>().cloned();
    let resp = ep.call(req).await?.into_response();
    let elapsed = started.elapsed();
    let operation = resp
        .data::<poem_openapi::OperationId>()
        .map_or("other", |o| o.0);
    tracing::info!(
        target: "tessera_server::request",
        %method,
        path,
        status = resp.status().as_u16(),
        micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        ip = ip.as_deref().unwrap_or("-"),
        operation,
        "request"
    );
    if let Some(state) = state {
        let operation = operation.to_owned();
        state
            .metrics
            .request_seconds
            .get_or_create(&crate::metrics::OpLabels {
                op: operation.clone(),
            })
            .observe(elapsed.as_secs_f64());
        state
            .metrics
            .requests
            .get_or_create(&crate::metrics::RequestLabels {
                operation,
                method: method.to_string(),
                status: resp.status().as_u16(),
            })
            .inc();
    }
    Ok(resp)
}

/// Any error that escaped an operation (unknown path, wrong method, oversized body)
/// still gets an RFC 6749-shaped JSON body.
fn error_response(err: poem::Error) -> Response {
    if err.is_from_response() {
        // Already a complete answer (a security checker's 401/403).
        return err.into_response();
    }
    let status = err.status();
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::UNAUTHORIZED => "invalid_token",
        StatusCode::FORBIDDEN => "insufficient_scope",
        s if s.is_server_error() => "server_error",
        _ => "invalid_request",
    };
    let description = if status.is_server_error() {
        tracing::error!(error = %err, "unhandled error");
        "an internal error occurred".to_owned()
    } else {
        err.to_string()
    };
    let operation = err.data::<poem_openapi::OperationId>().copied();
    let mut resp = poem::web::Json(ErrorBody::new(code, description))
        .with_status(status)
        .into_response();
    if let Some(op) = operation {
        resp.set_data(op);
    }
    if status == StatusCode::UNAUTHORIZED {
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"tessera\""),
        );
    }
    resp
}

/// The answer to a request refused before any operation sees it: a body too large, too
/// slow or unreadable, a JSON body with a key given twice, a NUL byte in the URL.
/// Otherwise the body, read whole, is back in the request.
async fn refuse_early(
    req: &mut poem::Request,
    body_limit: usize,
    read_timeout: Duration,
) -> Option<Response> {
    let body = match read_body(req, body_limit, read_timeout).await {
        Ok(body) => body,
        Err(refused) => return Some(refused),
    };
    let bad_request = |m: String| {
        Some(error_response(poem::Error::from_string(
            m,
            StatusCode::BAD_REQUEST,
        )))
    };
    let duplicate = is_json(req)
        .then(|| api::json::duplicate_key(body.as_ref()))
        .flatten();
    req.set_body(body);
    if let Some(message) = duplicate {
        return bad_request(message);
    }
    // No text column accepts a NUL byte (PostgreSQL refuses it): refuse it in the path
    // and query here, once, with a clear error instead of a database fault.
    if req.uri().path_and_query().is_some_and(|pq| {
        pq.as_str()
            .as_bytes()
            .windows(3)
            .any(|w| w.eq_ignore_ascii_case(b"%00"))
    }) {
        return bad_request("the URL contains a NUL byte".into());
    }
    None
}

/// Whether the body is JSON by its media type (case-insensitive, as poem-openapi's
/// parser reads it: `Application/JSON` is JSON too).
fn is_json(req: &poem::Request) -> bool {
    req.content_type().is_some_and(|t| {
        let media = t
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        media == "application/json" || media.ends_with("+json")
    })
}

/// Reads and drops a body, for at most `timeout`.
async fn drain(body: poem::Body, timeout: Duration) {
    use tokio::io::AsyncReadExt;
    let mut reader = body.into_async_read();
    let mut sink = tokio::io::sink();
    let _ = tokio::time::timeout(
        timeout,
        tokio::io::copy(&mut (&mut reader).take(DRAIN_LIMIT), &mut sink),
    )
    .await;
}

/// A body declared too large but at most this long is read and dropped before the 413,
/// so the client, still sending, reads the answer instead of a reset connection.
const DRAIN_LIMIT: u64 = 1 << 20;

/// Takes the whole request body (at most `limit` bytes, within `timeout`: the
/// `read_timeout` setting, counted once the headers are in)
/// before anything else sees the request, so every answer leaves the connection at a
/// request boundary and a keep-alive client can reuse it. A body refused unread (too
/// large, too slow) is answered with `Connection: close`: the client then knows not to
/// send its next request on a connection the server is about to drop. Only a body
/// declared too large (and at most [`DRAIN_LIMIT`]) is drained first.
async fn read_body(
    req: &mut poem::Request,
    limit: usize,
    timeout: Duration,
) -> Result<impl AsRef<[u8]> + Into<poem::Body> + use<>, Response> {
    let refuse = |message: &str, status: StatusCode| {
        let mut resp = error_response(poem::Error::from_string(message, status));
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        resp
    };
    let too_large = || {
        refuse(
            "the request body is too large",
            StatusCode::PAYLOAD_TOO_LARGE,
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .map(|v| v.to_str().ok().and_then(|v| v.parse::<u64>().ok()));
    match declared {
        Some(Some(0)) => return Ok(Default::default()),
        Some(Some(n)) if n > limit as u64 => {
            // A client that waits for `100 Continue` has sent nothing yet: nothing to drain,
            // and reading would only invite the upload.
            if n <= DRAIN_LIMIT && !req.headers().contains_key(header::EXPECT) {
                drain(req.take_body(), timeout).await;
            }
            return Err(too_large());
        }
        Some(Some(_)) => {}
        Some(None) => {
            return Err(refuse(
                "the Content-Length header is not a number",
                StatusCode::BAD_REQUEST,
            ));
        }
        // Chunked: read up to the limit. A request without a body reads as empty at once.
        None => {}
    }
    let body = req.take_body().into_bytes_limit(limit);
    match tokio::time::timeout(timeout, body).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(poem::error::ReadBodyError::PayloadTooLarge)) => Err(too_large()),
        Ok(Err(_)) => Err(refuse(
            "the request body could not be read",
            StatusCode::BAD_REQUEST,
        )),
        Err(_) => Err(refuse(
            "the request body took too long to arrive",
            StatusCode::REQUEST_TIMEOUT,
        )),
    }
}
