// The shop's side panel: the customer's orders (status, items, total, tracking) and tickets,
// beside the chat. "Cancel" and "File a ticket" use the same commands as the shop agent's tools
// (`POST /api/shop/orders/{id}/cancel`, `POST /api/shop/tickets`); the customer's click on
// "Yes, cancel" is the confirmation.

import { explain } from "./api.js";
import { defaultLang, formatWon } from "./kiosk.js";
import { el } from "./dom.js";

const TEXT = {
  en: { orders: "Your orders", tickets: "Your tickets", none: "No orders yet.", noTickets: "No tickets.",
    cancel: "Cancel", ticket: "File a ticket", sure: "Cancel this order?", yes: "Yes, cancel", no: "Keep it",
    send: "Send ticket", close: "Close", describe: "What happened?", tracking: "Tracking", total: "Total",
    cancelled: "Order {n} is cancelled.", filed: "Ticket filed: {id}", refresh: "Refresh",
    status: { paid: "Paid", preparing: "Preparing", shipped: "Shipped", delivered: "Delivered", cancelled: "Cancelled" },
    ticketStatus: { open: "Open", resolved: "Resolved" },
    issues: { delivery: "Delivery problem", damaged: "Damaged item", refund: "Refund / return", exchange: "Exchange", other: "Other" } },
  ko: { orders: "내 주문", tickets: "내 문의", none: "주문 내역이 없어요.", noTickets: "문의 내역이 없어요.",
    cancel: "주문 취소", ticket: "문의 접수", sure: "이 주문을 취소할까요?", yes: "네, 취소할게요", no: "아니요",
    send: "문의 보내기", close: "닫기", describe: "어떤 문제가 있었나요?", tracking: "운송장", total: "합계",
    cancelled: "주문 {n}이 취소되었어요.", filed: "문의가 접수되었어요: {id}", refresh: "새로고침",
    status: { paid: "결제 완료", preparing: "상품 준비 중", shipped: "배송 중", delivered: "배송 완료", cancelled: "취소됨" },
    ticketStatus: { open: "처리 중", resolved: "해결됨" },
    issues: { delivery: "배송 문제", damaged: "파손", refund: "환불·반품", exchange: "교환", other: "기타" } },
  zh: { orders: "我的订单", tickets: "我的工单", none: "还没有订单。", noTickets: "没有工单。",
    cancel: "取消订单", ticket: "提交工单", sure: "确定取消这个订单吗？", yes: "确定取消", no: "不取消",
    send: "提交", close: "关闭", describe: "遇到了什么问题？", tracking: "运单号", total: "合计",
    cancelled: "订单 {n} 已取消。", filed: "工单已提交：{id}", refresh: "刷新",
    status: { paid: "已付款", preparing: "备货中", shipped: "已发货", delivered: "已送达", cancelled: "已取消" },
    ticketStatus: { open: "处理中", resolved: "已解决" },
    issues: { delivery: "配送问题", damaged: "商品破损", refund: "退款退货", exchange: "换货", other: "其他" } },
};


const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, k) => values[k] ?? "");

export class ShopPanel {
  constructor(api, root) {
    this.api = api;
    this.root = root;
    this.lang = defaultLang();
    this.orders = [];
    this.tickets = [];
    this.asking = null; // order id whose cancel is being confirmed
    this.filing = null; // order id a ticket is being written for ("" = no order)
    this.notice = "";
    this.visible = false;
  }

  get t() { return TEXT[this.lang] || TEXT.en; }

  async show() {
    this.visible = true;
    this.asking = this.filing = null;
    this.notice = "";
    this.root.hidden = false;
    await this.refresh();
  }

  hide() {
    this.visible = false;
    this.root.hidden = true;
    this.root.replaceChildren();
  }

  // The customer wrote in this language: the panel follows (`ko`, `en` or `zh`).
  follow(lang) {
    if (TEXT[lang] && lang !== this.lang) { this.lang = lang; if (this.visible) this.draw(); }
  }

  async refresh() {
    if (!this.visible) return;
    try {
      const [orders, tickets] = await Promise.all([
        this.api.request("GET", "/api/shop/orders?limit=50"),
        this.api.request("GET", "/api/shop/tickets?limit=50"),
      ]);
      this.orders = orders.data;
      this.tickets = tickets.data;
    } catch (err) {
      this.notice = explain(err);
    }
    if (this.visible) this.draw();
  }

  async cancel(order) {
    try {
      await this.api.request("POST", `/api/shop/orders/${encodeURIComponent(order.id)}/cancel`, { reason: "" });
      this.notice = fill(this.t.cancelled, { n: order.number });
    } catch (err) {
      this.notice = explain(err);
    }
    this.asking = null;
    await this.refresh();
  }

  async fileTicket(form) {
    const data = new FormData(form);
    const body = { issue_type: data.get("issue_type"), description: String(data.get("description") || "").trim() };
    if (this.filing) body.order_id = this.filing;
    if (!body.description) return;
    try {
      const ticket = await this.api.request("POST", "/api/shop/tickets", body);
      this.notice = fill(this.t.filed, { id: ticket.id });
      this.filing = null;
    } catch (err) {
      this.notice = explain(err);
    }
    await this.refresh();
  }

