"""`lmforge serve` under concurrent clients: throughput, latency and time to first token.

Target: 8 concurrent clients get ≥ 3× the throughput (generated tokens/s, all clients
together) of the same requests sent sequentially.

The server is the real CLI (`lmforge serve --no-trace --embedder none`) in a subprocess on
127.0.0.1, so clients and server do not share a Python interpreter; it has the same torch
thread count as this process. Every request is a greedy chat completion of `--max-new`
tokens over the same prompts. The baseline, measured in the same run: the requests one after
another in-process (`serve.model.run_rows`, the server's own generation call, without HTTP,
queue or batching). Then 1 client (sequential over HTTP), 4, 8 and 16 clients (threads, each
with its own connection) share `--requests` requests per level. Throughput is the generated
tokens (the server's `usage.completion_tokens`) of all requests over the level's wall time;
latency is per request. Each level runs non-streamed and streamed (`stream: true`, for the
time to the first content chunk), `--repeats` times, interleaved, after one warm-up; the
best run of each counts (its latencies with it). Every answer's text, in every run, is
compared with the in-process one, so a speed-up never comes from generating something else.

Run: `OMP_NUM_THREADS=1 python benchmarks/serve_load.py [--model DIR] [--max-new 64]
[--requests 32] [--clients 1,4,8,16] [--repeats 2]` (without --model: a `small` model is
initialised, as `lmforge model init` does, in a temp dir)
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import torch
from generation import PROMPTS, build_small_model
from rich.console import Console

from lmforge.infer.generate import encode_prompt
from lmforge.models.io import load_model
from lmforge.serve.model import Row, run_rows


@dataclass
class Result:
    tokens: int
    latency: float  # seconds until the whole answer was in
    first: float  # seconds until the first content (the whole answer when not streamed)
    text: str


def messages(i: int) -> list[dict]:
    return [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model: Path, port: int, log: Path) -> subprocess.Popen:
    """`lmforge serve` in a subprocess (its output to `log`), returned once /health answers."""
    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads())}
    argv = [sys.executable, "-m", "lmforge", "serve", "--model", str(model), "--port", str(port),
            "--served-model-name", "bench", "--no-trace", "--embedder", "none"]  # fmt: skip
    with log.open("wb") as out:  # a file, not a pipe: a full pipe would stall the server
        server = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited:\n{log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not start within 120 s")


def ask(client: httpx.Client, i: int, max_new: int, stream: bool) -> Result:
    body = {"model": "bench", "messages": messages(i), "temperature": 0, "max_tokens": max_new}
    start = time.perf_counter()
    if not stream:
        r = client.post("/v1/chat/completions", json=body)
        r.raise_for_status()
        reply, took = r.json(), time.perf_counter() - start
        text = reply["choices"][0]["message"]["content"]
        return Result(reply["usage"]["completion_tokens"], took, took, text)
    body |= {"stream": True, "stream_options": {"include_usage": True}}
    first, pieces, tokens = None, [], 0
    with client.stream("POST", "/v1/chat/completions", json=body) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if not line.startswith("data: {"):
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                tokens = chunk["usage"]["completion_tokens"]
            for choice in chunk["choices"]:
                if choice["delta"].get("content"):
                    first = first or time.perf_counter() - start
                    pieces.append(choice["delta"]["content"])
    took = time.perf_counter() - start
    return Result(tokens, took, first or took, "".join(pieces))


def level(url: str, clients: int, n: int, max_new: int, stream: bool) -> tuple[float, list]:
    """(wall seconds, results in request order) of `n` requests shared by `clients` threads."""
    pool_clients = [httpx.Client(base_url=url, timeout=600) for _ in range(clients)]
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        # request i goes to connection i % clients; each thread sends its share in turn
        futures = [pool.submit(lambda c=c: [ask(pool_clients[c], i, max_new, stream)
                                            for i in range(c, n, clients)])
                   for c in range(clients)]  # fmt: skip
        per_client = [f.result() for f in futures]
    wall = time.perf_counter() - start
    for client in pool_clients:
        client.close()
    results: list[Result] = [None] * n  # type: ignore[list-item]
    for c, answers in enumerate(per_client):
        for i, answer in zip(range(c, n, clients), answers, strict=True):
            results[i] = answer
    return wall, results


def in_process(loaded, n: int, max_new: int) -> tuple[float, list[Result]]:
    """The requests one by one through the server's own generation function, no HTTP."""
    model, tokenizer = loaded
    results, start = [], time.perf_counter()
    for i in range(n):
        t = time.perf_counter()
        (done,) = run_rows(model, tokenizer, [Row(encode_prompt(tokenizer, messages(i)), max_new)])
        took = time.perf_counter() - t
        results.append(Result(len(done.ids), took, took, done.text))
    return time.perf_counter() - start, results


