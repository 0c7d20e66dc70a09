// The page: sign in / register, the conversation list (and presets on "New chat"), and wiring
// of the chat pane, the stream and the kiosk order panel, in the page's language.

import { Api, explain } from "./api.js";
import { ChatView, guessLang, writtenIn } from "./chatview.js";
import { languageSelect, onLangChange, t, tOr, translate } from "./i18n.js";
import { KioskPanel } from "./kiosk.js";
import { PresetMenu } from "./presets.js";
import { PhotoPicker, ShopPanel } from "./shop.js";
import { Stream } from "./stream.js";

const $ = (id) => document.getElementById(id);
const SIGNED_OUT = new Set(["replaced", "logout", "password_changed", "disabled", "refresh_reuse", "expired"]);
const signedOutText = (reason) => t(`signed_out.${SIGNED_OUT.has(reason) ? reason : "expired"}`);
const agentLabel = (name) => (["assistant", "kiosk", "shop"].includes(name) ? t(`agent.${name}`) : name);

const api = new Api();
const state = { conversations: [], hasMore: false, agents: [], current: null, registering: false, signedOut: null };

const stream = new Stream(api, {
  onEvent: (event) => chat.handle(event),
  onRevoked: (reason) => api.signOut(reason),
  onStatus: (status) => {
    $("conn").dataset.status = status;
    $("conn").title = t(status === "live" ? "conn.live" : "conn.offline");
    if (status === "offline") chat.abandon(t("chat.dropped"));
  },
});

const chat = new ChatView(api, stream, {
  messages: $("messages"), input: $("input"), send: $("send"), stop: $("stop"), banner: $("banner"),
}, {
  onTurnDone: async (convId, firstText) => {
    if (state.current && state.current.id === convId && state.current.agent === "kiosk") kiosk.refresh();
    if (state.current && state.current.id === convId && state.current.agent === "shop") { if (firstText) shop.follow(guessLang(firstText)); shop.refresh(); }
    const conv = state.conversations.find((c) => c.id === convId);
    if (conv && firstText && !conv.title) {
      // The server titles a conversation from its first message: pick the title up.
      try {
        Object.assign(conv, await api.request("GET", `/api/conversations/${encodeURIComponent(convId)}`));
        drawList();
        if (state.current && state.current.id === convId) drawHeader();
      } catch { /* a title is a nicety */ }
    }
  },
  // The kiosk panel speaks the language the customer orders in.
  onUserText: (convId, text) => {
    if (state.current && state.current.id === convId && state.current.agent === "kiosk") kiosk.follow(writtenIn(text));
  },
});

const kiosk = new KioskPanel(api, $("order-panel"), $("order-bar"));
const presets = new PresetMenu(api, $("preset-menu"), {
  start: (preset) => newConversation($("agent-select").value || "assistant", preset),
  blank: () => newConversation($("agent-select").value || "assistant"),
  failed: (err) => chat.banner(explain(err)),
});
const shop = new ShopPanel(api, $("shop-panel"));
chat.photos = new PhotoPicker($("photo-pick"), $("photo-input"), $("photo-tray"), t);

// --- signing in

function showLogin(message) {
  stream.stop();
  chat.open(null);
  kiosk.hide();
  shop.hide();
  $("app-view").hidden = true;
  $("login-view").hidden = false;
  setMode(false);
  state.signedOut = message || null;
  const note = $("login-error");
  note.textContent = message ? message() : "";
  note.hidden = !message;
  $("password").value = "";
  $("username").focus();
}

function setMode(registering) {
  state.registering = registering;
  $("login-title").textContent = t(registering ? "login.register_title" : "login.title");
  $("login-submit").textContent = t(registering ? "login.register_submit" : "login.submit");
  $("login-switch").textContent = t(registering ? "login.switch_back" : "login.switch");
  $("password").autocomplete = registering ? "new-password" : "current-password";
  $("password-hint").hidden = !registering;
}

