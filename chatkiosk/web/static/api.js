// The HTTP API: tokens (kept in localStorage, refreshed before they expire), JSON requests,
// and errors turned into sentences a person can act on.

const STORE_KEY = "chatkiosk.session";

export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    const err = (body && body.error) || {};
    super(err.message || `request failed (${status})`);
    this.status = status;
    this.code = err.code || "http_error";
    this.type = err.type || "";
    this.retryAfter = retryAfter;
  }
}

/** A sentence for an error (an ApiError, or the `error` object of an event/frame). */
export function explain(error, retryAfter) {
  const code = error.code || "";
  const status = error.status || 0;
  const wait = retryAfter || error.retryAfter || error.retry_after;
  if (code === "daily_quota" || code === "quota_exceeded" || /quota/.test(code)) {
    return "You have used today's token allowance. It resets at midnight (UTC).";
  }
  if (status === 429 || error.type === "rate_limit_error") {
    const base = code === "too_many_streams" ? "Too many answers are being generated at once." : "You're sending messages a little fast.";
    return wait ? `${base} Try again in ${wait} s.` : `${base} Try again in a moment.`;
  }
  if (code === "context_length_exceeded") return error.message || "This conversation is too long for the model: start a new one.";
  if (code === "upstream_timeout" || status === 504) return "The model took too long to answer. Please try again.";
  if (error.type === "upstream_error" || status === 502 || status === 503) {
    return "The model is not reachable right now. Please try again in a little while.";
  }
  if (code === "generation_in_progress") return "An answer is still being written in this conversation.";
  if (code === "guardrail_blocked") return error.message || "This message was blocked by the server's content rules.";
  if (status === 0 && !error.message) return "The server could not be reached. Check your connection.";
  return error.message || "Something went wrong.";
}

/** Sign-in state and authenticated requests. `onSignedOut(reason)` runs when the session ends. */
export class Api {
  constructor() {
    this.session = null;
    this.onSignedOut = () => {};
    this.onTokens = () => {};
    this._refreshing = null;
    this._timer = null;
    try {
      const saved = JSON.parse(localStorage.getItem(STORE_KEY) || "null");
      if (saved && saved.refresh_token) this.session = saved;
    } catch { /* a broken entry is no session */ }
  }

  get signedIn() { return Boolean(this.session); }
  get token() { return this.session && this.session.access_token; }

  _save(pair, username) {
    this.session = {
      access_token: pair.access_token,
      refresh_token: pair.refresh_token,
      expires_at: Date.now() + pair.expires_in * 1000,
      username: username || (this.session && this.session.username) || "",
    };
    localStorage.setItem(STORE_KEY, JSON.stringify(this.session));
    this._schedule();
    this.onTokens();
  }

  /** Refresh a minute before expiry (or at 80% of a short lifetime). */
  _schedule() {
    clearTimeout(this._timer);
    if (!this.session) return;
    const left = this.session.expires_at - Date.now();
    const lead = Math.min(60_000, left * 0.2);
    this._timer = setTimeout(() => this.refresh().catch(() => {}), Math.max(1000, left - lead));
  }

  start() { if (this.session) this._schedule(); }

  async login(username, password) {
    const pair = await this._json("POST", "/api/auth/login", { username, password }, false);
    this._save(pair, username);
  }

  async register(username, password) {
    await this._json("POST", "/api/auth/register", { username, password }, false);
    await this.login(username, password);
  }

  async logout() {
    try { await this.request("POST", "/api/auth/logout"); } catch { /* signed out either way */ }
    this.signOut(null);
  }

  signOut(reason) {
    clearTimeout(this._timer);
    const was = this.session;
    this.session = null;
    localStorage.removeItem(STORE_KEY);
    if (was) this.onSignedOut(reason);
  }

  /** Trade the refresh token for a new pair; once at a time. On failure the session ends. */
  refresh() {
    if (!this.session) return Promise.reject(new ApiError(401, null));
    if (!this._refreshing) {
      const token = this.session.refresh_token;
      this._refreshing = this._json("POST", "/api/auth/refresh", { refresh_token: token }, false)
        .then((pair) => this._save(pair))
        .catch((err) => {
          if (err.status === 401) this.signOut("expired");
          throw err;
        })
        .finally(() => { this._refreshing = null; });
    }
    return this._refreshing;
  }

  /** An authenticated fetch; a 401 is retried once after a refresh, then signs out. */
  async fetch(method, path, body, extra = {}) {
    const attempt = () => fetch(path, {
      method,
      headers: {
        ...(body !== undefined ? { "Content-Type": "application/json" } : {}),
        ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}),
        ...(extra.headers || {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal: extra.signal,
    });
    let response = await attempt();
    if (response.status === 401 && this.session) {
      await this.refresh();
      response = await attempt();
      if (response.status === 401) this.signOut("expired");
    }
    return response;
  }

  async request(method, path, body) {
    const response = await this.fetch(method, path, body);
    return readJson(response);
  }

  async _json(method, path, body, auth) {
    const response = await fetch(path, {
      method,
      headers: { "Content-Type": "application/json", ...(auth && this.token ? { Authorization: `Bearer ${this.token}` } : {}) },
      body: JSON.stringify(body),
    });
    return readJson(response);
  }
}

async function readJson(response) {
  if (response.status === 204) return null;
  let body = null;
  try { body = await response.json(); } catch { body = null; }
  if (!response.ok) {
    const retry = Number(response.headers.get("Retry-After")) || undefined;
    throw new ApiError(response.status, body, retry);
  }
  return body;
}
