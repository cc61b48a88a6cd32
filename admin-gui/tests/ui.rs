#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! The desktop admin driven through its real UI (egui_kittest: widgets found by role and
//! label, clicked and typed into) against a real Tessera server on a temp database.

use std::time::{Duration, Instant};

use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use tessera_admin::app::Banner;
use tessera_admin::{AdminApp, Persisted, Screen};
use tessera_client::types::{AuditKind, ClientView, KeyState, KeyView, RefreshTokenDelivery};
use tessera_tests::{ADMIN_PASSWORD, Auth, ClientSpec, TestApp, spawn_app};

struct Fixture {
    rt: tokio::runtime::Runtime,
    server: TestApp,
}

impl Fixture {
    fn new() -> Fixture {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let server = rt.block_on(spawn_app());
        Fixture { rt, server }
    }

    fn block<T>(&self, f: impl Future<Output = T>) -> T {
        self.rt.block_on(f)
    }

    fn harness(&self) -> Harness<'static, AdminApp> {
        harness_for(&self.server.base)
    }

    fn stop(self) {
        let Fixture { rt, server } = self;
        rt.block_on(server.stop());
    }
}

fn harness_for(url: &str) -> Harness<'static, AdminApp> {
    let persisted = Persisted {
        server_url: url.to_owned(),
        username: "admin".into(),
        ..Persisted::default()
    };
    Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_ui_state(
            |ui, app: &mut AdminApp| app.show(ui),
            AdminApp::new(persisted),
        )
}

/// Steps frames until `cond` holds (network answers arrive on another thread).
fn wait_until(
    h: &mut Harness<'static, AdminApp>,
    what: &str,
    cond: impl Fn(&Harness<'static, AdminApp>) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        h.step();
        if cond(h) {
            h.step();
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(15));
    }
}

fn idle(h: &mut Harness<'static, AdminApp>) {
    wait_until(h, "no request in flight", |h| !h.state().busy());
}

fn type_into(h: &mut Harness<'static, AdminApp>, label: &str, text: &str) {
    h.get_by_label(label).focus();
    h.step();
    h.get_by_label(label).type_text(text);
    h.step();
}

fn click(h: &mut Harness<'static, AdminApp>, label: &str) {
    h.get_by_label(label).click();
    // One frame handles the click; windows and modals it opens appear on the next.
    h.step();
    h.step();
}

fn has(h: &Harness<'static, AdminApp>, label: &str) -> bool {
    h.query_all_by_label(label).next().is_some()
}

fn has_containing(h: &Harness<'static, AdminApp>, text: &str) -> bool {
    h.query_all_by_label_contains(text).next().is_some()
}

fn sign_in_as(h: &mut Harness<'static, AdminApp>, user: &str, password: &str) {
    h.state_mut().persisted.username = user.to_owned();
    type_into(h, "Password", password);
    click(h, "Sign in");
}

fn sign_in(h: &mut Harness<'static, AdminApp>) {
    sign_in_as(h, "admin", ADMIN_PASSWORD);
    wait_until(h, "dashboard loaded", |h| {
        h.state().screens.dashboard.stats.is_some()
    });
}

fn open(h: &mut Harness<'static, AdminApp>, tab: &str) {
    click(h, tab);
    idle(h);
}

/// The id of a user, read from the database.
fn user_id(f: &Fixture, username: &str) -> String {
    f.block(f.server.query(&format!(
        "SELECT id FROM users WHERE username = '{username}'"
    )))[0]
        .try_get("", "id")
        .unwrap()
}

/// The user names on the sessions screen's current page.
fn session_users(h: &Harness<'static, AdminApp>) -> Option<Vec<String>> {
    let page = h.state().screens.sessions.page.as_ref()?;
    Some(
        page.items
            .iter()
            .map(|f| f.username.clone().unwrap_or_default())
            .collect(),
    )
}

/// How many keys the Keys screen lists.
fn keys_listed(h: &Harness<'static, AdminApp>) -> usize {
    h.state()
        .screens
        .keys
        .list
        .as_ref()
        .map_or(0, |l| l.items.len())
}

/// Clicks a button and runs only the frame that handles the click: its request is
/// sent, and its answer cannot have been handled yet (answers are taken at the start
/// of a frame).
fn click_and_send(h: &mut Harness<'static, AdminApp>, label: &str, nth: usize) {
    let buttons: Vec<_> = h.query_all_by_label(label).collect();
    buttons[nth].click();
    h.step();
    assert!(h.state().busy(), "the click sent a request");
}

#[test]
fn sign_in_shows_the_dashboard() {
    let f = Fixture::new();
    let mut h = f.harness();
    assert!(has(&h, "Sign in"));
    sign_in(&mut h);
    assert!(h.state().signed_in);
    assert!(has(&h, "Total users"));
    assert!(has(&h, "Live sessions"));
    assert!(has(&h, "Sign out"));
    f.stop();
}

#[test]
fn a_wrong_password_is_explained() {
    let f = Fixture::new();
    let mut h = f.harness();
    sign_in_as(&mut h, "admin", "not-the-password");
    wait_until(&mut h, "error shown", |h| h.state().login_error.is_some());
    assert!(!h.state().signed_in);
    assert!(has_containing(&h, "Sign-in refused"));
    assert!(has_containing(&h, "invalid username or password"));
    f.stop();
}

