"""Verify-and-edit (Zhao et al., ACL 2023): check an uncertain chain of thought against evidence.

1. Self-consistency (`sc`, reused as is): `samples` few-shot CoT replies, majority vote.
2. When the winner's share of the samples is at least `threshold` (default 0.5, which is the
   paper's rule: a majority of at least ⌈n/2⌉ of n samples), that answer stands, no more calls.
3. Otherwise the rationale of the first sample that voted for the winner (the first sample when
   none parsed; the text before its answer marker) is split into sentences, and for each of the
   first `max_sentences` (fragments of one word are skipped):
   - "verify question i": ask for one question that checks the sentence;
   - search the retriever with it (with the sentence when the reply has no word) for
     `evidence_k` passages; none found: the sentence is kept as it is;
   - "evidence answer i": answer the verifying question from the passages, shown as "- text"
     lines (the step's notes say what was searched and which passages came back, by id and
     score, so every step stays one model call);
   - "edit i": rewrite the sentence so that it agrees with that answer.
4. "answer": the self-consistency prompt continued by the edited rationale and "Therefore, the
   answer is" (as zero-shot CoT extracts); the answer is read from that reply, and when it
   gives none the majority answer stands (noted). Votes and confidence stay the vote's.

Texts that would overflow the model's window (long evidence, long sentences) are cut from the
end until the prompt fits, and the cut is noted in the step. Replies of the sub-steps are read
as one line (a leading "Question:" or "Answer:" label is dropped).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from lmforge.embed import words
from lmforge.errors import LmforgeError
from lmforge.eval.scoring import STOP, answer_text
from lmforge.infer.backends.base import Backend, Prompt
from lmforge.prompting.parsing import MARKER, normalize, parse_extracted, parse_marked
from lmforge.prompting.strategies.base import Answer, Step, follow_up
from lmforge.prompting.strategies.cot import EXTRACT
from lmforge.prompting.strategies.self_consistency import SelfConsistency
from lmforge.prompting.templates import render, window_fits
from lmforge.retrieval import Passage, Retriever

VERIFY_QUESTION = "Write one question that checks whether the statement is true."
EVIDENCE_ANSWER = "Answer the question using only the evidence."
EDIT = "Rewrite the statement so that it agrees with the fact. Write one sentence."
SENTENCE_END = re.compile(r"(?<=[.!?。])\s+")
LABEL = re.compile(
    r"^\s*(?:verifying question|question|statement|rewritten statement|answer|fact)\s*:\s*",
    re.IGNORECASE,
)
NEEDS_RETRIEVER = (
    "Pass --evidence FILE (.jsonl with a 'text' field, .txt/.md paragraphs) to `lmforge prompt "
    "run` (lab-qa uses the lab's own documents), or retriever=TextRetriever(texts) in Python."
)


def rationale_of(reply: str) -> str:
    """The reasoning of a CoT reply: the text before its last answer marker."""
    text = reply.split(STOP, 1)[0]
    found = list(MARKER.finditer(text))
    return (text[: found[-1].start()] if found else text).strip()


def split_sentences(text: str) -> list[str]:
    """Sentences (and lines) of a rationale; one-word fragments ("So", "Thus,") are dropped."""
    pieces = [s.strip() for line in text.splitlines() for s in SENTENCE_END.split(line)]
    return [s for s in pieces if len(words(s)) >= 2]


def first_line(reply: str) -> str:
    """A one-line reply without a leading label the model may have copied from the prompt."""
    return answer_text(LABEL.sub("", reply.lstrip(), count=1))


def evidence_block(passages: list[Passage]) -> str:
    return "\n".join(f"- {' '.join(p.text.split())}" for p in passages)


@dataclass
class VerifyAndEdit(SelfConsistency):
    """Self-consistency, then (when unsure) the majority rationale checked and edited."""

    retriever: Retriever | None = None
    threshold: float = 0.5  # verify when the vote share is below it
    evidence_k: int = 3  # passages per verifying question
    max_sentences: int = 4  # rationale sentences verified (the rest are kept as they are)
    question_tokens: int = 32
    answer_tokens: int = 32
    edit_tokens: int = 64
    extract_tokens: int = 16
    name = "ve"

    def __post_init__(self) -> None:
        if self.retriever is None:
            raise LmforgeError("verify-and-edit needs a retriever for evidence.", NEEDS_RETRIEVER)
        if not 0 <= self.threshold <= 1:
            raise LmforgeError(f"threshold {self.threshold} is not in [0, 1].", "Use e.g. 0.5.")
        if self.evidence_k < 1 or self.max_sentences < 1:
            raise LmforgeError("evidence_k and max_sentences must be at least 1.")

    def run(self, backend, example) -> Answer:
        voted = super().run(backend, example)
        steps = voted.steps
        confidence = voted.confidence or 0.0
        if confidence >= self.threshold:
            return voted
        sample, rationale = self._majority_rationale(steps, voted.answer)
        sentences = split_sentences(rationale)
        if not sentences:
            steps[sample].notes.append("nothing to verify: the majority reply has no rationale")
            return voted
        question = example["question"]
        checked = sentences[: self.max_sentences]
        edited = [self._verify(backend, question, s, i, steps) for i, s in enumerate(checked)]
        edited += sentences[self.max_sentences :]
        answer = self._final(backend, steps[0].prompt, " ".join(edited), steps)
        steps[-1].notes[:0] = [
            f"verified: vote share {confidence:.2f} < threshold {self.threshold}",
            f"rationale of sample {sample}, {len(checked)} of {len(sentences)} sentences checked",
        ]
        if answer is None and voted.answer is not None:
            steps[-1].notes.append("the final reply gave no answer: the majority answer stands")
            answer = voted.answer
        return Answer(answer, steps, voted.votes, voted.confidence)

    def _majority_rationale(self, steps: list[Step], winner: str | None) -> tuple[int, str]:
        for n, step in enumerate(steps[: self.samples]):
            parsed = parse_marked(step.reply, self.match)
            if winner is None or (parsed is not None and normalize(parsed, self.match) == winner):
                return n, rationale_of(step.reply)
        return 0, rationale_of(steps[0].reply)  # unreachable: the winner came from a sample

    def _verify(self, backend: Backend, question: str, sentence: str, i: int, steps) -> str:
        """One rationale sentence checked against the evidence: the edited sentence."""

        def ask_question(s: str) -> str:
            return f"{VERIFY_QUESTION}\nOverall question: {question}\nStatement: {s}"

        reply = self._ask_fitted(
            backend, steps, f"verify question {i}", ask_question, [sentence], self.question_tokens
        )
        line = first_line(reply)
        query = line if words(line) else sentence  # a wordless reply cannot be searched with
        passages = self.retriever.search(query, self.evidence_k)
        searched = f"searched: {query}"
        if query == sentence:
            searched += " (the reply had no question)"
        if not passages:
            steps[-1].notes += [searched, "no evidence found: the sentence is kept"]
            return sentence

        def ask_evidence(block: str, asked: str) -> str:
            return f"{EVIDENCE_ANSWER}\n\nEvidence:\n{block}\n\n{asked}"

        texts = [evidence_block(passages), query]
        reply = self._ask_fitted(
            backend, steps, f"evidence answer {i}", ask_evidence, texts, self.answer_tokens
        )
        found = ", ".join(f"{p.id} ({p.score:.3f})" for p in passages)
        steps[-1].notes[:0] = [searched, f"evidence: {found}"]
        fact = first_line(reply)
        if not fact:
            steps[-1].notes.append("no answer from the evidence: the sentence is kept")
            return sentence

        def ask_edit(known: str, s: str) -> str:
            return f"{EDIT}\nFact: {known}\nStatement: {s}"

        texts = [f"{query} {fact}", sentence]
        reply = self._ask_fitted(backend, steps, f"edit {i}", ask_edit, texts, self.edit_tokens)
        edited = first_line(reply)
        if not edited:
            steps[-1].notes.append("empty edit: the sentence is kept")
        return edited or sentence

    def _final(self, backend: Backend, prompt: Prompt, rationale: str, steps) -> str | None:
        def build(text: str) -> Prompt:
            return follow_up(prompt, text, EXTRACT)

        fits = window_fits(backend, self.extract_tokens)
        final, kept = _shrink_to_fit(fits, build, [rationale])
        reply = self.ask(backend, final, steps, "answer", max_tokens=self.extract_tokens)
        steps[-1].notes += [f"edited rationale: {rationale}", *_cuts([rationale], kept)]
        return parse_extracted(reply, self.match)

    def _ask_fitted(
        self, backend: Backend, steps: list[Step], name: str,
        build_query: Callable[..., str], texts: list[str], tokens: int,
    ) -> str:  # fmt: skip
        """Render `build_query(*texts)` (texts cut until it fits), ask it, note any cut."""

        def build(*parts: str) -> Prompt:
            return render(self.template, build_query(*parts), [], self.mode).prompt

        prompt, kept = _shrink_to_fit(window_fits(backend, tokens), build, texts)
        reply = self.ask(backend, prompt, steps, name, max_tokens=tokens)
        steps[-1].notes += _cuts(texts, kept)
        return reply


def _shrink_to_fit(
    fits: Callable[[Prompt], bool] | None, build: Callable[..., Prompt], texts: list[str]
) -> tuple[Prompt, list[str]]:
    """`build(*texts)`, the longest text halved from its end until the prompt fits."""
    texts = list(texts)
    while True:
        prompt = build(*texts)
        if fits is None or fits(prompt):
            return prompt, texts
        longest = max(range(len(texts)), key=lambda i: len(texts[i]))
        if not texts[longest]:
            raise LmforgeError(
                "a verify-and-edit prompt does not fit the model's context even without its "
                "sentence, evidence or rationale.",
                "Use a model with a longer context, or shorten the question.",
            )
        texts[longest] = texts[longest][: len(texts[longest]) // 2].rstrip()


def _cuts(texts: list[str], kept: list[str]) -> list[str]:
    return [
        f"text {n} cut to {len(k)} of {len(t)} characters to fit the context"
        for n, (t, k) in enumerate(zip(texts, kept, strict=True))
        if k != t
    ]
