from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from bot.assessment.engine import InvalidAnswer, assess, validate_answer
from bot.assessment.framework import (
    CONTRACT_QUESTIONS,
    UNSURE,
    Citation,
    FrameworkError,
    load_framework,
    parse_framework,
)

SHIPPED = Path(__file__).resolve().parent.parent / "knowledge" / "assessment.yaml"
APPROACHES = {"paas", "self_hosted", "hybrid"}


@pytest.fixture(scope="module")
def fw():
    return load_framework(SHIPPED)


def profile(mlops: str, residency: str, timeline: str, scale: str, diff: str) -> dict[str, str]:
    return {
        "mlops_expertise": mlops,
        "data_residency": residency,
        "timeline": timeline,
        "scale": scale,
        "differentiation": diff,
    }


ALL_PAAS = profile("no", "no", "weeks", "low", "generic")
ALL_SELF_HOSTED = profile("yes", "yes", "months", "high", "specialized")


def test_every_contract_combination_gives_a_complete_result(fw):
    ids = list(CONTRACT_QUESTIONS)
    value_sets = [CONTRACT_QUESTIONS[q] + (UNSURE,) for q in ids]
    combos = list(itertools.product(*value_sets))
    assert len(combos) == 324
    seen = set()
    for combo in combos:
        answers = dict(zip(ids, combo))
        result = assess(fw, answers)
        assert result.recommendation in APPROACHES, answers
        assert set(result.scores) == APPROACHES, answers
        assert 0.0 <= result.confidence <= 1.0, answers
        assert [r.question for r in result.rationale] == list(fw.question_ids)
        assert all(r.effect for r in result.rationale)
        allowed = [a for a in APPROACHES if a not in result.excluded]
        assert result.recommendation in allowed, answers
        assert result.scores[result.recommendation] == max(result.scores[a] for a in allowed)
        for change in result.what_would_change:  # each listed change really changes the result
            changed = assess(fw, {**answers, change.question: change.to_value})
            assert changed.recommendation == change.recommendation != result.recommendation
        json.dumps(result.to_dict())
        seen.add(result.recommendation)
    assert seen == APPROACHES  # every approach is reachable


def test_all_paas_directions_recommend_paas(fw):
    result = assess(fw, ALL_PAAS)
    assert result.recommendation == "paas"
    assert result.confidence >= 0.8
    assert result.conflicts == ()


def test_all_self_hosting_directions_recommend_self_hosted(fw):
    result = assess(fw, ALL_SELF_HOSTED)
    assert result.recommendation == "self_hosted"
    assert result.confidence >= 0.8


@pytest.mark.parametrize(
    "answers",
    [
        profile("yes", "yes", "weeks", "high", "generic"),
        profile("yes", "yes", "weeks", "high", "specialized"),
        profile("yes", "yes", "weeks", "medium", "specialized"),
        profile("yes", "no", "weeks", "high", "specialized"),
        profile("no", "yes", "weeks", "medium", "specialized"),
    ],
)
def test_mixed_enterprise_profiles_recommend_hybrid(fw, answers):
    result = assess(fw, answers)
    assert result.recommendation == "hybrid"
    assert result.conflicts  # the mix is explained, not silent


def test_no_mlops_never_recommends_self_hosting(fw):
    ids = list(CONTRACT_QUESTIONS)
    for combo in itertools.product(*[CONTRACT_QUESTIONS[q] + (UNSURE,) for q in ids[1:]]):
        answers = dict(zip(ids, ("no",) + combo))
        assert assess(fw, answers).recommendation != "self_hosted", answers


def test_conflicts_are_reported_and_mentioned_in_rationale(fw):
    answers = profile("no", "yes", "weeks", "high", "unsure")
    result = assess(fw, answers)
    fired = {rule.id: rule for rule in fw.conflicts if rule.matches(answers)}
    assert {"residency_without_mlops", "residency_vs_weeks", "scale_without_mlops"} <= set(fired)
    assert len(result.conflicts) == len(fired)
    for rule in fired.values():
        assert any(rule.message in c for c in result.conflicts)
        assert any(rule.title in line.effect for line in result.rationale)


def test_outweighed_conflict_says_so(fw):
    # scale_without_mlops favors PaaS; with residency and weeks the result is hybrid.
    result = assess(fw, profile("no", "yes", "weeks", "high", "specialized"))
    assert result.recommendation == "hybrid"
    [note] = [c for c in result.conflicts if c.startswith("High scale vs. no MLOps")]
    assert "outweigh" in note and "hybrid" in note


