"""The bot as a service a platform runs: Prometheus metrics, liveness and readiness probes in
both modes (over real HTTP), and JSON log lines with their ids as fields."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from tests.support.mock_openai import MockOpenAI
from tests.support.mock_slack import MockSocketMode
from tests.support.slack_answers import answer_id, is_answer
from tests.support.slack_fixtures import *  # noqa: F403
from tests.support.slack_fixtures import SIGNING_SECRET
from tests.support.slack_requests import SlackSender, mention

ANSWERABLE = "Can I send customer data to Azure OpenAI?"
UNCOVERED = "What is the phone number of the Oslo office?"


def get(url: str) -> tuple[int, str, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)


def scrape(base_url: str) -> dict[tuple[str, tuple], float]:
    status, body, headers = get(base_url + "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def wait_until(condition, timeout: float = 30.0, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout:.0f} s")
        time.sleep(0.05)


def delta(before: dict, after: dict, name: str, **labels) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


# --- metrics ------------------------------------------------------------------------------------


def test_metrics_count_answers_abstentions_votes_retries_and_ingests(bot, mock_slack):
    before = scrape(bot.server.url)
    reply, event_id = bot.sender.event(mention(ANSWERABLE, channel="CMETRICS"))
    assert reply.status == 200
    answered = mock_slack.wait_for_message("CMETRICS", is_answer)
    # Slack redelivers the event: answered once, the retry counted.
    redelivered, _ = bot.sender.event(mention(ANSWERABLE, channel="CMETRICS"), event_id=event_id, retry_num=1)
    assert redelivered.status == 200
    bot.sender.event(mention(UNCOVERED, channel="CMETRICS2"))
    wait_until(
        lambda: delta(before, scrape(bot.server.url), "advisor_answers_total", route="none", backend="none"),
        what="the abstention is counted",
    )
    assert bot.service.record_feedback(answer_id(answered["blocks"]), "UALICE", helpful=True)
    assert not bot.service.record_feedback("no-such-answer", "UALICE", helpful=False)  # not a vote
    bot.service.ingest()

    after = scrape(bot.server.url)
    assert delta(before, after, "advisor_answers_total", route="extractive", backend="extractive") == 1
    assert delta(before, after, "advisor_answers_total", route="none", backend="none") == 1
    assert delta(before, after, "advisor_abstentions_total", reason="coverage") == 1
    assert delta(before, after, "advisor_answer_latency_seconds_count") == 2
    assert delta(before, after, "advisor_answer_latency_seconds_sum") > 0
    assert delta(before, after, "advisor_answer_latency_seconds_bucket", le="+Inf") == 2
    assert delta(before, after, "advisor_feedback_votes_total", vote="helpful") == 1
    assert delta(before, after, "advisor_feedback_votes_total", vote="not_helpful") == 0
    assert delta(before, after, "advisor_slack_retries_deduped_total") == 1
    assert delta(before, after, "advisor_ingest_runs_total", outcome="ok") == 1
    assert delta(before, after, "advisor_ingest_failed_documents_total") == 0
    assert after[("process_resident_memory_bytes", ())] > 0
    assert len(mock_slack.messages("CMETRICS")) == 1 or sum(map(is_answer, mock_slack.messages("CMETRICS"))) == 1


def test_metrics_count_a_fallback_and_a_failed_ingest(make_bot, tmp_path):
    with MockOpenAI() as model:
        model.play("500")
        bot = make_bot(
            llm="openai_compatible:mock",
            llm_base_url=model.url + "/v1",
            llm_retries=0,
            knowledge_dir=tmp_path / "missing",
        )
        answer = bot.service.ask(ANSWERABLE, record=False)
    assert answer.backend == "extractive" and "500" in (answer.error or "")
    with pytest.raises(Exception, match="knowledge folder not found"):
        bot.service.ingest()
    after = scrape(bot.server.url)
    assert after[("advisor_fallbacks_total", (("backend", "openai_compatible:mock"), ("cause", "backend_error")))] == 1
    assert after[("advisor_answers_total", (("backend", "extractive"), ("route", answer.route)))] == 1
    assert after[("advisor_ingest_runs_total", (("outcome", "failed"),))] == 1


def test_each_service_has_its_own_registry(advisor_service, embedder):
    from bot.core import AdvisorService

    other = AdvisorService(advisor_service.settings, embedder=embedder)
    other.metrics.feedback.labels(vote="helpful").inc()
    assert other.metrics.registry is not advisor_service.metrics.registry
    assert b'advisor_feedback_votes_total{vote="helpful"} 1.0' in other.metrics.exposition()


# --- probes: HTTP mode ----------------------------------------------------------------------------


def test_http_mode_probes(make_bot, advisor_service, mock_slack):
    from bot.core import AdvisorService
    from bot.slack.lifecycle import Lifecycle
    from bot.slack.server import HttpServer, wsgi_app

    bot = make_bot()
    assert get(bot.server.url + "/livez")[:2] == (200, '{"status": "alive"}')
    status, body, _ = get(bot.server.url + "/readyz")
    assert (status, json.loads(body)) == (200, {"status": "ready"})
    assert get(bot.server.url + "/healthz")[0] == 200

    # A service whose model is not loaded yet is alive but not ready, and says why.
    cold = AdvisorService(advisor_service.settings)
    lifecycle = Lifecycle(cold)
    with HttpServer(wsgi_app(bot.app, cold, "", lifecycle), host="127.0.0.1", port=0) as server:
        assert get(server.url + "/livez")[0] == 200
        status, body, _ = get(server.url + "/readyz")
        assert status == 503 and json.loads(body)["reasons"] == {"model": "embedding model not loaded"}
        # Shutting down: not ready, and new Slack requests are refused, not acknowledged.
        lifecycle.stopping.set()
        status, body, _ = get(server.url + "/readyz")
        assert status == 503 and "shutting down" in json.loads(body)["reasons"]["shutdown"]
        reply, _ = SlackSender(server.url, SIGNING_SECRET, team_id=mock_slack.team_id).event(
            mention(ANSWERABLE, channel="CLATE")
        )
        assert reply.status == 503 and reply.headers.get("Retry-After") == "5"


def test_an_unreadable_index_is_not_ready(make_bot, advisor_service, tmp_path, embedder):
    from bot.core import AdvisorService
    from bot.settings import Settings

    home = tmp_path / "home"
    home.mkdir()
    (home / "index.db").write_bytes(b"this is not a database" * 100)
    broken = AdvisorService(Settings(_env_file=None, ADVISOR_HOME=str(home)), embedder=embedder)
    embedder.embed_query("loaded")
    problems = broken.readiness()
    assert set(problems) == {"index"} and "index not readable" in problems["index"]


# --- probes: Socket Mode ------------------------------------------------------------------------------


def test_socket_mode_probes_follow_the_connection(bot_settings, advisor_service, mock_slack):
    from bot.slack.app import build_app
    from bot.slack.lifecycle import Lifecycle, probes_app
    from bot.slack.server import HttpServer, socket_mode_handler

    settings = bot_settings.model_copy(
        update={"slack_app_token": SecretStr(mock_slack.app_token), "slack_signing_secret": SecretStr("")}
    )
    app = build_app(settings, advisor_service)
    handler = socket_mode_handler(settings, app)
    lifecycle = Lifecycle(advisor_service, slack_connected=lambda: handler.client.is_connected())
    with MockSocketMode() as socket_server, HttpServer(probes_app(lifecycle), host="127.0.0.1", port=0) as probes:
        mock_slack.socket_url = socket_server.url
        status, body, _ = get(probes.url + "/readyz")
        assert status == 503 and json.loads(body)["reasons"] == {"slack": "not connected to Slack"}
        handler.connect()
        socket_server.wait_connected()
        wait_until(lambda: get(probes.url + "/readyz")[0] == 200, what="ready once connected")
        assert get(probes.url + "/livez")[0] == 200
        assert "advisor_answers_total" in get(probes.url + "/metrics")[1]
        assert get(probes.url + "/slack/events")[0] == 404  # no Slack endpoint in Socket Mode
        handler.close()
        status, body, _ = get(probes.url + "/readyz")
        assert status == 503 and "slack" in json.loads(body)["reasons"]
    app.advisor.drain()


def test_socket_mode_serves_probes_only_when_port_is_set(make_settings):
    assert "port" not in make_settings().model_fields_set
    assert "port" in make_settings(PORT=8123).model_fields_set


# --- shutdown: the executor ------------------------------------------------------------------------


def test_draining_executor_waits_for_work_within_a_deadline():
    import threading

    from bot.slack.lifecycle import DrainingExecutor

    gate = threading.Event()
    executor = DrainingExecutor(max_workers=2)
    done = []
    executor.submit(lambda: (gate.wait(10), done.append(1)))
    assert executor.pending == 1
    assert executor.drain(timeout=0.2) is False  # still running: the deadline ends the wait
    with pytest.raises(RuntimeError):
        executor.submit(print)  # no new work once draining
    gate.set()
    assert executor.drain(timeout=10) is True and done == [1] and executor.pending == 0


# --- logs ------------------------------------------------------------------------------------------


def test_json_logs_carry_error_and_answer_ids_as_fields(caplog):
    from bot.slack.server import JsonFormatter

    formatter = JsonFormatter()
    lines = []
    for message, args in [
        ("answering in %s failed (error id %s)", ("C1", "3f9a1c2b")),
        ("answer id `%s` posted", ("0a1b2c3d4e5f",)),
    ]:
        record = logging.LogRecord("bot.slack", logging.INFO, __file__, 1, message, args, None)
        lines.append(json.loads(formatter.format(record)))
    assert lines[0]["error_id"] == "3f9a1c2b" and lines[1]["answer_id"] == "0a1b2c3d4e5f"


def test_an_answer_is_logged_with_its_id_as_a_field(advisor_service, caplog):
    from bot.slack.server import JsonFormatter

    with caplog.at_level(logging.INFO, logger="bot.core"):
        answer = advisor_service.ask(ANSWERABLE, user="UALICE")
    [record] = [r for r in caplog.records if getattr(r, "answer_id", None) == answer.id]
    line = json.loads(JsonFormatter().format(record))
    assert line["answer_id"] == answer.id and line["logger"] == "bot.core" and "answered" in line["message"]
    failure = logging.LogRecord(
        "bot.slack", logging.ERROR, __file__, 1, "could not report error %s", ("3f9a1c2b",), None
    )
    assert json.loads(JsonFormatter().format(failure))["error_id"] == "3f9a1c2b"


def test_where_a_queued_question_would_be_answered():
    """Only events answered for sure have a place to be told "ask again" at shutdown."""
    from bot.slack.app import answer_place

    base = {"channel": "C1", "ts": "1.1", "user": "U1"}
    assert answer_place({**base, "type": "app_mention"}) == ("C1", "1.1")
    assert answer_place({**base, "type": "app_mention", "thread_ts": "0.9"}) == ("C1", "0.9")
    assert answer_place({**base, "type": "message", "channel": "D1", "channel_type": "im"}) == ("D1", "1.1")
    for event in (
        {**base, "type": "message", "channel_type": "channel"},  # chatter: answered only as a follow-up
        {**base, "type": "app_mention", "channel": "D1", "channel_type": "im"},  # the DM's message event answers
        {**base, "type": "message", "channel_type": "im", "bot_id": "B1"},
        {**base, "type": "message", "channel_type": "im", "subtype": "message_changed"},
        {**base, "type": "message", "channel_type": "im", "files": [{"id": "F1"}]},
        {"type": "app_mention", "user": "U1"},  # malformed: nowhere to post
    ):
        assert answer_place(event) is None, event
