"""The same listeners over Socket Mode: Bolt's SocketModeHandler dispatching envelopes, first
handed to it directly, then over a real WebSocket from slack_sdk's built-in client."""

from __future__ import annotations

from pydantic import SecretStr

import logging
import threading

import pytest
from slack_sdk.socket_mode.request import SocketModeRequest

from tests.support.mock_slack import MockSocketMode
from tests.support.slack_answers import is_answer
from tests.support.slack_fixtures import *  # noqa: F403
from tests.support.slack_requests import SlackSender, dm, mention, unique_id

QUESTION = "Can I send customer data to Azure OpenAI?"


class RecordingSocketClient:
    """Just enough of a SocketModeClient for SocketModeHandler.handle()."""

    def __init__(self):
        self.logger = logging.getLogger("test.socket")
        self.responses = []
        self._lock = threading.Lock()

    def send_socket_mode_response(self, response) -> None:
        with self._lock:
            self.responses.append(response)


@pytest.fixture()
def socket_bot(bot_settings, advisor_service, mock_slack):
    from bot.slack.app import build_app
    from bot.slack.server import socket_mode_handler

    settings = bot_settings.model_copy(
        update={"slack_app_token": SecretStr(mock_slack.app_token), "slack_signing_secret": SecretStr("")}
    )
    app = build_app(settings, advisor_service)
    handler = socket_mode_handler(settings, app)
    yield app, handler
    handler.close()
    app.advisor.drain()


def envelope(payload: dict, kind: str = "events_api", retry_attempt: int | None = None) -> SocketModeRequest:
    return SocketModeRequest(
        type=kind,
        envelope_id=unique_id("env-"),
        payload=payload,
        accepts_response_payload=kind != "events_api",
        retry_attempt=retry_attempt,
        retry_reason="timeout" if retry_attempt else None,
    )


def test_socket_mode_mention_is_acked_and_answered(socket_bot, mock_slack):
    app, handler = socket_bot
    client = RecordingSocketClient()
    body = SlackSender("http://unused", "").envelope(mention(QUESTION, channel="CSOCKET"))
    request = envelope(body)
    handler.handle(client, request)
    assert [r.envelope_id for r in client.responses] == [request.envelope_id]
    answer = mock_slack.wait_for_message("CSOCKET", is_answer)
    assert answer["thread_ts"] == body["event"]["ts"]

    retried = envelope(body, retry_attempt=1)  # Slack redelivers the same event_id
    handler.handle(client, retried)
    assert client.responses[-1].envelope_id == retried.envelope_id
    mock_slack.settle(quiet=0.4)
    assert len(mock_slack.calls_of("chat.postMessage", where=lambda c: c.params["channel"] == "CSOCKET")) == 1


def test_socket_mode_slash_command_and_dm(socket_bot, mock_slack):
    app, handler = socket_bot
    client = RecordingSocketClient()
    command = {
        "command": "/advisor",
        "text": "help",
        "user_id": "UALICE",
        "channel_id": "CGENERAL",
        "team_id": mock_slack.team_id,
        "response_url": mock_slack.response_url("socket"),
        "trigger_id": "t",
        "api_app_id": "A0TEST",
    }
    handler.handle(client, envelope(command, "slash_commands"))
    [response] = mock_slack.wait_for_response("socket")
    assert "/advisor ask" in str(response.payload["blocks"])

    event = dm(QUESTION, channel="DSOCKET")
    handler.handle(client, envelope(SlackSender("http://unused", "").envelope(event)))
    mock_slack.wait_for_message("DSOCKET", is_answer)
    assert len(client.responses) == 2


def test_socket_mode_over_a_websocket(socket_bot, mock_slack):
    app, handler = socket_bot
    with MockSocketMode() as socket_server:
        mock_slack.socket_url = socket_server.url
        handler.connect()
        socket_server.wait_connected()
        [opened] = mock_slack.wait_for("apps.connections.open")
        assert opened.token == mock_slack.app_token

        event = mention(QUESTION, channel="CWIRE")
        body = SlackSender("http://unused", "").envelope(event)
        socket_server.send(
            {
                "envelope_id": "wire-1",
                "type": "events_api",
                "payload": body,
                "accepts_response_payload": False,
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        assert socket_server.wait_for_ack("wire-1") == {"envelope_id": "wire-1"}
        mock_slack.wait_for_message("CWIRE", is_answer)
        handler.close()
