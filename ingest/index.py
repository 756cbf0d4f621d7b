"""The knowledge index: Chroma for vectors, SQLite for everything that must be consistent.

SQLite (``index.db``) is the source of truth: the manifest of documents, the chunk rows with
their text (under an FTS5 index for keyword search) and the ingest history. Chroma holds one
vector per chunk id. A document version becomes visible when its SQLite transaction commits;
vectors are written before that commit and old ones deleted after it, so a search that keeps
only ids present in SQLite sees one version of each document, never a mix, and a crash at any
point leaves nothing but unreferenced vectors that the next run sweeps away.
"""

from __future__ import annotations

import json
import re
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Sequence
from urllib.parse import urlparse

import sqlite_utils

from .sqlite import connect, write_transaction

COLLECTION = "advisor_chunks"
# One vector per sentence, bullet or table row of a chunk (metadata ``chunk`` names its chunk).
UNITS = "advisor_units"
# A chunk's sentence units are "<chunk id>:u0" … up to this many (the ingest keeps the first ones).
MAX_UNITS_PER_CHUNK = 40
_CHROMA_BATCH = 2000

_STOPWORDS = frozenset(
    "a an and are as at be by can do does for from how i if in is it me my of on or our should "
    "the their there this to us we what when where which who why will with you your".split()
)


# Keyword search walks at most this many postings (chunk entries of its query's terms, rarest
# first): chosen on the eval's dev split, see keyword_search.
KEYWORD_BUDGET = 5000
FREQUENCY_CACHE = 50_000  # remembered document frequencies (words and stems)


def utcnow() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class IndexError_(RuntimeError):
    """The index cannot be opened or reached (a run-level failure)."""


