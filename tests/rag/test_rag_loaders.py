"""Loaders: every supported type with its metadata; every bad file skipped with its reason."""

from __future__ import annotations

import json

from lmforge.rag.loaders import Skipped, SourceDoc, SourceFile, iter_files, load_file


def load_dir(root, max_mb: float = 50.0) -> tuple[dict[str, SourceDoc], dict[str, str]]:
    docs, skipped = {}, {}
    for item in iter_files(root, max_mb):
        found = [item] if isinstance(item, Skipped) else load_file(item, "")
        for doc in found:
            if isinstance(doc, Skipped):
                skipped[doc.path.removeprefix(str(root) + "/")] = doc.reason
            else:
                docs[doc.id] = doc
    return docs, skipped


def test_every_type_is_read_with_its_metadata(tmp_path, make_pdf):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes/a.md").write_text("---\ntitle: Front Title\n---\n# Heading\n\nBody.\n")
    (tmp_path / "b.txt").write_text("First line title\n\nSome text here.\n")
    (tmp_path / "c.html").write_text(
        "<html><head><title>Page</title><style>p{}</style></head><body><h2>Part</h2>"
        "<p>One &amp; two.</p><script>alert(1)</script></body></html>"
    )
    (tmp_path / "d.jsonl").write_text(
        json.dumps({"id": "r1", "text": "Record one.", "title": "R", "lang": "en"}) + "\n\n"
        + json.dumps({"text": "Record two.", "meta": {"src": "x"}}) + "\n"
    )  # fmt: skip
    make_pdf(tmp_path / "e.pdf", ["Page one text.", "Page two text."], title="The PDF")
    docs, skipped = load_dir(tmp_path)
    assert skipped == {}
    assert sorted(docs) == ["b.txt", "c.html", "d.jsonl#3", "d.jsonl#r1", "e.pdf", "notes/a.md"]
    md = docs["notes/a.md"]
    assert md.title == "Front Title" and md.parts == [(None, "# Heading\n\nBody.\n")]
    assert docs["b.txt"].title == "First line title"
    html = docs["c.html"]
    assert html.title == "Page" and html.parts[0][1] == "## Part\n\nOne & two."
    assert docs["d.jsonl#r1"].title == "R" and docs["d.jsonl#r1"].meta == {"lang": "en"}
    assert docs["d.jsonl#3"].meta == {"src": "x"} and docs["d.jsonl#3"].path.endswith("d.jsonl:3")
    pdf = docs["e.pdf"]
    assert pdf.title == "The PDF" and pdf.parts == [(1, "Page one text."), (2, "Page two text.")]


def test_bad_files_are_skipped_with_a_reason_and_the_rest_is_read(tmp_path, make_pdf):
    (tmp_path / "good.md").write_text("# Good\n\nFine text.\n")
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "blank.md").write_text("\n   \n")
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n")
    (tmp_path / "binary.txt").write_bytes(b"abc\x00\x01\x02")
    (tmp_path / "latin1.txt").write_bytes("café".encode("latin-1"))
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    make_pdf(tmp_path / "locked.pdf", ["Secret."], password="pw")
    make_pdf(tmp_path / "scan.pdf", [""])
    with (tmp_path / "huge.txt").open("wb") as f:  # 100 MB, sparse: nothing is written
        f.truncate(100_000_000)
    (tmp_path / "rows.jsonl").write_text('{"text": "ok"}\nnot json\n{"text": ""}\n{"id": 1}\n')
    (tmp_path / ".hidden.md").write_text("ignored")
    docs, skipped = load_dir(tmp_path)
    assert sorted(docs) == ["good.md", "rows.jsonl#1"]
    assert skipped["empty.txt"] == "the file is empty"
    assert skipped["blank.md"] == "the document has no text"
    assert skipped["image.png"].startswith("unsupported file type .png")
    assert "binary file" in skipped["binary.txt"]
    assert "not UTF-8" in skipped["latin1.txt"]
    assert skipped["broken.pdf"].startswith("not a readable PDF")
    assert "encrypted PDF" in skipped["locked.pdf"]
    assert "no extractable text" in skipped["scan.pdf"]
    assert skipped["huge.txt"].startswith("the file is 100.0 MB, over the 50 MB limit")
    assert skipped["rows.jsonl:2"].startswith("not JSON")
    assert skipped["rows.jsonl:3"] == skipped["rows.jsonl:4"] == 'no non-empty string "text" field'
    assert len(skipped) == 12


def test_pdf_with_only_an_owner_password_opens(tmp_path, make_pdf):
    path = make_pdf(tmp_path / "perm.pdf", ["Readable text."], password="")
    [doc] = load_file(SourceFile(path, "perm.pdf", path.stat().st_size))
    assert doc.parts == [(1, "Readable text.")]


def test_ids_are_relative_paths_and_a_single_file_is_its_name(tmp_path):
    (tmp_path / "x/y").mkdir(parents=True)
    (tmp_path / "x/y/z.md").write_text("# Z\n\nText.\n")
    [item] = iter_files(tmp_path)
    assert item.doc_id == "x/y/z.md"
    [item] = iter_files(tmp_path / "x/y/z.md")
    assert item.doc_id == "z.md"


def test_content_hash_follows_the_text():
    a = SourceDoc.from_text("a", "Same text.")
    assert a.sha256 == SourceDoc.from_text("a", "Same text.").sha256
    assert a.sha256 != SourceDoc.from_text("a", "Other text.").sha256
