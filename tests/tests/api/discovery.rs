//! Discovery metadata, JWKS, health probes and the OpenAPI document.

use serde_json::Value;
use tessera_tests::spawn_app;

#[tokio::test]
async fn metadata_lists_exactly_what_is_supported() {
    let app = spawn_app().await;
    let resp = app
        .http
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let m: Value = resp.json().await.unwrap();
    assert_eq!(m["issuer"], app.base.as_str());
    assert_eq!(m["token_endpoint"], format!("{}/oauth/token", app.base));
    assert_eq!(m["jwks_uri"], format!("{}/.well-known/jwks.json", app.base));
    assert_eq!(
        m["grant_types_supported"],
        serde_json::json!([
            "authorization_code",
            "password",
            "refresh_token",
            "client_credentials"
        ])
    );
    assert_eq!(
        m["authorization_endpoint"],
        format!("{}/oauth/authorize", app.base)
    );
    assert_eq!(m["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        m["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(m["authorization_response_iss_parameter_supported"], true);
    assert_eq!(
        m["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post", "none"])
    );
    assert_eq!(
        m["access_token_signing_alg_values_supported"],
        serde_json::json!(["ES256"])
    );
    app.stop().await;
}

#[tokio::test]
async fn jwks_is_cacheable_and_public_only() {
    let app = spawn_app().await;
    let resp = app
        .http
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let v: Value = resp.json().await.unwrap();
    let keys = v["keys"].as_array().unwrap();
    assert!(!keys.is_empty(), "the bootstrap key is published");
    for k in keys {
        assert!(k.get("d").is_none());
        assert_eq!(k["use"], "sig");
        assert!(k["kid"].is_string());
    }
    app.stop().await;
}

#[tokio::test]
async fn health_probes() {
    let app = spawn_app().await;
    for path in ["/healthz", "/readyz"] {
        let resp = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["status"], "ok");
    }
    app.stop().await;
}

#[tokio::test]
async fn served_spec_and_swagger_ui() {
    let app = spawn_app().await;
    let served: Value = app.get_json("/openapi.json").await;
    let printed: Value = serde_json::from_str(&tessera_server::api::spec_json()).unwrap();
    assert_eq!(served, printed, "/openapi.json equals `tessera openapi`");
    assert!(served["openapi"].as_str().unwrap().starts_with("3."));
    let docs = app.http.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"));
    app.stop().await;
}

#[test]
fn committed_spec_matches_the_code() {
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../openapi/openapi.json"
    ))
    .expect("openapi/openapi.json exists");
    let committed: Value = serde_json::from_str(&committed).expect("valid JSON");
    let current: Value = serde_json::from_str(&tessera_server::api::spec_json()).unwrap();
    assert!(
        committed == current,
        "openapi/openapi.json is stale; regenerate it with:\n  \
         cargo run -q --bin tessera -- openapi > openapi/openapi.json"
    );
}

#[test]
fn every_operation_is_documented_for_generators() {
    let spec: Value = serde_json::from_str(&tessera_server::api::spec_json()).unwrap();
    let mut ops = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ops += 1;
            let name = format!("{method} {path}");
            assert!(op["operationId"].is_string(), "{name}: operationId");
            assert!(
                op["summary"].as_str().is_some_and(|s| !s.is_empty()),
                "{name}: summary"
            );
            assert!(
                op["tags"].as_array().is_some_and(|t| !t.is_empty()),
                "{name}: tags"
            );
            let responses = op["responses"].as_object().unwrap();
            let mut success = std::collections::HashSet::new();
            let mut errors = std::collections::HashSet::new();
            for (status, r) in responses {
                let schema = r["content"]
                    .as_object()
                    .and_then(|c| c.values().next())
                    .map(|c| c["schema"].to_string());
                if status.starts_with('2') {
                    success.insert(schema);
                } else {
                    errors.insert(schema);
                }
            }
            assert_eq!(success.len(), 1, "{name}: one success body type");
            assert!(!errors.is_empty(), "{name}: documented errors");
            if path.starts_with("/oauth/")
                || path.starts_with("/admin/")
                || path.starts_with("/me/")
            {
                assert_eq!(errors.len(), 1, "{name}: one error body type: {errors:?}");
                assert!(
                    op["security"].as_array().is_some_and(|s| !s.is_empty()),
                    "{name}: security"
                );
            }
        }
    }
    assert!(ops >= 30, "{ops} operations");
}
