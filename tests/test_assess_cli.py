"""The assessment through the core service and the CLI."""

from __future__ import annotations

import csv
import io
import json

import pytest

from bot.assessment import InvalidAnswer
from bot.core import AdvisorService

from tests.support.cli import run_cli


@pytest.fixture()
def service(built_index, embedder, tmp_path):
    svc = AdvisorService(built_index)
    svc._embedder = embedder
    return svc


def test_report_has_guidance_policies_and_citations(service):
    report = service.assess(
        {
            "mlops_expertise": "yes",
            "data_residency": "yes",
            "timeline": "months",
            "scale": "high",
            "differentiation": "specialized",
        }
    )
    assert report["recommendation"] == "self_hosted"
    assert len(report["rationale"]) == 5 and all(r["effect"] for r in report["rationale"])
    assert "3-6 months" in report["guidance"]["cons"]["text"] or "3–6 months" in report["guidance"]["cons"]["text"]
    assert report["guidance"]["when"]["section"].endswith("When to choose self-hosting")
    assert any(p["source"] == "policies/data-residency.md" for p in report["policies"])
    assert {"document", "section"} <= set(report["citations"][0])


def test_invalid_answers_list_valid_ones(service):
    with pytest.raises(InvalidAnswer, match="Valid questions: mlops_expertise"):
        service.assess({"mlops": "no"})
    with pytest.raises(InvalidAnswer, match="Valid answers: no, yes, unsure"):
        service.assess({"data_residency": "sometimes"})


def test_free_text_maps_to_options(service):
    found = service.interpret_reply("timeline", "we need something in production within a few weeks")
    assert found.value == "weeks"
    assert service.interpret_reply("timeline", "not sure").to_dict() == {
        "value": "unsure",
        "confidence": 1.0,
        "confirm": False,
        "why": "“not sure” names the option “Not sure”",
    }


@pytest.mark.slow  # ingests a fresh copy of the knowledge twice
def test_broken_framework_is_reported_on_ingest_and_last_valid_kept(knowledge_copy, make_settings, embedder):
    svc = AdvisorService(make_settings(ADVISOR_KNOWLEDGE_DIR=knowledge_copy))
    svc._embedder = embedder
    svc.ingest()
    before = svc.frameworks.get()
    path = knowledge_copy / "assessment.yaml"
    path.write_text(path.read_text().replace("questions:", "questions: [", 1))
    report = svc.ingest()
    failure = [f for f in report.failed if f["path"] == "assessment.yaml"]
    assert failure and "line" in failure[0]["error"] and "last valid" in failure[0]["error"]
    assert svc.frameworks.get() is before
    assert svc.assess({"mlops_expertise": "no"})["recommendation"] == "paas"


def _cli(*args, home, stdin=None, user="tester"):
    return run_cli(*args, home=home, stdin=stdin, USER=user, LOGNAME=user)


def test_cli_non_interactive_interactive_history_and_export(built_index):
    home = built_index.home
    out = _cli("assess", "--answer", "mlops_expertise=no", "--answer", "timeline=weeks", "--json", home=home)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert {"recommendation", "scores", "confidence", "rationale", "citations"} <= set(data)
    assert data["recommendation"] == "paas"
    assert [r["answer"] for r in data["rationale"]] == ["no", "unsure", "weeks", "unsure", "unsure"]

    bad = _cli("assess", "--answer", "scale=huge", home=home)
    assert bad.returncode != 0 and "Valid answers: low, medium, high, unsure" in bad.stderr
    malformed = _cli("assess", "--answer", "scale", home=home)
    assert malformed.returncode != 0 and "ID=VALUE" in malformed.stderr

    # The terminal conversation: numbers, a typed reply, back, then a finished result.
    convo = "2\nyes\nback\n1\nwithin weeks\n3\nnot sure\n"
    run = _cli("assess", home=home, stdin=convo)
    assert run.returncode == 0, run.stderr
    assert "Recommendation:" in run.stdout and "Next steps" in run.stdout
    history = json.loads(_cli("assess", "history", "--json", home=home).stdout)
    finished = history[0]
    assert finished["status"] == "finished"
    assert {a["how"] for a in finished["answers"]} == {"cli"}
    assert {a["question_id"]: a["value"] for a in finished["answers"]} == {
        "mlops_expertise": "yes",
        "data_residency": "no",
        "timeline": "weeks",
        "scale": "high",
        "differentiation": "unsure",
    }

    exported = _cli("assessments", "export", "--format", "csv", home=home)
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert any(r["user"] == "cli:tester" and r["status"] == "finished" for r in rows)


