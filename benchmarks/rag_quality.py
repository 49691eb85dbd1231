"""Retrieval quality of dense vs BM25 vs hybrid on real text: Python's own docstrings.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/rag_quality.py [--docs N] [--k 10]

How the question set is built (deterministic, from the Python running this script):
1. For each module in MODULES (standard library, importable without side effects), every
   public function, class and method defined in that module whose `inspect.getdoc` docstring
   has a summary (first paragraph) and a body (the rest).
2. The summary's first sentence becomes the question; it must have at least 5 words. The body
   (at least 25 words) becomes the document `<module>.<qualname>.md`, "# <module>.<qualname>"
   then the body: the summary itself is left out, so the question is never in its document.
3. Summaries that occur more than once (shared or inherited docstrings) are dropped, then
   `--docs` documents are sampled with seed 0 (default: all, about 400 on Python 3.11); each
   question has exactly one relevant document.
So the task is: given a docstring's one-line summary, find the rest of that docstring among all
the others. It rewards matching a paraphrase-free but short query against technical prose.

Indexed with the default embedder (MiniLM) and chunking (256 tokens, overlap 32). Printed per
mode: recall@k, MRR and nDCG@10 (as `lmforge rag eval` computes them) and each figure as a ratio
against BM25, the baseline.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

from lmforge.jsonl import write_jsonl

MODULES = (
    "argparse", "ast", "base64", "bisect", "calendar", "collections", "configparser",
    "contextlib", "copy", "csv", "dataclasses", "datetime", "decimal", "difflib", "email.message",
    "email.utils", "enum", "fractions", "ftplib", "functools", "gettext", "glob", "gzip", "hashlib",
    "heapq", "hmac", "html.parser", "http.client", "http.cookiejar", "imaplib", "inspect",
    "ipaddress", "json", "logging", "logging.handlers", "mailbox", "mimetypes", "netrc",
    "optparse", "os", "pathlib", "pickle", "pkgutil", "platform", "plistlib", "poplib", "pprint",
    "queue", "random", "shlex", "shutil", "smtplib", "socket", "statistics", "string",
    "subprocess", "tarfile", "tempfile", "textwrap", "threading", "timeit", "tokenize",
    "traceback", "typing", "unittest.case", "urllib.parse", "urllib.request", "uuid", "warnings",
    "weakref", "xml.dom.minidom", "zipfile",
)  # fmt: skip
SENTENCE = re.compile(r"(?<=[.!?])\s")


def docstring_pairs() -> list[tuple[str, str, str]]:
    """(name, question, body) for every usable docstring (see the module docstring)."""
    found: dict[str, tuple[str, str, str]] = {}
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name, obj in _members(module):
            doc = inspect.getdoc(obj) or ""
            summary, _, body = doc.partition("\n\n")
            question = SENTENCE.split(" ".join(summary.split()), maxsplit=1)[0]
            if len(question.split()) >= 5 and len(body.split()) >= 25:
                found.setdefault(f"{module_name}.{name}", (question, body))
    counts: dict[str, int] = {}
    for question, _ in found.values():
        counts[question] = counts.get(question, 0) + 1
    return sorted((n, q, b) for n, (q, b) in found.items() if counts[q] == 1)


def _members(module):
    for name, obj in vars(module).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(obj):
            yield name, obj
        elif inspect.isclass(obj):
            yield name, obj
            for attr, member in vars(obj).items():
                if not attr.startswith("_") and inspect.isfunction(member):
                    yield f"{name}.{attr}", member


def write_corpus(root: Path, n_docs: int | None = None, seed: int = 0) -> Path:
    """Documents under root/docs and questions in root/qa.jsonl; returns the qa file."""
    pairs = docstring_pairs()
    chosen = random.Random(seed).sample(pairs, min(n_docs or len(pairs), len(pairs)))
    (root / "docs").mkdir(parents=True, exist_ok=True)
    qa = []
    for name, question, body in sorted(chosen):
        (root / "docs" / f"{name}.md").write_text(f"# {name}\n\n{body}\n", encoding="utf-8")
        qa.append({"id": name, "question": question, "doc_ids": [name]})
    write_jsonl(root / "qa.jsonl", qa)
    return root / "qa.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=0, help="documents = questions (0: all)")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    from transformers.utils import logging

    logging.disable_progress_bar()
    from lmforge.jsonl import read_jsonl
    from lmforge.rag import Index
    from lmforge.rag.evaluate import evaluate

    with tempfile.TemporaryDirectory() as tmp:
        qa_path = write_corpus(Path(tmp), args.docs)
        start = time.perf_counter()
        index = Index(Path(tmp) / "idx")
        report = index.add(Path(tmp) / "docs", progress=True)
        print(f"corpus: {report.added} docstrings of Python {sys.version.split()[0]}, "
              f"{len(index)} chunks, indexed in {time.perf_counter() - start:.1f} s")  # fmt: skip
        metrics, _ = evaluate(index, read_jsonl(qa_path), k=args.k, progress=True)
    retrieval = metrics["retrieval"]
    base = retrieval["bm25"]
    print(f"{metrics['n']} questions; ratios are against BM25")
    for mode, values in retrieval.items():
        cells = [f"{key} {v:.3f} ({v / base[key]:.2f}x)" if base[key] else f"{key} {v:.3f}"
                 for key, v in values.items()]  # fmt: skip
        print(f"{mode:>7}: " + ", ".join(cells))
    if args.json:
        args.json.write_text(json.dumps(metrics, indent=2) + "\n")


if __name__ == "__main__":
    main()
