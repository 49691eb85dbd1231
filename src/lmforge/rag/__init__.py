"""Retrieval-augmented generation over your own documents (see docs/rag.md).

    from lmforge.rag import Index
    index = Index("idx")                 # LanceDB on disk; embedder all-MiniLM-L6-v2 by default
    index.add("my_docs/")                # .txt .md .html .pdf .jsonl, recursively; incremental
    index.search("question", k=5)        # hybrid dense + BM25 by default; list[Passage]
    index.ask("question", model="openai/gpt-x")  # answer citing [1], [2], ... or a refusal

CLI: `lmforge rag index|ask|search|eval|delete`. Modules: loaders (reading files), chunking
(token-bounded chunks), store (LanceDB tables), bm25, search (dense/BM25/hybrid/rerank/filters),
answer (prompt, citations, refusal), evaluate (retrieval and answer metrics), index (`Index`).
"""

from lmforge.rag.answer import Answer
from lmforge.rag.index import Index
from lmforge.rag.ingest import IndexReport
from lmforge.rag.loaders import SourceDoc

__all__ = ["Answer", "Index", "IndexReport", "SourceDoc"]
