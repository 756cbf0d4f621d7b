"""Incremental, crash-safe sync of a knowledge folder into the index.

Unchanged documents are recognised by content hash before anything is loaded, so a no-op
run never touches the embedding model. Changed documents are embedded in batches across
documents (far fewer model calls than one per file) and committed one document at a time.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from filelock import FileLock, Timeout

from .chunking import CHUNKER_VERSION, chunk_document, chunk_id, sentence_units
from .embeddings import Embedder, EmbeddingModelError
from .index import MAX_UNITS_PER_CHUNK, IndexError_, KnowledgeIndex, utcnow
from .loaders import DEFAULT_CLASSIFICATION, LoadError, is_supported, load_bytes

EMBED_BATCH_CHUNKS = 512

Progress = Callable[[int, int, str], None]


class IngestRunError(RuntimeError):
    """The run as a whole could not happen (nothing was changed)."""


class IngestBusy(IngestRunError):
    pass


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0
    model_loaded: bool = False

    def to_dict(self) -> dict:
        return {
            "added": len(self.added),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "removed": len(self.removed),
            "failed": self.failed,
            "chunks": self.chunks,
            "seconds": round(self.seconds, 3),
        }


_process_lock = threading.Lock()

# busy() takes the file lock for a moment to probe it, so an ingest starting at that moment (or
# another probe) must wait that moment out rather than report a running ingest that isn't.
# A real holder keeps the lock for the whole run, far longer than these.
_ENTER_GRACE_S = 1.0
_PROBE_GRACE_S = 0.05
_POLL_S = 0.005


class IngestLock:
    """One ingest at a time per ADVISOR_HOME, across threads and processes."""

    def __init__(self, home: Path):
        home.mkdir(parents=True, exist_ok=True)
        self._file = FileLock(str(home / "ingest.lock"), thread_local=False)

    def __enter__(self):
        if not _process_lock.acquire(blocking=False):
            raise IngestBusy("an ingest is already running; try again when it has finished")
        try:
            self._file.acquire(timeout=_ENTER_GRACE_S, poll_interval=_POLL_S)
        except Timeout:
            _process_lock.release()
            raise IngestBusy("an ingest is already running (another process holds the lock)") from None
        return self

    def __exit__(self, *exc):
        self._file.release()
        _process_lock.release()

    @staticmethod
    def busy(home: Path) -> bool:
        if _process_lock.locked():
            return True
        probe = FileLock(str(home / "ingest.lock"), thread_local=False)
        try:
            probe.acquire(timeout=_PROBE_GRACE_S, poll_interval=_POLL_S)
        except Timeout:
            return True
        probe.release()
        return False


@dataclass
class _Pending:
    source: str
    path: Path
    content_hash: str
    size: int
    metadata: dict
    chunks: list[dict]
    is_new: bool


@dataclass(frozen=True)
class SyncOptions:
    """What a sync covers and how it reads and cuts documents; the defaults are the bot's."""

    paths: Sequence[Path | str] | None = None  # only these files or folders (None: the whole folder)
    full: bool = False  # re-embed everything, changed or not
    exclude: Iterable[str] = ()  # file names that are configuration, not documents
    max_file_mb: float = 20
    max_tokens: int = 256
    overlap_tokens: int = 40
    embedding_model: str | None = None  # used only when no embedder is passed
    embedding_backend: str = "onnx"
    chroma_url: str | None = None  # used only when no index is passed


def sync(
    knowledge_dir: Path | str,
    home: Path | str,
    options: SyncOptions = SyncOptions(),
    *,
    progress: Progress | None = None,
    index: KnowledgeIndex | None = None,
    embedder: Embedder | None = None,
) -> IngestReport:
    """Bring the index at ``home`` in line with ``knowledge_dir`` (under the ingest lock)."""
    knowledge_dir = Path(knowledge_dir).resolve()
    home = Path(home)
    if options.paths is None and not knowledge_dir.is_dir():
        raise IngestRunError(f"knowledge folder not found: {knowledge_dir} (ADVISOR_KNOWLEDGE_DIR)")
    with IngestLock(home):
        try:
            index = index or KnowledgeIndex(home, options.chroma_url)
            embedder = embedder or Embedder(options.embedding_model, backend=options.embedding_backend)
            return _Sync(index, embedder, knowledge_dir, options, progress).run()
        except IndexError_ as exc:
            raise IngestRunError(str(exc)) from exc


