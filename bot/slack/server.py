"""Running the bot: Socket Mode (SLACK_APP_TOKEN) or HTTP (waitress serving Bolt's
/slack/events plus GET /healthz, /livez, /readyz and /metrics: see lifecycle.py)."""

from __future__ import annotations

import json
import logging
import re
import threading
from typing import Callable, Iterable
from urllib.error import URLError

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.error import BoltError

from .guard import MAX_BODY_BYTES, guarded
from .lifecycle import LIVE_PATH, METRICS_PATH, READY_PATH, Lifecycle, ShutdownRequested, probes_app

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"


class SlackConfigError(RuntimeError):
    """The Slack configuration is missing or rejected; the message names the variable."""


def resolve_mode(settings, mode: str | None) -> str:
    if mode not in (None, "socket", "http"):
        raise SlackConfigError(f"unknown mode '{mode}': use socket or http")
    return mode or ("socket" if settings.secret("slack_app_token") else "http")


def check_settings(settings, mode: str) -> None:
    """Raise SlackConfigError naming the first missing variable for ``mode``."""
    if not settings.secret("slack_bot_token"):
        raise SlackConfigError(
            "SLACK_BOT_TOKEN is not set: the bot token (xoxb-…) from OAuth & Permissions in the Slack app settings"
        )
    if mode == "socket" and not settings.secret("slack_app_token"):
        raise SlackConfigError(
            "SLACK_APP_TOKEN is not set: Socket Mode needs an app-level token (xapp-…) with connections:write"
        )
    if mode == "http" and not settings.secret("slack_signing_secret"):
        raise SlackConfigError(
            "SLACK_SIGNING_SECRET is not set: HTTP mode needs the signing secret "
            "from Basic Information in the Slack app settings"
        )
    if mode == "socket" and not settings.secret("slack_app_token").startswith("xapp-"):
        log.warning("SLACK_APP_TOKEN does not start with xapp-: is it an app-level token?")


# --- HTTP -------------------------------------------------------------------------------------


def wsgi_app(app: App, service, signing_secret: str = "", lifecycle: Lifecycle | None = None) -> Callable:
    """Bolt's WSGI handler for POST /slack/events behind the request guard (size, signature,
    shape), plus GET /healthz, /livez, /readyz and /metrics for the platform."""
    slack = SlackRequestHandler(app, path=EVENTS_PATH)
    if signing_secret:
        slack = guarded(slack, signing_secret)
    lifecycle = lifecycle or Lifecycle(service)

    def application(environ: dict, start_response) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            return _health(service, start_response)
        probe = lifecycle.wsgi(environ, start_response)
        if probe is not None:
            return probe
        if lifecycle.stopping.is_set():
            # Not acknowledged, so Slack retries the event (commands show the user an error) and
            # the next process answers it; nothing is claimed here.
            start_response(
                "503 Service Unavailable",
                [("Content-Type", "text/plain"), ("Retry-After", "5"), ("Content-Length", "13")],
            )
            return [b"shutting down"]
        return slack(environ, start_response)

    return application


def _health(service, start_response) -> list[bytes]:
    try:
        docs, chunks = service.counts()
        status, body = "200 OK", {"status": "ok", "documents": docs, "chunks": chunks}
    except Exception as exc:  # reported as unhealthy
        log.exception("health check failed")
        status, body = "503 Service Unavailable", {"status": "error", "error": type(exc).__name__}
    data = json.dumps(body).encode()
    start_response(
        status,
        [("Content-Type", "application/json"), ("Content-Length", str(len(data))), ("Cache-Control", "no-store")],
    )
    return [data]


