"""One reply in a Slack thread, as the 2026 agent experience shows it: a status with loading
messages while the bot works, the answer streamed natively (chat.startStream / appendStream /
stopStream) in Markdown, the sources and the feedback footer added when the stream stops.

Where the workspace refuses a step, the reply falls back rather than failing: no status → a
"Thinking…" placeholder message; no streaming → the placeholder (or a first message) updated
with the text so far; a stream that cannot be stopped → the message updated in place.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from . import blocks
from .markup import MARKDOWN_LIMIT, break_at, safe_markdown, split_markdown, stable_length
from .throttle import Throttle

log = logging.getLogger(__name__)

STATUS = "is thinking…"
LOADING_MESSAGES = ["Searching the policies…", "Reading the guidance…", "Drafting an answer…"]
# Streamed text stops short of the message cap; the rest arrives with the final answer.
STREAM_LIMIT = MARKDOWN_LIMIT - 500


class LiveMessage:
    """One message posted once, then edited in place: a "Thinking…" placeholder that becomes the
    answer, or an ingest's progress line. ``show`` posts or updates; ``tick`` updates at most
    once per ``interval`` seconds and never raises (progress is best effort)."""

    def __init__(
        self,
        client: WebClient,
        channel: str,
        thread_ts: str | None = None,
        *,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.client = client
        self.channel = channel
        self.thread_ts = thread_ts
        self.throttle = Throttle(interval, clock)
        self.ts: str | None = None
        self.updates = 0

    def post(self, text: str, message_blocks: list[dict] | None = None, *, unfurl: bool = True) -> str:
        """A new message in the same place (the live one stays where it is)."""
        kwargs: dict[str, Any] = {"channel": self.channel, "text": text}
        if self.thread_ts:
            kwargs["thread_ts"] = self.thread_ts
        if message_blocks is not None:
            kwargs["blocks"] = message_blocks
        if not unfurl:  # an answer's citations must not expand into link previews
            kwargs.update(unfurl_links=False, unfurl_media=False)
        posted = self.client.chat_postMessage(**kwargs)
        self.channel = posted.get("channel") or self.channel  # a user id posts to the DM's channel id
        return posted["ts"]

    def show(self, text: str, message_blocks: list[dict] | None = None, *, unfurl: bool = True) -> None:
        if self.ts is None:
            self.ts = self.post(text, message_blocks, unfurl=unfurl)
            self.throttle.restart()
            return
        # blocks=[] clears the earlier blocks when the new text comes without any
        self.client.chat_update(
            channel=self.channel, ts=self.ts, text=text, blocks=message_blocks if message_blocks is not None else []
        )

    def tick(self, text: str) -> bool:
        if not self.throttle.ready():
            return False
        try:
            self.show(text)
            self.updates += 1
            return True
        except SlackApiError as exc:
            log.warning("a progress update in %s failed: %s", self.channel, exc.response.get("error"))
            return False


class ThreadReply:
    """``start()`` shows progress, ``partial(text)`` shows streamed text (at most every
    ``interval`` seconds), ``finish_answer(answer)`` delivers an answer, ``finish(text, blocks)``
    any other reply (a subcommand's), ``fail(text)`` an error."""

    def __init__(
        self,
        client: WebClient,
        channel: str,
        thread_ts: str,
        *,
        user: str | None = None,
        team: str | None = None,
        stream: bool = True,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.client = client
        self.channel = channel
        self.thread_ts = thread_ts
        self.user = user
        self.team = team
        self.stream = stream  # try native streaming (the workspace may still refuse it)
        self.throttle = Throttle(interval, clock)  # of stream appends
        self.message = LiveMessage(client, channel, thread_ts, interval=interval, clock=clock)
        self.streaming = False  # the message is an open stream
        self.streamed = ""  # the safe Markdown sent into the stream so far
        self.status_shown = False
        self.abandoned = False  # the process stopped before the answer; the user was told
        self.updates = 0

    # --- progress -------------------------------------------------------------------------------

    def start(self) -> None:
        try:
            self.client.assistant_threads_setStatus(
                channel_id=self.channel, thread_ts=self.thread_ts, status=STATUS, loading_messages=LOADING_MESSAGES
            )
            self.status_shown = True
            return
        except SlackApiError as exc:
            log.info(
                "assistant.threads.setStatus refused in %s (%s); using a placeholder message",
                self.channel,
                exc.response.get("error"),
            )
        self.message.show(blocks.THINKING)

    def partial(self, text: str) -> None:
        """Called by the core with the text so far while a model streams."""
        if not text.strip():
            return
        if self._can_stream():
            self._stream_to(text)
            return
        if self.message.tick(blocks.partial_text(text)):
            self.updates += 1

    # --- the end --------------------------------------------------------------------------------

    def finish_answer(self, answer) -> None:
        fallback = blocks.answer_fallback(answer)
        tail = blocks.answer_tail(answer)
        if self.streaming:
            full = safe_markdown(answer.text)
            if full.startswith(self.streamed):  # the stream ends as the answer, continued if long
                rest = full[len(self.streamed) :]
                cut = break_at(rest, MARKDOWN_LIMIT - len(self.streamed))
                more = split_markdown(rest[cut:])
                if self._stop_stream(rest[:cut], None if more else tail):
                    self._post_pieces(more, tail, fallback)
                    return
            else:  # what streamed differs from the answer (e.g. citations renumbered)
                self._close_stream()
        messages = blocks.answer_messages(answer)
        self.message.show(fallback, messages[0], unfurl=False)
        for more in messages[1:]:
            self.message.post(fallback if more is messages[-1] else "(continued)", more, unfurl=False)

    def _post_pieces(self, pieces: list[str], tail: list[dict], fallback: str) -> None:
        """Text past one message's limit, continued below; the tail goes on the last message."""
        for n, piece in enumerate(pieces):
            last = n == len(pieces) - 1
            self.message.post(
                fallback if last else "(continued)", [blocks.markdown(piece)] + (tail if last else []), unfurl=False
            )

    def finish(self, text: str, message_blocks: list[dict] | None) -> None:
        if self.streaming:
            self._close_stream()
        self.message.show(text, message_blocks)

    def fail(self, text: str) -> None:
        try:
            if self.streaming:
                self._close_stream()
            self.message.show(text, None)
        except Exception:  # nothing more can be told to the user
            log.exception("could not tell the user about a failure in %s", self.channel)

    # --- streaming ------------------------------------------------------------------------------

    def _can_stream(self) -> bool:
        # A placeholder already holds the reply (no status here): keep updating it.
        return self.stream and (self.streaming or self.message.ts is None)

    def _stream_to(self, text: str) -> None:
        safe = safe_markdown(text[: stable_length(text)])
        if len(safe) > STREAM_LIMIT or not safe.startswith(self.streamed):
            return  # the rest (or the corrected text) arrives with the final answer
        delta = safe[len(self.streamed) :]
        if not delta or (self.streaming and not self.throttle.ready()):
            return
        try:
            if not self.streaming:
                self.message.ts = self.client.chat_startStream(
                    channel=self.channel, thread_ts=self.thread_ts, markdown_text=delta, **self._recipient()
                )["ts"]
                self.streaming = True
                self.throttle.restart()
            else:
                self.client.chat_appendStream(channel=self.channel, ts=self.message.ts, markdown_text=delta)
            self.streamed = safe
            self.updates += 1
        except SlackApiError as exc:
            error = exc.response.get("error")
            if not self.streaming:
                log.info("chat.startStream refused in %s (%s); updating a message instead", self.channel, error)
                self.stream = False
            else:
                log.warning(
                    "chat.appendStream failed in %s (%s); the answer will replace the message", self.channel, error
                )

    def _recipient(self) -> dict[str, Any]:
        # Slack requires the recipient when streaming into a channel (not a DM).
        if self.channel.startswith("D"):
            return {}
        return {"recipient_user_id": self.user, "recipient_team_id": self.team}

    def _stop_stream(self, rest: str, tail: list[dict] | None) -> bool:
        """Stop the stream with the rest of its text and the tail. False when Slack refused (the
        caller then updates the message in place)."""
        try:
            self.client.chat_stopStream(
                channel=self.channel, ts=self.message.ts, markdown_text=rest or None, blocks=tail or None
            )
            return True
        except SlackApiError as exc:
            log.warning(
                "chat.stopStream failed in %s (%s); updating the message instead",
                self.channel,
                exc.response.get("error"),
            )
            return False
        finally:
            self.streaming = False

    def _close_stream(self) -> None:
        try:
            self.client.chat_stopStream(channel=self.channel, ts=self.message.ts)
        except SlackApiError as exc:
            log.warning("chat.stopStream failed in %s (%s)", self.channel, exc.response.get("error"))
        self.streaming = False
