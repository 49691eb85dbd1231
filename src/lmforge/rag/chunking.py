"""Cutting documents into chunks of at most N tokens, with overlap, along headings and sentences.

    counter = token_counter(embedder)                 # word pieces of the embedder's tokenizer
    chunks = chunk_text(text, counter, chunk_tokens=256, overlap=32, title="Haltaro")

Tokens are counted with a real tokenizer: the model's, when `--tokenizer DIR` names one, else
the embedder's own word pieces (what it truncates at). Only an embedder without a tokenizer
falls back to `approx`: one token per word or punctuation mark and one per two Hangul
syllables, a rough stand-in for subword counts.

Markdown headings (`#` lines or underlined with === / ---; HTML headings arrive as `#` lines)
start sections. Consecutive small
sections share a chunk while they fit; a section that does not fit the current chunk starts a
new one, and overlap never crosses a heading. Inside a section, chunks are cut between
sentences, and the next chunk repeats the previous one's last sentences up to `overlap` tokens.
A sentence longer than a chunk is cut between words. Sentences end at . ! ? (and their CJK
forms), except after common abbreviations and initials, and — Korean-aware — after a Korean
final ending (-다, -요, -니다, ...) followed by a space or line break even without a period.

Each chunk carries `context`: the headings above where it starts (or the title), which is
prefixed to it for embedding and BM25, so a chunk from a document's middle still names what it
is about. The body holds at most `chunk_tokens`; the context line comes on top.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lmforge.errors import LmforgeError

HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
SETEXT = re.compile(r"^\s*([=-])\1{2,}\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
ENDS = re.compile(
    r"[.!?。！？…]+[\"'”’)\]]*(?=\s)"  # terminal punctuation, closing quotes
    r"|(?:습니다|니다|었다|았다|였다|했다|이다|한다|된다|있다|없다|세요|어요|아요|해요|까요"
    r"|네요|군요|지요|죠)(?=\s)"  # Korean final endings, even without a period
)
ABBREVIATIONS = {"e.g", "i.e", "etc", "vs", "mr", "mrs", "ms", "dr", "prof", "st", "no", "fig",
                 "cf", "al", "inc", "jr", "sr", "approx", "dept", "est", "vol"}  # fmt: skip
HANGUL = re.compile(r"[가-힣]+")


class Counter:
    """Counts tokens of many texts at once: `counter(texts) -> list[int]`; `name` says how."""

    def __init__(self, count: Callable[[list[str]], list[int]], name: str) -> None:
        self.count, self.name = count, name

    def __call__(self, texts: Sequence[str]) -> list[int]:
        return self.count(list(texts)) if texts else []


def _approx(texts: list[str]) -> list[int]:
    out = []
    for text in texts:
        hangul = sum((len(run) + 1) // 2 for run in HANGUL.findall(text))
        other = len(re.findall(r"[^\W가-힣]+|[^\w\s]", text))
        out.append(hangul + other)
    return out


def _from_tokenizer(tokenizer, name: str) -> Counter:
    def count(texts: list[str]) -> list[int]:
        ids = tokenizer(texts, add_special_tokens=False, verbose=False)["input_ids"]
        return [len(row) for row in ids]

    return Counter(count, name)


def token_counter(embedder=None, tokenizer_dir: str | Path | None = None) -> Counter:
    """The model's tokenizer (a directory), else the embedder's word pieces, else `approx`."""
    if tokenizer_dir is not None:
        from transformers import AutoTokenizer

        path = Path(tokenizer_dir)
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(path))
        except (OSError, ValueError) as e:
            raise LmforgeError(
                f"{path} holds no tokenizer ({e}).", "Give a model or tokenizer directory."
            ) from None
        return _from_tokenizer(tokenizer, f"tokenizer:{path.resolve()}")
    tokenizer = getattr(getattr(embedder, "model", None), "tokenizer", None)
    if tokenizer is not None:
        return _from_tokenizer(tokenizer, f"embedder:{embedder.spec}")
    return Counter(_approx, "approx")


@dataclass
class Chunk:
    text: str
    context: str  # headings above the chunk's start, or the title
    n_tokens: int
    page: int | None = None

    @property
    def indexed_text(self) -> str:
        """What is embedded and BM25-indexed: the context line, then the text."""
        return f"{self.context}\n{self.text}" if self.context else self.text


@dataclass
class _Unit:
    text: str
    level: int = 0  # heading level, 0 for a sentence
    new_paragraph: bool = False
    tokens: int = 0


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of one paragraph (see the module docstring for the rules)."""
    out, start = [], 0
    for match in ENDS.finditer(paragraph):
        before = paragraph[start : match.start()].rsplit(None, 1)
        word = before[-1].lower().rstrip(".") if before else ""
        if match.group().startswith(".") and (word in ABBREVIATIONS or re.fullmatch(r"\w", word)):
            continue  # "e.g. the", "J. Smith": not a sentence end
        piece = paragraph[start : match.end()].strip()
        if piece:
            out.append(piece)
        start = match.end()
    rest = paragraph[start:].strip()
    return [*out, rest] if rest else out


