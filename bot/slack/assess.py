"""The assessment in Slack: ``/advisor assess``, its buttons and the typed replies in its thread.

Only translation happens here: Slack payloads become calls on the core (its assessment methods for
every change of state, ``service.assessment_reply`` for typed replies — the one conversation the CLI
uses too —, ``service.assessment_report`` for the result) and the results become Block Kit. Every rule — one open assessment per user, one
answer per click, buttons from an older question, someone else's assessment, a finished one — is
enforced by the core's sessions, which refuse with an ``AssessmentError`` (code + a message for
the user) and change nothing; the message is shown to the clicker only (chat.postEphemeral) or in
the thread.

Where it runs: a trigger ("Start an assessment") in a thread runs it in that thread; the slash
command and the App Home button run it in the user's DM with the bot, the first question being
the thread's root message. All state is in SQLite, so buttons and replies keep working across a
restart.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from ..assessment import AssessmentError
from ..assessment.sessions import CANCELLED, FINISHED, OPEN, START_HINT
from ..access import Viewer
from . import assessment_blocks, blocks

log = logging.getLogger(__name__)

HISTORY_WORDS = ("history", "past", "results", "list")
USAGE = (
    "`/advisor assess`: a guided assessment of which GenAI approach fits your team (PaaS, self-hosted or "
    "hybrid), one question at a time.\n`/advisor assess history`: your past results."
)
BAD_BUTTON = (
    "That button isn't one I recognise, so nothing was changed. "
    "Use the buttons on the latest question, or start again with `/advisor assess`."
)
STARTED_IN_DM = "I've started your assessment in our direct messages: answer the questions there."


def is_dm(channel: str | None) -> bool:
    return bool(channel) and channel.startswith("D")


def _total(service) -> int:
    return len(service.framework().questions)


# --- what a session looks like -------------------------------------------------------------------


def share_target(service, session) -> str | None:
    """Where "Share to channel" posts: the channel the assessment ran in, or the channel the
    command came from when it ran in a DM."""
    if session.channel and not is_dm(session.channel):
        return session.channel
    return service.assessment_origin(session.id)


def document_titles(service, report: dict) -> dict[str, str]:
    """The titles of the guidance documents a report cites (policies carry their own)."""
    documents = {c["document"] for c in report.get("citations") or []}
    documents |= {g["document"] for g in (report.get("guidance") or {}).values()}
    titles = {}
    for document in documents:
        row = service.document(document)
        if row and row.get("title"):
            titles[document] = row["title"]
    return titles


# A report in Slack can be shared to a channel, so it lists only policies open to everyone.
SHAREABLE = Viewer(member=False)


def render(service, session, note: str = "") -> tuple[str, list[dict]]:
    """The message for a session's current state: its question, its result, or cancelled."""
    framework = service.framework()
    if session.status == FINISHED:
        report = service.assessment_report(session.answers, SHAREABLE)
        target = share_target(service, session)
        return (
            assessment_blocks.result_text(framework, report),
            assessment_blocks.result_blocks(
                framework,
                report,
                session,
                share=target,
                pick_channel=not target,
                titles=document_titles(service, report),
                note=what_if_note(service, session),
            ),
        )
    if session.status == CANCELLED:
        text = f"Assessment cancelled; nothing was kept. {START_HINT[0].upper()}{START_HINT[1:]}."
        return text, [
            blocks.section(text),
            {
                "type": "actions",
                "block_id": "assess_cancelled",
                "elements": [blocks.button("Start a new assessment", blocks.ASSESS_START, assessment_blocks.pack())],
            },
        ]
    question = service.assessment_question(session)
    if question is None:  # the framework lost questions since the session started
        text = "The assessment questions changed since you started; please restart it."
        return text, assessment_blocks.resume_blocks(session, _total(service), text)
    total = _total(service)
    return assessment_blocks.question_text(session, question, total), assessment_blocks.question_blocks(
        session, question, total, note
    )


def what_if_note(service, session) -> str:
    """For a re-run with one answer changed: which, so it is not mistaken for the original."""
    origin = service.what_if_of(session.id)
    if origin is None:
        return ""
    framework = service.framework()
    try:
        question = framework.question(origin["question_id"])
        was, now = (question.option(v).label for v in (origin["from_value"], origin["to_value"]))
    except KeyError:
        return "What if: a re-run of an earlier assessment with one answer changed."
    return f"What if: {question.topic} “{now}” instead of “{was}”. Your original result is kept in your history."


def offer(session, total: int) -> tuple[str, list[dict]]:
    return assessment_blocks.open_session_text(session, total), assessment_blocks.resume_blocks(session, total)


# --- starting -----------------------------------------------------------------------------------


def open_dm(client: WebClient, user: str) -> str:
    return client.conversations_open(users=user)["channel"]["id"]


