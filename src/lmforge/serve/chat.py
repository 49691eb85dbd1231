"""`POST /v1/chat/completions`: messages through the model's chat template, as OpenAI answers.

The prompt is the chat template's rendering of `serve.messages.template_messages` (the
request's messages, plus a registry prompt and the tools section when asked for): without
those it is `infer.generate.encode_prompt(tokenizer, messages)`, the same one `lmforge chat`
and the local backend use, so a greedy answer here equals theirs. With `tools`, see
`serve.tools` (the protocol) and `serve.replies` (how choices become `tool_calls`). A
forced call's prefix is part of the prompt and counts in `usage.prompt_tokens`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from lmforge.errors import LmforgeError
from lmforge.infer.generate import render_prompt
from lmforge.serve import sse
from lmforge.serve.engine import Job, Output, disconnected
from lmforge.serve.errors import APIError
from lmforge.serve.messages import template_messages
from lmforge.serve.model import Row, TokenLogprob
from lmforge.serve.replies import pick_function, replies
from lmforge.serve.schemas import ChatRequest, PromptRef
from lmforge.serve.state import Served, State, new_id, now, stops, usage
from lmforge.serve.tools import forced_prefix, plan_tools
from lmforge.serve.tracing import note

router = APIRouter()


@router.post("/v1/chat/completions")
async def chat_completions(body: ChatRequest, request: Request, state: State):
    """Create a chat completion (or a stream of `chat.completion.chunk` events)."""
    state.check_model(body.model)
    if body.stream and body.logprobs:
        raise APIError(400, "`logprobs` with `stream` is not supported yet; ask without "
                       "streaming.", "logprobs", "unsupported")  # fmt: skip
    plan = plan_tools(body.tools, body.tool_choice, body.parallel_tool_calls)
    messages = template_messages(body.messages, plan, _preamble(state, body.prompt))
    text = render_prompt(state.tokenizer, messages)
    forced = plan.forced
    if plan.mode == "required":
        state.budget(len(_encode(state, text)), 1)  # a prompt too long fails before scoring
        forced = await pick_function(state, text, plan.names)
    if forced:
        text += state.reply_separator + forced_prefix(forced)
    prompt = _encode(state, text)
    budget = state.budget(len(prompt), body.max_completion_tokens or body.max_tokens)
    top_k = (body.top_logprobs or 0) if body.logprobs else None
    job = Job(
        rows=[Row(prompt, budget, stops(body.stop), 1 if forced else None) for _ in range(body.n)],
        temperature=1.0 if body.temperature is None else body.temperature,
        top_p=1.0 if body.top_p is None else body.top_p,
        seed=body.seed, top_k=top_k, stream=body.stream, timeout=state.timeout,
    )  # fmt: skip
    state.engine.submit(job)
    head = {"id": new_id("chatcmpl"), "created": now(), "model": state.model_id}
    note(request, id=head["id"], model=state.model_id, prompt=text)
    answers = replies(plan, forced, body.n)
    if body.stream:
        stream = _stream(state, job, head, body, answers, request)
        return StreamingResponse(stream, media_type="text/event-stream")
    outputs = await state.engine.result(job, disconnected(request))
    pairs = zip(outputs, answers, strict=True)
    choices = [_choice(state, i, out, answer) for i, (out, answer) in enumerate(pairs)]
    counts = usage(outputs)
    _note_output(request, [{k: c[k] for k in ("index", "message", "finish_reason")}
                           for c in choices], counts)  # fmt: skip
    return {**head, "object": "chat.completion", "choices": choices, "usage": counts,
            "system_fingerprint": None}  # fmt: skip


def _encode(state: Served, text: str) -> list[int]:
    """Token ids of a rendered chat prompt (which holds its special tokens already)."""
    return list(state.tokenizer(text, add_special_tokens=False)["input_ids"])


def _preamble(state: Served, ref: PromptRef | None) -> str | None:
    """The registry template a request names, rendered (404 if unknown, 400 if it fails)."""
    if ref is None:
        return None
    try:
        version = state.prompts.get(ref.name, ref.version)
    except LmforgeError as e:
        raise APIError(404, str(e), "prompt", "prompt_not_found") from None
    try:
        return version.render(ref.variables)
    except LmforgeError as e:
        raise APIError(400, str(e), "prompt.variables") from None


def _note_output(request: Request, choices: list[dict], counts: dict) -> None:
    note(request, output=choices, prompt_tokens=counts["prompt_tokens"],
         completion_tokens=counts["completion_tokens"])  # fmt: skip


def _choice(state: Served, index: int, out: Output, answer) -> dict:
    message, reason = answer.message(out)
    logprobs = None
    if out.logprobs is not None:
        logprobs = {"content": [_entry(state, lp) for lp in out.logprobs], "refusal": None}
    return {"index": index, "message": message, "logprobs": logprobs, "finish_reason": reason}


def _entry(state: Served, lp: TokenLogprob) -> dict:
    def one(token: int, value: float) -> dict:
        text = state.tokenizer.decode([token])
        return {"token": text, "logprob": value, "bytes": list(text.encode("utf-8"))}

    return {**one(lp.token, lp.logprob), "top_logprobs": [one(t, v) for t, v in lp.top]}


async def _stream(state: Served, job: Job, head: dict, body: ChatRequest, answers, request):
    """The SSE body: an opening chunk per choice, deltas, finish reasons, usage, [DONE]."""
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    base = {**head, "object": "chat.completion.chunk", "system_fingerprint": None}
    if include_usage:
        base["usage"] = None  # OpenAI sends usage: null on every chunk but the last

    def chunk(index: int, delta: dict, reason: str | None = None) -> bytes:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": reason}
        return sse.event({**base, "choices": [choice]})

    for index, answer in enumerate(answers):
        yield chunk(index, answer.opening())
    async for kind, *rest in state.engine.events(job):
        if kind == "delta":
            index, piece = rest
            for delta in answers[index].delta(piece):
                yield chunk(index, delta)
        elif kind == "error":
            yield sse.event(rest[0].body())
            return  # no [DONE]: the client must see that the stream failed
        elif kind == "done":
            outputs, finished = rest[0], []
            for index, (out, answer) in enumerate(zip(outputs, answers, strict=True)):
                deltas, reason, message = answer.finish(out)
                for delta in deltas:
                    yield chunk(index, delta)
                yield chunk(index, {}, reason)
                finished.append({"index": index, "message": message, "finish_reason": reason})
            counts = usage(outputs)
            _note_output(request, finished, counts)
            if include_usage:
                yield sse.event({**base, "choices": [], "usage": counts})
    yield sse.DONE
