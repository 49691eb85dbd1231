// The Chat tab: a streamed conversation with the served model (POST /v1/chat/completions
// with stream and stream_options.include_usage), with its token counts and latency.

import * as api from "./api.js";
import { $, h, show } from "./dom.js";
import { renderMarkdown } from "./markdown.js";

let history = [];
let running = null; // the AbortController of the answer being streamed

export function initChat(config) {
  $("model").replaceChildren(...config.models.map((id) => h("option", { value: id, text: id })));
  $("chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  $("prompt").addEventListener("keydown", (event) => {
    // isComposing: Enter that ends a Korean (IME) syllable must not send the message
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      send();
    }
  });
  $("stop").addEventListener("click", () => running?.abort());
  $("new-chat").addEventListener("click", () => {
    running?.abort();
    history = [];
    $("messages").replaceChildren();
    $("chat-stats").textContent = "";
  });
}

function number(id, parse = Number) {
  const raw = $(id).value.trim();
  return raw === "" ? undefined : parse(raw);
}

function requestBody() {
  const system = $("system").value.trim();
  const messages = system ? [{ role: "system", content: system }, ...history] : [...history];
  return {
    model: $("model").value,
    messages,
    stream: true,
    stream_options: { include_usage: true },
    temperature: number("temperature"),
    top_p: number("top-p"),
    max_tokens: number("max-tokens", (v) => parseInt(v, 10)),
    seed: number("seed", (v) => parseInt(v, 10)),
  };
}

function bubble(role) {
  const body = h("div", { class: "content" });
  const meta = h("div", { class: "meta muted" });
  const el = h("div", { class: `message ${role}` }, h("div", { class: "role", text: role }), body, meta);
  $("messages").append(el);
  return { el, body, meta };
}

function scrollDown() {
  const box = $("messages");
  box.scrollTop = box.scrollHeight;
}

function stats(usage, first, total, finish) {
  const parts = [];
  if (usage) {
    parts.push(`${usage.prompt_tokens} prompt + ${usage.completion_tokens} completion tokens`);
  }
  if (first !== null) parts.push(`first token ${Math.round(first)} ms`);
  parts.push(`total ${Math.round(total)} ms`);
  if (usage && total > 0 && usage.completion_tokens) {
    parts.push(`${(usage.completion_tokens / (total / 1000)).toFixed(1)} tokens/s`);
  }
  if (finish) parts.push(`finish: ${finish}`);
  return parts.join(" · ");
}

async function send() {
  const text = $("prompt").value.trim();
  if (!text || running) return;
  $("prompt").value = "";
  history.push({ role: "user", content: text });
  const user = bubble("user");
  user.body.textContent = text;
  const answer = bubble("assistant");
  answer.el.classList.add("streaming");
  running = new AbortController();
  show($("send"), false);
  show($("stop"), true);
  const started = performance.now();
  let first = null;
  let reply = "";
  let usage = null;
  let finish = null;
  try {
    for await (const chunk of api.stream("/v1/chat/completions", requestBody(), running.signal)) {
      if (chunk.usage) usage = chunk.usage;
      for (const choice of chunk.choices || []) {
        if (choice.delta?.content) {
          if (first === null) first = performance.now() - started;
          reply += choice.delta.content;
          answer.body.innerHTML = renderMarkdown(reply); // escaped first: see markdown.js
          scrollDown();
        }
        if (choice.finish_reason) finish = choice.finish_reason;
      }
    }
    history.push({ role: "assistant", content: reply });
    if (!reply) answer.body.append(h("p", { class: "muted", text: "(empty reply)" }));
    answer.el.classList.add("done");
  } catch (error) {
    history.pop(); // the question goes again with the next message instead
    const stopped = error.name === "AbortError";
    answer.el.classList.add(stopped ? "stopped" : "failed");
    answer.body.innerHTML = renderMarkdown(reply);
    answer.body.append(h("p", { class: stopped ? "muted" : "error", text: stopped ? "(stopped)" : error.message }));
  } finally {
    const line = stats(usage, first, performance.now() - started, finish);
    answer.meta.textContent = line;
    $("chat-stats").textContent = line;
    answer.el.classList.remove("streaming");
    running = null;
    show($("send"), true);
    show($("stop"), false);
    scrollDown();
  }
}
