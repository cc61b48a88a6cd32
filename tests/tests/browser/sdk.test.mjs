// Unit tests of the browser SDK (server/assets/tessera.js) under node, with a fake browser:
// location, history, sessionStorage, fetch and (optionally) Web Locks. Run with
//   node --test tests/tests/browser/sdk.test.mjs
// The browser test target (main.rs) runs this too; the real-browser flow is tested there.

import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  TesseraClient,
  TesseraError,
  base64url,
  decodeJwtPayload,
  pkceChallenge,
} from "../../../server/assets/tessera.js";

const ISSUER = "http://127.0.0.1:8080";
const APP = "http://127.0.0.1:5173/";

/** A fake unsigned JWT with these claims. */
function jwt(claims) {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${enc({ alg: "ES256", typ: "at+jwt" })}.${enc(claims)}.c2ln`;
}

function tokenBody(sub = "u1", expiresIn = 300) {
  return { access_token: jwt({ sub, iss: ISSUER, name: "Zoë" }), token_type: "Bearer", expires_in: expiresIn };
}

function json(status, body) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

/** Requests the fake `fetch` saw, and the answers it will give, in order. */
let calls;
let answers;
let assigned;
let storage;

beforeEach(() => {
  calls = [];
  answers = [];
  assigned = null;
  storage = new Map();
  globalThis.location = {
    href: APP,
    assign(url) {
      assigned = url;
    },
  };
  globalThis.history = {
    state: null,
    replaceState(_state, _title, url) {
      globalThis.location.href = new URL(url, globalThis.location.href).href;
    },
  };
  globalThis.sessionStorage = {
    getItem: (k) => (storage.has(k) ? storage.get(k) : null),
    setItem: (k, v) => storage.set(k, String(v)),
    removeItem: (k) => storage.delete(k),
  };
  globalThis.fetch = async (input, init = {}) => {
    calls.push({ url: String(input), init, form: init.body instanceof URLSearchParams ? Object.fromEntries(init.body) : null });
    const next = answers.shift();
    if (!next) throw new TypeError("no answer queued");
    return typeof next === "function" ? next() : next;
  };
  Object.defineProperty(globalThis, "navigator", { value: {}, configurable: true, writable: true });
});

function client() {
  return new TesseraClient({ issuer: ISSUER, clientId: "demo-spa", redirectUri: APP, scope: "read" });
}

/** Signs in through the fake redirect: returns the client holding a token. */
async function signedIn(body = tokenBody()) {
  const auth = client();
  await auth.signIn();
  const sent = new URL(assigned);
  globalThis.location.href = `${APP}?code=c0de&state=${sent.searchParams.get("state")}&iss=${encodeURIComponent(ISSUER)}`;
  answers.push(json(200, body));
  assert.equal(await auth.handleRedirect(), true);
  calls = [];
  return auth;
}

test("base64url and the S256 challenge match RFC 7636", async () => {
  assert.equal(base64url(new Uint8Array([251, 255, 191])), "-_-_");
  // RFC 7636 Appendix B.
  assert.equal(
    await pkceChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
  );
  assert.deepEqual(decodeJwtPayload(jwt({ a: 1, n: "Zoë" })), { a: 1, n: "Zoë" });
  assert.throws(() => decodeJwtPayload("nope"), TesseraError);
  assert.throws(() => decodeJwtPayload("a.%%%.c"), (e) => e.code === "invalid_response");
});

test("signIn goes to the authorize endpoint with PKCE S256 and a state", async () => {
  await client().signIn({ prompt: "login" });
  const url = new URL(assigned);
  assert.equal(url.origin + url.pathname, `${ISSUER}/oauth/authorize`);
  const p = Object.fromEntries(url.searchParams);
  const pending = JSON.parse(storage.get("tessera:demo-spa:signin"));
  assert.equal(p.response_type, "code");
  assert.equal(p.client_id, "demo-spa");
  assert.equal(p.redirect_uri, APP);
  assert.equal(p.scope, "read");
  assert.equal(p.prompt, "login");
  assert.equal(p.code_challenge_method, "S256");
  assert.equal(p.state, pending.state);
  assert.match(pending.verifier, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(p.code_challenge, createHash("sha256").update(pending.verifier).digest("base64url"));
});

test("handleRedirect trades the code, keeps the token in memory and cleans the URL", async () => {
  const auth = client();
  await auth.signIn();
  const { state, verifier } = JSON.parse(storage.get("tessera:demo-spa:signin"));
  globalThis.location.href = `${APP}?code=c0de&state=${state}&iss=${encodeURIComponent(ISSUER)}&keep=1#frag`;
  answers.push(json(200, { ...tokenBody(), refresh_token: "tsr_should_be_ignored" }));
  assert.equal(await auth.handleRedirect(), true);
  assert.equal(calls.length, 1);
  const [c] = calls;
  assert.equal(c.url, `${ISSUER}/oauth/token`);
  assert.equal(c.init.method, "POST");
  assert.equal(c.init.credentials, "include");
  assert.equal(c.init.headers["Tessera-CSRF"], "1");
  assert.deepEqual(c.form, {
    grant_type: "authorization_code",
    code: "c0de",
    code_verifier: verifier,
    redirect_uri: APP,
    client_id: "demo-spa",
  });
  assert.equal(globalThis.location.href, `${APP}?keep=1#frag`);
  assert.equal(storage.size, 0, "nothing left in sessionStorage");
  assert.equal(auth.claims.sub, "u1");
  assert.equal(auth.claims.name, "Zoë");
  assert.ok(!JSON.stringify(auth).includes("tsr_"));
  assert.ok(!JSON.stringify(auth).includes(tokenBody().access_token), "no token in JSON");
  assert.equal(await auth.getAccessToken(), tokenBody().access_token);
  assert.equal(calls.length, 1, "a fresh token is served from memory");
});

