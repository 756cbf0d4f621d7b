"""Our pipeline: ingest.sync into a fresh ADVISOR_HOME, hybrid retrieval, extractive answers."""

from __future__ import annotations

import time
from pathlib import Path

from bot.core import NON_DOCUMENTS, AdvisorService
from bot.settings import Settings
from ingest import KnowledgeIndex, SyncOptions, sync
from ingest.chunking import chunk_id
from ingest.embeddings import Embedder

from .corpus import Bundle
from .grow import CopyPlan, jittered
from .machine import load_average
from .quality import score
from .stats import Stopwatch

# The benchmark measures the defaults (packaged model and its default backend, embedded
# Chroma, extractive answers): bench.run drops ADVISOR_*/SLACK_* from its environment and
# settings never read a .env; the answer backend is pinned because the latencies are for it.
PINNED = {"ADVISOR_LLM": "extractive", "ADVISOR_LLM_LOCAL": ""}


def settings_for(home: Path, knowledge: Path) -> Settings:
    return Settings(_env_file=None, ADVISOR_HOME=str(home), ADVISOR_KNOWLEDGE_DIR=str(knowledge), **PINNED)


def ingest(bundle: Bundle, home: Path) -> dict:
    """Full ingest into a fresh home with a fresh Embedder (the model load is part of the time)."""
    embedder = Embedder()
    clock = Stopwatch()
    # Instance attributes shadow the methods: the ingest calls embed(), which calls _load().
    embedder._load = clock.wrap("model_load_s", embedder._load)
    embedder.embed = clock.wrap("embed_s", embedder.embed)
    started = time.perf_counter()
    report = sync(
        bundle.knowledge, home, SyncOptions(paths=bundle.ingest_roots, exclude=NON_DOCUMENTS), embedder=embedder
    )
    seconds = time.perf_counter() - started
    del embedder._load, embedder.embed
    index = KnowledgeIndex(home)
    docs, chunks = index.counts()
    chars = index.db.execute("select coalesce(sum(length(text)), 0) from chunks").fetchone()[0]
    return {
        "seconds": seconds,
        "documents": docs,
        "chunks": chunks,
        "failed": report.failed,
        "docs_per_s": docs / seconds,
        "chunks_per_s": chunks / seconds,
        "avg_chunk_chars": chars / chunks if chunks else 0.0,
        "embedder": embedder,
        "model_load_s": clock["model_load_s"],
        "embed_s": clock["embed_s"] - clock["model_load_s"],
        "load_after": load_average(),
    }


def quality(service: AdvisorService, questions, mode: str = "hybrid") -> dict:
    return score(questions, lambda q: [h.chunk["text"] for h in service.retrieve(q, 5, mode).hits])


def reingest(bundle: Bundle, home: Path, roots: list[Path], embedder: Embedder | None = None) -> dict:
    """One incremental sync of ``roots``; a fresh Embedder unless one is given."""
    embedder = embedder or Embedder()
    started = time.perf_counter()
    report = sync(bundle.knowledge, home, SyncOptions(paths=roots, exclude=NON_DOCUMENTS), embedder=embedder)
    return {
        "seconds": time.perf_counter() - started,
        "unchanged": len(report.unchanged),
        "updated": len(report.updated),
        "added": len(report.added),
        "chunks": report.chunks,
        "model_loaded": embedder.loaded or report.model_loaded,
        "failed": report.failed,
    }


class OursGrower:
    """Grows a second index to a target chunk count by duplicating the ingested documents
    under ``prefixN/`` with their vectors (grown by duplicating vectors, not re-embedding:
    the copies' texts are identical to the ingested ones, so embedding them again would only
    cost time). Rows go in through KnowledgeIndex.add_vectors + commit_document, exactly as
    the ingest writes them, so the FTS index and the manifest are the real thing."""

    def __init__(self, source: KnowledgeIndex, bundle: Bundle, home: Path):
        docs = source.documents()
        by_source: dict[str, list[dict]] = {}
        for row in source.all_chunks():
            by_source.setdefault(row["source"], []).append(row)
        vectors = source.get_vectors([c["id"] for rows in by_source.values() for c in rows])
        order = {str(p): n for n, p in enumerate(bundle.files)}
        units = sorted(docs.values(), key=lambda d: order.get(d["path"], len(order)))
        self.units = [
            (d, by_source.get(d["source"], []), [vectors[c["id"]] for c in by_source.get(d["source"], [])])
            for d in units
            if by_source.get(d["source"])
        ]
        # The sentence vectors of every chunk, duplicated alongside their chunks.
        ids = [c["id"] for rows in by_source.values() for c in rows]
        self.sentences: dict[str, list[tuple[str, list[float]]]] = {}
        for start in range(0, len(ids), 500):
            self.sentences.update(source.units_of(ids[start : start + 500]))
        self.bundle = bundle
        self.index = KnowledgeIndex(home)
        self.plan = CopyPlan([len(chunks) for _, chunks, _ in self.units])

    @property
    def chunks(self) -> int:
        return self.plan.total

    def grow_to(self, target: int) -> None:
        batch: list[tuple[dict, list[dict], list[list[float]]]] = []
        for copy, unit in self.plan.take_until(target):
            doc, chunks, vectors = self.units[unit]
            source = f"prefix{copy}/{self.bundle.relative(doc['path'])}"
            new_chunks = [{**c, "id": chunk_id(source, c["content_hash"], c["idx"]), "source": source} for c in chunks]
            new_doc = {**doc, "source": source, "path": str(self.bundle.root / "grown" / source)}
            batch.append((new_doc, new_chunks, jittered(vectors, copy, unit)))
            sentences = [
                (new["id"], n, text, vec)
                for old, new in zip(chunks, new_chunks)
                for n, (text, vec) in enumerate(self.sentences.get(old["id"], []))
            ]
            moved = jittered([v for *_, v in sentences], copy, unit + 1_000_000)
            self.index.add_unit_vectors(
                [{"id": f"{cid}:u{n}", "chunk": cid, "text": text} for cid, n, text, _ in sentences], moved
            )
            if sum(len(b[1]) for b in batch) >= 2000:
                self._write(batch)
                batch = []
        self._write(batch)

    def _write(self, batch) -> None:
        if not batch:
            return
        # Vectors first, then each document's rows in one transaction (the ingest's order).
        self.index.add_vectors([c for _, cs, _ in batch for c in cs], [v for _, _, vs in batch for v in vs])
        for doc, chunks, _ in batch:
            self.index.commit_document(doc, chunks)
