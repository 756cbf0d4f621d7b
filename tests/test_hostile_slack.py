"""Hostile document text and hostile model output, end to end over real HTTP: a document that
links to Slack specials is ingested, a user mentions the bot, and nothing the bot sends to the
(mock) Slack Web API may ping a channel, a user or a group."""

from __future__ import annotations

import pytest

from bot.core import AdvisorService
from tests.support.mock_openai import MockOpenAI
from tests.support.slack_answers import is_answer, text_of
from tests.support.slack_fixtures import *  # noqa: F403
from tests.support.slack_requests import mention
from tests.test_hostile_rendering import HOSTILE, assert_no_specials

HOSTILE_POLICY = """---
title: GPU Reservation Policy
classification: internal
---
# GPU Reservation Policy

## Booking GPUs
Reservations of shared GPU nodes are approved by the [platform owners](!channel) <!channel> <!here> <@U0123ABCD> within two days.
Escalations go to [on-call](!here), [everyone](!everyone), [the lead](@U0123ABCD), [ops](#C0123ABCD)
and [the group](!subteam^S0123ABCD).
The booking form lives at [the GPU portal](https://gpu.example.com/book).
"""

QUESTION = "Who approves GPU reservations and how fast?"


@pytest.fixture()
def hostile_service(tmp_path, bot_settings, advisor_service):
    knowledge = tmp_path / "knowledge"
    (knowledge / "policies").mkdir(parents=True)
    (knowledge / "policies" / "gpu-reservations.md").write_text(HOSTILE_POLICY, encoding="utf-8")
    settings = bot_settings.model_copy(update={"home": tmp_path / "home", "knowledge_dir": knowledge})
    service = AdvisorService(settings, embedder=advisor_service.embedder)
    assert not service.ingest().failed
    return service


def _everything_sent(mock) -> list:
    return [call.params for call in mock.calls if call.method.startswith(("chat.", "views.", "assistant."))]


def test_hostile_document_never_pings_from_an_answer(make_bot, hostile_service):
    bot = make_bot(service=hostile_service)
    event = mention(QUESTION, channel="CHOSTILE")
    bot.sender.event(event)
    text = text_of(bot.mock.wait_for_message("CHOSTILE", is_answer))
    assert "approved by the platform owners" in text and "&lt;!channel&gt;" in text  # words stay, as text
    bot.mock.settle()
    assert_no_specials(_everything_sent(bot.mock))


def test_hostile_model_output_never_pings(make_bot, hostile_service, monkeypatch):
    reply = "Ask " + " ".join(HOSTILE) + " [1]."
    with MockOpenAI(reply=reply, delay=0.01) as server:
        settings = hostile_service.settings.model_copy(
            update={"llm": "openai_compatible:mock", "llm_base_url": server.url + "/v1", "llm_retries": 0}
        )
        service = AdvisorService(settings, embedder=hostile_service.embedder)
        bot = make_bot(service=service)
        event = mention(QUESTION, channel="CMODEL")
        bot.sender.event(event)
        bot.mock.wait_for_message("CMODEL", is_answer)
        bot.mock.settle()
        assert server.requests, "the model was asked"
    sent = _everything_sent(bot.mock)
    assert "!everyone" in str(sent)
    assert_no_specials(sent)