def start(
    service,
    client: WebClient,
    user: str,
    *,
    channel: str | None,
    thread_ts: str | None,
    reply: Callable[..., None],
    origin: str | None = None,
) -> None:
    """Start an assessment in a thread (``thread_ts``) or, without one, in the user's DM; an open
    assessment is offered for resuming or restarting instead. ``reply(text, blocks)`` answers
    where the request came from."""
    total = _total(service)
    existing = service.open_assessment(user)
    if existing is not None:
        reply(*offer(existing, total))
        return
    if thread_ts and channel:
        try:
            session = service.start_assessment(user, channel, thread_ts)
        except AssessmentError as exc:
            reply(*_refusal(exc, total))
            return
        reply(*render(service, session))
        return
    dm = open_dm(client, user)
    root = client.chat_postMessage(channel=dm, text="Starting your GenAI approach assessment…")
    dm, ts = root.get("channel") or dm, root["ts"]
    try:
        session = service.start_assessment(user, dm, ts)
    except AssessmentError as exc:  # another start won the race
        text, message_blocks = _refusal(exc, total)
        client.chat_update(channel=dm, ts=ts, text=text, blocks=message_blocks)
        return
    if origin and not is_dm(origin):
        service.set_assessment_origin(session.id, origin)
    text, message_blocks = render(service, session)
    client.chat_update(channel=dm, ts=ts, text=text, blocks=message_blocks)
    reply(STARTED_IN_DM, None)


def _refusal(exc: AssessmentError, total: int) -> tuple[str, list[dict] | None]:
    if exc.code == "already_open" and exc.session is not None:
        return exc.message, assessment_blocks.resume_blocks(exc.session, total, exc.message)
    return exc.message, None


# --- /advisor assess ------------------------------------------------------------------------------


def cmd_assess(ctx) -> None:
    args = ctx.args.strip().lower()
    if args in HISTORY_WORDS:
        ctx.reply(*history(ctx.service, ctx.user_id))
        return
    if args and args not in ("start", "new", "begin"):
        ctx.reply(USAGE, [blocks.section(USAGE)])
        return
    start(
        ctx.service,
        ctx.client,
        ctx.user_id,
        channel=ctx.channel_id,
        thread_ts=ctx.thread_ts,
        reply=ctx.reply,
        origin=ctx.channel_id,
    )


def history(service, user: str) -> tuple[str, list[dict]]:
    past = service.assessment_history(user)
    framework = service.framework()
    text = f"Your past assessments: {len(past)}" if past else "You have no finished assessments yet."
    body = assessment_blocks.history_blocks(
        framework, past, service.open_assessment(user), len(framework.questions), start_button=True
    )
    return text, body


def home_blocks(service, user: str) -> list[dict]:
    """App Home: the assessment in progress, the recent results and a Start button."""
    framework = service.framework()
    return assessment_blocks.history_blocks(
        framework,
        service.assessment_history(user, 5),
        service.open_assessment(user),
        len(framework.questions),
        limit=5,
        start_button=True,
    )


# --- typed replies in the assessment's thread ---------------------------------------------------


def on_thread_message(ctx) -> bool:
    """A message in a thread that holds an assessment goes to the core's
    conversation, which says what it did; returns False when it was not an answer (the core then
    answers it as a question)."""
    service = ctx.service
    session = service.thread_assessment(ctx.channel_id, ctx.thread_ts)
    loose = False
    if session is None:
        # In the DM the user may answer outside the thread: only unmistakable answers count.
        if not is_dm(ctx.channel_id):
            return False
        session = service.open_assessment(ctx.user_id)
        if session is None or session.channel != ctx.channel_id:
            return False
        loose = True
    turn = service.assessment_reply(session.id, ctx.user_id, ctx.args or "", how="text", loose=loose)
    if turn.kind == "not_for_us":
        return False
    if turn.kind == "confirm":
        ctx.reply(turn.message, assessment_blocks.confirm_blocks(turn.session, turn.question, turn.value))
    elif turn.kind == "rejected":
        ctx.reply(*render(service, turn.session, note=turn.message))
    elif turn.kind in ("no_match", "invalid", "refused"):
        ctx.reply(blocks.escape(turn.message), None)
    else:  # answered, back, restart, cancel, stale: show where the assessment is now
        ctx.reply(*render(service, turn.session))
    return True


# --- buttons --------------------------------------------------------------------------------------


