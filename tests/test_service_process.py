"""`advisor serve` as a real process: SIGTERM with an answer in flight (HTTP and Socket Mode)
finishes the answer and exits 0; and an `advisor ingest` in a second process while the bot
serves is answered from at once, by meaning and by keywords (embedded store and Chroma server)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import KNOWLEDGE
from tests.support.mock_openai import MockOpenAI
from tests.support.mock_slack import MockSlack, MockSocketMode
from tests.support.servers import free_port, server_process
from tests.support.slack_answers import is_answer, text_of
from tests.support.slack_requests import SlackSender, mention

pytestmark = pytest.mark.slow

SIGNING_SECRET = "process-signing-secret"
QUESTION = "Can I send customer data to Azure OpenAI?"
MODEL_REPLY = "Customer data may go to Azure OpenAI only in an EU region [1]."


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except OSError:
        return 0, {}


def wait_until(condition, timeout: float, what: str, proc: subprocess.Popen | None = None, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the bot exited ({proc.returncode}) before {what}: {log.read_text()[-3000:] if log else ''}")
        if time.monotonic() > deadline:
            pytest.fail(
                f"{what} did not happen within {timeout:.0f} s" + (f": {log.read_text()[-3000:]}" if log else "")
            )
        time.sleep(0.1)


def clean_env(**values) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADVISOR_", "SLACK_", "PORT"))}
    env.update({"HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"})
    env.update({k: str(v) for k, v in values.items()})
    return env


@pytest.fixture()
def home(built_index, tmp_path) -> Path:
    """A copy of the session's index: the bot process writes its own store in it."""
    dest = tmp_path / "home"
    shutil.copytree(built_index.home, dest, ignore=shutil.ignore_patterns("advisor.db*", "ingest.lock"))
    return dest


@contextmanager
def bot_process(mode: str, env: dict, cwd: Path, ready_url: str):
    """`advisor serve` until it is ready; on leaving, whatever is still running is killed."""
    log_path = cwd / f"bot-{mode}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", f"--{mode}"], env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_until(lambda: get(ready_url)[0] == 200, 180, "readiness", proc, log_path)
            yield proc, log_path
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


def _answers(mock: MockSlack, channel: str) -> list[dict]:
    return [m for m in mock.messages(channel) if is_answer(m)]


# --- SIGTERM with an answer in flight -------------------------------------------------------------


