// The RAG tab (shown when the server has --index): POST /v1/rag/ask, the answer with its
// [n] citations as links to the numbered sources below it.

import * as api from "./api.js";
import { $, fmt, h, show } from "./dom.js";
import { renderMarkdown } from "./markdown.js";

export function initRag() {
  $("rag-form").addEventListener("submit", (event) => {
    event.preventDefault();
    ask();
  });
  $("rag-answer").addEventListener("click", (event) => {
    const cite = event.target.closest("a.cite");
    if (!cite) return;
    event.preventDefault();
    highlight(Number(cite.dataset.source));
  });
}

function highlight(n) {
  const source = $(`rag-source-${n}`);
  if (!source) return;
  document.querySelectorAll("#rag-sources .flash").forEach((el) => el.classList.remove("flash"));
  source.classList.add("flash");
  source.scrollIntoView({ block: "nearest" });
}

async function ask() {
  const question = $("rag-question").value.trim();
  if (!question) return;
  const button = $("rag-ask");
  button.disabled = true;
  $("rag-stats").textContent = "Retrieving and answering…";
  const started = performance.now();
  try {
    const answer = await api.post("/v1/rag/ask", {
      question,
      k: parseInt($("rag-k").value, 10) || 5,
      mode: $("rag-mode").value,
      max_tokens: parseInt($("rag-max-tokens").value, 10) || 256,
    });
    show($("rag-result"), true);
    render(answer, performance.now() - started);
  } catch (error) {
    show($("rag-result"), true);
    $("rag-answer").replaceChildren(h("p", { class: "error", text: error.message }));
    $("rag-sources").replaceChildren();
    $("rag-stats").textContent = "";
  } finally {
    button.disabled = false;
  }
}

function render(answer, ms) {
  const box = $("rag-answer");
  box.innerHTML = renderMarkdown(answer.answer, { citations: answer.sources.length, prefix: "rag-source-" });
  if (answer.refused) box.prepend(h("p", { class: "muted", text: "Nothing relevant was retrieved, so the model was not asked." }));
  if (answer.invalid_citations.length) {
    box.append(h("p", { class: "muted", text: `Cited ${answer.invalid_citations.join(", ")}, which name no source.` }));
  }
  const cited = new Set(answer.citations);
  $("rag-sources").replaceChildren(...answer.sources.map((s) => {
    const where = [s.doc_id, s.page !== null && s.page !== undefined ? `page ${s.page}` : null].filter(Boolean).join(", ");
    const scores = Object.entries(s.scores || {}).map(([k, v]) => `${k.replace("_score", "")} ${fmt(v, 3)}`).join(" · ");
    return h("li", { id: `rag-source-${s.n}`, class: cited.has(s.n) ? "cited" : "" },
      h("div", { class: "source-head" }, h("strong", { text: s.title || s.doc_id || s.id }),
        s.heading && s.heading !== s.title ? ` — ${s.heading}` : "", where ? ` (${where})` : ""),
      h("div", { class: "muted", text: scores }),
      h("div", { class: "source-text", text: s.text }));
  }));
  const u = answer.usage;
  $("rag-stats").textContent = `${u.prompt_tokens} prompt + ${u.completion_tokens} completion tokens · ${Math.round(ms)} ms`;
}
