"""The ingest's physical limit: the raw throughput of the embedding encoder alone on the very
texts the ingest embedded (no loading, chunking, SQLite or Chroma), same model and backend,
same process. Two figures: the chunk texts alone (what a chunk-only pipeline would embed), and
the chunk texts with their sentence units (the work our ingest must do)."""

from __future__ import annotations

import time
from pathlib import Path

from ingest import KnowledgeIndex
from ingest.pipeline import _units_of


def raw_throughput(home: Path, embedder) -> dict:
    chunks = list(KnowledgeIndex(home).all_chunks())
    texts = [c["text"] for c in chunks]
    units = [u["embed"] for c in chunks for u in _units_of(c)]
    embedder.embed(texts[:8])  # loaded and warm: the limit excludes the model load
    started = time.perf_counter()
    embedder.embed(texts)
    chunks_only = time.perf_counter() - started
    started = time.perf_counter()
    embedder.embed(texts + units)
    with_units = time.perf_counter() - started
    n = len(chunks) or 1
    return {
        "chunks": len(chunks),
        "units": len(units),
        "backend": embedder.backend,
        "chunks_only_s": chunks_only,
        "with_units_s": with_units,
        "chunks_per_s_chunks_only": n / chunks_only,
        "chunks_per_s_with_units": n / with_units,
    }
