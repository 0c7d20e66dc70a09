// Preset prompts on "New chat": start a conversation from one (named after it, its prompt sent
// first), save a new one, delete one. `/api/presets` holds them.

import { t } from "./i18n.js";
import { el } from "./dom.js";


export class PresetMenu {
  /** `actions`: {start(preset), blank(), failed(error)}. */
  constructor(api, root, actions) {
    this.api = api;
    this.root = root;
    this.actions = actions;
    this.items = [];
    this.editing = false;
  }

  async load() {
    try {
      this.items = (await this.api.request("GET", "/api/presets?limit=100")).data;
    } catch (err) {
      this.actions.failed(err);
    }
    this.draw();
  }

  toggle(open = this.root.hidden) {
    this.root.hidden = !open;
    if (!open) this.editing = false;
    this.draw();
  }

  draw() {
    if (this.root.hidden) { this.root.replaceChildren(); return; }
    const close = (fn) => () => { this.toggle(false); fn(); };
    const parts = [
      el("button", { type: "button", class: "preset-item preset-blank", role: "menuitem", "data-preset": "",
        text: t("presets.blank"), onclick: close(() => this.actions.blank()) }),
    ];
    if (this.items.length) parts.push(el("div", { class: "preset-heading", text: t("presets.heading") }));
    for (const preset of this.items) {
      parts.push(el("div", { class: "preset-row" },
        el("button", { type: "button", class: "preset-item", role: "menuitem", "data-preset": preset.id, title: preset.prompt,
          onclick: close(() => this.actions.start(preset)) },
          el("span", { class: "preset-name", text: preset.name }),
          el("span", { class: "preset-prompt", text: preset.prompt })),
        el("button", { type: "button", class: "icon preset-delete", "aria-label": t("presets.delete"), title: t("presets.delete"),
          text: "×", onclick: () => this.remove(preset) })));
    }
    parts.push(this.editing ? this.form() : el("button", { type: "button", class: "link-button preset-new", text: t("presets.new"),
      onclick: () => { this.editing = true; this.draw(); this.root.querySelector("#preset-name")?.focus(); } }));
    this.root.replaceChildren(...parts);
  }

  form() {
    const name = el("input", { id: "preset-name", maxlength: "100", required: true, "aria-label": t("presets.name"), placeholder: t("presets.name") });
    const prompt = el("textarea", { id: "preset-prompt", rows: "3", maxlength: "16000", required: true,
      "aria-label": t("presets.prompt"), placeholder: t("presets.prompt") });
    return el("form", { class: "preset-form", onsubmit: async (e) => {
      e.preventDefault();
      try {
        const saved = await this.api.request("POST", "/api/presets", { name: name.value.trim(), prompt: prompt.value });
        this.items.unshift(saved);
        this.editing = false;
        this.draw();
      } catch (err) {
        this.actions.failed(err);
      }
    } }, name, prompt,
    el("div", { class: "preset-actions" },
      el("button", { type: "button", class: "link-button", text: t("presets.cancel"), onclick: () => { this.editing = false; this.draw(); } }),
      el("button", { type: "submit", class: "primary", id: "preset-save", text: t("presets.save") })));
  }

  async remove(preset) {
    try {
      await this.api.request("DELETE", `/api/presets/${encodeURIComponent(preset.id)}`);
    } catch (err) {
      if (err.status !== 404) { this.actions.failed(err); return; }
    }
    this.items = this.items.filter((p) => p.id !== preset.id);
    this.draw();
  }
}
