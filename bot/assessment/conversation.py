"""One conversation for every shell: what a typed reply does to an assessment.

Slack and the CLI hand the reply over and render the ``Turn`` they get back. Here live the rules
they must not disagree on: back / restart / cancel, someone else's assessment, a finished one, a
"Did you mean …?" waiting for its answer (settled by yes/no, an option's number or name, or a new
reply), and when a reply is not an answer at all but a question for the advisor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from .framework import Question, normalize_phrase
from .interpret import Interpretation, ReplyError, _names, check_reply
from .sessions import CANCELLED, FINISHED, OPEN, START_HINT, AssessmentError, AssessmentSessions, Session

CONTROL_WORDS = {
    "back": "back",
    "go back": "back",
    "previous": "back",
    "undo": "back",
    "restart": "restart",
    "start over": "restart",
    "start again": "restart",
    "cancel": "cancel",
    "stop": "cancel",
    "quit": "cancel",
    "abort": "cancel",
}
CONFIRM_YES = {
    "yes",
    "y",
    "yep",
    "yeah",
    "yup",
    "correct",
    "right",
    "that's right",
    "thats right",
    "exactly",
    "sure",
    "ok",
    "okay",
    "confirm",
    "yes please",
    "that one",
}
CONFIRM_NO = {"no", "n", "nope", "nah", "wrong", "neither", "not that", "no thanks"}


@dataclass(frozen=True)
class Turn:
    """What a reply did. ``kind``: answered, confirm (``value`` awaits a yes), rejected, no_match,
    invalid, back, restart, cancel, refused (``message`` says why; nothing changed), stale (the
    framework changed under the session) or not_for_us (not an answer: answer it as a question)."""

    kind: str
    session: Session | None
    message: str = ""
    question: Question | None = None
    value: str | None = None
    interpretation: Interpretation | None = None


def control_word(text: str) -> str | None:
    return CONTROL_WORDS.get(re.sub(r"[^a-z0-9 ]", "", (text or "").lower()).strip())


def asks(text: str) -> bool:
    """A question for the advisor rather than an answer ("what is MLOps?")."""
    return text.rstrip().endswith("?") and len(text.strip()) > 1


class Conversation:
    def __init__(self, sessions: AssessmentSessions, interpret: Callable[[Question, str], Interpretation]) -> None:
        self.sessions = sessions
        self.interpret = interpret

    def is_option_reply(self, text: str) -> bool:
        """Whether a reply is, word for word, an answer to some question (a late answer rather
        than a new question)."""
        phrase = normalize_phrase(text or "")
        return any(phrase in _names(o) for q in self.sessions.provider.get().questions for o in q.options)

    def reply(self, session_id: str, user: str, text: str, *, how: str = "text", loose: bool = False) -> Turn:
        """``loose``: the reply was not addressed to the assessment (a DM outside its thread), so
        only an unmistakable answer counts and anything else is ``not_for_us``."""
        session = self.sessions.get(session_id)
        if session is None:
            return Turn("refused", None, f"I couldn't find that assessment — {START_HINT}.")
        command = control_word(text)
        answer_like = bool(command) or self.is_option_reply(text)
        if session.user != user:
            if loose or session.status != OPEN or not answer_like:
                return Turn("not_for_us", session)
            return Turn(
                "refused",
                session,
                "This assessment belongs to someone else, so only they can answer it; "
                f"nothing was changed. {START_HINT[0].upper()}{START_HINT[1:]} of your own.",
            )
        if session.status != OPEN:
            if not answer_like:
                return Turn("not_for_us", session)  # a follow-up question about the result
            state = "finished" if session.status == FINISHED else "cancelled"
            return Turn(
                "refused",
                session,
                f"This assessment is already {state}, so I haven't changed it. "
                f"{START_HINT[0].upper()}{START_HINT[1:]}.",
            )
        try:
            if command == "back":
                return Turn("back", self._back(session, user))
            if command == "restart":
                return Turn("restart", self.sessions.restart(session.id, user))
            if command == "cancel":
                return Turn("cancel", self.sessions.cancel(session.id, user))
            return self._answer(session, user, text, how, loose)
        except AssessmentError as exc:
            return Turn("refused", exc.session or session, exc.message)

    def _back(self, session: Session, user: str) -> Session:
        return self.sessions.back(session.id, user)

    def _answer(self, session: Session, user: str, text: str, how: str, loose: bool) -> Turn:
        question = self.sessions.current_question(session)
        if question is None:
            return Turn("stale", session, "The assessment questions changed since you started; please restart it.")
        try:
            text = check_reply(text)
        except ReplyError as exc:
            return Turn("not_for_us" if loose else "invalid", session, exc.message, question)
        pending = self.sessions.pending(session)
        if pending is not None and pending[0] == question.id:
            word = normalize_phrase(text)
            if word in CONFIRM_YES:
                return self._record(session, user, question, pending[1], "confirmed")
            if word in CONFIRM_NO:
                session = self.sessions.reject_pending(session.id, user, session.step)
                return Turn("rejected", session, "OK, not that. Which of these fits?", question)
        found = self.interpret(question, text)
        if found.value is None or (found.confirm and asks(text)):
            if loose or asks(text):
                return Turn("not_for_us", session, question=question, interpretation=found)
            labels = ", ".join(f"“{o.label}”" for o in question.options)
            return Turn(
                "no_match",
                session,
                f"I couldn't match “{text}” to an answer to “{question.prompt}”, so "
                f"nothing was recorded. Reply with one of {labels} (or its number); "
                "you can also say back, restart or cancel.",
                question,
                interpretation=found,
            )
        if found.confirm:
            if loose:
                return Turn("not_for_us", session, question=question, interpretation=found)
            self.sessions.set_pending(session.id, user, session.step, question.id, found.value)
            label = question.option(found.value).label
            return Turn("confirm", session, f"Did you mean “{label}”?", question, found.value, found)
        return self._record(session, user, question, found.value, how, found)

    def _record(
        self, session: Session, user: str, question: Question, value: str, how: str, found: Interpretation | None = None
    ) -> Turn:
        session = self.sessions.answer(session.id, user, question.id, value, how, expected_step=session.step)
        return Turn("answered", session, question=question, value=value, interpretation=found)


__all__ = ["CANCELLED", "CONTROL_WORDS", "Conversation", "Turn", "asks", "control_word"]