def _units(text: str) -> list[_Unit]:
    """Heading lines and sentences, in order; a paragraph's first sentence is marked."""
    units: list[_Unit] = []
    paragraph: list[str] = []
    fenced = False

    def close() -> None:
        for i, sentence in enumerate(split_sentences(" ".join(paragraph))):
            units.append(_Unit(sentence, new_paragraph=i == 0))
        paragraph.clear()

    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        underline = None if fenced else SETEXT.match(line)
        if underline and len(paragraph) == 1:  # "Title\n=====": a heading written setext-style
            line = "#" * (1 if underline.group(1) == "=" else 2) + " " + paragraph.pop()
        elif underline:
            continue  # a horizontal rule
        heading = None if fenced else HEADING.match(line)
        if heading or not line.strip() or LIST_ITEM.match(line):
            close()
        if heading:
            units.append(_Unit(line.strip(), level=len(heading.group(1)), new_paragraph=True))
        elif line.strip():
            paragraph.append(line.strip())
    close()
    return units


def _split_long(unit: _Unit, budget: int, counter: Counter) -> list[_Unit]:
    """A sentence over the budget, cut between words into pieces that fit."""
    words = unit.text.split()
    counts = counter(words)
    pieces: list[_Unit] = []
    current: list[str] = []
    used = 0
    for word, n in zip(words, counts, strict=True):
        if current and used + n > budget:
            pieces.append(_Unit(" ".join(current), tokens=used))
            current, used = [], 0
        current.append(word)
        used += n
    pieces.append(_Unit(" ".join(current), tokens=used))
    pieces[0].new_paragraph = unit.new_paragraph
    return pieces


def chunk_text(
    text: str, counter: Counter, chunk_tokens: int = 256, overlap: int = 32,
    title: str = "", page: int | None = None,
) -> list[Chunk]:  # fmt: skip
    """The chunks of one text (one page of a PDF)."""
    check_sizes(chunk_tokens, overlap)
    units = _units(text)
    for unit, n in zip(units, counter([u.text for u in units]), strict=True):
        unit.tokens = n
    units = [p for u in units for p in (_split_long(u, chunk_tokens, counter)
             if u.tokens > chunk_tokens and not u.level else [u])]  # fmt: skip
    return [_chunk(group, path, title, page) for group, path in _pack(units, chunk_tokens, overlap)]


def _pack(units: list[_Unit], budget: int, overlap: int):
    """Groups of units that fit `budget`, each with the heading path at its start."""
    path: list[tuple[int, str]] = []
    current: list[_Unit] = []
    start_path: list[tuple[int, str]] = []
    for i, unit in enumerate(units):
        used = sum(u.tokens for u in current)
        if unit.level:
            has_body = any(not u.level for u in current)
            if has_body and used + _section_tokens(units, i) > budget:
                yield current, start_path
                current = []
            path = [(lvl, t) for lvl, t in path if lvl < unit.level]
            if not current:
                start_path = list(path)
            path.append((unit.level, HEADING.match(unit.text).group(2)))
        elif current and used + unit.tokens > budget:
            yield current, start_path
            current = _tail(current, overlap, budget - unit.tokens)
            start_path = list(path)
        if not current and not unit.level:
            start_path = list(path)
        current.append(unit)
    if any(not u.level for u in current) or (current and not any(not u.level for u in units)):
        yield current, start_path


def _section_tokens(units: list[_Unit], start: int) -> int:
    end = next((j for j in range(start + 1, len(units)) if units[j].level), len(units))
    return sum(u.tokens for u in units[start:end])


def _tail(units: list[_Unit], overlap: int, room: int) -> list[_Unit]:
    """The last sentences (after the last heading) worth at most `overlap` tokens."""
    tail: list[_Unit] = []
    used = 0
    for unit in reversed(units[1:]):  # never the whole previous chunk again
        if unit.level or used + unit.tokens > min(overlap, room):
            break
        tail.insert(0, unit)
        used += unit.tokens
    return tail


def _chunk(units: list[_Unit], path: list[tuple[int, str]], title: str, page: int | None) -> Chunk:
    parts = []
    for i, unit in enumerate(units):
        parts.append(("\n\n" if unit.new_paragraph else " ") if i else "")
        parts.append(unit.text)
    text = "".join(parts)
    context = " > ".join(t for _, t in path)
    if not context and title and title not in units[0].text:
        context = title
    return Chunk(text, context, sum(u.tokens for u in units), page)


def check_sizes(chunk_tokens: int, overlap: int) -> None:
    if chunk_tokens < 8:
        raise LmforgeError(f"--chunk-tokens {chunk_tokens} is too small.", "Use 8 or more.")
    if not 0 <= overlap <= chunk_tokens // 2:
        raise LmforgeError(
            f"--overlap {overlap} must be between 0 and half of --chunk-tokens ({chunk_tokens}).",
        )
