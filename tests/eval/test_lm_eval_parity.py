"""Parity with lm-evaluation-harness, run for real and offline: lm-eval's `hf` model on local
task YAMLs (`dataset_path: json` with local files) against `lmforge eval`, `lmforge eval
perplexity` and the `lmforge` model adapter, on the same tiny trained model.

Multiple choice: same acc/acc_norm/acc_bytes and per-choice log-likelihoods within 1e-5;
rolling perplexity: same per-document log-likelihoods and corpus metrics; generation through
the adapter: the same greedy text.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

lm_eval = pytest.importorskip("lm_eval")

TOL = 1e-5
MC_YAML = """\
task: parity_mc
dataset_path: json
dataset_kwargs:
  data_files: {{test: {data}}}
  cache_dir: {cache}
test_split: test
output_type: multiple_choice
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: label
metric_list: [{{metric: acc}}, {{metric: acc_norm}}, {{metric: acc_bytes}}]
"""
PPL_YAML = """\
task: parity_ppl
dataset_path: json
dataset_kwargs:
  data_files: {{test: {data}}}
  cache_dir: {cache}
test_split: test
output_type: loglikelihood_rolling
doc_to_text: ""
doc_to_target: "{{{{text}}}}"
metric_list: [{{metric: word_perplexity}}, {{metric: byte_perplexity}}, {{metric: bits_per_byte}}]
"""
GEN_YAML = """\
task: parity_gen
dataset_path: json
dataset_kwargs:
  data_files: {{test: {data}}}
  cache_dir: {cache}
test_split: test
output_type: generate_until
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_target: "{{{{choices[label]}}}}"
generation_kwargs: {{until: ["\\n", "Question:"], max_gen_toks: 6, do_sample: false}}
metric_list: [{{metric: exact_match}}]
"""
TASKS = ["parity_mc", "parity_ppl", "parity_gen"]
MAX_LENGTH = 48  # questions fit whole; the long document needs several windows


GOODS = {"en": ["copper", "salt", "wool ore", "timber"], "ko": ["구리", "소금", "양모", "목재"]}
# (town, language, its export): the tuned model learned Kamori's and Tessa's (conftest.FACTS);
# the other towns it never saw, so it guesses
QUESTIONS = [("Kamori", "en", 0), ("Tessa", "en", 1), ("Orlen", "en", 2), ("Halden", "en", 3),
             ("카모리", "ko", 0), ("테사", "ko", 1), ("오를렌", "ko", 3)]  # fmt: skip


def mc_rows() -> list[dict]:
    rows = []
    for n, (town, lang, export) in enumerate(QUESTIONS):
        choices = GOODS[lang][n % 4 :] + GOODS[lang][: n % 4]  # the right answer moves around
        question = (f"What is the main export of {town}?" if lang == "en"
                    else f"{town}의 주요 수출품은 무엇인가?")  # fmt: skip
        rows.append({"id": f"q{n}", "lang": lang, "question": question, "choices": choices,
                     "label": choices.index(GOODS[lang][export])})  # fmt: skip
    return rows


@pytest.fixture(scope="module")
def task_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lm_eval_tasks")
    records = mc_rows()
    (root / "mc.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    docs = [
        "Kamori is a town. Its main export is copper. 2 + 3 = 5.",
        " ".join(f"{t} is a town. Its main export is salt." for t in ("Tessa", "Orlen") * 6),
        "카모리는 마을이다. 주요 수출품은 구리이다.",
    ]
    (root / "docs.jsonl").write_text(
        "".join(json.dumps({"text": d}, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8"
    )
    cache = root / "hf_cache"
    for name, template, data in [("mc", MC_YAML, "mc.jsonl"), ("ppl", PPL_YAML, "docs.jsonl"),
                                 ("gen", GEN_YAML, "mc.jsonl")]:  # fmt: skip
        text = template.format(data=json.dumps(str(root / data)), cache=json.dumps(str(cache)))
        (root / f"{name}.yaml").write_text(text, encoding="utf-8")
    return root


def run_lm_eval(model: str, model_args: str, task_dir: Path) -> dict:
    from lm_eval.tasks import TaskManager

    with pytest.MonkeyPatch.context() as env:
        env.setenv("HF_HUB_OFFLINE", "1")
        env.setenv("HF_DATASETS_OFFLINE", "1")
        return lm_eval.simple_evaluate(
            model=model, model_args=model_args, tasks=TASKS, batch_size=8, device="cpu",
            task_manager=TaskManager(include_path=str(task_dir), include_defaults=False),
            log_samples=True, random_seed=0, numpy_random_seed=0, torch_random_seed=0,
        )  # fmt: skip


@pytest.fixture(scope="module")
def harness(sft_model, task_dir) -> dict:
    """lm-eval's own Hugging Face model (HFLM) on the three tasks."""
    args = f"pretrained={sft_model},dtype=float32,max_length={MAX_LENGTH}"
    return run_lm_eval("hf", args, task_dir)


