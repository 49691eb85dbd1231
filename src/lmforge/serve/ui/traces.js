// The Traces tab: the server's recorded requests (GET /v1/traces), newest first, a page at a
// time; a row opens the request, the prompt as the model saw it, and the output.

import * as api from "./api.js";
import { $, fmt, h, localTime, show, table } from "./dom.js";

const PAGE = 25;
let offset = 0;
let page = [];

export function initTraces() {
  $("traces-refresh").addEventListener("click", () => loadTraces(offset));
  $("traces-newer").addEventListener("click", () => loadTraces(Math.max(0, offset - PAGE)));
  $("traces-older").addEventListener("click", () => loadTraces(offset + PAGE));
}

export async function loadTraces(start = 0) {
  let answer;
  try {
    answer = await api.get(`/v1/traces?limit=${PAGE}&offset=${start}`);
  } catch (error) {
    $("traces-message").textContent = error.code === "tracing_off"
      ? "Tracing is off: this server was started with --no-trace."
      : `Could not load the traces: ${error.message}`;
    show($("traces-message"), true);
    return;
  }
  show($("traces-message"), false);
  offset = start;
  page = answer.data;
  const last = start + page.length;
  $("traces-summary").textContent = page.length
    ? `${start + 1}–${last} of ${answer.total}` + (answer.dropped ? ` (${answer.dropped} dropped under load)` : "")
    : "No requests recorded yet.";
  $("traces-newer").disabled = start === 0;
  $("traces-older").disabled = !answer.has_more;
  const rows = page.map((t) => [localTime(t.created), t.method, t.path, t.status ?? "–",
    t.model ?? "–", t.usage?.prompt_tokens, t.usage?.completion_tokens, fmt(t.latency_ms, 4)]);
  $("traces-table").replaceChildren(table(
    ["time", "method", "path", "status", "model", "prompt tokens", "completion tokens", "latency ms"],
    rows, (i) => ({ class: `trace${page[i].error ? " failed" : ""}`, tabindex: 0,
      "data-id": page[i].id, onclick: () => showTrace(i),
      onkeydown: (e) => e.key === "Enter" && showTrace(i) })));
  show($("trace-details"), false);
}

const pretty = (value) => (typeof value === "string" ? value : JSON.stringify(value, null, 2));

function showTrace(i) {
  const t = page[i];
  const parts = [h("h2", {}, `${t.method} ${t.path} `, h("code", { text: t.id }))];
  if (t.error) parts.push(h("p", { class: "error", text: t.error }));
  if (t.lineage) {
    const kind = t.lineage.manifest?.kind || "model";
    parts.push(h("p", { class: "muted" }, `Served ${kind}: `, h("code", { text: t.lineage.path })));
  }
  for (const [label, value] of [["Parameters", t.params], ["Prompt (as the model saw it)", t.prompt],
    ["Output", t.output], ["Request", t.request]]) {
    if (value !== null && value !== undefined) parts.push(h("h3", { text: label }), h("pre", { text: pretty(value) }));
  }
  $("trace-details").replaceChildren(...parts);
  show($("trace-details"), true);
}
