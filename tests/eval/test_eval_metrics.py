"""Metrics: acc/acc_norm/acc_bytes choices, SQuAD F1, regex-extracted numbers, pass@k with
generated code run in the real sandbox."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from lmforge.agents.sandbox import Sandbox, SandboxLimits, strict_problem
from lmforge.errors import LmforgeError
from lmforge.eval.metrics import (
    code_pass_at_k,
    f1_score,
    numeric_equal,
    parse_number,
    pass_at_k,
    program_for,
    regex_extract,
)
from lmforge.eval.scoring import choice_predictions
from lmforge.infer import load_backend
from support import run_cli

GSM8K_STRICT = r"#### (\-?[0-9\.\,]+)"  # lm-eval's gsm8k "strict-match" filter
GSM8K_FLEX = r"(-?[$0-9.,]{2,})|(-?[0-9]+)"  # and its "flexible-extract"


def test_choice_predictions_follow_lm_eval_normalisations():
    # lm-eval: argmax(lls), argmax(lls / len(choice)), argmax(lls / len(choice.encode()))
    choices = ["구리", "copper", "x"]  # characters 2, 6, 1; UTF-8 bytes 6, 6, 1
    logliks = [-3.0, -6.0, -2.5]
    picked = choice_predictions(logliks, choices)
    for metric, size in (("acc", [1, 1, 1]), ("acc_norm", [2, 6, 1]), ("acc_bytes", [6, 6, 1])):
        assert picked[metric] == int(np.argmax(np.array(logliks) / np.array(size, dtype=float)))
    assert picked == {"acc": 2, "acc_norm": 1, "acc_bytes": 0}  # three metrics, three answers
    assert choice_predictions([-1.0, -1.0], ["a", "b"])["acc"] == 0  # ties: the first


@pytest.mark.parametrize(
    ("prediction", "answers", "f1"),
    [
        ("Copper.", ["copper"], 1.0),
        ("the copper ore", ["copper"], 2 / 3),  # "the" is dropped: {copper, ore} vs {copper}
        ("salt", ["copper", "salt"], 1.0),  # best answer counts
        ("copper copper", ["copper"], 2 / 3),  # a repeated token matches once
        ("wool", ["copper"], 0.0),
        ("", ["copper"], 0.0),
        ("The", ["a"], 1.0),  # both empty after normalisation: SQuAD scores 1
        ("구리이다", ["구리"], 2 / 3),  # Korean by characters (KorQuAD): 구,리 of 구,리,이,다
        ("주요 수출품은 구리", ["구리"], 0.4),  # 2 of 8 characters, all of the answer
    ],
)
def test_f1_score(prediction, answers, f1):
    assert f1_score(prediction, answers) == pytest.approx(f1)


def test_regex_extraction_and_numeric_match():
    output = "Natalia sold 48 clips in April and 24 in May.\n#### 72\nQuestion: next"
    assert regex_extract(output, GSM8K_STRICT) == "72"
    assert regex_extract("it is 1,234 or $5", GSM8K_FLEX, group=0) == "$5"
    assert regex_extract("it is 1,234 or $5", GSM8K_FLEX, group=0, select="first") == "1,234"
    assert regex_extract("no numbers", GSM8K_STRICT) is None
    assert parse_number("costs $1,234.50.") == 1234.5
    assert parse_number("-3") == -3 and parse_number("none") is None
    assert numeric_equal(output, "72", regex=GSM8K_STRICT)
    assert not numeric_equal("The answer is 72", "72", regex=GSM8K_STRICT)  # strict: no ####
    assert numeric_equal("The answer is 72.0", "72")
    assert not numeric_equal("72 or 73", "72")  # the last number counts
    with pytest.raises(LmforgeError, match="invalid"):
        regex_extract("x", "(unclosed")


def test_pass_at_k_is_the_unbiased_estimator():
    # 1 - C(n-c, k) / C(n, k) is the chance that k of n samples drawn without replacement
    # include a correct one: check against enumerating every draw
    for n, c, k in [(5, 0, 1), (5, 2, 1), (5, 2, 2), (6, 3, 4), (4, 4, 2), (10, 1, 10)]:
        draws = list(itertools.combinations([True] * c + [False] * (n - c), k))
        expected = sum(any(d) for d in draws) / len(draws)
        assert pass_at_k(n, c, k) == pytest.approx(expected)
        assert pass_at_k(n, c, k) == pytest.approx(1 - math.comb(n - c, k) / math.comb(n, k))
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    with pytest.raises(LmforgeError, match="at least 5 samples"):
        pass_at_k(3, 1, 5)


PROBLEM = {
    "task_id": "add",
    "prompt": 'def add(a, b):\n    """The sum of a and b."""\n',
    "test": "def check(candidate):\n    assert candidate(2, 3) == 5\n"
    "    assert candidate(-1, 1) == 0\n",
    "entry_point": "add",
}
RIGHT, WRONG = "    return a + b\n", "    return a - b\n"
LOOP = "    while True:\n        pass\n"


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    isolation = "strict" if strict_problem() is None else "weak"
    return Sandbox(SandboxLimits(cpu_seconds=1, wall_seconds=3), isolation=isolation)


def test_program_for_humaneval():
    program = program_for(PROBLEM, RIGHT)
    assert program.startswith(PROBLEM["prompt"] + RIGHT)
    assert program.rstrip().endswith("check(add)")


def test_code_pass_at_k_runs_samples_in_the_sandbox(sandbox):
    # the scripted backend stands in for a sampler; the programs really run in the sandbox
    replies = [RIGHT, WRONG + "\ndef helper():\n    pass", LOOP, RIGHT]
    backend = load_backend("scripted", replies=replies)
    result = code_pass_at_k(backend, [PROBLEM], ks=(1, 2, 4), n=4, sandbox=sandbox)
    [sample] = result["samples"]
    assert sample["passed"] == [True, False, False, True]
    assert sample["completions"][1] == WRONG  # cut at HumanEval's stop "\ndef "
    assert "limit" in sample["outcomes"][2]  # the endless loop was stopped
    assert result["pass@1"] == pytest.approx(0.5)
    assert result["pass@2"] == pytest.approx(1 - 1 / 6)
    assert result["pass@4"] == 1.0
    call = backend.calls[0]
    assert call.options["n"] == 4 and call.options["temperature"] == 0.8


def test_code_pass_at_k_refuses_bad_input_before_sampling(sandbox):
    backend = load_backend("scripted", replies=[])
    with pytest.raises(LmforgeError, match="at least 5 samples"):
        code_pass_at_k(backend, [PROBLEM], ks=(5,), n=2, sandbox=sandbox)
    with pytest.raises(LmforgeError, match="'test'"):
        code_pass_at_k(backend, [{"prompt": "def f():"}], sandbox=sandbox)
    assert backend.calls == []


def test_eval_code_cli_with_a_local_model(tiny_model_dir, tmp_path, capsys):
    problems = tmp_path / "problems.jsonl"
    problems.write_text(json.dumps(PROBLEM) + "\n", encoding="utf-8")
    weak = [] if strict_problem() is None else ["--weak-sandbox"]
    code, printed = run_cli(
        capsys, "eval", "code", "--model", str(tiny_model_dir), "--problems", str(problems),
        "--k", "1,2", "--n", "2", "--max-tokens", "8", "--out", str(tmp_path / "out"), *weak,
    )  # fmt: skip
    assert code == 0, printed
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["pass@1"] == 0.0 and results["n"] == 2  # an untrained model writes no code
    sample = json.loads((tmp_path / "out" / "samples.jsonl").read_text())
    assert len(sample["completions"]) == 2 and sample["passed"] == [False, False]
    assert (tmp_path / "out" / "lmforge.json").is_file()
