"""The naive LangChain pipeline the issue compares against, as a tutorial would write it:

    RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    + HuggingFaceEmbeddings(model_name=<the same packaged all-MiniLM-L6-v2>)
    + Chroma.from_documents(persist_directory=...)
    retrieval: vectorstore.similarity_search(question, k=5)

Documents are loaded with our own ingest.loaders.load_path so both pipelines embed the same
text; metadata ``source`` is the same key our ingest uses, so the eval's suffixes match.
Chroma's anonymous telemetry is switched off (there is no network here, for either side).
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

from ingest.loaders import LoadError, load_path

from .corpus import Bundle
from .grow import CopyPlan, jittered
from .machine import load_average
from .quality import score
from .stats import Stopwatch

COLLECTION = "naive"
CHUNK_SIZE, CHUNK_OVERLAP = 1000, 200
_ADD_BATCH = 2000


def _quiet_deprecations() -> None:
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    try:
        from langchain_core._api.deprecation import LangChainDeprecationWarning

        warnings.filterwarnings("ignore", category=LangChainDeprecationWarning)
    except ImportError:
        pass


def embeddings_class():
    """langchain-huggingface when it is installed, else langchain-community's (same class; the
    former pins huggingface-hub<2, which this environment's transformers does not want)."""
    _quiet_deprecations()
    try:
        from langchain_huggingface import HuggingFaceEmbeddings
    except ImportError:
        from langchain_community.embeddings import HuggingFaceEmbeddings
    return HuggingFaceEmbeddings


def chroma_class():
    _quiet_deprecations()
    try:
        from langchain_chroma import Chroma
    except ImportError:
        from langchain_community.vectorstores import Chroma
    return Chroma


def client_settings():
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False)


def preload() -> None:
    """Import the libraries before anything is timed (import time is per process, not per ingest)."""
    embeddings_class()
    chroma_class()
    from langchain_core.documents import Document  # noqa: F401
    from langchain_text_splitters import RecursiveCharacterTextSplitter  # noqa: F401


class NaivePipeline:
    def __init__(self, model_dir: str, persist_dir: Path):
        self.model_dir = model_dir
        self.persist_dir = persist_dir
        self.embeddings = None
        self.store = None

    def ingest(self, bundle: Bundle) -> dict:
        from langchain_core.documents import Document
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        started = time.perf_counter()
        docs, failed = [], []
        for path in bundle.files:
            try:
                text = load_path(path).text
            except LoadError as exc:
                failed.append({"path": str(path), "error": str(exc)})
                continue
            docs.append(Document(page_content=text, metadata={"source": bundle.source_key(path)}))
        splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
        chunks = splitter.split_documents(docs)
        clock = Stopwatch()
        self.embeddings = clock.wrap("model_load_s", embeddings_class())(model_name=self.model_dir)
        model = self.embeddings.client  # the SentenceTransformer: time its encode calls
        model.encode = clock.wrap("embed_s", model.encode)
        self.store = chroma_class().from_documents(
            chunks,
            self.embeddings,
            collection_name=COLLECTION,
            persist_directory=str(self.persist_dir),
            client_settings=client_settings(),
        )
        seconds = time.perf_counter() - started
        del model.encode
        return {
            "seconds": seconds,
            "documents": len(docs),
            "chunks": len(chunks),
            "failed": failed,
            "docs_per_s": len(docs) / seconds,
            "chunks_per_s": len(chunks) / seconds,
            "avg_chunk_chars": sum(len(c.page_content) for c in chunks) / len(chunks) if chunks else 0.0,
            "model_load_s": clock["model_load_s"],
            "embed_s": clock["embed_s"],
            "load_after": load_average(),
        }

    def search(self, question: str, k: int = 5):
        return self.store.similarity_search(question, k=k)

    def quality(self, questions) -> dict:
        return score(questions, lambda q: [d.page_content for d in self.search(q, 5)])


class NaiveGrower:
    """The baseline's index grown the same way as ours (see bench/grow.py): its own chunks and
    vectors, duplicated under ``prefixN/`` and added to Chroma with precomputed embeddings."""

    def __init__(self, pipeline: NaivePipeline, bundle: Bundle, persist_dir: Path):
        got = pipeline.store._collection.get(include=["embeddings", "documents", "metadatas"])
        by_source: dict[str, list[tuple[str, list[float], dict]]] = {}
        for text, vec, meta in zip(got["documents"], got["embeddings"], got["metadatas"]):
            by_source.setdefault(meta.get("source", ""), []).append((text, list(vec), meta))
        order = [bundle.source_key(p) for p in bundle.files]
        self.units = [(s, by_source[s]) for s in order if by_source.get(s)]
        self.bundle = bundle
        self.keys = {bundle.source_key(p): p for p in bundle.files}
        self.store = chroma_class()(
            collection_name=COLLECTION + "_grown",
            embedding_function=pipeline.embeddings,
            persist_directory=str(persist_dir),
            client_settings=client_settings(),
        )
        self.plan = CopyPlan([len(rows) for _, rows in self.units])
        self._next_id = 0

    @property
    def chunks(self) -> int:
        return self.plan.total

    def grow_to(self, target: int) -> None:
        ids, vectors, texts, metas = [], [], [], []
        for copy, unit in self.plan.take_until(target):
            source, rows = self.units[unit]
            prefixed = f"prefix{copy}/{self.bundle.relative(self.keys[source])}"
            for (text, _, meta), vec in zip(rows, jittered([r[1] for r in rows], copy, unit)):
                ids.append(f"grown-{self._next_id}")
                self._next_id += 1
                vectors.append(vec)
                texts.append(text)
                metas.append({**meta, "source": prefixed})
            if len(ids) >= _ADD_BATCH:
                self._add(ids, vectors, texts, metas)
                ids, vectors, texts, metas = [], [], [], []
        self._add(ids, vectors, texts, metas)

    def _add(self, ids, vectors, texts, metas) -> None:
        if ids:
            self.store._collection.add(ids=ids, embeddings=vectors, documents=texts, metadatas=metas)

    def search(self, question: str, k: int = 5):
        return self.store.similarity_search(question, k=k)
