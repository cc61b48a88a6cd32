//! Refresh rotation, reuse detection, leeway, lifetimes and the concurrent race.

use std::time::Duration;

use tessera_tests::browser_flow::sid_of;
use tessera_tests::{Auth, ClientSpec, TestApp, spawn_app};

async fn setup(app: &TestApp, spec: ClientSpec<'_>) -> String {
    app.add_user("alice", "alice-password", false).await;
    app.add_client(spec).await;
    let a = app
        .login(Auth::Public(spec.id), "alice", "alice-password")
        .await;
    a.assert_ok();
    a.str("refresh_token").to_owned()
}

async fn family_state(app: &TestApp, family: &str) -> (Option<i64>, Option<String>) {
    let rows = app
        .query(&format!(
            "SELECT revoked_at, revoke_reason FROM refresh_families WHERE id = '{family}'"
        ))
        .await;
    (
        rows[0].try_get("", "revoked_at").unwrap(),
        rows[0].try_get("", "revoke_reason").unwrap(),
    )
}

#[tokio::test]
async fn rotation_over_many_generations_keeps_one_family() {
    let app = spawn_app().await;
    let mut rt = setup(&app, ClientSpec::public("web")).await;
    let mut sid = None;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..25 {
        let a = app.refresh(Auth::Public("web"), &rt).await;
        a.assert_ok();
        assert_eq!(a.headers["cache-control"], "no-store");
        let next = a.str("refresh_token").to_owned();
        assert_ne!(next, rt, "every refresh rotates");
        assert!(seen.insert(next.clone()));
        let s = sid_of(a.str("access_token"));
        assert_eq!(sid.get_or_insert(s.clone()), &s, "same family throughout");
        rt = next;
    }
    let sid = sid.unwrap();
    let rows = app
        .query(&format!(
            "SELECT MAX(generation) AS g, COUNT(*) AS n FROM refresh_tokens WHERE family_id = '{sid}'"
        ))
        .await;
    assert_eq!(
        rows[0]
            .try_get::<i32>("", "g")
            .unwrap_or_else(|_| rows[0].try_get::<i64>("", "g").unwrap() as i32),
        25
    );
    assert_eq!(family_state(&app, &sid).await, (None, None));
    app.stop().await;
}

#[tokio::test]
async fn replaying_an_old_token_revokes_the_whole_family() {
    let app = spawn_app().await;
    let t0 = setup(&app, ClientSpec::public("web")).await;
    let a1 = app.refresh(Auth::Public("web"), &t0).await;
    a1.assert_ok();
    let t1 = a1.str("refresh_token").to_owned();
    let sid = sid_of(a1.str("access_token"));
    let a2 = app.refresh(Auth::Public("web"), &t1).await;
    a2.assert_ok();
    let t2 = a2.str("refresh_token").to_owned();

    // The thief (or the victim) presents t0 again.
    let replay = app.refresh(Auth::Public("web"), &t0).await;
    replay.assert_error(400, "invalid_grant");
    assert!(
        replay.body["error_description"]
            .as_str()
            .unwrap()
            .contains("reuse")
    );
    // The newest token of the family is dead too.
    app.refresh(Auth::Public("web"), &t2)
        .await
        .assert_error(400, "invalid_grant");
    let (revoked_at, reason) = family_state(&app, &sid).await;
    assert!(revoked_at.is_some());
    assert_eq!(reason.as_deref(), Some("reuse_detected"));

    let audit = app
        .query(&format!(
            "SELECT kind, reason, client_id, ip, detail FROM audit_events WHERE family_id = '{sid}' ORDER BY id"
        ))
        .await;
    let kinds: Vec<String> = audit
        .iter()
        .map(|r| r.try_get("", "kind").unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "login_succeeded",
            "token_refreshed",
            "token_refreshed",
            "reuse_detected",
            "family_revoked"
        ]
    );
    let r = &audit[3];
    assert_eq!(r.try_get::<String>("", "reason").unwrap(), "reuse_detected");
    assert_eq!(r.try_get::<String>("", "client_id").unwrap(), "web");
    assert_eq!(r.try_get::<String>("", "ip").unwrap(), "127.0.0.1");
    let detail: String = r.try_get("", "detail").unwrap();
    assert!(detail.contains("\"generation\":0"), "{detail}");
    // No token value ever reaches the audit trail.
    let all = app.query("SELECT detail FROM audit_events").await;
    for row in all {
        let d: Option<String> = row.try_get("", "detail").unwrap();
        let d = d.unwrap_or_default();
        for t in [&t0, &t1, &t2] {
            assert!(!d.contains(t.as_str()));
        }
        assert!(!d.contains("tsr_"));
    }
    // A second replay is still refused and writes no second revocation.
    app.refresh(Auth::Public("web"), &t1)
        .await
        .assert_error(400, "invalid_grant");
    let n = app
        .query(&format!(
            "SELECT id FROM audit_events WHERE family_id = '{sid}' AND kind = 'family_revoked'"
        ))
        .await
        .len();
    assert_eq!(n, 1);
    app.stop().await;
}

