"""pytest fixtures for the Slack tests: import them into a test module with
``from tests.support.slack_fixtures import *  # noqa: F401,F403``.

One copy of the session's built index per module (the bot writes its SQLite store there), one
AdvisorService per module sharing the session's embedder, and per test: a fresh mock Slack, a
fresh Bolt app and the bot's real HTTP server (waitress) on an ephemeral port.
"""

from __future__ import annotations

from pydantic import SecretStr

import shutil
from dataclasses import dataclass

import pytest

from .mock_slack import MockSlack
from .slack_requests import SlackSender

SIGNING_SECRET = "test-signing-secret"

__all__ = ["slack_home", "advisor_service", "mock_slack", "bot_settings", "make_bot", "bot", "Bot", "SIGNING_SECRET"]


@dataclass
class Bot:
    app: object
    server: object
    sender: SlackSender
    service: object
    settings: object
    mock: MockSlack

    @property
    def listeners(self):
        return self.app.advisor


@pytest.fixture(scope="module")
def slack_home(built_index, tmp_path_factory):
    """Settings on a private copy of the built index (the session's copy stays read-only)."""
    home = tmp_path_factory.mktemp("slack") / "home"
    shutil.copytree(built_index.home, home, ignore=shutil.ignore_patterns("advisor.db*", "ingest.lock"))
    return built_index.model_copy(update={"home": home})


@pytest.fixture(scope="module")
def advisor_service(slack_home, embedder):
    from bot.core import AdvisorService

    service = AdvisorService(slack_home, embedder=embedder)
    service.warm_up()
    return service


@pytest.fixture()
def mock_slack():
    with MockSlack() as mock:
        yield mock


@pytest.fixture()
def bot_settings(slack_home, mock_slack):
    return slack_home.model_copy(
        update={
            "slack_bot_token": SecretStr(mock_slack.bot_token),
            "slack_signing_secret": SecretStr(SIGNING_SECRET),
            "slack_app_token": SecretStr(""),
            "slack_api_url": mock_slack.api_url,
            "http_threads": 4,
        }
    )


@pytest.fixture()
def make_bot(bot_settings, advisor_service, mock_slack):
    """make_bot(**settings_updates) → a running Bot; stopped at the end of the test."""
    from bot.slack.app import build_app
    from bot.slack.server import http_server

    started: list[Bot] = []

    def make(service=None, progress_interval: float = 1.0, **updates) -> Bot:
        """Settings ``updates`` apply to the bot and to its service (one Settings object, as in
        production): a service on the same home is made for them, sharing the embedder."""
        settings = bot_settings.model_copy(update=updates) if updates else bot_settings
        if service is None and updates:
            from bot.core import AdvisorService

            service = AdvisorService(settings, embedder=advisor_service.embedder)
        service = service or advisor_service
        app = build_app(settings, service, progress_interval=progress_interval)
        server = http_server(settings, app, service, host="127.0.0.1", port=0).start()
        made = Bot(
            app,
            server,
            SlackSender(server.url, SIGNING_SECRET, team_id=mock_slack.team_id),
            service,
            settings,
            mock_slack,
        )
        started.append(made)
        return made

    yield make
    for made in started:
        made.server.stop()
        made.listeners.drain()
    # history comes from the core's store, never from Slack
    assert not mock_slack.calls_of("conversations.replies") and not mock_slack.calls_of("conversations.history")


@pytest.fixture()
def bot(make_bot) -> Bot:
    return make_bot()