#[test]
fn an_unreachable_server_is_explained() {
    let mut h = harness_for("http://127.0.0.1:9");
    sign_in_as(&mut h, "admin", "whatever-password");
    wait_until(&mut h, "error shown", |h| h.state().login_error.is_some());
    assert!(has_containing(&h, "Cannot reach the server"));
}

#[test]
fn a_non_admin_cannot_sign_in() {
    let f = Fixture::new();
    f.block(f.server.add_user("plain", "plain-password", false));
    let mut h = f.harness();
    sign_in_as(&mut h, "plain", "plain-password");
    wait_until(&mut h, "error shown", |h| h.state().login_error.is_some());
    assert!(has_containing(&h, "administrators only"));
    f.stop();
}

#[test]
fn creating_a_user_shows_the_password_once_and_lists_the_user() {
    let f = Fixture::new();
    let mut h = f.harness();
    sign_in(&mut h);
    open(&mut h, "Users");
    click(&mut h, "New user");
    type_into(&mut h, "New username", "gina");
    click(&mut h, "Create user");
    wait_until(&mut h, "user listed", |h| has(h, "gina"));
    let secret = h
        .state()
        .screens
        .users
        .secret
        .clone()
        .expect("password shown");
    assert!(has_containing(&h, "shown once"));
    assert!(has(&h, "Copy"));
    // The shown password works at the token endpoint.
    f.block(f.server.add_client(ClientSpec::public("web")));
    f.block(f.server.login(Auth::Public("web"), "gina", &secret.1))
        .assert_ok();
    click(&mut h, "Done");
    assert!(h.state().screens.users.secret.is_none());
    f.stop();
}

#[test]
fn disabling_a_user_stops_their_sign_ins() {
    let f = Fixture::new();
    f.block(f.server.add_user("hank", "hank-password", false));
    f.block(f.server.add_client(ClientSpec::public("web")));
    let mut h = f.harness();
    sign_in(&mut h);
    open(&mut h, "Users");
    wait_until(&mut h, "users listed", |h| has(h, "hank"));
    // Rows are ordered by name: admin, hank. Click hank's Disable (the second).
    let buttons: Vec<_> = h.query_all_by_label("Disable").collect();
    assert_eq!(buttons.len(), 2);
    buttons[1].click();
    h.step();
    wait_until(&mut h, "state shown", |h| has(h, "disabled"));
    f.block(f.server.login(Auth::Public("web"), "hank", "hank-password"))
        .assert_error(400, "invalid_grant");
    f.stop();
}

#[test]
fn the_client_form_is_validated_before_sending() {
    let f = Fixture::new();
    let mut h = f.harness();
    sign_in(&mut h);
    open(&mut h, "Clients");
    click(&mut h, "New client");
    type_into(&mut h, "New client ID", "spa");
    click(&mut h, "Public client (no secret: browser or mobile app)");
    click(&mut h, "client_credentials");
    click(&mut h, "Create client");
    assert!(has_containing(
        &h,
        "a public client cannot use client_credentials"
    ));
    type_into(&mut h, "Access TTL (s)", "soon");
    click(&mut h, "client_credentials");
    click(&mut h, "password");
    click(&mut h, "Create client");
    assert!(has_containing(&h, "access_ttl: a whole number of seconds"));
    assert!(!h.state().busy(), "nothing was sent");
    let rows = f.block(
        f.server
            .query("SELECT client_id FROM clients WHERE client_id = 'spa'"),
    );
    assert!(rows.is_empty());
    f.stop();
}

#[test]
fn a_new_confidential_client_shows_its_secret_once() {
    let f = Fixture::new();
    let mut h = f.harness();
    sign_in(&mut h);
    open(&mut h, "Clients");
    click(&mut h, "New client");
    type_into(&mut h, "New client ID", "reports");
    click(&mut h, "client_credentials");
    type_into(&mut h, "Scopes (space-separated)", "reports");
    click(&mut h, "Create client");
    wait_until(&mut h, "secret shown", |h| {
        h.state().screens.clients.secret.is_some()
    });
    wait_until(&mut h, "client listed", |h| has(h, "reports"));
    let secret = h.state().screens.clients.secret.clone().unwrap().1;
    let a = f.block(f.server.token(
        Auth::Basic("reports", &secret),
        &[("grant_type", "client_credentials")],
    ));
    a.assert_ok();
    f.stop();
}

#[test]
fn server_refusals_show_a_banner() {
    let f = Fixture::new();
    let mut h = f.harness();
    sign_in(&mut h);
    open(&mut h, "Users");
    wait_until(&mut h, "users listed", |h| has(h, "admin"));
    click(&mut h, "Delete");
    assert!(has_containing(&h, "Delete user admin?"));
    click(&mut h, "Confirm");
    wait_until(&mut h, "banner", |h| h.state().shell.banner.is_some());
    assert!(has_containing(&h, "Could not delete user"));
    assert!(has_containing(&h, "last enabled administrator"));
    f.stop();
}

#[test]
fn rotating_a_key_lists_the_new_key() {
    let f = Fixture::new();
    let mut h = f.harness();
    sign_in(&mut h);
    open(&mut h, "Keys");
    wait_until(&mut h, "keys", |h| keys_listed(h) == 1);
    click(&mut h, "Rotate key");
    click(&mut h, "Confirm");
    wait_until(&mut h, "two keys", |h| keys_listed(h) == 2);
    assert_eq!(h.query_all_by_label("Retire").count(), 2);
    f.stop();
}

