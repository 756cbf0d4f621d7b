"""Slack acknowledgement latency: the bot's real HTTP server (waitress + Bolt, as
``advisor serve --http`` runs it) on an ephemeral port, the mock Slack Web API of
tests/support for everything the bot calls back, and bursts of concurrent signed requests
from a separate process (bench/slack_client.py)."""

from __future__ import annotations

from pydantic import SecretStr

import json
import logging
import os
import subprocess
import sys
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from .corpus import REPO
from .stats import summary

SECRET = "bench-signing-secret"
SCENARIOS = {
    "mention": "app_mention events (distinct event_ids; each is answered in the background)",
    "command": "/advisor help slash commands",
}


def run(settings, service, *, concurrency: int = 50, rounds: int = 3, log=print) -> dict:
    try:
        from bot.slack.app import build_app
        from bot.slack.server import http_server
        from tests.support.mock_slack import MockSlack
        import tests.support.slack_requests  # noqa: F401 — the client process needs it
    except ImportError as exc:
        return {"skipped": f"the Slack package or its test support does not import: {exc}"}

    out: dict = {"concurrency": concurrency, "rounds": rounds, "http_threads": settings.http_threads, "scenarios": {}}
    with MockSlack() as mock, _listener_errors() as (errors, queue_depths):
        bot_settings = settings.model_copy(
            update={
                "slack_bot_token": SecretStr(mock.bot_token),
                "slack_signing_secret": SecretStr(SECRET),
                "slack_app_token": SecretStr(""),
                "slack_api_url": mock.api_url,
            }
        )
        app = build_app(bot_settings, service)
        server = http_server(bot_settings, app, service, host="127.0.0.1", port=0).start()
        try:
            for kind, label in SCENARIOS.items():
                ms: list[float] = []
                statuses: dict[str, int] = {}
                for n in range(rounds):
                    burst = _burst(server.url, kind, concurrency, mock)
                    ms += burst["ms"]
                    for status, count in burst["statuses"].items():
                        statuses[status] = statuses.get(status, 0) + count
                    # Let the background work of this burst (answers, responses) finish before
                    # the next one: wait until the mock has seen no new call for a while.
                    if not _quiesce(mock, quiet=2.0, timeout=300):
                        out.setdefault("warnings", []).append(
                            f"{kind} burst {n + 1}: the bot was still calling Slack after 300 s"
                        )
                    log(
                        f"  slack {kind} burst {n + 1}/{rounds}: p50 {summary(burst['ms'])['p50']:.0f} ms, "
                        f"p99 {summary(burst['ms'])['p99']:.0f} ms"
                    )
                out["scenarios"][kind] = {"label": label, **summary(ms), "statuses": statuses}
        finally:
            server.stop()
            listeners = getattr(app, "advisor", None)
            if listeners is not None and hasattr(listeners, "drain"):
                listeners.drain()
    # Work done after the ack (answers, responses) that failed: counted, not part of the latency.
    out["background_errors"] = len(errors)
    out["background_error_kinds"] = dict(Counter(_kind(rec) for rec in errors).most_common(5))
    out["max_queue_depth"] = max(queue_depths, default=0)
    return out


@contextmanager
def _listener_errors():
    """Collect the bot's ERROR records (listener failures, with their error ids) instead of
    printing their tracebacks in the middle of the benchmark output."""
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    class Depth(logging.Handler):
        """waitress logs "Task queue depth is N" when every worker thread is busy."""

        def emit(self, record: logging.LogRecord) -> None:
            digits = "".join(ch for ch in record.getMessage() if ch.isdigit())
            if digits:
                queue_depths.append(int(digits))

    queue_depths: list[int] = []
    watched = [
        (logging.getLogger("bot"), Collect(logging.ERROR)),
        (logging.getLogger("waitress.queue"), Depth(logging.WARNING)),
    ]
    saved = [logger.propagate for logger, _ in watched]
    for logger, handler in watched:
        logger.addHandler(handler)
        logger.propagate = False
    try:
        yield records, queue_depths
    finally:
        for (logger, handler), propagate in zip(watched, saved):
            logger.removeHandler(handler)
            logger.propagate = propagate


def _kind(record: logging.LogRecord) -> str:
    """The exception and the innermost frame of the project's code that raised it."""
    if not (record.exc_info and record.exc_info[1] is not None):
        return record.getMessage()[:120]
    exc, tb, where = record.exc_info[1], record.exc_info[2], ""
    while tb is not None:
        code = tb.tb_frame.f_code
        path = Path(code.co_filename)
        if REPO in path.parents and ".venv" not in path.parts:
            where = f"{path.relative_to(REPO).as_posix()}:{code.co_name}"
        tb = tb.tb_next
    return f"{type(exc).__name__}: {exc}" + (f" (in {where})" if where else "")


def _burst(url: str, kind: str, concurrency: int, mock) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.slack_client",
            url,
            SECRET,
            "--kind",
            kind,
            "--concurrency",
            str(concurrency),
            "--team",
            mock.team_id,
            "--response-url",
            mock.response_url("bench"),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the Slack client failed: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _quiesce(mock, quiet: float, timeout: float) -> bool:
    """True once no Web API call or response_url post has reached the mock for ``quiet`` s."""
    deadline = time.monotonic() + timeout
    seen, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = len(mock.calls) + len(mock.responses)
        if count != seen:
            seen, since = count, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return True
        time.sleep(0.1)
    return False
