"""Retrieval and answer quality on a question set: the same questions through hybrid,
dense-only and keyword-only retrieval in one run."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

MODES = ("hybrid", "dense", "keyword")
METRICS = ("hit@1", "hit@3", "hit@5", "mrr", "abstention_accuracy", "valid_citations")


class EvalFileError(ValueError):
    pass


@dataclass(frozen=True)
class EvalQuestion:
    q: str
    expect: tuple[str, ...]
    section: str | None = None

    @property
    def answerable(self) -> bool:
        return bool(self.expect)

    def matches(self, source: str) -> bool:
        return any(source == e or source.endswith("/" + e.lstrip("/")) for e in self.expect)


@dataclass
class EvalSet:
    questions: list[EvalQuestion]
    thresholds: dict[str, float] = field(default_factory=dict)


def load_eval_set(path: Path | str) -> EvalSet:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise EvalFileError(f"{path}: cannot read question set: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        raise EvalFileError(f"{path}: expected a mapping with a 'questions' list")
    questions = []
    for n, item in enumerate(data["questions"], 1):
        if not isinstance(item, dict) or not isinstance(item.get("q"), str) or not isinstance(item.get("expect", []), list):
            raise EvalFileError(f"{path}: question {n} needs 'q' (text) and 'expect' (a list of sources)")
        questions.append(EvalQuestion(item["q"], tuple(item.get("expect") or ()), item.get("section")))
    thresholds = data.get("thresholds") or {}
    unknown = set(thresholds) - set(METRICS)
    if unknown:
        raise EvalFileError(f"{path}: unknown thresholds {sorted(unknown)}; known: {', '.join(METRICS)}")
    return EvalSet(questions, {k: float(v) for k, v in thresholds.items()})


def evaluate(service, eval_set: EvalSet, k: int = 5) -> dict:
    results: dict[str, dict] = {}
    similarities: list[tuple[float, bool]] = []
    for mode in MODES:
        hits_at = {1: 0, 3: 0, 5: 0}
        rr = 0.0
        abstain_ok = 0
        cited_answers = valid = 0
        misses: list[str] = []
        for item in eval_set.questions:
            answer = service.ask(item.q, top_k=k, mode=mode, record=False)
            retrieval = service.retrieve(item.q, k, mode)
            if mode == "hybrid":
                similarities.append((retrieval.best_similarity, item.answerable))
            abstain_ok += answer.abstained != item.answerable
            if not item.answerable:
                continue
            ranked = [h.chunk["source"] for h in retrieval.hits]
            first = next((i for i, src in enumerate(ranked, 1) if item.matches(src)), None)
            for cut in hits_at:
                hits_at[cut] += first is not None and first <= cut
            rr += 1.0 / first if first else 0.0
            if first is None:
                misses.append(item.q)
            if not answer.abstained:
                cited_answers += 1
                valid += _citations_valid(answer)
        answerable = sum(q.answerable for q in eval_set.questions) or 1
        results[mode] = {
            "hit@1": hits_at[1] / answerable, "hit@3": hits_at[3] / answerable, "hit@5": hits_at[5] / answerable,
            "mrr": rr / answerable,
            "abstention_accuracy": abstain_ok / len(eval_set.questions),
            "valid_citations": valid / cited_answers if cited_answers else 0.0,
            "misses": misses,
        }
    report = {
        "questions": len(eval_set.questions),
        "answerable": sum(q.answerable for q in eval_set.questions),
        "modes": {m: {key: round(v, 4) if isinstance(v, float) else v for key, v in r.items()} for m, r in results.items()},
        "min_relevance": service.settings.min_relevance,
        "suggested_min_relevance": suggest_threshold(similarities),
    }
    report["failed_thresholds"] = [
        f"{metric} {results['hybrid'][metric]:.3f} < {minimum}" for metric, minimum in eval_set.thresholds.items()
        if results["hybrid"][metric] < minimum
    ]
    return report


def _citations_valid(answer) -> bool:
    import re

    numbers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.text)}
    listed = {s["n"] for s in answer.sources}
    return bool(numbers) and numbers <= listed


def suggest_threshold(points: list[tuple[float, bool]]) -> float:
    """The relevance cut-off that best separates answerable from unanswerable questions."""
    if not points:
        return 0.0
    values = sorted({s for s, _ in points})
    # Cut halfway between neighbouring scores, so the cut does not sit on a question.
    cuts = [values[0] - 0.01] + [(a + b) / 2 for a, b in zip(values, values[1:])] + [values[-1] + 0.01]
    best, best_acc = cuts[0], -1.0
    for t in cuts:
        acc = sum((s >= t) == answerable for s, answerable in points) / len(points)
        if acc > best_acc:
            best, best_acc = t, acc
    return round(best, 3)
