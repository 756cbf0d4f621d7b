"""Slack's agent experience over real HTTP: a status while the bot works, answers streamed
natively (chat.startStream / appendStream / stopStream) into the thread with the sources and the
feedback footer at the end, the fallbacks where a workspace refuses a step, Slack's per-message
limit, and the message shortcut."""

from __future__ import annotations

import re

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.answer import Answer
from bot.core import AdvisorService
from bot.slack import blocks
from tests.support.mock_openai import MockOpenAI
from tests.support.mock_slack import MockSlack
from tests.support.slack_answers import answer_id, is_answer, text_of
from tests.support.slack_fixtures import *  # noqa: F403
from tests.support.slack_requests import dm, mention, unique_ts

QUESTION = "What are the pros of a hybrid strategy?"
REPLY = "Hybrid keeps sensitive work on your own models while PaaS serves the rest [1]. It costs more to run [2]."


@pytest.fixture()
def model_bot(make_bot, built_index, embedder):
    """A bot whose answers come from a streaming OpenAI-compatible model."""
    with MockOpenAI(reply=REPLY, delay=0.01) as server:
        service = AdvisorService(
            built_index.model_copy(
                update={"llm": "openai_compatible:mock", "llm_base_url": server.url + "/v1", "llm_retries": 0}
            ),
            embedder=embedder,
        )
        yield make_bot(service=service, progress_interval=0.0)


def test_a_channel_answer_streams_natively_then_ends_with_sources_and_feedback(model_bot):
    bot = model_bot
    event = mention(QUESTION, channel="CAGENT")
    bot.sender.event(event)
    message = bot.mock.wait_for_message("CAGENT", is_answer)
    assert message["streamed"] and message["state"] == "completed" and message["thread_ts"] == event["ts"]

    methods = [m for m in bot.mock.methods() if m.startswith(("chat.", "assistant.threads."))]
    assert methods[0] == "assistant.threads.setStatus"  # the status first, while retrieving
    assert methods[1] == "chat.startStream" and methods[-1] == "chat.stopStream"
    assert "chat.appendStream" in methods and "chat.postMessage" not in methods  # no placeholder
    [start] = bot.mock.calls_of("chat.startStream")
    assert start.params["recipient_user_id"] == "UALICE" and start.params["recipient_team_id"] == bot.mock.team_id

    record = bot.service.store.answer(answer_id(message["blocks"]))
    assert message["text"] == blocks.safe_markdown(record["answer"])  # what streamed is the answer, whole
    assert re.search(r"\[\d\]", message["text"])
    kinds = [b["type"] for b in message["blocks"]]
    assert kinds[-2:] == ["context", "context_actions"] and "*Sources*" in text_of(message)


def test_a_dm_streams_without_a_recipient(model_bot):
    bot = model_bot
    event = dm(QUESTION, channel="DAGENT")
    bot.sender.event(event)
    message = bot.mock.wait_for_message("DAGENT", is_answer)
    assert message["streamed"] and message["thread_ts"] == event["ts"]
    [start] = bot.mock.calls_of("chat.startStream")
    assert "recipient_user_id" not in start.params


def test_a_workspace_without_streaming_gets_one_message_updated_in_place(model_bot):
    bot = model_bot
    bot.mock.refuse_streaming()
    bot.sender.event(mention(QUESTION, channel="CNOSTREAM"))
    message = bot.mock.wait_for_message("CNOSTREAM", lambda m: m["state"] == "updated" and is_answer(m))
    assert not message["streamed"] and message["blocks"][0]["type"] == "markdown"
    assert len(bot.mock.calls_of("chat.startStream", failed=True)) == 1  # asked once, not per chunk
    assert len(bot.mock.messages("CNOSTREAM")) == 1


def test_a_stream_that_differs_from_the_final_answer_is_replaced_by_it(bot, monkeypatch):
    real_ask = bot.service.ask

    def ask(question, **kwargs):
        kwargs["on_text"]("Draft that cites [3] first")
        answer = real_ask(question, **{k: v for k, v in kwargs.items() if k != "on_text"})
        return answer  # its text is the extractive answer: not what streamed

    monkeypatch.setattr(bot.service, "ask", ask)
    bot.sender.event(mention(QUESTION, channel="CRENUMBER"))
    message = bot.mock.wait_for_message("CRENUMBER", lambda m: m["state"] == "updated")
    assert "Draft that cites" not in text_of(message) and is_answer(message)
    [stop] = bot.mock.calls_of("chat.stopStream")  # the stream was closed before the update
    assert len(bot.mock.messages("CRENUMBER")) == 1


def test_a_long_stream_stays_within_the_message_limit_and_continues_below(bot, monkeypatch):
    text = "\n\n".join(f"Paragraph {n}: " + "policy detail " * 60 for n in range(60))  # ~50k characters

    def ask(question, **kwargs):
        for end in range(500, len(text), 2000):
            kwargs["on_text"](text[:end])
        return Answer(question, text, False, "openai_compatible:mock", "paas", "no sensitive data", [], id="long42")

    monkeypatch.setattr(bot.service, "ask", ask)
    bot.sender.event(mention(QUESTION, channel="CLONGSTREAM"))
    bot.mock.wait_for_message("CLONGSTREAM", is_answer)
    messages = bot.mock.messages("CLONGSTREAM")
    assert messages[0]["streamed"] and len(messages) >= 5  # the mock refuses anything over 12,000
    assert not bot.mock.calls_of("chat.appendStream", failed=True)
    assert all(not m["streamed"] for m in messages[1:])
    shown = messages[0]["text"] + "".join(
        b["text"] for m in messages[1:] for b in m["blocks"] if b["type"] == "markdown"
    )
    assert re.sub(r"\s+", "", shown) == re.sub(r"\s+", "", blocks.safe_markdown(text))  # all of it, in order
    assert [answer_id(m["blocks"]) for m in messages] == [None] * (len(messages) - 1) + ["long42"]