test("handleRedirect refuses a foreign state, a missing or wrong iss, and reports errors", async () => {
  const auth = client();
  assert.equal(await auth.handleRedirect(), false);
  await auth.signIn();
  const { state } = JSON.parse(storage.get("tessera:demo-spa:signin"));
  globalThis.location.href = `${APP}?code=c&state=other&iss=${encodeURIComponent(ISSUER)}`;
  await assert.rejects(auth.handleRedirect(), (e) => e instanceof TesseraError && e.code === "state_mismatch");
  assert.equal(globalThis.location.href, APP);

  for (const iss of ["", `&iss=${encodeURIComponent("http://evil.example")}`]) {
    await auth.signIn();
    const s = JSON.parse(storage.get("tessera:demo-spa:signin")).state;
    globalThis.location.href = `${APP}?code=c&state=${s}${iss}`;
    await assert.rejects(auth.handleRedirect(), (e) => e.code === "issuer_mismatch");
  }
  assert.equal(calls.length, 0, "no token request after a failed check");

  globalThis.location.href = `${APP}?error=access_denied&error_description=the+user+said+no&state=${state}`;
  await assert.rejects(
    auth.handleRedirect(),
    (e) => e instanceof TesseraError && e.code === "access_denied" && e.description === "the user said no",
  );
  assert.equal(globalThis.location.href, APP);
});

test("a failed code exchange is a typed error", async () => {
  const auth = client();
  await auth.signIn();
  const { state } = JSON.parse(storage.get("tessera:demo-spa:signin"));
  globalThis.location.href = `${APP}?code=c&state=${state}&iss=${encodeURIComponent(ISSUER)}`;
  answers.push(json(400, { error: "invalid_grant", error_description: "the code is invalid" }));
  await assert.rejects(auth.handleRedirect(), (e) => e.code === "invalid_grant" && e.status === 400);
  assert.equal(auth.claims, null);
});

