"""Hybrid retrieval: dense (Chroma) and keyword (SQLite FTS5 BM25) fused by reciprocal rank.

The keyword index is maintained by SQLite triggers inside the same transaction that commits
a document, so it is always in step with ingest and never rebuilt per query. Relevance for
abstention is measured the same way for every mode: the cosine similarity between the
question and the best retrieved chunk, which is comparable across questions unlike BM25.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ingest import KnowledgeIndex
from ingest.embeddings import Embedder

Mode = Literal["hybrid", "dense", "keyword"]
RRF_K = 60


@dataclass
class Hit:
    chunk: dict
    score: float  # fused rank score; only meaningful for ordering
    similarity: float  # cosine(question, chunk)

    @property
    def id(self) -> str:
        return self.chunk["id"]


@dataclass
class Retrieval:
    question: str
    hits: list[Hit] = field(default_factory=list)

    @property
    def best_similarity(self) -> float:
        return max((h.similarity for h in self.hits), default=0.0)


class Retriever:
    def __init__(self, index: KnowledgeIndex, embedder: Embedder):
        self.index = index
        self.embedder = embedder

    def search(self, question: str, k: int = 5, mode: Mode = "hybrid") -> Retrieval:
        query = self.embedder.embed_query(question)
        pool = max(k * 4, 20)
        nearest = self.index.nearest_ids(query, pool) if mode != "keyword" else []
        # One read transaction: dense and keyword results come from the same committed state.
        with self.index.snapshot():
            dense = self.index.resolve(nearest, pool)
            keyword = self.index.keyword_search(question, pool) if mode != "dense" else []
        similarity = {row["id"]: sim for row, sim in dense}
        fused: dict[str, float] = {}
        rows: dict[str, dict] = {}
        for ranked in (dense, keyword):
            for rank, (row, _) in enumerate(ranked):
                fused[row["id"]] = fused.get(row["id"], 0.0) + 1.0 / (RRF_K + rank + 1)
                rows[row["id"]] = row
        top = sorted(fused, key=lambda i: -fused[i])[:k]
        unknown = [i for i in top if i not in similarity]
        if unknown:
            for cid, vec in self.index.get_vectors(unknown).items():
                similarity[cid] = float(sum(a * b for a, b in zip(query, vec)))
        hits = [Hit(rows[i], fused[i], similarity.get(i, 0.0)) for i in top]
        return Retrieval(question, hits)
