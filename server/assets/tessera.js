// Tessera browser SDK: sign-in with the authorization code flow + PKCE (S256) for single-page
// apps whose refresh token lives in an HttpOnly cookie set by Tessera. No dependencies.
//
//   import { TesseraClient } from "https://auth.example.com/sdk/tessera.js";
//   const auth = new TesseraClient({ issuer, clientId, redirectUri, scope });
//   await auth.handleRedirect();  // on the redirectUri page: trades ?code= for tokens
//   const token = await auth.getAccessToken(); // null when signed out
//
// What lives where:
// - the access token: in this object's memory only (never localStorage or sessionStorage);
// - the refresh token: in an HttpOnly, SameSite=Strict cookie this code never sees;
// - the PKCE verifier and the state: in sessionStorage between signIn() and handleRedirect().
//
// Every answer from the server is checked by one small function that either returns the
// value it validated or throws a TesseraError with an OAuth-style `code`.

/** Seconds before expiry at which an access token is no longer handed out. */
const EXPIRY_MARGIN_S = 30;

/** The header every cookie-authenticated request carries (the server's CSRF check). */
const CSRF_HEADER = "Tessera-CSRF";

/** An error from the authorization server, or from checking one of its answers. */
export class TesseraError extends Error {
  /**
   * @param {string} code OAuth error code (`invalid_grant`, `access_denied`, ...) or one of the
   *   SDK's own: `state_mismatch`, `issuer_mismatch`, `invalid_response`, `network_error`,
   *   `login_required`.
   * @param {string} [description] human-readable detail (`error_description`).
   * @param {{status?: number, cause?: unknown}} [extra] HTTP status of the answer, if any.
   */
  constructor(code, description, extra = {}) {
    super(description ? `${code}: ${description}` : code, { cause: extra.cause });
    this.name = "TesseraError";
    this.code = code;
    this.description = description ?? null;
    this.status = extra.status ?? null;
  }
}

/** Base64url without padding (RFC 4648 §5) of some bytes. */
export function base64url(bytes) {
  let binary = "";
  for (const b of new Uint8Array(bytes)) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** `n` cryptographically random bytes, base64url-encoded. */
function randomToken(n) {
  return base64url(crypto.getRandomValues(new Uint8Array(n)));
}

/** The PKCE S256 challenge of a verifier (RFC 7636 §4.2). */
export async function pkceChallenge(verifier) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(digest);
}

/** The payload of a JWT, decoded but NOT verified (the server verifies; this is for display). */
export function decodeJwtPayload(jwt) {
  const part = typeof jwt === "string" ? jwt.split(".")[1] : undefined;
  if (!part) throw new TesseraError("invalid_response", "the access token is not a JWT");
  let claims;
  try {
    const binary = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    claims = JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new TesseraError("invalid_response", "the access token's payload is not JSON", { cause });
  }
  if (claims === null || typeof claims !== "object" || Array.isArray(claims)) {
    throw new TesseraError("invalid_response", "the access token's payload is not an object");
  }
  return claims;
}

/** Parses an answer's body as a JSON object, or throws `invalid_response`. */
async function jsonObject(response) {
  let body;
  try {
    body = await response.json();
  } catch (cause) {
    throw new TesseraError("invalid_response", `HTTP ${response.status} without a JSON body`, {
      status: response.status,
      cause,
    });
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new TesseraError("invalid_response", "the answer is not a JSON object", {
      status: response.status,
    });
  }
  return body;
}

/** Throws the RFC 6749 §5.2 error of a failed answer as a TesseraError; returns ok answers. */
async function checkOk(response) {
  if (response.ok) return response;
  let body = {};
  try {
    body = await jsonObject(response);
  } catch {
    // not an OAuth error body: reported by status below
  }
  const code = typeof body.error === "string" ? body.error : "invalid_response";
  const description =
    typeof body.error_description === "string" ? body.error_description : `HTTP ${response.status}`;
  throw new TesseraError(code, description, { status: response.status });
}

/**
 * Validates a token endpoint answer (RFC 6749 §5.1) and returns the access token and its
 * expiry as a local timestamp in milliseconds. A `refresh_token` field, if any, is ignored:
 * this SDK is for cookie clients and never keeps a refresh token in JavaScript.
 */
