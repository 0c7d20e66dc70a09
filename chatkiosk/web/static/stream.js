// Streaming answers: the WebSocket `/api/ws` when it is up, server-sent events over fetch
// otherwise. Both hand the same events `{type, seq, conversation_id, ...}` to `onEvent`.

const PING_EVERY = 25_000;

export class Stream {
  /**
   * @param {import("./api.js").Api} api
   * @param {{onEvent: Function, onRevoked: Function, onStatus: Function}} handlers
   */
  constructor(api, handlers) {
    this.api = api;
    this.handlers = handlers;
    this.ws = null;
    this.ready = false;
    this.retry = 0;
    this.stopped = true;
    this.sse = new Map(); // conversation id -> AbortController of an SSE turn
  }

  start() {
    this.stopped = false;
    this._connect();
  }

  stop() {
    this.stopped = true;
    this.ready = false;
    clearInterval(this._ping);
    clearTimeout(this._reconnect);
    if (this.ws) { this.ws.onclose = null; this.ws.close(1000, "bye"); this.ws = null; }
    for (const c of this.sse.values()) c.abort();
    this.sse.clear();
  }

  _connect() {
    if (this.stopped || !this.api.token) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/api/ws`);
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token: this.api.token }));
    ws.onmessage = (msg) => this._frame(JSON.parse(msg.data));
    ws.onclose = (ev) => this._closed(ev);
  }

  _frame(frame) {
    if (frame.type === "ready") {
      this.ready = true;
      this.retry = 0;
      clearInterval(this._ping);
      this._ping = setInterval(() => this._send({ type: "ping" }), PING_EVERY);
      this.handlers.onStatus("live");
      return;
    }
    if (frame.type === "pong") return;
    if (frame.type === "revoked") {
      this.revoked = frame.reason || "revoked";
      return;
    }
    this.handlers.onEvent(frame);
  }

  _closed(ev) {
    this.ready = false;
    this.ws = null;
    clearInterval(this._ping);
    if (this.stopped) return;
    if (this.revoked) {
      const reason = this.revoked;
      this.revoked = null;
      this.handlers.onRevoked(reason);
      return;
    }
    this.handlers.onStatus("offline");
    const again = () => {
      const wait = Math.min(15_000, 500 * 2 ** this.retry++);
      this._reconnect = setTimeout(() => this._connect(), wait);
    };
    // 4001: the token was refused (expired?) — refresh it first; a failed refresh signs out.
    if (ev.code === 4001) this.api.refresh().then(again, () => {});
    else again();
  }

  _send(frame) {
    if (this.ws && this.ready) { this.ws.send(JSON.stringify(frame)); return true; }
    return false;
  }

  /** Send a message (with photos: `images` as data: URLs, over HTTP); the answer arrives through
   * `onEvent`. True when it went over the socket. */
  chat(conversationId, content, images = []) {
    if (!images.length && this._send({ type: "chat", conversation_id: conversationId, content })) return true;
    this._chatSse(conversationId, content, images);
    return false;
  }

  /** Stop the answer being written in this conversation. */
  async cancel(conversationId) {
    if (this._send({ type: "cancel", conversation_id: conversationId })) return;
    try { await this.api.request("POST", `/api/conversations/${encodeURIComponent(conversationId)}/cancel`); } catch { /* already over */ }
  }

  async _chatSse(conversationId, content, images = []) {
    const controller = new AbortController();
    this.sse.set(conversationId, controller);
    const emit = (event) => this.handlers.onEvent({ ...event, conversation_id: conversationId });
    try {
      const response = await this.api.fetch("POST", `/api/conversations/${encodeURIComponent(conversationId)}/messages`,
        { content, stream: true, ...(images.length ? { images: images.map((url) => ({ url })) } : {}) },
        { signal: controller.signal });
      if (!response.ok) {
        let body = null;
        try { body = await response.json(); } catch { body = null; }
        emit({ type: "error", status: response.status, retry_after: Number(response.headers.get("Retry-After")) || undefined,
          error: (body && body.error) || { message: `request failed (${response.status})` } });
        return;
      }
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = parseSse(block);
          if (event) emit(event);
        }
      }
    } catch (err) {
      if (err.name !== "AbortError") emit({ type: "error", status: 0, error: { message: "" } });
    } finally {
      this.sse.delete(conversationId);
    }
  }
}

function parseSse(block) {
  let type = null, seq = null, data = "";
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const at = line.indexOf(":");
    const key = line.slice(0, at);
    const value = line.slice(at + 1).replace(/^ /, "");
    if (key === "event") type = value;
    else if (key === "id") seq = Number(value);
    else if (key === "data") data += value;
  }
  if (!type) return null;
  return { type, seq, ...JSON.parse(data || "{}") };
}
