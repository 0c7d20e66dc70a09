// A small Markdown renderer that builds DOM nodes: every piece of text goes through
// textContent / createTextNode, never innerHTML, so `<script>`, `onerror=` and
// `javascript:` in a message stay text. Links are made only for http(s) URLs.

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The URL when it is an absolute http(s) URL, else null. */
export function safeUrl(raw) {
  try {
    const url = new URL(raw.trim());
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

function link(text, href) {
  const url = safeUrl(href);
  if (!url) return document.createTextNode(text === href ? text : `${text} (${href})`);
  const a = el("a", null, text);
  a.href = url;
  a.target = "_blank";
  a.rel = "noopener noreferrer nofollow";
  return a;
}

// Inline spans, earliest match first: code, links, bold, italics, bare URLs.
const INLINE = [
  [/`([^`\n]+)`/, (m) => el("code", null, m[1])],
  [/\[([^\]\n]+)\]\(([^)\s]+)\)/, (m) => link(m[1], m[2])],
  [/\*\*([^*\n]+)\*\*/, (m, inline) => wrap("strong", m[1], inline)],
  [/__([^_\n]+)__/, (m, inline) => wrap("strong", m[1], inline)],
  [/(^|[^\w*])\*([^*\n]+)\*(?!\w)/, (m, inline) => [document.createTextNode(m[1]), wrap("em", m[2], inline)]],
  [/~~([^~\n]+)~~/, (m, inline) => wrap("del", m[1], inline)],
  [/https?:\/\/[^\s<>()"']+[^\s<>()"'.,;:!?]/, (m) => link(m[0], m[0])],
];

function wrap(tag, text, inline) {
  const node = el(tag);
  inline(text).forEach((child) => node.append(child));
  return node;
}

/** Inline Markdown of one line or paragraph as a list of nodes. */
export function inline(text) {
  const out = [];
  let rest = text;
  while (rest) {
    let best = null;
    for (const [pattern, make] of INLINE) {
      const m = pattern.exec(rest);
      if (m && (best === null || m.index < best.m.index)) best = { m, make };
    }
    if (!best) { out.push(document.createTextNode(rest)); break; }
    if (best.m.index > 0) out.push(document.createTextNode(rest.slice(0, best.m.index)));
    const made = best.make(best.m, inline);
    (Array.isArray(made) ? made : [made]).forEach((n) => out.push(n));
    rest = rest.slice(best.m.index + best.m[0].length);
  }
  return out;
}

function paragraph(lines) {
  const p = el("p");
  lines.forEach((line, i) => {
    if (i) p.append(el("br"));
    inline(line).forEach((n) => p.append(n));
  });
  return p;
}

function codeBlock(lang, lines) {
  const figure = el("div", "code-block");
  const bar = el("div", "code-bar");
  bar.append(el("span", "code-lang", lang || "code"));
  const copy = el("button", "code-copy", "Copy");
  copy.type = "button";
  const text = lines.join("\n");
  copy.addEventListener("click", async () => {
    try { await navigator.clipboard.writeText(text); copy.textContent = "Copied"; } catch { copy.textContent = "Select & copy"; }
    setTimeout(() => { copy.textContent = "Copy"; }, 1500);
  });
  bar.append(copy);
  const pre = el("pre");
  pre.append(el("code", lang ? `language-${lang.replace(/[^\w-]/g, "")}` : null, text));
  figure.append(bar, pre);
  return figure;
}

/** Render Markdown `source` into a DocumentFragment. An unclosed code fence (mid-stream) still shows as code. */
export function render(source) {
  const frag = document.createDocumentFragment();
  const lines = String(source || "").replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  let para = [];
  const flush = () => { if (para.length) { frag.append(paragraph(para)); para = []; } };
  while (i < lines.length) {
    const line = lines[i];
    const fence = /^\s*(```|~~~)\s*([\w+#.-]*)\s*$/.exec(line);
    if (fence) {
      flush();
      const body = [];
      i += 1;
      while (i < lines.length && !new RegExp(`^\\s*${fence[1]}\\s*$`).test(lines[i])) body.push(lines[i++]);
      i += 1;
      frag.append(codeBlock(fence[2], body));
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      flush();
      const h = el(`h${Math.min(6, heading[1].length + 2)}`);
      inline(heading[2]).forEach((n) => h.append(n));
      frag.append(h);
      i += 1;
      continue;
    }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) { flush(); frag.append(el("hr")); i += 1; continue; }
    if (/^\s*>/.test(line)) {
      flush();
      const quote = [];
      while (i < lines.length && /^\s*>/.test(lines[i])) quote.push(lines[i++].replace(/^\s*>\s?/, ""));
      const bq = el("blockquote");
      bq.append(render(quote.join("\n")));
      frag.append(bq);
      continue;
    }
    const item = /^\s*([-*+]|\d+[.)])\s+/.exec(line);
    if (item) {
      flush();
      const ordered = /\d/.test(item[1]);
      const list = el(ordered ? "ol" : "ul");
      if (ordered) list.start = parseInt(item[1], 10) || 1;
      while (i < lines.length) {
        const m = /^\s*([-*+]|\d+[.)])\s+(.*)$/.exec(lines[i]);
        if (!m || /\d/.test(m[1]) !== ordered) break;
        const li = el("li");
        inline(m[2]).forEach((n) => li.append(n));
        list.append(li);
        i += 1;
      }
      frag.append(list);
      continue;
    }
    if (!line.trim()) { flush(); i += 1; continue; }
    para.push(line);
    i += 1;
  }
  flush();
  return frag;
}
