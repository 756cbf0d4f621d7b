"""Retrieval quality on the eval set (tests/eval/questions.yaml): hit@k and MRR over the
answerable questions, matched by the eval's own suffix rule (EvalQuestion.matches)."""
from __future__ import annotations

from typing import Callable, Iterable

from bot.evaluation import EvalQuestion, load_eval_set

from .corpus import EVAL_QUESTIONS


def eval_questions() -> list[EvalQuestion]:
    return load_eval_set(EVAL_QUESTIONS).questions


def coverable(questions: Iterable[EvalQuestion], sources: Iterable[str]) -> list[EvalQuestion]:
    """Answerable questions whose expected document is among ``sources`` (all of them on the
    full corpus; a --quick run indexes fewer documents)."""
    sources = list(sources)
    return [q for q in questions if q.answerable and any(q.matches(s) for s in sources)]


def score(questions: list[EvalQuestion], ranked_sources: Callable[[str], list[str]], k: int = 5) -> dict:
    hits = {1: 0, 3: 0, 5: 0}
    rr = 0.0
    for q in questions:
        ranked = ranked_sources(q.q)[:k]
        first = next((i for i, s in enumerate(ranked, 1) if q.matches(s)), None)
        for cut in hits:
            hits[cut] += first is not None and first <= cut
        rr += 1.0 / first if first else 0.0
    n = len(questions) or 1
    return {"questions": len(questions), "hit@1": hits[1] / n, "hit@3": hits[3] / n, "hit@5": hits[5] / n,
            "mrr": rr / n}
