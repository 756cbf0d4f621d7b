from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from bot.assessment.framework import (
    CONTRACT_APPROACHES,
    CONTRACT_QUESTIONS,
    UNSURE,
    FrameworkError,
    FrameworkProvider,
    load_framework,
    parse_framework,
)

ROOT = Path(__file__).resolve().parent.parent
KNOWLEDGE = ROOT / "knowledge"
SHIPPED = KNOWLEDGE / "assessment.yaml"
TEXT = SHIPPED.read_text(encoding="utf-8")


def line_of(text: str, needle: str, after: str | None = None) -> int:
    """1-based line of the first `needle` (optionally the first after `after`)."""
    start = text.index(after) if after else 0
    return text[: text.index(needle, start)].count("\n") + 1


def broken(old: str, new: str, after: str | None = None) -> str:
    start = TEXT.index(after) if after else 0
    at = TEXT.index(old, start)
    return TEXT[:at] + new + TEXT[at + len(old) :]


def parse_error(text: str) -> FrameworkError:
    with pytest.raises(FrameworkError) as info:
        parse_framework(text, source="assessment.yaml")
    return info.value


# ---------------------------------------------------------------- shipped file


def test_shipped_file_loads_with_contract_questions_and_values():
    fw = load_framework(SHIPPED)
    assert isinstance(fw.version, int)
    assert tuple(fw.approaches) == CONTRACT_APPROACHES
    assert set(CONTRACT_QUESTIONS) <= set(fw.question_ids)
    for qid, values in CONTRACT_QUESTIONS.items():
        q = fw.question(qid)
        assert set(values) | {UNSURE} <= set(q.values)
        assert q.prompt and q.help and q.policy_query and q.cite
        assert all(v == 0 for v in q.option(UNSURE).weights.values())
        for opt in q.options:
            assert set(opt.weights) == set(CONTRACT_APPROACHES)
            assert opt.label and opt.description and opt.explanation
    assert sorted(fw.tie_break) == sorted(CONTRACT_APPROACHES)


def test_shipped_conflicts_cover_the_known_tensions():
    fw = load_framework(SHIPPED)
    combos = [dict((q, v[0]) for q, v in rule.when.items()) for rule in fw.conflicts]
    assert {"data_residency": "yes", "mlops_expertise": "no"} in combos
    assert {"timeline": "weeks", "differentiation": "specialized"} in combos
    assert {"scale": "high", "mlops_expertise": "no"} in combos
    assert all(rule.message for rule in fw.conflicts)


def _heading_paths(markdown: str) -> set[str]:
    """Heading paths below the document title, e.g. 'Decision Framework > Question 1: …'."""
    paths: set[str] = set()
    stack: list[str] = []
    for match in re.finditer(r"^(#{2,6})\s+(.+?)\s*$", markdown, flags=re.M):
        depth = len(match.group(1)) - 2
        stack = stack[:depth] + [match.group(2)]
        paths.add(" > ".join(stack))
    return paths


def test_every_citation_points_at_an_existing_heading():
    fw = load_framework(SHIPPED)
    cites = [c for q in fw.questions for c in q.cite]
    cites += [c for a in fw.approaches.values() for c in a.sections.values()]
    for cite in cites:
        doc = KNOWLEDGE / cite.document
        if not doc.exists():
            pytest.skip(f"{cite.document} not present in this checkout")
        assert cite.section in _heading_paths(doc.read_text(encoding="utf-8")), cite


# ----------------------------------------------------------- malformed variants


def test_yaml_syntax_error_reports_line():
    text = broken("    topic: Timeline\n", "    topic: Timeline: soon\n")
    err = parse_error(text)
    assert err.line == line_of(text, "topic: Timeline: soon")
    assert "YAML syntax error" in err.reason
    assert str(err).startswith(f"assessment.yaml:{err.line}: ")


def test_unknown_approach_in_weights():
    old = "weights: {paas: 3, self_hosted: 0, hybrid: 0}"
    text = broken(old, "weights: {paas: 3, on_prem: 1}", after="value: generic")
    err = parse_error(text)
    assert err.line == line_of(text, "on_prem")
    assert "unknown approach 'on_prem'" in err.reason


def test_missing_contract_value():
    text = broken("value: months", "value: quarters")
    err = parse_error(text)
    assert err.line == line_of(text, "options:", after="id: timeline")
    assert "missing contract option 'months'" in err.reason


def test_missing_unsure_option():
    text = broken("value: unsure", "value: dunno", after="id: scale")
    err = parse_error(text)
    assert err.line == line_of(text, "options:", after="id: scale")
    assert "'unsure'" in err.reason


def test_duplicate_option_value():
    text = broken("value: medium", "value: low")
    err = parse_error(text)
    assert err.line == line_of(text, '- value: low\n        label: "Medium"')
    assert "duplicate option value 'low'" in err.reason


def test_wrong_type_weight():
    text = broken("{paas: 2, self_hosted: 0, hybrid: 1}", "{paas: lots, self_hosted: 0, hybrid: 1}")
    err = parse_error(text)
    assert err.line == line_of(text, "paas: lots")
    assert "must be a number" in err.reason


def test_wrong_type_prompt_not_a_string():
    text = broken('prompt: "How soon do you need production results?"', 'prompt: ["How soon"]')
    err = parse_error(text)
    assert err.line == line_of(text, 'prompt: ["How soon"]')
    assert "must be a string" in err.reason