#[tokio::test]
async fn leeway_allows_a_retry_with_one_live_chain() {
    let app = spawn_app().await;
    let spec = ClientSpec {
        reuse_leeway: Some(10),
        ..ClientSpec::public("mobile")
    };
    let t0 = setup(&app, spec).await;
    let a1 = app.refresh(Auth::Public("mobile"), &t0).await;
    a1.assert_ok();
    let t1 = a1.str("refresh_token").to_owned();
    // The response carrying t1 was "lost"; the client retries with t0 within the leeway.
    app.clock.advance(Duration::from_secs(3));
    let a2 = app.refresh(Auth::Public("mobile"), &t0).await;
    a2.assert_ok();
    let t2 = a2.str("refresh_token").to_owned();
    assert_ne!(t1, t2);
    // The chain goes on from t2.
    let a3 = app.refresh(Auth::Public("mobile"), &t2).await;
    a3.assert_ok();
    let t3 = a3.str("refresh_token").to_owned();
    // t1 was invalidated by the retry: presenting it is a replay.
    app.refresh(Auth::Public("mobile"), &t1)
        .await
        .assert_error(400, "invalid_grant");
    app.refresh(Auth::Public("mobile"), &t3)
        .await
        .assert_error(400, "invalid_grant");
    let sid = sid_of(a1.str("access_token"));
    assert_eq!(
        family_state(&app, &sid).await.1.as_deref(),
        Some("reuse_detected")
    );
    app.stop().await;
}

#[tokio::test]
async fn leeway_does_not_cover_a_child_already_used_or_a_late_retry() {
    let app = spawn_app().await;
    let spec = ClientSpec {
        reuse_leeway: Some(10),
        ..ClientSpec::public("mobile")
    };
    app.add_user("bob", "bob-password", false).await;
    let t0 = setup(&app, spec).await;
    let t1 = app
        .refresh(Auth::Public("mobile"), &t0)
        .await
        .str("refresh_token")
        .to_owned();
    app.refresh(Auth::Public("mobile"), &t1).await.assert_ok();
    // t1 (the child of t0) was used: t0 again is a replay even within the leeway.
    app.refresh(Auth::Public("mobile"), &t0)
        .await
        .assert_error(400, "invalid_grant");

    // A retry after the leeway has passed is a replay.
    let b = app
        .login(Auth::Public("mobile"), "bob", "bob-password")
        .await;
    let u0 = b.str("refresh_token").to_owned();
    let u1 = app
        .refresh(Auth::Public("mobile"), &u0)
        .await
        .str("refresh_token")
        .to_owned();
    app.clock.advance(Duration::from_secs(11));
    app.refresh(Auth::Public("mobile"), &u0)
        .await
        .assert_error(400, "invalid_grant");
    app.refresh(Auth::Public("mobile"), &u1)
        .await
        .assert_error(400, "invalid_grant");
    app.stop().await;
}

#[tokio::test]
async fn a_token_presented_by_another_client_is_refused_without_killing_the_family() {
    let app = spawn_app().await;
    let t0 = setup(&app, ClientSpec::public("web")).await;
    app.add_client(ClientSpec::public("other")).await;
    app.refresh(Auth::Public("other"), &t0)
        .await
        .assert_error(400, "invalid_grant");
    app.refresh(Auth::Public("web"), &t0).await.assert_ok();
    app.stop().await;
}

