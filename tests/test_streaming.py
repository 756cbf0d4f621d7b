"""The streaming answer path: retries until the first token, then the same fallback as the
non-streaming path; a stream cut after its first token keeps what arrived with a visible note;
content-block chunks (Bedrock Converse) are read as text."""

from __future__ import annotations

from langchain_core.messages import AIMessage, AIMessageChunk

from bot.core import AdvisorService
from bot.llm.backends import _from_langchain, content_text
from tests.support.mock_openai import MockOpenAI
from tests.support.slack_answers import is_answer, text_of
from tests.support.slack_fixtures import *  # noqa: F403
from tests.support.slack_requests import mention

QUESTION = "What are the pros of a hybrid strategy?"

# Chunks as langchain-aws's ChatBedrockConverse streams them (content blocks, not strings).
BEDROCK_STREAM = [
    AIMessageChunk(content=[]),
    AIMessageChunk(content=[{"type": "text", "text": "Hybrid gives ", "index": 0}]),
    AIMessageChunk(content=[{"type": "text", "text": "flexibility [1].", "index": 0}]),
    AIMessageChunk(content=[{"type": "tool_use", "id": "t1", "name": "x", "input": {}, "index": 1}]),
    AIMessageChunk(content=[], response_metadata={"stopReason": "end_turn"}),
]


class RecordedBedrock:
    def stream(self, messages):
        yield from BEDROCK_STREAM

    def invoke(self, messages):
        return AIMessage(content=[{"type": "text", "text": "Hybrid gives flexibility [1]."}])


def test_content_blocks_are_read_as_text():
    assert content_text("plain") == "plain"
    assert content_text([{"type": "text", "text": "a"}, "b", {"type": "reasoning", "text": "no"}]) == "ab"
    assert content_text(None) == ""
    generate, stream = _from_langchain(RecordedBedrock())
    assert "".join(stream([("user", "q")])) == "Hybrid gives flexibility [1]."
    assert generate([("user", "q")]).text == "Hybrid gives flexibility [1]."


def _service(built_index, embedder, server, **extra):
    service = AdvisorService(
        built_index.model_copy(
            update={"llm": "openai_compatible:mock", "llm_base_url": server.url + "/v1", "llm_retries": 1, **extra}
        ),
        embedder=embedder,
    )
    return service


def test_stream_retries_before_the_first_token_then_succeeds(built_index, embedder):
    with MockOpenAI(reply="Hybrid balances speed and control [1].", delay=0.01) as server:
        server.play("429")
        service = _service(built_index, embedder, server)
        seen: list[str] = []
        answer = service.ask(QUESTION, on_text=seen.append, record=False)
    assert answer.backend == "openai_compatible:mock" and answer.error is None
    assert answer.text.startswith("Hybrid balances speed") and seen
    assert len(server.requests) == 2


def test_stream_that_keeps_failing_falls_back_like_the_non_streaming_path(built_index, embedder):
    with MockOpenAI(delay=0.01) as server:
        server.play("429", "429", "429", "429")
        service = _service(built_index, embedder, server)
        answer = service.ask(QUESTION, on_text=lambda text: None, record=False)
    assert answer.backend == "extractive" and not answer.abstained
    assert "429" in answer.error and "fallback after openai_compatible:mock failed" in answer.route_reason
    assert answer.sources


def test_stream_cut_after_the_first_token_keeps_what_arrived(built_index, embedder):
    with MockOpenAI(reply="Hybrid balances speed and control [1].", delay=0.01) as server:
        server.play("cut")
        service = _service(built_index, embedder, server)
        answer = service.ask(QUESTION, on_text=lambda text: None, record=False)
    assert answer.backend == "openai_compatible:mock" and answer.text.startswith("Hybrid balances")
    assert "stopped before finishing" in answer.text and answer.error
    assert len(server.requests) == 1  # nothing is re-asked once text has arrived


def test_model_429_while_streaming_in_slack_ends_in_a_fallback_answer(make_bot, built_index, embedder):
    with MockOpenAI(delay=0.01) as server:
        server.play("429", "429", "429", "429")
        bot = make_bot(service=_service(built_index, embedder, server))
        bot.sender.event(mention(QUESTION, channel="CSTREAM429"))
        message = bot.mock.wait_for_message("CSTREAM429", is_answer)
    text = text_of(message)
    assert "error id" not in text and "[1]" in text
    assert "the model failed, so this answer was composed without it" in text
