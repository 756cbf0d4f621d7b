from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sqlite_utils

from bot.assessment.engine import assess
from bot.assessment.framework import FrameworkProvider, load_framework
from bot.assessment.sessions import AssessmentError, AssessmentSessions, map_free_text

SHIPPED = Path(__file__).resolve().parent.parent / "knowledge" / "assessment.yaml"
ANSWERS = [
    ("mlops_expertise", "yes"),
    ("data_residency", "yes"),
    ("timeline", "weeks"),
    ("scale", "high"),
    ("differentiation", "generic"),
]


@pytest.fixture()
def provider():
    return FrameworkProvider(SHIPPED)


@pytest.fixture()
def db_path(tmp_path):
    return tmp_path / "advisor.db"


@pytest.fixture()
def sessions(db_path, provider):
    return AssessmentSessions(sqlite_utils.Database(db_path), provider)


def snapshot(sessions: AssessmentSessions, session_id: str):
    return sessions.get(session_id)


def answer_all(sessions, session, answers=ANSWERS, how="button"):
    for qid, value in answers:
        session = sessions.answer(session.id, session.user, qid, value, how)
    return session


def expect_error(code: str, fn, *args, **kwargs) -> AssessmentError:
    with pytest.raises(AssessmentError) as info:
        fn(*args, **kwargs)
    assert info.value.code == code, info.value.message
    return info.value


# -------------------------------------------------------------------- happy path


def test_full_run_produces_engine_result(sessions, provider):
    session = sessions.start("U1", channel="C1", thread_ts="1.2")
    assert len(session.id) == 32 and session.status == "open" and session.step == 0
    assert sessions.current_question(session).id == "mlops_expertise"

    for i, (qid, value) in enumerate(ANSWERS):
        assert sessions.current_question(session).id == qid
        session = sessions.answer(session.id, "U1", qid, value, "button", expected_step=i)
        assert session.version == i + 1

    assert session.status == "finished"
    assert sessions.current_question(session) is None
    assert session.result == assess(provider.get(), dict(ANSWERS)).to_dict()
    assert session.result["recommendation"] == "hybrid"
    assert session.answers == dict(ANSWERS)
    assert session.framework_version == provider.get().version

    [past] = sessions.history("U1")
    assert past.id == session.id and past.result == session.result
    assert sessions.history("U2") == []
    assert sessions.open_for("U1") is None


def test_export_all_lists_every_session(sessions):
    done = answer_all(sessions, sessions.start("U1"))
    open_one = sessions.start("U2")
    sessions.answer(open_one.id, "U2", "mlops_expertise", "no", "text")
    rows = sessions.export_all()
    assert [r["id"] for r in rows] == [done.id, open_one.id]
    assert rows[0]["result"]["recommendation"] == done.result["recommendation"]
    assert rows[1]["answers"][0] == {
        "question_id": "mlops_expertise",
        "value": "no",
        "how": "text",
        "at": rows[1]["answers"][0]["at"],
    }
    json.dumps(rows)


def test_back_reopens_previous_question(sessions):
    session = sessions.start("U1")
    session = sessions.answer(session.id, "U1", "mlops_expertise", "no", "button")
    session = sessions.answer(session.id, "U1", "data_residency", "yes", "button")
    session = sessions.back(session.id, "U1")
    assert session.step == 1
    assert session.answers == {"mlops_expertise": "no"}
    assert sessions.current_question(session).id == "data_residency"
    session = sessions.answer(session.id, "U1", "data_residency", "no", "button")
    assert session.answers == {"mlops_expertise": "no", "data_residency": "no"}


def test_back_at_first_question_is_refused(sessions):
    session = sessions.start("U1")
    expect_error("at_start", sessions.back, session.id, "U1")
    assert snapshot(sessions, session.id) == session


def test_restart_clears_answers(sessions):
    session = sessions.start("U1")
    session = sessions.answer(session.id, "U1", "mlops_expertise", "no", "button")
    session = sessions.restart(session.id, "U1")
    assert session.step == 0 and session.answers == {} and session.status == "open"
    assert answer_all(sessions, session).status == "finished"


