"""A small in-memory retriever for prompting (verify-and-edit's evidence), and evidence files.

    retriever = TextRetriever(load_evidence(Path("facts.md")), embedder="tfidf")
    retriever.search("What does Kamori export?", k=3)  # -> [Passage, ...], best first

`TextRetriever` implements `lmforge.retrieval.Retriever` by brute-force cosine similarity over
all passages: TF-IDF fitted on the passages (default: no model, instant) or any
`lmforge.embed.load_embedder` spec ("minilm", a sentence-transformers directory). Brute force
is exact and fast up to tens of thousands of passages; beyond that use `lmforge.rag`'s index.
Passages with no similarity at all (cosine <= 0) are never returned, so a query sharing no
word with the evidence gets no evidence rather than arbitrary text.

Evidence files: `.jsonl` (field `text`, optional `id` and `title`), `.txt`/`.md` (one passage
per paragraph, paragraphs separated by blank lines), or a directory of such files.
`lab_evidence(lab_dir)` gives the lab world's encyclopedia paragraphs (its clean raw
documents), which state every fact `lab-qa` asks about.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import track

from lmforge.embed import Embed, TfidfEmbedder, load_embedder, unit_rows
from lmforge.errors import LmforgeError
from lmforge.eval.task import DEFAULT_DATA
from lmforge.jsonl import iter_jsonl, read_jsonl
from lmforge.retrieval import Passage

EVIDENCE_SUFFIXES = (".jsonl", ".txt", ".md")
PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
EMBED_CHUNK = 256  # passages per progress step


class TextRetriever:
    """Cosine-similarity search over a list of texts or `Passage`s (kept in memory)."""

    def __init__(self, passages: Sequence[str | Passage], embedder: str | Embed = "tfidf") -> None:
        self.passages = [_as_passage(p, i) for i, p in enumerate(passages)]
        if not self.passages:
            raise LmforgeError("the retriever was given no passages.", "Give at least one text.")
        texts = [p.text for p in self.passages]
        if embedder == "tfidf":
            self.embed: Embed = TfidfEmbedder(texts)
        elif isinstance(embedder, str):
            self.embed = load_embedder(embedder)
        else:
            self.embed = embedder
        self.spec = getattr(self.embed, "spec", "custom")
        self.vectors = unit_rows(np.asarray(self._embed_all(texts), dtype=float))

    def _embed_all(self, texts: list[str]) -> np.ndarray:
        """All passages' vectors; a neural model shows progress (a CPU takes seconds per 1k)."""
        if isinstance(self.embed, TfidfEmbedder) or len(texts) <= EMBED_CHUNK:
            return np.asarray(self.embed(texts), dtype=float)
        chunks = [texts[i : i + EMBED_CHUNK] for i in range(0, len(texts), EMBED_CHUNK)]
        shown = track(chunks, "embedding evidence", console=Console(stderr=True), transient=True)
        return np.concatenate([np.asarray(self.embed(c), dtype=float) for c in shown])

    def __len__(self) -> int:
        return len(self.passages)

    def search(self, query: str, k: int = 5) -> list[Passage]:
        """The (up to) k passages most similar to `query`, best first, with their cosine."""
        if k < 1:
            raise LmforgeError(f"k={k}: a search must ask for at least one passage.")
        query_vector = unit_rows(np.asarray(self.embed([query]), dtype=float))[0]
        scores = self.vectors @ query_vector
        order = np.argsort(-scores, kind="stable")[:k]  # stable: ties keep the passage order
        return [replace(self.passages[i], score=float(scores[i])) for i in order if scores[i] > 0]


def _as_passage(item: str | Passage, index: int) -> Passage:
    if isinstance(item, Passage):
        passage = item
    elif isinstance(item, str):
        passage = Passage(f"p{index}", item)
    else:
        raise LmforgeError(
            f"passage {index} is a {type(item).__name__}, not a text or Passage.",
            "Give the retriever strings or lmforge.retrieval.Passage objects.",
        )
    if not passage.text.strip():
        raise LmforgeError(f"passage {index} ({passage.id}) is empty.", "Remove empty passages.")
    return passage


