// The kiosk's live order panel: the order (items, options, total, state, order number) and
// touch buttons that send the same commands as the chat (`/order/commands`).

import { explain } from "./api.js";
import { lang as pageLang, t as pageText } from "./i18n.js";
import { el } from "./dom.js";

const won = new Intl.NumberFormat("ko-KR", { style: "currency", currency: "KRW" });
export const formatWon = (amount) => won.format(amount || 0);

const TEXT = {
  en: { order: "Your order", menu: "Menu", empty: "Nothing yet — tap a dish below, or just tell me what you'd like.",
    dine_in: "Dine in", takeout: "Takeout", total: "Total", checkout: "Checkout", pay: "Pay with", card: "Card",
    cash: "Cash", mobile: "Mobile", cancel: "Cancel order", add: "Add", close: "Close", placed: "Order placed",
    number: "Order number", again: "Add something to start a new order.", where: "Eat here or take away?",
    states: { greet: "Welcome", order: "Ordering", option: "Dine in or takeout?", pay: "Ready to pay", done: "Paid" },
    categories: { burger: "Burgers", side: "Sides", drink: "Drinks", dessert: "Desserts", set: "Sets", other: "More" } },
  ko: { order: "주문 내역", menu: "메뉴", empty: "아직 담긴 메뉴가 없어요. 아래에서 고르거나 말로 주문하세요.",
    dine_in: "매장", takeout: "포장", total: "합계", checkout: "주문하기", pay: "결제", card: "카드", cash: "현금",
    mobile: "모바일", cancel: "주문 취소", add: "담기", close: "닫기", placed: "주문 완료", number: "주문 번호",
    again: "메뉴를 담으면 새 주문이 시작돼요.", where: "드시고 가세요, 포장하세요?",
    states: { greet: "환영합니다", order: "주문 중", option: "매장/포장 선택", pay: "결제 대기", done: "결제 완료" },
    categories: { burger: "버거", side: "사이드", drink: "음료", dessert: "디저트", set: "세트", other: "기타" } },
  zh: { order: "您的订单", menu: "菜单", empty: "还没有点餐——在下面选择，或直接告诉我。",
    dine_in: "堂食", takeout: "外带", total: "合计", checkout: "去结账", pay: "支付", card: "银行卡", cash: "现金",
    mobile: "手机支付", cancel: "取消订单", add: "加入", close: "关闭", placed: "下单成功", number: "订单号",
    again: "再点餐即可开始新订单。", where: "堂食还是外带？",
    states: { greet: "欢迎光临", order: "点餐中", option: "堂食或外带？", pay: "待支付", done: "已支付" },
    categories: { burger: "汉堡", side: "小食", drink: "饮料", dessert: "甜点", set: "套餐", other: "其他" } },
};


/** The language a panel starts in: the page's (the browser's, or the one the person chose). */
export function defaultLang() {
  return pageLang();
}

export class KioskPanel {
  /** `root`: the panel; `bar`: the phone's sticky total bar (total, item count, the next step). */
  constructor(api, root, bar) {
    this.api = api;
    this.root = root;
    this.bar = bar;
    this.lang = pageLang();
    this.chosen = false; // the customer picked a language in the panel: keep it
    this.menus = {};
    this.conversationId = null;
    this.order = null;
    this.picking = null; // {item, options, quantity}
    this.notice = "";
    this.busy = false;
  }

  get t() { return TEXT[this.lang] || TEXT.en; }

  /** The customer orders in `lang` (their own words in the chat): the panel follows. */
  follow(lang) {
    if (!lang || lang === this.lang || !TEXT[lang] || this.chosen) return;
    this.lang = lang;
    this.loadMenu();
    this.refresh();
  }

  async show(conversationId) {
    if (conversationId !== this.conversationId) this.chosen = false;
    this.conversationId = conversationId;
    this.order = null;
    this.picking = null;
    this.notice = "";
    this.root.hidden = false;
    this.draw();
    await Promise.all([this.loadMenu(), this.refresh()]);
  }

  hide() {
    this.conversationId = null;
    this.root.hidden = true;
    this.root.replaceChildren();
    if (this.bar) { this.bar.hidden = true; this.bar.replaceChildren(); }
  }

  async loadMenu() {
    if (!this.menus[this.lang]) {
      try { this.menus[this.lang] = await this.api.request("GET", `/api/kiosk/menu?lang=${this.lang}`); } catch (err) { this.notice = explain(err); }
    }
    this.draw();
  }

  /** Re-read the order (after a chat turn or a command elsewhere). */
  async refresh() {
    const id = this.conversationId;
    if (!id) return;
    try {
      const order = await this.api.request("GET", `/api/conversations/${encodeURIComponent(id)}/order?lang=${this.lang}`);
      if (id === this.conversationId) { this.order = order; this.draw(); }
    } catch (err) {
      if (id === this.conversationId) { this.notice = explain(err); this.draw(); }
    }
  }

