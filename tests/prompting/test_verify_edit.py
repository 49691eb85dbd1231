"""Verify-and-edit: when it verifies, the exact prompts of each stage, the evidence it finds
and the edited rationale reaching the final prompt; the in-memory retriever and evidence files;
`lmforge prompt run --strategy ve` end to end on the tiny lab."""

from __future__ import annotations

import json
import re

import pytest

from lmforge.errors import LmforgeError
from lmforge.infer.backends import ScriptedBackend
from lmforge.jsonl import read_jsonl
from lmforge.prompting.retrieval import TextRetriever, lab_evidence, load_evidence
from lmforge.prompting.strategies import make_strategy
from lmforge.prompting.strategies.verify_edit import rationale_of, split_sentences
from lmforge.retrieval import Passage
from lmforge.runs import read_manifest
from support import run_cli, single_thread

QUESTION = {"question": "What does Kamori export?"}
FACTS = [
    "Kamori is a town in the Velden region.",
    "Kamori mainly exports copper.",
    "Orlen flies a red flag.",
]
SC_PROMPT = "Question: What does Kamori export?\nAnswer:"
SAMPLES = [
    "Kamori lies in Velden. Kamori exports wool. So the answer is wool.", "Answer: tin", "salt?"
]  # fmt: skip
VERIFY = [
    "Where does Kamori lie?", "Velden", "Kamori lies in Velden.",  # sentence 0
    "Question: What does Kamori mainly export?", "copper", "Kamori exports copper.",  # 1
    "copper.",  # the final answer
]  # fmt: skip


def ve(**settings):
    settings.setdefault("samples", 3)
    return make_strategy("ve", retriever=TextRetriever(FACTS), **settings)


def test_a_consistent_vote_is_returned_without_verification():
    backend = ScriptedBackend(["Kamori exports copper. The answer is copper."] * 3)
    answer = ve().run(backend, QUESTION)
    assert answer.answer == "copper" and answer.confidence == 1.0
    assert [s.name for s in answer.steps] == ["sample 0", "sample 1", "sample 2"]
    assert len(backend.calls) == 3


def test_low_consistency_verifies_each_sentence_and_edits_the_rationale():
    backend = ScriptedBackend(SAMPLES + VERIFY)
    answer = ve().run(backend, QUESTION)
    names = [s.name for s in answer.steps]
    per_sentence = ["verify question {}", "evidence answer {}", "edit {}"]
    verify = [n.format(i) for i in (0, 1) for n in per_sentence]
    assert names == ["sample 0", "sample 1", "sample 2", *verify, "answer"]
    assert answer.answer == "copper"  # the vote said wool; the evidence says copper
    assert answer.votes == {"wool": 1, "tin": 1} and answer.confidence == 1 / 3
    steps = {s.name: s for s in answer.steps}
    assert steps["verify question 1"].prompt == (
        "Question: Write one question that checks whether the statement is true.\n"
        "Overall question: What does Kamori export?\nStatement: Kamori exports wool.\nAnswer:"
    )
    # the retriever's passages, best first, are in the evidence prompt and named in its notes
    evidence = steps["evidence answer 1"]
    assert evidence.prompt == (
        "Question: Answer the question using only the evidence.\n\nEvidence:\n"
        "- Kamori mainly exports copper.\n- Kamori is a town in the Velden region.\n\n"
        "What does Kamori mainly export?\nAnswer:"
    )  # the verifying question without the "Question:" label the model wrote
    assert evidence.notes[0] == "searched: What does Kamori mainly export?"
    assert re.fullmatch(r"evidence: p1 \(0\.\d+\), p0 \(0\.\d+\)", evidence.notes[1])
    assert "Fact: What does Kamori mainly export? copper\nStatement: Kamori exports wool." in (
        steps["edit 1"].prompt
    )
    # the edited rationale, not the sampled one, is what the final answer is read after
    assert backend.prompts[-1] == (
        f"{SC_PROMPT} Kamori lies in Velden. Kamori exports copper.\nTherefore, the answer is"
    )
    assert steps["answer"].notes[:2] == [
        "verified: vote share 0.33 < threshold 0.5",
        "rationale of sample 0, 2 of 2 sentences checked",
    ]


