// The HTTP API: tokens (kept in localStorage, refreshed before they expire), JSON requests,
// and errors turned into sentences a person can act on.
//
// Every tab of the page shares one login. A refresh token works once (presenting a spent one
// ends the login), so only one tab refreshes at a time — under a Web Lock, or a short lease in
// localStorage where Web Locks are missing (plain http on a LAN address) — and a tab that finds
// the stored pair already replaced by another tab takes that pair instead of refreshing. Inside
// the lock the pair is read from IndexedDB, whose committed writes every tab sees at once:
// localStorage reaches other tabs only eventually (Chromium syncs it between processes), so a
// tab reading it right after another tab's refresh could still see the spent token. Tabs learn
// of new pairs and of signing out through `storage` events.

import { t } from "./i18n.js";

const STORE_KEY = "chatkiosk.session";
const LOCK_NAME = "chatkiosk.refresh";

function stored() {
  try {
    const saved = JSON.parse(localStorage.getItem(STORE_KEY) || "null");
    return saved && saved.refresh_token ? saved : null;
  } catch { return null; }
}

// The pair as of the last refresh, in IndexedDB (one object store, one key).
function openVault() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open("chatkiosk", 1);
    request.onupgradeneeded = () => request.result.createObjectStore("session");
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function vault(mode, write) {
  try {
    const db = await openVault();
    try {
      return await new Promise((resolve, reject) => {
        const tx = db.transaction("session", mode);
        const store = tx.objectStore("session");
        const request = write === undefined ? store.get("pair") : write === null ? store.delete("pair") : store.put(write, "pair");
        tx.oncomplete = () => resolve(request.result);
        tx.onerror = () => reject(tx.error);
      });
    } finally {
      db.close();
    }
  } catch {
    return undefined; // no IndexedDB (private mode): localStorage alone
  }
}

/** The pair every tab sees now: IndexedDB's, else localStorage's. */
async function latest() {
  const saved = await vault("readonly");
  return saved === undefined ? stored() : saved || null;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Take the lease (a compare-and-set in one IndexedDB transaction); true when it is ours now. */
async function takeLease(me) {
  try {
    const db = await openVault();
    try {
      return await new Promise((resolve, reject) => {
        const tx = db.transaction("session", "readwrite");
        const store = tx.objectStore("session");
        let ours = false;
        store.get("lease").onsuccess = (e) => {
          const lease = e.target.result;
          if (!lease || lease.until < Date.now()) { store.put({ me, until: Date.now() + 10_000 }, "lease"); ours = true; }
        };
        tx.oncomplete = () => resolve(ours);
        tx.onerror = () => reject(tx.error);
      });
    } finally {
      db.close();
    }
  } catch {
    return true; // no IndexedDB either: nothing to coordinate with
  }
}

async function dropLease() {
  try {
    const db = await openVault();
    db.transaction("session", "readwrite").objectStore("session").delete("lease");
    db.close();
  } catch { /* it expires by itself */ }
}

/** Run `work` while no other tab of this page runs its own (refreshes are one at a time). */
async function oneTabAtATime(work) {
  if (navigator.locks && navigator.locks.request) return navigator.locks.request(LOCK_NAME, work);
  // No Web Locks (not a secure context): a 10 s lease in IndexedDB does the same, more slowly.
  const me = Math.random().toString(36).slice(2);
  for (let attempt = 0; attempt < 100 && !(await takeLease(me)); attempt += 1) await sleep(100 + Math.random() * 100);
  try { return await work(); } finally { await dropLease(); }
}

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
  if (code === "daily_quota" || code === "quota_exceeded" || /quota/.test(code)) return t("error.quota");
  if (status === 429 || error.type === "rate_limit_error") {
    const base = code === "too_many_streams" ? t("error.streams") : t("error.fast");
    return `${base} ${wait ? t("error.retry_in", { s: wait }) : t("error.retry")}`;
  }
  if (code === "context_length_exceeded") return error.message || t("error.other");
  if (code === "upstream_timeout" || status === 504) return t("error.timeout");
  if (error.type === "upstream_error" || status === 502 || status === 503) return t("error.upstream");
  if (code === "generation_in_progress") return t("error.in_progress");
  if (code === "guardrail_blocked") return error.message || t("error.blocked");
  if (status === 0 && !error.message) return t("error.offline");
  return error.message || t("error.other");
}

/** Sign-in state and authenticated requests. `onSignedOut(reason)` runs when the session ends. */
export class Api {
  constructor() {
    this.session = null;
    this.onSignedOut = () => {};
    this.onTokens = () => {};
    this._refreshing = null;
    this._timer = null;
    this.session = stored();
    // Another tab refreshed (take its pair) or signed out (follow it).
    window.addEventListener("storage", (e) => {
      if (e.key !== STORE_KEY || !this.session) return;
      const next = stored();
      if (!next) this.signOut("logout");
      else if (next.refresh_token !== this.session.refresh_token) this._adopt(next);
    });
  }

  _adopt(session) {
    this.session = { ...session, username: session.username || (this.session && this.session.username) || "" };
    this._schedule();
    this.onTokens();
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
    await vault("readwrite", this.session);
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
    vault("readwrite", null);
    if (was) this.onSignedOut(reason);
  }

  /**
   * Trade the refresh token for a new pair; once at a time across all tabs. When another tab
   * has already traded it, its pair is taken instead. On failure the session ends.
   */
  refresh() {
    if (!this.session) return Promise.reject(new ApiError(401, null));
    if (!this._refreshing) {
      const token = this.session.refresh_token;
      this._refreshing = oneTabAtATime(async () => {
        const now = await latest();
        if (!now) throw new ApiError(401, null);
        if (now.refresh_token !== token) { this._adopt(now); return; }
        this._save(await this._json("POST", "/api/auth/refresh", { refresh_token: token }, false));
        await vault("readwrite", this.session); // committed before the lock passes to another tab
      })
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
    const sent = this.token;
    let response = await attempt();
    if (response.status === 401 && this.session) {
      // Another tab may have refreshed meanwhile: then the newer token is already here.
      if (this.token === sent) await this.refresh();
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