def test_cli_interpret_json_and_bad_input(built_index):
    home = built_index.home
    out = _cli("assess", "interpret", "scale", "maybe 200 requests a day", "--json", home=home)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) == {"value", "confidence", "confirm", "why"}
    assert data["value"] == "low" and data["confirm"] is False
    none = json.loads(_cli("assess", "interpret", "timeline", "banana", "--json", home=home).stdout)
    assert none["value"] is None
    for args, expected in (
        (("budget", "yes"), "Valid questions: mlops_expertise"),
        (("scale", ""), "empty"),
        (("scale", "x" * 5000), "at most 500"),
        (("scale", "\x01\x02\x7f"), "isn't readable text"),
    ):
        bad = _cli("assess", "interpret", *args, "--json", home=home)
        assert bad.returncode != 0 and expected in bad.stderr and not bad.stdout


def test_cli_confirmation_accepts_the_option_number(built_index):
    """At "Did you mean …?" typing an option's number answers with that option (it used to be
    'Error: invalid input'); an empty line is refused and the question stays."""
    home = built_index.home
    convo = "nope\n\nwe'd need legal to look at some contracts maybe\n1\n3\n2\nnot sure\n"
    run = _cli("assess", home=home, stdin=convo)
    assert run.returncode == 0, run.stderr
    assert "Did you mean" in run.stdout and "invalid input" not in run.stdout + run.stderr
    assert "That reply is empty" in run.stdout
    history = json.loads(_cli("assess", "history", "--json", home=home).stdout)
    answers = {a["question_id"]: a["value"] for a in history[0]["answers"]}
    assert answers == {
        "mlops_expertise": "no",
        "data_residency": "no",
        "timeline": "unsure",
        "scale": "medium",
        "differentiation": "unsure",
    }
    assert "What would change the answer" in run.stdout


def test_cli_what_if_reruns_a_copy_and_keeps_the_original(built_index):
    home = built_index.home
    user = "whatif"
    nothing = _cli("assess", "what-if", "timeline=months", home=home, user=user)
    assert nothing.returncode != 0 and "No finished assessment" in nothing.stderr
    convo = "no\nyes\nweeks\nlow\ngeneric\n"
    assert _cli("assess", home=home, stdin=convo, user=user).returncode == 0
    original = json.loads(_cli("assess", "history", "--json", home=home, user=user).stdout)[0]

    out = _cli("assess", "what-if", "mlops_expertise=yes", "--json", home=home, user=user)
    assert out.returncode == 0, out.stderr
    rerun = json.loads(out.stdout)
    assert rerun["from_session"] == original["id"] and rerun["session"] != original["id"]
    assert [r["answer"] for r in rerun["rationale"]] == ["yes", "yes", "weeks", "low", "generic"]
    history = json.loads(_cli("assess", "history", "--json", home=home, user=user).stdout)
    kept = next(h for h in history if h["id"] == original["id"])
    assert {a["question_id"]: a["value"] for a in kept["answers"]}["mlops_expertise"] == "no"
    copy = next(h for h in history if h["id"] == rerun["session"])
    assert {a["question_id"]: a["how"] for a in copy["answers"]}["mlops_expertise"] == "cli"

    text = _cli("assess", "what-if", "timeline=months", "--session", original["id"], home=home, user=user)
    assert text.returncode == 0 and "the original is kept" in text.stdout and "Recommendation:" in text.stdout
    for args, expected in (
        (("timeline",), "is not ID=VALUE"),
        (("budget=high",), "I don't have a question called"),
        (("scale=huge",), "huge"),
        (("timeline=weeks", "--session", original["id"]), "already the answer"),
        (("timeline=months", "--session", "nope"), "couldn't find that assessment"),
    ):
        bad = _cli("assess", "what-if", *args, home=home, user=user)
        assert bad.returncode != 0 and expected in bad.stderr and not bad.stdout, (args, bad.stderr)
    other = _cli("assess", "what-if", "timeline=months", "--session", original["id"], home=home, user="someone")
    assert other.returncode != 0 and "belongs to someone else" in other.stderr