def row(name: str, wall: float, results: list[Result], reference: list[Result]) -> dict:
    latencies = sorted(r.latency for r in results)
    same = sum(
        r.text.strip() == ref.text.strip() for r, ref in zip(results, reference, strict=True)
    )
    return {
        "name": name,
        "tokens/s": sum(r.tokens for r in results) / wall,
        "p50": statistics.median(latencies),
        "p95": latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))],
        "ttft": statistics.median(r.first for r in results),
        "same": (same, len(results)),
    }


def label(clients: int, stream: bool) -> str:
    plural = "s" if clients > 1 else ""
    return f"{clients} client{plural}, {'streamed' if stream else 'non-streamed'}"


def best(rows) -> dict:
    """The run with the highest throughput (its latencies with it); every run's in `runs`."""
    rows = list(rows)
    top = max(rows, key=lambda r: r["tokens/s"])
    same = [sum(r["same"][i] for r in rows) for i in (0, 1)]  # over every run, not just the best
    return {**top, "runs": [r["tokens/s"] for r in rows], "same": f"{same[0]}/{same[1]}"}


def measure(model: Path, args, log: Path) -> list[dict]:
    loaded = load_model(model)
    loaded[0].eval()
    n, new = args.requests, args.max_new
    console = Console(stderr=True)
    with console.status("sequential, in-process"):
        in_process(loaded, len(PROMPTS), new)  # warm-up
        runs = [in_process(loaded, n, new) for _ in range(args.repeats)]
    reference = runs[0][1]
    name = "sequential, in-process (no HTTP)"
    rows = [best(row(name, wall, results, reference) for wall, results in runs)]
    del loaded  # the server has its own copy; free this one's memory
    port = free_port()
    with console.status("starting `lmforge serve`"):
        server = start_server(model, port, log)
    url = f"http://127.0.0.1:{port}"
    try:
        level(url, 1, len(PROMPTS), new, False)  # warm-up
        loads = [(c, stream) for stream in (False, True) for c in args.clients]
        measured: dict[tuple, list[dict]] = {load: [] for load in loads}
        for repeat in range(args.repeats):  # interleaved, so a busy moment hits every level
            for clients, stream in loads:
                name = label(clients, stream)
                with console.status(f"{name} (run {repeat + 1}/{args.repeats})"):
                    wall, results = level(url, clients, n, new, stream)
                measured[clients, stream].append(row(name, wall, results, reference))
                console.log(f"{name}: {measured[clients, stream][-1]['tokens/s']:,.0f} tokens/s")
        rows += [best(measured[load]) for load in loads]
    finally:
        server.terminate()
        server.wait(timeout=30)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="Model directory (default: a new small one).")
    parser.add_argument("--max-new", type=int, default=64, help="New tokens per request.")
    parser.add_argument("--requests", type=int, default=32, help="Requests per level.")
    parser.add_argument("--clients", default="1,4,8,16", help="Concurrency levels.")
    parser.add_argument("--repeats", type=int, default=2, help="Runs per level; the best counts.")
    args = parser.parse_args()
    args.clients = [int(c) for c in args.clients.split(",")]

    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or build_small_model(Path(tmp))
        rows = measure(model, args, Path(tmp) / "server.log")
    print(
        f"model: {args.model or 'small (new)'}, greedy chat, {args.max_new} new tokens, "
        f"{args.requests} requests per level, torch threads {torch.get_num_threads()}\n"
    )
    print("| load | tokens/s (best) | runs | p50 latency (s) | p95 latency (s) "
          "| p50 first token (s) | same text as in-process |")  # fmt: skip
    print("|---|---:|---|---:|---:|---:|---:|")
    for r in rows:
        runs = ", ".join(f"{x:,.0f}" for x in r["runs"])
        print(f"| {r['name']} | {r['tokens/s']:,.0f} | {runs} | {r['p50']:.3f} | {r['p95']:.3f} "
              f"| {r['ttft']:.3f} | {r['same']} |")  # fmt: skip
    base = {r["name"]: r["tokens/s"] for r in rows}
    sequential = base["sequential, in-process (no HTTP)"]
    print("\n| ratio | value | target |\n|---|---:|---:|")
    for clients in args.clients:
        for stream in (False, True):
            got = base[label(clients, stream)]
            target = "≥ 3×" if clients == 8 and not stream else "—"
            print(f"| {label(clients, stream)} / sequential in-process "
                  f"| {got / sequential:.2f}× | {target} |")  # fmt: skip
    if 1 in args.clients and 8 in args.clients:
        http = base[label(8, False)] / base[label(1, False)]
        print(f"| 8 clients / 1 client, non-streamed (both over HTTP) | {http:.2f}× | — |")


if __name__ == "__main__":
    main()