@pytest.mark.parametrize("mode", ["http", "socket"])
def test_sigterm_finishes_the_answer_in_flight_then_exits_0(mode, home, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with MockSlack() as mock, MockOpenAI(reply=MODEL_REPLY) as model, MockSocketMode() as socket_server:
        model.play("hold")  # the first answer stays in flight until released
        env = clean_env(
            ADVISOR_HOME=home,
            ADVISOR_KNOWLEDGE_DIR=KNOWLEDGE,
            PORT=port,
            ADVISOR_LLM="openai_compatible:mock",
            ADVISOR_LLM_BASE_URL=model.url + "/v1",
            ADVISOR_LLM_RETRIES=0,
            ADVISOR_SHUTDOWN_TIMEOUT=120,
            SLACK_BOT_TOKEN=mock.bot_token,
            SLACK_API_URL=mock.api_url,
            **({"SLACK_SIGNING_SECRET": SIGNING_SECRET} if mode == "http" else {"SLACK_APP_TOKEN": mock.app_token}),
        )
        mock.socket_url = socket_server.url
        sender = SlackSender(base, SIGNING_SECRET, team_id=mock.team_id)
        with bot_process(mode, env, tmp_path, base + "/readyz") as (proc, log):
            first = mention(QUESTION, channel="CFIRST")
            if mode == "http":
                reply, _ = sender.event(first)
                assert reply.status == 200
            else:
                socket_server.send(
                    {
                        "envelope_id": "term-1",
                        "type": "events_api",
                        "payload": sender.envelope(first),
                        "accepts_response_payload": False,
                        "retry_attempt": 0,
                        "retry_reason": "",
                    }
                )
                socket_server.wait_for_ack("term-1")
            model.wait_for_requests(1)  # the answer is now in flight, held by the model

            proc.send_signal(signal.SIGTERM)
            # Not ready at once; in Socket Mode also disconnected once the WebSocket is closed.
            expected = {"shutdown"} | ({"slack"} if mode == "socket" else set())
            status, body = wait_until(
                lambda: (lambda r: r if r[0] == 503 and expected <= set(r[1]["reasons"]) else None)(
                    get(base + "/readyz")
                ),
                30,
                "not ready after SIGTERM",
                proc,
                log,
            )
            assert get(base + "/livez")[0] == 200  # alive while it drains
            if mode == "http":
                late, _ = sender.event(mention(QUESTION, channel="CLATE"))
                assert late.status == 503  # not acknowledged: Slack redelivers it to the next process
            assert proc.poll() is None and not _answers(mock, "CFIRST")

            model.release()
            assert proc.wait(60) == 0, log.read_text()[-3000:]
        [answer] = _answers(mock, "CFIRST")
        assert "EU region" in text_of(answer)
        assert not mock.messages("CLATE")
        assert "SIGTERM received" in log.read_text() and "stopped" in log.read_text()


def test_sigterm_waits_no_longer_than_the_shutdown_timeout(home, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with MockSlack() as mock, MockOpenAI(reply=MODEL_REPLY) as model:
        model.play("hold")  # never released
        env = clean_env(
            ADVISOR_HOME=home,
            ADVISOR_KNOWLEDGE_DIR=KNOWLEDGE,
            PORT=port,
            ADVISOR_LLM="openai_compatible:mock",
            ADVISOR_LLM_BASE_URL=model.url + "/v1",
            ADVISOR_LLM_RETRIES=0,
            ADVISOR_SHUTDOWN_TIMEOUT=1,
            ADVISOR_ANSWER_WORKERS=1,  # so that the next questions wait in the queue
            SLACK_BOT_TOKEN=mock.bot_token,
            SLACK_API_URL=mock.api_url,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
        )
        with bot_process("http", env, tmp_path, base + "/readyz") as (proc, log):
            sender = SlackSender(base, SIGNING_SECRET, team_id=mock.team_id)
            sender.event(mention(QUESTION, channel="CSTUCK"))
            model.wait_for_requests(1)
            # Acknowledged, then queued behind the stuck answer: a mention, a DM, and a channel
            # message the bot would not have answered anyway.
            sender.event(mention(QUESTION, channel="CQUEUED"))
            dm = {"type": "message", "channel": "DQUEUED", "channel_type": "im", "user": "UALICE", "text": QUESTION}
            sender.event({**dm, "ts": "1700000100.000100"})
            chatter = {"type": "message", "channel": "CCHAT", "channel_type": "channel", "user": "UALICE"}
            sender.event({**chatter, "text": "lunch?", "ts": "1700000200.000100"})
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0
            assert "4 Slack requests unfinished; 3 askers were told to ask again" in log.read_text()
            # Each asker is told, in the thread, instead of being left with a status and no answer.
            for channel in ("CSTUCK", "CQUEUED", "DQUEUED"):
                told = mock.wait_for_message(channel, lambda m: "restarted before I could finish" in m["text"])
                assert told["thread_ts"], channel
            assert not mock.messages("CCHAT")
        model.release()


# --- ingest in a second process while the bot serves -----------------------------------------------

NEW_POLICY = """---
title: Quantum Lab Access Policy
owner: Research Operations
classification: internal
---
# Quantum Lab Access Policy

## Booking
Engineers book the cryogenic quantum lab through the Zephyrine portal at least nine days ahead.

## Eligibility
Only staff who completed the photonics safety course may operate the dilution refrigerator.
"""
BY_KEYWORD = "What is the Zephyrine portal used for?"
BY_MEANING = "How far ahead must I reserve time in the cold quantum laboratory?"


def _ask(sender: SlackSender, mock: MockSlack, question: str, channel: str, proc, log) -> str:
    reply, _ = sender.event(mention(question, channel=channel))
    assert reply.status == 200
    [answer] = wait_until(lambda: _answers(mock, channel), 60, f"an answer in {channel}", proc, log)
    return text_of(answer)


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent))
    assert chroma, "the chroma CLI ships with chromadb"
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-two-process")
    url = f"http://127.0.0.1:{port}"
    command = [chroma, "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)]
    with server_process(command, url + "/api/v2/heartbeat", data / "server.log", timeout=60):
        yield url


@pytest.mark.parametrize("store", ["embedded", "chroma-server"])
def test_an_ingest_in_another_process_is_answered_by_the_running_bot(store, request, built_index, embedder, tmp_path):
    from bot.core import AdvisorService
    from bot.settings import Settings

    knowledge = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE, knowledge)
    home = tmp_path / "home"
    extra: dict = {}
    if store == "embedded":
        shutil.copytree(built_index.home, home, ignore=shutil.ignore_patterns("advisor.db*", "ingest.lock"))
    else:
        extra["ADVISOR_CHROMA_URL"] = request.getfixturevalue("chroma_url")
        # The first ingest of the bundled knowledge in this process (model already loaded).
        report = AdvisorService(
            Settings(_env_file=None, ADVISOR_HOME=str(home), ADVISOR_KNOWLEDGE_DIR=str(knowledge), **extra),
            embedder=embedder,
        ).ingest()
        assert not report.failed
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with MockSlack() as mock:
        env = clean_env(
            ADVISOR_HOME=home,
            ADVISOR_KNOWLEDGE_DIR=knowledge,
            PORT=port,
            SLACK_BOT_TOKEN=mock.bot_token,
            SLACK_API_URL=mock.api_url,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            **extra,
        )
        sender = SlackSender(base, SIGNING_SECRET, team_id=mock.team_id)
        with bot_process("http", env, tmp_path, base + "/readyz") as (proc, log):
            assert "Quantum Lab Access Policy" not in _ask(sender, mock, BY_MEANING, "CBEFORE", proc, log)

            (knowledge / "policies" / "quantum-lab-access.md").write_text(NEW_POLICY)
            ingest = subprocess.run(
                [sys.executable, "-m", "bot", "ingest", "--json"],
                env=env,
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert ingest.returncode == 0, ingest.stderr[-2000:]
            summary = json.loads(ingest.stdout)
            assert summary["added"] == 1 and summary["failed"] == [], summary

            by_keyword = _ask(sender, mock, BY_KEYWORD, "CKEYWORD", proc, log)
            assert "Quantum Lab Access Policy" in by_keyword and "nine days" in by_keyword
            by_meaning = _ask(sender, mock, BY_MEANING, "CMEANING", proc, log)
            assert "Quantum Lab Access Policy" in by_meaning and "nine days" in by_meaning
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(60) == 0


CHILD_WRITES_WITHOUT_FINISHING = """
import sys
from ingest.index import KnowledgeIndex
index = KnowledgeIndex(sys.argv[1])
index.start_run(False, [])  # never finished: the reader sees this run's chunks mid-run
chunk = {"id": "new-0000", "source": "new.md", "content_hash": "h2", "idx": 0, "title": "New", "section": "",
         "text": "New > text", "classification": "internal", "version": "", "audience": "everyone"}
index.add_vectors([chunk], [[0.0, 1.0, 0.0]])
index.commit_document({"source": "new.md", "path": "/new.md", "content_hash": "h2", "size": 1, "title": "New",
                       "classification": "internal", "version": "", "owner": "", "effective": "", "url": "",
                       "chunk_count": 1, "ingested_at": "now"}, [chunk])
"""


def test_a_reader_fetches_vectors_another_process_committed_mid_run(tmp_path):
    from ingest.index import KnowledgeIndex

    index = KnowledgeIndex(tmp_path / "home")
    old = {
        "id": "old-0000",
        "source": "old.md",
        "content_hash": "h1",
        "idx": 0,
        "title": "Old",
        "section": "",
        "text": "Old > text",
        "classification": "internal",
        "version": "",
        "audience": "everyone",
    }
    run, _ = index.start_run(False, [])
    index.add_vectors([old], [[1.0, 0.0, 0.0]])
    index.finish_run(run, "ok", {})
    assert set(index.get_vectors(["old-0000"])) == {"old-0000"}  # the reader is open
    subprocess.run(
        [sys.executable, "-c", CHILD_WRITES_WITHOUT_FINISHING, str(tmp_path / "home")],
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=120,
    )
    assert index.chunks_by_id(["new-0000"])  # committed in SQLite, so retrieval may ask for its vector
    assert set(index.get_vectors(["old-0000", "new-0000"])) == {"old-0000", "new-0000"}
    assert index.nearest_ids([0.0, 1.0, 0.0], 1)[0][0] == "new-0000"
