//! Bad input of every kind gets a clear RFC 6749-style 4xx, never a 5xx.

use tessera_tests::{Auth, ClientSpec, TestApp, spawn_app};

async fn post_raw(
    app: &TestApp,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> tessera_tests::Answer {
    let mut req = app.http.post(app.url("/oauth/token")).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    TestApp::answer(req.send().await.unwrap()).await
}

const FORM: &str = "application/x-www-form-urlencoded";

#[tokio::test]
async fn malformed_token_requests_are_invalid_request() {
    let app = spawn_app().await;
    app.add_client(ClientSpec::public("web")).await;
    let cases: Vec<(Option<&str>, Vec<u8>, &str)> = vec![
        (Some(FORM), b"".to_vec(), "empty body"),
        (Some(FORM), b"client_id=web".to_vec(), "no grant_type"),
        (
            Some("application/json"),
            br#"{"grant_type":"password"}"#.to_vec(),
            "JSON body",
        ),
        (None, b"grant_type=password".to_vec(), "no content type"),
        (
            Some("text/plain"),
            b"grant_type=password".to_vec(),
            "wrong content type",
        ),
        (
            Some(FORM),
            b"grant_type=password&grant_type=refresh_token&client_id=web".to_vec(),
            "duplicate parameter",
        ),
        (Some(FORM), b"%%%%".to_vec(), "garbage encoding"),
    ];
    for (ct, body, what) in cases {
        let a = post_raw(&app, ct, body).await;
        assert_eq!(a.status, 400, "{what}: {}", a.body);
        assert_eq!(a.error(), "invalid_request", "{what}: {}", a.body);
        assert!(a.body["error_description"].is_string(), "{what}");
    }
    // Non-UTF-8 bytes are decoded lossily, so they match no grant, user or token.
    let a = post_raw(
        &app,
        Some(FORM),
        b"grant_type=pass\xff\xfeword&client_id=web".to_vec(),
    )
    .await;
    a.assert_error(400, "unsupported_grant_type");
    let a = post_raw(
        &app,
        Some(FORM),
        b"grant_type=password&client_id=web&username=\xff\xfe&password=x\xffy".to_vec(),
    )
    .await;
    a.assert_error(400, "invalid_grant");
    app.stop().await;
}

#[tokio::test]
async fn missing_fields_unknown_grants_and_garbage_tokens() {
    let app = spawn_app().await;
    app.add_client(ClientSpec::public("web")).await;
    let web = Auth::Public("web");
    app.token(web, &[("grant_type", "password"), ("username", "x")])
        .await
        .assert_error(400, "invalid_request");
    app.token(
        web,
        &[
            ("grant_type", "password"),
            ("username", ""),
            ("password", "p"),
        ],
    )
    .await
    .assert_error(400, "invalid_request");
    app.token(web, &[("grant_type", "refresh_token")])
        .await
        .assert_error(400, "invalid_request");
    app.token(web, &[("grant_type", "implicit")])
        .await
        .assert_error(400, "unsupported_grant_type");
    // A client not registered for the code grant.
    app.token(web, &[("grant_type", "authorization_code"), ("code", "x")])
        .await
        .assert_error(400, "unauthorized_client");
    for garbage in [
        "tsr_",
        "not-a-token",
        "tsr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "tsr_'; DROP TABLE refresh_tokens; --aaaaaaaaaaa",
        &"x".repeat(10_000),
        "\u{0}\u{1}",
    ] {
        app.refresh(web, garbage)
            .await
            .assert_error(400, "invalid_grant");
    }
    app.token(
        web,
        &[
            ("grant_type", "password"),
            ("username", "a b"),
            ("password", "whatever"),
        ],
    )
    .await
    .assert_error(400, "invalid_grant");
    app.token(
        web,
        &[
            ("grant_type", "password"),
            ("username", "u"),
            ("password", &"p".repeat(5000)),
        ],
    )
    .await
    .assert_error(400, "invalid_request");
    app.add_user("scoped", "scoped-password", false).await;
    app.token(
        web,
        &[
            ("grant_type", "password"),
            ("username", "scoped"),
            ("password", "scoped-password"),
            ("scope", "bad\"scope"),
        ],
    )
    .await
    .assert_error(400, "invalid_scope");
    // Unknown client ids of any shape, NUL bytes included (PostgreSQL refuses them).
    for id in ["", "no such client", &"c".repeat(500), "\u{0}", "a\u{0}b"] {
        let a = app
            .token(Auth::Public(id), &[("grant_type", "password")])
            .await;
        a.assert_error(401, "invalid_client");
    }
    app.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = spawn_app().await;
    let big = format!("grant_type=password&username={}", "a".repeat(200_000));
    let a = post_raw(&app, Some(FORM), big.into_bytes()).await;
    assert_eq!(a.status, 413, "{}", a.body);
    assert_eq!(a.error(), "invalid_request");
    // Chunked, without Content-Length.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..100).map(|_| Ok(vec![b'a'; 10_000])).collect();
    let resp = app
        .http
        .post(app.url("/oauth/token"))
        .header("content-type", FORM)
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    let a = TestApp::answer(resp).await;
    assert_eq!(a.status, 413, "{}", a.body);
    app.stop().await;
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_json_errors() {
    let app = spawn_app().await;
    let a = TestApp::answer(app.http.get(app.url("/nope")).send().await.unwrap()).await;
    a.assert_error(404, "not_found");
    let a = TestApp::answer(app.http.get(app.url("/oauth/token")).send().await.unwrap()).await;
    a.assert_error(405, "method_not_allowed");
    app.stop().await;
}

/// One HTTP/1.1 exchange on a raw connection: writes `request`, reads one response
/// (headers and a `Content-Length` body). Returns the head (lower-cased) and the body.
async fn exchange(conn: &mut tokio::net::TcpStream, request: &[u8]) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    conn.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = conn.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the connection closed without a response");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .map_or(0, |v| v.trim().parse().unwrap());
    while buf.len() < head_end + len {
        let n = conn.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the connection closed inside a response");
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..head_end + len]).into_owned();
    (head, body)
}

