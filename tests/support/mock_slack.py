"""A local mock of the Slack Web API, for tests that run the bot over real HTTP.

    with MockSlack() as slack:
        settings = ...(SLACK_API_URL=slack.api_url, SLACK_BOT_TOKEN=slack.bot_token)
        ...
        [post] = slack.wait_for("chat.postMessage")
        post.params["blocks"]

Serves ``POST /api/<method>`` (form or JSON bodies, like slack_sdk sends them) and records
every call: method, params (JSON-valued form fields decoded), headers, HTTP status. Knows
auth.test, chat.*, views.publish, assistant.threads.*, users.info, conversations.open and
apps.connections.open; any other method answers ``{"ok": true}``. Tokens are checked
(``invalid_auth`` otherwise). Also:

* ``fail_next(method, status=429|500, times=N)``: the next N calls of a method fail
  (429 carries ``Retry-After``);
* ``response_url(name)``: a URL for slash-command / interactivity ``response_url``; what the bot
  posts there is recorded in ``responses``;
* streaming: ``chat.startStream`` / ``appendStream`` / ``stopStream`` with the real API's required
  arguments (a channel stream needs ``recipient_user_id`` and ``recipient_team_id``), at most
  ``MARKDOWN_LIMIT`` characters of Markdown per message; ``refuse_streaming()`` makes
  ``chat.startStream`` answer ``feature_not_enabled`` as a workspace without it would;
  ``assistant.threads.setStatus`` / ``setSuggestedPrompts`` check their required arguments too;
  ``messages(channel)`` is what a person would now see there: every bot message with its text
  (streamed Markdown included), blocks and stream state, after updates;
* ``add_file(name, data)``: served at ``GET /files/<name>`` to requests with the bot token;
  ``share_file(file_id, name, data)`` also makes ``files.info`` describe it (a file shared with
  the bot), and ``fail_download(name, status)`` makes its download answer that HTTP status.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qsl, quote, unquote, urlsplit

MARKDOWN_LIMIT = 12000  # characters of Markdown in one message
JSON_FIELDS = (
    "blocks",
    "attachments",
    "view",
    "prompts",
    "loading_messages",
    "metadata",
    "chunks",
    "unfurls",
    "user_auth_blocks",
)


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    status: int = 200
    at: float = field(default_factory=time.monotonic)
    response: dict[str, Any] | None = None  # what the mock answered (e.g. the ts of a posted message)

    @property
    def token(self) -> str | None:
        auth = self.headers.get("authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else self.params.get("token")


@dataclass
class Response:
    """A payload the bot posted to a response_url."""

    name: str
    payload: dict[str, Any]
    headers: dict[str, str]


class MockSlack:
    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test-token",
        app_token: str = "xapp-test-token",
        team_id: str = "T0TEST",
        bot_user_id: str = "UBOT0001",
        bot_id: str = "BBOT0001",
        check_tokens: bool = True,
    ):
        self.bot_token = bot_token
        self.app_token = app_token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.check_tokens = check_tokens
        self.users: dict[str, dict] = {}
        # Channels (conversations.info fields and members) and user groups; unknown channels are
        # plain internal channels without guests, unknown users are full members.
        self.channels: dict[str, dict] = {}
        self.channel_members: dict[str, list[str]] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.files: dict[str, tuple[bytes, str]] = {}
        self.file_infos: dict[str, dict] = {}  # files.info by file id
        self.download_failures: dict[str, int] = {}
        self._file_keys: dict[str, str] = {}
        self.calls: list[Call] = []
        self.responses: list[Response] = []
        self.downloads: list[Call] = []
        self.socket_url: str | None = None  # what apps.connections.open returns
        self._overrides: dict[str, Callable[[dict], dict] | dict] = {}
        self._failures: dict[str, list[int]] = {}
        self._ts = 0
        self.streaming = True
        self.streams: dict[str, dict] = {}  # ts → {"channel", "thread_ts", "text", "state", "blocks"}
        self._cond = threading.Condition()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, name="mock-slack", daemon=True
        )

    # --- lifecycle -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    @property
    def api_url(self) -> str:
        """The SLACK_API_URL for the bot."""
        return self.url + "api/"

    def start(self) -> "MockSlack":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "MockSlack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- scripting -----------------------------------------------------------------------------

    def fail_next(self, method: str, status: int = 429, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer HTTP ``status`` (429: Retry-After: 1)."""
        with self._cond:
            self._failures.setdefault(method, []).extend([status] * times)

    def respond_with(self, method: str, response: dict | Callable[[dict], dict]) -> None:
        """Answer ``method`` with this payload (or ``response(params)``) instead of the default."""
        with self._cond:
            self._overrides[method] = response

    def refuse_streaming(self) -> None:
        """A workspace without native streaming: chat.startStream answers feature_not_enabled."""
        self.streaming = False

    def add_user(self, user_id: str, **fields: Any) -> None:
        self.users[user_id] = {"id": user_id, "name": user_id.lower(), "is_bot": False, "is_admin": False, **fields}

    def add_file(self, name: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        self.files[name] = (data, content_type)
        return self.file_url(name)

    def share_file(
        self,
        file_id: str,
        name: str,
        data: bytes | None,
        *,
        size: int | None = None,
        content_type: str = "application/octet-stream",
        **fields: Any,
    ) -> dict:
        """A file shared in Slack: files.info describes it and its url_private serves ``data``
        (None: nothing is served, so the download answers 404). Returns the stub a message
        event carries in ``files``."""
        key = f"{file_id}/{name.replace('/', '_')}"
        if data is not None:
            self.add_file(key, data, content_type)
        info = {
            "id": file_id,
            "name": name,
            "title": name,
            "mimetype": content_type,
            "size": len(data or b"") if size is None else size,
            "url_private": self.file_url(key),
            "url_private_download": self.file_url(key),
            "mode": "hosted",
            "is_external": False,
            **fields,
        }
        self.file_infos[file_id] = info
        self._file_keys[file_id] = key
        return {"id": file_id, "name": name, "mimetype": content_type}

    def fail_download(self, file_id: str, status: int = 500) -> None:
        self.download_failures[self._file_keys[file_id]] = status

    def file_url(self, name: str) -> str:
        return f"{self.url}files/{quote(name)}"

    def response_url(self, name: str = "default") -> str:
        return f"{self.url}response/{name}"

    # --- inspection ----------------------------------------------------------------------------

    def calls_of(self, method: str, where: Callable[[Call], bool] | None = None, *, failed: bool = False) -> list[Call]:
        with self._cond:
            return [
                c
                for c in self.calls
                if c.method == method and (failed or c.status == 200) and (where is None or where(c))
            ]

    def wait_for(
        self, method: str, count: int = 1, *, where: Callable[[Call], bool] | None = None, timeout: float = 15.0
    ) -> list[Call]:
        """The successful calls of ``method`` (matching ``where``) once there are ``count``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [
                    c for c in self.calls if c.method == method and c.status == 200 and (where is None or where(c))
                ]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [c.method for c in self.calls]
                    raise AssertionError(
                        f"expected {count} {method} call(s) within {timeout}s, got {len(found)}; calls so far: {seen}"
                    )
                self._cond.wait(left)

    def wait_for_response(
        self,
        name: str = "default",
        count: int = 1,
        *,
        where: Callable[[Response], bool] | None = None,
        timeout: float = 15.0,
    ) -> list[Response]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [r for r in self.responses if r.name == name and (where is None or where(r))]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} response(s) on {name} within {timeout}s, got {[r.payload for r in found]}"
                    )
                self._cond.wait(left)

    def settle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until no call has arrived for ``quiet`` seconds (to assert that nothing more
        happens after the bot was given the chance)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while time.monotonic() < deadline:
                last = max([c.at for c in self.calls] + [0.0])
                idle = time.monotonic() - last
                if idle >= quiet:
                    return
                self._cond.wait(quiet - idle)

    def messages(self, channel: str, thread_ts: str | None = None) -> list[dict]:
        """The bot's messages in ``channel`` (in ``thread_ts``), oldest first, as they now read:
        ``{"ts", "thread_ts", "text", "blocks", "streamed", "state"}`` where ``text`` is the
        posted or updated text, or the Markdown a stream carried."""
        out: dict[str, dict] = {}
        with self._cond:
            calls = [c for c in self.calls if c.status == 200 and (c.response or {}).get("ok")]
        for call in calls:
            p = call.params
            if p.get("channel") != channel:
                continue
            if call.method == "chat.postMessage":
                ts = call.response["ts"]
                out[ts] = {
                    "ts": ts,
                    "thread_ts": p.get("thread_ts"),
                    "text": p.get("text", ""),
                    "blocks": p.get("blocks") or [],
                    "streamed": False,
                    "state": "posted",
                }
            elif call.method == "chat.startStream":
                ts = call.response["ts"]
                out[ts] = {
                    "ts": ts,
                    "thread_ts": p.get("thread_ts"),
                    "text": _stream_text(p),
                    "blocks": [],
                    "streamed": True,
                    "state": "in_progress",
                }
            elif call.method in ("chat.appendStream", "chat.stopStream") and p.get("ts") in out:
                message = out[p["ts"]]
                message["text"] += _stream_text(p)
                if call.method == "chat.stopStream":
                    message["state"] = "completed"
                    message["blocks"] = p.get("blocks") or []
            elif call.method == "chat.update" and p.get("ts") in out:
                out[p["ts"]].update(text=p.get("text", ""), blocks=p.get("blocks") or [], state="updated")
        found = [m for m in out.values() if thread_ts is None or m["thread_ts"] == thread_ts]
        return sorted(found, key=lambda m: m["ts"])

    def wait_for_message(
        self, channel: str, where: Callable[[dict], bool] | None = None, *, timeout: float = 20.0
    ) -> dict:
        """The first bot message in ``channel`` that is finished (posted, updated or a completed
        stream) and matches ``where``."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self.messages(channel):
                if message["state"] != "in_progress" and (where is None or where(message)):
                    return message
            if time.monotonic() > deadline:
                raise AssertionError(f"no finished message in {channel} within {timeout}s: {self.messages(channel)}")
            with self._cond:
                self._cond.wait(0.1)

    def methods(self) -> list[str]:
        with self._cond:
            return [c.method for c in self.calls]

    def reset(self) -> None:
        with self._cond:
            self.calls.clear()
            self.responses.clear()
            self.downloads.clear()
            self._failures.clear()

    # --- Web API -------------------------------------------------------------------------------

    def _next_ts(self) -> str:
        with self._cond:
            self._ts += 1
            return f"{int(time.time())}.{self._ts:06d}"

    def _reply(self, method: str, params: dict) -> dict:
        override = self._overrides.get(method)
        if override is not None:
            return override(params) if callable(override) else override
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://mock.slack.test/",
                "team": "Mock Team",
                "user": "advisor",
                "team_id": self.team_id,
                "user_id": self.bot_user_id,
                "bot_id": self.bot_id,
                "is_enterprise_install": False,
            }
        if method == "chat.postMessage":
            ts = self._next_ts()
            message = {
                "type": "message",
                "text": params.get("text", ""),
                "ts": ts,
                "user": self.bot_user_id,
                "bot_id": self.bot_id,
            }
            if params.get("thread_ts"):
                message["thread_ts"] = params["thread_ts"]
            if params.get("blocks") is not None:
                message["blocks"] = params["blocks"]
            return {"ok": True, "channel": params.get("channel"), "ts": ts, "message": message}
        if method in ("chat.startStream", "chat.appendStream", "chat.stopStream"):
            return self._stream(method, params)
        if method == "assistant.threads.setStatus":
            if not params.get("channel_id") or not params.get("thread_ts") or "status" not in params:
                return {"ok": False, "error": "invalid_arguments"}
            return {"ok": True}
        if method == "assistant.threads.setSuggestedPrompts":
            prompts = params.get("prompts")
            if (
                not params.get("channel_id")
                or not isinstance(prompts, list)
                or not 1 <= len(prompts) <= 4
                or not all(p.get("title") and p.get("message") for p in prompts)
            ):
                return {"ok": False, "error": "invalid_arguments"}
            return {"ok": True}
        if method == "chat.update":
            return {
                "ok": True,
                "channel": params.get("channel"),
                "ts": params.get("ts"),
                "text": params.get("text", ""),
            }
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": self._next_ts()}
        if method == "views.publish":
            return {"ok": True, "view": {"id": "V" + self._next_ts().replace(".", ""), **(params.get("view") or {})}}
        if method == "files.info":
            info = self.file_infos.get(params.get("file", ""))
            return {"ok": True, "file": info} if info else {"ok": False, "error": "file_not_found"}
        if method == "users.info":
            user_id = params.get("user", "")
            user = self.users.get(user_id)
            if user is None and user_id.startswith(("U", "W")):
                user = {"id": user_id, "name": user_id.lower(), "is_bot": False, "is_admin": False}
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "users.list":
            return {"ok": True, "members": list(self.users.values()), "response_metadata": {"next_cursor": ""}}
        if method == "conversations.info":
            channel = params.get("channel", "")
            if not channel:
                return {"ok": False, "error": "channel_not_found"}
            info = {
                "id": channel,
                "is_im": channel.startswith("D"),
                "is_ext_shared": False,
                "is_shared": False,
                "is_org_shared": False,
                **self.channels.get(channel, {}),
            }
            return {"ok": True, "channel": info}
        if method == "conversations.members":
            if not params.get("channel"):
                return {"ok": False, "error": "channel_not_found"}
            return {
                "ok": True,
                "members": self.channel_members.get(params["channel"], []),
                "response_metadata": {"next_cursor": ""},
            }
        if method == "usergroups.users.list":
            group = params.get("usergroup", "")
            if group not in self.usergroups:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": self.usergroups[group]}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(params.get("users", "X")).replace(",", "")}}
        if method == "apps.connections.open":
            return {"ok": True, "url": self.socket_url or "ws://127.0.0.1:9/"}
        return {"ok": True}

    def _stream(self, method: str, params: dict) -> dict:
        text = _stream_text(params)
        if method == "chat.startStream":
            if not self.streaming:
                return {"ok": False, "error": "feature_not_enabled"}
            channel = params.get("channel", "")
            if not channel or not params.get("thread_ts"):
                return {"ok": False, "error": "invalid_arguments"}
            if not channel.startswith("D") and not (
                params.get("recipient_user_id") and params.get("recipient_team_id")
            ):
                return {
                    "ok": False,
                    "error": "invalid_arguments",
                    "detail": "recipient_user_id and recipient_team_id are required in channels",
                }
            if len(text) > MARKDOWN_LIMIT:
                return {"ok": False, "error": "msg_too_long"}
            ts = self._next_ts()
            with self._cond:
                self.streams[ts] = {
                    "channel": channel,
                    "thread_ts": params["thread_ts"],
                    "text": text,
                    "state": "in_progress",
                    "blocks": None,
                }
            return {"ok": True, "channel": channel, "ts": ts}
        if not params.get("channel") or not params.get("ts"):
            return {"ok": False, "error": "invalid_arguments"}
        with self._cond:
            stream = self.streams.get(params["ts"])
            if stream is None or stream["channel"] != params["channel"]:
                return {"ok": False, "error": "message_not_found"}
            if stream["state"] != "in_progress":
                return {"ok": False, "error": "message_not_in_streaming_state"}
            if method == "chat.appendStream" and not text:
                return {"ok": False, "error": "invalid_arguments"}
            if len(stream["text"]) + len(text) > MARKDOWN_LIMIT:
                return {"ok": False, "error": "msg_too_long"}
            stream["text"] += text
            if method == "chat.stopStream":
                stream["state"] = "completed"
                stream["blocks"] = params.get("blocks")
        return {"ok": True, "channel": params["channel"], "ts": params["ts"]}

    def _record(self, call: Call) -> None:
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()

    def _take_failure(self, method: str) -> int | None:
        with self._cond:
            queue = self._failures.get(method)
            return queue.pop(0) if queue else None

    def _handler(self):
        mock = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(
                self,
                status: int,
                body: bytes,
                content_type: str = "application/json; charset=utf-8",
                headers: dict | None = None,
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def _json(self, status: int, payload: dict, headers: dict | None = None) -> None:
                self._send(status, json.dumps(payload).encode(), headers=headers)

            def _headers(self) -> dict[str, str]:
                return {k.lower(): v for k, v in self.headers.items()}

            def _params(self) -> dict[str, Any]:
                url = urlsplit(self.path)
                params: dict[str, Any] = dict(parse_qsl(url.query, keep_blank_values=True))
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                kind = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
                if raw and kind == "application/json":
                    params.update(json.loads(raw))
                elif raw:
                    params.update(dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True)))
                for key in JSON_FIELDS:
                    value = params.get(key)
                    if isinstance(value, str) and value[:1] in "[{":
                        try:
                            params[key] = json.loads(value)
                        except ValueError:
                            pass
                return params

            def do_POST(self):
                path = urlsplit(self.path).path
                if path.startswith("/api/"):
                    self._api(path[len("/api/") :])
                elif path.startswith("/response/"):
                    params = self._params()
                    with mock._cond:
                        mock.responses.append(Response(path[len("/response/") :], params, self._headers()))
                        mock._cond.notify_all()
                    self._send(200, b"ok", "text/plain")
                else:
                    self._send(404, b"not found", "text/plain")

            def do_GET(self):
                path = urlsplit(self.path).path
                if path.startswith("/api/"):
                    self._api(path[len("/api/") :])
                elif path.startswith("/files/"):
                    self._file(unquote(path[len("/files/") :]))
                else:
                    self._send(404, b"not found", "text/plain")

            def _file(self, name: str) -> None:
                call = Call("files:" + name, {}, self._headers())
                auth = call.headers.get("authorization", "")
                if mock.check_tokens and auth != f"Bearer {mock.bot_token}":
                    call.status = 403
                    mock.downloads.append(call)
                    self._send(403, b"forbidden", "text/plain")
                    return
                failure = mock.download_failures.get(name)
                if failure is not None:
                    call.status = failure
                    mock.downloads.append(call)
                    self._send(failure, b"failed", "text/plain")
                    return
                if name not in mock.files:
                    call.status = 404
                    mock.downloads.append(call)
                    self._send(404, b"not found", "text/plain")
                    return
                mock.downloads.append(call)
                data, content_type = mock.files[name]
                self._send(200, data, content_type)

            def _api(self, method: str) -> None:
                call = Call(method, self._params(), self._headers())
                failure = mock._take_failure(method)
                if failure is not None:
                    call.status = failure
                    mock._record(call)
                    if failure == 429:
                        self._json(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"})
                    else:
                        self._json(failure, {"ok": False, "error": "fatal_error"})
                    return
                expected = mock.app_token if method == "apps.connections.open" else mock.bot_token
                if mock.check_tokens and call.token != expected:
                    call.status = 401  # recorded as failed; Slack answers 200 with ok=false
                    mock._record(call)
                    self._json(200, {"ok": False, "error": "invalid_auth" if call.token else "not_authed"})
                    return
                try:
                    payload = mock._reply(method, call.params)
                except Exception as exc:  # noqa: BLE001 — a broken override is a test bug: make it loud
                    call.status = 500
                    mock._record(call)
                    self._json(500, {"ok": False, "error": f"mock_error: {exc}"})
                    return
                call.response = payload
                mock._record(call)
                self._json(200, payload)

        return Handler


def _stream_text(params: dict) -> str:
    """The Markdown a stream call carries, as markdown_text or as markdown_text chunks."""
    text = params.get("markdown_text") or ""
    for chunk in params.get("chunks") or []:
        if isinstance(chunk, dict) and chunk.get("type") == "markdown_text":
            text += chunk.get("text") or ""
    return text


class MockSocketMode:
    """A local Socket Mode endpoint (WebSocket) for slack_sdk's built-in client.

    Point ``MockSlack.socket_url`` at ``url`` so apps.connections.open hands it out (slack_sdk
    connects without TLS to a port other than 443). On connect it sends Slack's ``hello``;
    ``send(envelope)`` pushes an envelope to the newest connection and ``wait_for_ack(id)``
    returns what the app acknowledged."""

    def __init__(self):
        from websockets.sync.server import serve

        self.received: list[dict] = []
        self.connections: list[Any] = []
        self._cond = threading.Condition()
        self._server = serve(self._handle, "127.0.0.1", 0)
        self._thread = threading.Thread(target=self._server.serve_forever, name="mock-socket-mode", daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}/link/?ticket=mock"

    def start(self) -> "MockSocketMode":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(5)

    def __enter__(self) -> "MockSocketMode":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _handle(self, connection) -> None:
        connection.send(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "connection_info": {"app_id": "A0TEST"},
                    "debug_info": {"host": "mock", "approximate_connection_time": 3600},
                }
            )
        )
        with self._cond:
            self.connections.append(connection)
            self._cond.notify_all()
        from websockets.exceptions import ConnectionClosed

        try:
            for message in connection:
                try:
                    data = json.loads(message)
                except ValueError:
                    data = {"raw": message}
                with self._cond:
                    self.received.append(data)
                    self._cond.notify_all()
        except ConnectionClosed:
            pass  # slack_sdk's client closes its socket without a close frame

    def wait_connected(self, timeout: float = 15.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self.connections, timeout):
                raise AssertionError("no Socket Mode connection within the timeout")

    def send(self, envelope: dict) -> None:
        with self._cond:
            connection = self.connections[-1]
        connection.send(json.dumps(envelope))

    def wait_for_ack(self, envelope_id: str, timeout: float = 15.0) -> dict:
        with self._cond:
            found = self._cond.wait_for(
                lambda: next((m for m in self.received if m.get("envelope_id") == envelope_id), None), timeout
            )
        if not found:
            raise AssertionError(f"no ack for envelope {envelope_id}; received {self.received}")
        return found
