"""Running as a service a platform can manage: liveness, readiness, metrics and a graceful stop.

Both modes serve GET /livez, /readyz, /healthz and /metrics: HTTP mode on the port Slack posts
to, Socket Mode on a small listener of its own when $PORT is set. On SIGTERM the process stops
taking work (HTTP: new Slack requests get 503, so Slack retries them elsewhere; Socket Mode:
the WebSocket is closed, so Slack delivers to another connection), lets the answers in flight
finish for up to ADVISOR_SHUTDOWN_TIMEOUT seconds, then exits 0. An event Slack redelivers
after an unfinished answer is claimed once, as always.
"""

from __future__ import annotations

import json
import itertools
import logging
import os
import signal
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterable

log = logging.getLogger(__name__)

LIVE_PATH = "/livez"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"
ANSWER_NICE = 5  # the answer threads' nice value, relative to the process


class DrainingExecutor(ThreadPoolExecutor):
    """Bolt's listener executor, counting the work it holds so a shutdown can wait for it with
    a deadline (ThreadPoolExecutor.shutdown(wait=True) has none)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pending = 0
        self._idle = threading.Condition()

    def submit(self, fn, /, *args, **kwargs):
        with self._idle:
            self._pending += 1
        try:
            future = super().submit(fn, *args, **kwargs)
        except BaseException:
            self._finished(None)
            raise
        future.add_done_callback(self._finished)
        return future

    def _finished(self, _future) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()

    @property
    def pending(self) -> int:
        with self._idle:
            return self._pending

    def drain(self, timeout: float) -> bool:
        """Refuse new work and wait up to ``timeout`` seconds for what is queued or running.
        True when everything finished."""
        self.shutdown(wait=False)
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)


class LanedExecutor(DrainingExecutor):
    """Bolt's listener executor with two lanes, so that an ack never waits for an answer.

    Commands, shortcuts and button clicks call ``ack()`` inside their listener, so they run on
    this executor's own threads (the quick lane) and start at once. Events are acknowledged by
    Bolt as soon as their listener is submitted; the work they bring (answers) goes to a bounded
    pool of ``answer_workers`` threads behind a queue (the answer lane): the threads that answer
    never outnumber what the machine can run, so the threads acknowledging requests are not
    starved of the interpreter, and a burst of mentions waits in the queue, not in Slack's
    request timeout. ``route_next`` (called by the dedupe middleware, on the thread that
    dispatches the request) routes what is submitted there, with a check run first on the
    worker (the event's claim), off the acknowledging path. Draining waits for both lanes."""

    # An answer starts once no request has been dispatched for QUIET seconds, or after at most
    # PATIENCE seconds: a burst of requests is acknowledged before answers compete with it for
    # the interpreter (an answer is CPU work; acks are a fraction of a millisecond each).
    QUIET = 0.02
    PATIENCE = 0.25

    def __init__(self, *args, answer_workers: int = 2, **kwargs):
        super().__init__(*args, **kwargs)
        self._last_dispatch = 0.0
        self.answers = DrainingExecutor(
            max_workers=answer_workers, thread_name_prefix="advisor-answer", initializer=_lower_priority
        )
        self._route = threading.local()
        self._queued: dict[int, tuple[Callable[[], bool], Any]] = {}  # answer jobs not started yet
        self._queued_lock = threading.Lock()
        self._tickets = itertools.count()

    def route_next(self, check: Callable[[], bool] | None, place: Any = None) -> None:
        """The next listener this thread submits goes to the answer lane and runs only when
        ``check()``, called on the worker first, is true; None: to the quick lane. ``place``
        says where its answer would go, so that an asker can be told if the process stops before
        the job starts (see ``abandon_queued``). Bolt runs the middleware chain, then the
        listener, on the dispatching thread, so the dedupe middleware sets this for every
        request before its listener is submitted."""
        self._route.check = check
        self._route.place = place

    def submit(self, fn, /, *args, **kwargs) -> Future:
        self._last_dispatch = time.monotonic()
        check = getattr(self._route, "check", None)
        place = getattr(self._route, "place", None)
        self._route.check = self._route.place = None  # one listener per request: the route is used once
        if check is None:
            return super().submit(fn, *args, **kwargs)
        ticket = next(self._tickets)
        with self._queued_lock:
            self._queued[ticket] = (check, place)

        def job():
            with self._queued_lock:
                if self._queued.pop(ticket, None) is None:
                    return None  # abandoned while queued: its asker was told
            self._yield_to_acks()
            if check():
                return fn(*args, **kwargs)
            return None

        return self.answers.submit(job)

    def abandon_queued(self) -> list[tuple[Callable[[], bool], Any]]:
        """The answer jobs that have not started, as (check, place): they will not run."""
        with self._queued_lock:
            jobs, self._queued = list(self._queued.values()), {}
        return jobs

    @property
    def pending(self) -> int:
        return super().pending + self.answers.pending

    def _yield_to_acks(self) -> None:
        if self.QUIET <= 0:
            return
        give_up = time.monotonic() + self.PATIENCE
        while True:
            now = time.monotonic()
            wait = min(self._last_dispatch + self.QUIET, give_up) - now
            if wait <= 0:
                return
            time.sleep(wait)

    @property
    def queued_answers(self) -> int:
        return self.answers.pending

    def drain(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        quick = super().drain(timeout)
        answers = self.answers.drain(max(0.0, deadline - time.monotonic()))
        return quick and answers

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        super().shutdown(wait=wait, cancel_futures=cancel_futures)
        self.answers.shutdown(wait=wait, cancel_futures=cancel_futures)


def _lower_priority() -> None:
    """An answer thread yields the CPU to the threads acknowledging requests (Linux schedules
    threads, so this nice value is the calling thread's alone)."""
    if hasattr(os, "setpriority"):
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), ANSWER_NICE)
        except OSError:
            pass