$("login-switch").addEventListener("click", () => setMode(!state.registering));
$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const username = $("username").value.trim();
  const password = $("password").value;
  const button = $("login-submit");
  button.disabled = true;
  $("login-error").hidden = true;
  try {
    if (state.registering) await api.register(username, password);
    else await api.login(username, password);
    await enter();
  } catch (err) {
    $("login-error").textContent = err.status === 401 ? t("login.wrong") : explain(err);
    $("login-error").hidden = false;
  } finally {
    button.disabled = false;
  }
});

// Messages are kept as functions, so switching the language re-words the one on screen.
api.onSignedOut = (reason) => showLogin(reason ? () => signedOutText(reason) : null);

async function enter() {
  $("login-view").hidden = true;
  $("app-view").hidden = false;
  $("whoami").textContent = api.session.username || "";
  api.start();
  stream.start();
  try {
    const [agents] = await Promise.all([api.request("GET", "/api/agents"), loadConversations(), presets.load()]);
    state.agents = agents.data;
    drawAgents();
    if (state.conversations.length) await select(state.conversations[0]);
    else await select(null);
  } catch (err) {
    if (api.signedIn) chat.banner(explain(err));
  }
}

$("logout").addEventListener("click", () => api.logout());

// --- conversations

async function loadConversations(more = false) {
  const q = new URLSearchParams({ limit: "50" });
  if (more && state.conversations.length) q.set("before", state.conversations[state.conversations.length - 1].id);
  const page = await api.request("GET", `/api/conversations?${q}`);
  state.conversations = more ? [...state.conversations, ...page.data] : page.data;
  state.hasMore = page.has_more;
  drawList();
}

$("more-conversations").addEventListener("click", () => loadConversations(true).catch((err) => chat.banner(explain(err))));

function drawAgents() {
  const select = $("agent-select");
  select.replaceChildren(...state.agents.map((a) => {
    const option = document.createElement("option");
    option.value = a.name;
    option.textContent = agentLabel(a.name);
    option.title = tOr(`agent_about.${a.name}`, a.description);
    return option;
  }));
  const cards = $("agent-cards");
  cards.replaceChildren(...state.agents.map((a) => {
    const card = document.createElement("button");
    card.type = "button";
    card.className = "agent-card";
    card.dataset.agent = a.name;
    const name = document.createElement("strong");
    name.textContent = agentLabel(a.name);
    const text = document.createElement("span");
    text.textContent = tOr(`agent_about.${a.name}`, a.description);
    card.append(name, text);
    card.addEventListener("click", () => newConversation(a.name));
    return card;
  }));
}

function title(conv) {
  return conv.title || t(conv.agent === "kiosk" ? "title.kiosk" : "title.other");
}

function drawList() {
  const list = $("conversation-list");
  if (!state.conversations.length) {
    const empty = document.createElement("p");
    empty.className = "list-empty";
    empty.textContent = t("nav.empty");
    list.replaceChildren(empty);
  } else {
    list.replaceChildren(...state.conversations.map(listItem));
  }
  $("more-conversations").hidden = !state.hasMore;
}

function listItem(conv) {
  const row = document.createElement("div");
  row.className = `conv${state.current && state.current.id === conv.id ? " active" : ""}`;
  row.dataset.id = conv.id;
  const open = document.createElement("button");
  open.type = "button";
  open.className = "conv-open";
  const name = document.createElement("span");
  name.className = "conv-title";
  name.textContent = title(conv);
  name.lang = guessLang(name.textContent);
  const badge = document.createElement("span");
  badge.className = `agent-badge agent-${conv.agent}`;
  badge.textContent = agentLabel(conv.agent);
  open.append(name, badge);
  open.addEventListener("click", () => select(conv));
  const rename = iconButton("✎", t("nav.rename"), () => startRename(row, conv));
  const remove = iconButton("×", t("nav.delete"), () => {
    if (remove.dataset.armed) { deleteConversation(conv); return; }
    remove.dataset.armed = "1";
    remove.textContent = t("nav.delete_confirm");
    remove.classList.add("armed");
    setTimeout(() => { delete remove.dataset.armed; remove.textContent = "×"; remove.classList.remove("armed"); }, 3000);
  });
  remove.classList.add("conv-delete");
  rename.classList.add("conv-rename");
  row.append(open, rename, remove);
  return row;
}