def test_wrong_type_options_not_a_list():
    start = TEXT.index("    options:\n", TEXT.index("id: timeline"))
    end = TEXT.index("  - id: scale")
    text = TEXT[:start] + "    options: several\n\n" + TEXT[end:]
    err = parse_error(text)
    assert err.line == line_of(text, "options: several")
    assert "must be a list" in err.reason


def test_wrong_type_version():
    text = broken("version: 1\n", "version: first\n")
    err = parse_error(text)
    assert err.line == line_of(text, "version: first")
    assert "integer" in err.reason


def test_unknown_key():
    text = broken("    topic: Timeline\n", "    topic: Timeline\n    colour: blue\n")
    err = parse_error(text)
    assert err.line == line_of(text, "colour: blue")
    assert "unknown key 'colour'" in err.reason


def test_missing_required_key():
    text = broken(
        '    policy_query: "security review approval lead time AI features vendor approval timeline"\n',
        "",
    )
    err = parse_error(text)
    assert "policy_query" in err.reason
    assert err.line == line_of(text, "- id: timeline")


def test_duplicate_question_id():
    block = TEXT[TEXT.index("  - id: timeline") : TEXT.index("  - id: scale")]
    text = TEXT.replace("  - id: scale", block + "  - id: scale")
    err = parse_error(text)
    assert err.line == line_of(text, "- id: timeline", after="id: timeline\n")
    assert "duplicate question id 'timeline'" in err.reason
    assert "timeline" in err.reason


def test_missing_contract_question():
    text = TEXT.replace("id: differentiation", "id: novelty").replace(
        "differentiation: specialized", "novelty: specialized"
    )
    err = parse_error(text)
    assert err.line == line_of(text, "questions:")
    assert "differentiation" in err.reason


def test_conflict_with_unknown_question_and_value():
    text = broken("{timeline: weeks, differentiation: specialized}", "{timeline: weeks, budget: small}")
    err = parse_error(text)
    assert err.line == line_of(text, "budget: small")
    assert "unknown question 'budget'" in err.reason

    text = broken("{timeline: weeks, differentiation: specialized}", "{timeline: days, differentiation: specialized}")
    err = parse_error(text)
    assert err.line == line_of(text, "timeline: days")
    assert "'days'" in err.reason and "weeks" in err.reason


def test_unsure_with_weights_is_rejected():
    text = broken("weights: {}", "weights: {paas: 1}")
    err = parse_error(text)
    assert err.line == line_of(text, "weights: {paas: 1}")


def test_duplicate_mapping_key():
    text = broken("    topic: Timeline\n", "    topic: Timeline\n    topic: Time\n")
    err = parse_error(text)
    assert err.line == line_of(text, "topic: Time\n")
    assert "duplicate key 'topic'" in err.reason


def test_ambiguous_synonym_across_options():
    text = broken('synonyms: ["low",', 'synonyms: ["medium",')
    err = parse_error(text)
    assert "medium" in err.reason


def test_unquoted_yes_no_keep_their_text():
    fw = parse_framework(TEXT.replace('value: "yes"', "value: yes").replace('value: "no"', "value: no"))
    assert set(fw.question("mlops_expertise").values) == {"no", "yes", UNSURE}


def test_empty_file_and_unreadable_file(tmp_path):
    assert parse_error("").line == 1
    with pytest.raises(FrameworkError) as info:
        load_framework(tmp_path / "missing.yaml")
    assert "missing.yaml" in str(info.value)


# --------------------------------------------------------------------- provider


def _write(path: Path, text: str) -> None:
    # Bump mtime explicitly: two writes within the filesystem's timestamp
    # granularity must still count as a change.
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before + 1_000_000_000, before + 1_000_000_000))


def test_provider_keeps_last_valid_framework_and_picks_up_fix(tmp_path):
    path = tmp_path / "assessment.yaml"
    _write(path, TEXT)
    provider = FrameworkProvider(path)
    first = provider.get()
    assert provider.last_error is None
    assert provider.get() is first  # unchanged file is not re-parsed

    bad = broken("value: months", "value: quarters")
    _write(path, bad)
    assert provider.get() is first
    assert isinstance(provider.last_error, FrameworkError)
    assert provider.last_error.line == line_of(bad, "options:", after="id: timeline")
    assert isinstance(provider.reload(), FrameworkError)
    assert provider.get() is first

    _write(path, TEXT.replace("version: 1\n", "version: 2\n"))
    fixed = provider.get()
    assert fixed.version == 2
    assert provider.last_error is None
    assert provider.reload() is None


def test_provider_without_any_valid_framework_raises(tmp_path):
    path = tmp_path / "assessment.yaml"
    _write(path, "questions: [")
    provider = FrameworkProvider(path)
    with pytest.raises(FrameworkError):
        provider.get()
    assert provider.last_error is not None

    _write(path, TEXT)
    assert provider.get().question_ids[0] == "mlops_expertise"


def test_provider_survives_deleted_file(tmp_path):
    path = tmp_path / "assessment.yaml"
    _write(path, TEXT)
    provider = FrameworkProvider(path)
    first = provider.get()
    path.unlink()
    assert provider.get() is first
    assert provider.last_error is not None
