"""Checks in front of Bolt for POST /slack/events: anything that is not a well-formed, signed
Slack request gets a short 4xx here, without a traceback and without its body in the log.

Bolt verifies signatures too, but a malformed timestamp header made it raise (HTTP 500 with a
traceback), it logged whole rejected bodies, and a signed body that is not what Slack sends
(broken JSON, a form without a command or payload) failed deep inside with a 500.
"""

from __future__ import annotations

import io
import json
import logging
import time
from typing import Callable, Iterable
from urllib.parse import parse_qs

from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)

# Slack's payloads are a few KB (a big modal submission stays well under 100 KB).
MAX_BODY_BYTES = 512 * 1024
MAX_CLOCK_SKEW_S = 60 * 5


def _reply(start_response, status: str, message: str) -> list[bytes]:
    data = json.dumps({"error": message}).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def _read_body(environ: dict) -> bytes | None:
    """The request body, or None when it is larger than MAX_BODY_BYTES (never read past it)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        return None
    stream = environ.get("wsgi.input")
    body = stream.read(min(length, MAX_BODY_BYTES + 1) if length else MAX_BODY_BYTES + 1) if stream else b""
    return None if len(body) > MAX_BODY_BYTES else body


class _FixedClock:
    """The verifier's clock, so the skew check above and its own agree."""

    def __init__(self, now: float):
        self._now = now

    def now(self) -> float:
        return self._now


def signature_problem(
    body: bytes, timestamp: str | None, signature: str | None, secret: str, now: float | None = None
) -> str | None:
    """Why the request is not validly signed, or None."""
    if not timestamp or not signature:
        return "missing signature headers"
    if not timestamp.strip().isdigit():
        return "malformed timestamp"
    if abs((now or time.time()) - int(timestamp)) > MAX_CLOCK_SKEW_S:
        return "stale timestamp"
    if not signature.startswith("v0="):
        return "malformed signature"
    verifier = SignatureVerifier(secret, clock=_FixedClock(now or time.time()))
    try:
        valid = verifier.is_valid(body=body, timestamp=timestamp.strip(), signature=signature.strip())
    except Exception:  # noqa: BLE001 - any failure to verify is a failed verification
        valid = False
    return None if valid else "invalid signature"


def body_problem(body: bytes, content_type: str) -> str | None:
    """Why a signed body is not something Slack sends, or None."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "body is not UTF-8"
    if "json" in content_type or text.lstrip().startswith("{"):
        try:
            return None if isinstance(json.loads(text), dict) else "JSON body is not an object"
        except ValueError:
            return "malformed JSON body"
    form = parse_qs(text, keep_blank_values=True)
    if "payload" in form:
        try:
            return None if isinstance(json.loads(form["payload"][0]), dict) else "payload is not a JSON object"
        except ValueError:
            return "payload is not JSON"
    if "command" in form or "ssl_check" in form:
        return None
    return "not a Slack event, command or interaction"


def guarded(app: Callable, secret: str) -> Callable:
    """WSGI middleware for the events path: size cap (413), signature (401), shape (400)."""

    def application(environ: dict, start_response) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") != "POST":
            return app(environ, start_response)
        body = _read_body(environ)
        if body is None:
            log.warning("rejected a request body over %d bytes (413)", MAX_BODY_BYTES)
            return _reply(start_response, "413 Payload Too Large", "request body too large")
        problem = signature_problem(
            body, environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP"), environ.get("HTTP_X_SLACK_SIGNATURE"), secret
        )
        if problem:
            log.warning(
                "rejected an unsigned or badly signed request (401): %s; %d bytes, body not logged", problem, len(body)
            )
            return _reply(start_response, "401 Unauthorized", "invalid request signature")
        problem = body_problem(body, environ.get("CONTENT_TYPE") or "")
        if problem:
            log.warning("rejected a signed but malformed request (400): %s", problem)
            return _reply(start_response, "400 Bad Request", problem)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return app(environ, start_response)

    return application