def test_cancel(sessions):
    session = sessions.start("U1")
    session = sessions.cancel(session.id, "U1")
    assert session.status == "cancelled"
    assert sessions.open_for("U1") is None
    err = expect_error("cancelled", sessions.answer, session.id, "U1", "mlops_expertise", "no", "button")
    assert "/advisor assess" in err.message
    expect_error("cancelled", sessions.back, session.id, "U1")
    assert snapshot(sessions, session.id) == session
    assert sessions.start("U1").status == "open"  # a new one may begin


def test_start_refuses_second_open_session(sessions):
    first = sessions.start("U1")
    err = expect_error("already_open", sessions.start, "U1")
    assert err.session == first
    assert sessions.open_for("U1") == first
    assert sessions.start("U2").user == "U2"  # other users are unaffected


def test_resume_after_reopening_database(db_path, provider):
    first = AssessmentSessions(sqlite_utils.Database(db_path), provider)
    session = first.start("U1")
    first.answer(session.id, "U1", "mlops_expertise", "yes", "button")
    first.db.conn.close()

    second = AssessmentSessions(sqlite_utils.Database(db_path), provider)
    resumed = second.open_for("U1")
    assert resumed.id == session.id and resumed.step == 1
    assert second.current_question(resumed).id == "data_residency"
    done = answer_all(second, resumed, ANSWERS[1:])
    assert done.status == "finished" and done.answers == dict(ANSWERS)


# ------------------------------------------------------------------ bad inputs


def test_invalid_value_leaves_state_unchanged(sessions):
    session = sessions.start("U1")
    err = expect_error("invalid_value", sessions.answer, session.id, "U1", "mlops_expertise", "maybe", "text")
    assert "Yes (yes)" in err.message and "Not sure (unsure)" in err.message
    expect_error("invalid_question", sessions.answer, session.id, "U1", "budget", "big", "text")
    assert snapshot(sessions, session.id) == session


def test_double_click_records_one_answer(sessions):
    session = sessions.start("U1")
    after_first = sessions.answer(session.id, "U1", "mlops_expertise", "yes", "button", expected_step=0)
    err = expect_error(
        "duplicate", sessions.answer, session.id, "U1", "mlops_expertise", "yes", "button", expected_step=0
    )
    assert "already recorded" in err.message
    assert snapshot(sessions, session.id) == after_first
    assert len(after_first.answer_records) == 1


def test_double_click_on_last_question_is_duplicate_not_finished(sessions):
    session = sessions.start("U1")
    done = answer_all(sessions, session)
    qid, value = ANSWERS[-1]
    expect_error("duplicate", sessions.answer, session.id, "U1", qid, value, "button")
    assert snapshot(sessions, session.id) == done


def test_double_click_from_two_processes(db_path, provider):
    a = AssessmentSessions(sqlite_utils.Database(db_path), provider)
    b = AssessmentSessions(sqlite_utils.Database(db_path), provider)
    session = a.start("U1")
    a.answer(session.id, "U1", "mlops_expertise", "no", "button", expected_step=0)
    expect_error("duplicate", b.answer, session.id, "U1", "mlops_expertise", "no", "button", expected_step=0)
    assert len(b.get(session.id).answer_records) == 1


def test_stale_button_from_earlier_question(sessions):
    session = sessions.start("U1")
    session = sessions.answer(session.id, "U1", "mlops_expertise", "yes", "button")
    session = sessions.answer(session.id, "U1", "data_residency", "no", "button")
    # A different value for an already-answered question is not a double click.
    err = expect_error("stale_step", sessions.answer, session.id, "U1", "mlops_expertise", "no", "button")
    assert err.message.startswith("That button belongs to an earlier question")
    assert "question 3 of 5" in err.message
    err = expect_error("stale_step", sessions.answer, session.id, "U1", "scale", "low", "button")
    assert "isn't up yet" in err.message
    expect_error("stale_step", sessions.answer, session.id, "U1", "timeline", "weeks", "button", expected_step=1)
    assert snapshot(sessions, session.id) == session


