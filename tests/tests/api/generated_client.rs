//! The progenitor-generated client (`tessera-client`, built from the committed spec)
//! against the real server: the spec is usable by a standard generator.

use tessera_client::{Client, types, with_bearer};
use tessera_tests::{ADMIN_PASSWORD, spawn_app};

#[tokio::test]
async fn generated_client_signs_in_and_administers() {
    let app = spawn_app().await;
    let anon = Client::new(&app.base);

    let meta = anon.server_metadata().send().await.unwrap().into_inner();
    assert_eq!(meta.issuer, app.base);
    let jwks = anon.jwks().send().await.unwrap().into_inner();
    assert_eq!(jwks.keys.len(), 1);

    // The form-encoded token endpoint.
    let tokens = anon
        .token()
        .body(types::TokenRequest {
            grant_type: "password".into(),
            code: None,
            code_verifier: None,
            redirect_uri: None,
            username: Some("admin".into()),
            password: Some(ADMIN_PASSWORD.into()),
            client_id: Some("tessera-admin".into()),
            client_secret: None,
            refresh_token: None,
            scope: None,
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(tokens.token_type, "Bearer");

    // Errors arrive as the typed error body.
    let err = anon
        .token()
        .body(types::TokenRequest {
            grant_type: "password".into(),
            code: None,
            code_verifier: None,
            redirect_uri: None,
            username: Some("admin".into()),
            password: Some("wrong-password".into()),
            client_id: Some("tessera-admin".into()),
            client_secret: None,
            refresh_token: None,
            scope: None,
        })
        .send()
        .await
        .unwrap_err();
    match err {
        tessera_client::Error::ErrorResponse(r) => {
            assert_eq!(r.status().as_u16(), 400);
            assert_eq!(r.error, "invalid_grant");
        }
        other => panic!("unexpected {other:?}"),
    }

    // The admin API with the bearer token on the reqwest client.
    let admin = Client::new_with_client(&app.base, with_bearer(&tokens.access_token).unwrap());
    let created = admin
        .admin_create_user()
        .body(types::CreateUser {
            username: "gina".into(),
            password: None,
            is_admin: false,
        })
        .send()
        .await
        .unwrap()
        .into_inner();
    assert!(created.generated_password.is_some());
    let page = admin
        .admin_list_users()
        .search("gin")
        .limit(10)
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.total, 1);
    assert_eq!(page.items[0].username, "gina");
    let fams = admin
        .admin_list_families()
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fams.total, 1);
    let stats = admin.admin_stats().send().await.unwrap().into_inner();
    assert_eq!(stats.totals.users, 2);
    let keys = admin.admin_list_keys().send().await.unwrap().into_inner();
    assert_eq!(keys.items[0].state, tessera_client::types::KeyState::Active);
    let not_found = admin.admin_get_user().id("nope").send().await.unwrap_err();
    assert_eq!(not_found.status().map(|s| s.as_u16()), Some(404));
    app.stop().await;
}
