"""Assessment sessions: a per-user state machine persisted in SQLite.

Slack buttons get double-clicked, arrive late and outlive process restarts, so
all state lives in the database and every mutation re-validates the session
inside one write transaction before touching it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterator, Mapping, Sequence

import sqlite_utils

from .engine import InvalidAnswer, assess, validate_answer
from .framework import Framework, FrameworkProvider, Question

OPEN, FINISHED, CANCELLED = "open", "finished", "cancelled"
HOW_VALUES: tuple[str, ...] = ("button", "text", "cli", "confirmed")
START_HINT = "start a new one with /advisor assess"

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS assessment_sessions (
        id TEXT PRIMARY KEY,
        user TEXT NOT NULL,
        channel TEXT,
        thread_ts TEXT,
        status TEXT NOT NULL CHECK (status IN ('open', 'finished', 'cancelled')),
        step INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        result TEXT,
        framework_version INTEGER,
        version INTEGER NOT NULL DEFAULT 0
    )
    """,
    # One open session per user, enforced by the database so that two racing
    # start() calls cannot both succeed.
    """
    CREATE UNIQUE INDEX IF NOT EXISTS assessment_sessions_one_open
        ON assessment_sessions (user) WHERE status = 'open'
    """,
    """
    CREATE INDEX IF NOT EXISTS assessment_sessions_user_status
        ON assessment_sessions (user, status, updated_at)
    """,
    # One current answer per question: going back deletes the answer, so the
    # primary key doubles as a last-line guard against double-recorded clicks.
    """
    CREATE TABLE IF NOT EXISTS assessment_answers (
        session_id TEXT NOT NULL REFERENCES assessment_sessions (id),
        question_id TEXT NOT NULL,
        value TEXT NOT NULL,
        how TEXT NOT NULL CHECK (how IN ('button', 'text', 'cli', 'confirmed')),
        at TEXT NOT NULL,
        PRIMARY KEY (session_id, question_id)
    )
    """,
    # A "Did you mean …?" waiting for its answer, so a typed "yes" (or a click, or a restart of
    # the process) can settle it; it holds for one step only.
    """
    CREATE TABLE IF NOT EXISTS assessment_pending (
        session_id TEXT PRIMARY KEY REFERENCES assessment_sessions (id),
        step INTEGER NOT NULL,
        question_id TEXT NOT NULL,
        value TEXT NOT NULL,
        at TEXT NOT NULL
    )
    """,
    # A result re-run with one answer changed ("what would change"): a copy, so the original
    # stays in the history as it was.
    """
    CREATE TABLE IF NOT EXISTS assessment_what_if (
        session_id TEXT PRIMARY KEY REFERENCES assessment_sessions (id),
        parent_id TEXT NOT NULL REFERENCES assessment_sessions (id),
        question_id TEXT NOT NULL,
        from_value TEXT NOT NULL,
        to_value TEXT NOT NULL
    )
    """,
)