#[tokio::test]
async fn idle_and_absolute_lifetimes_expire_tokens() {
    let app = spawn_app().await;
    let spec = ClientSpec {
        refresh_idle_ttl: Some(60),
        refresh_absolute_ttl: Some(150),
        ..ClientSpec::public("web")
    };
    let t0 = setup(&app, spec).await;
    // Idle: a token unused for longer than 60 s is dead.
    app.clock.advance(Duration::from_secs(61));
    app.refresh(Auth::Public("web"), &t0)
        .await
        .assert_error(400, "invalid_grant");

    // Absolute: rotating every 50 s keeps the family alive only until 150 s.
    let a = app
        .login(Auth::Public("web"), "alice", "alice-password")
        .await;
    let mut rt = a.str("refresh_token").to_owned();
    for _ in 0..2 {
        app.clock.advance(Duration::from_secs(50));
        let r = app.refresh(Auth::Public("web"), &rt).await;
        r.assert_ok();
        rt = r.str("refresh_token").to_owned();
    }
    app.clock.advance(Duration::from_secs(51));
    app.refresh(Auth::Public("web"), &rt)
        .await
        .assert_error(400, "invalid_grant");
    app.stop().await;
}

#[tokio::test]
async fn refresh_may_narrow_but_not_widen_the_scope() {
    let app = spawn_app().await;
    let t0 = setup(&app, ClientSpec::public("web")).await;
    let r = app
        .token(
            Auth::Public("web"),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &t0),
                ("scope", "read"),
            ],
        )
        .await;
    r.assert_ok();
    assert_eq!(r.str("scope"), "read");
    let t1 = r.str("refresh_token").to_owned();
    let bad = app
        .token(
            Auth::Public("web"),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &t1),
                ("scope", "read admin"),
            ],
        )
        .await;
    bad.assert_error(400, "invalid_scope");
    // The refused request did not spend the token, and the family keeps its full scope.
    let again = app.refresh(Auth::Public("web"), &t1).await;
    again.assert_ok();
    assert_eq!(again.str("scope"), "read write");
    app.stop().await;
}

/// The `family_revoked` audit rows of a family.
async fn revocations(app: &TestApp, family: &str) -> usize {
    app.query(&format!(
        "SELECT id FROM audit_events WHERE family_id = '{family}' AND kind = 'family_revoked'"
    ))
    .await
    .len()
}

/// Fifty exchanges of one token at once, on a multi-threaded runtime, spread over two
/// server instances on one database (as behind a load balancer), with other sessions
/// rotating beside them: exactly one wins, every other is `invalid_grant`, the family is
/// revoked on both instances, and the trail holds exactly one `family_revoked` row for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_exchanges_of_one_token_yield_exactly_one_success() {
    let a = spawn_app().await;
    a.add_user("alice", "alice-password", false).await;
    a.add_client(ClientSpec::public("web")).await;
    for i in 0..4 {
        a.add_user(&format!("load{i}"), "load-password", false)
            .await;
    }
    let b = a.another_instance().await;
    let instances = [&a, &b];
    for round in 0..3 {
        let target = a
            .login(Auth::Public("web"), "alice", "alice-password")
            .await;
        let rt = target.str("refresh_token").to_owned();
        let family = sid_of(target.str("access_token"));
        let mut load_tokens = Vec::new();
        for i in 0..4 {
            let t = b
                .login(Auth::Public("web"), &format!("load{i}"), "load-password")
                .await;
            load_tokens.push(t.str("refresh_token").to_owned());
        }
        let racers = (0..50).map(|i| {
            let app = instances[i % 2];
            let rt = rt.clone();
            async move { app.refresh(Auth::Public("web"), &rt).await }
        });
        let load = load_tokens.into_iter().enumerate().map(|(i, mut t)| {
            let app = instances[i % 2];
            async move {
                for _ in 0..10 {
                    let r = app.refresh(Auth::Public("web"), &t).await;
                    r.assert_ok();
                    t = r.str("refresh_token").to_owned();
                }
            }
        });
        let (answers, _) = tokio::join!(
            futures::future::join_all(racers),
            futures::future::join_all(load)
        );
        let ok = answers.iter().filter(|r| r.status == 200).count();
        assert_eq!(ok, 1, "round {round}: exactly one exchange wins");
        for r in answers.iter().filter(|r| r.status != 200) {
            r.assert_error(400, "invalid_grant");
        }
        // The losers were replays, so the family is revoked, the winner's token included,
        // on either instance.
        let winner = answers.iter().find(|r| r.status == 200).unwrap();
        for app in instances {
            app.refresh(Auth::Public("web"), winner.str("refresh_token"))
                .await
                .assert_error(400, "invalid_grant");
        }
        assert_eq!(revocations(&a, &family).await, 1, "round {round}");
    }
    b.stop().await;
    a.stop().await;
}

