"""What a judge is asked: criteria (built-in or from a file) and the exact prompt texts.

G-Eval prompts follow Liu et al. (2023): task introduction, "Evaluation Criteria" with the
criterion's definition, "Evaluation Steps" (written by the judge itself, once per criterion),
the example, and "Evaluation Form (scores ONLY)" ending in `- Name:` so the next token is the
score. Pairwise prompts follow MT-Bench's `pair-v2` judge (Zheng et al., 2023): an explanation,
then `[[A]]`, `[[B]]` or `[[C]]` (tie). Custom criteria come from a YAML or JSON file:

    conciseness: "The answer says what the question needs and no more."
    tone:
      definition: "Polite and neutral."
      steps: ["Read the answer.", "Rate politeness from 1 to 5."]   # optional: no generation
      needs: [context]                                              # optional: required fields
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lmforge.errors import LmforgeError

SCORES = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Criterion:
    """A quality to rate from 1 to 5; `needs`: fields of which an item must have at least one."""

    name: str
    definition: str
    steps: str | None = None  # given evaluation steps; None = the judge writes them
    needs: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return self.name.replace("_", " ").capitalize()


BUILTIN: dict[str, Criterion] = {
    c.name: c
    for c in (
        Criterion(
            "coherence",
            "the collective quality of all sentences. The answer should be well-structured and "
            "well-organized: it should build from sentence to sentence to a coherent body of "
            "information, not be a heap of related facts.",
        ),
        Criterion(
            "consistency",
            "the factual alignment between the answer and the source (the reference answer or "
            "the context). A factually consistent answer contains only statements that are "
            "entailed by the source. Penalize answers that contain hallucinated facts.",
            needs=("reference", "context"),
        ),
        Criterion(
            "fluency",
            "the quality of the answer in terms of grammar, spelling, punctuation, word choice "
            "and sentence structure.",
        ),
        Criterion(
            "relevance",
            "how well the answer addresses the question. It should give the information the "
            "question asks for; penalize answers with redundant or off-topic content.",
        ),
        Criterion(
            "faithfulness",
            "whether every claim of the answer is supported by the given context. An answer that "
            "adds facts the context does not state, or contradicts it, is unfaithful even if "
            "those facts are true.",
            needs=("context",),
        ),
        Criterion(
            "helpfulness",
            "how useful the answer is to the person who asked: correct, complete enough to act "
            "on, and clear.",
        ),
    )
}

GEVAL_INTRO = (
    "You will be given one answer written for a question.\n\n"
    "Your task is to rate the answer on one metric.\n\n"
    "Please make sure you read and understand these instructions carefully."
)
STEPS_REQUEST = (
    "Write the evaluation steps a careful rater follows for this criterion, as a numbered list."
)

PAIR_INSTRUCTION = (
    "Please act as an impartial judge and evaluate the quality of the responses provided by two "
    "AI assistants to the user question displayed below. You should choose the assistant that "
    "follows the user's instructions and answers the user's question better. Your evaluation "
    "should consider {factors}. Begin your evaluation by comparing the two responses and provide "
    "a short explanation. Avoid any position biases and ensure that the order in which the "
    "responses were presented does not influence your decision. Do not allow the length of the "
    "responses to influence your evaluation. Do not favor certain names of the assistants. Be as "
    "objective as possible. After providing your explanation, output your final verdict by "
    'strictly following this format: "[[A]]" if assistant A is better, "[[B]]" if assistant B '
    'is better, and "[[C]]" for a tie.'
)
MT_BENCH_FACTORS = (
    "factors such as the helpfulness, relevance, accuracy, depth, creativity, and level of "
    "detail of their responses"
)
VERDICT_CUE = "Final verdict: [["  # what a log-likelihood judge continues with A, B or C
VERDICT = re.compile(r"\[\[\s*([ABC])\s*\]\]")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def resolve_criteria(names: list[str]) -> list[Criterion]:
    """Criteria by built-in name, plus every criterion of each .yaml/.yml/.json file named."""
    chosen: dict[str, Criterion] = {}
    for name in names:
        if name.endswith((".yaml", ".yml", ".json")) or Path(name).is_file():
            chosen |= {c.name: c for c in load_criteria_file(Path(name))}
        elif name in BUILTIN:
            chosen[name] = BUILTIN[name]
        else:
            raise LmforgeError(
                f"unknown criterion {name!r}.",
                f"Use one of {', '.join(BUILTIN)}, or a YAML/JSON file of custom criteria.",
            )
    return list(chosen.values())


def load_criteria_file(path: Path) -> list[Criterion]:
    if not path.is_file():
        raise LmforgeError(f"criteria file {path} does not exist.", "Check the path.")
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        raise LmforgeError(f"{path} is not valid {path.suffix[1:].upper()}: {e}") from None
    if not isinstance(data, dict) or not data:
        raise LmforgeError(
            f"{path} must map criterion names to definitions.",
            'Write e.g. conciseness: "The answer says what is needed and no more."',
        )
    return [_criterion(str(name), spec, path) for name, spec in data.items()]


def _criterion(name: str, spec: Any, path: Path) -> Criterion:
    where = f"{path}: criterion {name!r}"
    if isinstance(spec, str):
        spec = {"definition": spec}
    if not isinstance(spec, dict) or not isinstance(spec.get("definition"), str):
        raise LmforgeError(f"{where} has no 'definition' string.", "Give its definition as text.")
    unknown = set(spec) - {"definition", "steps", "needs"}
    if unknown:
        raise LmforgeError(f"{where} has unknown field(s) {', '.join(sorted(unknown))}.",
                           "Use definition, steps and needs.")  # fmt: skip
    steps = spec.get("steps")
    if isinstance(steps, list):
        steps = "\n".join(f"{n}. {s}" for n, s in enumerate(steps, 1))
    if steps is not None and not isinstance(steps, str):
        raise LmforgeError(f"{where}: 'steps' must be text or a list of texts.")
    needs = spec.get("needs", [])
    if not isinstance(needs, list) or not all(isinstance(n, str) for n in needs):
        raise LmforgeError(f"{where}: 'needs' must be a list of field names.")
    return Criterion(name, spec["definition"].strip(), steps, tuple(needs))


def _criteria_block(criterion: Criterion) -> str:
    return f"Evaluation Criteria:\n\n{criterion.title} (1-5) - {criterion.definition}"


def steps_prompt(criterion: Criterion) -> str:
    """The prompt that asks the judge to write evaluation steps for `criterion`."""
    block = _criteria_block(criterion)
    return f"{GEVAL_INTRO}\n\n{block}\n\n{STEPS_REQUEST}\n\nEvaluation Steps:\n"


def score_prompt(criterion: Criterion, steps: str, item: dict[str, Any]) -> str:
    """The G-Eval scoring prompt; it ends with `- Name:` so the score comes next."""
    parts = [GEVAL_INTRO, _criteria_block(criterion), f"Evaluation Steps:\n\n{steps.strip()}"]
    parts.append(f"Example:\n\nQuestion:\n\n{item['question']}")
    if item.get("context"):
        parts.append(f"Context:\n\n{item['context']}")
    if item.get("reference"):
        parts.append(f"Reference answer:\n\n{item['reference']}")
    parts.append(f"Answer:\n\n{item['answer']}")
    parts.append(f"Evaluation Form (scores ONLY):\n\n- {criterion.title}:")
    return "\n\n".join(parts)


def pair_prompt(criteria: list[Criterion], item: dict[str, Any], first: str, second: str) -> str:
    """MT-Bench's pairwise prompt with `first` shown as assistant A and `second` as B."""
    factors = MT_BENCH_FACTORS
    if criteria:
        factors = "these criteria: " + "; ".join(f"{c.name} ({c.definition})" for c in criteria)
    parts = [PAIR_INSTRUCTION.format(factors=factors), f"[User Question]\n{item['question']}"]
    if item.get("context"):
        parts.append(f"[Context]\n{item['context']}")
    if item.get("reference"):
        parts.append(
            f"[The Start of Reference Answer]\n{item['reference']}\n[The End of Reference Answer]"
        )
    for label, text in (("A", first), ("B", second)):
        parts.append(
            f"[The Start of Assistant {label}'s Answer]\n{text}\n"
            f"[The End of Assistant {label}'s Answer]"
        )
    return "\n\n".join(parts) + "\n\n"


def parse_score(reply: str) -> float | None:
    """The first number of a reply when it is a score from 1 to 5; otherwise None (unparsed)."""
    found = NUMBER.search(reply)
    if found is None:
        return None
    value = float(found.group())
    return value if SCORES[0] <= value <= SCORES[-1] else None


def parse_verdict(reply: str) -> str | None:
    """ "A", "B" or "tie" from `[[A]]`/`[[B]]`/`[[C]]`; None when absent or contradictory."""
    found = set(VERDICT.findall(reply))
    if len(found) != 1:
        return None
    return {"A": "A", "B": "B", "C": "tie"}[found.pop()]
