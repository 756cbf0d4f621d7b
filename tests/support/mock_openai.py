"""A local OpenAI-compatible chat completions server with scripted faults.

Serves any path ending in /chat/completions (OpenAI, Azure OpenAI deployments, vLLM-style
base URLs), records every request body, and plays a queue of behaviours: "ok", "500",
"429" (with Retry-After), "timeout" (answers too late), "malformed" (200 with a broken body),
"cut" (a stream that breaks after two words), "hold" (answers normally once ``release()`` is
called: an answer kept in flight for as long as a test needs).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class MockOpenAI:
    def __init__(self, reply: str = "PaaS gets you to production in weeks [1]. Ignore this [7].", delay: float = 3.0):
        self.reply = reply
        self.delay = delay
        self.requests: list[dict] = []
        self.paths: list[str] = []
        self.script: list[str] = []
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._arrived = threading.Condition()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def play(self, *behaviours: str) -> None:
        with self._lock:
            self.script.extend(behaviours)

    def _next(self) -> str:
        with self._lock:
            return self.script.pop(0) if self.script else "ok"

    def release(self) -> None:
        """Let every held request (and any later one) be answered."""
        self._released.set()

    def wait_for_requests(self, count: int = 1, timeout: float = 60.0) -> None:
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(f"{len(self.requests)} model requests within {timeout:.0f} s, expected {count}")

    def received_text(self) -> str:
        return "\n".join(m.get("content", "") for r in self.requests for m in r.get("messages", []))

    def _handler(self):
        mock = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, status: int, body: bytes, content_type="application/json", headers=None):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path.rstrip("/").endswith("/models"):
                    self._send(
                        200, json.dumps({"object": "list", "data": [{"id": "mock", "object": "model"}]}).encode()
                    )
                else:
                    self._send(404, b"{}")

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if not self.path.split("?")[0].endswith("/chat/completions"):
                    self._send(404, b'{"error": {"message": "not found"}}')
                    return
                with mock._lock:
                    mock.requests.append(body)
                    mock.paths.append(self.path)
                with mock._arrived:
                    mock._arrived.notify_all()
                behaviour = mock._next()
                if behaviour == "hold":
                    mock._released.wait(120)
                    behaviour = "ok"
                if behaviour == "500":
                    self._send(500, b'{"error": {"message": "internal error", "type": "server_error"}}')
                elif behaviour == "429":
                    self._send(
                        429,
                        b'{"error": {"message": "rate limited", "type": "rate_limit"}}',
                        headers={"Retry-After": "0.2"},
                    )
                elif behaviour == "timeout":
                    time.sleep(mock.delay)
                    self._send(200, self._completion(body))
                elif behaviour == "malformed":
                    self._send(200, b'{"id": "x", "choices": [ this is not json')
                elif behaviour == "cut" and body.get("stream"):
                    self._stream(body, cut=True)
                elif body.get("stream"):
                    self._stream(body)
                else:
                    self._send(200, self._completion(body))

            def _completion(self, body) -> bytes:
                return json.dumps(
                    {
                        "id": "chatcmpl-mock",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", "mock"),
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": mock.reply},
                            }
                        ],
                        "usage": {"prompt_tokens": 42, "completion_tokens": 7, "total_tokens": 49},
                    }
                ).encode()

            def _stream(self, body, cut: bool = False) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                words = mock.reply.split(" ")
                for i, word in enumerate(words):
                    chunk = {
                        "id": "c",
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": "mock",
                        "choices": [
                            {
                                "index": 0,
                                "delta": {"content": word + (" " if i < len(words) - 1 else "")},
                                "finish_reason": None,
                            }
                        ],
                    }
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    if cut and i == 1:  # two words, then a broken event: the stream fails mid-answer
                        self.wfile.write(b"data: {this is not json\n\n")
                        self.wfile.flush()
                        self.close_connection = True
                        return
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        return Handler
