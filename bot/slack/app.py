"""The Bolt app: Web API client with retries, event dedupe, and the listeners."""

from __future__ import annotations

import logging

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from .lifecycle import LanedExecutor
from .listeners import Listeners

log = logging.getLogger(__name__)


def retry_handlers() -> list[RetryHandler]:
    """Web API calls survive a dropped connection, 429 (honouring Retry-After) and 500/503."""
    return [
        ConnectionErrorRetryHandler(max_retry_count=2),
        RateLimitErrorRetryHandler(max_retry_count=3),
        ServerErrorRetryHandler(max_retry_count=2),
    ]


def web_client(settings) -> WebClient:
    return WebClient(
        token=settings.secret("slack_bot_token") or None,
        base_url=settings.slack_api_url,
        retry_handlers=retry_handlers(),
        timeout=30,
    )


def dedupe_middleware(service, executor: LanedExecutor | None = None):
    """Answer an Events API event once per event_id. Slack redelivers an event (with
    X-Slack-Retry-Num) when it did not see the ack in time; the claim is in the bot's SQLite
    store, so a retry arriving after a restart is dropped too.

    With ``executor``, nothing of this is on the acknowledging path: the event's listener is
    queued on the answer lane, and the claim is made on the worker just before the work
    starts (a retry is acknowledged, then dropped there). An event still queued when the
    process stops was never claimed, so Slack's retry is answered by the next process."""

    def claim(event_id: str, retry: str, reason: str) -> bool:
        try:
            claimed = service.claim_event(event_id)
        except Exception:  # a store failure must not lose the question
            log.exception("could not claim Slack event %s; answering it anyway", event_id)
            return True
        if not claimed:
            service.metrics.slack_retries_deduped.inc()
            log.info("dropping Slack event %s: already handled (retry %s, %s)", event_id, retry, reason)
        return claimed

    def dedupe_events(body: dict, request, next) -> BoltResponse | None:  # Bolt's name
        event_id = body.get("event_id")
        if body.get("type") != "event_callback" or not event_id:
            if executor is not None:
                executor.route_next(None)
            next()
            return None
        retry = (request.headers.get("x-slack-retry-num") or ["-"])[0]
        reason = (request.headers.get("x-slack-retry-reason") or ["-"])[0]
        if executor is None:
            if not claim(event_id, retry, reason):
                return BoltResponse(status=200, body="")
            next()
            return None
        executor.route_next(lambda: claim(event_id, retry, reason), answer_place(body.get("event") or {}))
        next()
        return None

    return dedupe_events


def answer_place(event: dict) -> tuple[str, str] | None:
    """(channel, thread) where an event is answered for sure (a mention outside DMs, a person's
    DM), or None: other messages are answered only after checks the listener makes."""
    if event.get("subtype") or event.get("bot_id") or not event.get("channel") or not event.get("ts"):
        return None
    direct = event.get("channel_type") == "im"
    if (event.get("type") == "app_mention" and not direct) or (event.get("type") == "message" and direct):
        if event.get("files"):
            return None  # an upload, not a question
        return event["channel"], event.get("thread_ts") or event["ts"]
    return None


def same_team_middleware():
    """Ignore requests for a workspace other than the one the bot token belongs to (this is a
    single-workspace app), logging each foreign team once."""
    seen: set[str] = set()

    def same_team(context, next) -> BoltResponse | None:  # Bolt's name
        installed = getattr(context.authorize_result, "team_id", None) if context.authorize_result else None
        team = context.team_id
        if installed and team and team != installed:
            if team not in seen:
                seen.add(team)
                log.warning("ignoring requests from team %s: the bot is installed in %s", team, installed)
            return BoltResponse(status=200, body="")
        next()
        return None

    return same_team


def build_app(settings, service, *, progress_interval: float = 1.0) -> App:
    """The Bolt app for ``service``. Calls auth.test once (Bolt's token verification), so a
    wrong SLACK_BOT_TOKEN fails here, at start-up. ``app.advisor`` is the Listeners object."""
    executor = LanedExecutor(
        max_workers=max(8, settings.http_threads),
        thread_name_prefix="advisor-listener",
        answer_workers=settings.answer_workers,
    )
    app = App(
        client=web_client(settings),
        signing_secret=settings.secret("slack_signing_secret") or "",
        name="genai-strategy-advisor",
        process_before_response=False,  # ack within Slack's 3 s, answer on a worker thread
        listener_executor=executor,
    )
    app.middleware(same_team_middleware())
    app.middleware(dedupe_middleware(service, executor))
    listeners = Listeners(settings, service, progress_interval=progress_interval)
    listeners.executor = executor
    listeners.client = app.client
    listeners.register(app)
    app.advisor = listeners  # type: ignore[attr-defined]
    return app
