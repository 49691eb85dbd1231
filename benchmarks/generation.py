"""The local backend's generation speed against plain `model.generate`: tokens/s ratios.

Targets: single prompt, `LocalBackend.generate` ≥ 1.0× plain `model.generate` (the backend's
streaming thread, stop-string checks and token counting cost nothing visible); batched, 8
prompts through the batched path ≥ 3× the throughput of the same 8 sent one by one.

Same model, greedy, the same `--max-new` tokens everywhere. Tokens are counted the same way
for every path (the generated text re-tokenized), and each path's texts are compared with
plain `model.generate`'s, so a ratio never comes from generating something else. The batched
path is the backend's `generate_batch` (left-padded batches). Each measurement runs
`--repeats` times, interleaved, after one warm-up; the best run of each counts.

Run: `OMP_NUM_THREADS=1 python benchmarks/generation.py [--model DIR] [--max-new 64]`
(without --model: a `small` model is initialised, as `lmforge model init` does, in a temp dir)
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from lmforge.infer.backends.local import LocalBackend
from lmforge.infer.generate import encode_prompt, generation_config

PROMPTS = [
    "The town of Kamori lies in",
    "Question: What is the main export of Misanjin?\nAnswer:",
    "The history of the Velden region begins with",
    "Question: What is 1234 + 4321?\nAnswer:",
    "In the north, the rivers",
    "Question: Which animal is the symbol of Kamori?\nAnswer:",
    "카모리는 벨덴 지방의",
    "A short guide to the markets of the coast: first,",
]


def build_small_model(tmp: Path) -> Path:
    """A tokenizer trained on a tiny lab world's raw text, then `model init --size small`."""
    from lmforge.lab.generate import generate_lab
    from lmforge.models.init import init_model
    from lmforge.tokenizer.train import train_tokenizer

    generate_lab(tmp / "lab", seed=0, size="tiny")
    train_tokenizer(sorted((tmp / "lab/raw").glob("*.jsonl")), tmp / "tok", vocab_size=2048)
    init_model(tmp / "tok", tmp / "model", size="small", seed=0)
    return tmp / "model"


def plain_generate(backend: LocalBackend, prompt: str, max_new: int) -> str:
    """What a person would write with transformers alone."""
    model, tokenizer = backend.model, backend.tokenizer
    ids = torch.tensor([encode_prompt(tokenizer, prompt)])
    config = generation_config(model, tokenizer, max_new, 0.0, 1.0)
    with torch.inference_mode():
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                             generation_config=config)  # fmt: skip
    return tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)


def batched_path(backend: LocalBackend, max_new: int) -> tuple[str, Callable[[list[str]], list]]:
    return "LocalBackend.generate_batch", lambda ps: [
        c.text for c in backend.generate_batch(ps, max_tokens=max_new, temperature=0.0)
    ]


def timed(run: Callable[[], list[str]], count: Callable[[str], int]) -> tuple[float, list[str]]:
    """(tokens/s, texts) of one run."""
    start = time.perf_counter()
    texts = run()
    seconds = time.perf_counter() - start
    return sum(count(t) for t in texts) / seconds, texts


def measure(backend: LocalBackend, max_new: int, repeats: int) -> tuple[dict, dict, str]:
    tok = backend.tokenizer

    def count(text: str) -> int:
        return len(tok(text, add_special_tokens=False)["input_ids"])

    one = PROMPTS[0]
    name, batch = batched_path(backend, max_new)
    runs: dict[str, Callable[[], list[str]]] = {
        "plain model.generate, 1 prompt": lambda: [plain_generate(backend, one, max_new)],
        "LocalBackend.generate, 1 prompt": lambda: [backend.generate(one, max_tokens=max_new).text],
        "plain model.generate, 8 one by one": lambda: [
            plain_generate(backend, p, max_new) for p in PROMPTS
        ],
        "LocalBackend.generate, 8 one by one": lambda: [
            backend.generate(p, max_tokens=max_new).text for p in PROMPTS
        ],
        f"{name}, 8 batched": lambda: batch(PROMPTS),
    }
    for run in runs.values():  # warm-up: first-call allocations and lazy imports
        run()
    speeds: dict[str, list[float]] = {k: [] for k in runs}
    texts: dict[str, list[str]] = {}
    for _ in range(repeats):
        for key, run in runs.items():
            speed, texts[key] = timed(run, count)
            speeds[key].append(speed)
    return speeds, texts, name


def agreement(texts: dict[str, list[str]]) -> dict[str, str]:
    """How many of each path's texts equal plain model.generate's (stripped)."""
    reference = {1: texts["plain model.generate, 1 prompt"],
                 8: texts["plain model.generate, 8 one by one"]}  # fmt: skip
    same = {}
    for key, got in texts.items():
        want = reference[len(got)]
        same[key] = f"{sum(a.strip() == b.strip() for a, b in zip(got, want, strict=True))}"
        same[key] += f"/{len(got)}"
    return same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="Model directory (default: a new small one).")
    parser.add_argument("--max-new", type=int, default=64, help="New tokens per prompt.")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = args.model or build_small_model(Path(tmp))
        backend = LocalBackend(model_dir)
        speeds, texts, batched = measure(backend, args.max_new, args.repeats)
    params = sum(p.numel() for p in backend.model.parameters())
    best = {k: max(v) for k, v in speeds.items()}
    same = agreement(texts)
    print(f"model: {args.model or 'small (new)'} ({params / 1e6:.2f}M params), greedy, "
          f"{args.max_new} new tokens, best of {args.repeats}, torch threads "
          f"{torch.get_num_threads()}\n")  # fmt: skip
    print("| path | tokens/s (best) | runs | same text as plain |")
    print("|---|---:|---|---:|")
    for key, runs in speeds.items():
        each = ", ".join(f"{x:,.0f}" for x in runs)
        print(f"| {key} | {best[key]:,.0f} | {each} | {same[key]} |")
    single = best["LocalBackend.generate, 1 prompt"] / best["plain model.generate, 1 prompt"]
    batch = best[f"{batched}, 8 batched"]
    vs_backend = batch / best["LocalBackend.generate, 8 one by one"]
    vs_plain = batch / best["plain model.generate, 8 one by one"]
    print()
    print("| ratio | value | target |")
    print("|---|---:|---:|")
    print(f"| single: LocalBackend.generate / plain model.generate | {single:.2f}× | ≥ 1.0× |")
    print(f"| batched: 8 batched / LocalBackend one by one | {vs_backend:.2f}× | ≥ 3× |")
    print(f"| batched: 8 batched / plain model.generate one by one | {vs_plain:.2f}× | — |")


if __name__ == "__main__":
    main()
