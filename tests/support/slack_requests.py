"""Signed requests to a Bolt app over HTTP, the way Slack sends them, and payload builders.

The signature is Slack's v0 scheme (what slack_sdk.signature.SignatureVerifier checks):
``X-Slack-Signature: v0=HMAC-SHA256(secret, "v0:{timestamp}:{body}")`` and
``X-Slack-Request-Timestamp: {timestamp}``.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

_counter = itertools.count(1)


def sign(secret: str, timestamp: str, body: str) -> str:
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return f"v0={digest}"


def unique_ts() -> str:
    """A message ts no other test uses."""
    return f"{int(time.time())}.{next(_counter):06d}"


def unique_id(prefix: str) -> str:
    return f"{prefix}{int(time.time() * 1000) % 10**9:09d}{next(_counter):04d}"


@dataclass
class Reply:
    status: int
    body: str
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


class SlackSender:
    """Posts to the bot's /slack/events like Slack does."""

    def __init__(
        self,
        base_url: str,
        signing_secret: str,
        *,
        team_id: str = "T0TEST",
        api_app_id: str = "A0TEST",
        path: str = "/slack/events",
    ):
        self.url = base_url.rstrip("/") + path
        self.base_url = base_url.rstrip("/")
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.api_app_id = api_app_id

    # --- raw -----------------------------------------------------------------------------------

    def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        all_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature or sign(secret or self.signing_secret, ts, body),
            **(headers or {}),
        }
        request = urllib.request.Request(self.url, data=body.encode(), headers=all_headers, method="POST")
        return _open(request)

    def get(self, path: str) -> Reply:
        return _open(urllib.request.Request(self.base_url + path, method="GET"))

    # --- Events API ----------------------------------------------------------------------------

    def envelope(self, event: dict, event_id: str | None = None) -> dict:
        return {
            "token": "legacy-verification-token",
            "team_id": self.team_id,
            "api_app_id": self.api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or unique_id("Ev"),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": "UBOT0001",
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }

    def event(
        self, event: dict, *, event_id: str | None = None, retry_num: int | None = None, **kwargs: Any
    ) -> tuple[Reply, str]:
        envelope = self.envelope(event, event_id)
        headers = dict(kwargs.pop("headers", {}) or {})
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        reply = self.post(json.dumps(envelope), "application/json", headers=headers, **kwargs)
        return reply, envelope["event_id"]

    # --- slash commands and interactivity ------------------------------------------------------

    def command(
        self,
        text: str,
        *,
        user_id: str = "UALICE",
        channel_id: str = "CGENERAL",
        response_url: str,
        command: str = "/advisor",
        **kwargs: Any,
    ) -> Reply:
        form = {
            "token": "legacy-verification-token",
            "team_id": self.team_id,
            "team_domain": "mock",
            "channel_id": channel_id,
            "channel_name": "general",
            "user_id": user_id,
            "user_name": "alice",
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "response_url": response_url,
            "trigger_id": unique_id("trig."),
        }
        return self.post(urlencode(form), "application/x-www-form-urlencoded", **kwargs)

    def interaction(self, payload: dict, **kwargs: Any) -> Reply:
        return self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded", **kwargs)

    def block_action(
        self,
        action_id: str,
        value: str | None,
        *,
        user_id: str = "UALICE",
        channel_id: str | None = "CGENERAL",
        message: dict | None = None,
        response_url: str | None = None,
        view: dict | None = None,
        ephemeral: bool = False,
        block_id: str = "b",
        action: dict | None = None,
        **kwargs: Any,
    ) -> Reply:
        """A click. ``ephemeral``: the button was in an ephemeral message (Slack then sends no
        ``message``, only the container and a response_url); ``action`` adds fields to the action
        (e.g. ``selected_conversation`` of a conversations_select)."""
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user_id, "username": "alice", "team_id": self.team_id},
            "api_app_id": self.api_app_id,
            "token": "legacy-verification-token",
            "team": {"id": self.team_id, "domain": "mock"},
            "trigger_id": unique_id("trig."),
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": block_id,
                    "value": value,
                    "action_ts": unique_ts(),
                    **(action or {}),
                }
            ],
        }
        if value is None:
            del payload["actions"][0]["value"]
        if channel_id:
            payload["channel"] = {"id": channel_id, "name": "general"}
            payload["container"] = {
                "type": "message",
                "channel_id": channel_id,
                "message_ts": (message or {}).get("ts", unique_ts()),
                "is_ephemeral": ephemeral,
            }
        if message is not None and not ephemeral:
            payload["message"] = message
        if response_url:
            payload["response_url"] = response_url
        if view is not None:
            payload["view"] = view
            payload["container"] = {"type": "view", "view_id": view.get("id", "V1")}
        return self.interaction(payload, **kwargs)

    def message_shortcut(
        self,
        callback_id: str,
        message: dict,
        *,
        user_id: str = "UALICE",
        channel_id: str = "CGENERAL",
        response_url: str | None = None,
        **kwargs: Any,
    ) -> Reply:
        """A message shortcut ("…" menu on ``message``), as Slack sends it."""
        payload = {
            "type": "message_action",
            "callback_id": callback_id,
            "trigger_id": unique_id("trig."),
            "user": {"id": user_id, "name": "alice", "team_id": self.team_id},
            "team": {"id": self.team_id, "domain": "mock"},
            "api_app_id": self.api_app_id,
            "token": "legacy-verification-token",
            "channel": {"id": channel_id, "name": "general"},
            "message_ts": message.get("ts"),
            "message": message,
            "action_ts": unique_ts(),
        }
        if response_url:
            payload["response_url"] = response_url
        return self.interaction(payload, **kwargs)


# --- event builders -------------------------------------------------------------------------------


def mention(
    text: str,
    *,
    channel: str = "CGENERAL",
    user: str = "UALICE",
    ts: str | None = None,
    thread_ts: str | None = None,
    bot_user_id: str = "UBOT0001",
    **extra: Any,
) -> dict:
    event = {
        "type": "app_mention",
        "user": user,
        "text": f"<@{bot_user_id}> {text}",
        "ts": ts or unique_ts(),
        "channel": channel,
        "event_ts": unique_ts(),
        **extra,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def dm(
    text: str,
    *,
    channel: str = "DALICE",
    user: str = "UALICE",
    ts: str | None = None,
    thread_ts: str | None = None,
    **extra: Any,
) -> dict:
    event = {
        "type": "message",
        "channel_type": "im",
        "user": user,
        "text": text,
        "ts": ts or unique_ts(),
        "channel": channel,
        "event_ts": unique_ts(),
        **extra,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def _open(request: urllib.request.Request) -> Reply:
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Reply(response.status, response.read().decode(), dict(response.headers))
    except urllib.error.HTTPError as err:
        return Reply(err.code, err.read().decode(), dict(err.headers))