class _Sync:
    def __init__(self, index, embedder, knowledge_dir, options: SyncOptions, progress):
        self.index: KnowledgeIndex = index
        self.embedder: Embedder = embedder
        self.knowledge_dir: Path = knowledge_dir
        self.paths = [Path(p).resolve() for p in options.paths] if options.paths else None
        self.full = options.full
        self.max_bytes = int(options.max_file_mb * 1_048_576)
        self.exclude = set(options.exclude)
        self.progress = progress
        self.max_tokens = options.max_tokens
        self.overlap_tokens = options.overlap_tokens
        self.report = IngestReport()
        self.pending: list[_Pending] = []

    def run(self) -> IngestReport:
        started = time.perf_counter()
        index = self.index
        fingerprint = f"{self.embedder.name_or_path}|chunker={CHUNKER_VERSION}|{self.max_tokens}/{self.overlap_tokens}"
        if index.get_meta("fingerprint") not in (None, fingerprint):
            # Vectors from another model are not comparable: rebuild everything.
            self.full = True
        run_id, crashed = index.start_run(self.full, [str(p) for p in self.paths or []])
        try:
            if self.full:
                index.clear()
            elif crashed:
                index.sweep_orphans()
            index.set_meta("fingerprint", fingerprint)
            self._sync_files(repair=crashed and not self.full)
            self.report.seconds = time.perf_counter() - started
            self.report.model_loaded = self.embedder.loaded
            index.finish_run(run_id, "ok", self.report.to_dict())
            return self.report
        except BaseException as exc:
            self.report.seconds = time.perf_counter() - started
            index.finish_run(
                run_id,
                "failed",
                {**self.report.to_dict(), "failed": self.report.failed + [{"path": "(run)", "error": str(exc)}]},
            )
            if isinstance(exc, EmbeddingModelError):
                raise IngestRunError(str(exc)) from exc
            raise

    # --- scanning ------------------------------------------------------------------------

    def _source_key(self, path: Path) -> str:
        try:
            return path.relative_to(self.knowledge_dir).as_posix()
        except ValueError:
            return path.as_posix()

    def _visible(self, path: Path, root: Path) -> bool:
        rel = path.relative_to(root).parts if path != root else (path.name,)
        return not any(part.startswith(".") for part in rel) and path.name not in self.exclude

    def _scan(self) -> tuple[list[Path], list[Path]]:
        """Files to consider, and the folders whose vanished documents should be removed."""
        roots = self.paths if self.paths is not None else [self.knowledge_dir]
        files: list[Path] = []
        scopes: list[Path] = []
        for root in roots:
            if root.is_dir():
                scopes.append(root)
                files.extend(
                    p for p in sorted(root.rglob("*")) if (p.is_file() or p.is_symlink()) and self._visible(p, root)
                )
            elif root.exists() or root.is_symlink():
                files.append(root)
            else:
                self.report.failed.append({"path": str(root), "error": "no such file or folder"})
        return files, scopes

    def _sync_files(self, repair: bool) -> None:
        files, scopes = self._scan()
        known = self.index.documents()
        needs_repair: set[str] = set()
        if repair:
            missing = self.index.missing_vectors()
            needs_repair = {s for s in known if set(self.index.chunk_ids_for(s)) & missing}
        seen: set[str] = set()
        total = len(files)
        for n, path in enumerate(files, 1):
            source = self._source_key(path)
            seen.add(source)
            self._consider(path, source, known.get(source), source in needs_repair)
            if len(self.pending) and sum(len(p.chunks) for p in self.pending) >= EMBED_BATCH_CHUNKS:
                self._flush()
            if self.progress:
                self.progress(n, total, source)
        self._flush()
        self._remove_vanished(known, seen, scopes)

    def _consider(self, path: Path, source: str, row: dict | None, force: bool) -> None:
        if not is_supported(path):
            self._fail(source, f"unsupported file type '{path.suffix or '(none)'}'; not ingested")
            return
        try:
            size = path.stat().st_size
            if size > self.max_bytes:
                raise LoadError(
                    f"file is {size / 1_048_576:.1f} MB, over the {self.max_bytes / 1_048_576:g} MB limit "
                    "(ADVISOR_MAX_FILE_MB)"
                )
            data = path.read_bytes()
        except PermissionError:
            self._fail(source, "file is not readable (permission denied)")
            return
        except LoadError as exc:
            self._fail(source, str(exc))
            return
        except OSError as exc:
            self._fail(source, f"file could not be read: {exc.strerror or exc}")
            return
        content_hash = hashlib.sha256(data).hexdigest()
        if row and row["content_hash"] == content_hash and not force:
            self.report.unchanged.append(source)
            return
        try:
            doc = load_bytes(path.name, data)
            pieces = chunk_document(
                doc.title, doc.text, self.embedder.count_tokens, self.max_tokens, self.overlap_tokens
            )
        except LoadError as exc:
            self._fail(source, str(exc))
            return
        meta = doc.metadata
        classification = meta.get("classification", DEFAULT_CLASSIFICATION)
        chunks = [
            {
                "id": chunk_id(source, content_hash, c.index),
                "source": source,
                "content_hash": content_hash,
                "idx": c.index,
                "title": doc.title,
                "section": c.section,
                "text": c.text,
                "classification": classification,
                "version": meta.get("version", ""),
                "audience": meta.get("audience") or ("members" if classification == "confidential" else "everyone"),
            }
            for c in pieces
        ]
        self.pending.append(_Pending(source, path, content_hash, size, meta, chunks, row is None))

    def _fail(self, source: str, error: str) -> None:
        self.report.failed.append({"path": source, "error": error})

    def _flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        all_chunks = [c for p in batch for c in p.chunks]
        units = [unit for c in all_chunks for unit in _units_of(c)]
        texts = [c["text"] for c in all_chunks] + [u["embed"] for u in units]
        # Repeated sentences (boilerplate, a footer on every page) are embedded once.
        distinct = list(dict.fromkeys(texts))
        embedded = dict(zip(distinct, self.embedder.embed(distinct)))
        vectors = [embedded[t] for t in texts]
        self.index.add_vectors(all_chunks, vectors[: len(all_chunks)])
        self.index.add_unit_vectors(units, vectors[len(all_chunks) :])
        for p in batch:
            meta = p.metadata
            superseded = self.index.commit_document(
                {
                    "source": p.source,
                    "path": str(p.path),
                    "content_hash": p.content_hash,
                    "size": p.size,
                    "title": meta.get("title", ""),
                    "classification": meta.get("classification", DEFAULT_CLASSIFICATION),
                    "version": meta.get("version", ""),
                    "owner": meta.get("owner", ""),
                    "effective": meta.get("effective", ""),
                    "url": meta.get("url", ""),
                    "chunk_count": len(p.chunks),
                    "ingested_at": utcnow(),
                },
                p.chunks,
            )
            self.index.delete_vectors(superseded)
            (self.report.added if p.is_new else self.report.updated).append(p.source)
            self.report.chunks += len(p.chunks)

    def _remove_vanished(self, known: dict[str, dict], seen: set[str], scopes: list[Path]) -> None:
        for source, row in known.items():
            if source in seen:
                continue
            path = Path(row["path"])
            in_scope = any(path == s or s in path.parents for s in scopes)
            if in_scope and not path.exists():
                self.index.delete_vectors(self.index.remove_document(source))
                self.report.removed.append(source)


def _units_of(chunk: dict) -> list[dict]:
    """A chunk's sentences, each embedded with the headings it sits under (a bare "Expect 3-6
    months" is ambiguous without "Self-hosting > Cons")."""
    _, sep, body = chunk["text"].partition("\n\n")  # the chunker writes "Title > Section\n\n" first
    body = body if sep else chunk["text"]
    context = chunk.get("section") or chunk["title"]
    if len(context) > 120:
        context = context.split(" > ")[-1]
    return [
        {"id": f"{chunk['id']}:u{n}", "chunk": chunk["id"], "text": text, "embed": f"{context}: {text}"}
        for n, text in enumerate(sentence_units(body)[:MAX_UNITS_PER_CHUNK])
    ]
