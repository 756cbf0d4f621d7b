"""Hybrid retrieval: dense search over chunks *and* their sentences, fused with keyword search.

Dense: every chunk has a vector and so does each of its sentences (bullets, table rows); a
chunk's dense score is the better of its own similarity and its best sentence's, so one
sentence that matches the question lifts its chunk (small-to-big) where a long chunk's average
meaning would hide it. Keyword: SQLite FTS5 BM25, maintained by triggers inside the ingest
transaction. Fusion is score-based and one-sided: the dense score leads, and keyword evidence
adds a bonus in proportion to how much of the question's vocabulary the chunk covers, so a
question phrased in other words than the document (most real questions) is not dragged down by
keyword noise, and a question that names the document's own terms still profits from them.
Relevance for abstention is the dense score of the best chunk, comparable across questions.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Callable, Literal

import numpy as np
from ingest import KnowledgeIndex
from ingest.embeddings import Embedder

Mode = Literal["hybrid", "dense", "keyword"]

# Chosen on the dev split of tests/eval/questions.yaml (see the README's Answers and evaluation).
KEYWORD_WEIGHT = 0.4  # bonus for a chunk that covers all of the question's keywords
POOL = 30  # candidates per retriever before fusion
UNIT_POOL = 80  # nearest sentences considered
UNIT_WEIGHT = 0.5  # a chunk's dense score: its own similarity blended with its best sentence's
STEM_CACHE = 20_000  # chunks whose keyword stems are remembered (a few MB)

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an and are as at be by can could do does for from has have how i if in is it its me my of on "
    "or our should so that the their them then there these they this to us was we what when where "
    "which who why will with would you your about any tell please get need want do did im i'm "
    "there's what's we're someone something anyone".split()
)


def keywords(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2}


@dataclass
class Hit:
    chunk: dict
    score: float  # fused score; only meaningful for ordering
    similarity: float  # dense relevance: cosine of the question with the chunk or its best sentence

    @property
    def id(self) -> str:
        return self.chunk["id"]


@dataclass
class Retrieval:
    question: str
    hits: list[Hit] = field(default_factory=list)
    query_vector: list[float] = field(default_factory=list, repr=False)
    withheld: int = 0  # candidates the asker may not see here

    @property
    def best_similarity(self) -> float:
        return max((h.similarity for h in self.hits), default=0.0)


class Retriever:
    def __init__(self, index: KnowledgeIndex, embedder: Embedder):
        self.index = index
        self.embedder = embedder
        self._stem_cache: dict[str, frozenset[str]] = {}

    def search(
        self, question: str, k: int = 5, mode: Mode = "hybrid", allow: Callable[[dict], bool] | None = None
    ) -> Retrieval:
        """The best ``k`` chunks; ``allow`` drops chunks the asker may not see (their number is
        kept in ``withheld``, never their content)."""
        query = self.embedder.embed_query(question)
        pool = max(k * 4, POOL)
        nearest = self.index.nearest_ids(query, pool) if mode != "keyword" else []
        units = self.index.nearest_units(query, UNIT_POOL) if mode != "keyword" else []
        unit_sim: dict[str, float] = {}
        for chunk, sim in units:
            unit_sim[chunk] = max(sim, unit_sim.get(chunk, -1.0))
        chunk_sim = dict(nearest)
        candidates = list(dict.fromkeys([i for i, _ in nearest] + list(unit_sim)))
        # One read transaction: dense and keyword results come from the same committed state.
        with self.index.snapshot():
            rows = self.index.chunks_by_id(candidates)
            keyword = self.index.keyword_search(question, pool) if mode != "dense" else []
        for row, _ in keyword:
            rows.setdefault(row["id"], row)
        denied = {cid for cid, row in rows.items() if not allow(row)} if allow is not None else set()
        similarity = self._similarities(query, rows, chunk_sim, unit_sim)
        if mode == "keyword":
            order = [row["id"] for row, _ in keyword]
            scores = {cid: float(len(order) - n) for n, cid in enumerate(order)}
        else:
            bonus = self._bonus(question, rows, {row["id"] for row, _ in keyword}) if mode == "hybrid" else {}
            scores = {cid: sim + bonus.get(cid, 0.0) for cid, sim in similarity.items()}
        ranked = sorted(scores, key=lambda i: -scores[i])
        # Withheld: restricted chunks that would have been among the results.
        withheld = sum(1 for i in ranked[:k] if i in denied)
        top = [i for i in ranked if i not in denied][:k]
        hits = [Hit(rows[i], scores[i], similarity.get(i, 0.0)) for i in top]
        return Retrieval(question, hits, query, withheld)

    def _similarities(self, query, rows, chunk_sim, unit_sim) -> dict[str, float]:
        """Each candidate's dense similarity; the chunk vectors of candidates found only by
        their sentences or their keywords are fetched in one read and scored in one product.
        (Skipping those whose ceiling cannot reach the top k was tried: the ceiling assumes an
        exact nearest-neighbour list, HNSW's is approximate, and 4 of 224 eval questions lost a
        better chunk, for a gain lost in the noise.)"""
        unknown = [cid for cid in rows if cid not in chunk_sim]
        ids, matrix = self.index.vector_matrix(unknown)
        chunk_sim = dict(chunk_sim)
        if ids:
            chunk_sim.update(zip(ids, (matrix @ np.asarray(query, dtype=np.float32)).tolist()))
        return {cid: self._dense(chunk_sim.get(cid, 0.0), unit_sim.get(cid)) for cid in rows}

    @staticmethod
    def _dense(chunk: float, unit: float | None) -> float:
        if unit is None:
            return chunk
        return max(chunk, UNIT_WEIGHT * unit + (1 - UNIT_WEIGHT) * chunk)

    def _bonus(self, question: str, rows: dict[str, dict], matched: set[str]) -> dict[str, float]:
        """Keyword evidence: a share of KEYWORD_WEIGHT for the question's words the chunk has."""
        wanted = {stem(w) for w in keywords(question)}
        if not wanted:
            return {}
        weight = self._idf(wanted)
        total = sum(weight.values()) or 1.0
        return {
            cid: KEYWORD_WEIGHT * sum(weight[w] for w in wanted & self._stems(cid, rows[cid]["text"])) / total
            for cid in matched
            if cid in rows
        }

    def _stems(self, cid: str, text: str) -> frozenset[str]:
        # A chunk id names one version of its text, so its stems never go stale.
        found = self._stem_cache.get(cid)
        if found is None:
            if len(self._stem_cache) >= STEM_CACHE:
                self._stem_cache.pop(next(iter(self._stem_cache)))
            found = self._stem_cache[cid] = frozenset(stem(w) for w in keywords(text))
        return found

    def _idf(self, words: set[str]) -> dict[str, float]:
        """Rarer words weigh more; a stem counts every word it begins."""
        chunks = max(1, self.index.chunk_count())
        return {w: math.log(1 + chunks / (1 + self.index.document_frequency(w, prefix=True))) for w in words}


def stem(word: str) -> str:
    for suffix in ("ing", "ies", "es", "ed", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word