#[test]
fn revoking_a_session_changes_its_state() {
    let f = Fixture::new();
    f.block(f.server.add_user("ivy", "ivy-password", false));
    f.block(f.server.add_client(ClientSpec::public("web")));
    let ivy = f.block(f.server.login(Auth::Public("web"), "ivy", "ivy-password"));
    let mut h = f.harness();
    sign_in(&mut h);
    open(&mut h, "Sessions");
    wait_until(&mut h, "ivy's session", |h| has(h, "ivy"));
    // Newest first: ivy's login came before the admin's own session.
    let revoke: Vec<_> = h.query_all_by_label("Revoke").collect();
    assert_eq!(revoke.len(), 2);
    revoke[1].click();
    h.step();
    h.step();
    click(&mut h, "Confirm");
    wait_until(&mut h, "state changed", |h| has(h, "revoked (admin)"));
    f.block(
        f.server
            .refresh(Auth::Public("web"), ivy.str("refresh_token")),
    )
    .assert_error(400, "invalid_grant");
    f.stop();
}

#[test]
fn a_reuse_detected_family_shows_the_replayed_generation() {
    let f = Fixture::new();
    f.block(f.server.add_user("jack", "jack-password", false));
    f.block(f.server.add_client(ClientSpec::public("web")));
    let t0 = f.block(f.server.login(Auth::Public("web"), "jack", "jack-password"));
    let t1 = f.block(
        f.server
            .refresh(Auth::Public("web"), t0.str("refresh_token")),
    );
    t1.assert_ok();
    f.block(
        f.server
            .refresh(Auth::Public("web"), t0.str("refresh_token")),
    )
    .assert_error(400, "invalid_grant");
    let mut h = f.harness();
    sign_in(&mut h);
    open(&mut h, "Sessions");
    wait_until(&mut h, "family listed", |h| {
        has(h, "revoked (reuse_detected)")
    });
    // Jack's family is the older of the two rows.
    let details: Vec<_> = h.query_all_by_label("Details").collect();
    details[1].click();
    h.step();
    wait_until(&mut h, "chain shown", |h| {
        h.state().screens.sessions.selected.is_some()
    });
    assert!(has_containing(&h, "Generation 0 was presented again"));
    assert!(has_containing(&h, "gen   0  used"));
    assert!(has_containing(&h, "gen   1  revoked"));
    f.stop();
}

#[test]
fn the_audit_trail_lists_events_newest_first() {
    let f = Fixture::new();
    let mut h = f.harness();
    sign_in(&mut h);
    open(&mut h, "Audit");
    wait_until(&mut h, "events", |h| h.state().screens.audit.page.is_some());
    let page = h.state().screens.audit.page.clone().unwrap();
    assert!(page.items.len() >= 3);
    assert_eq!(
        page.items[0].kind,
        AuditKind::LoginSucceeded,
        "the admin's own sign-in is newest"
    );
    assert!(page.items.windows(2).all(|w| w[0].id > w[1].id));
    assert!(has(&h, "login_succeeded"));
    f.stop();
}

#[test]
fn an_ended_session_asks_to_sign_in_again() {
    let f = Fixture::new();
    let mut h = f.harness();
    sign_in(&mut h);
    // Another administrator signs everyone out (the GUI's session included).
    let admin_id = user_id(&f, "admin");
    let token = f.block(f.server.admin_token());
    f.block(f.server.send_bearer(
        reqwest::Method::POST,
        &format!("/admin/v1/users/{admin_id}/revoke-sessions"),
        &token,
        None,
    ))
    .assert_ok();
    click(&mut h, "Refresh");
    wait_until(&mut h, "back at sign-in", |h| !h.state().signed_in);
    assert!(has_containing(&h, "Your session ended"));
    assert!(has(&h, "Sign in"));
    f.stop();
}

#[test]
fn an_answer_reaches_the_screen_that_asked_after_switching() {
    let f = Fixture::new();
    f.block(f.server.add_user("hank", "hank-password", false));
    let mut h = f.harness();
    sign_in(&mut h);
    open(&mut h, "Users");
    wait_until(&mut h, "users listed", |h| has(h, "hank"));
    // Disable hank, and switch to Keys before the answer is handled.
    click_and_send(&mut h, "Disable", 1);
    h.state_mut().open(Screen::Keys);
    idle(&mut h);
    // The users screen got its answer and reloaded its own list, unseen.
    let users = h.state().screens.users.page.clone().unwrap();
    let hank = users.items.iter().find(|u| u.username == "hank").unwrap();
    assert!(hank.disabled, "the users screen reloaded after its change");
    assert_eq!(
        h.state().shell.banner,
        Some(Banner::Info("Updated hank".into()))
    );
    assert_eq!(h.state().persisted.screen, Screen::Keys);
    assert!(h.state().screens.keys.list.is_some());
    assert!(has(&h, "Signing keys"), "still on the keys screen");
    f.stop();
}

