"""`POST /v1/completions`: raw text continuation, and prompt scoring for evaluation harnesses.

`prompt` may be a string, a list of strings, a list of token ids or a list of such lists;
choice `i * n + j` is the j-th sample of prompt i. With `echo: true` and `logprobs` the reply
carries the prompt's own token log-probabilities (the first token's is null), and
`max_tokens: 0` asks for nothing else: what lm-evaluation-harness's `local-completions`
model and lmforge's own OpenAI backend use to compute log-likelihoods.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from lmforge.infer.generate import encode_prompt
from lmforge.serve import sse
from lmforge.serve.engine import Job, Output, disconnected
from lmforge.serve.errors import APIError
from lmforge.serve.model import Row
from lmforge.serve.schemas import CompletionRequest
from lmforge.serve.state import Served, State, new_id, now, stops, usage
from lmforge.serve.tracing import note

router = APIRouter()


@router.post("/v1/completions")
async def completions(body: CompletionRequest, request: Request, state: State):
    """Create a text completion (or a stream of `text_completion` events)."""
    state.check_model(body.model)
    if body.stream and (body.echo or body.logprobs is not None):
        raise APIError(400, "`echo` and `logprobs` with `stream` are not supported yet; ask "
                       "without streaming.", "stream", "unsupported")  # fmt: skip
    prompts = _prompts(state, body.prompt)
    rows = []
    for ids in prompts:
        budget = state.budget(len(ids), body.max_tokens) if body.max_tokens else 0
        if not body.max_tokens and (not ids or (state.context and len(ids) > state.context)):
            raise APIError(400, f"The prompt has {len(ids)} tokens; the model's context is "
                           f"{state.context}.", "prompt")  # fmt: skip
        rows += [Row(ids, budget, stops(body.stop)) for _ in range(body.n)]
    job = Job(
        rows=rows, temperature=1.0 if body.temperature is None else body.temperature,
        top_p=1.0 if body.top_p is None else body.top_p, seed=body.seed, top_k=body.logprobs,
        echo=body.echo, stream=body.stream, timeout=state.timeout,
    )  # fmt: skip
    state.engine.submit(job)
    head = {"id": new_id("cmpl"), "object": "text_completion", "created": now(),
            "model": state.model_id}  # fmt: skip
    texts = [state.tokenizer.decode(ids) for ids in prompts]
    note(request, id=head["id"], model=state.model_id, prompt=texts[0] if len(texts) == 1
         else texts)  # fmt: skip
    if body.stream:
        stream = _stream(state, job, head, body, lambda outs: _note(request, outs, len(prompts)))
        return StreamingResponse(stream, media_type="text/event-stream")
    outputs = await state.engine.result(job, disconnected(request))
    choices = [_choice(state, i, out, body.echo) for i, out in enumerate(outputs)]
    counts = usage(outputs, len(prompts))
    _note(request, outputs, len(prompts))
    return {**head, "choices": choices, "usage": counts, "system_fingerprint": None}


def _note(request: Request, outputs: list[Output], n_prompts: int) -> None:
    """The trace's output: each choice's text and finish reason, and the token counts."""
    counts = usage(outputs, n_prompts)
    choices = [{"index": i, "text": o.text, "finish_reason": o.finish_reason}
               for i, o in enumerate(outputs)]  # fmt: skip
    note(request, output=choices, prompt_tokens=counts["prompt_tokens"],
         completion_tokens=counts["completion_tokens"])  # fmt: skip


def _prompts(state: Served, prompt) -> list[list[int]]:
    """Token ids of each prompt; ids given by the client are used as they are."""
    if isinstance(prompt, str):
        return [encode_prompt(state.tokenizer, prompt)]
    if not prompt:
        raise APIError(400, "The prompt is empty.", "prompt")
    if isinstance(prompt[0], int):
        prompt = [prompt]
    if isinstance(prompt[0], str):
        return [encode_prompt(state.tokenizer, text) for text in prompt]
    for ids in prompt:
        state.check_ids(ids)
    return [list(ids) for ids in prompt]


def _choice(state: Served, index: int, out: Output, echo: bool) -> dict:
    decode = state.tokenizer.decode
    prompt_text = decode(out.prompt)
    logprobs = None
    if out.logprobs is not None:
        ids = [lp.token for lp in out.logprobs]  # the prompt's first when echoed
        shift = 0 if echo else len(prompt_text)  # offsets count from the prompt's start
        logprobs = {
            "tokens": [decode([t]) for t in ids],
            "token_logprobs": [lp.logprob for lp in out.logprobs],
            "top_logprobs": [
                None if lp.logprob is None else {decode([t]): v for t, v in lp.top}
                for lp in out.logprobs
            ],
            "text_offset": [shift + len(decode(ids[:i])) for i in range(len(ids))],
        }
    text = prompt_text + out.text if echo else out.text
    return {"index": index, "text": text, "logprobs": logprobs,
            "finish_reason": out.finish_reason}  # fmt: skip


def _stream(state: Served, job: Job, head: dict, body: CompletionRequest, done):
    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    base = {**head, "system_fingerprint": None}
    if include_usage:
        base["usage"] = None

    def chunk(index: int, text: str, reason: str | None = None) -> dict:
        choice = {"index": index, "text": text, "logprobs": None, "finish_reason": reason}
        return {**base, "choices": [choice]}

    return sse.stream(
        state.engine, job, chunk=chunk, finish=lambda index, reason: chunk(index, "", reason),
        usage=(lambda outs: {**base, "choices": [], "usage": usage(outs, len(job.rows) // body.n)})
        if include_usage else None,
        done=done,
    )  # fmt: skip
