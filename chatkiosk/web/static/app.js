// The page: sign in / register, the conversation list, and wiring of the chat pane, the
// stream and the kiosk order panel.

import { Api, explain } from "./api.js";
import { ChatView, guessLang } from "./chatview.js";
import { KioskPanel } from "./kiosk.js";
import { ShopPanel } from "./shop.js";
import { Stream } from "./stream.js";

const $ = (id) => document.getElementById(id);
const SIGNED_OUT = {
  replaced: "You signed in somewhere else, so this session ended.",
  logout: "You have been signed out.",
  password_changed: "Your password was changed. Please sign in again.",
  disabled: "This account has been disabled.",
  refresh_reuse: "For your safety this session was ended. Please sign in again.",
  expired: "Your session expired. Please sign in again.",
};
const AGENT_LABEL = { assistant: "Assistant", kiosk: "Burger kiosk", shop: "Shop help" };

const api = new Api();
const state = { conversations: [], hasMore: false, agents: [], current: null, registering: false };

const stream = new Stream(api, {
  onEvent: (event) => chat.handle(event),
  onRevoked: (reason) => api.signOut(reason),
  onStatus: (status) => {
    $("conn").dataset.status = status;
    $("conn").title = status === "live" ? "Connected" : "Reconnecting…";
    if (status === "offline") chat.abandon("The connection dropped, so the answer was stopped. Send it again when you're back.");
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
      try {
        const title = firstText.replace(/\s+/g, " ").slice(0, 48);
        Object.assign(conv, await api.request("PATCH", `/api/conversations/${encodeURIComponent(convId)}`, { title }));
        drawList();
        if (state.current && state.current.id === convId) drawHeader();
      } catch { /* a title is a nicety */ }
    }
  },
});

const kiosk = new KioskPanel(api, $("order-panel"));
const shop = new ShopPanel(api, $("shop-panel"));

// --- signing in

function showLogin(message) {
  stream.stop();
  chat.open(null);
  kiosk.hide();
  shop.hide();
  $("app-view").hidden = true;
  $("login-view").hidden = false;
  setMode(false);
  const note = $("login-error");
  note.textContent = message || "";
  note.hidden = !message;
  $("password").value = "";
  $("username").focus();
}

function setMode(registering) {
  state.registering = registering;
  $("login-title").textContent = registering ? "Create your account" : "Sign in";
  $("login-submit").textContent = registering ? "Create account" : "Sign in";
  $("login-switch").textContent = registering ? "I already have an account" : "Create an account";
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
    $("login-error").textContent = err.status === 401 ? "Wrong username or password." : explain(err);
    $("login-error").hidden = false;
  } finally {
    button.disabled = false;
  }
});

api.onSignedOut = (reason) => showLogin(reason ? SIGNED_OUT[reason] || SIGNED_OUT.expired : "");

async function enter() {
  $("login-view").hidden = true;
  $("app-view").hidden = false;
  $("whoami").textContent = api.session.username || "";
  api.start();
  stream.start();
  try {
    const [agents] = await Promise.all([api.request("GET", "/api/agents"), loadConversations()]);
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
    option.textContent = AGENT_LABEL[a.name] || a.name;
    option.title = a.description;
    return option;
  }));
  const cards = $("agent-cards");
  cards.replaceChildren(...state.agents.map((a) => {
    const card = document.createElement("button");
    card.type = "button";
    card.className = "agent-card";
    card.dataset.agent = a.name;
    const name = document.createElement("strong");
    name.textContent = AGENT_LABEL[a.name] || a.name;
    const text = document.createElement("span");
    text.textContent = a.description;
    card.append(name, text);
    card.addEventListener("click", () => newConversation(a.name));
    return card;
  }));
}

function title(conv) {
  return conv.title || (conv.agent === "kiosk" ? "New order" : "New conversation");
}

function drawList() {
  const list = $("conversation-list");
  if (!state.conversations.length) {
    const empty = document.createElement("p");
    empty.className = "list-empty";
    empty.textContent = "No conversations yet.";
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
  badge.textContent = AGENT_LABEL[conv.agent] || conv.agent;
  open.append(name, badge);
  open.addEventListener("click", () => select(conv));
  const rename = iconButton("✎", "Rename", () => startRename(row, conv));
  const remove = iconButton("×", "Delete", () => {
    if (remove.dataset.armed) { deleteConversation(conv); return; }
    remove.dataset.armed = "1";
    remove.textContent = "Delete?";
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
  input.setAttribute("aria-label", "New title");
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

async function newConversation(agent) {
  try {
    const conv = await api.request("POST", "/api/conversations", { agent });
    state.conversations.unshift(conv);
    await select(conv);
  } catch (err) {
    chat.banner(explain(err));
  }
}

$("new-chat").addEventListener("click", () => newConversation($("agent-select").value || "assistant"));

function drawHeader() {
  const conv = state.current;
  $("chat-title").textContent = conv ? title(conv) : "chatkiosk";
  $("chat-title").lang = guessLang($("chat-title").textContent);
  $("chat-agent").textContent = conv ? AGENT_LABEL[conv.agent] || conv.agent : "";
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
  await chat.open(conv);
}

$("drawer-toggle").addEventListener("click", () => document.body.classList.toggle("drawer-open"));
$("drawer-scrim").addEventListener("click", () => document.body.classList.remove("drawer-open"));

// --- start

setMode(false);
if (api.signedIn) {
  api.refresh().then(enter, () => showLogin(SIGNED_OUT.expired));
} else {
  showLogin("");
}
