// The web UI's entry: asks the server what it offers (GET /v1/ui), asks for the API key when
// the server answers 401, and switches between the tabs. Each tab lives in its own module.

import * as api from "./api.js";
import { $, show } from "./dom.js";
import { initChat } from "./chat.js";
import { initRag } from "./rag.js";
import { initRuns, loadRuns } from "./runs.js";
import { initTraces, loadTraces } from "./traces.js";

const loaders = { runs: loadRuns, traces: () => loadTraces(0) };
let started = false;

function lock(message) {
  document.body.classList.add("locked");
  document.querySelectorAll(".panel").forEach((p) => show(p, false));
  show($("tabs"), false);
  show($("key-panel"), true);
  const error = $("key-error");
  error.textContent = message || "";
  show(error, Boolean(message));
  $("key-input").focus();
}

function openTab(name) {
  document.querySelectorAll("#tabs [role=tab]").forEach((tab) => {
    tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
  });
  document.querySelectorAll(".panel").forEach((p) => show(p, p.id === `panel-${name}`));
  loaders[name]?.();
}

function start(config) {
  document.body.classList.remove("locked");
  show($("key-panel"), false);
  show($("tabs"), true);
  show($("forget-key"), Boolean(api.getKey()));
  const extras = [config.tracing ? "tracing on" : "tracing off"];
  if (config.workspace) extras.push(`workspace ${config.workspace}`);
  $("server-info").textContent = `${config.model} · ${extras.join(" · ")}`;
  show($("tab-rag"), Boolean(config.index));
  if (config.max_model_len) { // sources need most of a small window: answer in a quarter
    $("rag-max-tokens").value = Math.max(1, Math.min(256, Math.floor(config.max_model_len / 4)));
  }
  if (!started) { // event listeners once, even when the key is entered again later
    started = true;
    initChat(config);
    initRuns();
    initTraces();
    initRag();
    $("tabs").addEventListener("click", (event) => {
      const tab = event.target.closest("[role=tab]");
      if (tab) openTab(tab.dataset.tab);
    });
  }
  const current = document.querySelector("#tabs [aria-selected=true]")?.dataset.tab || "chat";
  openTab(current);
}

async function connect() {
  let config;
  try {
    config = await api.get("/v1/ui");
  } catch (error) {
    if (error.status !== 401) {
      $("notice").textContent = `The server did not answer: ${error.message}`;
      show($("notice"), true);
    }
    return; // a 401 has locked the page already (onUnauthorized)
  }
  show($("notice"), false);
  start(config);
}

api.onUnauthorized(() => {
  const had = api.getKey();
  api.forgetKey();
  lock(had ? "The server refused that key." : "");
});

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  api.setKey($("key-input").value.trim());
  $("key-input").value = "";
  connect();
});

$("forget-key").addEventListener("click", () => {
  api.forgetKey();
  location.reload();
});

connect();