@dataclass
class Click:
    """A button press and the ways to answer it."""

    user: str
    channel: str | None
    message_ts: str | None
    thread_ts: str | None
    ephemeral: bool
    in_view: bool
    respond: Any
    client: WebClient

    @classmethod
    def from_body(cls, body: dict, respond, client: WebClient) -> "Click":
        container = body.get("container") or {}
        message = body.get("message") or {}
        channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
        return cls(
            user=(body.get("user") or {}).get("id") or "",
            channel=channel,
            message_ts=container.get("message_ts") or message.get("ts"),
            thread_ts=message.get("thread_ts"),
            ephemeral=bool(container.get("is_ephemeral")),
            in_view=container.get("type") == "view",
            respond=respond if body.get("response_url") else None,
            client=client,
        )

    def in_thread_of(self, session) -> bool:
        """Whether the clicked message sits in the session's thread (so it can become the next
        question in place)."""
        if self.ephemeral or self.in_view or not self.channel or self.channel != session.channel:
            return False
        return session.thread_ts in (self.thread_ts, self.message_ts)

    def replace(self, text: str, message_blocks: list[dict] | None) -> None:
        """Turn the clicked message into ``text``/``message_blocks``."""
        if self.ephemeral and self.respond is not None:
            self.respond(text=text, blocks=message_blocks, replace_original=True, response_type="ephemeral")
        elif self.channel and self.message_ts and not self.in_view:
            self.client.chat_update(
                channel=self.channel,
                ts=self.message_ts,
                text=text,
                blocks=message_blocks if message_blocks is not None else [],
            )
        else:
            self.client.chat_postMessage(channel=self.user, text=text, blocks=message_blocks)

    def notice(self, text: str) -> None:
        """A message only the clicker sees; nothing else changes."""
        try:
            if self.ephemeral and self.respond is not None:
                self.respond(text=text, response_type="ephemeral", replace_original=False)
            elif self.channel and not self.in_view:
                kwargs: dict[str, Any] = {"channel": self.channel, "user": self.user, "text": text}
                if self.thread_ts:
                    kwargs["thread_ts"] = self.thread_ts
                self.client.chat_postEphemeral(**kwargs)
            else:
                self.client.chat_postMessage(channel=self.user, text=text)
        except SlackApiError as exc:
            log.warning("could not tell %s: %s", self.user, exc.response.get("error"))