#[test]
fn a_refusal_reaches_its_form_field_after_switching() {
    let f = Fixture::new();
    let mut h = f.harness();
    sign_in(&mut h);
    open(&mut h, "Clients");
    click(&mut h, "New client");
    type_into(&mut h, "New client ID", "long-lived");
    click(&mut h, "password");
    // Valid for the form (a whole number >= 1); the server caps it at a day.
    type_into(&mut h, "Access TTL (s)", "999999");
    click_and_send(&mut h, "Create client", 0);
    h.state_mut().open(Screen::Users);
    idle(&mut h);
    // The refusal names its field (`field` of the error body): the clients form shows
    // it there; the users screen and the banner stay untouched.
    let e = h.state().screens.clients.error.clone().unwrap();
    assert_eq!(e.field, "access_ttl");
    assert!(e.message.contains("86400"), "{}", e.message);
    assert!(h.state().screens.users.form_error.is_none());
    assert!(h.state().shell.banner.is_none());
    open(&mut h, "Clients");
    assert!(has_containing(
        &h,
        "access_ttl: must be between 1 and 86400"
    ));
    f.stop();
}

#[test]
fn a_taken_username_is_shown_at_its_field() {
    let f = Fixture::new();
    let mut h = f.harness();
    sign_in(&mut h);
    open(&mut h, "Users");
    click(&mut h, "New user");
    type_into(&mut h, "New username", "admin");
    click(&mut h, "Create user");
    idle(&mut h);
    let e = h.state().screens.users.form_error.clone().unwrap();
    assert_eq!(e.field, "username");
    assert!(has_containing(
        &h,
        "username: a user named `admin` already exists"
    ));
    assert!(h.state().shell.banner.is_none());
    f.stop();
}

#[test]
fn sessions_and_audit_filter_by_user_name_or_id() {
    let f = Fixture::new();
    f.block(f.server.add_user("ivy", "ivy-password", false));
    f.block(f.server.add_user("jack", "jack-password", false));
    f.block(f.server.add_client(ClientSpec::public("web")));
    f.block(f.server.login(Auth::Public("web"), "ivy", "ivy-password"))
        .assert_ok();
    f.block(f.server.login(Auth::Public("web"), "jack", "jack-password"))
        .assert_ok();
    let jack = user_id(&f, "jack");
    let mut h = f.harness();
    sign_in(&mut h);
    open(&mut h, "Sessions");
    wait_until(&mut h, "three sessions", |h| {
        session_users(h).is_some_and(|u| u.len() == 3)
    });
    // A name is sent as `username`.
    type_into(&mut h, "User (name or ID)", "ivy");
    click(&mut h, "Apply");
    wait_until(&mut h, "ivy's session only", |h| {
        session_users(h) == Some(vec!["ivy".to_owned()])
    });
    // An id (a UUID) is sent as `user_id`.
    h.state_mut().screens.sessions.query.user.clear();
    type_into(&mut h, "User (name or ID)", &jack);
    click(&mut h, "Apply");
    wait_until(&mut h, "jack's session only", |h| {
        session_users(h) == Some(vec!["jack".to_owned()])
    });
    // A name nobody has: nothing.
    h.state_mut().screens.sessions.query.user.clear();
    type_into(&mut h, "User (name or ID)", "nobody");
    click(&mut h, "Apply");
    wait_until(&mut h, "no session", |h| {
        session_users(h).is_some_and(|u| u.is_empty())
    });

    // From the users screen: "Show sessions" of ivy (rows: admin, ivy, jack).
    open(&mut h, "Users");
    wait_until(&mut h, "users listed", |h| has(h, "jack"));
    let show: Vec<_> = h.query_all_by_label("Show sessions").collect();
    show[1].click();
    h.step();
    idle(&mut h);
    assert_eq!(h.state().persisted.screen, Screen::Sessions);
    assert_eq!(h.state().screens.sessions.query.user, "ivy");
    assert_eq!(session_users(&h), Some(vec!["ivy".to_owned()]));

    open(&mut h, "Audit");
    h.state_mut().screens.audit.auto_refresh = false;
    type_into(&mut h, "User (name or ID)", "jack");
    click(&mut h, "Apply");
    wait_until(&mut h, "jack's events only", |h| {
        h.state().screens.audit.page.as_ref().is_some_and(|p| {
            !p.items.is_empty()
                && p.items
                    .iter()
                    .all(|e| e.username.as_deref() == Some("jack"))
        })
    });
    let page = h.state().screens.audit.page.clone().unwrap();
    assert!(
        page.items
            .iter()
            .any(|e| e.kind == AuditKind::LoginSucceeded)
    );
    h.state_mut().screens.audit.query.user.clear();
    type_into(&mut h, "User (name or ID)", &jack);
    click(&mut h, "Apply");
    idle(&mut h);
    let by_id = h.state().screens.audit.page.clone().unwrap();
    assert_eq!(by_id.total, page.total, "the same events by id as by name");
    f.stop();
}

/// Picks `option` in the drop-down named `label` (a [`choose_labelled`] combo box).
///
/// [`choose_labelled`]: tessera_admin::widgets::choose_labelled
fn choose(h: &mut Harness<'static, AdminApp>, label: &str, option: &str) {
    click(h, label);
    click(h, option);
}

/// The clients on the clients screen's list, by id.
fn listed_client(h: &Harness<'static, AdminApp>, id: &str) -> Option<ClientView> {
    let page = h.state().screens.clients.page.as_ref()?;
    page.items.iter().find(|c| c.client_id == id).cloned()
}

