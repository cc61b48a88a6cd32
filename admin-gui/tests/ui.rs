#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! The desktop admin driven through its real UI (egui_kittest: widgets found by role and
//! label, clicked and typed into) against a real Tessera server on a temp database.

use std::time::{Duration, Instant};

use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use tessera_admin::app::Banner;
use tessera_admin::{AdminApp, Persisted, Screen};
use tessera_client::types::AuditKind;
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
    assert!(has_containing(&h, "only granted to administrators"));
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
    wait_until(&mut h, "keys", |h| {
        h.state()
            .screens
            .keys
            .list
            .as_ref()
            .is_some_and(|l| l.items.len() == 1)
    });
    click(&mut h, "Rotate key");
    click(&mut h, "Confirm");
    wait_until(&mut h, "two keys", |h| {
        h.state()
            .screens
            .keys
            .list
            .as_ref()
            .is_some_and(|l| l.items.len() == 2)
    });
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
