// The Runs tab: the workspace's artifacts (GET /v1/runs) as a lineage graph with a details
// panel, loss curves, evaluation tables, the method comparison and curation reports.

import * as api from "./api.js";
import { $, fmt, h, show, table } from "./dom.js";
import { lineageGraph, lossChart } from "./graph.js";
import { renderMarkdown } from "./markdown.js";

let runs = null;

export function initRuns() {
  $("runs-refresh").addEventListener("click", loadRuns);
}

export async function loadRuns() {
  show($("runs-message"), false);
  try {
    runs = await api.get("/v1/runs");
  } catch (error) {
    show($("runs-body"), false);
    $("runs-message").textContent = error.code === "no_workspace"
      ? "No workspace: start the server with --workspace DIR to see your runs here."
      : `Could not load the runs: ${error.message}`;
    show($("runs-message"), true);
    return;
  }
  const here = runs.data.filter((n) => !n.leaf && !n.external).length;
  const outside = runs.data.filter((n) => !n.leaf && n.external).length;
  $("runs-summary").textContent = `${runs.workspace} — ${here} artifacts`
    + (outside ? `, made from ${outside} more outside it` : "")
    + (runs.truncated ? " (graph cut at its size limit)" : "");
  const graph = $("lineage");
  graph.replaceChildren(lineageGraph(runs.data, runs.edges, selectRun));
  renderCurves();
  renderEvals();
  renderMethods();
  renderCuration();
  show($("runs-body"), true);
}

const byId = (id) => runs.data.find((n) => n.id === id);
const link = (id) => h("a", { href: "#", class: "run-link", onclick: (e) => {
  e.preventDefault();
  selectRun(id);
} }, id);

function renderCurves() {
  const trained = runs.data.filter((n) => n.loss);
  $("loss-curves").replaceChildren(...(trained.length
    ? trained.map((n) => h("figure", { class: "chart", "data-id": n.id }, lossChart(n.loss, n.id)))
    : [h("p", { class: "muted", text: "No run with a metrics.jsonl yet." })]));
}

function modelOf(id) {
  const edge = runs.edges.find((e) => e.target === id && e.role === "model");
  return edge ? link(edge.source) : "–";
}

function renderEvals() {
  const rows = [];
  for (const n of runs.data.filter((x) => x.eval)) {
    for (const [task, result] of Object.entries(n.eval)) {
      for (const [metric, value] of Object.entries(result.metrics || {})) {
        const langs = Object.entries(result.by_lang || {})
          .map(([lang, m]) => `${lang} ${fmt(m[metric], 3)}`).join(" · ");
        rows.push([link(n.id), modelOf(n.id), task, metric, value, result.chance, result.n, langs]);
      }
    }
  }
  $("evals").replaceChildren(rows.length
    ? table(["eval", "model", "task", "metric", "score", "chance", "n", "by language"], rows)
    : h("p", { class: "muted", text: "No evaluation (lmforge eval --out DIR) in this workspace." }));
}

function renderMethods() {
  const rows = runs.methods.map((r) => [link(r.id), r.kind, r.method, r.base ? link(r.base) : "–",
    r.trainable_parameters === null ? "all" : `${fmt(r.trainable_parameters)} (${fmt(r.trainable_percent, 3)}%)`,
    r.steps, r.final_loss, r.eval_loss, r.tokens_per_s === null ? null : Math.round(r.tokens_per_s),
    r.train_seconds]);
  $("methods").replaceChildren(rows.length
    ? table(["run", "kind", "method", "base", "trainable", "steps", "final loss", "eval loss",
      "tokens/s", "seconds"], rows)
    : h("p", { class: "muted", text: "No finished training run in this workspace." }));
}

function renderCuration() {
  const curated = runs.data.filter((n) => n.report);
  $("curation").replaceChildren(...(curated.length ? curated.map((n) => {
    const m = n.metrics || {};
    const summary = `${n.id}: read ${fmt(m.read)}, kept ${fmt(m.kept)}, dropped ${fmt(m.dropped)}, quarantined ${fmt(m.quarantined)}`;
    const body = h("div", { class: "markdown" });
    body.innerHTML = renderMarkdown(n.report); // escaped first: see markdown.js
    return h("details", { class: "report" }, h("summary", { text: summary }), body);
  }) : [h("p", { class: "muted", text: "No curated data (lmforge curate) in this workspace." })]));
}

function flatten(value, prefix = "", out = []) {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.push([prefix, Array.isArray(value) ? JSON.stringify(value) : value]);
  }
  return out;
}

export function selectRun(id) {
  const n = byId(id);
  if (!n) return;
  const panel = $("run-details");
  document.querySelectorAll("#lineage .node").forEach((el) =>
    el.classList.toggle("selected", el.dataset.id === id));
  const inputs = runs.edges.filter((e) => e.target === id);
  const outputs = runs.edges.filter((e) => e.source === id);
  const parts = [
    h("h2", {}, n.unfinished ? "unfinished run" : n.kind || "?", " ", h("code", { text: n.id })),
    h("p", { class: "muted path", text: n.path }),
  ];
  if (n.error) parts.push(h("p", { class: "error", text: n.error }));
  if (n.missing) parts.push(h("p", { class: "error", text: "This input no longer exists." }));
  if (n.created) parts.push(h("p", {}, "Created ", n.created));
  if (n.command?.length) parts.push(h("pre", { class: "command", text: n.command.join(" ") }));
  if (inputs.length) {
    parts.push(h("h3", { text: "Made from" }), h("ul", {}, inputs.map((e) => h("li", {}, `${e.role}: `, link(e.source)))));
  }
  if (outputs.length) {
    parts.push(h("h3", { text: "Used by" }), h("ul", {}, outputs.map((e) => h("li", {}, link(e.target), ` (as ${e.role})`))));
  }
  if (n.loss) parts.push(lossChart(n.loss, n.id));
  if (n.metrics && Object.keys(n.metrics).length) {
    parts.push(h("h3", { text: "Metrics" }), table(["metric", "value"], flatten(n.metrics)));
  }
  if (n.config) parts.push(h("h3", { text: "Config" }), table(["setting", "value"], flatten(n.config)));
  if (n.versions) parts.push(h("p", { class: "muted", text: Object.entries(n.versions).map(([k, v]) => `${k} ${v}`).join(" · ") }));
  panel.replaceChildren(...parts);
}