/// Clicks the "Edit" button on the row of client `id`.
fn edit_client(h: &mut Harness<'static, AdminApp>, id: &str) {
    let page = h.state().screens.clients.page.clone().unwrap();
    let row = page.items.iter().position(|c| c.client_id == id).unwrap();
    let buttons: Vec<_> = h.query_all_by_label("Edit").collect();
    buttons[row].click();
    h.step();
    h.step();
    assert!(has(h, &format!("Edit client {id}")));
}

/// A client as the admin API returns it.
fn client_json(f: &Fixture, id: &str) -> serde_json::Value {
    let token = f.block(f.server.admin_token());
    let a = f.block(
        f.server
            .get_bearer(&format!("/admin/v1/clients/{id}"), &token),
    );
    a.assert_ok();
    a.body
}

#[test]
fn creating_and_editing_a_browser_client_with_a_refresh_cookie() {
    let f = Fixture::new();
    let mut h = f.harness();
    sign_in(&mut h);
    open(&mut h, "Clients");
    click(&mut h, "New client");
    type_into(&mut h, "New client ID", "spa");
    click(&mut h, "Public client (no secret: browser or mobile app)");
    click(&mut h, "authorization_code");
    click(&mut h, "refresh_token");
    type_into(
        &mut h,
        "Redirect URIs (one per line)",
        "http://127.0.0.1:5173/callback",
    );
    type_into(
        &mut h,
        "Allowed origins (one per line)",
        "http://127.0.0.1:5173",
    );
    choose(&mut h, "Refresh-token delivery", "cookie");
    assert!(has_containing(&h, "in an HttpOnly cookie"));
    click(&mut h, "Ask users for consent (third-party app)");
    type_into(&mut h, "Scopes (space-separated)", "openid read");
    click(&mut h, "Create client");
    wait_until(&mut h, "client listed", |h| {
        listed_client(h, "spa").is_some()
    });
    assert!(h.state().screens.clients.error.is_none());
    assert!(
        h.state().screens.clients.secret.is_none(),
        "a public client has no secret"
    );
    // The list says it in a few words.
    assert!(has(
        &h,
        "1 redirect URI, http://127.0.0.1:5173, refresh cookie, consent"
    ));
    // What the server stored.
    let c = client_json(&f, "spa");
    assert_eq!(c["public"], true);
    assert_eq!(
        c["grant_types"],
        serde_json::json!(["refresh_token", "authorization_code"])
    );
    assert_eq!(
        c["redirect_uris"],
        serde_json::json!(["http://127.0.0.1:5173/callback"])
    );
    assert_eq!(
        c["allowed_origins"],
        serde_json::json!(["http://127.0.0.1:5173"])
    );
    assert_eq!(c["refresh_token_delivery"], "cookie");
    assert_eq!(c["require_consent"], true);

    // Edit it: back to body delivery, no consent. Only the editor is open.
    click(&mut h, "New client");
    edit_client(&mut h, "spa");
    choose(&mut h, "Refresh-token delivery", "body");
    click(&mut h, "Ask users for consent (third-party app)");
    click(&mut h, "Save changes");
    wait_until(&mut h, "editor closed", |h| {
        h.state().screens.clients.editor.is_none()
    });
    idle(&mut h);
    assert_eq!(
        h.state().shell.banner,
        Some(Banner::Info("Updated client spa".into()))
    );
    let c = client_json(&f, "spa");
    assert_eq!(c["refresh_token_delivery"], "body");
    assert_eq!(c["require_consent"], false);
    assert_eq!(
        c["allowed_origins"],
        serde_json::json!(["http://127.0.0.1:5173"]),
        "what was not changed stays"
    );
    let listed = listed_client(&h, "spa").unwrap();
    assert_eq!(listed.refresh_token_delivery, RefreshTokenDelivery::Body);
    assert!(!listed.require_consent);
    f.stop();
}

#[test]
fn browser_client_refusals_are_shown_at_their_fields() {
    let f = Fixture::new();
    let mut h = f.harness();
    sign_in(&mut h);
    open(&mut h, "Clients");
    click(&mut h, "New client");
    type_into(&mut h, "New client ID", "spa");
    click(&mut h, "Public client (no secret: browser or mobile app)");
    click(&mut h, "authorization_code");
    // The form sends it: that authorization_code needs a redirect URI is the server's rule.
    click_and_send(&mut h, "Create client", 0);
    idle(&mut h);
    let e = h.state().screens.clients.error.clone().unwrap();
    assert_eq!(e.field, "redirect_uris");
    assert!(has_containing(
        &h,
        "redirect_uris: the authorization_code grant needs at least one redirect URI"
    ));
    assert!(
        h.state().shell.banner.is_none(),
        "at the field, not a banner"
    );

    // With the redirect URI, cookie delivery without an origin is refused at the origins.
    type_into(
        &mut h,
        "Redirect URIs (one per line)",
        "http://127.0.0.1:5173/callback",
    );
    click(&mut h, "refresh_token");
    choose(&mut h, "Refresh-token delivery", "cookie");
    click_and_send(&mut h, "Create client", 0);
    idle(&mut h);
    assert_eq!(
        h.state().screens.clients.error.clone().unwrap().field,
        "allowed_origins"
    );
    assert!(has_containing(
        &h,
        "allowed_origins: cookie delivery of refresh tokens needs the browser app's origin"
    ));
    assert!(
        !has_containing(&h, "redirect_uris:"),
        "the old error is gone"
    );
    let rows = f.block(
        f.server
            .query("SELECT client_id FROM clients WHERE client_id = 'spa'"),
    );
    assert!(rows.is_empty());

    // The editor shows its refusals at its own fields: the desktop admin's own client
    // keeps the password grant.
    click(&mut h, "New client");
    wait_until(&mut h, "clients listed", |h| {
        listed_client(h, "tessera-admin").is_some()
    });
    edit_client(&mut h, "tessera-admin");
    click(&mut h, "password");
    click_and_send(&mut h, "Save changes", 0);
    idle(&mut h);
    let ed = h.state().screens.clients.editor.clone().unwrap();
    assert_eq!(ed.error.unwrap().field, "grant_types");
    assert!(has_containing(
        &h,
        "grant_types: the tessera-admin client is needed by the desktop admin"
    ));
    assert!(h.state().shell.banner.is_none());
    f.stop();
}

