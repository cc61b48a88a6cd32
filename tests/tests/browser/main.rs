#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

//! Real-browser tests: the demo single-page app (`demo/`, served from a second origin on
//! 127.0.0.1, the same site as the server) signs in through Tessera's own pages in headless
//! Chromium driven over WebDriver, with the SDK served by the server (`/sdk/tessera.js`).
//!
//! Needs `chromium` and `chromedriver` (`scripts/browser-deps.sh`); without them the tests
//! skip with a message, unless `CI` is set. `TESSERA_SCREENSHOTS=<dir>` saves screenshots of
//! the sign-in page, the consent page and the signed-in demo. The SDK's unit tests under node
//! (`sdk.test.mjs`) run here too.

mod support;

use std::path::PathBuf;
use std::process::Command;

use fantoccini::Client;
use fantoccini::cookies::Cookie;
use reqwest::Method;
use serde_json::{Value, json};
use support::{Driver, click, js, screenshot, tools, type_into, wait_until};
use tessera_tests::{TestApp, spawn_app};
use tokio::sync::Mutex;

/// One browser at a time: two Chromiums on a small machine make the timing checks flaky.
static BROWSER: Mutex<()> = Mutex::const_new(());

const PASSWORD: &str = "correct horse battery staple";

fn repo_dir(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

/// A JavaScript string literal.
fn lit(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// Registers a public cookie client for the demo's origin through the admin API.
async fn add_spa_client(app: &TestApp, admin: &str, id: &str, origin: &str, consent: bool) {
    let created = app
        .send_bearer(
            Method::POST,
            "/admin/v1/clients",
            admin,
            Some(json!({
                "client_id": id,
                "public": true,
                "grant_types": ["authorization_code", "refresh_token"],
                "scopes": ["read"],
                "redirect_uris": [format!("{origin}/")],
                "allowed_origins": [origin],
                "refresh_token_delivery": "cookie",
                "require_consent": consent,
            })),
        )
        .await;
    created.assert_ok();
    assert_eq!(created.body["client"]["refresh_token_delivery"], "cookie");
    assert!(created.body["client_secret"].is_null(), "a public client");
}

/// A cookie's SameSite attribute, spelled as in `Set-Cookie`.
fn same_site(c: &Cookie<'_>) -> Option<String> {
    c.same_site().map(|s| s.to_string())
}

/// An admin API GET.
async fn admin_get(app: &TestApp, admin: &str, path: &str) -> Value {
    let a = app.get_bearer(path, admin).await;
    a.assert_ok();
    a.body
}

/// Everything one test needs: the server, the demo's origin, a browser.
struct World {
    app: TestApp,
    admin: String,
    demo: String,
    c: Client,
    _driver: Driver,
}

impl World {
    /// Starts the server, serves `demo/`, registers `clients` (id, consent) and the user
    /// `alice`, and opens a browser; `None` when the browser is missing (skip).
    async fn start(clients: &[(&str, bool)]) -> Option<World> {
        let tools = tools()?;
        let app = spawn_app().await;
        let admin = app.admin_token().await;
        let demo = support::serve_dir(repo_dir("demo")).await;
        for (id, consent) in clients {
            add_spa_client(&app, &admin, id, &demo, *consent).await;
        }
        app.add_user("alice", PASSWORD, false).await;
        let driver = Driver::start(&tools).await;
        let c = driver.browser().await;
        Some(World {
            app,
            admin,
            demo,
            c,
            _driver: driver,
        })
    }

    /// The demo's URL for one client of this server.
    fn demo_url(&self, client_id: &str) -> String {
        let issuer = &self.app.base;
        format!("{}/?issuer={issuer}&client_id={client_id}", self.demo)
    }

    /// Waits until the demo page has loaded and asked the SDK for a token.
    async fn demo_ready(&self) {
        let cond = format!(
            "location.origin === {} && document.body && document.body.dataset.ready === 'true'",
            lit(&self.demo)
        );
        wait_until(&self.c, "the demo app", &cond).await;
    }

    /// `signed-in` or `signed-out`, as the demo shows it.
    async fn demo_state(&self) -> String {
        let v = js(
            &self.c,
            "return document.getElementById('status').dataset.state",
            vec![],
        )
        .await;
        v.as_str().unwrap().to_owned()
    }

    async fn claims(&self) -> Value {
        js(&self.c, "return window.demo.auth.claims", vec![]).await
    }

    /// Waits for Tessera's sign-in page.
    async fn on_sign_in_page(&self) {
        let cond = format!(
            "location.href.startsWith({}) && document.querySelector('input[name=password]')",
            lit(&self.app.url("/oauth/authorize"))
        );
        wait_until(&self.c, "Tessera's sign-in page", &cond).await;
    }

    /// Fills in and submits the sign-in form.
    async fn submit_password(&self) {
        // Labelled fields (the contract): each input has a <label for=...>.
        let labelled = js(
            &self.c,
            "return ['username', 'password'].every(n => { \
               const i = document.querySelector(`input[name=${n}]`); \
               return i && i.id && document.querySelector(`label[for='${i.id}']`); })",
            vec![],
        )
        .await;
        assert_eq!(labelled, true, "the sign-in fields have labels");
        type_into(&self.c, "input[name=username]", "alice").await;
        type_into(&self.c, "input[name=password]", PASSWORD).await;
        click(&self.c, "button[name=action][value=sign_in]").await;
    }

    /// The family (refresh session) with this id, through the admin API.
    async fn family(&self, id: &str) -> Value {
        let detail = admin_get(&self.app, &self.admin, &format!("/admin/v1/families/{id}")).await;
        detail["family"].clone()
    }

    /// The Tessera cookies the browser holds for 127.0.0.1 (WebDriver sees HttpOnly ones).
    async fn cookies(&self) -> Vec<Cookie<'static>> {
        let all = self.c.get_all_cookies().await.unwrap();
        all.into_iter()
            .filter(|c| c.name().contains("tessera"))
            .collect()
    }

    async fn finish(self) {
        let _ = self.c.close().await;
        self.app.stop().await;
    }
}

/// Where page JavaScript could find a secret: the tab's cookies and storage, the SDK object
/// and what it hands out, and the page itself.
const SNOOP: &str = r#"
return (async () => {
  const auth = window.demo.auth;
  const token = await auth.getAccessToken();
  const props = {};
  for (const k of Object.getOwnPropertyNames(auth)) props[k] = String(auth[k]);
  const places = {
    cookie: document.cookie,
    localStorage: JSON.stringify(Object.entries(localStorage)),
    sessionStorage: JSON.stringify(Object.entries(sessionStorage)),
    sdkJson: JSON.stringify(auth),
    sdkProps: JSON.stringify(props),
    claims: JSON.stringify(auth.claims),
    accessToken: String(token),
    html: document.documentElement.outerHTML,
    url: location.href,
    windowName: window.name,
  };
  return { places, token };
})()
"#;

/// Arms a refresh in this tab at the wall-clock instant `arguments[0]` (ms since the epoch);
/// its outcome lands in `window.__round`, with the token request's start and end taken from
/// Resource Timing (absolute ms).
const ARM_REFRESH: &str = r#"
const at = arguments[0];
window.__round = null;
setTimeout(async () => {
  const fired = Date.now();
  try {
    const token = await window.demo.auth.refresh();
    await new Promise(r => setTimeout(r, 50));
    const req = performance.getEntriesByType('resource')
      .filter(e => e.name.endsWith('/oauth/token')).pop();
    const claims = window.demo.auth.claims;
    window.__round = {
      fired, ok: token !== null, sid: claims && claims.sid, jti: claims && claims.jti,
      start: performance.timeOrigin + req.startTime,
      end: performance.timeOrigin + req.responseEnd,
    };
  } catch (e) {
    window.__round = { fired, error: String(e) };
  }
  window.demo.render();
}, Math.max(0, at - Date.now()));
return true;
"#;

/// GET /me/sessions through the SDK: the status.
const CALL_ME: &str = r#"
return (async () => {
  const r = await window.demo.auth.fetch(window.demo.config.issuer + '/me/sessions');
  return r.status;
})()
"#;

#[tokio::test]
async fn spa_signs_in_refreshes_across_tabs_and_signs_out() {
    let _one = BROWSER.lock().await;
    let Some(w) = World::start(&[("spa-test", false)]).await else {
        return;
    };
    let c = &w.c;

    // Signed out at first; Sign in goes to Tessera's page.
    c.goto(&w.demo_url("spa-test")).await.unwrap();
    w.demo_ready().await;
    assert_eq!(w.demo_state().await, "signed-out");
    click(c, "#sign-in").await;
    w.on_sign_in_page().await;
    screenshot(c, "signin.png").await;
    w.submit_password().await;

    // Back in the app, signed in, the code and state gone from the address bar.
    w.demo_ready().await;
    assert_eq!(
        w.demo_state().await,
        "signed-in",
        "signed in after the sign-in page"
    );
    let search = js(c, "return location.search", vec![]).await;
    assert_eq!(search, "", "code, state and iss removed from the URL");
    let claims = w.claims().await;
    assert_eq!(claims["client_id"], "spa-test");
    assert_eq!(claims["iss"], w.app.base.as_str());
    assert_eq!(claims["scope"], "read");
    let sid = claims["sid"].as_str().unwrap().to_owned();

    // The bearer token works against /me/sessions (the demo's button).
    click(c, "#call").await;
    wait_until(
        c,
        "the /me/sessions answer",
        "document.getElementById('output-title').textContent.includes('200')",
    )
    .await;
    let shown = js(
        c,
        "return document.getElementById('output').textContent",
        vec![],
    )
    .await;
    let sessions: Value = serde_json::from_str(shown.as_str().unwrap()).unwrap();
    let list = sessions["sessions"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{sessions}");
    assert_eq!(list[0]["id"], sid.as_str());
    assert_eq!(list[0]["client_id"], "spa-test");
    assert_eq!(list[0]["current"], true);
    screenshot(c, "demo.png").await;

    // The refresh token exists, as an HttpOnly, Secure, SameSite=Strict cookie for the whole
    // host; the sign-in session cookie is HttpOnly and SameSite=Lax.
    let cookies = w.cookies().await;
    let named = |suffix: &str| {
        cookies
            .iter()
            .find(|c| c.name().ends_with(suffix))
            .unwrap_or_else(|| panic!("no {suffix} cookie among {cookies:?}"))
    };
    let rt = named("tessera-rt-spa-test");
    assert_eq!(rt.name(), "__Host-tessera-rt-spa-test");
    assert!(rt.value().starts_with("tsr_"), "{rt:?}");
    assert_eq!(rt.http_only(), Some(true), "{rt:?}");
    assert_eq!(rt.secure(), Some(true), "{rt:?}");
    assert_eq!(same_site(rt).as_deref(), Some("Strict"), "{rt:?}");
    assert_eq!(rt.path(), Some("/"), "{rt:?}");
    let session = named("tessera-session");
    assert_eq!(session.name(), "__Host-tessera-session");
    assert_eq!(session.http_only(), Some(true), "{session:?}");
    assert_eq!(same_site(session).as_deref(), Some("Lax"), "{session:?}");
    assert!(
        cookies.iter().all(|c| c.http_only() == Some(true)),
        "every Tessera cookie is HttpOnly: {cookies:?}"
    );
    let rt = rt.value().to_owned();
    // ...that page JavaScript cannot read, and nothing else gives one away.
    let snoop = js(c, SNOOP, vec![]).await;
    let token = snoop["token"].as_str().unwrap().to_owned();
    for (place, value) in snoop["places"].as_object().unwrap() {
        let value = value.as_str().unwrap();
        assert!(
            !value.contains("tsr_"),
            "a refresh token in {place}: {value}"
        );
        assert!(!value.contains(&rt), "the refresh token in {place}");
        if place != "accessToken" {
            assert!(!value.contains(&token), "the access token in {place}");
        }
    }
    assert_eq!(
        snoop["places"]["localStorage"], "[]",
        "nothing in localStorage"
    );
    assert!(
        !snoop["places"]["sessionStorage"]
            .as_str()
            .unwrap()
            .contains("signin"),
        "the PKCE verifier and state are gone from sessionStorage"
    );
    assert!(
        !snoop["places"]["cookie"]
            .as_str()
            .unwrap()
            .contains("tessera")
    );

    // A reload: still signed in, through the cookie, in the same family.
    c.refresh().await.unwrap();
    w.demo_ready().await;
    assert_eq!(
        w.demo_state().await,
        "signed-in",
        "signed in after a reload"
    );
    assert!(c.current_url().await.unwrap().as_str().starts_with(&w.demo));
    let after = w.claims().await;
    assert_eq!(after["sid"], sid.as_str());
    assert_ne!(after["jti"], claims["jti"], "a new access token");

    // A second tab of the app: signed in too, same family.
    let tab1 = c.window().await.unwrap();
    let tab2 = c.new_window(true).await.unwrap().handle;
    c.switch_to_window(tab2.clone()).await.unwrap();
    c.goto(&w.demo_url("spa-test")).await.unwrap();
    w.demo_ready().await;
    assert_eq!(
        w.demo_state().await,
        "signed-in",
        "signed in in the second tab"
    );
    assert_eq!(w.claims().await["sid"], sid.as_str());

    // Both tabs refresh at the same instant, several times. Web Locks serialise them: no
    // request sends a spent cookie, so there is no reuse detection and both stay signed in.
    let tabs = [tab1.clone(), tab2.clone()];
    let rounds = 6;
    for round in 1..=rounds {
        let now = js(c, "return Date.now()", vec![]).await.as_f64().unwrap();
        let at = now + 1000.0;
        for tab in &tabs {
            c.switch_to_window(tab.clone()).await.unwrap();
            js(c, ARM_REFRESH, vec![json!(at)]).await;
        }
        let mut results = Vec::new();
        for tab in &tabs {
            c.switch_to_window(tab.clone()).await.unwrap();
            wait_until(c, "a refresh round", "window.__round !== null").await;
            results.push(js(c, "return window.__round", vec![]).await);
        }
        let (a, b) = (&results[0], &results[1]);
        for r in &results {
            assert_eq!(r["ok"], true, "round {round}: {r}");
            assert_eq!(r["sid"], sid.as_str(), "round {round}: {r}");
        }
        assert_ne!(a["jti"], b["jti"], "round {round}: each tab its own token");
        let f = |v: &Value, k: &str| v[k].as_f64().unwrap();
        let spread = (f(a, "fired") - f(b, "fired")).abs();
        assert!(
            spread < 250.0,
            "round {round}: the tabs started {spread} ms apart"
        );
        // One request after the other: the second starts when the first has its answer.
        let (first, second) = if f(a, "start") <= f(b, "start") {
            (a, b)
        } else {
            (b, a)
        };
        assert!(
            f(second, "start") + 5.0 >= f(first, "end"),
            "round {round}: overlapping refreshes {a} {b}"
        );
        eprintln!(
            "round {round}: timers {spread:.0} ms apart, refreshes {:.1}-{:.1} and {:.1}-{:.1}",
            f(first, "start") - at,
            f(first, "end") - at,
            f(second, "start") - at,
            f(second, "end") - at
        );
    }
    for tab in &tabs {
        c.switch_to_window(tab.clone()).await.unwrap();
        assert_eq!(w.demo_state().await, "signed-in");
        assert_eq!(js(c, CALL_ME, vec![]).await, 200);
    }
    let reuse = admin_get(&w.app, &w.admin, "/admin/v1/families?reason=reuse_detected").await;
    assert_eq!(reuse["total"], 0, "no reuse detected: {reuse}");
    let family = w.family(&sid).await;
    assert_eq!(family["state"], "active", "{family}");
    // The code exchange, the reload, the second tab and two refreshes a round.
    assert_eq!(family["generations"], 3 + 2 * rounds, "{family}");

    // Sign out in the first tab: the family ends, the cookie goes.
    c.switch_to_window(tab1.clone()).await.unwrap();
    click(c, "#sign-out").await;
    wait_until(
        c,
        "signed out",
        "document.getElementById('status').dataset.state === 'signed-out'",
    )
    .await;
    let family = w.family(&sid).await;
    assert_eq!(family["state"], "revoked", "{family}");
    assert_eq!(family["revoke_reason"], "logout", "{family}");
    let cookies = w.cookies().await;
    assert!(
        !cookies.iter().any(|c| c.name().contains("tessera-rt-")),
        "the refresh cookie is cleared: {cookies:?}"
    );
    // After a reload, both tabs are signed out.
    for tab in &tabs {
        c.switch_to_window(tab.clone()).await.unwrap();
        c.refresh().await.unwrap();
        w.demo_ready().await;
        assert_eq!(
            w.demo_state().await,
            "signed-out",
            "signed out after a reload"
        );
    }

    // Signing in again skips the password: the Tessera sign-in session is still valid.
    click(c, "#sign-in").await;
    w.demo_ready().await;
    assert_eq!(w.demo_state().await, "signed-in", "single sign-on");
    assert_ne!(w.claims().await["sid"], sid.as_str(), "a new family");
    w.finish().await;
}

#[tokio::test]
async fn consent_page_allow_then_deny() {
    let _one = BROWSER.lock().await;
    let Some(w) = World::start(&[("consent-test", true)]).await else {
        return;
    };
    let c = &w.c;
    c.goto(&w.demo_url("consent-test")).await.unwrap();
    w.demo_ready().await;
    click(c, "#sign-in").await;
    w.on_sign_in_page().await;
    w.submit_password().await;

    // The consent page lists the scope and asks.
    let cond = format!(
        "location.origin === {} && document.querySelector('button[name=action][value=allow]')",
        lit(&w.app.base)
    );
    wait_until(c, "the consent page", &cond).await;
    let text = js(c, "return document.body.innerText", vec![]).await;
    assert!(
        text.as_str().unwrap().contains("read"),
        "scopes listed: {text}"
    );
    screenshot(c, "consent.png").await;
    click(c, "button[name=action][value=allow]").await;
    w.demo_ready().await;
    assert_eq!(w.demo_state().await, "signed-in", "signed in after consent");

    // Remembered: signing in again (after sign-out) asks nothing.
    click(c, "#sign-out").await;
    wait_until(
        c,
        "signed out",
        "document.getElementById('status').dataset.state === 'signed-out'",
    )
    .await;
    click(c, "#sign-in").await;
    w.demo_ready().await;
    assert_eq!(w.demo_state().await, "signed-in", "consent remembered");

    // prompt=consent asks again; deny comes back as access_denied, signed out.
    click(c, "#sign-out").await;
    wait_until(
        c,
        "signed out",
        "document.getElementById('status').dataset.state === 'signed-out'",
    )
    .await;
    js(
        c,
        "window.demo.auth.signIn({prompt: 'consent'}); return true",
        vec![],
    )
    .await;
    wait_until(c, "the consent page again", &cond).await;
    click(c, "button[name=action][value=deny]").await;
    w.demo_ready().await;
    assert_eq!(w.demo_state().await, "signed-out");
    let error = js(
        c,
        "return document.getElementById('error').textContent",
        vec![],
    )
    .await;
    assert!(
        error.as_str().unwrap().starts_with("access_denied"),
        "the demo shows {error}"
    );
    w.finish().await;
}

/// The SDK's unit tests under node (fake browser globals): PKCE, state and iss checks, the
/// requests' shapes, error types, the lock and the retry.
#[test]
fn sdk_unit_tests_under_node() {
    let test = repo_dir("tests/tests/browser/sdk.test.mjs");
    let out = match Command::new("node").arg("--test").arg(&test).output() {
        Ok(out) => out,
        Err(e) => {
            let msg = format!("skipping the SDK unit tests: cannot run node ({e})");
            assert!(std::env::var_os("CI").is_none_or(|v| v.is_empty()), "{msg}");
            eprintln!("{msg}");
            return;
        }
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "node --test failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("# fail 0"), "{text}");
}