/// A token rotated on one instance and replayed on another revokes the family
/// everywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_on_another_instance_revokes_the_family_everywhere() {
    let a = spawn_app().await;
    a.add_user("alice", "alice-password", false).await;
    a.add_client(ClientSpec::public("web")).await;
    let b = a.another_instance().await;
    let t0 = a
        .login(Auth::Public("web"), "alice", "alice-password")
        .await;
    let family = sid_of(t0.str("access_token"));
    let t1 = a
        .refresh(Auth::Public("web"), t0.str("refresh_token"))
        .await;
    t1.assert_ok();
    b.refresh(Auth::Public("web"), t0.str("refresh_token"))
        .await
        .assert_error(400, "invalid_grant");
    a.refresh(Auth::Public("web"), t1.str("refresh_token"))
        .await
        .assert_error(400, "invalid_grant");
    assert_eq!(revocations(&b, &family).await, 1);
    b.stop().await;
    a.stop().await;
}

/// The undo of a rotation whose access token could not be signed: the child is gone and
/// the parent works again, so the client's retry with the token it holds is no replay.
#[tokio::test]
async fn an_undone_rotation_leaves_the_presented_token_usable() {
    use tessera_server::domain::RefreshTokenValue;
    let app = spawn_app().await;
    setup(&app, ClientSpec::public("web")).await;
    let first = app
        .login(Auth::Public("web"), "alice", "alice-password")
        .await;
    first.assert_ok();
    let parent = first.str("refresh_token").to_owned();
    let second = app.refresh(Auth::Public("web"), &parent).await;
    second.assert_ok();
    let child = second.str("refresh_token").to_owned();
    let parent_hash = RefreshTokenValue::parse(&parent).unwrap().hash();
    let child_hash = RefreshTokenValue::parse(&child).unwrap().hash();
    let row = &app
        .query(&format!(
            "SELECT id FROM refresh_tokens WHERE token_hash = '{parent_hash}'"
        ))
        .await[0];
    let parent_id: i64 = row.try_get("", "id").unwrap();
    tessera_server::store::rotation::unspend(&app.state().db.write, parent_id, &child_hash)
        .await
        .unwrap();
    app.refresh(Auth::Public("web"), &child)
        .await
        .assert_error(400, "invalid_grant");
    let again = app.refresh(Auth::Public("web"), &parent).await;
    again.assert_ok();
    app.refresh(Auth::Public("web"), again.str("refresh_token"))
        .await
        .assert_ok();
    app.stop().await;
}

/// Instances started together on an empty PostgreSQL database make one first signing key
/// between them, not one each: each would sign with its own, which the others publish
/// only at their next reload (`bootstrap::run`, under an advisory lock). Eight
/// bootstraps, each on its own pool as an instance would be, race on one migrated,
/// empty database. PostgreSQL only: a SQLite file has one server.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_started_together_make_one_first_key() {
    let (settings, _dir) = tessera_tests::test_settings().await;
    if !settings.is_postgres() {
        return;
    }
    use tessera_server::store::Db;
    let url = settings.database_url.clone();
    let first = Db::connect(&url, 2).await.unwrap();
    first.migrate_up().await.unwrap();
    let instances = futures::future::try_join_all((0..8).map(|_| Db::connect(&url, 2)))
        .await
        .unwrap();
    let clock = tessera_server::clock::Clock::default();
    futures::future::try_join_all(instances.iter().map(|db| {
        tessera_server::bootstrap::run(db, &settings, &clock, Some("first-key-admin".into()))
    }))
    .await
    .unwrap();
    let keys = tessera_server::store::keys::list(&first.read)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "one first key, not one per instance");
    for db in instances {
        db.close().await;
    }
    first.close().await;
}
