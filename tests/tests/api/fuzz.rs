//! Property-based fuzzing of the running server over HTTP: whatever a client sends to
//! the token endpoint, the sign-in page, the bearer checks or the admin API, the answer
//! is never a 5xx, always in the protocol's own format, and on a connection the client
//! can go on using (one pooled client sends every case). 256 cases a property by
//! default; `PROPTEST_CASES=5000` by hand. A failure prints the smallest input that
//! shows it: add it to `bad_input.rs` as a regression test.

use base64::Engine as _;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::Value;

use tessera_tests::{ClientSpec, spawn_app};

/// A runtime of its own, so that proptest's synchronous cases can drive the server.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        failure_persistence: None,
        ..Config::default()
    })
}

/// Text a parser might choke on: anything, printable ASCII, percent escapes good and bad.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,80}",
        "(%[0-9A-Fa-f]{2}|%[^0-9A-Fa-f]?|[A-Za-z0-9+&=._~-]){0,40}",
        Just(String::new()),
        "[a-z]{1,10}".prop_map(|s| s.repeat(400)),
    ]
}

/// A form body: known fields with any values, in any order, some repeated, some
/// percent-encoded, some not; or bytes that are no form at all.
fn form_body() -> impl Strategy<Value = Vec<u8>> {
    let field = prop::sample::select(vec![
        "grant_type",
        "username",
        "password",
        "refresh_token",
        "client_id",
        "client_secret",
        "scope",
        "code",
        "code_verifier",
        "redirect_uri",
        "token",
        "token_type_hint",
        "x",
    ]);
    let value = prop_oneof![
        prop::sample::select(vec![
            "password",
            "refresh_token",
            "client_credentials",
            "authorization_code",
            "fz",
            "alice",
            "correct-horse",
            "read",
        ])
        .prop_map(str::to_owned),
        text(),
    ];
    let pair = (field, value, any::<bool>()).prop_map(|(k, v, encode)| {
        let v = if encode {
            url::form_urlencoded::byte_serialize(v.as_bytes()).collect()
        } else {
            v
        };
        format!("{k}={v}")
    });
    prop_oneof![
        4 => proptest::collection::vec(pair, 0..8).prop_map(|p| p.join("&").into_bytes()),
        1 => proptest::collection::vec(any::<u8>(), 0..300),
    ]
}

/// An `Authorization` header: Basic with the real client and secret, with either
/// changed, with junk, or another scheme, or none.
fn authorization(secret: String) -> impl Strategy<Value = Option<String>> {
    let b64 = |s: String| base64::engine::general_purpose::STANDARD.encode(s);
    prop_oneof![
        Just(None),
        Just(Some(format!("Basic {}", b64(format!("fz:{secret}"))))),
        (text(), text())
            .prop_map(move |(id, s)| Some(format!("Basic {}", b64(format!("{id}:{s}"))))),
        proptest::collection::vec(any::<u8>(), 0..60).prop_map(|b| Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(b)
        ))),
        "(Basic|basic|Bearer|Digest|) ?[ -~]{0,60}".prop_map(Some),
    ]
}

fn content_type() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(Some("application/x-www-form-urlencoded".to_owned())),
        Just(Some(
            "application/x-www-form-urlencoded; charset=utf-8".to_owned()
        )),
        Just(Some("application/json".to_owned())),
        Just(None),
        "[ -~]{0,40}".prop_map(Some),
    ]
}

/// Whether a header value can be sent at all (reqwest refuses control characters).
fn sendable(v: &str) -> bool {
    reqwest::header::HeaderValue::from_str(v).is_ok()
}

/// Sends one request and checks the answer: no 5xx, and a JSON object with a string
/// `error` for every 4xx (`json_errors`), or at least a body in the declared format.
async fn check(req: reqwest::RequestBuilder, json_errors: bool) -> Result<u16, TestCaseError> {
    let resp = req
        .send()
        .await
        .map_err(|e| TestCaseError::fail(format!("no answer: {e}")))?;
    let status = resp.status().as_u16();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = resp
        .text()
        .await
        .map_err(|e| TestCaseError::fail(format!("body cut off: {e}")))?;
    prop_assert!(status < 500, "{status}: {body}");
    if (400..500).contains(&status) && (json_errors || ctype.starts_with("application/json")) {
        let v: Value = serde_json::from_str(&body)
            .map_err(|e| TestCaseError::fail(format!("{status} not JSON ({e}): {body}")))?;
        prop_assert!(v["error"].is_string(), "{status}: {body}");
    }
    Ok(status)
}

