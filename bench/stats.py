"""Small timing and statistics helpers (no numpy needed)."""

from __future__ import annotations

import time
from typing import Callable, Iterable, Sequence


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (the usual 'type 7'); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    pos = (len(ordered) - 1) * p / 100.0
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (pos - low))


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


def summary(ms: Sequence[float]) -> dict:
    return {
        "n": len(ms),
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "max": max(ms) if ms else float("nan"),
        "mean": sum(ms) / len(ms) if ms else float("nan"),
    }


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """(seconds, result) of one call."""
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def latencies(fn: Callable[[str], object], queries: Iterable[str], *, warm_up: bool = True) -> list[float]:
    """Milliseconds per call over ``queries``, after one unmeasured warm-up pass over them."""
    queries = list(queries)
    if warm_up:
        for q in queries:
            fn(q)
    out = []
    for q in queries:
        started = time.perf_counter()
        fn(q)
        out.append((time.perf_counter() - started) * 1000)
    return out


class Stopwatch(dict):
    """Seconds spent inside wrapped callables, by name (0.0 for a name never called)."""

    def __missing__(self, key: str) -> float:
        return 0.0

    def wrap(self, name: str, fn: Callable) -> Callable:
        def timed_call(*args, **kwargs):
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self[name] = self[name] + time.perf_counter() - started

        return timed_call
