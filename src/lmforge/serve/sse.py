"""Server-sent events as OpenAI streams them: `data: {json}\\n\\n` lines, then `data: [DONE]`.

`stream(engine, job, chunk, finish, usage, done=...)` turns a job's events into that byte
stream: one chunk per piece of text, a chunk with each choice's `finish_reason`, a usage
chunk when the client asked for one, and an error event (OpenAI's error JSON) if the job
fails midway. The chunk bodies come from the caller; text completions use this loop, chat
has its own (`serve.chat._stream`) for tool-call deltas. `done` sees the finished outputs.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable

from lmforge.serve.engine import Engine, Job, Output

DONE = b"data: [DONE]\n\n"


def event(payload: dict) -> bytes:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()


async def stream(
    engine: Engine,
    job: Job,
    chunk: Callable[[int, str], dict],
    finish: Callable[[int, str], dict],
    usage: Callable[[list[Output]], dict] | None,
    opening: list[dict] = (),
    done: Callable[[list[Output]], object] | None = None,
) -> AsyncIterator[bytes]:
    """The SSE body of a streaming job; closing it (client gone) cancels the generation."""
    for payload in opening:
        yield event(payload)
    async for kind, *rest in engine.events(job):
        if kind == "delta":
            yield event(chunk(*rest))
        elif kind == "error":
            yield event(rest[0].body())
            return  # no [DONE]: the client must see that the stream failed
        elif kind == "done":
            outputs = rest[0]
            if done is not None:  # e.g. the trace's record of what was sent
                done(outputs)
            for index, out in enumerate(outputs):
                yield event(finish(index, out.finish_reason))
            if usage is not None:
                yield event(usage(outputs))
    yield DONE