async function tokenResponse(response) {
  const body = await jsonObject(await checkOk(response));
  if (typeof body.access_token !== "string" || body.access_token === "") {
    throw new TesseraError("invalid_response", "no access_token in the token response");
  }
  if (typeof body.token_type !== "string" || body.token_type.toLowerCase() !== "bearer") {
    throw new TesseraError("invalid_response", "token_type is not Bearer");
  }
  let lifetime = body.expires_in;
  if (lifetime === undefined) {
    const { exp, iat } = decodeJwtPayload(body.access_token);
    lifetime = typeof exp === "number" && typeof iat === "number" ? exp - iat : undefined;
  }
  if (typeof lifetime !== "number" || !(lifetime > 0)) {
    throw new TesseraError("invalid_response", "expires_in is missing or not positive");
  }
  return { accessToken: body.access_token, expiresAt: Date.now() + lifetime * 1000 };
}

/** A POST of an urlencoded form with the refresh cookie and the CSRF header. */
async function postForm(url, fields) {
  try {
    return await fetch(url, {
      method: "POST",
      body: new URLSearchParams(fields),
      credentials: "include",
      headers: { [CSRF_HEADER]: "1" },
      cache: "no-store",
    });
  } catch (cause) {
    throw new TesseraError("network_error", `cannot reach ${url}`, { cause });
  }
}

/** A browser client of one Tessera issuer, for one registered cookie client. */
export class TesseraClient {
  #accessToken = null;
  #expiresAt = 0;
  #claims = null;
  #inflight = null;
  #queue = Promise.resolve();

  /**
   * @param {object} options
   * @param {string} options.issuer Tessera's issuer URL, e.g. `https://auth.example.com`.
   * @param {string} options.clientId a public client registered with `--refresh-cookie`.
   * @param {string} options.redirectUri this app's registered redirect URI (exact string).
   * @param {string} [options.scope] space-separated scopes; omitted: the client's own.
   */
  constructor({ issuer, clientId, redirectUri, scope } = {}) {
    if (!issuer || !clientId || !redirectUri) {
      throw new TypeError("TesseraClient needs issuer, clientId and redirectUri");
    }
    this.issuer = String(issuer).replace(/\/+$/, "");
    this.clientId = String(clientId);
    this.redirectUri = String(redirectUri);
    this.scope = scope ?? null;
  }

