// SVG drawings: the lineage graph (a layered layout: each artifact one column right of the
// deepest thing it was made from) and loss curves (polylines). No library: both are a few
// dozen elements, and the page must work offline.

const NS = "http://www.w3.org/2000/svg";
const W = 176;
const H = 46;
const GAP_X = 64;
const GAP_Y = 16;
const PAD = 12;

function svg(tag, attrs = {}, parent = null) {
  const el = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  if (parent) parent.appendChild(el);
  return el;
}

function text(parent, x, y, content, cls) {
  const el = svg("text", { x, y, class: cls }, parent);
  el.textContent = content;
  return el;
}

function short(label, n = 24) {
  return label.length <= n ? label : `…${label.slice(label.length - n + 1)}`;
}

/** Depth of each node: 0 for what has no inputs, else 1 + the deepest input. */
function depths(nodes, parents) {
  const depth = new Map();
  const visiting = new Set();
  const walk = (id) => {
    if (depth.has(id)) return depth.get(id);
    if (visiting.has(id)) return 0; // a cycle (hand-edited manifests): cut it here
    visiting.add(id);
    const d = Math.max(-1, ...parents.get(id).map(walk)) + 1;
    visiting.delete(id);
    depth.set(id, d);
    return d;
  };
  nodes.forEach((n) => walk(n.id));
  return depth;
}

/** Columns by depth; within a column, nodes near the mean row of their inputs. */
function layout(nodes, edges) {
  const parents = new Map(nodes.map((n) => [n.id, []]));
  for (const e of edges) if (parents.has(e.source) && parents.has(e.target)) parents.get(e.target).push(e.source);
  const depth = depths(nodes, parents);
  const columns = [];
  for (const n of nodes) (columns[depth.get(n.id)] ||= []).push(n);
  const row = new Map();
  columns.forEach((column) => {
    const key = (n) => {
      const rows = parents.get(n.id).filter((p) => row.has(p)).map((p) => row.get(p));
      return rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : Infinity;
    };
    column.sort((a, b) => key(a) - key(b) || a.id.localeCompare(b.id));
    column.forEach((n, i) => row.set(n.id, i));
  });
  const at = new Map(nodes.map((n) => [n.id, {
    x: PAD + depth.get(n.id) * (W + GAP_X), y: PAD + row.get(n.id) * (H + GAP_Y),
  }]));
  const width = PAD * 2 + columns.length * (W + GAP_X) - GAP_X;
  const height = PAD * 2 + Math.max(1, ...columns.map((c) => c.length)) * (H + GAP_Y) - GAP_Y;
  return { at, width, height };
}

/** The lineage graph as an <svg>; clicking (or Enter on) a node calls `onSelect(id)`. */
export function lineageGraph(nodes, edges, onSelect) {
  const { at, width, height } = layout(nodes, edges);
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "lineage",
    role: "img", "aria-label": "artifact lineage" });
  const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5,
    markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, svg("defs", {}, root));
  svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" }, marker);
  for (const e of edges) {
    const a = at.get(e.source);
    const b = at.get(e.target);
    if (!a || !b) continue;
    const [x1, y1, x2, y2] = [a.x + W, a.y + H / 2, b.x, b.y + H / 2];
    const mid = (x1 + x2) / 2;
    const path = svg("path", { d: `M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2} ${y2}`,
      class: "edge", "marker-end": "url(#arrow)" }, root);
    svg("title", {}, path).textContent = `${e.source} → ${e.target} (${e.role})`;
  }
  for (const n of nodes) {
    const { x, y } = at.get(n.id);
    const classes = ["node", `kind-${String(n.kind || "unknown").replace(/[^\w-]/g, "")}`];
    if (n.leaf) classes.push("leaf");
    if (n.external) classes.push("external");
    if (n.unfinished) classes.push("unfinished");
    if (n.missing || n.error) classes.push("problem");
    const g = svg("g", { class: classes.join(" "), tabindex: 0, role: "button",
      "data-id": n.id, transform: `translate(${x} ${y})` }, root);
    svg("title", {}, g).textContent = n.path;
    svg("rect", { width: W, height: H, rx: 7 }, g);
    const kind = n.unfinished ? "running / unfinished" : n.kind || "?";
    text(g, 10, 18, kind + (n.missing ? " (missing)" : ""), "kind");
    // outside the workspace the id is an absolute path: its last two parts say enough
    text(g, 10, 36, short(n.external ? n.id.split("/").slice(-2).join("/") : n.id), "name");
    const select = () => {
      root.querySelectorAll(".node.selected").forEach((el) => el.classList.remove("selected"));
      g.classList.add("selected");
      onSelect(n.id);
    };
    g.addEventListener("click", select);
    g.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        select();
      }
    });
  }
  return root;
}

function extent(values) {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (lo === hi) [lo, hi] = [lo - 1, hi + 1];
  return [lo, hi];
}

/** Train loss (bucket means) and eval loss of one run as an <svg> chart. */
export function lossChart(curve, title, { width = 380, height = 210 } = {}) {
  const margin = { left: 46, right: 12, top: 22, bottom: 30 };
  const steps = [...curve.step, ...curve.eval_step];
  const losses = [...curve.loss, ...curve.eval_loss];
  const [x0, x1] = extent(steps);
  const [y0, y1] = extent(losses);
  const sx = (s) => margin.left + ((s - x0) / (x1 - x0)) * (width - margin.left - margin.right);
  const sy = (v) => height - margin.bottom - ((v - y0) / (y1 - y0)) * (height - margin.top - margin.bottom);
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "loss-chart",
    role: "img", "aria-label": `loss curve of ${title}` });
  text(root, margin.left, 14, title, "chart-title");
  svg("line", { x1: margin.left, y1: height - margin.bottom, x2: width - margin.right,
    y2: height - margin.bottom, class: "axis" }, root);
  svg("line", { x1: margin.left, y1: margin.top, x2: margin.left, y2: height - margin.bottom,
    class: "axis" }, root);
  for (const v of [y0, (y0 + y1) / 2, y1]) {
    text(root, margin.left - 4, sy(v) + 4, v.toFixed(2), "tick y");
  }
  for (const s of [x0, x1]) text(root, sx(s), height - margin.bottom + 14, String(Math.round(s)), "tick x");
  text(root, width - margin.right, height - 4, "step", "tick x-label");
  const points = (xs, ys) => xs.map((s, i) => `${sx(s).toFixed(1)},${sy(ys[i]).toFixed(1)}`).join(" ");
  if (curve.step.length) svg("polyline", { points: points(curve.step, curve.loss), class: "train" }, root);
  if (curve.eval_step.length) {
    svg("polyline", { points: points(curve.eval_step, curve.eval_loss), class: "eval" }, root);
    curve.eval_step.forEach((s, i) => svg("circle", { cx: sx(s), cy: sy(curve.eval_loss[i]), r: 2.5, class: "eval" }, root));
  }
  const legend = curve.bucket > 1 ? `train (mean of ${curve.bucket} steps)` : "train";
  text(root, width - margin.right, 14, `${legend} · eval ●`, "legend");
  return root;
}
