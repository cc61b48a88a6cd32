// Tessera demo app: a single-page app that signs in with the SDK served by Tessera itself.
//
// Settings come from the query string, e.g. ?issuer=http://127.0.0.1:8080&client_id=demo-spa,
// and are remembered in this tab's sessionStorage so they survive the round trip through the
// sign-in page (they are settings, not secrets). Without them: the defaults below.

const DEFAULTS = { issuer: "http://127.0.0.1:8080", clientId: "demo-spa", scope: "read" };
const CONFIG_KEY = "tessera-demo:config";

/** The demo's settings: query string, then what this tab remembered, then the defaults. */
function readConfig() {
  const q = new URLSearchParams(location.search);
  let saved = {};
  try {
    saved = JSON.parse(sessionStorage.getItem(CONFIG_KEY) ?? "{}");
  } catch {
    // ignore a damaged entry
  }
  const config = {
    issuer: q.get("issuer") ?? saved.issuer ?? DEFAULTS.issuer,
    clientId: q.get("client_id") ?? saved.clientId ?? DEFAULTS.clientId,
    scope: q.get("scope") ?? saved.scope ?? DEFAULTS.scope,
  };
  sessionStorage.setItem(CONFIG_KEY, JSON.stringify(config));
  return config;
}

const $ = (id) => document.getElementById(id);
const config = readConfig();
// The redirect URI is this page itself, without its query string: register exactly that.
const redirectUri = location.origin + location.pathname;

$("config").textContent = `issuer ${config.issuer} · client ${config.clientId}`;
$("issuer-link").href = config.issuer;
const logout = new URL(`${config.issuer}/oauth/logout`);
logout.searchParams.set("client_id", config.clientId);
logout.searchParams.set("post_logout_redirect_uri", redirectUri);
$("end-session").href = logout.href;

/** Shows an error (a TesseraError has `code` and `description`), or clears it with null. */
function showError(e) {
  const box = $("error");
  box.hidden = !e;
  box.textContent = e ? (e.code ? `${e.code}: ${e.description ?? ""}` : String(e)) : "";
  if (e) console.error(e);
}

function show(title, value) {
  $("output-card").hidden = false;
  $("output-title").textContent = title;
  $("output").textContent = typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

let auth;

/** Redraws the page from the SDK's state. */
function render() {
  const claims = auth?.claims ?? null;
  const status = $("status");
  status.dataset.state = claims ? "signed-in" : "signed-out";
  status.textContent = claims ? `Signed in as user ${claims.sub}` : "Signed out";
  $("sign-in").hidden = !!claims;
  for (const id of ["call", "refresh", "sign-out"]) $(id).hidden = !claims;
  $("claims-card").hidden = !claims;
  if (claims) {
    $("claims").textContent = JSON.stringify(claims, null, 2);
    const left = Math.round(claims.exp - Date.now() / 1000);
    const at = new Date(claims.exp * 1000).toLocaleTimeString();
    $("expiry").textContent =
      `Expires at ${at} (in ${left} s); the SDK gets a new one through the cookie ` +
      "when less than 30 s are left.";
  }
}

/** Runs a button's action with the button disabled, showing errors, then redraws. */
function action(id, run) {
  $(id).addEventListener("click", async () => {
    $(id).disabled = true;
    showError(null);
    try {
      await run();
    } catch (e) {
      showError(e);
    } finally {
      $(id).disabled = false;
      render();
    }
  });
}

action("sign-in", () => auth.signIn());
action("refresh", async () => {
  const token = await auth.refresh();
  show("Refresh", token ? "A new access token; the refresh cookie rotated." : "Signed out.");
});
action("call", async () => {
  const r = await auth.fetch(`${config.issuer}/me/sessions`);
  show(`GET /me/sessions → ${r.status}`, await r.json().catch(() => "(no JSON body)"));
});
action("sign-out", async () => {
  await auth.signOut();
  show("Sign out", "The session is revoked and the cookie cleared.");
});

async function start() {
  const { TesseraClient } = await import(`${config.issuer}/sdk/tessera.js`);
  auth = new TesseraClient({ ...config, redirectUri });
  // For the browser test and the curious: the client holds no refresh token to find.
  window.demo = { auth, render, config };
  try {
    await auth.handleRedirect();
    // After a reload: a new access token through the cookie, without a sign-in page.
    await auth.getAccessToken();
  } catch (e) {
    showError(e);
  }
  render();
}

start()
  .catch((e) => {
    $("status").textContent = `Cannot load the SDK from ${config.issuer}: is Tessera running?`;
    showError(e);
  })
  .finally(() => {
    document.body.dataset.ready = "true";
  });
