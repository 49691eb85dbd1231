"""Generation metrics: exact match, SQuAD F1, regex-extracted numeric match, pass@k for code.

    f1_score("the copper ore", ["copper"])              # 0.667: SQuAD's token F1, best answer
    numeric_equal("so 1,234 apples", "1234")            # True: the last number, commas dropped
    numeric_equal("#### 42", "42", regex=r"#### (-?[\\d.,]+)")   # gsm8k's strict extraction
    pass_at_k(n=10, c=3, k=1)                           # 0.3: Chen et al.'s unbiased estimator
    code_pass_at_k(backend, problems, ks=(1, 5), n=10)  # sample, run the tests in the sandbox

Exact match is `eval.scoring.exact_match` (re-exported here). F1 normalises as the SQuAD
script does (case, punctuation, the articles a/an/the, whitespace; punctuation of any script)
and counts whitespace tokens; text with Hangul is compared by characters, as KorQuAD's
official script does, because a Korean word glues particles to its stem ("구리이다" vs
"구리"). pass@k runs each sampled program with its tests in `agents.sandbox.Sandbox`
(namespaced, no network, CPU/memory/time limits); a program passes when it exits with 0.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from lmforge.errors import LmforgeError
from lmforge.eval.scoring import exact_match, normalize_answer, numeric_match
from lmforge.jsonl import read_jsonl, write_jsonl
from lmforge.runs import prepare_out_dir, write_manifest

__all__ = [
    "code_pass_at_k",
    "evaluate_code",
    "exact_match",
    "f1_score",
    "numeric_equal",
    "numeric_match",
    "parse_number",
    "pass_at_k",
    "program_for",
    "regex_extract",
]

ARTICLES = re.compile(r"\b(a|an|the)\b")
HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
NUMBER = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?|-?\$?\.\d+")
# HumanEval's stop sequences: a completion ends where the next top-level statement begins
CODE_STOP = ["\nclass ", "\ndef ", "\n#", "\nif ", "\nprint("]


def f1_tokens(text: str, korean: bool) -> list[str]:
    words = ARTICLES.sub(" ", normalize_answer(text)).split()
    return [ch for word in words for ch in word] if korean else words


def f1_score(prediction: str, answers: Sequence[str]) -> float:
    """SQuAD's token F1 of `prediction` against the best of `answers` (0 when none)."""
    return max((_f1(prediction, answer) for answer in answers), default=0.0)