def test_someone_elses_session(sessions):
    session = sessions.start("U1")
    err = expect_error("not_owner", sessions.answer, session.id, "U2", "mlops_expertise", "no", "button")
    assert "someone else" in err.message
    for action in (sessions.back, sessions.restart, sessions.cancel):
        expect_error("not_owner", action, session.id, "U2")
    assert snapshot(sessions, session.id) == session


def test_answer_in_finished_session(sessions):
    done = answer_all(sessions, sessions.start("U1"))
    err = expect_error("finished", sessions.answer, done.id, "U1", "mlops_expertise", "no", "button")
    assert err.message == "This assessment is already finished — start a new one with /advisor assess."
    for action in (sessions.back, sessions.restart, sessions.cancel):
        expect_error("finished", action, done.id, "U1")
    assert snapshot(sessions, done.id) == done


def test_unknown_session(sessions):
    expect_error("not_found", sessions.answer, "nope", "U1", "mlops_expertise", "no", "button")
    assert sessions.get("nope") is None


def test_unknown_how_is_a_programming_error(sessions):
    session = sessions.start("U1")
    with pytest.raises(ValueError):
        sessions.answer(session.id, "U1", "mlops_expertise", "no", "carrier-pigeon")


# ------------------------------------------------------------------ free text


def lexical(text: str, descriptions: list[str]) -> list[float]:
    """Jaccard word overlap: a stand-in for embedding cosine similarity."""
    words = set(re.findall(r"[a-z]+", text.lower()))
    scores = []
    for d in descriptions:
        other = set(re.findall(r"[a-z]+", d.lower()))
        scores.append(len(words & other) / len(words | other) if words | other else 0.0)
    return scores


def never_called(text, descriptions):
    raise AssertionError("exact matches must not need similarity")


@pytest.mark.parametrize(
    "qid, text, expected",
    [
        ("mlops_expertise", "yes", "yes"),
        ("mlops_expertise", "Y", "yes"),
        ("mlops_expertise", "Nope.", "no"),
        ("mlops_expertise", "not sure", "unsure"),
        ("data_residency", "Don’t know", "unsure"),
        ("timeline", "Within weeks", "weeks"),
        ("scale", "medium", "medium"),
        ("differentiation", "Highly specialized", "specialized"),
    ],
)
def test_free_text_exact_and_synonyms_are_confident(qid, text, expected):
    question = load_framework(SHIPPED).question(qid)
    assert map_free_text(question, text, never_called) == (expected, 1.0, True)


def test_free_text_uses_similarity_for_descriptive_answers():
    fw = load_framework(SHIPPED)
    value, score, confident = map_free_text(
        fw.question("scale"),
        "millions of requests from customers, heavy predictable traffic",
        lambda t, d: lexical(t, d),
        accept=0.15,
        floor=0.05,
    )
    assert value == "high" and score > 0.15 and confident


def test_free_text_low_similarity_is_not_confident_or_none():
    q = load_framework(SHIPPED).question("timeline")
    value, score, confident = map_free_text(q, "whenever", lexical)
    assert value is None and not confident

    flat = lambda t, d: [0.7] * len(d)  # noqa: E731 - every option equally close
    value, score, confident = map_free_text(q, "hmm", flat)
    assert value is not None and score == 0.7 and not confident


def test_free_text_empty():
    q = load_framework(SHIPPED).question("timeline")
    assert map_free_text(q, "   ", never_called) == (None, 0.0, False)


def test_concurrent_double_clicks_record_exactly_one_answer(db_path, provider):
    import threading

    session = AssessmentSessions(sqlite_utils.Database(db_path), provider).start("U1")
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def click() -> None:
        # Each thread is its own "process": its own connection to the same file.
        own = AssessmentSessions(sqlite_utils.Database(db_path), provider)
        barrier.wait()
        try:
            own.answer(session.id, "U1", "mlops_expertise", "yes", "button", expected_step=0)
            outcomes.append("ok")
        except AssessmentError as exc:
            outcomes.append(exc.code)

    threads = [threading.Thread(target=click) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["duplicate"] * 5 + ["ok"]
    final = AssessmentSessions(sqlite_utils.Database(db_path), provider).get(session.id)
    assert len(final.answer_records) == 1 and final.version == 1