/// Where the test's browser client sends the browser back (never followed).
const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
/// RFC 7636's example challenge: the authorize endpoint checks only its shape.
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn authorize_params() -> Vec<(&'static str, &'static str)> {
    vec![
        ("response_type", "code"),
        ("client_id", "web"),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "read"),
        ("state", "st"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]
}

/// One browser: cookies kept by hand (the harness server's cookies are `Secure`, which
/// a cookie store would not send over plain http), redirects not followed.
struct Browser {
    http: reqwest::Client,
    cookies: Vec<(String, String)>,
}

impl Browser {
    fn new(user_agent: &str) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(user_agent)
                .build()
                .unwrap(),
            cookies: Vec::new(),
        }
    }

    fn keep_cookies(&mut self, r: &reqwest::Response) {
        for v in r.headers().get_all(reqwest::header::SET_COOKIE) {
            let v = v.to_str().unwrap();
            let (name, value) = v.split(';').next().unwrap().split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != name);
            if !v.contains("Max-Age=0") {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// `GET /oauth/authorize` for the `web` client: its status.
    async fn authorize(&mut self, app: &TestApp) -> u16 {
        let r = self
            .http
            .get(app.url("/oauth/authorize"))
            .query(&authorize_params())
            .header(reqwest::header::COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep_cookies(&r);
        r.status().as_u16()
    }

    /// Signs in on the server's sign-in page, as a person would: the page, then the form.
    async fn sign_in(&mut self, app: &TestApp, user: &str, password: &str) {
        let r = self
            .http
            .get(app.url("/oauth/authorize"))
            .query(&authorize_params())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "the sign-in page");
        self.keep_cookies(&r);
        let page = r.text().await.unwrap();
        let marker = r#"name="csrf_token" value=""#;
        let start = page.find(marker).expect("csrf_token on the page") + marker.len();
        let csrf = &page[start..start + page[start..].find('"').unwrap()];
        let mut form = authorize_params();
        form.extend([
            ("csrf_token", csrf),
            ("username", user),
            ("password", password),
            ("action", "sign_in"),
        ]);
        let r = self
            .http
            .post(app.url("/oauth/authorize"))
            .header(reqwest::header::COOKIE, self.cookie_header())
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status().as_u16(),
            303,
            "signed in and sent back with a code"
        );
        self.keep_cookies(&r);
    }
}

/// The user names on the sessions screen's browser sign-in list.
fn signin_users(h: &Harness<'static, AdminApp>) -> Option<Vec<String>> {
    let page = h.state().screens.sessions.signins.as_ref()?;
    Some(
        page.items
            .iter()
            .map(|s| s.username.clone().unwrap_or_default())
            .collect(),
    )
}

#[test]
fn browser_sign_in_sessions_are_listed_filtered_and_ended() {
    let f = Fixture::new();
    f.block(f.server.add_user("ivy", "ivy-password", false));
    f.block(f.server.add_user("jack", "jack-password", false));
    let token = f.block(f.server.admin_token());
    f.block(f.server.send_bearer(
        reqwest::Method::POST,
        "/admin/v1/clients",
        &token,
        Some(serde_json::json!({
            "client_id": "web",
            "public": true,
            "grant_types": ["authorization_code", "refresh_token"],
            "scopes": ["read"],
            "redirect_uris": [REDIRECT_URI],
        })),
    ))
    .assert_ok();
    let mut ivy = Browser::new("Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0");
    let mut jack = Browser::new("Mozilla/5.0 (Macintosh) Safari/605.1.15");
    f.block(ivy.sign_in(&f.server, "ivy", "ivy-password"));
    f.block(jack.sign_in(&f.server, "jack", "jack-password"));
    // While a sign-in session lasts, authorize skips the password: a redirect with a code.
    assert_eq!(f.block(ivy.authorize(&f.server)), 302);

    let mut h = f.harness();
    sign_in(&mut h);
    open(&mut h, "Sessions");
    click(&mut h, "Browser sign-ins");
    wait_until(&mut h, "two sign-in sessions", |h| {
        signin_users(h).is_some_and(|u| u.len() == 2)
    });
    assert_eq!(signin_users(&h), Some(vec!["jack".into(), "ivy".into()]));
    assert!(has(&h, "2 browser sign-in session(s) active, newest first"));
    assert!(has_containing(&h, "Firefox/140.0"));
    assert!(has(&h, "127.0.0.1"));

    // Filtered by user, as the refresh families are.
    type_into(&mut h, "User (name or ID)", "ivy");
    click(&mut h, "Apply");
    wait_until(&mut h, "ivy's sign-in only", |h| {
        signin_users(h) == Some(vec!["ivy".to_owned()])
    });
    let ivy_id = user_id(&f, "ivy");
    h.state_mut().screens.sessions.query.user.clear();
    type_into(&mut h, "User (name or ID)", &ivy_id);
    click(&mut h, "Apply");
    wait_until(&mut h, "ivy's sign-in by id", |h| {
        signin_users(h) == Some(vec!["ivy".to_owned()])
    });

    // End it, after a confirmation.
    click(&mut h, "End");
    assert!(has_containing(
        &h,
        "End the browser sign-in session of ivy?"
    ));
    click(&mut h, "Confirm");
    wait_until(&mut h, "ivy's sign-in gone from the active list", |h| {
        signin_users(h).is_some_and(|u| u.is_empty())
    });
    idle(&mut h);
    assert_eq!(
        h.state().shell.banner,
        Some(Banner::Info(
            "Ended the browser sign-in session of ivy (admin)".into()
        ))
    );
    // Ended ones are listed on request, with their reason and no "End".
    click(&mut h, "Include ended and expired");
    click(&mut h, "Apply");
    wait_until(&mut h, "the ended session listed", |h| {
        signin_users(h) == Some(vec!["ivy".to_owned()])
    });
    assert!(has(&h, "ended (admin)"));
    assert!(!has(&h, "End"));

    // Ivy's browser must sign in again; jack's still skips the password.
    assert_eq!(f.block(ivy.authorize(&f.server)), 200, "the sign-in page");
    assert_eq!(f.block(jack.authorize(&f.server)), 302);
    f.stop();
}