  /** The sessionStorage key of a pending sign-in (state and PKCE verifier). */
  get #pendingKey() {
    return `tessera:${this.clientId}:signin`;
  }

  /**
   * Starts a sign-in: stores a fresh state and PKCE verifier in sessionStorage and sends the
   * browser to Tessera's authorize endpoint (the page then unloads).
   * @param {{prompt?: "login"|"none"|"consent"}} [options]
   */
  async signIn(options = {}) {
    const verifier = randomToken(32);
    const state = randomToken(16);
    const url = new URL(`${this.issuer}/oauth/authorize`);
    const params = {
      response_type: "code",
      client_id: this.clientId,
      redirect_uri: this.redirectUri,
      state,
      code_challenge: await pkceChallenge(verifier),
      code_challenge_method: "S256",
    };
    if (this.scope) params.scope = this.scope;
    if (options.prompt) params.prompt = options.prompt;
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    sessionStorage.setItem(this.#pendingKey, JSON.stringify({ state, verifier }));
    location.assign(url.href);
  }

  /**
   * On the redirect page: when the URL carries `code` and `state`, checks them, trades the code
   * for an access token (the refresh token arrives as a cookie), removes `code`, `state` and
   * `iss` from the address bar and returns true. Throws a TesseraError when the URL carries an
   * `error` (e.g. `access_denied`). Returns false when there is nothing to handle.
   */
  async handleRedirect() {
    const url = new URL(location.href);
    const q = Object.fromEntries(url.searchParams);
    if (q.error === undefined && (q.code === undefined || q.state === undefined)) return false;
    const pending = this.#takePending();
    cleanUrl(url, ["code", "state", "iss", "error", "error_description", "error_uri"]);
    if (q.error !== undefined) throw new TesseraError(q.error, q.error_description);
    checkState(pending, q.state);
    checkIssuer(this.issuer, q.iss);
    const response = await postForm(`${this.issuer}/oauth/token`, {
      grant_type: "authorization_code",
      code: q.code,
      code_verifier: pending.verifier,
      redirect_uri: this.redirectUri,
      client_id: this.clientId,
    });
    this.#keep(await tokenResponse(response));
    return true;
  }

  /**
   * A valid access token (with more than ~30 s left), refreshed through the cookie when it is
   * missing or near expiry; null when signed out.
   */
  async getAccessToken() {
    if (this.#accessToken && this.#expiresAt - Date.now() > EXPIRY_MARGIN_S * 1000) {
      return this.#accessToken;
    }
    return this.refresh();
  }

  /**
   * Rotates the refresh cookie now and returns the new access token, or null when signed out
   * (`invalid_grant`: no cookie, or the session ended). Tabs of one origin never refresh at the
   * same time (Web Locks); calls in one tab while a refresh runs share it.
   */
  refresh() {
    this.#inflight ??= this.#exclusive(async () => {
      const response = await postForm(`${this.issuer}/oauth/token`, {
        grant_type: "refresh_token",
        client_id: this.clientId,
      });
      try {
        this.#keep(await tokenResponse(response));
      } catch (e) {
        if (e instanceof TesseraError && e.code === "invalid_grant") {
          this.#forget();
          return null;
        }
        throw e;
      }
      return this.#accessToken;
    }).finally(() => {
      this.#inflight = null;
    });
    return this.#inflight;
  }

  /**
   * `fetch` with `Authorization: Bearer <access token>`. On a 401, refreshes once and retries
   * once (a body that is a stream cannot be sent twice). Throws `login_required` when signed out.
   */
  async fetch(input, init = {}) {
    const send = (token, request) => {
      const base = init.headers ?? (request instanceof Request ? request.headers : undefined);
      const headers = new Headers(base);
      headers.set("Authorization", `Bearer ${token}`);
      return globalThis.fetch(request, { ...init, headers });
    };
    const token = await this.getAccessToken();
    if (!token) throw new TesseraError("login_required", "not signed in");
    const response = await send(token, input instanceof Request ? input.clone() : input);
    if (response.status !== 401) return response;
    const fresh = await this.refresh();
    return fresh ? send(fresh, input) : response;
  }

  /** Ends the session: revokes the refresh family (the server clears the cookie). */
  async signOut() {
    await this.#exclusive(async () => {
      try {
        const revoke = `${this.issuer}/oauth/revoke`;
        await checkOk(await postForm(revoke, { client_id: this.clientId }));
      } finally {
        this.#forget();
      }
    });
  }

  /** The claims of the current access token (decoded, not verified), or null. */
  get claims() {
    return this.#claims;
  }

  /**
   * Runs `task` holding this client's cross-tab lock. Without Web Locks (an insecure context,
   * an old browser) tasks are only queued within this tab.
   */
  #exclusive(task) {
    const locks = globalThis.navigator?.locks;
    if (locks?.request) return locks.request(`tessera-refresh:${this.clientId}`, () => task());
    const run = this.#queue.then(() => task());
    this.#queue = run.catch(() => {});
    return run;
  }

  #keep({ accessToken, expiresAt }) {
    this.#claims = decodeJwtPayload(accessToken);
    this.#accessToken = accessToken;
    this.#expiresAt = expiresAt;
  }

  #forget() {
    this.#accessToken = null;
    this.#expiresAt = 0;
    this.#claims = null;
  }

  /** Reads and removes the pending sign-in; it is good for one redirect only. */
  #takePending() {
    const raw = sessionStorage.getItem(this.#pendingKey);
    sessionStorage.removeItem(this.#pendingKey);
    try {
      return raw ? JSON.parse(raw) : null;
    } catch {
      return null;
    }
  }

  /** So the object never prints its token (console.log, JSON.stringify). */
  toJSON() {
    const { issuer, clientId, redirectUri, scope } = this;
    return { issuer, clientId, redirectUri, scope, signedIn: this.#accessToken !== null };
  }
}

/** The state in the URL must be the one stored by signIn() in this tab. */
function checkState(pending, state) {
  if (!pending || typeof pending.state !== "string" || typeof pending.verifier !== "string") {
    throw new TesseraError("state_mismatch", "no sign-in was started in this tab");
  }
  if (pending.state !== state) {
    throw new TesseraError("state_mismatch", "the state does not match the sign-in started here");
  }
}

/** RFC 9207: the `iss` in the URL must be our issuer (guards against mix-up attacks). */
function checkIssuer(issuer, iss) {
  if (iss === undefined) throw new TesseraError("issuer_mismatch", "the redirect carries no iss");
  if (iss.replace(/\/+$/, "") !== issuer) {
    throw new TesseraError("issuer_mismatch", `the redirect comes from ${iss}, not ${issuer}`);
  }
}

/** Removes parameters from the address bar without a navigation or a history entry. */
function cleanUrl(url, names) {
  for (const n of names) url.searchParams.delete(n);
  history.replaceState(history.state, "", url.pathname + url.search + url.hash);
}