#[test]
fn the_token_endpoint_answers_anything_in_its_own_format() {
    let rt = runtime();
    let (app, secret) = rt.block_on(async {
        let app = spawn_app().await;
        let secret = app
            .add_client(ClientSpec::confidential("fz"))
            .await
            .unwrap();
        app.add_user("alice", "correct-horse", false).await;
        (app, secret)
    });
    let strategy = (
        prop::sample::select(vec!["/oauth/token", "/oauth/revoke", "/oauth/introspect"]),
        form_body(),
        authorization(secret),
        content_type(),
    );
    runner()
        .run(&strategy, |(path, body, auth, ctype)| {
            let mut req = app.http.post(app.url(path)).body(body);
            for (name, value) in [("authorization", auth), ("content-type", ctype)] {
                if let Some(v) = value.filter(|v| sendable(v)) {
                    req = req.header(name, v);
                }
            }
            rt.block_on(check(req, true)).map(|_| ())
        })
        .unwrap();
    rt.block_on(app.stop());
}

#[test]
fn the_sign_in_page_answers_any_query_without_a_fault() {
    let rt = runtime();
    let app = rt.block_on(spawn_app());
    let param = (
        prop::sample::select(vec![
            "response_type",
            "client_id",
            "redirect_uri",
            "scope",
            "state",
            "code_challenge",
            "code_challenge_method",
            "prompt",
            "nonce",
            "x",
        ]),
        text(),
    );
    let strategy = (
        proptest::collection::vec(param, 0..8),
        prop::sample::select(vec!["/oauth/authorize", "/oauth/logout"]),
    );
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    runner()
        .run(&strategy, |(params, path)| {
            let url = reqwest::Url::parse_with_params(&app.url(path), &params).unwrap();
            rt.block_on(check(http.get(url), false)).map(|_| ())
        })
        .unwrap();
    rt.block_on(app.stop());
}

#[test]
fn bearer_checks_and_the_admin_api_answer_anything_in_their_own_format() {
    let rt = runtime();
    let (app, admin) = rt.block_on(async {
        let app = spawn_app().await;
        let admin = app.admin_token().await;
        (app, admin)
    });
    let json_value = || {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            text().prop_map(Value::String),
        ];
        leaf.prop_recursive(2, 8, 4, |inner| {
            proptest::collection::vec(inner, 0..4).prop_map(Value::Array)
        })
    };
    let field = prop::sample::select(vec![
        "username",
        "password",
        "is_admin",
        "disabled",
        "client_id",
        "grant_types",
        "scopes",
        "redirect_uris",
        "allowed_origins",
        "public",
        "access_ttl",
        "reuse_leeway",
        "refresh_token_delivery",
        "x",
    ]);
    let body = prop_oneof![
        4 => proptest::collection::btree_map(field, json_value(), 0..6)
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()).to_string()),
        1 => text(),
    ];
    let bearer = prop_oneof![
        3 => Just(format!("Bearer {admin}")),
        1 => "Bearer [ -~]{0,80}",
        1 => "[ -~]{0,40}",
    ];
    let target = prop::sample::select(vec![
        ("POST", "/admin/v1/users"),
        ("POST", "/admin/v1/clients"),
        (
            "PATCH",
            "/admin/v1/users/00000000-0000-0000-0000-000000000000",
        ),
        ("PATCH", "/admin/v1/clients/fz"),
        ("GET", "/admin/v1/users"),
        ("GET", "/admin/v1/audit"),
        ("GET", "/me/sessions"),
        ("DELETE", "/me/sessions/x"),
    ]);
    let query = proptest::collection::vec(
        (
            prop::sample::select(vec!["limit", "cursor", "search", "kind", "user", "client"]),
            text(),
        ),
        0..3,
    );
    runner()
        .run(
            &(target, body, bearer, query),
            |((method, path), body, bearer, query)| {
                let url = reqwest::Url::parse_with_params(&app.url(path), &query).unwrap();
                let mut req = app
                    .http
                    .request(method.parse().unwrap(), url)
                    .header("content-type", "application/json")
                    .body(body);
                if sendable(&bearer) {
                    req = req.header("authorization", bearer);
                }
                rt.block_on(check(req, true)).map(|_| ())
            },
        )
        .unwrap();
    rt.block_on(app.stop());
}
