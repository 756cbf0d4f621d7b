"""One listener per Slack concern. Each acknowledges first (Bolt acks events itself; commands
and actions call ``ack()`` before anything else), then does the work on Bolt's worker thread
and reports failures to the user with an error id.

Conversations: a channel thread or a DM thread is one conversation, keyed
``slack:{channel}:{thread_root_ts}``; the core keeps its history (SQLite), so nothing here reads
Slack history back.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from dataclasses import dataclass
from typing import Any, Callable

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from ingest import IngestBusy

from . import admin, assess, blocks
from .audience import AudienceResolver
from .reply import ThreadReply

log = logging.getLogger(__name__)

# The same four as the manifest's agent_view prompts (Slack shows at most four).
SUGGESTED_PROMPTS = [
    {"title": "PaaS or self-hosted?", "message": "Should we use a PaaS model or a self-hosted model?"},
    {"title": "Customer data and Azure OpenAI", "message": "Can I send customer data to Azure OpenAI?"},
    {"title": "What our AI policy requires", "message": "What does our AI policy require before I use a model?"},
    {"title": "Start an assessment", "message": "Start an assessment"},
]
# Event type → listener; the manifests subscribe to exactly these (message: its four
# message.* subscriptions), which a test checks.
EVENTS = {
    "app_mention": "on_mention",
    "message": "on_message",
    "assistant_thread_started": "on_assistant_thread_started",
    "app_home_opened": "on_home_opened",
}
MESSAGE_SUBSCRIPTIONS = ("message.im", "message.channels", "message.groups")
ASK_ABOUT_MESSAGE = "ask_about_message"  # the message shortcut's callback id
# Errors that mean the bot may not post in the channel (it is not a member, or cannot see it).
NOT_IN_CHANNEL = frozenset({"not_in_channel", "channel_not_found", "is_archived", "restricted_action"})
RESTARTED = (
    ":warning: I was restarted before I could finish this answer. Please ask again in a minute; "
    "nothing you asked was lost on your side."
)
EMPTY_QUESTION = (
    "Ask me about adopting generative AI or about your AI policies, e.g. _Can I send customer data to Azure OpenAI?_"
)
# Message subtypes that carry a user's words; every other subtype (message_changed,
# message_deleted, channel_join, …) is ignored. bot_message is subject to ADVISOR_REPLY_TO_BOTS.
ANSWERED_SUBTYPES = frozenset({"file_share", "thread_broadcast", "bot_message"})


def conversation_key(channel: str, thread_root_ts: str) -> str:
    return f"slack:{channel}:{thread_root_ts}"


def new_error_id() -> str:
    return uuid.uuid4().hex[:8]


def report_failure(what: str, tell: Callable[[str], Any] | None = None, doing: str = "answering") -> str:
    """For the exception being handled: a new error id, the traceback logged with it, and the
    user told (best effort: a failure to tell is logged, never raised). Returns the id."""
    error_id = new_error_id()
    log.exception("%s failed (error id %s)", what, error_id)
    if tell is not None:
        try:
            tell(blocks.error_text(error_id, doing))
        except Exception:  # nothing more can be told to the user
            log.exception("could not report error %s", error_id)
    return error_id


# --- incoming text ----------------------------------------------------------------------------

_USER_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!([^>|]+)(?:\|([^>]*))?>")
_LINK = re.compile(r"<((?:https?|mailto|tel):[^>|]+)(?:\|([^>]*))?>")


def clean_question(text: str | None, bot_user_id: str | None) -> str:
    """The question in a Slack message: the bot's mention removed, Slack markup undone."""
    text = text or ""
    text = _USER_MENTION.sub(lambda m: "" if m.group(1) == bot_user_id else "@" + (m.group(2) or m.group(1)), text)
    text = _CHANNEL.sub(lambda m: "#" + (m.group(2) or m.group(1)), text)
    text = _SPECIAL.sub(lambda m: m.group(2) or "", text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return re.sub(r"\s+", " ", text).strip()


def _normalise(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", text.lower()).strip()


# --- subcommands (/advisor …) ------------------------------------------------------------------


@dataclass
class CommandContext:
    """What a subcommand gets, from ``/advisor`` or from a trigger phrase in a thread."""

    name: str
    args: str
    user_id: str
    channel_id: str | None
    service: Any
    settings: Any
    client: WebClient
    reply: Callable[..., None]  # reply(text, blocks=None): replaces the progress message if any
    progress: Callable[[str], None]  # progress(text): a short "working on it" message
    thread_ts: str | None = None  # set when the subcommand was triggered inside a thread
    conversation: str | None = None
    listeners: "Listeners | None" = None  # the running shell (background jobs, progress interval)


Subcommand = Callable[[CommandContext], None]


def cmd_ask(ctx: CommandContext) -> None:
    if not ctx.args.strip():
        ctx.reply(EMPTY_QUESTION, None)
        return
    ctx.progress(blocks.THINKING)
    # The reply is ephemeral (or in a thread the command came from): the place is private only then.
    viewer = ctx.listeners.audience.viewer(ctx.client, ctx.user_id, ctx.channel_id, private=not ctx.thread_ts)
    answer = ctx.service.ask(
        ctx.args.strip(), conversation=ctx.conversation, user=ctx.user_id, channel=ctx.channel_id, viewer=viewer
    )
    ctx.reply(blocks.answer_fallback(answer), blocks.answer_blocks(answer))


def cmd_status(ctx: CommandContext) -> None:
    status = ctx.service.status()
    ctx.reply(blocks.status_text(status), blocks.status_blocks(status))


def cmd_help(ctx: CommandContext, note: str = "") -> None:
    ctx.reply(blocks.help_fallback(note), blocks.help_blocks(note=note, extra=HELP))


SUBCOMMANDS: dict[str, Subcommand] = {
    "ask": cmd_ask,
    "status": cmd_status,
    "help": cmd_help,
    "assess": assess.cmd_assess,
    "ingest": admin.cmd_ingest,
}
# The help lines of the subcommands beyond ask, status and help.
HELP = {
    "assess": "a guided assessment: which GenAI approach fits your team (`/advisor assess history`: your past results)",
    "ingest": "admins: re-ingest the knowledge (`/advisor ingest remove <document>`; share a policy "
    "file with me in a DM to add or replace it)",
}
# A message that is exactly one of these phrases (case and punctuation ignored), in a DM, an
# agent thread or a mention, runs that subcommand in its thread (the suggested prompt and quick
# action "Start an assessment").
TRIGGERS = {"start an assessment": "assess"}


class Listeners:
    def __init__(self, settings, service, *, progress_interval: float = 1.0):
        self.settings = settings
        self.service = service
        self.progress_interval = progress_interval
        self.background: list[threading.Thread] = []  # re-ingest threads (tests join them)
        self._answering: set[ThreadReply] = set()  # replies in progress, told if the process must stop
        self._answering_lock = threading.Lock()
        self.executor = None  # Bolt's listener executor, set by build_app
        self.client: WebClient | None = None  # the app's Web API client, set by build_app
        self.audience = AudienceResolver(lambda: service.audience_groups())

    def drain(self, timeout: float = 60.0) -> None:
        """Wait for running listeners and background jobs (tests; graceful shutdown)."""
        if self.executor is not None:
            self.executor.shutdown(wait=True)
        for thread in self.background:
            thread.join(timeout)

    def register(self, app: App) -> None:
        for event_type, method in EVENTS.items():
            app.event(event_type)(getattr(self, method))
        app.command("/advisor")(self.on_command)
        app.shortcut(ASK_ABOUT_MESSAGE)(self.on_ask_about_message)
        app.action(blocks.FEEDBACK)(self.on_feedback)
        app.action(blocks.FEEDBACK_HELPFUL)(self.on_feedback)
        app.action(blocks.FEEDBACK_NOT_HELPFUL)(self.on_feedback)
        app.action(re.compile("^" + blocks.FEEDBACK_REASON + "_"))(self.on_feedback_reason)
        app.action(blocks.ADMIN_REINGEST)(self.on_admin_reingest)
        app.action(re.compile("^" + blocks.ASSESS_PREFIX))(self.on_assess_action)
        app.error(self.on_error)

    # --- events -------------------------------------------------------------------------------

    def on_mention(self, event: dict, context, client: WebClient) -> None:
        channel = event.get("channel") or ""
        if event.get("channel_type") == "im" or channel.startswith("D"):
            return  # DMs are answered by on_message (message.im); never twice
        if self._skip(event, context):
            return
        root = event.get("thread_ts") or event["ts"]
        self.answer_in_thread(
            client,
            channel,
            root,
            clean_question(event.get("text"), context.bot_user_id),
            event.get("user") or event.get("bot_id"),
            context.team_id,
        )

    def on_message(self, event: dict, context, client: WebClient) -> None:
        if event.get("channel_type") in ("channel", "group"):
            self.on_thread_reply(event, context, client)
            return
        if event.get("channel_type") != "im":
            return
        if self._skip(event, context):
            return
        if event.get("files"):  # a file shared with the bot: an admin's policy upload
            self.on_upload(event, context, client)
            return
        thread_ts = event.get("thread_ts")
        self.answer_in_thread(
            client,
            event["channel"],
            thread_ts or event["ts"],
            clean_question(event.get("text"), context.bot_user_id),
            event.get("user") or event.get("bot_id"),
            context.team_id,
        )

    def on_thread_reply(self, event: dict, context, client: WebClient) -> None:
        """A reply without a mention in a channel thread the bot has answered in is a follow-up;
        anything else in channels is answered only when it mentions the bot (app_mention)."""
        thread_ts, text = event.get("thread_ts"), event.get("text") or ""
        if not thread_ts or thread_ts == event.get("ts") or self._skip(event, context):
            return
        bot = context.bot_user_id or ""
        if bot and f"<@{bot}" in text:
            return  # the app_mention event for the same message answers it
        if re.match(r"\s*<[@!]", text):
            return  # addressed to someone else (or to everyone), not to the bot
        if not self.service.has_answered_in(conversation_key(event["channel"], thread_ts)):
            return
        self.answer_in_thread(
            client,
            event["channel"],
            thread_ts,
            clean_question(text, bot),
            event.get("user") or event.get("bot_id"),
            context.team_id,
        )

    def on_ask_about_message(self, ack, shortcut: dict, respond, client: WebClient) -> None:
        """ "Ask the advisor about this": an answer about the selected message, in its thread, or
        only to the asker when the bot may not post in that channel."""
        ack()
        message = shortcut.get("message") or {}
        channel = (shortcut.get("channel") or {}).get("id") or ""
        user = (shortcut.get("user") or {}).get("id") or ""
        team = (shortcut.get("team") or {}).get("id")
        text = clean_question(message.get("text"), None)
        if not text:
            respond(text="That message has no text I can answer about.", response_type="ephemeral")
            return
        question = f"What do our guidance and policies say about this: {text}"
        root = message.get("thread_ts") or message.get("ts") or ""
        try:
            reply = ThreadReply(
                client, channel, root, user=user, team=team, stream=False, interval=self.progress_interval
            )
            viewer = self.audience.viewer(client, user, channel, private=False)
            answer = self.service.ask(
                question, conversation=conversation_key(channel, root), user=user, channel=channel, viewer=viewer
            )
            try:
                reply.finish_answer(answer)
                return
            except SlackApiError as exc:
                if exc.response.get("error") not in NOT_IN_CHANNEL:
                    raise
            # Not a member: answer the asker alone, for what they alone may read.
            private = self.audience.viewer(client, user, channel, private=True)
            if private != viewer:
                answer = self.service.ask(question, user=user, channel=channel, viewer=private)
            respond(text=blocks.answer_fallback(answer), blocks=blocks.answer_blocks(answer), response_type="ephemeral")
        except Exception:  # noqa: BLE001
            report_failure(
                f"the message shortcut by {user} in {channel}",
                lambda text: respond(text=text, response_type="ephemeral"),
            )

    def on_upload(self, event: dict, context, client: WebClient) -> None:
        try:
            admin.handle_upload(self.service, client, event, clean_question(event.get("text"), context.bot_user_id))
        except Exception:  # noqa: BLE001
            report_failure(
                f"handling the files shared by {event.get('user')}",
                lambda text: client.chat_postMessage(
                    channel=event["channel"], thread_ts=event.get("thread_ts") or event["ts"], text=text
                ),
                "adding your file",
            )

    def on_assistant_thread_started(self, event: dict, client: WebClient) -> None:
        thread = event.get("assistant_thread") or {}
        channel, thread_ts = thread.get("channel_id"), thread.get("thread_ts")
        if not channel or not thread_ts:
            return
        try:
            client.assistant_threads_setSuggestedPrompts(
                channel_id=channel, thread_ts=thread_ts, title="Try asking", prompts=SUGGESTED_PROMPTS
            )
        except Exception:  # the thread works without prompts
            log.exception("setting suggested prompts in %s failed (error id %s)", channel, new_error_id())

    def on_home_opened(self, event: dict, client: WebClient) -> None:
        tab = event.get("tab", "home")
        if tab == "messages":
            self.suggest_prompts(client, event.get("channel"))
        elif tab == "home":
            self.publish_home(client, event["user"])

    def suggest_prompts(self, client: WebClient, channel: str | None) -> None:
        """The Messages tab's suggested prompts (channel-wide: no thread)."""
        if not channel:
            return
        try:
            client.assistant_threads_setSuggestedPrompts(
                channel_id=channel, title="Try asking", prompts=SUGGESTED_PROMPTS
            )
        except Exception:  # the tab works without prompts
            log.exception("setting the Messages tab prompts in %s failed (error id %s)", channel, new_error_id())

    def publish_home(self, client: WebClient, user_id: str, notice: str = "") -> None:
        try:
            status = self.service.status()
        except Exception:  # the Home tab still opens
            error_id = new_error_id()
            log.exception("reading the knowledge status for the Home tab failed (error id %s)", error_id)
            status, notice = None, notice or f"Status unavailable (error id {error_id})."
        assessments = None
        try:
            assessments = assess.home_blocks(self.service, user_id)
        except Exception:
            log.exception("listing assessments for %s failed (error id %s)", user_id, new_error_id())
        is_admin = admin.is_admin(self.service, client, user_id)
        runs = None
        if is_admin:
            try:
                runs = self.service.ingest_runs(5)
            except Exception:
                log.exception("reading the ingest runs failed (error id %s)", new_error_id())
        view = blocks.home_view(status, is_admin=is_admin, assessments=assessments, notice=notice, runs=runs)
        client.views_publish(user_id=user_id, view=view)

    # --- answering ----------------------------------------------------------------------------

    def answer_in_thread(
        self, client: WebClient, channel: str, root: str, question: str, user: str | None, team: str | None
    ) -> None:
        conversation = conversation_key(channel, root)
        reply = ThreadReply(client, channel, root, user=user, team=team, interval=self.progress_interval)
        try:
            if not question:
                reply.finish(EMPTY_QUESTION, None)
                return
            trigger = TRIGGERS.get(_normalise(question))
            if trigger:
                SUBCOMMANDS[trigger](
                    self._thread_context(trigger, "", user, channel, client, reply, root, conversation)
                )
                return
            # A thread that holds an assessment in progress: the message is its next answer.
            ctx = self._thread_context("", question, user, channel, client, reply, root, conversation)
            try:
                handled = assess.on_thread_message(ctx)
            except Exception:  # e.g. a broken assessment.yaml: questions still get answers
                log.exception(
                    "the assessment check failed in %s (thread %s, error id %s); answering as a question",
                    channel,
                    root,
                    new_error_id(),
                )
                handled = False
            if handled:
                return
            with self._answering_lock:
                self._answering.add(reply)
            reply.start()
            # A DM (and the Messages tab) is read by the asker alone; a channel thread by everyone in it.
            viewer = self.audience.viewer(client, user or "", channel, private=channel.startswith("D"))
            answer = self.service.ask(
                question, conversation=conversation, user=user, channel=channel, on_text=reply.partial, viewer=viewer
            )
            if reply.abandoned:
                return  # the process stopped waiting and already told the user
            reply.finish_answer(answer)
        except Exception:  # noqa: BLE001 — the user sees an id, the log has the details
            report_failure(f"answering in {channel} (thread {root})", reply.fail)
        finally:
            with self._answering_lock:
                self._answering.discard(reply)

    def abandon_answers(self) -> int:
        """The process is stopping before these answers finished: tell each asker, in place, to
        ask again (Slack will not redeliver an event it saw acknowledged). Returns how many."""
        with self._answering_lock:
            replies = list(self._answering)
        for reply in replies:
            reply.abandoned = True
            reply.fail(RESTARTED)
        told = len(replies)
        queued = self.executor.abandon_queued() if hasattr(self.executor, "abandon_queued") and self.client else []
        for claim, place in queued:
            # Acknowledged but not started: a question (its place is known) that is not a retry
            # of one already handled gets the same note in its thread.
            if place is None or not claim():
                continue
            channel, thread_ts = place
            try:
                self.client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=RESTARTED)
                told += 1
            except Exception:  # the process is stopping; the log keeps the rest
                log.exception("could not tell the asker in %s (thread %s) to ask again", channel, thread_ts)
        return told

    def _thread_context(
        self,
        name: str,
        args: str,
        user: str | None,
        channel: str,
        client: WebClient,
        reply: ThreadReply,
        thread_ts: str,
        conversation: str,
    ) -> CommandContext:
        """A CommandContext whose reply goes to the thread (replacing the progress placeholder)."""
        return CommandContext(
            name=name,
            args=args,
            user_id=user or "",
            channel_id=channel,
            service=self.service,
            settings=self.settings,
            client=client,
            reply=lambda text, message_blocks=None: reply.finish(text, message_blocks),
            progress=lambda text: reply.start(),
            thread_ts=thread_ts,
            conversation=conversation,
            listeners=self,
        )

    def _skip(self, event: dict, context) -> str | None:
        """Why an event must not be answered, or None."""
        subtype = event.get("subtype")
        reason = None
        if subtype and subtype not in ANSWERED_SUBTYPES:
            reason = f"subtype {subtype}"
        elif event.get("hidden"):
            reason = "hidden message"
        elif (event.get("user") and event.get("user") == context.bot_user_id) or (
            event.get("bot_id") and event.get("bot_id") == context.bot_id
        ):
            reason = "own message"
        elif (event.get("bot_id") or subtype == "bot_message") and not self.settings.reply_to_bots:
            reason = "another bot (ADVISOR_REPLY_TO_BOTS is off)"
        if reason:
            log.debug("ignoring %s event %s: %s", event.get("type"), event.get("ts"), reason)
        return reason

    # --- /advisor -----------------------------------------------------------------------------

    def on_command(self, ack, command: dict, respond, client: WebClient) -> None:
        ack()
        text = (command.get("text") or "").strip()
        name, _, args = text.partition(" ")
        name = name.lower() or "help"
        user, channel = command.get("user_id") or "", command.get("channel_id")

        shown = {"progress": False}  # replace the progress message only when there is one

        def reply(text: str, message_blocks: list[dict] | None = None) -> None:
            respond(
                text=text, blocks=message_blocks, response_type="ephemeral", replace_original=shown["progress"] or None
            )

        def progress(text: str) -> None:
            respond(text=text, response_type="ephemeral")
            shown["progress"] = True

        ctx = CommandContext(
            name=name,
            args=args.strip(),
            user_id=user,
            channel_id=channel,
            service=self.service,
            settings=self.settings,
            client=client,
            reply=reply,
            progress=progress,
            listeners=self,
        )
        try:
            handler = SUBCOMMANDS.get(name)
            if handler is None:
                cmd_help(ctx, f"I don't know `/advisor {blocks.escape(name)}`.")
                return
            handler(ctx)
        except Exception:  # noqa: BLE001
            report_failure(
                f"/advisor {name} by {user}",
                lambda text: respond(text=text, response_type="ephemeral", replace_original=shown["progress"] or None),
                f"running /advisor {name}",
            )

    # --- buttons ------------------------------------------------------------------------------

    def on_feedback(self, ack, body: dict, action: dict, respond, client: WebClient) -> None:
        ack()
        user = (body.get("user") or {}).get("id") or ""
        if action.get("action_id") == blocks.FEEDBACK:  # the footer: the value says which button
            vote = blocks.parse_feedback(action.get("value") or "")
            if vote is None:
                log.info("ignoring a feedback click with value %r", (action.get("value") or "")[:80])
                return
            answer_id, helpful = vote
        else:
            answer_id, helpful = action.get("value") or "", action.get("action_id") == blocks.FEEDBACK_HELPFUL
        follow_up = None
        try:
            stored = self.service.record_feedback(answer_id, user, helpful)
            text = (
                "Thanks for the feedback."
                if stored
                else "I couldn't find that answer any more, so the feedback was not recorded."
            )
            if stored and not helpful:
                follow_up = blocks.feedback_reason_blocks(answer_id)
        except Exception:  # noqa: BLE001
            report_failure(
                f"storing feedback from {user}",
                lambda text: self._ephemeral(body, respond, client, user, text),
                "saving your feedback",
            )
            return
        self._ephemeral(body, respond, client, user, text, follow_up)

    def on_feedback_reason(self, ack, body: dict, action: dict, respond, client: WebClient) -> None:
        ack()
        user = (body.get("user") or {}).get("id") or ""
        answer_id, _, reason = (action.get("value") or "").partition("|")
        if reason not in dict(blocks.FEEDBACK_REASONS):
            return
        try:
            stored = self.service.record_feedback_reason(answer_id, user, reason)
            text = "Noted, thank you." if stored else "I couldn't find your vote on that answer any more."
        except Exception:  # noqa: BLE001
            report_failure(
                f"storing a feedback reason from {user}",
                lambda text: self._ephemeral(body, respond, client, user, text),
                "saving your feedback",
            )
            return
        self._ephemeral(body, respond, client, user, text)

    def on_admin_reingest(self, ack, body: dict, client: WebClient) -> None:
        ack()
        user = (body.get("user") or {}).get("id") or ""
        try:
            if not admin.authorize(self.service, client, user, "reingest", "App Home button"):
                client.chat_postMessage(channel=user, text=admin.REFUSAL)
                return
            try:
                self.start_reingest(client, user)
            except IngestBusy:
                client.chat_postMessage(channel=user, text=admin.BUSY)
        except Exception:  # noqa: BLE001
            report_failure(
                f"the re-ingest request by {user}",
                lambda text: client.chat_postMessage(channel=user, text=text),
                "starting the re-ingest",
            )

    def start_reingest(self, client: WebClient, user: str) -> threading.Thread:
        """The admin re-ingest (rights checked by the caller): a progress message in the admin's
        DM updated in place, the summary, then the admin's Home tab refreshed. Raises IngestBusy
        when an ingest is running (nothing started)."""
        run = admin.IngestRun(
            self.service,
            client,
            user,
            interval=self.progress_interval,
            on_finish=lambda: self.publish_home(client, user),
        )
        thread = run.start()
        self.background.append(thread)
        return thread

    def on_assess_action(self, ack, body: dict, action: dict, respond, client: WebClient) -> None:
        ack()
        user = (body.get("user") or {}).get("id") or ""
        try:
            assess.handle_action(self.service, self.settings, body, action, respond, client)
            if (body.get("container") or {}).get("type") == "view":
                self.publish_home(client, user)  # the Home tab lists the assessment in progress
        except Exception:  # noqa: BLE001
            report_failure(
                f"assessment button {action.get('action_id')} by {user}",
                lambda text: self._ephemeral(body, respond, client, user, text),
                "handling that button",
            )

    @staticmethod
    def _ephemeral(
        body: dict, respond, client: WebClient, user: str, text: str, message_blocks: list | None = None
    ) -> None:
        try:
            if body.get("response_url"):
                respond(text=text, blocks=message_blocks, response_type="ephemeral", replace_original=False)
                return
            channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
            if channel:
                message = body.get("message") or {}
                client.chat_postEphemeral(
                    channel=channel, user=user, text=text, blocks=message_blocks, thread_ts=message.get("thread_ts")
                )
            else:
                client.chat_postMessage(channel=user, text=text, blocks=message_blocks)
        except Exception:
            log.exception("could not acknowledge %s's click", user)

    # --- anything that escaped a listener ---------------------------------------------------------

    def on_error(self, error: Exception, body: dict) -> None:
        error_id = new_error_id()
        kind = body.get("type") if isinstance(body, dict) else None
        log.error("unhandled error in a Slack listener (%s, error id %s)", kind, error_id, exc_info=error)
