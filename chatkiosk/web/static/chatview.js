// The conversation pane: history (paged back with `before=`), the streamed answer, the
// composer (Enter sends, Shift+Enter is a new line) and the stop button.

import { actionsNode } from "./actions.js";
import { explain } from "./api.js";
import { lang as pageLang, t } from "./i18n.js";
import { render } from "./markdown.js";

const PAGE = 30;
const STATUSES = new Set(["cancelled", "incomplete", "error", "streaming"]);
// The kiosk's examples show its three languages whatever the page's language is.
const HINTS = {
  kiosk: () => ["불고기버거 2개랑 콜라 주세요", "Two cheeseburgers, one large fries", "我要两个芝士汉堡"],
  assistant: () => [t("hint.1"), t("hint.2"), t("hint.3")],
  shop: () => ["Where is my order?", "How do refunds work?"],
};

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The language a text is mostly written in, for `lang` (fonts, line breaking); null without letters. */
export function writtenIn(text) {
  if (!/[A-Za-z\uac00-\ud7a3\u4e00-\u9fff]/.test(text)) return null;
  return guessLang(text);
}

/** The language a text is mostly written in, for `lang` (fonts, line breaking). */
export function guessLang(text) {
  const hangul = (text.match(/[\uac00-\ud7a3]/g) || []).length;
  const han = (text.match(/[\u4e00-\u9fff]/g) || []).length;
  if (!hangul && !han) return "en";
  return hangul >= han ? "ko" : "zh";
}

