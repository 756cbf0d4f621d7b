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

from ingest import KnowledgeIndex
from ingest.embeddings import Embedder

Mode = Literal["hybrid", "dense", "keyword"]

# Chosen on the dev split of tests/eval/questions.yaml (see the README's Answers and evaluation).
KEYWORD_WEIGHT = 0.4  # bonus for a chunk that covers all of the question's keywords
POOL = 30  # candidates per retriever before fusion
UNIT_POOL = 80  # nearest sentences considered
UNIT_WEIGHT = 0.5  # a chunk's dense score: its own similarity blended with its best sentence's

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


def _dot(a, b) -> float:
    return float(sum(x * y for x, y in zip(a, b)))


class Retriever:
    def __init__(self, index: KnowledgeIndex, embedder: Embedder):
        self.index = index
        self.embedder = embedder

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
        for chunk, sim, _ in units:
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
        unknown = [i for i in rows if i not in chunk_sim]
        if unknown:
            for cid, vec in self.index.get_vectors(unknown).items():
                chunk_sim[cid] = _dot(query, vec)
        similarity = {cid: self._dense(chunk_sim.get(cid, 0.0), unit_sim.get(cid)) for cid in rows}
        if mode == "keyword":
            order = [row["id"] for row, _ in keyword]
            scores = {cid: float(len(order) - n) for n, cid in enumerate(order)}
        elif mode == "dense":
            scores = dict(similarity)
        else:
            scores = self._fuse(question, similarity, rows, {row["id"] for row, _ in keyword})
        ranked = sorted(scores, key=lambda i: -scores[i])
        # Withheld: restricted chunks that would have been among the results.
        withheld = sum(1 for i in ranked[:k] if i in denied)
        top = [i for i in ranked if i not in denied][:k]
        hits = [Hit(rows[i], scores[i], similarity.get(i, 0.0)) for i in top]
        return Retrieval(question, hits, query, withheld)

    @staticmethod
    def _dense(chunk: float, unit: float | None) -> float:
        if unit is None:
            return chunk
        return max(chunk, UNIT_WEIGHT * unit + (1 - UNIT_WEIGHT) * chunk)

    def _fuse(self, question: str, similarity: dict[str, float], rows: dict[str, dict], matched: set[str]) -> dict:
        wanted = {stem(w) for w in keywords(question)}
        weight = self._idf(wanted)
        total = sum(weight.values()) or 1.0
        scores = {}
        for cid, sim in similarity.items():
            bonus = 0.0
            if wanted and cid in matched:
                have = {stem(w) for w in keywords(rows[cid]["text"])}
                bonus = KEYWORD_WEIGHT * sum(weight[w] for w in wanted & have) / total
            scores[cid] = sim + bonus
        return scores

    def _idf(self, words: set[str]) -> dict[str, float]:
        """Rarer words weigh more; a stem counts every word it begins."""
        chunks = max(1, self.index.chunk_count())
        return {w: math.log(1 + chunks / (1 + self.index.document_frequency(w, prefix=True))) for w in words}


def stem(word: str) -> str:
    for suffix in ("ing", "ies", "es", "ed", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word