def test_threshold_is_the_papers_majority_rule():
    # 1 of 2 votes = 0.5: a majority of at least ceil(n/2), so the default threshold accepts it
    accepted = ve(samples=2).run(ScriptedBackend(SAMPLES[:2]), QUESTION)
    assert [s.name for s in accepted.steps] == ["sample 0", "sample 1"]
    assert accepted.answer == "wool" and accepted.confidence == 0.5
    never = ve(threshold=0.0).run(ScriptedBackend(SAMPLES), QUESTION)
    assert len(never.steps) == 3
    always = ve(samples=2, threshold=1.0).run(ScriptedBackend(SAMPLES[:2] + VERIFY), QUESTION)
    assert always.steps[-1].name == "answer" and always.answer == "copper"


def test_chat_mode_continues_the_conversation_with_the_edited_rationale():
    backend = ScriptedBackend(SAMPLES + VERIFY)
    answer = ve(mode="chat").run(backend, QUESTION)
    assert answer.answer == "copper"
    assert backend.prompts[-1] == [
        {"role": "user", "content": "What does Kamori export?"},
        {"role": "assistant", "content": "Kamori lies in Velden. Kamori exports copper."},
        {"role": "user", "content": "Therefore, the answer is"},
    ]


def test_no_evidence_keeps_the_sentence_and_the_majority_answer_stands():
    replies = ["Zorblat quux fnord. The answer is wool.", "?", "?", "Zorblat quux?", ""]
    backend = ScriptedBackend(replies)
    answer = ve().run(backend, QUESTION)
    steps = {s.name: s for s in answer.steps}
    assert list(steps)[3:] == ["verify question 0", "answer"]
    assert steps["verify question 0"].notes == [
        "searched: Zorblat quux?", "no evidence found: the sentence is kept"
    ]  # fmt: skip
    assert backend.prompts[-1] == f"{SC_PROMPT} Zorblat quux fnord.\nTherefore, the answer is"
    assert answer.answer == "wool" and "majority answer stands" in steps["answer"].notes[-1]


def test_long_evidence_is_cut_to_fit_the_window():
    long_fact = "Kamori mainly exports copper " + "and many other goods " * 40
    strategy = make_strategy("ve", samples=3, retriever=TextRetriever([long_fact]))
    backend = ScriptedBackend(SAMPLES + VERIFY, context_window=160)
    strategy.max_sentences = 1
    answer = strategy.run(backend, QUESTION)
    evidence = next(s for s in answer.steps if s.name == "evidence answer 0")
    assert backend.count_tokens(evidence.prompt) + 32 <= 160 < len(long_fact.split())
    block = len(f"- {long_fact.strip()}")
    assert evidence.notes[2].startswith(f"text 0 cut to {block // 2} of {block} characters")
    assert "- Kamori mainly exports copper and many" in evidence.prompt  # the start is kept


def test_a_strategy_without_a_retriever_says_how_to_give_evidence():
    with pytest.raises(LmforgeError, match="--evidence FILE"):
        make_strategy("ve")
    with pytest.raises(LmforgeError, match="threshold"):
        ve(threshold=2.0)


def test_rationales_are_split_into_checkable_sentences():
    reply = "Kamori lies in Velden. It exports copper!\nones: 1 + 2 = 3\nSo, the answer is 3."
    assert rationale_of(reply) == "Kamori lies in Velden. It exports copper!\nones: 1 + 2 = 3\nSo,"
    assert split_sentences(rationale_of(reply)) == [
        "Kamori lies in Velden.", "It exports copper!", "ones: 1 + 2 = 3"
    ]  # fmt: skip
    assert split_sentences("카모리는 벨덴에 있다. 카모리는 구리를 수출한다.") == [
        "카모리는 벨덴에 있다.", "카모리는 구리를 수출한다."
    ]  # fmt: skip


def test_text_retriever_ranks_by_cosine_and_drops_unrelated_passages():
    retriever = TextRetriever([*FACTS, Passage("orlen", "Orlen exports salt.", 0.0, {"x": 1})])
    hits = retriever.search("What does Orlen export?", k=3)
    assert [h.id for h in hits] == ["orlen", "p2"] and hits[0].metadata == {"x": 1}
    assert hits[0].score > hits[1].score > 0
    assert retriever.search("zebra quartz", k=2) == []
    with pytest.raises(LmforgeError, match="at least one passage"):
        retriever.search("Orlen", k=0)
    with pytest.raises(LmforgeError, match="no passages"):
        TextRetriever([])
    with pytest.raises(LmforgeError, match="empty"):
        TextRetriever(["fine", "  "])


