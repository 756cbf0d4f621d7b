"""Scores answers against the framework and explains the recommendation.

Pure: no I/O, no clock, no randomness, so the same answers always give the
same result and every result can be explained line by line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .framework import UNSURE, Citation, Framework, HardRule, Option

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
            msg = f"'{value}' is not a valid answer to '{question_id}'. Valid answers: {', '.join(valid)}"
        super().__init__(msg)


@dataclass(frozen=True)
class RationaleLine:
    question: str  # question id
    answer: str  # option value (unanswered questions appear as `unsure`)
    effect: str  # how this answer moved the result, in plain words


@dataclass(frozen=True)
class Change:
    """One answer that, changed on its own, changes the recommendation."""

    question: str
    from_value: str
    to_value: str
    recommendation: str
    text: str

    def to_dict(self) -> dict[str, str]:
        return {
            "question": self.question,
            "from": self.from_value,
            "to": self.to_value,
            "recommendation": self.recommendation,
            "text": self.text,
        }


@dataclass(frozen=True)
class Assessment:
    recommendation: str
    scores: Mapping[str, float]
    confidence: float
    rationale: tuple[RationaleLine, ...]
    conflicts: tuple[str, ...]
    citations: tuple[Citation, ...]
    rules: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    what_would_change: tuple[Change, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "recommendation": self.recommendation,
            "scores": dict(self.scores),
            "confidence": self.confidence,
            "rationale": [{"question": r.question, "answer": r.answer, "effect": r.effect} for r in self.rationale],
            "conflicts": list(self.conflicts),
            "rules": list(self.rules),
            "excluded": list(self.excluded),
            "what_would_change": [c.to_dict() for c in self.what_would_change],
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


def _rank(framework: Framework, scores: Mapping[str, float], allowed: set[str] | None = None) -> list[str]:
    """Approaches best first. Ties go to the earliest approach in framework.tie_break
    (documented in the YAML: PaaS first, since the guidance says start with what fits and
    evolve)."""
    candidates = [a for a in framework.tie_break if allowed is None or a in allowed]
    return sorted(candidates, key=lambda a: (-scores[a], framework.tie_break.index(a)))


def _pick(framework: Framework, scores: Mapping[str, float], allowed: set[str]) -> tuple[str, float]:
    """The winner among the approaches the rules allow, and its margin over the runner-up.
    A winner that is the only one allowed has nothing to be close to: full margin."""
    ranked = _rank(framework, scores, allowed)
    margin = scores[ranked[0]] - scores[ranked[1]] if len(ranked) > 1 else FULL_CONFIDENCE_MARGIN
    return ranked[0], margin


@dataclass(frozen=True)
class _Verdict:
    scores: dict[str, float]
    fired_rules: tuple[HardRule, ...]
    allowed: set[str]
    recommendation: str
    margin: float


def _verdict(framework: Framework, resolved: Mapping[str, str]) -> _Verdict:
    scores = {a: 0.0 for a in framework.approaches}
    for question in framework.questions:
        for approach_id, w in question.option(resolved[question.id]).weights.items():
            scores[approach_id] += w
    for rule in framework.conflicts:
        if rule.matches(resolved):
            for approach_id, w in rule.adjust.items():
                scores[approach_id] += w
    # Hard rules come after scoring: weights say what an answer favours, a rule says what the
    # guidance does not allow at all, and no sum of other answers may buy that back.
    fired = tuple(r for r in framework.rules if r.matches(resolved))
    excluded = {a for r in fired for a in r.excludes}
    allowed = set(framework.approaches) - excluded
    recommendation, margin = _pick(framework, scores, allowed)
    return _Verdict(scores, fired, allowed, recommendation, margin)


def _change_text(framework: Framework, question_id: str, old: str, new: str, recommendation: str) -> str:
    question = framework.question(question_id)
    was = "not sure" if old == UNSURE else f"“{question.option(old).label}”"
    return (
        f"{question.topic}: “{question.option(new).label}” instead of {was} → "
        f"{framework.approaches[recommendation].short}"
    )


def what_would_change(framework: Framework, resolved: Mapping[str, str], current: str) -> tuple[Change, ...]:
    """The single answers that, changed, give another recommendation, in question order.
    Answers changed *to* not sure are left out: they only ever remove information."""
    changes = []
    for question in framework.questions:
        old = resolved[question.id]
        for option in question.options:
            if option.value in (old, UNSURE):
                continue
            other = _verdict(framework, {**resolved, question.id: option.value}).recommendation
            if other != current:
                changes.append(
                    Change(
                        question.id,
                        old,
                        option.value,
                        other,
                        _change_text(framework, question.id, old, option.value, other),
                    )
                )
    return tuple(changes)


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

    verdict = _verdict(framework, resolved)
    scores = verdict.scores
    effects: dict[str, str] = {}
    citations: list[Citation] = []
    answered = 0
    for question in framework.questions:
        option = question.option(resolved[question.id])
        if option.value == UNSURE:
            effects[question.id] = f"{question.topic}: not sure → no change, lowers confidence; {option.explanation}"
            continue
        answered += 1
        citations.extend(question.cite)
        effects[question.id] = (
            f"{question.topic}: {option.label} → {_describe_deltas(framework, option.weights)}; {option.explanation}"
        )

    fired = [rule for rule in framework.conflicts if rule.matches(resolved)]
    recommendation, margin = verdict.recommendation, verdict.margin
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

    top_score = _rank(framework, scores)[0]
    rules: list[str] = []
    for rule in verdict.fired_rules:
        names = " and ".join(framework.approaches[a].short for a in rule.excludes)
        where = "; ".join(f"{c.document} › {c.section.replace(' > ', ' › ')}" for c in rule.cite)
        text = f"{rule.title}: {rule.message} This rules out {names} ({where})."
        if top_score in rule.excludes:
            text += (
                f" It decided the recommendation: on scores alone "
                f"{framework.approaches[top_score].short} would have come first."
            )
        rules.append(text)
        citations.extend(rule.cite)
        last = max(rule.when, key=order.index)
        effects[last] += f" Rule “{rule.title}” rules out {names}."

    rationale = tuple(RationaleLine(question=q, answer=resolved[q], effect=effects[q]) for q in order)
    citations.extend(winner.sections.values())
    return Assessment(
        recommendation=recommendation,
        scores=scores,
        confidence=_confidence(answered, len(order), margin),
        rationale=rationale,
        conflicts=tuple(conflicts),
        citations=_dedupe(citations),
        rules=tuple(rules),
        excluded=tuple(a for a in framework.tie_break if a not in verdict.allowed),
        what_would_change=what_would_change(framework, resolved, recommendation),
    )