class KnowledgeIndex:
    def __init__(self, home: Path | str, chroma_url: str | None = None):
        self.home = Path(home)
        self.chroma_url = chroma_url or None
        self.db_path = self.home / "index.db"
        self._local = threading.local()
        self._client = None
        self._collection = None
        self._units = None
        self._client_lock = threading.Lock()
        self._vectors_generation: int | None = None  # the runs the embedded client has seen
        self._frequencies: dict[str, int] = {}  # document frequencies, valid for one chunks_state
        self._frequency_state: tuple | None = None
        self._frequency_lock = threading.Lock()
        self.home.mkdir(parents=True, exist_ok=True)
        self._ensure_schema()

    # --- SQLite ----------------------------------------------------------------------------

    @property
    def db(self) -> sqlite_utils.Database:
        """One connection per thread: a reader must never share a writer's open transaction."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = connect(self.db_path)
        return db

    def _ensure_schema(self) -> None:
        db = self.db
        if "documents" not in db.table_names():
            db["documents"].create(
                {
                    "source": str,
                    "path": str,
                    "content_hash": str,
                    "size": int,
                    "title": str,
                    "classification": str,
                    "version": str,
                    "owner": str,
                    "effective": str,
                    "chunk_count": int,
                    "ingested_at": str,
                },
                pk="source",
            )
        if "chunks" not in db.table_names():
            db["chunks"].create(
                {
                    "id": str,
                    "source": str,
                    "content_hash": str,
                    "idx": int,
                    "title": str,
                    "section": str,
                    "text": str,
                    "classification": str,
                    "version": str,
                    "audience": str,
                },
                pk="id",
            )
            db["chunks"].create_index(["source"])
            db["chunks"].enable_fts(["title", "section", "text"], create_triggers=True, tokenize="porter")
        if "audience" not in db["chunks"].columns_dict:  # an index from before audiences
            db["chunks"].add_column("audience", str)
        if "runs" not in db.table_names():
            db["runs"].create(
                {
                    "id": int,
                    "started_at": str,
                    "finished_at": str,
                    "status": str,
                    "full": int,
                    "paths": str,
                    "added": int,
                    "updated": int,
                    "unchanged": int,
                    "removed": int,
                    "failed": int,
                    "chunks": int,
                    "errors": str,
                    "seconds": float,
                },
                pk="id",
            )
        if "meta" not in db.table_names():
            db["meta"].create({"key": str, "value": str}, pk="key")

    @contextmanager
    def snapshot(self):
        """One read transaction: every query inside sees the same committed state."""
        conn = self.db.conn
        if conn.in_transaction:
            yield
            return
        conn.execute("BEGIN")
        try:
            yield
        finally:
            conn.commit()

    def get_meta(self, key: str) -> str | None:
        rows = list(self.db.query("select value from meta where key = ?", [key]))
        return rows[0]["value"] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self.db["meta"].upsert({"key": key, "value": value}, pk="key")

    def documents(self) -> dict[str, dict]:
        return {row["source"]: row for row in self.db["documents"].rows}

    def document(self, source: str) -> dict | None:
        rows = list(self.db.query("select * from documents where source = ?", [source]))
        return rows[0] if rows else None

    def chunk_ids_for(self, source: str) -> list[str]:
        return [r["id"] for r in self.db.query("select id from chunks where source = ?", [source])]

    def chunks_by_id(self, ids: Sequence[str]) -> dict[str, dict]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        return {r["id"]: r for r in self.db.query(f"select * from chunks where id in ({marks})", list(ids))}

    def chunks_for_section(self, source: str, section_prefix: str) -> list[dict]:
        return list(
            self.db.query(
                "select * from chunks where source = ? and (section = ? or section like ?) order by idx",
                [source, section_prefix, section_prefix + " > %"],
            )
        )

    def commit_document(self, doc: dict, chunks: list[dict]) -> list[str]:
        """Atomically make ``chunks`` the current version of ``doc``; return superseded ids."""
        db = self.db
        with write_transaction(db):
            old = [r["id"] for r in db.query("select id from chunks where source = ?", [doc["source"]])]
            db.execute("delete from chunks where source = ?", [doc["source"]])
            if chunks:
                db["chunks"].insert_all(chunks, pk="id")
            db["documents"].upsert(doc, pk="source", alter=True)
        new_ids = {c["id"] for c in chunks}
        return [i for i in old if i not in new_ids]

    def remove_document(self, source: str) -> list[str]:
        db = self.db
        with write_transaction(db):
            old = [r["id"] for r in db.query("select id from chunks where source = ?", [source])]
            db.execute("delete from chunks where source = ?", [source])
            db.execute("delete from documents where source = ?", [source])
        return old

    def clear(self) -> None:
        db = self.db
        with write_transaction(db):
            db.execute("delete from chunks")
            db.execute("delete from documents")
        self.reset_vectors()

    def counts(self) -> tuple[int, int]:
        docs = self.db.execute("select count(*) from documents").fetchone()[0]
        chunks = self.db.execute("select count(*) from chunks").fetchone()[0]
        return docs, chunks

    def all_chunks(self) -> Iterable[dict]:
        return self.db.query("select * from chunks order by source, idx")

    # --- runs ------------------------------------------------------------------------------

    def start_run(self, full: bool, paths: Sequence[str]) -> tuple[int, bool]:
        """Record a run; return its id and whether an earlier run never finished (a crash)."""
        db = self.db
        with write_transaction(db):
            crashed = db.execute("select count(*) from runs where status = 'running'").fetchone()[0]
            db.execute("update runs set status = 'crashed' where status = 'running'")
            cur = db.execute(
                "insert into runs (started_at, status, full, paths) values (?, 'running', ?, ?)",
                [utcnow(), int(full), json.dumps(list(paths))],
            )
        return cur.lastrowid, bool(crashed)

    def finish_run(self, run_id: int, status: str, report: dict) -> None:
        db = self.db
        with write_transaction(db):
            db["runs"].update(
                run_id,
                {
                    "finished_at": utcnow(),
                    "status": status,
                    "added": report.get("added", 0),
                    "updated": report.get("updated", 0),
                    "unchanged": report.get("unchanged", 0),
                    "removed": report.get("removed", 0),
                    "failed": len(report.get("failed", [])),
                    "chunks": report.get("chunks", 0),
                    "errors": json.dumps(report.get("failed", [])),
                    "seconds": report.get("seconds", 0.0),
                },
            )
        if self._client is not None and not self.chroma_url:
            self._vectors_generation = self.generation()  # this run's vectors went through this reader

    def runs(self, limit: int = 10) -> list[dict]:
        return list(self.db.query("select * from runs order by id desc limit ?", [limit]))

    def last_run(self) -> dict | None:
        rows = self.runs(1)
        return rows[0] if rows else None

    def generation(self) -> int:
        """Changes whenever a run finishes: lets readers refresh derived state cheaply."""
        row = self.db.execute("select max(id), count(*) from runs where finished_at is not null").fetchone()
        return int(row[0] or 0)

    # --- keyword search --------------------------------------------------------------------

    def keyword_search(self, query: str, k: int, budget: int | None = None) -> list[tuple[dict, float]]:
        """The ``k`` best chunks by BM25 for the query's words (any of them).

        FTS5 has no top-k pruning: ranking walks the posting list of every query term, so a
        common word costs in proportion to the index. The terms are taken rarest first while
        their postings fit in ``budget`` (KEYWORD_BUDGET): the words that decide BM25 are the
        rare ones, and each term's count is itself capped, so the cost is bounded whatever
        the size of the index. A query whose every word is that common finds nothing here
        (dense search still answers it)."""
        terms = list(dict.fromkeys(t for t in re.findall(r"\w+", query.lower()) if t not in _STOPWORDS and len(t) > 1))
        if not terms:
            return []
        budget = KEYWORD_BUDGET if budget is None else budget
        if budget > 0:
            frequency = {t: self.capped_frequency(t, budget + 1) for t in terms}
            kept, spent = [], 0
            for term in sorted(terms, key=lambda t: frequency[t]):
                if spent + frequency[term] > budget:
                    break
                kept.append(term)
                spent += frequency[term]
            terms = [t for t in terms if t in kept]
            if not terms:
                return []
        match = " OR ".join(f'"{t}"' for t in terms)
        # Rank inside FTS5 first, join the few winners after: joining every match is slower.
        rows = self.db.query(
            "select chunks.*, f.rank from (select rowid, bm25(chunks_fts, 2.0, 2.0, 1.0) as rank "
            "from chunks_fts where chunks_fts match ? order by rank limit ?) f "
            "join chunks on chunks.rowid = f.rowid order by f.rank",
            [match, k],
        )
        return [(row, -row.pop("rank")) for row in rows]

    def capped_frequency(self, term: str, cap: int) -> int:
        """How many chunks contain ``term`` (a word, as the index stems it), counting no
        further than ``cap``: FTS5 reads a single term's postings lazily, so this costs at
        most ``cap`` steps."""
        words = re.findall(r"\w+", term.lower())
        if not words:
            return 0
        phrase = '"' + " ".join(words) + '"'
        return self.db.execute(
            "select count(*) from (select rowid from chunks_fts where chunks_fts match ? limit ?)", [phrase, cap]
        ).fetchone()[0]

    def document_frequency(self, term: str, prefix: bool = False) -> int:
        """How many chunks contain ``term`` (as a word, case-insensitive; with ``prefix``, any
        word that begins with it). Remembered until the chunks change: a prefix query merges
        the posting lists of every word it matches, a cost that grows with the index, and
        questions reuse a small vocabulary."""
        words = re.findall(r"\w+", term.lower())
        if not words:
            return 0
        phrase = '"' + " ".join(words) + '"' + ("*" if prefix else "")
        state = self.chunks_state()
        with self._frequency_lock:
            if self._frequency_state != state:
                self._frequencies.clear()
                self._frequency_state = state
            known = self._frequencies.get(phrase) if FREQUENCY_CACHE > 0 else None
        if known is not None:
            return known
        count = self.db.execute("select count(*) from chunks_fts where chunks_fts match ?", [phrase]).fetchone()[0]
        with self._frequency_lock:
            if self._frequency_state == state and FREQUENCY_CACHE > 0:
                while len(self._frequencies) >= FREQUENCY_CACHE:
                    self._frequencies.pop(next(iter(self._frequencies)))
                self._frequencies[phrase] = count
        return count

    def chunk_count(self) -> int:
        """counts()'s chunks, remembered with the document frequencies (a count(*) reads the
        whole table)."""
        state = self.chunks_state()
        with self._frequency_lock:
            if self._frequency_state == state and FREQUENCY_CACHE > 0 and "" in self._frequencies:
                return self._frequencies[""]
        count = self.db.execute("select count(*) from chunks").fetchone()[0]
        with self._frequency_lock:
            if self._frequency_state != state:
                self._frequencies.clear()
                self._frequency_state = state
            if FREQUENCY_CACHE > 0:
                self._frequencies[""] = count
        return count

    def chunks_state(self) -> tuple[int, int]:
        """Changes whenever chunks are added or removed (cheap: two index lookups)."""
        rowid = self.db.execute("select max(rowid) from chunks").fetchone()[0]
        return int(rowid or 0), self.generation()

    # --- Chroma ----------------------------------------------------------------------------

    def _open_client(self):
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False, allow_reset=True)
        if self.chroma_url:
            url = urlparse(self.chroma_url)
            if not url.hostname:
                raise IndexError_(f"ADVISOR_CHROMA_URL '{self.chroma_url}' is not a URL like http://host:8000")
            ssl = url.scheme == "https"
            try:
                return chromadb.HttpClient(
                    host=url.hostname, port=url.port or (443 if ssl else 8000), ssl=ssl, settings=settings
                )
            except (ValueError, OSError) as exc:  # chromadb says "Could not connect…" as a ValueError
                raise IndexError_(f"cannot reach the Chroma server at {self.chroma_url}: {exc}") from exc
        return chromadb.PersistentClient(path=str(self.home / "chroma"), settings=settings)

    def _open(self, name: str):
        if self._client is None:
            if not self.chroma_url:
                self._vectors_generation = self.generation()
            self._client = self._open_client()
        from chromadb.errors import ChromaError

        try:
            return self._client.get_or_create_collection(
                name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None
            )
        except (ChromaError, ValueError, OSError) as exc:
            raise IndexError_(f"cannot open the Chroma collection: {exc}") from exc

    @property
    def collection(self):
        self._follow_other_writers()
        if self._collection is None:
            with self._client_lock:
                if self._collection is None:
                    self._collection = self._open(COLLECTION)
        return self._collection

    @property
    def units(self):
        self._follow_other_writers()
        if self._units is None:
            with self._client_lock:
                if self._units is None:
                    self._units = self._open(UNITS)
        return self._units

    @property
    def store_location(self) -> str:
        return self.chroma_url or str(self.home / "chroma")

    def add_vectors(self, chunks: list[dict], embeddings: list[list[float]]) -> None:
        for start in range(0, len(chunks), _CHROMA_BATCH):
            part = chunks[start : start + _CHROMA_BATCH]
            self.collection.upsert(
                ids=[c["id"] for c in part],
                embeddings=embeddings[start : start + _CHROMA_BATCH],
                documents=[c["text"] for c in part],
                metadatas=[
                    {
                        "source": c["source"],
                        "title": c["title"],
                        "section": c["section"] or "",
                        "classification": c["classification"],
                        "version": c["version"] or "",
                        "content_hash": c["content_hash"],
                    }
                    for c in part
                ],
            )

    def add_unit_vectors(self, units: list[dict], embeddings: list[list[float]]) -> None:
        """``units``: dicts of id, chunk (its chunk's id) and text."""
        for start in range(0, len(units), _CHROMA_BATCH):
            part = units[start : start + _CHROMA_BATCH]
            self.units.upsert(
                ids=[u["id"] for u in part],
                embeddings=embeddings[start : start + _CHROMA_BATCH],
                documents=[u["text"] for u in part],
                metadatas=[{"chunk": u["chunk"]} for u in part],
            )

    def delete_vectors(self, ids: Sequence[str]) -> None:
        ids = list(ids)
        for start in range(0, len(ids), _CHROMA_BATCH):
            batch = ids[start : start + _CHROMA_BATCH]
            self.collection.delete(ids=batch)
        # By id (a "chunk" filter scans every sentence of the index); absent ids are ignored.
        units = [f"{c}:u{n}" for c in ids for n in range(MAX_UNITS_PER_CHUNK)]
        for start in range(0, len(units), _CHROMA_BATCH):
            self.units.delete(ids=units[start : start + _CHROMA_BATCH])

    def nearest_units(self, embedding: list[float], k: int) -> list[tuple[str, float]]:
        """Nearest sentence vectors as (chunk id, cosine similarity), best first; may include
        superseded versions."""
        got = self.units.query(query_embeddings=[embedding], n_results=k, include=["distances", "metadatas"])
        if not got["ids"] or not got["ids"][0]:
            return []
        return [(m["chunk"], 1.0 - d) for m, d in zip(got["metadatas"][0], got["distances"][0])]

    def units_of(self, chunk_ids: Sequence[str]) -> dict[str, list[tuple[str, list[float]]]]:
        """Each chunk's sentences with their vectors, in document order."""
        if not chunk_ids:
            return {}
        # By id, not by a metadata filter: a filter scans every sentence of the index.
        wanted = [f"{c}:u{n}" for c in chunk_ids for n in range(MAX_UNITS_PER_CHUNK)]
        got = self._fetch(lambda: self.units.get(ids=wanted, include=["embeddings", "documents", "metadatas"]))
        out: dict[str, list[tuple[str, str, list[float]]]] = {}
        for uid, text, meta, vec in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"]):
            out.setdefault(meta["chunk"], []).append((uid, text, list(vec)))
        return {
            c: [(t, v) for _, t, v in sorted(items, key=lambda x: int(x[0].rsplit(":u", 1)[1]))]
            for c, items in out.items()
        }

    def get_vectors(self, ids: Sequence[str]) -> dict[str, list[float]]:
        return {i: list(v) for i, v in zip(*self.vector_matrix(ids))}

    def vector_matrix(self, ids: Sequence[str]):
        """The stored vectors of ``ids`` as (the ids found, a numpy matrix with a row each)."""
        import numpy as np

        if not ids:
            return [], np.zeros((0, 0), dtype=np.float32)
        got = self._fetch(lambda: self.collection.get(ids=list(ids), include=["embeddings"]))
        return list(got["ids"]), np.asarray(got["embeddings"], dtype=np.float32)

    def vector_ids(self) -> set[str]:
        ids: set[str] = set()
        offset = 0
        while True:
            got = self.collection.get(include=[], limit=10_000, offset=offset)
            if not got["ids"]:
                return ids
            ids.update(got["ids"])
            offset += len(got["ids"])

    def sweep_orphans(self) -> int:
        """Delete vectors no committed chunk refers to (left by a crash mid-run)."""
        known = {r["id"] for r in self.db.query("select id from chunks")}
        orphans = [i for i in self.vector_ids() if i not in known]
        self.delete_vectors(orphans)
        stray: set[str] = set()
        offset = 0
        while True:  # sentences of chunks that never committed
            got = self.units.get(include=["metadatas"], limit=10_000, offset=offset)
            if not got["ids"]:
                break
            stray.update(m["chunk"] for m in got["metadatas"] if m["chunk"] not in known)
            offset += len(got["ids"])
        self.delete_vectors(sorted(stray))
        return len(orphans)

    def missing_vectors(self) -> set[str]:
        known = {r["id"] for r in self.db.query("select id from chunks")}
        return known - self.vector_ids()

    def reset_vectors(self) -> None:
        from chromadb.errors import NotFoundError

        client = self._client if self._collection is not None else None
        if client is None:
            _ = self.collection
            client = self._client
        with self._client_lock:
            for name in (COLLECTION, UNITS):
                try:
                    client.delete_collection(name)
                except NotFoundError:
                    pass  # already gone
            self._collection = self._units = None
        _ = self.collection, self.units

    # Chroma's embedded store keeps, for the life of the process, one reader per folder that
    # never sees what another process wrote: vectors added by an `advisor ingest` beside a
    # serving bot are missing from its queries, and fetching them by id fails ("Error finding
    # id"). A reader opened afresh sees them, so the client is reopened once another process's
    # run has finished (or, within a run, when a committed chunk's vector cannot be fetched).

    def _follow_other_writers(self) -> None:
        if self.chroma_url or self._client is None or self._vectors_generation is None:
            return  # a Chroma server is one reader for everyone
        if self.generation() != self._vectors_generation:
            self._reopen_client()

    def _reopen_client(self) -> None:
        from chromadb.api.shared_system_client import SharedSystemClient

        with self._client_lock:
            if self._client is not None and not self.chroma_url:
                # Forgotten, not stopped: a thread still using the old reader finishes with it.
                folder = self._client.get_settings().persist_directory
                SharedSystemClient._identifier_to_system.pop(folder, None)
                SharedSystemClient._identifier_to_refcount.pop(folder, None)
            self._client = None
            self._collection = self._units = None

    def _fetch(self, read):
        """``read()`` of vectors, reopening a reader that lost track of another process's writes."""
        from chromadb.errors import ChromaError

        try:
            return read()
        except ChromaError:
            if self.chroma_url:
                raise
            self._reopen_client()
            return read()

    def nearest_ids(self, embedding: list[float], k: int) -> list[tuple[str, float]]:
        """Nearest vector ids with cosine similarity; may include superseded versions."""
        # Over-fetch: superseded vectors may still be present while an ingest runs.
        got = self.collection.query(query_embeddings=[embedding], n_results=k * 2 + 4, include=["distances"])
        return [(i, 1.0 - d) for i, d in zip(got["ids"][0], got["distances"][0])]

    def resolve(self, hits: list[tuple[str, float]], k: int) -> list[tuple[dict, float]]:
        """Keep only ids of committed chunk versions, as rows."""
        rows = self.chunks_by_id([i for i, _ in hits])
        return [(rows[i], score) for i, score in hits if i in rows][:k]

    def dense_search(self, embedding: list[float], k: int) -> list[tuple[dict, float]]:
        return self.resolve(self.nearest_ids(embedding, k), k)