test("refresh sends no refresh_token; invalid_grant means signed out", async () => {
  const auth = await signedIn();
  answers.push(json(200, tokenBody("u2")));
  assert.equal(await auth.refresh(), tokenBody("u2").access_token);
  assert.deepEqual(calls[0].form, { grant_type: "refresh_token", client_id: "demo-spa" });
  assert.equal(calls[0].init.credentials, "include");
  assert.equal(calls[0].init.headers["Tessera-CSRF"], "1");
  assert.equal(auth.claims.sub, "u2");
  answers.push(json(400, { error: "invalid_grant", error_description: "gone" }));
  assert.equal(await auth.refresh(), null);
  assert.equal(auth.claims, null);
  answers.push(json(400, { error: "invalid_grant" }));
  assert.equal(await auth.getAccessToken(), null);
  // Other failures are errors, not a sign-out.
  answers.push(json(503, { error: "temporarily_unavailable" }));
  await assert.rejects(auth.refresh(), (e) => e.code === "temporarily_unavailable");
  answers.push(new Response("<html>", { status: 502 }));
  await assert.rejects(auth.refresh(), (e) => e.code === "invalid_response" && e.status === 502);
  answers.push(() => {
    throw new TypeError("Failed to fetch");
  });
  await assert.rejects(auth.refresh(), (e) => e.code === "network_error");
  answers.push(json(200, { access_token: jwt({}), token_type: "mac", expires_in: 300 }));
  await assert.rejects(auth.refresh(), (e) => e.code === "invalid_response");
});

test("a token with 30 s or less left is refreshed; concurrent calls share one refresh", async () => {
  const auth = await signedIn(tokenBody("u1", 20));
  let release;
  const gate = new Promise((r) => (release = r));
  answers.push(async () => {
    await gate;
    return json(200, tokenBody("u3"));
  });
  const all = Promise.all([auth.getAccessToken(), auth.getAccessToken(), auth.refresh()]);
  await new Promise((r) => setTimeout(r, 10));
  release();
  const tokens = await all;
  assert.equal(calls.length, 1);
  assert.deepEqual(tokens, Array(3).fill(tokenBody("u3").access_token));
});

test("refresh and signOut hold the Web Lock named after the client", async () => {
  const held = [];
  let active = 0;
  globalThis.navigator = {
    locks: {
      async request(name, cb) {
        held.push(name);
        assert.equal(active, 0, "one holder at a time");
        active++;
        try {
          return await cb({ name });
        } finally {
          active--;
        }
      },
    },
  };
  const auth = await signedIn();
  answers.push(json(200, tokenBody("u4")));
  await auth.refresh();
  answers.push(json(200, {}));
  await auth.signOut();
  assert.deepEqual(held, ["tessera-refresh:demo-spa", "tessera-refresh:demo-spa"]);
});

test("fetch adds the bearer token and retries once after a 401", async () => {
  const auth = await signedIn();
  const first = tokenBody().access_token;
  answers.push(new Response("no", { status: 401 }), json(200, tokenBody("u5")), json(200, { ok: 1 }));
  const r = await auth.fetch(`${ISSUER}/me/sessions`, { headers: { Accept: "application/json" } });
  assert.equal(r.status, 200);
  assert.equal(calls.length, 3);
  assert.equal(calls[0].init.headers.get("Authorization"), `Bearer ${first}`);
  assert.equal(calls[0].init.headers.get("Accept"), "application/json");
  assert.deepEqual(calls[1].form, { grant_type: "refresh_token", client_id: "demo-spa" });
  assert.equal(calls[2].init.headers.get("Authorization"), `Bearer ${tokenBody("u5").access_token}`);
  // A second 401 is returned as it is: no loop.
  calls = [];
  answers.push(new Response("no", { status: 401 }), json(200, tokenBody("u6")), new Response("no", { status: 401 }));
  assert.equal((await auth.fetch(`${ISSUER}/me/sessions`)).status, 401);
  assert.equal(calls.length, 3);
  // Signed out: a typed error, no request.
  answers.push(json(400, { error: "invalid_grant" }));
  const out = client();
  await assert.rejects(out.fetch(`${ISSUER}/me/sessions`), (e) => e.code === "login_required");
});

test("signOut revokes through the cookie and forgets the token, even when the server fails", async () => {
  const auth = await signedIn();
  answers.push(json(200, {}));
  await auth.signOut();
  assert.equal(calls[0].url, `${ISSUER}/oauth/revoke`);
  assert.deepEqual(calls[0].form, { client_id: "demo-spa" });
  assert.equal(calls[0].init.credentials, "include");
  assert.equal(calls[0].init.headers["Tessera-CSRF"], "1");
  assert.equal(auth.claims, null);
  const again = await signedIn();
  answers.push(json(400, { error: "invalid_request", error_description: "no Origin" }));
  await assert.rejects(again.signOut(), (e) => e.code === "invalid_request");
  assert.equal(again.claims, null);
});
