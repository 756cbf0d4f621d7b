"""Growing an index to N chunks by duplicating ingested documents under copy prefixes.

Copies have identical texts, so their vectors are reused instead of embedded again (about
25 chunks/s here: 50k chunks would take over half an hour). Copies after the first get a
tiny deterministic perturbation (Gaussian, sigma 1e-3 per dimension, re-normalised; cosine to
the original about 0.9998) so the HNSW graph is not built over exact duplicate points, which
a real corpus of that size would not have. The same plan and perturbation serve both pipelines.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

JITTER = 1e-3


class CopyPlan:
    """Walks copy 1, unit 0..n-1, copy 2, ... taking whole documents until a chunk target."""

    def __init__(self, unit_sizes: list[int]):
        if not unit_sizes or not any(unit_sizes):
            raise ValueError("nothing to grow from: the source index is empty")
        self.sizes = unit_sizes
        self.copy, self.next_unit, self.total = 1, 0, 0

    def take_until(self, target: int) -> Iterator[tuple[int, int]]:
        while self.total < target:
            unit = self.next_unit
            yield self.copy, unit
            self.total += self.sizes[unit]
            self.next_unit += 1
            if self.next_unit == len(self.sizes):
                self.copy, self.next_unit = self.copy + 1, 0

    @property
    def copies(self) -> float:
        return self.copy - 1 + self.next_unit / len(self.sizes)


def jittered(vectors: list[list[float]], copy: int, unit: int) -> list[list[float]]:
    """The vectors of document ``unit`` for copy ``copy`` (copy 1: unchanged)."""
    if copy <= 1 or not vectors:
        return [list(map(float, v)) for v in vectors]
    arr = np.asarray(vectors, dtype=np.float64)
    rng = np.random.default_rng([copy, unit])
    arr = arr + rng.normal(0.0, JITTER, size=arr.shape)
    arr /= np.linalg.norm(arr, axis=1, keepdims=True)
    return arr.astype(np.float32).tolist()
