from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlite_utils

from bot.assessment.engine import assess
from bot.assessment.framework import FrameworkProvider
from bot.assessment.sessions import AssessmentError, AssessmentSessions

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


# ------------------------------------------------------------------ confirmations and what-ifs


def test_pending_confirmation_holds_for_its_step_only(sessions):
    s = sessions.start("u1")
    sessions.set_pending(s.id, "u1", 0, "mlops_expertise", "yes")
    assert sessions.pending(sessions.get(s.id)) == ("mlops_expertise", "yes")
    with pytest.raises(AssessmentError) as info:
        sessions.set_pending(s.id, "u2", 0, "mlops_expertise", "yes")
    assert info.value.code == "not_owner"
    s = sessions.answer(s.id, "u1", "mlops_expertise", "no", "cli")
    assert sessions.pending(s) is None  # answering moves on and drops the question
    with pytest.raises(AssessmentError) as info:
        sessions.reject_pending(s.id, "u1", 0)
    assert info.value.code == "stale_step"


def test_what_if_is_a_new_finished_copy_and_the_original_is_kept(sessions):
    s = sessions.start("u1")
    for q in ("mlops_expertise", "data_residency", "timeline", "scale", "differentiation"):
        s = sessions.answer(s.id, "u1", q, "unsure", "cli")
    before = s.to_dict()
    copy = sessions.what_if(s.id, "u1", "timeline", "months")
    assert copy.id != s.id and copy.status == "finished" and copy.answers["timeline"] == "months"
    assert sessions.get(s.id).to_dict() == before
    assert sessions.what_if_of(copy.id)["parent_id"] == s.id
    assert {h.id for h in sessions.history("u1")} == {s.id, copy.id}
    for user, q, v, code in (
        ("u2", "timeline", "months", "not_owner"),
        ("u1", "timeline", "soon", "invalid_value"),
        ("u1", "budget", "x", "invalid_question"),
        ("u1", "timeline", "unsure", "same_answer"),
    ):
        with pytest.raises(AssessmentError) as info:
            sessions.what_if(s.id, user, q, v)
        assert info.value.code == code


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
