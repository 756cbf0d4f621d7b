"""Scores answers against the framework and explains the recommendation.

Pure: no I/O, no clock, no randomness, so the same answers always give the
same result and every result can be explained line by line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .framework import UNSURE, Citation, Framework, Option

# Score gap (in weight points) between the top two approaches at which the
# margin stops limiting confidence: about one strongly directional answer.
FULL_CONFIDENCE_MARGIN = 4.0
# Share of confidence that comes from the margin. A fully answered assessment
# with a tie still earns the rest: the answers are real even if they balance.
MARGIN_SHARE = 0.6


class InvalidAnswer(ValueError):
    """An answer names an unknown question or a value the question doesn't offer."""

    def __init__(self, question_id: str, value: str | None, valid: tuple[str, ...]) -> None:
        self.question_id = question_id
        self.value = value
        self.valid = valid
        if value is None:
            msg = f"Unknown question '{question_id}'. Valid questions: {', '.join(valid)}"
        else:
            msg = (
                f"'{value}' is not a valid answer to '{question_id}'. "
                f"Valid answers: {', '.join(valid)}"
            )
        super().__init__(msg)


@dataclass(frozen=True)
class RationaleLine:
    question: str  # question id
    answer: str  # option value (unanswered questions appear as `unsure`)
    effect: str  # how this answer moved the result, in plain words


@dataclass(frozen=True)
class Assessment:
    recommendation: str
    scores: Mapping[str, float]
    confidence: float
    rationale: tuple[RationaleLine, ...]
    conflicts: tuple[str, ...]
    citations: tuple[Citation, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "recommendation": self.recommendation,
            "scores": dict(self.scores),
            "confidence": self.confidence,
            "rationale": [
                {"question": r.question, "answer": r.answer, "effect": r.effect}
                for r in self.rationale
            ],
            "conflicts": list(self.conflicts),
            "citations": [c.to_dict() for c in self.citations],
        }


def validate_answer(framework: Framework, question_id: str, value: str) -> Option:
    try:
        question = framework.question(question_id)
    except KeyError:
        raise InvalidAnswer(question_id, None, framework.question_ids) from None
    try:
        return question.option(value)
    except KeyError:
        raise InvalidAnswer(question_id, value, question.values) from None


def _fmt_number(n: float) -> str:
    return f"{n:g}"


def _describe_deltas(framework: Framework, weights: Mapping[str, float]) -> str:
    parts = []
    for approach_id, approach in framework.approaches.items():
        delta = weights.get(approach_id, 0.0)
        if delta:
            sign = "+" if delta > 0 else "−"
            parts.append(f"{sign}{_fmt_number(abs(delta))} {approach.short}")
    return ", ".join(parts) if parts else "no change"


def _pick(framework: Framework, scores: Mapping[str, float]) -> tuple[str, float]:
    """Return the winner and its margin over the runner-up.

    Ties go to the earliest approach in framework.tie_break (documented in the
    YAML: PaaS first, since the guidance says start with what fits and evolve).
    """
    ranked = sorted(framework.tie_break, key=lambda a: (-scores[a], framework.tie_break.index(a)))
    margin = scores[ranked[0]] - scores[ranked[1]] if len(ranked) > 1 else 0.0
    return ranked[0], margin


def _confidence(answered: int, total: int, margin: float) -> float:
    coverage = answered / total if total else 0.0
    margin_factor = min(1.0, margin / FULL_CONFIDENCE_MARGIN)
    return round(coverage * ((1 - MARGIN_SHARE) + MARGIN_SHARE * margin_factor), 2)


def _dedupe(citations: list[Citation]) -> tuple[Citation, ...]:
    return tuple(dict.fromkeys(citations))


def assess(framework: Framework, answers: Mapping[str, str]) -> Assessment:
    for question_id, value in answers.items():
        validate_answer(framework, question_id, value)
    # Missing questions count as `unsure`: an incomplete assessment still gets
    # an answer, just a less confident one.
    resolved = {q.id: answers.get(q.id, UNSURE) for q in framework.questions}

    scores = {a: 0.0 for a in framework.approaches}
    effects: dict[str, str] = {}
    citations: list[Citation] = []
    answered = 0
    for question in framework.questions:
        option = question.option(resolved[question.id])
        for approach_id, w in option.weights.items():
            scores[approach_id] += w
        if option.value == UNSURE:
            effects[question.id] = (
                f"{question.topic}: not sure → no change, lowers confidence; {option.explanation}"
            )
            continue
        answered += 1
        citations.extend(question.cite)
        effects[question.id] = (
            f"{question.topic}: {option.label} → {_describe_deltas(framework, option.weights)}; "
            f"{option.explanation}"
        )

    fired = [rule for rule in framework.conflicts if rule.matches(resolved)]
    for rule in fired:
        for approach_id, w in rule.adjust.items():
            scores[approach_id] += w

    recommendation, margin = _pick(framework, scores)
    winner = framework.approaches[recommendation]

    conflicts: list[str] = []
    order = framework.question_ids
    for rule in fired:
        text = f"{rule.title}: {rule.message}"
        if any(rule.adjust.values()):
            text += f" (Adjustment: {_describe_deltas(framework, rule.adjust)}.)"
        if rule.favors and rule.favors != recommendation:
            favored = framework.approaches[rule.favors].short
            text += (
                f" Your other answers outweigh this, so the recommendation stays "
                f"{winner.short} rather than {favored}; keep this tension in mind."
            )
        conflicts.append(text)
        # Mention the conflict on the last involved question so the rationale
        # reads top to bottom and each rule is noted once.
        last = max(rule.when, key=order.index)
        others = ", ".join(framework.question(q).topic for q in rule.when if q != last)
        effects[last] += f" Conflicts with your {others} answer — see “{rule.title}”."

    rationale = tuple(
        RationaleLine(question=q, answer=resolved[q], effect=effects[q]) for q in order
    )
    citations.extend(winner.sections.values())
    return Assessment(
        recommendation=recommendation,
        scores=scores,
        confidence=_confidence(answered, len(order), margin),
        rationale=rationale,
        conflicts=tuple(conflicts),
        citations=_dedupe(citations),
    )