def samples(results: dict, task: str) -> list[dict]:
    return sorted(results["samples"][task], key=lambda s: s["doc_id"])


def test_lmforge_eval_matches_lm_eval_on_multiple_choice(harness, sft_model, task_dir, tmp_path):
    from lmforge.eval import evaluate

    # lmforge reads the same records as a JSONL task: its prompt is the YAML's doc_to_text
    ours = evaluate(sft_model, [str(task_dir / "mc.jsonl")], tmp_path / "out",
                    chat_template="off", batch_size=8, show_progress=False)  # fmt: skip
    theirs = harness["results"]["parity_mc"]
    metrics = ours["tasks"]["mc"]["metrics"]
    assert metrics["acc"] == theirs["acc,none"]
    assert metrics["acc_norm"] == theirs["acc_norm,none"]
    assert 0 < theirs["acc,none"] < 1  # right and wrong answers both occur
    rows = [json.loads(line) for line in (tmp_path / "out" / "samples.jsonl").open()]
    assert len(rows) == len(samples(harness, "parity_mc"))
    for row, sample in zip(rows, samples(harness, "parity_mc"), strict=True):
        expected = [resp[0][0] for resp in sample["resps"]]
        assert row["logliks"] == pytest.approx(expected, abs=TOL)
        for metric in ("acc", "acc_norm", "acc_bytes"):
            assert row["scores"][metric] == sample[metric]


def test_lmforge_perplexity_matches_lm_eval_rolling(harness, sft_model, task_dir):
    from lmforge.eval.perplexity import perplexity

    ours = perplexity(sft_model, task_dir / "docs.jsonl", max_len=MAX_LENGTH, show_progress=False)
    theirs = harness["results"]["parity_ppl"]
    assert ours["tokens"] > 2 * MAX_LENGTH  # several windows were needed
    for metric in ("word_perplexity", "byte_perplexity", "bits_per_byte"):
        assert ours[metric] == pytest.approx(theirs[f"{metric},none"], rel=TOL)
    per_doc = [s["resps"][0][0] for s in samples(harness, "parity_ppl")]
    assert ours["loglikelihood"] == pytest.approx(sum(per_doc), abs=TOL * len(per_doc))


def test_lmforge_adapter_runs_lm_eval_tasks_like_hflm(harness, sft_model, task_dir):
    import lmforge.eval.lm_eval_adapter  # noqa: F401  (registers the lm-eval model "lmforge")

    ours = run_lm_eval("lmforge", f"spec={sft_model},max_length={MAX_LENGTH}", task_dir)
    for task in TASKS:
        for metric, value in harness["results"][task].items():
            if isinstance(value, float) and "stderr" not in metric:
                assert ours["results"][task][metric] == pytest.approx(value, rel=TOL), metric
    for mine, hf in zip(samples(ours, "parity_mc"), samples(harness, "parity_mc"), strict=True):
        (logliks, greedy), (expected, expected_greedy) = _unzip(mine), _unzip(hf)
        assert logliks == pytest.approx(expected, abs=TOL) and greedy == expected_greedy
    for mine, hf in zip(samples(ours, "parity_ppl"), samples(harness, "parity_ppl"), strict=True):
        assert mine["resps"][0][0] == pytest.approx(hf["resps"][0][0], abs=TOL)
    generated = [s["resps"][0][0] for s in samples(ours, "parity_gen")]
    assert generated == [s["resps"][0][0] for s in samples(harness, "parity_gen")]
    assert any(text.strip() for text in generated)


def _unzip(sample: dict) -> tuple[list[float], list[bool]]:
    """A multiple-choice sample's (log-likelihoods, is_greedy flags), one per choice."""
    return [r[0][0] for r in sample["resps"]], [r[0][1] for r in sample["resps"]]


def test_adapter_refuses_unknown_model_args(sft_model):
    from lmforge.errors import LmforgeError
    from lmforge.eval.lm_eval_adapter import LmforgeLM

    with pytest.raises(LmforgeError, match="unknown model_args trust_remote_code"):
        LmforgeLM(spec=str(sft_model), trust_remote_code=True)
    with pytest.raises(LmforgeError, match="batch_size"):
        LmforgeLM(spec=str(sft_model), batch_size="many")
