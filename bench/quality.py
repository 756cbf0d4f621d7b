"""Retrieval quality on the eval set's held-out test split (tests/eval/questions.yaml):
evidence hit@k and MRR over the answerable questions, scored at chunk level (a retrieved chunk
holds the question's evidence quote), for questions whose corpus is in the benchmark bundle."""

from __future__ import annotations

from typing import Callable, Iterable

from bot.evaluation import EvalQuestion, contains_evidence, load_eval_set

from .corpus import EVAL_QUESTIONS

# Eval corpus name → where its files sit in the bundle (knowledge/ or a shared corpus).
BUNDLED = {"knowledge": "knowledge", "site-policy": "site-policy", "18f-handbook": "18f-handbook"}


def eval_questions() -> list[EvalQuestion]:
    """The held-out split: quality is reported on it."""
    return load_eval_set(EVAL_QUESTIONS).select("test")


def all_eval_questions() -> list[EvalQuestion]:
    """Every question, answerable or not: realistic traffic for latency and memory runs."""
    return load_eval_set(EVAL_QUESTIONS).questions


def coverable(questions: Iterable[EvalQuestion], corpus_names: Iterable[str]) -> list[EvalQuestion]:
    """Answerable questions whose corpus the bundle holds (all of them on the full run; a
    --quick run indexes fewer corpora)."""
    names = {"knowledge", *corpus_names}
    return [q for q in questions if q.answerable and BUNDLED.get(q.corpus) in names]


def score(questions: list[EvalQuestion], ranked_texts: Callable[[str], list[str]], k: int = 5) -> dict:
    hits = {1: 0, 3: 0, 5: 0}
    rr = 0.0
    for q in questions:
        ranked = ranked_texts(q.question)[:k]
        first = next((i for i, text in enumerate(ranked, 1) if contains_evidence(text, q.evidence)), None)
        for cut in hits:
            hits[cut] += first is not None and first <= cut
        rr += 1.0 / first if first else 0.0
    n = len(questions) or 1
    return {
        "questions": len(questions),
        "hit@1": hits[1] / n,
        "hit@3": hits[3] / n,
        "hit@5": hits[5] / n,
        "mrr": rr / n,
    }