def _f1(prediction: str, answer: str) -> float:
    korean = bool(HANGUL.search(prediction) or HANGUL.search(answer))
    pred, gold = f1_tokens(prediction, korean), f1_tokens(answer, korean)
    if not pred or not gold:  # SQuAD: two empty answers agree, one empty one does not
        return float(pred == gold)
    common = sum((Counter(pred) & Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def regex_extract(text: str, regex: str, group: int = 1, select: str = "last") -> str | None:
    """The `select` ("first" or "last") match of `regex` in `text` (its `group`, or the
    whole match when the pattern has no groups), as lm-eval's regex filter; None if none."""
    if select not in ("first", "last"):
        raise LmforgeError(f"select must be first or last, not {select!r}.")
    try:
        matches = list(re.finditer(regex, text))
    except re.error as e:
        raise LmforgeError(f"the extraction regex {regex!r} is invalid: {e}.") from None
    if not matches:
        return None
    match = matches[0] if select == "first" else matches[-1]
    if not match.groups():
        return match.group(0)
    if group > len(match.groups()):
        raise LmforgeError(
            f"the regex {regex!r} has no group {group}.", "Use 0 or an existing one."
        )
    return match.group(group)


def parse_number(text: str | None) -> float | None:
    """The last number in `text` ("$1,234.50" -> 1234.5), or None."""
    found = NUMBER.findall(text or "")
    if not found:
        return None
    return float(found[-1].replace(",", "").replace("$", "").rstrip("."))


def numeric_equal(prediction: str, answer: str, regex: str | None = None) -> bool:
    """Whether the number extracted from `prediction` (by `regex` first, when given) equals
    the number in `answer` (to 1e-9 relative: 7 == 7.0)."""
    if regex is not None:
        prediction = regex_extract(prediction, regex) or ""
    got, want = parse_number(prediction), parse_number(answer)
    return got is not None and want is not None and math.isclose(got, want, rel_tol=1e-9)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Chen et al. (2021): P(at least one of k samples drawn from n, c of them correct, passes)
    = 1 - C(n-c, k) / C(n, k), as a stable product."""
    if not 0 <= c <= n or k < 1 or n < 1:
        raise LmforgeError(f"pass@k needs 0 <= c <= n and k, n >= 1 (got n={n}, c={c}, k={k}).")
    if k > n:
        raise LmforgeError(f"pass@{k} needs at least {k} samples per problem, got {n}.")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def program_for(problem: dict[str, Any], completion: str) -> str:
    """HumanEval's program: prompt + completion + test (+ `check(entry_point)`)."""
    program = f"{problem['prompt']}{completion}\n\n{problem['test']}\n"
    if problem.get("entry_point"):
        program += f"\ncheck({problem['entry_point']})\n"
    return program


def check_problems(problems: list[dict[str, Any]], where: str = "problems") -> None:
    if not problems:
        raise LmforgeError(f"{where}: no problems to evaluate.")
    for n, problem in enumerate(problems):
        for key in ("prompt", "test"):
            if not isinstance(problem.get(key), str):
                raise LmforgeError(
                    f"{where}: problem {problem.get('task_id', n)} has no string field {key!r}.",
                    "Each problem needs prompt and test (HumanEval's format; entry_point is "
                    "optional).",
                )


def code_pass_at_k(
    backend,
    problems: list[dict[str, Any]],
    ks: Sequence[int] = (1,),
    n: int | None = None,
    temperature: float = 0.8,
    max_tokens: int = 256,
    stop: list[str] | None = None,
    sandbox=None,
    seed: int = 0,
    progress: Callable[[int], object] | None = None,
) -> dict[str, Any]:
    """Sample `n` completions per problem from `backend` (greedy when temperature is 0 and n
    is 1), run each with the problem's tests in `sandbox`, and estimate pass@k for each k.

    Returns {"pass@k": mean over problems, ..., "samples": per problem, per completion}.
    """
    n = max(ks) if n is None else n
    for k in ks:
        pass_at_k(n, 0, k)  # refuses a k larger than n before any sampling
    check_problems(problems)
    if sandbox is None:
        from lmforge.agents.sandbox import Sandbox, SandboxLimits

        sandbox = Sandbox(SandboxLimits(cpu_seconds=5, wall_seconds=10))
    sandbox.check()
    samples = []
    for i, problem in enumerate(problems):
        completion = backend.generate(
            problem["prompt"], temperature=temperature, n=n, max_tokens=max_tokens,
            stop=CODE_STOP if stop is None else stop, seed=seed + i,
        )  # fmt: skip
        runs = [sandbox.run(program_for(problem, text)) for text in completion.texts]
        samples.append({
            "id": str(problem.get("task_id", i)),
            "completions": completion.texts,
            "passed": [run.ok for run in runs],
            "outcomes": [run.summary() for run in runs],
        })  # fmt: skip
        if progress is not None:
            progress(1)
    scores = {
        f"pass@{k}": sum(pass_at_k(n, sum(s["passed"]), k) for s in samples) / len(samples)
        for k in ks
    }
    return {**scores, "n": n, "problems": len(problems), "samples": samples}


def evaluate_code(
    model: str,
    problems: Path,
    out: Path | None = None,
    ks: Sequence[int] = (1,),
    n: int | None = None,
    temperature: float = 0.8,
    max_tokens: int = 256,
    seed: int = 0,
    weak_sandbox: bool = False,
    overwrite: bool = False,
) -> dict[str, Any]:
    """`lmforge eval code`: pass@k of the backend `model` on a HumanEval-style JSONL file."""
    from lmforge.agents.sandbox import Sandbox, SandboxLimits
    from lmforge.infer import load_backend

    records = read_jsonl(problems)
    check_problems(records, str(problems))
    for k in ks:
        pass_at_k(max(ks) if n is None else n, 0, k)
    sandbox = Sandbox(SandboxLimits(), isolation="weak" if weak_sandbox else "strict")
    sandbox.check()  # refuse before loading a model when the host cannot isolate code
    if out is not None:
        out = prepare_out_dir(out, overwrite=overwrite)
    backend = load_backend(model)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns) as bar:
        job = bar.add_task("pass@k", total=len(records))
        result = code_pass_at_k(
            backend, records, ks, n, temperature, max_tokens, None, sandbox, seed,
            lambda done: bar.advance(job, done),
        )  # fmt: skip
    summary = {k: v for k, v in result.items() if k != "samples"}
    if out is not None:
        (out / "results.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        write_jsonl(out / "samples.jsonl", result["samples"])
        config = {"ks": list(ks), "n": result["n"], "temperature": temperature,
                  "max_tokens": max_tokens, "seed": seed, "sandbox": sandbox.isolation}  # fmt: skip
        inputs = {"problems": problems} | ({"model": Path(model)} if Path(model).is_dir() else {})
        write_manifest(
            out, "eval-code", config, inputs, {f"pass@{k}": result[f"pass@{k}"] for k in ks}
        )
    return {**summary, "model": model}
