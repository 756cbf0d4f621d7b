"""Hostile HTTP requests to the bot's real server: each gets a short 4xx (never a 500 with a
traceback), rejected bodies are never logged, and events for another workspace are ignored."""

from __future__ import annotations

import http.client
import json
import logging
import time
from urllib.parse import urlparse, urlencode

import pytest

from bot.slack.guard import MAX_BODY_BYTES, body_problem, signature_problem
from tests.support.slack_fixtures import *  # noqa: F403
from tests.support.slack_requests import SlackSender, mention, sign


def raw_post(url: str, body: bytes, headers: list[tuple[str, str]]) -> tuple[int, str]:
    """A POST with exactly these headers (repeated names allowed), over a real socket."""
    parts = urlparse(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.putrequest("POST", parts.path)
    for name, value in headers:
        conn.putheader(name, value)
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders()
    try:
        conn.send(body)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered before reading it all
    response = conn.getresponse()
    status, text = response.status, response.read().decode()
    conn.close()
    return status, text


def test_unsigned_large_body_is_refused_without_logging_it(bot, caplog):
    caplog.set_level(logging.DEBUG)
    big = b"A" * (5 * 1024 * 1024)
    status, _ = raw_post(bot.sender.url, big, [("Content-Type", "application/json")])
    assert status == 413
    marker = b"HOSTILE-MARKER-" * 1000
    status, text = raw_post(bot.sender.url, marker, [("Content-Type", "application/json")])
    assert status == 401 and "Traceback" not in text
    assert "HOSTILE-MARKER" not in caplog.text


@pytest.mark.parametrize(
    "timestamps",
    [["abc"], ["1", "2"], [""], ["12.5"], ["-1"]],
    ids=["letters", "two-headers", "empty", "decimal", "negative"],
)
def test_malformed_timestamps_get_401(bot, timestamps):
    body = json.dumps(bot.sender.envelope(mention("hi")))
    headers = [("Content-Type", "application/json"), ("X-Slack-Signature", sign("test-signing-secret", "1", body))]
    headers += [("X-Slack-Request-Timestamp", t) for t in timestamps]
    status, text = raw_post(bot.sender.url, body.encode(), headers)
    assert status == 401, text
    assert "Traceback" not in text


@pytest.mark.parametrize("signature", ["", "v1=abc", "v0=", "v0=zz", "garbage"])
def test_malformed_signatures_get_401(bot, signature):
    reply = bot.sender.post("{}", "application/json", signature=signature or " ")
    assert reply.status == 401


def test_stale_timestamp_gets_401(bot):
    reply = bot.sender.post(
        json.dumps(bot.sender.envelope(mention("hi"))), "application/json", timestamp=int(time.time()) - 3600
    )
    assert reply.status == 401


@pytest.mark.parametrize(
    "body,content_type,reason",
    [
        ('{"type": "event_callback", ', "application/json", "malformed JSON"),
        ("[1, 2, 3]", "application/json", "not an object"),
        ("hello=world", "application/x-www-form-urlencoded", "not a Slack event"),
        (urlencode({"payload": "{not json"}), "application/x-www-form-urlencoded", "payload is not JSON"),
        (urlencode({"payload": "[1]"}), "application/x-www-form-urlencoded", "payload is not a JSON object"),
    ],
)
def test_signed_but_malformed_bodies_get_400(bot, body, content_type, reason):
    reply = bot.sender.post(body, content_type)
    assert reply.status == 400 and reason in reply.body
    assert "Traceback" not in reply.body


def test_events_for_another_workspace_are_ignored(bot, caplog):
    caplog.set_level(logging.WARNING)
    stranger = SlackSender(bot.sender.base_url, "test-signing-secret", team_id="TSTRANGER")
    for _ in range(2):
        reply, _ = stranger.event(mention("What is the data residency policy?", channel="CFOREIGN"))
        assert reply.status == 200
    bot.mock.settle()
    assert not bot.mock.calls_of("chat.postMessage", where=lambda c: c.params.get("channel") == "CFOREIGN")
    assert caplog.text.count("ignoring requests from team TSTRANGER") == 1
    # the installed team is still answered
    reply, _ = bot.sender.event(mention("What is the data residency policy?", channel="CHOME"))
    bot.mock.wait_for("chat.postMessage", where=lambda c: c.params.get("channel") == "CHOME")


def test_guard_rules_directly():
    now = 1_700_000_000
    body = b'{"type":"url_verification"}'
    good = sign("s", str(now), body.decode())
    assert signature_problem(body, str(now), good, "s", now=now) is None
    assert signature_problem(body, "abc", good, "s", now=now) == "malformed timestamp"
    assert signature_problem(body, None, good, "s", now=now) == "missing signature headers"
    assert signature_problem(body, str(now - 3600), good, "s", now=now) == "stale timestamp"
    assert signature_problem(body + b" ", str(now), good, "s", now=now) == "invalid signature"
    assert body_problem(b"\xff\xfe", "application/json") == "body is not UTF-8"
    assert body_problem(urlencode({"command": "/advisor", "text": "help"}).encode(), "") is None
    assert MAX_BODY_BYTES >= 256 * 1024