/// One part of a JWT (0: its header, 1: its claims), decoded from unpadded base64url.
fn jwt_part(token: &str, i: usize) -> serde_json::Value {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let part = token.split('.').nth(i).unwrap();
    let (mut bits, mut held, mut bytes) = (0u32, 0u32, Vec::new());
    for c in part.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c).expect("base64url");
        bits = (bits << 6) | u32::try_from(v).unwrap();
        held += 6;
        if held >= 8 {
            held -= 8;
            bytes.push(u8::try_from(bits >> held).unwrap());
            bits &= (1 << held) - 1;
        }
    }
    serde_json::from_slice(&bytes).unwrap()
}

/// The key that signed an access token.
fn kid_of(token: &str) -> String {
    jwt_part(token, 0)["kid"].as_str().unwrap().to_owned()
}

/// The key ids the server publishes.
fn jwks_kids(f: &Fixture) -> Vec<String> {
    let jwks = f.block(f.server.get_json("/.well-known/jwks.json"));
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// The refresh family of the app's sign-in: the one family of the desktop admin's client
/// other than that of `token`, the test's own admin token (its `sid`).
fn app_family(f: &Fixture, token: &str) -> String {
    let own = jwt_part(token, 1)["sid"].as_str().unwrap().to_owned();
    let a = f.block(f.server.get_bearer(
        "/admin/v1/families?client_id=tessera-admin&limit=100",
        token,
    ));
    a.assert_ok();
    let ids: Vec<String> = a.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .filter(|id| *id != own)
        .collect();
    assert_eq!(ids.len(), 1, "one family besides the test's: {}", a.body);
    ids[0].clone()
}

/// A family as the admin API returns it: `family`, and its chain in `tokens`.
fn family_json(f: &Fixture, token: &str, id: &str) -> serde_json::Value {
    let a = f.block(
        f.server
            .get_bearer(&format!("/admin/v1/families/{id}"), token),
    );
    a.assert_ok();
    a.body
}

/// The audit events of `kind` about family `id`.
fn family_events(f: &Fixture, token: &str, kind: &str, id: &str) -> Vec<serde_json::Value> {
    let a = f.block(f.server.get_bearer(
        &format!("/admin/v1/audit?kind={kind}&family_id={id}&limit=100"),
        token,
    ));
    a.assert_ok();
    a.body["items"].as_array().unwrap().clone()
}

/// A key on the keys screen's list.
fn listed_key(h: &Harness<'static, AdminApp>, kid: &str) -> Option<KeyView> {
    let list = h.state().screens.keys.list.as_ref()?;
    list.items.iter().find(|k| k.kid == kid).cloned()
}

#[test]
fn signing_out_revokes_the_session_on_the_server() {
    let f = Fixture::new();
    let mut h = f.harness();
    sign_in(&mut h);
    let token = f.block(f.server.admin_token());
    let family = app_family(&f, &token);
    assert_eq!(
        family_json(&f, &token, &family)["family"]["state"],
        "active"
    );
    click(&mut h, "Sign out");
    idle(&mut h);
    assert!(!h.state().signed_in);
    assert!(has(&h, "Sign in"));
    // Ended on the server, not only forgotten by the app: the family and every refresh
    // token of its chain are revoked.
    let d = family_json(&f, &token, &family);
    assert_eq!(d["family"]["state"], "revoked", "{d}");
    assert_eq!(d["family"]["revoke_reason"], "logout", "{d}");
    let chain = d["tokens"].as_array().unwrap();
    assert!(!chain.is_empty());
    assert!(chain.iter().all(|t| t["state"] != "active"), "{d}");
    // Only the app's session: the test's own still works.
    f.block(f.server.get_bearer("/admin/v1/keys", &token))
        .assert_ok();
    f.stop();
}

#[test]
fn a_sign_out_the_server_did_not_confirm_is_explained() {
    let f = Fixture::new();
    let mut h = f.harness();
    sign_in(&mut h);
    f.stop();
    click(&mut h, "Sign out");
    wait_until(&mut h, "signed out", |h| !h.state().signed_in);
    idle(&mut h);
    assert!(has(&h, "Sign in"));
    assert!(
        has_containing(&h, "the server did not confirm that the session ended"),
        "the sign-in screen should say the session may still be live"
    );
}

#[test]
fn an_expired_access_token_is_refreshed_and_the_app_stays_signed_in() {
    let f = Fixture::new();
    let mut h = f.harness();
    sign_in(&mut h);
    let token = f.block(f.server.admin_token());
    let family = app_family(&f, &token);
    let before = family_json(&f, &token, &family)["family"]["generations"]
        .as_i64()
        .unwrap();
    assert!(family_events(&f, &token, "token_refreshed", &family).is_empty());
    // The server's clock passes the access tokens' lifetime (the refresh token's is
    // days): the app's token, issued with the test's, is now refused.
    let ttl = u64::try_from(f.server.settings.access_ttl).unwrap();
    f.server.clock.advance(Duration::from_secs(ttl + 1));
    f.block(f.server.get_bearer("/admin/v1/keys", &token))
        .assert_error(401, "invalid_token");
    open(&mut h, "Users");
    assert!(h.state().signed_in, "{:?}", h.state().login_error);
    assert_eq!(h.state().shell.banner, None);
    assert!(h.state().screens.users.page.is_some(), "the users loaded");
    assert!(has(&h, "admin"));
    // The server saw the app rotate its refresh token, in the same family.
    let token = f.block(f.server.admin_token());
    let d = family_json(&f, &token, &family);
    assert_eq!(d["family"]["state"], "active", "{d}");
    assert_eq!(d["family"]["generations"], before + 1, "{d}");
    assert_eq!(
        family_events(&f, &token, "token_refreshed", &family).len(),
        1
    );
    f.stop();
}

#[test]
fn rotating_then_retiring_a_key_in_the_ui_changes_what_the_server_accepts() {
    let f = Fixture::new();
    let mut h = f.harness();
    sign_in(&mut h);
    // Signed by the first key, as the app's token is.
    let old_token = f.block(f.server.admin_token());
    let family = app_family(&f, &old_token);
    let old = kid_of(&old_token);
    assert_eq!(jwks_kids(&f), vec![old.clone()]);
    open(&mut h, "Keys");
    wait_until(&mut h, "the first key", |h| listed_key(h, &old).is_some());

    click(&mut h, "Rotate key");
    click(&mut h, "Confirm");
    wait_until(&mut h, "two keys", |h| keys_listed(h) == 2);
    idle(&mut h);
    let list = h.state().screens.keys.list.clone().unwrap();
    let new = list
        .items
        .iter()
        .find(|k| k.kid != old)
        .unwrap()
        .kid
        .clone();
    let mut kids = jwks_kids(&f);
    kids.sort();
    let mut both = vec![old.clone(), new.clone()];
    both.sort();
    assert_eq!(
        kids, both,
        "the new key is published, the old one still verifies"
    );
    // On PostgreSQL a new key is published ahead of signing: move the server's clock to
    // its activation rather than wait.
    let ahead =
        listed_key(&h, &new).unwrap().activate_at.timestamp_millis() - f.server.clock.now_ms();
    if ahead > 0 {
        assert_eq!(listed_key(&h, &new).unwrap().state, KeyState::Pending);
        f.server
            .clock
            .advance(Duration::from_millis(u64::try_from(ahead).unwrap() + 1));
        click(&mut h, "Refresh");
        idle(&mut h);
    }
    assert_eq!(listed_key(&h, &new).unwrap().state, KeyState::Active);

    // Retire the old key: the "Retire" of its row (newest first).
    let row = list.items.iter().position(|k| k.kid == old).unwrap();
    let retire: Vec<_> = h.query_all_by_label("Retire").collect();
    assert_eq!(retire.len(), 2);
    retire[row].click();
    h.step();
    h.step();
    assert!(has_containing(&h, &format!("Retire {old} now?")));
    click(&mut h, "Confirm");
    idle(&mut h);
    // The app's own token was signed by the retired key: its reload of the list was
    // refused, and it refreshed and carried on.
    assert!(h.state().signed_in, "{:?}", h.state().login_error);
    assert_eq!(
        h.state().shell.banner,
        Some(Banner::Info(format!("Retired {old}")))
    );
    assert_eq!(listed_key(&h, &old).unwrap().state, KeyState::Retired);

    // The server: the old key is gone from the JWKS and its tokens stop verifying; new
    // tokens are signed with the new key and accepted.
    assert_eq!(jwks_kids(&f), vec![new.clone()]);
    f.block(f.server.get_bearer("/admin/v1/keys", &old_token))
        .assert_error(401, "invalid_token");
    let token = f.block(f.server.admin_token());
    assert_eq!(kid_of(&token), new);
    f.block(f.server.get_bearer("/admin/v1/keys", &token))
        .assert_ok();
    let d = family_json(&f, &token, &family);
    assert_eq!(d["family"]["state"], "active", "{d}");
    assert_eq!(d["family"]["generations"], 2, "the app refreshed once: {d}");
    f.stop();
}