export class ChatView {
  /** `els`: {messages, input, send, stop, banner}; `hooks`: {onTurnDone(conv, firstText), onUserText(conv, text)}. */
  constructor(api, stream, els, hooks) {
    this.api = api;
    this.stream = stream;
    this.els = els;
    this.hooks = hooks;
    this.conv = null;
    this.oldestId = null;
    this.hasMore = false;
    this.loadingOlder = false;
    this.turn = null;
    this.count = 0;
    this.photos = null; // the composer's photo picker (shop conversations), set by the page
    els.input.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); this.send(); }
    });
    els.input.addEventListener("input", () => this.autosize());
    els.send.addEventListener("click", (e) => { e.preventDefault(); this.send(); });
    els.stop.addEventListener("click", (e) => { e.preventDefault(); if (this.turn) this.stream.cancel(this.turn.conv); });
    els.messages.addEventListener("scroll", () => { if (els.messages.scrollTop < 80) this.loadOlder(); });
  }

  autosize() {
    const input = this.els.input;
    input.style.height = "auto";
    input.style.height = `${Math.min(200, input.scrollHeight)}px`;
  }

  banner(text, kind = "error") {
    const b = this.els.banner;
    b.textContent = text || "";
    b.className = `banner ${kind}`;
    b.hidden = !text;
    clearTimeout(this._bannerTimer);
    if (text && kind !== "error") this._bannerTimer = setTimeout(() => { b.hidden = true; }, 4000);
  }

  /** Show a conversation (or the empty state when `conv` is null). */
  async open(conv) {
    this.conv = conv;
    this.turn = null;
    this.count = 0;
    this.oldestId = null;
    this.hasMore = false;
    this.setBusy(false);
    this.banner("");
    this.els.messages.replaceChildren();
    this.els.input.disabled = !conv;
    this.els.send.disabled = !conv;
    if (!conv) return;
    this.els.input.placeholder = t(conv.agent === "kiosk" ? "composer.kiosk" : "composer.placeholder");
    await this.loadOlder(true);
    this.els.input.focus();
  }

  async loadOlder(first = false) {
    if (!this.conv || this.loadingOlder || (!first && !this.hasMore)) return;
    this.loadingOlder = true;
    const conv = this.conv;
    const box = this.els.messages;
    try {
      const q = new URLSearchParams({ limit: String(PAGE) });
      if (this.oldestId) q.set("before", this.oldestId);
      const page = await this.api.request("GET", `/api/conversations/${encodeURIComponent(conv.id)}/messages?${q}`);
      if (conv !== this.conv) return;
      const rows = page.data.filter((m) => m.role !== "tool" && (m.content || m.role === "user" || (m.tool_calls || []).length));
      this.hasMore = page.has_more;
      if (page.data.length) this.oldestId = page.data[page.data.length - 1].id;
      this.count += rows.length;
      const before = box.scrollHeight - box.scrollTop;
      const frag = document.createDocumentFragment();
      if (this.hasMore) frag.append(el("div", "history-more", t("chat.more")));
      for (const m of rows.reverse()) frag.append(this.messageNode(m));
      box.querySelector(".history-more")?.remove();
      box.querySelector(".empty-chat")?.remove();
      box.prepend(frag);
      if (first) box.scrollTop = box.scrollHeight;
      else box.scrollTop = box.scrollHeight - before;
      if (!this.count) box.append(this.emptyState());
      const lastUser = page.data.find((m) => m.role === "user");
      if (first && lastUser && this.hooks.onUserText) this.hooks.onUserText(conv.id, lastUser.content);
      // A short first page leaves no scrollbar to pull: keep loading until there is one.
      if (this.hasMore && box.scrollHeight <= box.clientHeight) setTimeout(() => this.loadOlder(), 0);
    } catch (err) {
      this.banner(explain(err));
    } finally {
      this.loadingOlder = false;
    }
  }

  emptyState() {
    const agent = this.conv.agent;
    const box = el("div", "empty-chat");
    box.append(el("div", "empty-title", t(agent === "kiosk" ? "chat.kiosk_title" : "chat.title")));
    box.append(el("p", "empty-text", t(agent === "kiosk" ? "chat.kiosk_text" : "chat.text")));
    const hints = el("div", "hints");
    for (const hint of (HINTS[agent] || HINTS.assistant)()) {
      const b = el("button", "hint", hint);
      b.type = "button";
      b.lang = guessLang(hint);
      b.addEventListener("click", () => { this.els.input.value = hint; this.send(); });
      hints.append(b);
    }
    box.append(hints);
    return box;
  }

  messageNode(m) {
    const node = el("div", `msg msg-${m.role}`);
    if (m.id) node.dataset.id = m.id;
    const bubble = el("div", "bubble");
    node.append(bubble);
    this.fill(node, m.role, m.content || "", m.tool_calls || [], m.status);
    if ((m.attachments || []).length || (m.localPhotos || []).length) bubble.append(this.photosNode(m));
    return node;
  }

  /** A message's photos: the ones just sent from their data: URLs, stored ones fetched with the login. */
  photosNode(m) {
    const box = el("div", "msg-photos");
    for (const url of m.localPhotos || []) { const img = el("img", "msg-photo"); img.alt = t("chat.photo"); img.src = url; box.append(img); }
    for (const photo of m.attachments || []) {
      const img = el("img", "msg-photo");
      img.alt = t("chat.photo");
      img.width = photo.width;
      img.height = photo.height;
      box.append(img);
      this.api.fetch("GET", photo.url).then((r) => (r.ok ? r.blob() : null)).then((blob) => {
        if (blob) img.src = URL.createObjectURL(blob);
      }).catch(() => { /* a thumbnail is a nicety */ });
    }
    return box;
  }

  fill(node, role, text, tools, status) {
    const bubble = node.querySelector(".bubble");
    bubble.replaceChildren();
    bubble.lang = guessLang(text);
    // What was done, in the words of the answer's language; the tool calls behind one click.
    if (tools.length) bubble.append(actionsNode(tools, writtenIn(text) || pageLang()));
    if (role === "user") bubble.append(el("div", "plain", text));
    else if (text) { const md = el("div", "markdown"); md.append(render(text)); bubble.append(md); }
    else if (status === "streaming") bubble.append(el("span", "typing", "…"));
    node.querySelector(".msg-status")?.remove();
    if (status && STATUSES.has(status) && !(status === "streaming" && this.turn)) {
      node.append(el("div", `msg-status status-${status}`, t(`status.${status}`)));
    }
  }

  setBusy(busy) {
    this.els.stop.hidden = !busy;
    this.els.send.hidden = busy;
  }

  /** Send `text` as if it had been typed (a preset's prompt). */
  sendText(text) {
    this.els.input.value = text;
    this.send();
  }

  send() {
    const text = this.els.input.value.trim();
    const waiting = this.photos ? this.photos.photos.length : 0;
    if ((!text && !waiting) || !this.conv) return;
    if (this.turn) { this.banner(t("chat.busy"), "info"); return; }
    const photos = waiting ? this.photos.take() : [];
    if (this.hooks.onUserText && text) this.hooks.onUserText(this.conv.id, text);
    this.els.messages.querySelector(".empty-chat")?.remove();
    const user = this.messageNode({ role: "user", content: text, localPhotos: photos.map((p) => p.url) });
    const assistant = el("div", "msg msg-assistant pending");
    assistant.append(el("div", "bubble"));
    assistant.querySelector(".bubble").append(el("span", "typing", "…"));
    this.els.messages.append(user, assistant);
    this.turn = { conv: this.conv.id, text: "", tools: [], user, assistant, draft: text, photos, first: this.count === 0, frame: 0 };
    this.count += 1;
    this.els.input.value = "";
    this.autosize();
    this.banner("");
    this.setBusy(true);
    this.scrollDown(true);
    this.turn.viaSocket = this.stream.chat(this.conv.id, text, photos.map((p) => p.url));
  }

  scrollDown(force = false) {
    const box = this.els.messages;
    if (force || box.scrollHeight - box.scrollTop - box.clientHeight < 120) box.scrollTop = box.scrollHeight;
  }

  /** One streamed event (WebSocket frame or SSE event) for any conversation. */
  handle(event) {
    const turn = this.turn;
    if (!turn || event.conversation_id !== turn.conv) return;
    switch (event.type) {
      case "message":
        if (event.message && event.message.id) turn.user.dataset.id = event.message.id;
        break;
      case "delta":
        turn.text += event.text;
        this.redraw(turn);
        break;
      case "tool_call":
        turn.tools.push({ id: event.id, name: event.name, arguments: event.arguments });
        this.redraw(turn);
        break;
      case "tool_result": {
        const call = turn.tools.find((c) => c.id === event.id);
        if (call && event.status) call.status = event.status;
        break;
      }
      case "error":
        if (event.seq === undefined || event.seq === null) { this.refused(turn, event); return; }
        turn.error = event.error;
        break;
      case "done": {
        const m = event.message || {};
        if (turn.frame) cancelAnimationFrame(turn.frame);
        turn.assistant.classList.remove("pending");
        if (m.id) turn.assistant.dataset.id = m.id;
        this.turn = null;
        this.fill(turn.assistant, "assistant", m.content ?? turn.text, m.tool_calls || turn.tools, m.status);
        if (turn.error) turn.assistant.append(el("div", "msg-error", explain(turn.error)));
        this.setBusy(false);
        this.scrollDown();
        this.hooks.onTurnDone(turn.conv, turn.first ? turn.draft : null);
        break;
      }
      default:
        break;
    }
  }

  redraw(turn) {
    if (turn.frame) return;
    turn.frame = requestAnimationFrame(() => {
      turn.frame = 0;
      if (this.turn !== turn) return;
      this.fill(turn.assistant, "assistant", turn.text, turn.tools, "streaming");
      this.scrollDown();
    });
  }

  /** The turn never started (rate limit, quota, validation…): take the bubbles back, keep the text. */
  refused(turn, event) {
    turn.user.remove();
    turn.assistant.remove();
    this.turn = null;
    this.count -= 1;
    this.setBusy(false);
    if (!this.els.input.value) this.els.input.value = turn.draft;
    if (turn.photos.length && this.photos) this.photos.restore(turn.photos);
    const err = { ...(event.error || {}), status: event.status };
    this.banner(explain(err, event.retry_after));
    if (!this.count) this.els.messages.append(this.emptyState());
  }

  /** The socket carrying the running turn dropped (the server stops a turn whose socket is gone). */
  abandon(reason) {
    if (!this.turn || !this.turn.viaSocket) return;
    const turn = this.turn;
    this.turn = null;
    turn.assistant.classList.remove("pending");
    this.fill(turn.assistant, "assistant", turn.text, turn.tools, "incomplete");
    if (reason) this.banner(reason);
    this.setBusy(false);
  }
}