def load_evidence(path: str | Path) -> list[Passage]:
    """The passages of an evidence file (.jsonl, .txt, .md) or of every such file in a folder."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix in EVIDENCE_SUFFIXES)
        if not files:
            raise LmforgeError(
                f"the evidence folder {path} holds no {', '.join(EVIDENCE_SUFFIXES)} files.",
                "Put the evidence texts there, or point --evidence at one file.",
            )
        return [passage for file in files for passage in load_evidence(file)]
    if not path.is_file():
        raise LmforgeError(
            f"the evidence file {path} does not exist.",
            "Give a .jsonl file (field 'text'), a .txt/.md file or a folder of them.",
        )
    if path.suffix not in EVIDENCE_SUFFIXES:
        raise LmforgeError(
            f"the evidence file {path} is neither .jsonl, .txt nor .md.",
            "Convert it to JSONL records with a 'text' field, or to paragraphs of plain text.",
        )
    passages = _jsonl_passages(path) if path.suffix == ".jsonl" else _text_passages(path)
    if not passages:
        raise LmforgeError(f"the evidence file {path} is empty.", "Add at least one passage.")
    return passages


def _jsonl_passages(path: Path) -> list[Passage]:
    passages = []
    for n, record in enumerate(iter_jsonl(path, required=("text",)), start=1):
        text = record["text"]
        if not isinstance(text, str) or not text.strip():
            raise LmforgeError(
                f"{path}: record {n} has an empty or non-text 'text' field.",
                "Every evidence record needs a non-empty string 'text'.",
            )
        metadata = {"source": str(path)}
        if "title" in record:
            metadata["title"] = str(record["title"])
        passages.append(Passage(str(record.get("id", f"{path.stem}:{n}")), text, 0.0, metadata))
    return passages


def _text_passages(path: Path) -> list[Passage]:
    text = path.read_text(encoding="utf-8")
    paragraphs = [p.strip() for p in PARAGRAPH_BREAK.split(text) if p.strip()]
    return [
        Passage(f"{path.stem}:{n}", p, 0.0, {"source": str(path)})
        for n, p in enumerate(paragraphs, start=1)
    ]


def lab_evidence(lab: Path) -> list[Passage]:
    """The lab world's clean encyclopedia paragraphs (raw/ minus the planted noise)."""
    truth_path = Path(lab) / "raw_truth.jsonl"
    shards = sorted((Path(lab) / "raw").glob("web-*.jsonl"))
    if not shards or not truth_path.is_file():
        raise LmforgeError(
            f"{lab} has no raw/web-*.jsonl and raw_truth.jsonl to take evidence from.",
            f"Re-create it with `lmforge lab generate --out {lab}`, or pass --evidence FILE.",
        )
    clean = {r["id"] for r in read_jsonl(truth_path, ("id", "planted")) if r["planted"] == "clean"}
    return [
        Passage(r["id"], r["text"], 0.0, {"lang": r.get("meta", {}).get("lang")})
        for shard in shards
        for r in read_jsonl(shard, ("id", "text"))
        if r["id"] in clean
    ]


def task_evidence(task: str, data: Path | None, evidence: Path | None) -> list[Passage]:
    """The evidence for verify-and-edit on `task`: the file given, else lab-qa's documents."""
    if evidence is not None:
        return load_evidence(evidence)
    if task == "lab-qa":
        return lab_evidence(Path(data) if data is not None else DEFAULT_DATA)
    raise LmforgeError(
        f"verify-and-edit needs evidence for task {task} and none was given.",
        "Pass --evidence FILE: .jsonl records with a 'text' field, or .txt/.md paragraphs.",
    )
