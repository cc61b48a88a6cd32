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
