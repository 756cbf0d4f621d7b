"""A WebClient stand-in that records chat.postMessage / chat.update, for unit tests of
messages updated in place."""

from __future__ import annotations


class FakeClient:
    def __init__(self, posted: dict | None = None):
        self.calls: list[tuple[str, dict]] = []
        self.posted = posted or {"ok": True, "ts": "111.1"}

    def chat_postMessage(self, **kw):
        self.calls.append(("post", kw))
        return self.posted

    def chat_update(self, **kw):
        self.calls.append(("update", kw))
        return {"ok": True}