/// A body the server refuses unread (over `body_limit`) ends the connection, and the
/// answer says so (`Connection: close`), so a keep-alive client never sends its next
/// request on a connection about to be dropped. Any other answer, error or not, leaves
/// the connection at a request boundary, ready for the next request.
#[tokio::test]
async fn refused_bodies_close_the_connection_and_other_errors_keep_it() {
    let app = spawn_app().await;
    let addr = app.url("").trim_start_matches("http://").to_owned();
    let post = |path: &str, body: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: {FORM}\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    };
    let health = format!("GET /healthz HTTP/1.1\r\nhost: {addr}\r\n\r\n").into_bytes();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    // Errors of every kind on one connection, each body left unread by its handler.
    for (path, body, status) in [
        ("/nope", "x".repeat(5_000), "404"),
        ("/oauth/token", "grant_type=nonsense".to_owned(), "400"),
        ("/oauth/token", "a".repeat(60_000), "400"),
        ("/admin/v1/users", "{".repeat(10_000), "401"),
        ("/oauth/revoke", "token=x".to_owned(), "401"),
    ] {
        let (head, _) = exchange(&mut conn, &post(path, &body)).await;
        assert!(
            head.starts_with(&format!("http/1.1 {status}")),
            "{path}: {head}"
        );
        assert!(!head.contains("connection: close"), "{path}: {head}");
        let (head, _) = exchange(&mut conn, &health).await;
        assert!(head.starts_with("http/1.1 200"), "after {path}: {head}");
    }
    // Declared too large, sent whole: read and dropped, answered, then closed.
    let big = "a".repeat(200_000);
    let (head, body) = exchange(&mut conn, &post("/oauth/token", &big)).await;
    assert!(head.starts_with("http/1.1 413"), "{head}");
    assert!(head.contains("connection: close"), "{head}");
    assert!(body.contains("invalid_request"), "{body}");
    // Declared too large, body never sent: answered at once, closed.
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head_only =
        format!("POST /oauth/token HTTP/1.1\r\nhost: {addr}\r\ncontent-length: 5000000\r\n\r\n");
    let (head, _) = exchange(&mut conn, head_only.as_bytes()).await;
    assert!(head.starts_with("http/1.1 413"), "{head}");
    assert!(head.contains("connection: close"), "{head}");
    app.stop().await;
}

/// The case a pooled client met: a keep-alive client mixing oversized bodies with good
/// requests sees every answer, never "connection closed before message completed".
#[tokio::test]
async fn a_keep_alive_client_sees_every_answer_around_oversized_bodies() {
    let app = spawn_app().await;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    let big = format!("grant_type=password&username={}", "a".repeat(100_000));
    for i in 0..100 {
        let r = http
            .post(app.url("/oauth/token"))
            .header("content-type", FORM)
            .body(big.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("oversized request {i}: {e}"));
        assert_eq!(r.status(), 413);
        let r = http
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("request {i} after an oversized one: {e}"));
        assert_eq!(r.status(), 200);
    }
    app.stop().await;
}
