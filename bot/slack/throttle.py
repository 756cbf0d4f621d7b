"""Messages updated in place (answer placeholders, ingest progress) change at most once per
interval: Slack rate-limits chat.update, and nobody reads faster than that."""

from __future__ import annotations

import threading
import time
from typing import Callable


class Throttle:
    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic):
        self.interval = interval
        self.clock = clock
        self._last = clock()
        self._lock = threading.Lock()

    def restart(self) -> None:
        """The message was just shown: the next update waits a full interval."""
        with self._lock:
            self._last = self.clock()

    def ready(self) -> bool:
        """True (and the interval starts again) when an update may go out now."""
        now = self.clock()
        with self._lock:
            if now - self._last < self.interval:
                return False
            self._last = now
            return True
