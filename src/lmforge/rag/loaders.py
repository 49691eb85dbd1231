"""Reading documents for RAG: .txt, .md, .html, .pdf and .jsonl files, directories recursively.

    for item in iter_files(Path("my_docs")):       # SourceFile per file, Skipped per bad entry
        docs = load_file(item)                      # list[SourceDoc | Skipped]

A document keeps where it came from: its id (the path relative to the docs root, plus
`#<id>` for a JSONL record), path, title and, for PDFs, one part per page. Nothing a user
gave is lost silently: an unsupported, binary, oversized, unreadable, encrypted or empty file
becomes a `Skipped` entry with the reason, and the run goes on. Hidden files and directories
(names starting with ".") are ignored, as version-control and editor files are not documents.

HTML is read with the standard library's parser (headings become markdown `#` lines, so the
chunker can respect them); PDFs with pypdf.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from lmforge.errors import LmforgeError

SUFFIXES = {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".html": "html",
            ".htm": "html", ".pdf": "pdf", ".jsonl": "jsonl"}  # fmt: skip
MAX_FILE_MB = 50.0
Part = tuple[int | None, str]  # (page number or None, text)


@dataclass
class SourceDoc:
    """One document to index: id, text parts (one per PDF page), title, path and metadata."""

    id: str
    parts: list[Part]
    title: str = ""
    path: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    sha256: str = ""  # content hash; computed from the parts when not given

    def __post_init__(self) -> None:
        if not self.sha256:
            payload = json.dumps([self.title, self.parts, self.meta], ensure_ascii=False)
            self.sha256 = hashlib.sha256(payload.encode()).hexdigest()

    @classmethod
    def from_text(cls, id: str, text: str, title: str = "", **meta: Any) -> SourceDoc:
        return cls(id, [(None, text)], title or id, meta.pop("path", ""), meta)


@dataclass
class Skipped:
    """A file (or JSONL line) that was not indexed, and why."""

    path: str
    reason: str


@dataclass
class SourceFile:
    path: Path
    doc_id: str  # the path relative to the docs root, with "/" separators
    size: int

    def sha256(self) -> str:
        h = hashlib.sha256()
        with self.path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()


class _Skip(Exception):
    """Internal: why one file cannot be read."""


def iter_files(
    root: Path, max_mb: float = MAX_FILE_MB, exclude: Path | None = None
) -> list[SourceFile | Skipped]:
    """The files under `root` (or `root` itself), sorted; unusable ones as `Skipped`.

    `exclude` is a folder not to enter: the index itself, when it lives inside --docs.
    """
    root = Path(root)
    if not root.exists():
        raise LmforgeError(f"{root} does not exist.", "Check the --docs path.")
    if root.is_file():
        return [_check(root, root.name, max_mb)]
    out: list[SourceFile | Skipped] = []
    for folder, dirs, names in os.walk(root):
        skip = exclude.resolve() if exclude is not None else None
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and (Path(folder) / d).resolve() != skip)  # fmt: skip
        for name in sorted(n for n in names if not n.startswith(".")):
            path = Path(folder) / name
            out.append(_check(path, path.relative_to(root).as_posix(), max_mb))
    if not out:
        raise LmforgeError(f"{root} holds no files.", "Point --docs at a folder of documents.")
    return out


def _check(path: Path, doc_id: str, max_mb: float) -> SourceFile | Skipped:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        known = " ".join(sorted(SUFFIXES))
        return Skipped(str(path), f"unsupported file type {suffix or '(none)'} (reads {known})")
    try:
        size = path.stat().st_size
    except OSError as e:
        return Skipped(str(path), f"cannot read it ({e.strerror})")
    if size > max_mb * 1e6:
        return Skipped(
            str(path),
            f"the file is {size / 1e6:.1f} MB, over the {max_mb:g} MB limit "
            "(raise --max-file-mb, or split it)",
        )
    if size == 0:
        return Skipped(str(path), "the file is empty")
    return SourceFile(path, doc_id, size)


def load_file(source: SourceFile, sha256: str = "") -> list[SourceDoc | Skipped]:
    """The documents of one file; any problem reading it becomes a `Skipped` entry."""
    kind = SUFFIXES[source.path.suffix.lower()]
    try:
        if kind == "jsonl":
            return _jsonl(source)
        parts, title = _PARSERS[kind](source.path)
    except _Skip as e:
        return [Skipped(str(source.path), str(e))]
    except OSError as e:
        return [Skipped(str(source.path), f"cannot read it ({e.strerror or e})")]
    except Exception as e:  # a malformed file can raise anything inside a parser library
        return [Skipped(str(source.path), f"unreadable {kind} file ({type(e).__name__}: {e})")]
    parts = [(page, text) for page, text in parts if text.strip()]
    if not parts:
        empty = "no extractable text (a scanned PDF needs OCR first)" if kind == "pdf" else ""
        return [Skipped(str(source.path), empty or "the document has no text")]
    title = title or source.path.stem
    return [SourceDoc(source.doc_id, parts, title, str(source.path), {}, sha256)]


def read_text(path: Path) -> str:
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        raise _Skip("binary file (it contains NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise _Skip(f"not UTF-8 text (invalid byte at offset {e.start}); re-encode it") from None


def _plain(path: Path) -> tuple[list[Part], str]:
    text = read_text(path)
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return [(None, text)], first if len(first) <= 80 else ""


FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.S)
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.M)


def _markdown(path: Path) -> tuple[list[Part], str]:
    text = read_text(path)
    title = ""
    front = FRONT_MATTER.match(text)
    if front:  # YAML front matter: keep its title, drop the block from the text
        text = text[front.end() :]
        found = re.search(r"^title:\s*['\"]?(.+?)['\"]?\s*$", front.group(1), re.M)
        title = found.group(1) if found else ""
    heading = HEADING.search(text)
    return [(None, text)], title or (heading.group(2) if heading else "")


class _HtmlText(HTMLParser):
    """Visible text of an HTML page; headings as markdown lines, blocks as paragraphs."""

    BLOCKS = frozenset(("p", "div", "li", "br", "tr", "section", "article", "pre", "blockquote",
                        "table"))  # fmt: skip
    HIDDEN = frozenset(("script", "style", "noscript", "template", "svg"))

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.title = ""
        self._hidden = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in self.HIDDEN:
            self._hidden += 1
        elif tag == "title":
            self._in_title = True
        elif re.fullmatch(r"h[1-6]", tag):
            self.out.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag in self.BLOCKS:
            self.out.append("\n\n" if tag != "br" else "\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag == "title":
            self._in_title = False
        elif re.fullmatch(r"h[1-6]", tag) or tag in self.BLOCKS:
            self.out.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._hidden:
            self.out.append(re.sub(r"\s+", " ", data))

    def text(self) -> str:
        joined = "".join(self.out)
        lines = (line.strip() for line in joined.split("\n"))
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _html(path: Path) -> tuple[list[Part], str]:
    parser = _HtmlText()
    parser.feed(read_text(path))
    parser.close()
    text = parser.text()
    heading = HEADING.search(text)
    return [(None, text)], parser.title.strip() or (heading.group(2) if heading else "")


def _pdf(path: Path) -> tuple[list[Part], str]:
    with _quiet("pypdf"):  # pypdf logs each repair it attempts; the skip reason says enough
        return _read_pdf(path)


@contextmanager
def _quiet(logger_name: str):
    logger = logging.getLogger(logger_name)
    before = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(before)


def _read_pdf(path: Path) -> tuple[list[Part], str]:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not _opens_without_password(reader):
            raise _Skip("encrypted PDF that needs a password; decrypt it first")
        parts: list[Part] = [
            (i + 1, page.extract_text() or "") for i, page in enumerate(reader.pages)
        ]
        title = str(reader.metadata.title or "") if reader.metadata else ""
    except DependencyError as e:
        raise _Skip(f"the PDF needs an extra package to read ({e})") from None
    except PdfReadError as e:
        raise _Skip(f"not a readable PDF ({e})") from None
    return parts, title.strip()


def _opens_without_password(reader) -> bool:
    # many PDFs are "encrypted" with an empty user password only, to set permissions
    try:
        return bool(reader.decrypt(""))
    except Exception:
        return False


_PARSERS = {"text": _plain, "markdown": _markdown, "html": _html, "pdf": _pdf}


def _jsonl(source: SourceFile) -> list[SourceDoc | Skipped]:
    """One document per line: {"text", "id"?, "title"?, "meta"?, ...other fields as metadata}."""
    out: list[SourceDoc | Skipped] = []
    seen: set[str] = set()
    for line_no, line in enumerate(read_text(source.path).splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{source.path}:{line_no}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            out.append(Skipped(where, f"not JSON ({e.msg})"))
            continue
        text = record.get("text") if isinstance(record, dict) else None
        if not isinstance(text, str) or not text.strip():
            out.append(Skipped(where, 'no non-empty string "text" field'))
            continue
        meta = record.get("meta") if isinstance(record.get("meta"), dict) else {}
        meta |= {k: v for k, v in record.items() if k not in ("id", "text", "title", "meta")}
        key = str(record.get("id", line_no))
        if key in seen:
            out.append(Skipped(where, f"duplicate id {key!r} in this file"))
            continue
        seen.add(key)
        title = str(record.get("title") or key)
        out.append(SourceDoc(f"{source.doc_id}#{key}", [(None, text)], title, where, meta))
    if not out:
        out.append(Skipped(str(source.path), "no records"))
    return out
