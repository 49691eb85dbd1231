"""`POST /v1/chat/completions`: messages through the model's chat template, as OpenAI answers.

The prompt is `infer.generate.encode_prompt(tokenizer, messages)`, the same one `lmforge chat`
and the local backend use, so a greedy answer here equals theirs. Content given as a list of
parts is joined from its text parts; `developer` messages count as `system`.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from lmforge.infer.generate import encode_prompt
from lmforge.serve import sse
from lmforge.serve.engine import Job, Output
from lmforge.serve.errors import APIError
from lmforge.serve.model import Row, TokenLogprob
from lmforge.serve.schemas import ChatRequest, Message
from lmforge.serve.state import Served, State, new_id, now, stops, usage

router = APIRouter()


@router.post("/v1/chat/completions")
async def chat_completions(body: ChatRequest, state: State):
    """Create a chat completion (or a stream of `chat.completion.chunk` events)."""
    state.check_model(body.model)
    _refuse_unsupported(body)
    prompt = encode_prompt(state.tokenizer, [_message(m) for m in body.messages])
    budget = state.budget(len(prompt), body.max_completion_tokens or body.max_tokens)
    top_k = (body.top_logprobs or 0) if body.logprobs else None
    job = Job(
        rows=[Row(prompt, budget, stops(body.stop)) for _ in range(body.n)],
        temperature=1.0 if body.temperature is None else body.temperature,
        top_p=1.0 if body.top_p is None else body.top_p,
        seed=body.seed, top_k=top_k, stream=body.stream, timeout=state.timeout,
    )  # fmt: skip
    state.engine.submit(job)
    head = {"id": new_id("chatcmpl"), "created": now(), "model": state.model_id}
    if body.stream:
        return StreamingResponse(_stream(state, job, head, body), media_type="text/event-stream")
    outputs = await state.engine.result(job)
    choices = [_choice(state, i, out) for i, out in enumerate(outputs)]
    return {**head, "object": "chat.completion", "choices": choices, "usage": usage(outputs),
            "system_fingerprint": None}  # fmt: skip


def _refuse_unsupported(body: ChatRequest) -> None:
    if body.tools or body.tool_choice not in (None, "none"):
        raise APIError(400, "Tool calls (`tools`, `tool_choice`) are not supported yet by "
                       "lmforge serve.", "tools", "unsupported")  # fmt: skip
    if body.stream and body.logprobs:
        raise APIError(400, "`logprobs` with `stream` is not supported yet; ask without "
                       "streaming.", "logprobs", "unsupported")  # fmt: skip
    if any(m.role == "tool" for m in body.messages):
        raise APIError(400, "Messages with role `tool` are not supported yet.", "messages")


def _message(message: Message) -> dict:
    content = message.content
    if isinstance(content, list):
        if any(part.type != "text" for part in content):
            raise APIError(400, "Only text content parts are supported.", "messages")
        content = "".join(part.text or "" for part in content)
    role = "system" if message.role == "developer" else message.role
    return {"role": role, "content": content or ""}


def _choice(state: Served, index: int, out: Output) -> dict:
    message = {"role": "assistant", "content": out.text, "refusal": None}
    logprobs = None
    if out.logprobs is not None:
        logprobs = {"content": [_entry(state, lp) for lp in out.logprobs], "refusal": None}
    return {"index": index, "message": message, "logprobs": logprobs,
            "finish_reason": out.finish_reason}  # fmt: skip


def _entry(state: Served, lp: TokenLogprob) -> dict:
    def one(token: int, value: float) -> dict:
        text = state.tokenizer.decode([token])
        return {"token": text, "logprob": value, "bytes": list(text.encode("utf-8"))}

    return {**one(lp.token, lp.logprob), "top_logprobs": [one(t, v) for t, v in lp.top]}


def _stream(state: Served, job: Job, head: dict, body: ChatRequest):
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    base = {**head, "object": "chat.completion.chunk", "system_fingerprint": None}
    if include_usage:
        base["usage"] = None  # OpenAI sends usage: null on every chunk but the last

    def chunk(index: int, delta: dict, reason: str | None = None) -> dict:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": reason}
        return {**base, "choices": [choice]}

    opening = [chunk(i, {"role": "assistant", "content": ""}) for i in range(body.n)]
    return sse.stream(
        state.engine, job,
        chunk=lambda index, text: chunk(index, {"content": text}),
        finish=lambda index, reason: chunk(index, {}, reason),
        usage=(lambda outs: {**base, "choices": [], "usage": usage(outs)}) if include_usage
        else None,
        opening=opening,
    )  # fmt: skip