class AssessmentError(Exception):
    """A request the session cannot honour; `message` is safe to show the user."""

    def __init__(self, code: str, message: str, session: "Session | None" = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.session = session


@dataclass(frozen=True)
class AnswerRecord:
    question_id: str
    value: str
    how: str
    at: str


@dataclass(frozen=True)
class Session:
    id: str
    user: str
    channel: str | None
    thread_ts: str | None
    status: str
    step: int
    created_at: str
    updated_at: str
    version: int
    framework_version: int | None
    answer_records: tuple[AnswerRecord, ...]
    result: Mapping[str, Any] | None

    @property
    def answers(self) -> dict[str, str]:
        return {a.question_id: a.value for a in self.answer_records}

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user": self.user,
            "channel": self.channel,
            "thread_ts": self.thread_ts,
            "status": self.status,
            "step": self.step,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "version": self.version,
            "framework_version": self.framework_version,
            "answers": [
                {"question_id": a.question_id, "value": a.value, "how": a.how, "at": a.at} for a in self.answer_records
            ],
            "result": dict(self.result) if self.result is not None else None,
        }


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class AssessmentSessions:
    def __init__(
        self,
        db: sqlite_utils.Database,
        provider: FrameworkProvider,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.db = db
        self.provider = provider
        self._clock = clock
        # Serializes users of a shared connection; other processes are
        # serialized by BEGIN IMMEDIATE and the version column.
        self._lock = threading.RLock()
        for statement in _SCHEMA:
            self.db.execute(statement)

    # ------------------------------------------------------------------ reads

    def _now(self) -> str:
        return self._clock().astimezone(timezone.utc).isoformat(timespec="microseconds")

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = self.db.conn.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]

    def _load(self, row: Mapping[str, Any]) -> Session:
        answers = self._rows(
            "SELECT question_id, value, how, at FROM assessment_answers WHERE session_id = ? ORDER BY at, rowid",
            (row["id"],),
        )
        return Session(
            id=row["id"],
            user=row["user"],
            channel=row["channel"],
            thread_ts=row["thread_ts"],
            status=row["status"],
            step=row["step"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            version=row["version"],
            framework_version=row["framework_version"],
            answer_records=tuple(AnswerRecord(**a) for a in answers),
            result=json.loads(row["result"]) if row["result"] else None,
        )

    def get(self, session_id: str) -> Session | None:
        rows = self._rows("SELECT * FROM assessment_sessions WHERE id = ?", (session_id,))
        return self._load(rows[0]) if rows else None

    def open_for(self, user: str) -> Session | None:
        rows = self._rows("SELECT * FROM assessment_sessions WHERE user = ? AND status = ?", (user, OPEN))
        return self._load(rows[0]) if rows else None

    def current_question(self, session: Session) -> Question | None:
        if session.status != OPEN:
            return None
        questions = self.provider.get().questions
        return questions[session.step] if session.step < len(questions) else None

    def history(self, user: str, limit: int = 10) -> list[Session]:
        rows = self._rows(
            "SELECT * FROM assessment_sessions WHERE user = ? AND status = ?"
            " ORDER BY updated_at DESC, rowid DESC LIMIT ?",
            (user, FINISHED, limit),
        )
        return [self._load(r) for r in rows]

    def export_all(self) -> list[dict[str, Any]]:
        """Every session with answers and result, oldest first, for admin export.

        Nested values (answers, result) are left as lists/dicts; a CSV writer
        should JSON-encode them.
        """
        rows = self._rows("SELECT * FROM assessment_sessions ORDER BY created_at, rowid")
        return [self._load(r).to_dict() for r in rows]

    # ---------------------------------------------------------------- writes

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        # BEGIN IMMEDIATE takes the write lock before we read, so the checks
        # below see the same state the writes apply to. Any AssessmentError
        # raised inside rolls back, leaving the session untouched.
        with self._lock, self.db.conn as conn:
            if not conn.in_transaction:
                conn.execute("BEGIN IMMEDIATE")
            yield conn

    def _bump(self, conn: sqlite3.Connection, session: Session, **changes: Any) -> None:
        changes["updated_at"] = self._now()
        assignments = ", ".join(f"{k} = ?" for k in changes)
        cursor = conn.execute(
            f"UPDATE assessment_sessions SET {assignments}, version = version + 1 WHERE id = ? AND version = ?",
            (*changes.values(), session.id, session.version),
        )
        if "step" in changes or "status" in changes:
            conn.execute("DELETE FROM assessment_pending WHERE session_id = ?", (session.id,))
        if cursor.rowcount != 1:
            # Only reachable if another writer slipped past the lock; refusing
            # keeps "one click, one answer" true even then.
            raise AssessmentError(
                "stale_step",
                "That assessment changed at the same moment — please look at the latest question and try again.",
                self.get(session.id),
            )

    def _owned(self, session_id: str, user: str) -> Session:
        session = self.get(session_id)
        if session is None:
            raise AssessmentError("not_found", f"I couldn't find that assessment — {START_HINT}.")
        if session.user != user:
            raise AssessmentError(
                "not_owner",
                f"That assessment belongs to someone else, so I can't change it — {START_HINT} of your own.",
            )
        return session

    def _owned_open(self, session_id: str, user: str) -> Session:
        session = self._owned(session_id, user)
        self._require_open(session)
        return session

    @staticmethod
    def _require_open(session: Session) -> None:
        if session.status == FINISHED:
            raise AssessmentError("finished", f"This assessment is already finished — {START_HINT}.", session)
        if session.status == CANCELLED:
            raise AssessmentError("cancelled", f"This assessment was cancelled — {START_HINT}.", session)

    def start(self, user: str, channel: str | None = None, thread_ts: str | None = None) -> Session:
        """Open a new session; refuses with code `already_open` (carrying the
        open session) so the caller can offer resume or restart."""
        framework = self.provider.get()
        session_id = uuid.uuid4().hex
        try:
            with self._transaction() as conn:
                existing = self.open_for(user)
                if existing is not None:
                    raise self._already_open(existing, framework)
                now = self._now()
                conn.execute(
                    "INSERT INTO assessment_sessions (id, user, channel, thread_ts, status, step,"
                    " created_at, updated_at, result, framework_version, version)"
                    " VALUES (?, ?, ?, ?, ?, 0, ?, ?, NULL, ?, 0)",
                    (session_id, user, channel, thread_ts, OPEN, now, now, framework.version),
                )
        except sqlite3.IntegrityError:
            existing = self.open_for(user)
            if existing is None:
                raise
            raise self._already_open(existing, framework) from None
        session = self.get(session_id)
        assert session is not None
        return session

    @staticmethod
    def _already_open(existing: Session, framework: Framework) -> AssessmentError:
        total = len(framework.questions)
        position = min(existing.step + 1, total)
        return AssessmentError(
            "already_open",
            f"You already have an assessment in progress (question {position} of {total}). "
            "You can resume it or restart it.",
            existing,
        )

    def answer(
        self,
        session_id: str,
        user: str,
        question_id: str,
        value: str,
        how: str,
        expected_step: int | None = None,
    ) -> Session:
        if how not in HOW_VALUES:
            raise ValueError(f"how must be one of {', '.join(HOW_VALUES)}, not {how!r}")
        framework = self.provider.get()
        questions = framework.questions
        with self._transaction() as conn:
            session = self._owned(session_id, user)
            if session.status == CANCELLED:
                self._require_open(session)
            if self._is_repeat(session, framework, question_id, value, expected_step):
                label = framework.question(question_id).option(value).label
                raise AssessmentError(
                    "duplicate",
                    f"Got it — your answer “{label}” was already recorded.",
                    session,
                )
            self._require_open(session)
            try:
                validate_answer(framework, question_id, value)
            except InvalidAnswer as exc:
                raise self._invalid(framework, exc, session) from None
            current = questions[session.step] if session.step < len(questions) else None
            if (
                current is None
                or question_id != current.id
                or (expected_step is not None and expected_step != session.step)
            ):
                raise self._stale(framework, session, question_id)

            new_step = session.step + 1
            conn.execute(
                "INSERT INTO assessment_answers (session_id, question_id, value, how, at) VALUES (?, ?, ?, ?, ?)",
                (session.id, question_id, value, how, self._now()),
            )
            if new_step < len(questions):
                self._bump(conn, session, step=new_step)
            else:
                answers = {**session.answers, question_id: value}
                result = assess(framework, answers).to_dict()
                self._bump(
                    conn,
                    session,
                    step=new_step,
                    status=FINISHED,
                    result=json.dumps(result),
                    framework_version=framework.version,
                )
        updated = self.get(session_id)
        assert updated is not None
        return updated

    @staticmethod
    def _is_repeat(
        session: Session,
        framework: Framework,
        question_id: str,
        value: str,
        expected_step: int | None,
    ) -> bool:
        # A double click arrives after the first click advanced the step, so
        # the repeat is "the same answer to the question just before the
        # current step" — including the last question of a finished session.
        prev = session.step - 1
        if prev < 0 or prev >= len(framework.questions):
            return False
        if framework.questions[prev].id != question_id:
            return False
        if expected_step is not None and expected_step != prev:
            return False
        return session.answers.get(question_id) == value

    @staticmethod
    def _invalid(framework: Framework, exc: InvalidAnswer, session: Session) -> AssessmentError:
        if exc.value is None:
            return AssessmentError(
                "invalid_question",
                f"I don't have a question called “{exc.question_id}” in this assessment.",
                session,
            )
        question = framework.question(exc.question_id)
        choices = ", ".join(f"{o.label} ({o.value})" for o in question.options)
        return AssessmentError(
            "invalid_value",
            f"“{exc.value}” isn't one of the answers to “{question.prompt}” Please choose one of: {choices}.",
            session,
        )

    @staticmethod
    def _stale(framework: Framework, session: Session, question_id: str) -> AssessmentError:
        questions = framework.questions
        total = len(questions)
        if session.step >= total:
            return AssessmentError(
                "stale_step",
                "The assessment questions changed since you started — please restart it.",
                session,
            )
        current = questions[session.step]
        where = f"We're on question {session.step + 1} of {total}: “{current.prompt}”"
        index = framework.question_ids.index(question_id)
        if index < session.step:
            text = (
                f"That button belongs to an earlier question (“{questions[index].prompt}”). "
                f"{where}. To change an earlier answer, use Back."
            )
        elif index > session.step:
            text = f"That question isn't up yet. {where}."
        else:
            text = f"That button is from an older copy of this question. {where}."
        return AssessmentError("stale_step", text, session)

    # ------------------------------------------------------ confirmations

    def pending(self, session: Session) -> tuple[str, str] | None:
        """The (question id, value) a "Did you mean …?" on the current step waits for."""
        rows = self._rows("SELECT step, question_id, value FROM assessment_pending WHERE session_id = ?", (session.id,))
        if not rows or rows[0]["step"] != session.step or session.status != OPEN:
            return None
        return rows[0]["question_id"], rows[0]["value"]

    def set_pending(self, session_id: str, user: str, step: int, question_id: str, value: str) -> Session:
        framework = self.provider.get()
        with self._transaction() as conn:
            session = self._owned_open(session_id, user)
            if step != session.step or framework.question_ids[step] != question_id:
                raise self._stale(framework, session, question_id)
            validate_answer(framework, question_id, value)
            conn.execute(
                "INSERT OR REPLACE INTO assessment_pending (session_id, step, question_id, value, at)"
                " VALUES (?, ?, ?, ?, ?)",
                (session.id, step, question_id, value, self._now()),
            )
        return session

    def reject_pending(self, session_id: str, user: str, step: int) -> Session:
        """ "No, not that": the question stays open; refused (changing nothing) when the
        confirmation is from an older step."""
        with self._transaction() as conn:
            session = self._owned_open(session_id, user)
            if step != session.step:
                raise AssessmentError(
                    "stale_step", "That question was already answered or has moved on; nothing was changed.", session
                )
            conn.execute("DELETE FROM assessment_pending WHERE session_id = ?", (session.id,))
        return session

    # ------------------------------------------------------------- what if

    def what_if(self, session_id: str, user: str, question_id: str, value: str, how_changed: str = "button") -> Session:
        """A finished copy of a finished session with one answer changed, scored now; the
        original is left as it was."""
        framework = self.provider.get()
        with self._transaction() as conn:
            original = self._owned(session_id, user)
            if original.status != FINISHED:
                raise AssessmentError(
                    "not_finished", "Only a finished assessment can be re-run with another answer.", original
                )
            try:
                validate_answer(framework, question_id, value)
            except InvalidAnswer as exc:
                raise self._invalid(framework, exc, original) from None
            before = original.answers.get(question_id, "unsure")
            if before == value:
                raise AssessmentError(
                    "same_answer", "That is already the answer in this assessment; nothing was changed.", original
                )
            answers = {**original.answers, question_id: value}
            copy_id = uuid.uuid4().hex
            now = self._now()
            result = assess(framework, answers).to_dict()
            conn.execute(
                "INSERT INTO assessment_sessions (id, user, channel, thread_ts, status, step, created_at,"
                " updated_at, result, framework_version, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
                (
                    copy_id,
                    user,
                    original.channel,
                    original.thread_ts,
                    FINISHED,
                    len(framework.questions),
                    now,
                    now,
                    json.dumps(result),
                    framework.version,
                ),
            )
            how = {a.question_id: a.how for a in original.answer_records}
            for qid, v in answers.items():
                conn.execute(
                    "INSERT INTO assessment_answers (session_id, question_id, value, how, at) VALUES (?, ?, ?, ?, ?)",
                    (copy_id, qid, v, how_changed if qid == question_id else how.get(qid, "button"), now),
                )
            conn.execute(
                "INSERT INTO assessment_what_if (session_id, parent_id, question_id, from_value,"
                " to_value) VALUES (?, ?, ?, ?, ?)",
                (copy_id, original.id, question_id, before, value),
            )
        copy = self.get(copy_id)
        assert copy is not None
        return copy

    def what_if_of(self, session_id: str) -> dict[str, str] | None:
        """For a what-if copy: its parent and the answer that was changed."""
        rows = self._rows(
            "SELECT parent_id, question_id, from_value, to_value FROM assessment_what_if WHERE session_id = ?",
            (session_id,),
        )
        return rows[0] if rows else None

    def back(self, session_id: str, user: str) -> Session:
        framework = self.provider.get()
        with self._transaction() as conn:
            session = self._owned_open(session_id, user)
            if session.step == 0:
                raise AssessmentError(
                    "at_start",
                    "You're already on the first question — there's nothing to go back to.",
                    session,
                )
            new_step = min(session.step, len(framework.questions)) - 1
            conn.execute(
                "DELETE FROM assessment_answers WHERE session_id = ? AND question_id = ?",
                (session.id, framework.questions[new_step].id),
            )
            self._bump(conn, session, step=new_step)
        updated = self.get(session_id)
        assert updated is not None
        return updated

    def restart(self, session_id: str, user: str) -> Session:
        framework = self.provider.get()
        with self._transaction() as conn:
            session = self._owned_open(session_id, user)
            conn.execute("DELETE FROM assessment_answers WHERE session_id = ?", (session.id,))
            self._bump(conn, session, step=0, framework_version=framework.version)
        updated = self.get(session_id)
        assert updated is not None
        return updated

    def cancel(self, session_id: str, user: str) -> Session:
        with self._transaction() as conn:
            session = self._owned_open(session_id, user)
            self._bump(conn, session, status=CANCELLED)
        updated = self.get(session_id)
        assert updated is not None
        return updated