class HttpServer:
    """waitress serving the bot; ``start()`` runs it on a thread (tests), ``serve_forever()``
    blocks (production). Port 0 picks a free port: read it back from ``port``."""

    def __init__(self, application: Callable, host: str = "0.0.0.0", port: int = 3000, threads: int = 16):
        from waitress import create_server

        self._server = create_server(
            application,
            host=host,
            port=port,
            threads=threads,
            ident="genai-strategy-advisor",
            asyncore_loop_timeout=0.2,
            max_request_body_size=MAX_BODY_BYTES * 2,
        )
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._ran = False

    @property
    def host(self) -> str:
        return self._server.effective_host

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    def serve_forever(self) -> None:
        """waitress's own loop (``server.run()``), one poll at a time so that ``stop()`` can
        end it: everything is then closed here, on the loop's thread (closing sockets from
        another thread races the loop's select)."""
        from waitress import wasyncore

        server = self._server
        self._ran = True
        try:
            while server._map and not self._stopping.is_set():
                wasyncore.loop(
                    timeout=server.adj.asyncore_loop_timeout,
                    map=server._map,
                    use_poll=server.adj.asyncore_use_poll,
                    count=1,
                )
        finally:
            wasyncore.close_all(server._map, ignore_all=True)
            server.task_dispatcher.shutdown()

    def start(self) -> "HttpServer":
        self._thread = threading.Thread(target=self.serve_forever, name="advisor-http", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """End ``serve_forever()`` within one poll (0.2 s); a server never run just closes."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
        elif not self._ran:
            self._server.close()
            self._server.task_dispatcher.shutdown()

    def __enter__(self) -> "HttpServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def http_server(
    settings, app: App, service, *, host: str = "0.0.0.0", port: int | None = None, lifecycle: Lifecycle | None = None
) -> HttpServer:
    return HttpServer(
        wsgi_app(app, service, settings.secret("slack_signing_secret"), lifecycle),
        host=host,
        port=settings.port if port is None else port,
        threads=settings.http_threads,
    )


# --- Socket Mode --------------------------------------------------------------------------------


def socket_mode_handler(settings, app: App) -> SocketModeHandler:
    """Bolt's built-in Socket Mode handler; apps.connections.open goes to SLACK_API_URL too."""
    return SocketModeHandler(app, app_token=settings.secret("slack_app_token"), web_client=app.client)


# --- the entry point --------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object per line (ADVISOR_LOG_FORMAT=json), for log pipelines. Ids the bot puts
    in its messages ("error id 3f9a…", "answer id …", or passed as ``extra={"answer_id": …}``)
    become fields of their own, so a user's "error id" finds its traceback."""

    _ID = re.compile(r"\b(error|answer)(?: id)? `?([0-9a-f]{6,})\b`?")

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        for kind, value in self._ID.findall(message):
            entry.setdefault(f"{kind}_id", value)
        for field in ("error_id", "answer_id"):
            if getattr(record, field, None):
                entry[field] = str(getattr(record, field))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(settings) -> None:
    level = getattr(logging, (settings.log_level or "INFO").upper(), logging.INFO)
    handler = logging.StreamHandler()
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])


def start_app(settings, service) -> App:
    """Build the app (auth.test checks the token, so a bad one fails fast), then load the
    embedding model, index and backends once, before the first event can arrive."""
    from .app import build_app

    try:
        app = build_app(settings, service)
    except BoltError as exc:
        raise SlackConfigError(f"SLACK_BOT_TOKEN was rejected by Slack ({settings.slack_api_url}): {exc}") from exc
    except URLError as exc:
        raise SlackConfigError(
            f"cannot reach the Slack API at {settings.slack_api_url} (SLACK_API_URL): {exc.reason}"
        ) from exc
    service.warm_up()
    return app


def serve(settings, mode: str | None = None, *, service=None) -> None:
    """Run the Slack bot until interrupted: Socket Mode when SLACK_APP_TOKEN is set (or
    mode='socket'), otherwise HTTP on $PORT."""
    mode = resolve_mode(settings, mode)
    check_settings(settings, mode)
    configure_logging(settings)
    if service is None:
        from ..core import AdvisorService

        service = AdvisorService(settings)
    app = start_app(settings, service)
    if mode == "socket":
        _serve_socket_mode(settings, app, service)
        return
    lifecycle = Lifecycle(service, shutdown_timeout=settings.shutdown_timeout)
    server = http_server(settings, app, service, lifecycle=lifecycle)

    def stop_after_drain() -> None:
        # Off the signal handler: the server keeps answering probes (and 503 to Slack) meanwhile.
        def run() -> None:
            lifecycle.drain(app)
            server.stop(timeout=0)

        threading.Thread(target=run, name="advisor-shutdown", daemon=True).start()

    restore_signals = lifecycle.install_signal_handlers(stop_after_drain)
    log.info(
        "starting the Slack bot over HTTP on port %s: Slack posts to %s; probes at %s, %s, %s; metrics at %s",
        server.port,
        EVENTS_PATH,
        LIVE_PATH,
        READY_PATH,
        HEALTH_PATH,
        METRICS_PATH,
    )
    try:
        server.serve_forever()
    finally:
        server.stop()
        restore_signals()
    log.info("stopped")
    lifecycle.exit_if_abandoned()


def _serve_socket_mode(settings, app: App, service) -> None:
    handler = socket_mode_handler(settings, app)
    lifecycle = Lifecycle(
        service, slack_connected=lambda: handler.client.is_connected(), shutdown_timeout=settings.shutdown_timeout
    )
    probes = None
    if "port" in settings.model_fields_set:  # a platform that routes to $PORT probes it
        probes = HttpServer(probes_app(lifecycle), port=settings.port, threads=2).start()
        log.info("probes at %s, %s and metrics at %s on port %s", LIVE_PATH, READY_PATH, METRICS_PATH, probes.port)
    restore_signals = lifecycle.install_signal_handlers()
    log.info("starting the Slack bot in Socket Mode")
    try:
        handler.start()  # blocks until a signal raises ShutdownRequested
    except ShutdownRequested:
        pass
    finally:
        lifecycle.stopping.set()
        handler.close()  # Slack now delivers new events to another connection
        lifecycle.drain(app)
        if probes is not None:
            probes.stop()
        restore_signals()
    log.info("stopped")
    lifecycle.exit_if_abandoned()
