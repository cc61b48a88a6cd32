//! Connections: accepting them, bounding them, timing them out, and closing them
//! gracefully.
//!
//! poem's own `Server` gives hyper no timer, so hyper's header-read timeout never fires,
//! and it bounds nothing: a client that sends nothing, trickles its headers a byte at a
//! time, or never reads its answer holds its connection for ever, and enough of them
//! exhaust the file descriptors. Here, with hyper directly:
//! - at most `max_connections` are open at once; past that the server stops accepting,
//!   and new connections wait in the kernel's backlog until a place frees (nothing is
//!   refused or reset);
//! - a request's headers must arrive within `read_timeout`, counted from the connection's
//!   start or the previous answer, so the same bound closes a connection that sends
//!   nothing or sits idle between requests (the body has the same bound in
//!   `app::read_body`);
//! - a write that makes no progress for `read_timeout` (a client that does not read its
//!   answer) ends the connection;
//! - HTTP/1.1 only: HTTP/2 belongs to the TLS-terminating proxy in front, and without
//!   TLS it would need idle and stream bounds hyper does not give;
//! - on shutdown, idle connections close at once and requests in flight get the grace
//!   period.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use poem::listener::{Acceptor, TcpAcceptor};
use poem::{Endpoint, EndpointExt, IntoEndpoint};
use prometheus_client::metrics::gauge::Gauge;
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
    let h1 = Arc::new(h1);
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
        let (h1, watcher, open) = (h1.clone(), graceful.watcher(), open.clone());
        connections.spawn(async move {
            let _place = place;
            let _open = Open::count(open);
            let mut io = tokio_io_timeout::TimeoutStream::new(stream);
            io.set_write_timeout(Some(limits.read_timeout));
            let conn = h1.serve_connection(TokioIo::new(Box::pin(io)), service);
            // A client that resets, times out or stops reading ends its connection with
            // an error that concerns no one else.
            let _ = watcher.watch(conn).await;
        });
    }
    drop(acceptor);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after the grace period were cut off");
    }
    // Whatever is left was cut off above.
    connections.shutdown().await;
    Ok(())
}

/// One open connection on the gauge, for as long as it lives (a panic included).
struct Open(Gauge);

impl Open {
    fn count(gauge: Gauge) -> Self {
        gauge.inc();
        Open(gauge)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.dec();
    }
}