def test_evidence_files_jsonl_text_and_folders(tmp_path):
    (tmp_path / "facts.jsonl").write_text(
        json.dumps({"id": "k", "title": "Kamori", "text": FACTS[1]}) + "\n"
        + json.dumps({"text": FACTS[2]}) + "\n"
    )  # fmt: skip
    (tmp_path / "notes.md").write_text(f"# Velden\n\n{FACTS[0]}\nSecond line.\n\n  \n\nEnd.\n")
    jsonl = load_evidence(tmp_path / "facts.jsonl")
    assert [(p.id, p.text, p.metadata.get("title")) for p in jsonl] == [
        ("k", FACTS[1], "Kamori"), ("facts:2", FACTS[2], None)
    ]  # fmt: skip
    assert [p.text for p in load_evidence(tmp_path / "notes.md")] == [
        "# Velden", f"{FACTS[0]}\nSecond line.", "End."
    ]  # fmt: skip
    assert len(load_evidence(tmp_path)) == 5
    (tmp_path / "empty.txt").write_text("\n\n")
    (tmp_path / "bad.jsonl").write_text('{"text": ""}\n')
    (tmp_path / "facts.csv").write_text("a,b\n")
    for name, message in [
        ("missing.md", "does not exist"),
        ("empty.txt", "is empty"),
        ("bad.jsonl", "record 1 has an empty"),
        ("facts.csv", "neither"),
    ]:
        with pytest.raises(LmforgeError, match=message):
            load_evidence(tmp_path / name)  # fmt: skip


def test_lab_evidence_states_the_lab_qa_facts(tiny_lab):
    passages = lab_evidence(tiny_lab)
    truth = {r["id"]: r["planted"] for r in read_jsonl(tiny_lab / "raw_truth.jsonl")}
    assert passages and all(truth[p.id] == "clean" for p in passages)
    retriever = TextRetriever(passages)
    english = [qa for qa in read_jsonl(tiny_lab / "eval/qa.jsonl") if qa["lang"] == "en"]
    for qa in english:  # (Korean eojeol carry particles, so TF-IDF matches them less often)
        top = retriever.search(qa["question"], k=1)[0].text.lower()
        assert qa["answer"].lower() in top and qa["meta"]["entity"] in top


def test_prompt_run_ve_end_to_end_on_the_tiny_lab(tmp_path, tiny_lab, tiny_model_dir, capsys):
    out = tmp_path / "ve"
    with single_thread():
        code, printed = run_cli(
            capsys, "prompt", "run", "--model", str(tiny_model_dir), "--task", "lab-qa",
            "--data", str(tiny_lab), "--strategy", "ve", "--samples", "2", "--limit", "2",
            "--mode", "completion", "--out", str(out),
        )  # fmt: skip
    assert code == 0, printed
    traces = read_jsonl(out / "traces.jsonl")
    assert len(traces) == 2
    documents = {p.id: p.text for p in lab_evidence(tiny_lab)}
    evidence_steps = []
    for trace in traces:
        steps = trace["steps"]
        assert [s["name"] for s in steps[:2]] == ["sample 0", "sample 1"]
        assert trace["confidence"] < 0.5  # an untrained model does not agree with itself
        assert steps[2]["name"] == "verify question 0" and steps[-1]["name"] == "answer"
        final = steps[-1]  # the question continued by the edited rationale
        edited = final["notes"][2].removeprefix("edited rationale: ")
        assert final["prompt"].startswith(f"Question: {trace['question']}\nAnswer: {edited[:20]}")
        assert final["prompt"].endswith("\nTherefore, the answer is")
        evidence_steps += [s for s in steps if s["name"].startswith("evidence answer")]
    assert evidence_steps  # its garbage still shares words with the lab's documents
    for step in evidence_steps:
        ids = re.findall(r"(web-\d+) \(", step["notes"][1])
        assert ids and all(i in documents for i in ids)
        assert " ".join(documents[ids[0]].split())[:40] in step["prompt"]
    config = read_manifest(out)["config"]
    assert config["strategy"] == "ve" and config["threshold"] == 0.5
    assert config["evidence_passages"] == len(lab_evidence(tiny_lab))
    with pytest.raises(LmforgeError, match="needs evidence for task lab-arith"):
        from lmforge.prompting.run import run_prompting

        run_prompting("scripted", "lab-arith", tmp_path / "x", "ve", data=tiny_lab)
