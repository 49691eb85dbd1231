// Small DOM helpers. Text always goes in as text nodes (never as HTML), so data from the
// server cannot inject markup; the only HTML the UI inserts comes from markdown.js, which
// escapes its input first.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function $(id) {
  return document.getElementById(id);
}

export function show(el, visible = true) {
  el.hidden = !visible;
}

/** A number for people: integers with separators, others with `digits` significant places. */
export function fmt(value, digits = 4) {
  if (value === null || value === undefined) return "–";
  if (typeof value !== "number") return String(value);
  if (Number.isInteger(value)) return value.toLocaleString("en-US");
  return Number(value.toPrecision(digits)).toString();
}

/** A table from column labels and rows of cells (strings, numbers or nodes). */
export function table(columns, rows, rowAttrs = () => ({})) {
  const head = h("thead", {}, h("tr", {}, columns.map((c) => h("th", { text: c }))));
  const body = h("tbody", {}, rows.map((cells, i) =>
    h("tr", rowAttrs(i), cells.map((c) => h("td", {}, c instanceof Node ? c : fmt(c))))));
  return h("table", {}, head, body);
}

export function localTime(seconds) {
  return new Date(seconds * 1000).toLocaleString();
}
