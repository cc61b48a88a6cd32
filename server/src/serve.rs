//! Connections: accepting them, bounding them, timing them out, and closing them
//! gracefully.
//!
//! poem's own `Server` gives hyper no timer, so hyper's header-read timeout never fires,
//! and it waits without limit for the first bytes that tell HTTP/1 from HTTP/2: a client
//! that sends nothing, or trickles its headers a byte at a time, holds its connection for
//! ever, and enough of them exhaust the file descriptors. Here, with hyper directly:
//! - at most `max_connections` are open at once; past that the server stops accepting,
//!   and new connections wait in the kernel's backlog until a place frees (nothing is
//!   refused or reset);
//! - the first bytes, then each request's headers, must arrive within `read_timeout`
//!   (the body has the same bound in `app::read_body`); the same bound closes an HTTP/1
//!   connection left idle that long between requests;
//! - on shutdown, idle connections close at once and requests in flight get the grace
//!   period.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use poem::listener::{Acceptor, TcpAcceptor};
use poem::{Endpoint, EndpointExt, IntoEndpoint};
use prometheus_client::metrics::gauge::Gauge;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// The bounds every connection lives within.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: usize,
    pub read_timeout: Duration,
}

/// Serves `app` on `acceptor` until `shutdown` resolves, then waits up to `grace` for
/// the requests in flight. `open` counts the connections.
pub async fn serve<E>(
    mut acceptor: TcpAcceptor,
    app: E,
    limits: Limits,
    open: Gauge,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> std::io::Result<()>
where
    E: IntoEndpoint,
    E::Endpoint: 'static,
{
    let app = Arc::new(app.into_endpoint().map_to_response());
    let places = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut h1 = http1::Builder::new();
    h1.timer(TokioTimer::new())
        .header_read_timeout(limits.read_timeout);
    let mut h2 = http2::Builder::new(TokioExecutor::new());
    h2.timer(TokioTimer::new())
        .max_pending_accept_reset_streams(20)
        .max_header_list_size(16 * 1024);
    let (h1, h2) = (Arc::new(h1), Arc::new(h2));
    let graceful = GracefulShutdown::new();
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let place = tokio::select! {
            _ = &mut shutdown => break,
            place = places.clone().acquire_owned() => match place {
                Ok(place) => place,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = acceptor.accept() => accepted,
        };
        let (stream, local, remote, scheme) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, or the peer gave up before accept: wait a
                // moment rather than spin, and go on.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        while connections.try_join_next().is_some() {}
        let app = app.clone();
        let service = hyper::service::service_fn(move |req| {
            let app = app.clone();
            let request = poem::Request::from((req, local.clone(), remote.clone(), scheme.clone()));
            async move { Ok::<hyper::Response<_>, Infallible>(app.get_response(request).await.into()) }
        });
        let (h1, h2, watcher, open) = (h1.clone(), h2.clone(), graceful.watcher(), open.clone());
        connections.spawn(async move {
            let _place = place;
            open.inc();
            // A client that resets or times out ends its connection with an error that
            // concerns no one else.
            match first_bytes(&stream, limits.read_timeout).await {
                Some(Version::H1) => {
                    let _ = watcher
                        .watch(h1.serve_connection(TokioIo::new(stream), service))
                        .await;
                }
                Some(Version::H2) => {
                    let _ = watcher
                        .watch(h2.serve_connection(TokioIo::new(stream), service))
                        .await;
                }
                None => {}
            }
            open.dec();
        });
    }
    drop(acceptor);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after the grace period were cut off");
    }
    // Whatever is left never sent a first byte, or was cut off above.
    connections.shutdown().await;
    Ok(())
}

enum Version {
    H1,
    H2,
}

/// What every HTTP/2 connection without TLS (prior knowledge) starts with.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Which protocol the client speaks, from its first bytes, left unread in the socket;
/// `None` if they do not come within `within` or the client goes away first.
async fn first_bytes(stream: &TcpStream, within: Duration) -> Option<Version> {
    let sniff = async {
        let mut buf = [0u8; H2_PREFACE.len()];
        loop {
            let n = stream.peek(&mut buf).await.ok()?;
            if n == 0 {
                return None;
            }
            if buf[..n] != H2_PREFACE[..n] {
                return Some(Version::H1);
            }
            if n == H2_PREFACE.len() {
                return Some(Version::H2);
            }
            // Part of the HTTP/2 preface: peek would answer at once with the same bytes,
            // so wait a moment for the rest.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(within, sniff).await.ok().flatten()
}
