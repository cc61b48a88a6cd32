//! Slow and idle clients cannot pin the server: a request's headers and its body must
//! each arrive within `read_timeout`, an idle connection is closed after as long, and
//! past `max_connections` new connections wait for a place instead of exhausting the
//! process.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use tessera_tests::spawn_app_with;

/// Reads until the server closes the connection (or resets it); returns what it sent.
async fn read_to_close(conn: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        match conn.read(&mut chunk).await {
            Ok(0) | Err(_) => return got,
            Ok(n) => got.extend_from_slice(&chunk[..n]),
        }
    }
}

/// Fifty clients trickle their headers a byte every 100 ms: each is cut off once its
/// headers have taken `read_timeout`, and meanwhile every other request is answered
/// at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickled_headers_are_cut_off_and_other_clients_are_served() {
    let app = spawn_app_with(|s| s.read_timeout = 1).await;
    let addr = app.url("").trim_start_matches("http://").to_owned();
    let started = Instant::now();
    let slow: Vec<_> = (0..50)
        .map(|_| {
            let addr = addr.clone();
            tokio::spawn(async move {
                let mut conn = TcpStream::connect(&addr).await.unwrap();
                conn.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n")
                    .await
                    .unwrap();
                let trickle = async {
                    loop {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        if conn.write_all(b"x").await.is_err() {
                            return;
                        }
                    }
                };
                // Cut off within the bound (and a margin for a loaded machine), never
                // answered as if the request were whole.
                tokio::time::timeout(Duration::from_secs(5), trickle)
                    .await
                    .expect("a trickling client was never cut off");
                let rest = read_to_close(&mut conn).await;
                assert!(
                    !String::from_utf8_lossy(&rest).contains(" 200 "),
                    "a trickled request was served"
                );
                started.elapsed()
            })
        })
        .collect();
    // While they trickle, everyone else is served promptly.
    let mut slowest = Duration::ZERO;
    while started.elapsed() < Duration::from_millis(800) {
        let t = Instant::now();
        let r = app.http.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        slowest = slowest.max(t.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        slowest < Duration::from_millis(500),
        "slowest answer {slowest:?}"
    );
    for s in slow {
        let cut_after = s.await.unwrap();
        assert!(
            cut_after >= Duration::from_millis(900),
            "cut after {cut_after:?}"
        );
    }
    app.stop().await;
}

/// A body that stops arriving is answered 408 once `read_timeout` has passed, and the
/// answer closes the connection.
#[tokio::test]
async fn a_stalled_body_is_answered_408_and_the_connection_closed() {
    let app = spawn_app_with(|s| s.read_timeout = 1).await;
    let addr = app.url("").trim_start_matches("http://").to_owned();
    let mut conn = TcpStream::connect(&addr).await.unwrap();
    let started = Instant::now();
    conn.write_all(
        b"POST /oauth/token HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 100\r\n\r\ngrant_type",
    )
    .await
    .unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), read_to_close(&mut conn))
        .await
        .expect("the stalled body was never answered");
    let answer = String::from_utf8_lossy(&answer).to_lowercase();
    assert!(answer.starts_with("http/1.1 408"), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    assert!(started.elapsed() >= Duration::from_millis(900));
    app.stop().await;
}

/// With every place taken by idle connections, a new client waits (it is neither
/// refused nor reset) until the idle ones are closed after `read_timeout`, then is
/// served; the idle ones see their connection closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_max_connections_new_clients_wait_for_a_place() {
    let app = spawn_app_with(|s| {
        s.max_connections = 16;
        s.read_timeout = 2;
    })
    .await;
    let addr = app.url("").trim_start_matches("http://").to_owned();
    let mut idle = Vec::new();
    for _ in 0..16 {
        idle.push(TcpStream::connect(&addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let r = reqwest::Client::new()
        .get(app.url("/healthz"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("the waiting client was served");
    let waited = started.elapsed();
    assert_eq!(r.status(), 200);
    assert!(
        waited >= Duration::from_millis(1_500),
        "served after {waited:?}: the bound did not hold"
    );
    for mut conn in idle {
        let got = tokio::time::timeout(Duration::from_secs(2), read_to_close(&mut conn))
            .await
            .expect("an idle connection was never closed");
        assert!(got.is_empty(), "an idle connection was answered");
    }
    app.stop().await;
}

/// A client that asks for large answers and never reads them holds its connection only
/// until a write has made no progress for `read_timeout`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_its_answers_is_cut_off() {
    let app = spawn_app_with(|s| s.read_timeout = 1).await;
    let addr = app.url("").trim_start_matches("http://").to_owned();
    let mut conn = TcpStream::connect(&addr).await.unwrap();
    // Far more than the socket buffers hold: 40 pipelined copies of the spec.
    let request = "GET /openapi.json HTTP/1.1\r\nhost: x\r\n\r\n".repeat(40);
    conn.write_all(request.as_bytes()).await.unwrap();
    let open = || async {
        let m = app.http.get(app.url("/metrics")).send().await.unwrap();
        let m = m.text().await.unwrap();
        m.lines()
            .find_map(|l| l.strip_prefix("tessera_connections_open "))
            .map(|v| v.trim().parse::<i64>().unwrap())
            .unwrap()
    };
    // Ours (the metrics client's) and the reader that does not read.
    assert_eq!(open().await, 2);
    let started = Instant::now();
    while open().await > 1 {
        assert!(
            started.elapsed() < Duration::from_secs(6),
            "a client that never reads still holds its connection"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(conn);
    app.stop().await;
}