  async command(command, args = {}) {
    if (!this.conversationId || this.busy) return;
    this.busy = true;
    this.root.classList.add("busy");
    try {
      const outcome = await this.api.request("POST", `/api/conversations/${encodeURIComponent(this.conversationId)}/order/commands`,
        { command, args, lang: this.lang });
      this.order = outcome.order;
      this.notice = "";
      if (command === "add_item") this.picking = null;
    } catch (err) {
      this.notice = explain(err);
    } finally {
      this.busy = false;
      this.root.classList.remove("busy");
      this.draw();
    }
  }

  optionLabel(key, value) {
    const menu = this.menus[this.lang];
    const item = menu && menu.items.find((i) => i.options.some((o) => o.key === key));
    const spec = item && item.options.find((o) => o.key === key);
    const v = spec && spec.values.find((x) => x.value === value);
    return v ? v.name : value;
  }

  pick(item) {
    if (!item.options.length) { this.command("add_item", { item_id: item.id, quantity: 1 }); return; }
    this.picking = { item, quantity: 1, options: Object.fromEntries(item.options.map((o) => [o.key, o.default])) };
    this.draw();
    const picker = this.root.querySelector(".picker");
    if (picker) picker.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  draw() {
    if (!this.conversationId) return;
    const t = this.t;
    const order = this.order || { state: "greet", items: [], dine: null, total: 0, order_number: null };
    const done = order.state === "done";
    const langSelect = el("select", { class: "lang-select", "aria-label": pageText("nav.language"), onchange: (e) => {
      this.lang = e.target.value; this.chosen = true; this.loadMenu(); this.refresh();
    } }, ...[["ko", "한국어"], ["en", "English"], ["zh", "中文"]].map(([v, label]) =>
      el("option", { value: v, selected: v === this.lang, lang: v, text: label })));

    const header = el("div", { class: "order-head" },
      el("h2", { text: t.order }),
      el("span", { class: `state-pill state-${order.state}`, "data-state": order.state, text: t.states[order.state] || order.state }),
      langSelect);

    const parts = [header];
    if (this.notice) parts.push(el("div", { class: "order-notice", role: "alert", text: this.notice }));
    if (done) {
      parts.push(el("div", { class: "order-placed" },
        el("div", { class: "placed-title", text: `✓ ${t.placed}` }),
        el("div", { class: "placed-label", text: t.number }),
        el("div", { class: "order-number", text: String(order.order_number ?? "") }),
        el("div", { class: "placed-hint", text: t.again })));
    }
    if (!order.items.length) {
      parts.push(el("p", { class: "order-empty", text: t.empty }));
    } else {
      parts.push(el("ul", { class: "order-items" }, order.items.map((line) => this.drawLine(line, done))));
    }
    if (!done) {
      parts.push(el("div", { class: `dine-row${order.state === "option" ? " attention" : ""}` },
        el("span", { class: "dine-label", text: t.where }),
        el("div", { class: "segmented" }, ["dine_in", "takeout"].map((d) => el("button", {
          type: "button", class: order.dine === d ? "selected" : "", "data-dine": d, "aria-pressed": String(order.dine === d),
          text: t[d], onclick: () => this.command("set_dine_option", { dine: d }),
        })))));
    }
    parts.push(el("div", { class: "total-row" }, el("span", { text: t.total }),
      el("strong", { class: "order-total", text: formatWon(order.total) })));
    if (!done && order.items.length) {
      if (order.state === "pay") {
        parts.push(el("div", { class: "pay-row" }, el("span", { class: "pay-label", text: t.pay }),
          ...["card", "cash", "mobile"].map((m) => el("button", { type: "button", class: "primary", "data-pay": m, text: t[m],
            onclick: () => this.command("pay", { method: m }) }))));
      } else {
        parts.push(el("div", { class: "pay-row" }, el("button", { type: "button", class: "primary wide", "data-command": "checkout",
          text: t.checkout, onclick: () => this.command("checkout") })));
      }
      parts.push(el("button", { type: "button", class: "link-button", "data-command": "cancel_order", text: t.cancel,
        onclick: () => this.command("cancel_order") }));
    }
    parts.push(this.drawMenu());
    this.root.lang = this.lang;
    this.root.replaceChildren(...parts);
    this.drawBar(order);
  }

  /** The phone's sticky bar: what the order costs and its next step, whatever is scrolled into view. */
  drawBar(order) {
    if (!this.bar) return;
    const t = this.t;
    const count = order.items.reduce((n, line) => n + line.quantity, 0);
    const done = order.state === "done";
    const toPanel = () => this.root.scrollIntoView({ behavior: "smooth", block: "start" });
    // The next step of the order: checkout sends the command; choosing dine-in/takeout and
    // the payment method happen in the panel, so those scroll it into view.
    const step = { order: ["checkout", t.checkout], option: ["dine", t.where], pay: ["pay", t.pay] }[order.state];
    const next = done || !order.items.length || !step ? null
      : el("button", { type: "button", class: "primary", "data-bar": step[0], text: step[1], onclick: () => {
        if (step[0] === "checkout") this.command("checkout");
        toPanel();
      } });
    this.bar.lang = this.lang;
    this.bar.replaceChildren(
      el("button", { type: "button", class: "bar-summary", "data-bar": "view", onclick: toPanel },
        el("span", { class: "bar-count", text: done ? `✓ ${t.placed} #${order.order_number ?? ""}` : `${t.order} · ${count}` }),
        el("strong", { class: "bar-total", text: formatWon(order.total) })),
      next);
    this.bar.hidden = false;
  }

  drawLine(line, done) {
    const opts = Object.entries(line.options || {}).map(([k, v]) => this.optionLabel(k, v)).join(" · ");
    const args = { item_id: line.item_id, options: line.options };
    return el("li", { class: "order-line", "data-item": line.item_id },
      el("div", { class: "line-main" },
        el("span", { class: "line-name", text: line.name }),
        opts ? el("span", { class: "line-options", text: opts }) : null),
      done ? el("span", { class: "line-qty", text: `× ${line.quantity}` }) : el("div", { class: "stepper" },
        el("button", { type: "button", "aria-label": "one less", "data-step": "-", text: "−",
          onclick: () => this.command("set_quantity", { ...args, quantity: line.quantity - 1 }) }),
        el("span", { class: "line-qty", text: String(line.quantity) }),
        el("button", { type: "button", "aria-label": "one more", "data-step": "+", text: "+",
          onclick: () => this.command("set_quantity", { ...args, quantity: line.quantity + 1 }) })),
      el("span", { class: "line-total", text: formatWon(line.line_total) }));
  }

  drawMenu() {
    const t = this.t;
    const menu = this.menus[this.lang];
    const box = el("section", { class: "menu", "aria-label": t.menu }, el("h3", { text: t.menu }));
    if (!menu) return box;
    const groups = new Map();
    for (const item of menu.items) {
      if (!groups.has(item.category)) groups.set(item.category, []);
      groups.get(item.category).push(item);
    }
    for (const [category, items] of groups) {
      box.append(el("h4", { text: t.categories[category] || category }));
      box.append(el("div", { class: "menu-grid" }, items.map((item) => el("button", {
        type: "button", class: "menu-tile", "data-menu-item": item.id, lang: this.lang, onclick: () => this.pick(item),
      }, el("span", { class: "tile-name", text: item.name }), el("span", { class: "tile-price", text: formatWon(item.price) })))));
      if (this.picking && items.includes(this.picking.item)) box.append(this.drawPicker());
    }
    return box;
  }

  drawPicker() {
    const t = this.t;
    const p = this.picking;
    const unit = p.item.price + p.item.options.reduce((sum, o) =>
      sum + (o.values.find((v) => v.value === p.options[o.key]) || { price: 0 }).price, 0);
    return el("div", { class: "picker", role: "group", "aria-label": p.item.name },
      el("div", { class: "picker-title", text: p.item.name }),
      p.item.options.map((o) => el("div", { class: "picker-option" },
        el("span", { class: "picker-label", text: o.name }),
        el("div", { class: "segmented" }, o.values.map((v) => el("button", {
          type: "button", class: p.options[o.key] === v.value ? "selected" : "", "data-option": `${o.key}=${v.value}`,
          "aria-pressed": String(p.options[o.key] === v.value),
          text: v.price ? `${v.name} +${formatWon(v.price)}` : v.name,
          onclick: () => { p.options[o.key] = v.value; this.draw(); },
        }))))),
      el("div", { class: "picker-actions" },
        el("div", { class: "stepper" },
          el("button", { type: "button", "aria-label": "one less", text: "−", onclick: () => { p.quantity = Math.max(1, p.quantity - 1); this.draw(); } }),
          el("span", { class: "line-qty", text: String(p.quantity) }),
          el("button", { type: "button", "aria-label": "one more", text: "+", onclick: () => { p.quantity += 1; this.draw(); } })),
        el("button", { type: "button", class: "link-button", text: t.close, onclick: () => { this.picking = null; this.draw(); } }),
        el("button", { type: "button", class: "primary", "data-add": p.item.id, text: `${t.add} · ${formatWon(unit * p.quantity)}`,
          onclick: () => this.command("add_item", { item_id: p.item.id, quantity: p.quantity, options: { ...p.options } }) })));
  }
}
