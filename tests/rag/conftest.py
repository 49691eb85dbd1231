"""RAG fixtures: the tiny lab's rag docs indexed once (MiniLM), and a PDF writer for loaders."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from support import single_thread


@pytest.fixture(scope="session")
def lab_index(tmp_path_factory, tiny_lab) -> Path:
    """An index of tiny_lab/rag/docs (default embedder and chunking), built once; copy to edit."""
    from lmforge.rag import Index

    path = tmp_path_factory.mktemp("rag") / "idx"
    with single_thread():
        Index(path).add(tiny_lab / "rag" / "docs")
    return path


@pytest.fixture
def index_copy(lab_index, tmp_path) -> Path:
    """A private copy of the lab index that a test may change."""
    return Path(shutil.copytree(lab_index, tmp_path / "idx"))


def write_pdf(path: Path, pages: list[str], password: str | None = None, title: str = "") -> Path:
    """A real PDF with one line of Helvetica text per page (pypdf writes it)."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    font = writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica"),
    }))  # fmt: skip
    for text in pages:
        page = writer.add_blank_page(612, 792)
        fonts = DictionaryObject({NameObject("/F1"): font})
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
        stream = DecodedStreamObject()
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream.set_data(f"BT /F1 12 Tf 72 720 Td ({escaped}) Tj ET".encode("latin-1"))
        page[NameObject("/Contents")] = writer._add_object(stream)
    if title:
        writer.add_metadata({"/Title": title})
    if password is not None:
        writer.encrypt(password, owner_password="owner", algorithm="RC4-128")
    with path.open("wb") as f:
        writer.write(f)
    return path


@pytest.fixture
def make_pdf():
    return write_pdf
