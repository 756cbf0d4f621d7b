"""serve(): configuration errors name the missing variable, the mode is chosen from the
tokens, the token is checked and the model loaded once before serving."""

from __future__ import annotations

from pydantic import SecretStr

import pytest
from click.testing import CliRunner

from bot.slack import server
from bot.slack.server import SlackConfigError, serve
from tests.support.slack_fixtures import *  # noqa: F403


class StubService:
    def __init__(self):
        self.warmed = 0

    def warm_up(self):
        self.warmed += 1


@pytest.mark.parametrize(
    "env, mode, missing",
    [
        ({}, None, "SLACK_BOT_TOKEN"),
        ({"SLACK_SIGNING_SECRET": "s"}, "http", "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, None, "SLACK_SIGNING_SECRET"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "http", "SLACK_SIGNING_SECRET"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}, "socket", "SLACK_APP_TOKEN"),
        ({"SLACK_APP_TOKEN": "xapp-1"}, None, "SLACK_BOT_TOKEN"),
    ],
)
def test_missing_configuration_names_the_variable(make_settings, env, mode, missing):
    stub = StubService()
    with pytest.raises(SlackConfigError, match=missing):
        serve(make_settings(**env), mode, service=stub)
    assert stub.warmed == 0


def test_mode_follows_the_tokens(make_settings):
    assert server.resolve_mode(make_settings(SLACK_APP_TOKEN="xapp-1"), None) == "socket"
    assert server.resolve_mode(make_settings(SLACK_SIGNING_SECRET="s"), None) == "http"
    assert server.resolve_mode(make_settings(SLACK_APP_TOKEN="xapp-1"), "http") == "http"
    with pytest.raises(SlackConfigError):
        server.resolve_mode(make_settings(), "carrier-pigeon")


def test_cli_serve_reports_the_missing_variable(make_settings):
    from bot.cli import main

    make_settings()  # isolates the environment and the working directory (.env)
    result = CliRunner().invoke(main, ["serve", "--socket"])
    assert result.exit_code != 0 and "SLACK_BOT_TOKEN" in result.output


def test_rejected_token_fails_before_loading_the_model(bot_settings, mock_slack):
    stub = StubService()
    settings = bot_settings.model_copy(update={"slack_bot_token": SecretStr("xoxb-wrong")})
    with pytest.raises(SlackConfigError, match="SLACK_BOT_TOKEN was rejected"):
        serve(settings, "http", service=stub)
    assert stub.warmed == 0
    assert [c.status for c in mock_slack.calls_of("auth.test", failed=True)] == [401]


def test_serve_http_warms_up_once_then_serves(bot_settings, mock_slack, monkeypatch):
    stub = StubService()
    served = []
    monkeypatch.setattr(server.HttpServer, "serve_forever", lambda self: served.append(self))
    serve(bot_settings.model_copy(update={"port": 0}), None, service=stub)
    assert stub.warmed == 1 and len(served) == 1
    assert served[0].port > 0
    assert len(mock_slack.calls_of("auth.test")) == 1


def test_serve_socket_mode_uses_the_app_token(bot_settings, mock_slack, monkeypatch):
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    stub = StubService()
    started = []

    def start(handler):
        started.append(handler)
        handler.close()

    monkeypatch.setattr(SocketModeHandler, "start", start)
    serve(
        bot_settings.model_copy(
            update={"slack_app_token": SecretStr(mock_slack.app_token), "slack_signing_secret": SecretStr("")}
        ),
        None,
        service=stub,
    )
    assert stub.warmed == 1
    assert [h.app_token for h in started] == [mock_slack.app_token]
    assert started[0].client.web_client.base_url == mock_slack.api_url


def test_json_log_lines_carry_the_error_id():
    import json
    import logging

    from bot.slack.server import JsonFormatter

    record = logging.LogRecord(
        "bot.slack", logging.ERROR, __file__, 1, "answering in %s failed (error id %s)", ("C1", "3f9a1c2b"), None
    )
    line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "ERROR" and line["error_id"] == "3f9a1c2b" and "C1" in line["message"]


def test_secrets_stay_out_of_reprs_and_logs(bot_settings):
    text = repr(bot_settings) + str(bot_settings.model_dump())
    assert bot_settings.secret("slack_bot_token") and bot_settings.secret("slack_bot_token") not in text
    assert bot_settings.secret("slack_signing_secret") not in text


@pytest.mark.parametrize(
    "llm, expected",
    [
        ("nonsense:foo", "unknown provider 'nonsense'"),
        ("openai_compatible:foo", "needs ADVISOR_LLM_BASE_URL"),
        ("ollama:llama3", "pip install 'genai-strategy-advisor[ollama]'"),
    ],
)
def test_serve_with_a_bad_model_setting_exits_with_a_clean_message(tmp_path, monkeypatch, mock_slack, llm, expected):
    env = {
        "ADVISOR_HOME": str(tmp_path / "home"),
        "ADVISOR_LLM": llm,
        "SLACK_BOT_TOKEN": mock_slack.bot_token,
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": mock_slack.api_url,
        "SLACK_APP_TOKEN": "",
    }
    from bot.cli import main

    result = CliRunner().invoke(main, ["serve", "--http"], env=env)
    assert result.exit_code == 1 and expected in result.output and "Traceback" not in result.output
    assert not mock_slack.calls  # failed before contacting Slack