def test_conflict_adjustments_change_scores(fw):
    answers = profile("no", "yes", "unsure", "unsure", "unsure")
    result = assess(fw, answers)
    raw = {a: 0.0 for a in APPROACHES}
    for q, v in answers.items():
        for a, w in fw.question(q).option(v).weights.items():
            raw[a] += w
    rule = next(r for r in fw.conflicts if r.id == "residency_without_mlops")
    assert result.scores == {a: raw[a] + rule.adjust[a] for a in APPROACHES}


def test_rationale_effect_describes_the_weights(fw):
    result = assess(fw, ALL_PAAS)
    line = result.rationale[0]
    weight = fw.question("mlops_expertise").option("no").weights["paas"]
    assert line.answer == "no"
    assert f"+{weight:g} PaaS" in line.effect
    assert fw.question("mlops_expertise").option("no").explanation in line.effect


def test_missing_answers_count_as_unsure(fw):
    partial = {"mlops_expertise": "yes", "scale": "high"}
    explicit = {**{q: UNSURE for q in fw.question_ids}, **partial}
    assert assess(fw, partial).to_dict() == assess(fw, explicit).to_dict()
    assert [r.answer for r in assess(fw, partial).rationale] == [explicit[q] for q in fw.question_ids]


def test_all_unsure_is_paas_with_zero_confidence(fw):
    result = assess(fw, {})
    assert result.recommendation == "paas"  # tie-break: start simple, evolve
    assert result.confidence == 0.0
    assert set(result.scores.values()) == {0.0}


def test_unsure_answers_lower_confidence(fw):
    full = assess(fw, ALL_SELF_HOSTED).confidence
    partly = assess(fw, {**ALL_SELF_HOSTED, "timeline": UNSURE}).confidence
    mostly = assess(fw, {**ALL_SELF_HOSTED, "timeline": UNSURE, "scale": UNSURE, "differentiation": UNSURE}).confidence
    assert full > partly > mostly > 0


def test_small_margin_lowers_confidence(fw):
    clear = assess(fw, ALL_PAAS)
    close = assess(fw, profile("no", "no", "months", "high", "specialized"))
    assert sorted(close.scores.values())[-1] - sorted(close.scores.values())[-2] < 1
    assert close.confidence < clear.confidence


def test_citations_cover_answered_questions_and_recommended_approach(fw):
    answers = {**ALL_PAAS, "scale": UNSURE}
    result = assess(fw, answers)
    for qid, value in answers.items():
        for cite in fw.question(qid).cite:
            if value != UNSURE:
                assert cite in result.citations
    assert fw.question("scale").cite[0] not in result.citations
    for section in fw.approaches["paas"].sections.values():
        assert section in result.citations
    assert len(result.citations) == len(set(result.citations))
    assert all(isinstance(c, Citation) for c in result.citations)


def test_to_dict_shape(fw):
    data = assess(fw, ALL_PAAS).to_dict()
    assert set(data) == {
        "recommendation",
        "scores",
        "confidence",
        "rationale",
        "conflicts",
        "citations",
        "rules",
        "excluded",
        "what_would_change",
    }
    assert set(data["rationale"][0]) == {"question", "answer", "effect"}
    assert set(data["citations"][0]) == {"document", "section"}


def test_invalid_question_lists_valid_ids(fw):
    with pytest.raises(InvalidAnswer) as info:
        assess(fw, {"budget": "big"})
    assert info.value.question_id == "budget"
    assert info.value.valid == fw.question_ids
    assert "mlops_expertise" in str(info.value) and "differentiation" in str(info.value)


def test_invalid_value_lists_valid_values(fw):
    with pytest.raises(InvalidAnswer) as info:
        assess(fw, {"timeline": "years"})
    assert info.value.valid == ("weeks", "months", UNSURE)
    assert "weeks, months, unsure" in str(info.value)
    with pytest.raises(InvalidAnswer):
        validate_answer(fw, "scale", "enormous")
    assert validate_answer(fw, "scale", "high").value == "high"


def test_assess_is_deterministic_and_does_not_mutate_answers(fw):
    answers = profile("yes", "yes", "weeks", "high", "generic")
    snapshot = dict(answers)
    assert assess(fw, answers) == assess(fw, answers)
    assert answers == snapshot


TIE_YAML = """
version: 1
tie_break: [{order}]
approaches:
{approaches}
questions:
{questions}
conflicts: []
"""