  draw() {
    const t = this.t;
    const langSelect = el("select", { class: "lang-select", "aria-label": "Panel language", onchange: (e) => { this.lang = e.target.value; this.draw(); } },
      ["ko", "en", "zh"].map((l) => el("option", { value: l, selected: l === this.lang, text: { ko: "한국어", en: "English", zh: "中文" }[l] })));
    const parts = [el("div", { class: "order-head" }, el("h2", { text: t.orders }), langSelect)];
    if (this.notice) parts.push(el("div", { class: "order-notice", role: "status", text: this.notice }));
    if (!this.orders.length) parts.push(el("p", { class: "order-empty", text: t.none }));
    parts.push(el("ul", { class: "shop-orders" }, this.orders.map((o) => this.drawOrder(o))));
    if (this.filing === "") parts.push(this.drawTicketForm());
    parts.push(el("button", { type: "button", class: "link-button", "data-action": "ticket-general", text: t.ticket,
      onclick: () => { this.filing = ""; this.draw(); } }));
    parts.push(el("h3", { text: t.tickets }));
    if (!this.tickets.length) parts.push(el("p", { class: "order-empty", text: t.noTickets }));
    parts.push(el("ul", { class: "shop-tickets" }, this.tickets.map((tk) => el("li", { class: "shop-ticket", "data-ticket": tk.id },
      el("div", { class: "line-main" },
        el("span", { class: "line-name", text: `${t.issues[tk.issue_type] || tk.issue_type}` }),
        el("span", { class: "line-options", text: tk.description })),
      el("span", { class: `state-pill ticket-${tk.status}`, text: t.ticketStatus[tk.status] || tk.status })))));
    this.root.replaceChildren(...parts);
  }

  drawOrder(order) {
    const t = this.t;
    const items = order.items.map((i) => `${i.name} × ${i.quantity}`).join(", ");
    const node = el("li", { class: "shop-order", "data-order": order.number, "data-status": order.status },
      el("div", { class: "shop-order-head" },
        el("strong", { class: "order-number-small", text: order.number }),
        el("span", { class: `state-pill status-${order.status}`, text: t.status[order.status] || order.status })),
      el("div", { class: "line-options", text: items }),
      el("div", { class: "total-row" }, el("span", { text: t.total }), el("strong", { text: formatWon(order.total) })),
      order.tracking_number ? el("div", { class: "line-options", text: `${t.tracking}: ${order.carrier || ""} ${order.tracking_number}` }) : null);
    const actions = el("div", { class: "shop-actions" });
    if (this.asking === order.id) {
      actions.append(el("span", { class: "shop-sure", text: t.sure }),
        el("button", { type: "button", class: "primary", "data-action": "confirm-cancel", text: t.yes, onclick: () => this.cancel(order) }),
        el("button", { type: "button", "data-action": "keep", text: t.no, onclick: () => { this.asking = null; this.draw(); } }));
    } else {
      if (order.cancellable) {
        actions.append(el("button", { type: "button", "data-action": "cancel", text: t.cancel,
          onclick: () => { this.asking = order.id; this.draw(); } }));
      }
      actions.append(el("button", { type: "button", "data-action": "ticket", text: t.ticket,
        onclick: () => { this.filing = order.id; this.draw(); } }));
    }
    node.append(actions);
    if (this.filing === order.id) node.append(this.drawTicketForm());
    return node;
  }

  drawTicketForm() {
    const t = this.t;
    const form = el("form", { class: "shop-ticket-form", onsubmit: (e) => { e.preventDefault(); this.fileTicket(form); } },
      el("select", { name: "issue_type", "aria-label": t.ticket },
        Object.entries(t.issues).map(([value, label]) => el("option", { value, text: label }))),
      el("textarea", { name: "description", rows: "3", maxlength: "4000", required: true, placeholder: t.describe, "aria-label": t.describe }),
      el("div", { class: "shop-actions" },
        el("button", { type: "submit", class: "primary", "data-action": "send-ticket", text: t.send }),
        el("button", { type: "button", text: t.close, onclick: () => { this.filing = null; this.draw(); } })));
    return form;
  }
}

// Photos with a chat message to the shop (the camera button in the composer): each file is read as a data: URL
// and sent with the next message (`images`); the server reads the type from the bytes, strips
// the metadata and files the photo with the ticket the agent files.
const MAX_PHOTOS = 4;

export class PhotoPicker {
  /** `pick`: the 📷 label around the file input; `tray`: where the chosen photos wait. */
  constructor(pick, input, tray, t) {
    this.pick = pick;
    this.input = input;
    this.tray = tray;
    this.t = t;
    this.photos = []; // [{url, name}]
    input.addEventListener("change", () => { this.add([...input.files]); input.value = ""; });
  }

  /** On in shop conversations only; off clears what was chosen. */
  show(on) {
    this.pick.hidden = !on;
    if (!on) this.take();
  }

  async add(files) {
    for (const file of files.slice(0, Math.max(0, MAX_PHOTOS - this.photos.length))) {
      const url = await new Promise((resolve, reject) => {
        const reader = new FileReader();
        reader.onload = () => resolve(String(reader.result));
        reader.onerror = () => reject(reader.error);
        reader.readAsDataURL(file);
      });
      this.photos.push({ url, name: file.name });
    }
    this.draw();
  }

  /** The chosen photos, taken out of the tray (for the message being sent). */
  take() {
    const photos = this.photos;
    this.photos = [];
    this.draw();
    return photos;
  }

  /** Put photos back (the message was refused before it started). */
  restore(photos) {
    this.photos = [...photos, ...this.photos].slice(0, MAX_PHOTOS);
    this.draw();
  }

  draw() {
    this.tray.hidden = !this.photos.length;
    this.tray.replaceChildren(...this.photos.map((photo, i) => el("span", { class: "tray-photo" },
      el("img", { src: photo.url, alt: photo.name }),
      el("button", { type: "button", "aria-label": this.t("composer.remove_photo"), title: this.t("composer.remove_photo"), text: "×",
        onclick: () => { this.photos.splice(i, 1); this.draw(); } }))));
  }
}
