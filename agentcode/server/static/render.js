// How the page shows what code produced: rich outputs, written files, the code while it streams.
// Nothing the code made ever runs here: images go in <img> (data: URLs, so an SVG's scripts do
// not run), HTML goes in a sandboxed frame with its own origin, text goes in as text.
"use strict";

const Render = (() => {
  const el = (tag, props = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    node.append(...children);
    return node;
  };

  // The code inside the model's reply as it streams: no prose, no ``` fence.
  function streamedCode(raw) {
    const open = raw.match(/```[\w+-]*[ \t]*\r?\n/);
    if (!open) return "";
    let body = raw.slice(open.index + open[0].length);
    const close = body.indexOf("```");
    if (close >= 0) body = body.slice(0, close);
    return body.replace(/`{1,2}$/, "");
  }

  function base64Utf8(text) {
    const bytes = new TextEncoder().encode(text);
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) {
      binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    }
    return btoa(binary);
  }

  // A table (a DataFrame) gets a readable style; its frame is as tall as its rows, up to a bound,
  // and scrolls beyond (a sandboxed frame cannot be measured from here).
  const TABLE_STYLE = `<style>
    :root { color-scheme: light dark; }
    body { margin: 0; font: 13px/1.4 system-ui, sans-serif; color: #1d1d1f; background: #fff; }
    table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
    th, td { padding: 3px 10px; border-bottom: 1px solid #e3e6ea; text-align: right; white-space: nowrap; }
    thead th { position: sticky; top: 0; background: #eef2f6; }
    tbody tr:nth-child(even) { background: #f7f9fb; }
    tbody th { text-align: left; }
    @media (prefers-color-scheme: dark) {
      body { color: #e6e6e6; background: #1b1d21; }
      th, td { border-bottom-color: #33373d; }
      thead th { background: #262a30; }
      tbody tr:nth-child(even) { background: #22252a; }
    }
  </style>`;

  function htmlFrame(html, title) {
    const frame = el("iframe", { sandbox: "", class: "html-output", title });
    frame.srcdoc = TABLE_STYLE + html;
    const rows = (html.match(/<tr[\s>]/g) || []).length;
    frame.style.height = `${Math.min(420, Math.max(80, rows * 25 + 30))}px`;
    return frame;
  }

  function image(src, name) {
    const figure = el("figure");
    figure.append(el("img", { src, alt: name ? `image ${name}` : "figure" }));
    if (name) figure.append(el("figcaption", { text: name }));
    return figure;
  }

  // Markdown, a safe subset built as elements (headings, lists, code blocks, **bold**, *em*,
  // `code`); everything else stays text, so nothing in it can become markup.
  function inline(text) {
    const parts = [];
    let last = 0;
    for (const m of text.matchAll(/\*\*[^*]+\*\*|`[^`]+`|\*[^*\s][^*]*\*/g)) {
      parts.push(text.slice(last, m.index));
      const t = m[0];
      if (t.startsWith("**")) parts.push(el("strong", { text: t.slice(2, -2) }));
      else if (t.startsWith("`")) parts.push(el("code", { text: t.slice(1, -1) }));
      else parts.push(el("em", { text: t.slice(1, -1) }));
      last = m.index + t.length;
    }
    parts.push(text.slice(last));
    return parts;
  }

  function markdown(text) {
    const root = el("div", { class: "markdown-output" });
    let list = null, code = null;
    for (const line of text.split("\n")) {
      if (code) {
        if (/^```/.test(line)) { root.append(code); code = null; } else code.textContent += `${line}\n`;
        continue;
      }
      const heading = line.match(/^(#{1,6})\s+(.*)/);
      const item = line.match(/^\s*[-*+]\s+(.*)/);
      if (/^```/.test(line)) { code = el("pre"); list = null; }
      else if (heading) {
        root.append(el(`h${Math.min(6, heading[1].length + 2)}`, {}, ...inline(heading[2])));
        list = null;
      } else if (item) {
        if (!list) { list = el("ul"); root.append(list); }
        list.append(el("li", {}, ...inline(item[1])));
      } else if (line.trim()) { root.append(el("p", {}, ...inline(line))); list = null; }
      else list = null;
    }
    if (code) root.append(code);
    return root;
  }

  // One output, its richest form first (as a notebook picks it).
  function output(out) {
    if (out.png) return image(`data:image/png;base64,${out.png}`, out.name);
    if (out.jpeg) return image(`data:image/jpeg;base64,${out.jpeg}`, out.name);
    if (out.svg) return image(`data:image/svg+xml;base64,${base64Utf8(out.svg)}`, out.name);
    if (out.html) return htmlFrame(out.html, out.main ? "the value" : "displayed table");
    if (out.markdown) return markdown(out.markdown);
    if (out.text !== null && out.text !== undefined) {
      return el("pre", { class: "text-output", text: out.text });
    }
    return null;
  }

  function outputs(list) {
    return (list || []).map(output).filter(Boolean);
  }

  // A small CSV reader for previews (quotes, doubled quotes, commas and newlines in quotes).
  function parseCsv(text, maxRows) {
    const rows = [];
    let row = [], field = "", quoted = false;
    for (let i = 0; i < text.length && rows.length < maxRows; i++) {
      const c = text[i];
      if (quoted) {
        if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
        else if (c === '"') quoted = false;
        else field += c;
      } else if (c === '"') quoted = true;
      else if (c === ",") { row.push(field); field = ""; }
      else if (c === "\n") { row.push(field.replace(/\r$/, "")); rows.push(row); row = []; field = ""; }
      else field += c;
    }
    if ((field || row.length) && rows.length < maxRows) { row.push(field); rows.push(row); }
    return rows;
  }

  function csvTable(text) {
    const rows = parseCsv(text, 21);
    const table = el("table", { class: "preview-table" });
    rows.forEach((cells, index) => {
      const tr = el("tr");
      for (const cell of cells) tr.append(el(index === 0 ? "th" : "td", { text: cell }));
      table.append(tr);
    });
    return el("div", { class: "table-scroll" }, table);
  }

  const TEXT_KINDS = /\.(csv|tsv|json|txt|md|log|ya?ml|xml|html?|py)$/i;
  const IMAGE_KINDS = /\.(png|jpe?g|svg|gif)$/i;

  // A file the code wrote: a download link, and a preview of the start of a text file.
  async function writtenFile(name, url, fetchText) {
    const link = el("a", { href: url, download: name.split("/").pop(), text: name });
    const item = el("li", {}, link);
    if (IMAGE_KINDS.test(name) || !TEXT_KINDS.test(name)) return item;
    try {
      const text = (await fetchText(url)).slice(0, 4096);
      const preview = /\.csv$/i.test(name) ? csvTable(text) : el("pre", { class: "preview", text });
      item.append(preview);
    } catch (_) { /* the link is still there */ }
    return item;
  }

  return { el, streamedCode, outputs, writtenFile, parseCsv };
})();