def _tie_framework(order: str):
    approaches = "\n".join(
        f"  {a}:\n    title: {a}\n    short: {a}\n    document: d.md\n    sections:\n"
        + "".join(f"      {k}: 'S > {k}'\n" for k in ("what", "pros", "cons", "when"))
        for a in ("paas", "self_hosted", "hybrid")
    )
    questions = ""
    for qid, values in CONTRACT_QUESTIONS.items():
        questions += (
            f"  - id: {qid}\n    topic: {qid}\n    prompt: {qid}?\n    help: h\n"
            f"    cite: [{{document: d.md, section: 'Q > {qid}'}}]\n    policy_query: q\n    options:\n"
        )
        for v in values + (UNSURE,):
            # Every option scores all approaches equally: every result is a tie.
            questions += (
                f"      - {{value: '{v}', label: '{v}', description: d, explanation: e,"
                f" weights: {{paas: 1, self_hosted: 1, hybrid: 1}}}}\n"
                if v != UNSURE
                else f"      - {{value: '{v}', label: '{v}', description: d, explanation: e, weights: {{}}}}\n"
            )
    return parse_framework(TIE_YAML.format(order=order, approaches=approaches, questions=questions))


def test_ties_follow_the_documented_tie_break_order():
    answers = profile("yes", "yes", "weeks", "high", "generic")
    assert assess(_tie_framework("paas, hybrid, self_hosted"), answers).recommendation == "paas"
    assert assess(_tie_framework("self_hosted, paas, hybrid"), answers).recommendation == "self_hosted"
    assert assess(_tie_framework("hybrid, self_hosted, paas"), answers).recommendation == "hybrid"


# --- hard rules ----------------------------------------------------------------------------------


def test_strict_residency_never_gives_pure_paas(fw):
    """The guidance answers strict residency with "self-hosted, or a hybrid with careful PaaS
    boundaries": no combination of other answers may buy PaaS back."""
    ids = list(CONTRACT_QUESTIONS)
    others = [q for q in ids if q != "data_residency"]
    for combo in itertools.product(*[CONTRACT_QUESTIONS[q] + (UNSURE,) for q in others]):
        answers = {**dict(zip(others, combo)), "data_residency": "yes"}
        assert assess(fw, answers).recommendation != "paas", answers


def test_residency_without_mlops_and_everything_else_paas_is_hybrid_and_says_which_rule(fw):
    answers = profile("no", "yes", "weeks", "low", "generic")
    result = assess(fw, answers)
    assert result.recommendation == "hybrid"
    assert result.scores["paas"] > result.scores["hybrid"]  # on scores alone PaaS would have won
    assert set(result.excluded) == {"paas", "self_hosted"}
    decided = [r for r in result.rules if "decided the recommendation" in r]
    assert len(decided) == 1 and decided[0].startswith("Strict data residency rules out pure PaaS")
    assert "Question 2: Data residency" in decided[0]
    residency = next(line for line in result.rationale if line.question == "data_residency")
    assert "rules out PaaS" in residency.effect
    assert (
        Citation("strategy/genai-implementation-approaches.md", "Decision Framework > Question 2: Data residency")
        in result.citations
    )


def test_rules_quote_sections_that_exist(fw):
    from bot.assessment.report import build_report  # noqa: F401 - the report carries rules as they are

    headings = set(_headings())
    for rule in fw.rules:
        assert rule.cite, rule.id
        for citation in rule.cite:
            assert (citation.document, citation.section) in headings, citation


def _headings():
    """(document, "A > B") for every heading below a document title in knowledge/strategy."""
    root = SHIPPED.parent
    for path in (root / "strategy").glob("*.md"):
        stack: list[str] = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("## ") or line.startswith("### "):
                level = line.index(" ") - 2
                stack = stack[:level] + [line.split(" ", 1)[1].strip()]
                yield str(path.relative_to(root)), " > ".join(stack)


def test_rules_that_would_exclude_every_approach_are_refused():
    text = (
        SHIPPED.read_text(encoding="utf-8")
        + """
  - id: nothing_left
    title: "Too strict"
    when: {data_residency: "yes"}
    excludes: [hybrid, self_hosted]
    message: "x"
    cite:
      - {document: strategy/genai-implementation-approaches.md, section: "Decision Framework"}
"""
    )
    with pytest.raises(FrameworkError, match="exclude every approach"):
        parse_framework(text, "assessment.yaml")


# --- what would change the answer ----------------------------------------------------------------


def test_what_would_change_lists_single_changes_that_flip_the_result(fw):
    answers = profile("yes", "no", "weeks", "high", "specialized")
    result = assess(fw, answers)
    changes = {(c.question, c.to_value): c.recommendation for c in result.what_would_change}
    assert changes, result
    for (question, value), recommendation in changes.items():
        assert assess(fw, {**answers, question: value}).recommendation == recommendation
    # and nothing that would not change it is listed
    for question in fw.questions:
        for option in question.options:
            if option.value in (answers[question.id], UNSURE) or (question.id, option.value) in changes:
                continue
            assert assess(fw, {**answers, question.id: option.value}).recommendation == result.recommendation
    data = result.to_dict()["what_would_change"][0]
    assert set(data) >= {"question", "from", "to", "recommendation"}