def _value(action: dict) -> dict:
    try:
        value = json.loads(action.get("value") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _answer_fields(value: dict) -> tuple[str, str, int, str] | None:
    s, q, n, v = value.get("s"), value.get("q"), value.get("n"), value.get("v")
    if not (
        isinstance(s, str)
        and isinstance(q, str)
        and isinstance(v, str)
        and isinstance(n, int)
        and not isinstance(n, bool)
    ):
        return None
    return s, q, n, v


def _permalink(client: WebClient, channel: str | None, ts: str | None) -> str | None:
    if not channel or not ts:
        return None
    try:
        return client.chat_getPermalink(channel=channel, message_ts=ts).get("permalink")
    except SlackApiError:
        return None


def _continue(service, click: Click, session, what: str) -> None:
    """Show the session's current state: in place when the click was in its thread, else as a
    new message in its thread, with a pointer where the click happened."""
    text, message_blocks = render(service, session)
    if click.in_thread_of(session):
        click.replace(text, message_blocks)
        return
    if not session.channel:
        click.notice(
            "That assessment was started outside Slack; continue it there, or start a new one with `/advisor assess`."
        )
        return
    posted = click.client.chat_postMessage(
        channel=session.channel, thread_ts=session.thread_ts, text=text, blocks=message_blocks
    )
    link = _permalink(click.client, posted.get("channel") or session.channel, posted.get("ts"))
    where = f"<{link}|in the thread where you started it>" if link else "in the thread where you started it"
    pointer = f"{what}: your assessment continues {where}."
    if click.in_view:
        click.notice(pointer)
    else:
        click.replace(pointer, [blocks.section(pointer)])


def handle_action(service, settings, body: dict, action: dict, respond, client: WebClient) -> None:
    """Every ``assess_*`` button (and the share channel picker)."""
    click = Click.from_body(body, respond, client)
    action_id = action.get("action_id") or ""
    value = _value(action)
    try:
        if action_id.startswith(blocks.ASSESS_ANSWER) or action_id == blocks.ASSESS_CONFIRM_YES:
            fields = _answer_fields(value)
            if fields is None:
                click.notice(BAD_BUTTON)
                return
            s, q, n, v = fields
            how = "confirmed" if action_id == blocks.ASSESS_CONFIRM_YES else "button"
            session = service.assessment_answer(s, click.user, q, v, how, expected_step=n)
            click.replace(*render(service, session))
        elif action_id == blocks.ASSESS_CONFIRM_NO:
            fields = _answer_fields(value)
            if fields is None:
                click.notice(BAD_BUTTON)
                return
            session = service.assessment_reject(fields[0], click.user, fields[2])
            click.replace(*render(service, session, note="OK, not that. Which of these fits?"))
        elif action_id.startswith(blocks.ASSESS_WHAT_IF):
            s, q, v = value.get("s"), value.get("q"), value.get("v")
            if not (isinstance(s, str) and isinstance(q, str) and isinstance(v, str)):
                click.notice(BAD_BUTTON)
                return
            copy = service.assessment_what_if(s, click.user, q, v)
            text, message_blocks = render(service, copy)
            click.client.chat_postMessage(
                channel=copy.channel or click.user, thread_ts=copy.thread_ts, text=text, blocks=message_blocks
            )
        elif action_id == blocks.ASSESS_BACK:
            s, n = value.get("s"), value.get("n")
            if not isinstance(s, str) or not isinstance(n, int) or isinstance(n, bool):
                click.notice(BAD_BUTTON)
                return
            session = service.assessment_back(s, click.user, expected_step=n)
            click.replace(*render(service, session))
        elif action_id in (blocks.ASSESS_RESTART, blocks.ASSESS_RESUME, blocks.ASSESS_CANCEL):
            s = value.get("s")
            if not isinstance(s, str):
                click.notice(BAD_BUTTON)
                return
            if action_id == blocks.ASSESS_RESTART:
                session = service.restart_assessment(s, click.user)
                _continue(service, click, session, "Restarted")
            elif action_id == blocks.ASSESS_CANCEL:
                session = service.cancel_assessment(s, click.user)
                if click.in_view:
                    click.notice(render(service, session)[0])
                else:
                    click.replace(*render(service, session))
            else:
                session = service.assessment(s)
                if session is None or session.user != click.user or session.status != OPEN:
                    click.notice(_why_not(session, click.user, "That assessment is no longer in progress."))
                    return
                _continue(service, click, session, "Resumed")
        elif action_id == blocks.ASSESS_START:
            origin = click.channel if click.channel and not is_dm(click.channel) and not click.in_view else None
            start(
                service,
                client,
                click.user,
                channel=None,
                thread_ts=None,
                origin=origin,
                reply=lambda text, message_blocks=None: _start_reply(click, text, message_blocks),
            )
        elif action_id in (blocks.ASSESS_SHARE, blocks.ASSESS_SHARE_TO):
            share(service, click, body, action, value)
        else:
            click.notice(BAD_BUTTON)
    except AssessmentError as exc:
        click.notice(exc.message)


def _start_reply(click: Click, text: str, message_blocks: list[dict] | None) -> None:
    if text == STARTED_IN_DM and (click.in_view or is_dm(click.channel)):
        return  # the first question is right there, in the DM
    if message_blocks is None:
        click.notice(text)
    elif click.in_view or not click.channel:
        click.client.chat_postMessage(channel=click.user, text=text, blocks=message_blocks)
    else:
        kwargs: dict[str, Any] = {"channel": click.channel, "user": click.user, "text": text, "blocks": message_blocks}
        if click.thread_ts:
            kwargs["thread_ts"] = click.thread_ts
        click.client.chat_postEphemeral(**kwargs)


def _why_not(session, user: str, default: str) -> str:
    if session is None:
        return f"I couldn't find that assessment; {START_HINT}."
    if session.user != user:
        return f"That assessment belongs to someone else, so I can't change it; {START_HINT} of your own."
    if session.status == FINISHED:
        return f"This assessment is already finished; {START_HINT}."
    if session.status == CANCELLED:
        return f"This assessment was cancelled; {START_HINT}."
    return default


def share(service, click: Click, body: dict, action: dict, value: dict) -> None:
    """Post the result summary to the channel (the picked one, for the channel picker)."""
    if action.get("action_id") == blocks.ASSESS_SHARE_TO:
        block_id = action.get("block_id") or ""
        session_id = block_id.split(":", 1)[1] if ":" in block_id else ""
        target = action.get("selected_conversation")
    else:
        session_id = value.get("s") if isinstance(value.get("s"), str) else ""
        target = None
    session = service.assessment(session_id) if session_id else None
    if session is None or session.user != click.user or session.status != FINISHED:
        click.notice(_why_not(session, click.user, "Only a finished assessment can be shared."))
        return
    target = target or share_target(service, session)
    if not target:
        click.notice("There is no channel to share this to; pick one in the menu under the result.")
        return
    framework = service.framework()
    report = service.assessment_report(session.answers, SHAREABLE)
    try:
        click.client.chat_postMessage(
            channel=target,
            text=f"<@{session.user}>'s assessment: " + assessment_blocks.result_text(framework, report),
            blocks=assessment_blocks.share_blocks(framework, report, session.user, document_titles(service, report)),
        )
    except SlackApiError as exc:
        error = exc.response.get("error")
        if error in ("not_in_channel", "channel_not_found", "is_archived"):
            click.notice(
                f"I can't post in <#{target}> ({error}): invite me there with "
                "`/invite @GenAI Strategy Advisor`, then click Share again."
            )
            return
        raise
    click.notice(f"Shared the summary to <#{target}>.")
