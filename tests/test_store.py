"""The bot's SQLite store: dedupe across restarts, pruning, feedback, audit."""

from __future__ import annotations

from bot.store import Store


def test_event_dedupe_survives_a_new_store_and_old_ids_are_pruned(tmp_path):
    path = tmp_path / "advisor.db"
    assert Store(path).claim_event("Ev1")
    again = Store(path)  # a restarted bot
    assert not again.claim_event("Ev1") and again.claim_event("Ev2")
    with again.db.atomic():
        again.db.execute("update slack_events set at = '2000-01-01T00:00:00.000+00:00' where event_id = 'Ev1'")
    assert again.prune_events() == 1
    assert [r["event_id"] for r in again.db["slack_events"].rows] == ["Ev2"]


def test_feedback_replaces_a_users_earlier_vote_and_needs_a_known_answer(tmp_path):
    store = Store(tmp_path / "advisor.db")
    answer_id = store.log_answer({"question": "q", "backend": "extractive"}, hash_questions=False)
    assert store.record_feedback(answer_id, "U1", "helpful")
    assert store.record_feedback(answer_id, "U1", "not_helpful")
    assert store.record_feedback(answer_id, "U2", "helpful")
    assert sorted((r["user"], r["value"]) for r in store.feedback(answer_id)) == [
        ("U1", "not_helpful"),
        ("U2", "helpful"),
    ]
    assert not store.record_feedback("nope", "U1", "helpful")


def test_concurrent_writers_wait_instead_of_failing(tmp_path):
    """Fifty threads writing at once (a burst of Slack events): none sees 'database is locked'."""
    import threading

    store = Store(tmp_path / "advisor.db")
    errors: list[Exception] = []

    def work(n: int) -> None:
        try:
            assert store.claim_event(f"Ev{n}")
            answer_id = store.log_answer({"question": f"q{n}", "backend": "extractive"}, hash_questions=False)
            store.add_message(f"conv{n % 5}", "user", "hello", answer_id)
            store.record_feedback(answer_id, f"U{n}", "helpful")
        except Exception as exc:  # noqa: BLE001 — collected: the assertion below names them
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.db.execute("select count(*) from answers").fetchone()[0] == 50