def test_hostile_text_split_across_stream_chunks_never_becomes_a_ping(bot, monkeypatch):
    hostile = "Ask [the team](!channel) or <!here> and @everyone, or [reset](http://evil.example/sso) [1]."

    def ask(question, **kwargs):
        for end in range(1, len(hostile) + 1):
            kwargs["on_text"](hostile[:end])
        return Answer(question, hostile, False, "openai_compatible:mock", "paas", "no sensitive data", [], id="h1")

    monkeypatch.setattr(bot.service, "ask", ask)
    bot.sender.event(mention(QUESTION, channel="CHOSTREAM"))
    message = bot.mock.wait_for_message("CHOSTREAM", is_answer)
    streamed = [c.params for c in bot.mock.calls if c.method.startswith("chat.") and c.method.endswith("Stream")]
    sent = str(streamed)
    assert "<" not in sent and "](!channel)" not in sent and "@everyone" not in sent
    assert (
        "the team (!channel)" in message["text"]
        and "[reset](http://evil.example/sso) (evil.example)" in message["text"]
    )


def test_status_refused_and_streaming_refused_still_answer(model_bot):
    bot = model_bot
    bot.mock.respond_with("assistant.threads.setStatus", {"ok": False, "error": "not_allowed"})
    bot.mock.refuse_streaming()
    bot.sender.event(mention(QUESTION, channel="CPLAIN"))
    message = bot.mock.wait_for_message("CPLAIN", lambda m: m["state"] == "updated" and is_answer(m))
    [first] = bot.mock.calls_of("chat.postMessage", where=lambda c: c.params["channel"] == "CPLAIN")
    assert first.params["text"] == blocks.THINKING and not message["streamed"]


# --- the message shortcut ------------------------------------------------------------------------


def test_shortcut_answers_about_the_message_in_its_thread(bot):
    root = unique_ts()
    selected = {
        "type": "message",
        "user": "UBOB",
        "ts": unique_ts(),
        "thread_ts": root,
        "text": "can we paste customer tickets into Azure OpenAI?",
    }
    reply = bot.sender.message_shortcut(
        "ask_about_message", selected, channel_id="CSHORT", response_url=bot.mock.response_url("shortcut")
    )
    assert reply.status == 200
    message = bot.mock.wait_for_message("CSHORT", is_answer)
    assert message["thread_ts"] == root  # in the selected message's thread
    record = bot.service.store.answer(answer_id(message["blocks"]))
    assert "customer tickets into Azure OpenAI" in record["question"] and record["user"] == "UALICE"
    assert not bot.mock.responses


def test_shortcut_where_the_bot_is_not_a_member_answers_only_the_asker(bot):
    bot.mock.respond_with("chat.postMessage", {"ok": False, "error": "not_in_channel"})
    selected = {"type": "message", "user": "UBOB", "ts": unique_ts(), "text": "is a hybrid strategy worth it?"}
    bot.sender.message_shortcut(
        "ask_about_message", selected, channel_id="COUTSIDE", response_url=bot.mock.response_url("outside")
    )
    [response] = bot.mock.wait_for_response("outside")
    assert response.payload["response_type"] == "ephemeral" and answer_id(response.payload["blocks"])
    assert not bot.mock.messages("COUTSIDE")


def test_shortcut_on_a_message_without_text_says_so(bot):
    selected = {"type": "message", "user": "UBOB", "ts": unique_ts(), "text": "", "files": [{"id": "F1"}]}
    bot.sender.message_shortcut(
        "ask_about_message", selected, channel_id="CEMPTY", response_url=bot.mock.response_url("empty")
    )
    [response] = bot.mock.wait_for_response("empty")
    assert "no text" in response.payload["text"] and response.payload["response_type"] == "ephemeral"
    bot.mock.settle()
    assert not bot.mock.calls_of("chat.postMessage")


# --- the mock holds the bot to the real API's arguments -------------------------------------------


def test_mock_slack_rejects_stream_and_status_calls_without_their_required_arguments():
    with MockSlack() as slack:
        client = WebClient(token=slack.bot_token, base_url=slack.api_url)
        with pytest.raises(SlackApiError, match="invalid_arguments"):
            client.chat_startStream(channel="C1", thread_ts="1.0", markdown_text="hi")  # channel: no recipient
        ts = client.chat_startStream(
            channel="C1", thread_ts="1.0", markdown_text="hi", recipient_user_id="U1", recipient_team_id="T1"
        )["ts"]
        with pytest.raises(SlackApiError, match="msg_too_long"):
            client.chat_appendStream(channel="C1", ts=ts, markdown_text="x" * 12000)
        client.chat_stopStream(channel="C1", ts=ts)
        with pytest.raises(SlackApiError, match="message_not_in_streaming_state"):
            client.chat_appendStream(channel="C1", ts=ts, markdown_text="more")
        with pytest.raises(SlackApiError, match="invalid_arguments"):
            client.api_call("assistant.threads.setStatus", json={"channel_id": "C1", "status": "x"})
        with pytest.raises(SlackApiError, match="invalid_arguments"):
            client.assistant_threads_setSuggestedPrompts(channel_id="D1", prompts=[{"title": "t", "message": "m"}] * 5)
        assert slack.messages("C1")[0]["text"] == "hi" and slack.messages("C1")[0]["state"] == "completed"