class ShutdownRequested(BaseException):
    """Raised in the main thread by the first SIGTERM/SIGINT in Socket Mode, where the main
    thread only waits (Bolt's SocketModeHandler.start() blocks on an event of its own)."""


class Lifecycle:
    """Readiness and the graceful stop of one serving process."""

    def __init__(self, service, *, slack_connected: Callable[[], bool] | None = None, shutdown_timeout: float = 30.0):
        self.service = service
        # HTTP mode has no connection to watch: auth.test passed at start, Slack posts to us.
        self.slack_connected = slack_connected or (lambda: True)
        self.shutdown_timeout = shutdown_timeout
        self.stopping = threading.Event()
        self.abandoned = False  # the shutdown timeout ended the wait with work unfinished

    # --- probes -------------------------------------------------------------------------------

    def readiness(self) -> tuple[bool, dict]:
        problems: dict[str, str] = {}
        if self.stopping.is_set():
            problems["shutdown"] = "shutting down: finishing the answers in flight"
        problems.update(self.service.readiness())
        try:
            connected = self.slack_connected()
        except Exception:  # noqa: BLE001 -- a failing check is a failed check
            connected = False
        if not connected:
            problems["slack"] = "not connected to Slack"
        return not problems, problems

    def wsgi(self, environ: dict, start_response) -> Iterable[bytes] | None:
        """The response for a probe or /metrics request, or None for any other request."""
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return None
        path = environ.get("PATH_INFO")
        if path == LIVE_PATH:
            return _json(start_response, "200 OK", {"status": "alive"})
        if path == READY_PATH:
            ready, problems = self.readiness()
            if ready:
                return _json(start_response, "200 OK", {"status": "ready"})
            return _json(start_response, "503 Service Unavailable", {"status": "not ready", "reasons": problems})
        if path == METRICS_PATH:
            data = self.service.metrics.exposition()
            start_response(
                "200 OK",
                [
                    ("Content-Type", self.service.metrics.content_type),
                    ("Content-Length", str(len(data))),
                    ("Cache-Control", "no-store"),
                ],
            )
            return [data]
        return None

    # --- stopping -------------------------------------------------------------------------------

    def install_signal_handlers(self, on_stop: Callable[[], None] | None = None) -> Callable[[], None]:
        """The first SIGTERM or SIGINT starts a graceful stop: ``on_stop`` runs in the signal
        handler (without it, ShutdownRequested is raised in the main thread). A second one
        ends the process at once, for an operator who will not wait. Returns what puts the
        previous handlers back (serve() called in tests returns to pytest's)."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None  # only the main thread may set handlers; its owner handles signals

        def handle(signum, _frame) -> None:
            if self.stopping.is_set():
                log.warning("second %s: exiting without waiting for answers in flight", signal.Signals(signum).name)
                os._exit(1)
            log.info(
                "%s received: no new work; finishing answers in flight (up to %gs)",
                signal.Signals(signum).name,
                self.shutdown_timeout,
            )
            self.stopping.set()
            if on_stop is not None:
                on_stop()
            else:
                raise ShutdownRequested()

        previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}

        def restore() -> None:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

        return restore

    def drain(self, app) -> bool:
        """Wait for the listeners' work (answers, uploads) and background ingests, within the
        shutdown timeout. True when nothing was left unfinished."""
        deadline = time.monotonic() + self.shutdown_timeout
        listeners = getattr(app, "advisor", None)
        executor = getattr(listeners, "executor", None)
        finished = True
        if isinstance(executor, DrainingExecutor):
            finished = executor.drain(self.shutdown_timeout)
            if not finished:
                told = listeners.abandon_answers() if hasattr(listeners, "abandon_answers") else 0
                log.warning(
                    "shutdown timeout (%gs): %d Slack requests unfinished; %d askers were told to ask again",
                    self.shutdown_timeout,
                    executor.pending,
                    told,
                )
        elif executor is not None:
            executor.shutdown(wait=False)
        for thread in list(getattr(listeners, "background", []) or []):
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                finished = False
                log.warning("shutdown timeout: a background ingest is still running (the next run converges)")
        self.abandoned = not finished
        return finished

    def exit_if_abandoned(self) -> None:
        """After a drain that timed out, end the process now: the interpreter would otherwise
        wait at exit for the executor's threads, i.e. for the very work the timeout gave up on."""
        if self.abandoned:
            log.warning("exiting with unfinished work after the %gs shutdown timeout", self.shutdown_timeout)
            logging.shutdown()
            os._exit(0)


def _json(start_response, status: str, body: dict) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status,
        [("Content-Type", "application/json"), ("Content-Length", str(len(data))), ("Cache-Control", "no-store")],
    )
    return [data]


def probes_app(lifecycle: Lifecycle, fallback: Callable | None = None) -> Callable:
    """A WSGI app answering the probes and /metrics; anything else goes to ``fallback`` (or 404)."""

    def application(environ: dict, start_response) -> Iterable[bytes]:
        response = lifecycle.wsgi(environ, start_response)
        if response is not None:
            return response
        if fallback is not None:
            return fallback(environ, start_response)
        return _json(start_response, "404 Not Found", {"error": "not found"})

    return application
