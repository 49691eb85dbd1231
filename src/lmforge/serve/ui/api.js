// Every data call of the UI: the API key (kept in sessionStorage, sent as a Bearer token),
// JSON requests, and server-sent event streams read with fetch + ReadableStream.

const KEY = "lmforge.apiKey";
let whenUnauthorized = () => {};

export class APIError extends Error {
  constructor(status, message, code = null) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const getKey = () => sessionStorage.getItem(KEY) || "";
export const setKey = (key) => sessionStorage.setItem(KEY, key);
export const forgetKey = () => sessionStorage.removeItem(KEY);

/** `handler(error)` runs whenever the server answers 401 (no key, or a wrong one). */
export function onUnauthorized(handler) {
  whenUnauthorized = handler;
}

function headers(json) {
  const result = json ? { "Content-Type": "application/json" } : {};
  const key = getKey();
  if (key) result.Authorization = `Bearer ${key}`;
  return result;
}

async function failure(response) {
  let message = `${response.status} ${response.statusText}`;
  let code = null;
  try {
    const body = await response.json();
    message = body?.error?.message || message;
    code = body?.error?.code || null;
  } catch {
    // not OpenAI's error JSON: keep the status line
  }
  const error = new APIError(response.status, message, code);
  if (response.status === 401) whenUnauthorized(error);
  return error;
}

export async function request(method, path, body = undefined, signal = undefined) {
  const response = await fetch(path, {
    method,
    headers: headers(body !== undefined),
    body: body !== undefined ? JSON.stringify(body) : undefined,
    signal,
    cache: "no-store",
  });
  if (!response.ok) throw await failure(response);
  return response.json();
}

export const get = (path, signal) => request("GET", path, undefined, signal);
export const post = (path, body, signal) => request("POST", path, body, signal);

/** POST `body` and yield each `data:` payload of the SSE answer, until `[DONE]`. */
export async function* stream(path, body, signal) {
  const response = await fetch(path, {
    method: "POST",
    headers: { ...headers(true), Accept: "text/event-stream" },
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok) throw await failure(response);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    // stream: true keeps a UTF-8 character split across two reads (Korean) whole
    buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
    buffer = buffer.replace(/\r\n?/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const data = event.split("\n").filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).replace(/^ /, "")).join("\n");
      if (!data) continue;
      if (data === "[DONE]") return;
      const payload = JSON.parse(data);
      if (payload.error) {
        throw new APIError(500, payload.error.message || "the stream failed", payload.error.code);
      }
      yield payload;
    }
    if (done) throw new APIError(0, "The stream ended before [DONE]: the answer is incomplete.");
  }
}