function iconButton(text, label, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "icon";
  b.textContent = text;
  b.title = label;
  b.setAttribute("aria-label", label);
  b.addEventListener("click", onClick);
  return b;
}

function startRename(row, conv) {
  const input = document.createElement("input");
  input.className = "conv-rename-input";
  input.value = conv.title;
  input.maxLength = 200;
  input.setAttribute("aria-label", t("nav.new_title"));
  const finish = async (save) => {
    if (!input.isConnected) return;
    if (save && input.value.trim() !== conv.title) {
      try {
        Object.assign(conv, await api.request("PATCH", `/api/conversations/${encodeURIComponent(conv.id)}`, { title: input.value.trim() }));
      } catch (err) { chat.banner(explain(err)); }
    }
    drawList();
    if (state.current && state.current.id === conv.id) drawHeader();
  };
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); finish(true); }
    if (e.key === "Escape") finish(false);
  });
  input.addEventListener("blur", () => finish(true));
  row.replaceChildren(input);
  input.focus();
  input.select();
}

async function deleteConversation(conv) {
  try {
    await api.request("DELETE", `/api/conversations/${encodeURIComponent(conv.id)}`);
  } catch (err) {
    if (err.status !== 404) { chat.banner(explain(err)); return; }
  }
  state.conversations = state.conversations.filter((c) => c.id !== conv.id);
  if (state.current && state.current.id === conv.id) await select(state.conversations[0] || null);
  else drawList();
}

/** A new conversation; from a preset it is named after it and its prompt is sent first. */
async function newConversation(agent, preset = null) {
  try {
    const conv = await api.request("POST", "/api/conversations", preset ? { agent, preset_id: preset.id } : { agent });
    state.conversations.unshift(conv);
    await select(conv);
    if (preset) chat.sendText(preset.prompt);
  } catch (err) {
    chat.banner(explain(err));
  }
}

// With presets saved, "New chat" offers them; without, it starts a blank conversation at once.
$("new-chat").addEventListener("click", () => {
  if (presets.items.length) presets.toggle();
  else newConversation($("agent-select").value || "assistant");
});
$("preset-toggle").addEventListener("click", () => presets.toggle());

function drawHeader() {
  const conv = state.current;
  $("chat-title").textContent = conv ? title(conv) : "chatkiosk";
  $("chat-title").lang = guessLang($("chat-title").textContent);
  $("chat-agent").textContent = conv ? agentLabel(conv.agent) : "";
  $("chat-agent").hidden = !conv;
}

async function select(conv) {
  state.current = conv;
  document.body.classList.remove("drawer-open");
  $("app-view").classList.toggle("with-order", Boolean(conv && (conv.agent === "kiosk" || conv.agent === "shop")));
  $("welcome").hidden = Boolean(conv);
  $("composer").hidden = !conv;
  drawHeader();
  drawList();
  if (conv && conv.agent === "kiosk") kiosk.show(conv.id);
  else kiosk.hide();
  if (conv && conv.agent === "shop") shop.show();
  else shop.hide();
  chat.photos.show(Boolean(conv && conv.agent === "shop"));
  await chat.open(conv);
}

$("drawer-toggle").addEventListener("click", () => document.body.classList.toggle("drawer-open"));
$("drawer-scrim").addEventListener("click", () => document.body.classList.remove("drawer-open"));

// --- the page's language: from the browser, switchable on the login card and in the sidebar

$("login-lang").append(languageSelect("lang-select"));
$("page-lang").append(languageSelect("lang-select"));
onLangChange(() => {
  setMode(state.registering);
  const note = $("login-error");
  if (state.signedOut) note.textContent = state.signedOut();
  $("conn").title = t($("conn").dataset.status === "live" ? "conn.live" : "conn.offline");
  drawAgents();
  drawList();
  drawHeader();
  presets.draw();
  if (state.current) chat.open(state.current);
});

// --- start

translate(document);
setMode(false);
if (api.signedIn) {
  api.refresh().then(enter, () => showLogin(() => signedOutText("expired")));
} else {
  showLogin(null);
}
