"""The bot's own SQLite database: audit log, conversations, feedback, Slack event dedupe,
admin actions. Every answer is logged here, like simonw/llm logs every prompt."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import sqlite_utils

from ingest.sqlite import connect, write_transaction


def utcnow() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def new_id() -> str:
    return uuid.uuid4().hex[:12]


class Store:
    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._ensure_schema()

    @property
    def db(self) -> sqlite_utils.Database:
        """One connection per thread (listeners run on worker threads)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = self.connect()
        return db

    def connect(self) -> sqlite_utils.Database:
        return connect(self.path)

    def _ensure_schema(self) -> None:
        db = self.db
        tables = set(db.table_names())
        if "answers" not in tables:
            db["answers"].create(
                {
                    "id": str,
                    "at": str,
                    "user": str,
                    "channel": str,
                    "conversation": str,
                    "question": str,
                    "question_hash": str,
                    "backend": str,
                    "route": str,
                    "route_reason": str,
                    "abstained": int,
                    "source_ids": str,
                    "latency_ms": float,
                    "prompt_tokens": int,
                    "completion_tokens": int,
                    "error": str,
                    "answer": str,
                },
                pk="id",
            )
        if "messages" not in tables:
            db["messages"].create(
                {"id": int, "conversation": str, "at": str, "role": str, "text": str, "answer_id": str},
                pk="id",
            )
            db["messages"].create_index(["conversation"])
        if "feedback" not in tables:
            db["feedback"].create({"id": int, "at": str, "answer_id": str, "user": str, "value": str}, pk="id")
            db["feedback"].create_index(["answer_id", "user"], unique=True)
        if "reason" not in db["feedback"].columns_dict:
            db["feedback"].add_column("reason", str)
        if "slack_events" not in tables:
            db["slack_events"].create({"event_id": str, "at": str}, pk="event_id")
        if "assessment_origins" not in tables:
            db["assessment_origins"].create({"session_id": str, "channel": str, "at": str}, pk="session_id")
        if "admin_audit" not in tables:
            db["admin_audit"].create(
                {"id": int, "at": str, "user": str, "action": str, "allowed": int, "detail": str}, pk="id"
            )

    # --- answers -------------------------------------------------------------------------

    def log_answer(self, record: dict[str, Any], hash_questions: bool) -> str:
        record = dict(record)
        record.setdefault("id", new_id())
        record.setdefault("at", utcnow())
        question = record.get("question") or ""
        record["question_hash"] = hashlib.sha256(question.encode("utf-8")).hexdigest()
        if hash_questions:
            record["question"] = None
            record["answer"] = None
        if isinstance(record.get("source_ids"), (list, tuple)):
            record["source_ids"] = json.dumps(record["source_ids"])
        with write_transaction(self.db):
            self.db["answers"].insert(record, pk="id", alter=True)
        return record["id"]

    def answers(self, limit: int = 50) -> list[dict]:
        return list(self.db.query("select * from answers order by at desc limit ?", [limit]))

    def answer(self, answer_id: str) -> dict | None:
        rows = list(self.db.query("select * from answers where id = ?", [answer_id]))
        return rows[0] if rows else None

    # --- conversations -------------------------------------------------------------------

    def add_message(self, conversation: str, role: str, text: str, answer_id: str | None = None) -> None:
        with write_transaction(self.db):
            self.db["messages"].insert(
                {"conversation": conversation, "at": utcnow(), "role": role, "text": text, "answer_id": answer_id}
            )

    def history(self, conversation: str, limit: int = 10) -> list[dict]:
        rows = list(
            self.db.query(
                "select role, text from messages where conversation = ? order by id desc limit ?",
                [conversation, limit],
            )
        )
        return rows[::-1]

    def has_conversation(self, conversation: str) -> bool:
        return bool(self.db.execute("select 1 from messages where conversation = ? limit 1", [conversation]).fetchone())

    # --- feedback ------------------------------------------------------------------------

    def record_feedback_reason(self, answer_id: str, user: str, reason: str) -> bool:
        """What was wrong with an answer the user voted down; False without such a vote."""
        with write_transaction(self.db):
            cursor = self.db.execute(
                "update feedback set reason = ? where answer_id = ? and user = ? and value = 'not_helpful'",
                [reason, answer_id, user],
            )
        return cursor.rowcount > 0

    def record_feedback(self, answer_id: str, user: str, value: str) -> bool:
        """Store a vote; a user's later vote on the same answer replaces the earlier one.
        Returns False when the answer is unknown."""
        if self.answer(answer_id) is None:
            return False
        with write_transaction(self.db):
            self.db.execute(
                "insert into feedback (at, answer_id, user, value) values (?, ?, ?, ?) "
                "on conflict(answer_id, user) do update set value = excluded.value, at = excluded.at",
                [utcnow(), answer_id, user, value],
            )
        return True

    def feedback(self, answer_id: str) -> list[dict]:
        return list(self.db.query("select * from feedback where answer_id = ?", [answer_id]))

    # --- Slack event dedupe ----------------------------------------------------------------

    def claim_event(self, event_id: str) -> bool:
        """True the first time an event id is seen, in this process or any earlier one."""
        try:
            with write_transaction(self.db):
                self.db.execute("insert into slack_events (event_id, at) values (?, ?)", [event_id, utcnow()])
            return True
        except sqlite3.IntegrityError:
            return False

    def prune_events(self, older_than_hours: float = 48) -> int:
        """Slack stops retrying an event within minutes; ids older than this can go."""
        cutoff = datetime.now(timezone.utc).timestamp() - older_than_hours * 3600
        cutoff_iso = datetime.fromtimestamp(cutoff, timezone.utc).isoformat(timespec="milliseconds")
        with write_transaction(self.db):
            return self.db.execute("delete from slack_events where at < ?", [cutoff_iso]).rowcount

    # --- where an assessment was asked for (a chat shell shares the result there) ----------

    def set_assessment_origin(self, session_id: str, channel: str) -> None:
        with write_transaction(self.db):
            self.db["assessment_origins"].upsert(
                {"session_id": session_id, "channel": channel, "at": utcnow()}, pk="session_id"
            )

    def assessment_origin(self, session_id: str) -> str | None:
        row = self.db.execute("select channel from assessment_origins where session_id = ?", [session_id]).fetchone()
        return row[0] if row else None

    # --- admin audit ---------------------------------------------------------------------

    def log_admin(self, user: str, action: str, allowed: bool, detail: str = "") -> None:
        with write_transaction(self.db):
            self.db["admin_audit"].insert(
                {"at": utcnow(), "user": user, "action": action, "allowed": int(allowed), "detail": detail}
            )

    def admin_actions(self, limit: int = 50) -> list[dict]:
        return list(self.db.query("select * from admin_audit order by id desc limit ?", [limit]))
