"""The laptop's metrics sink: the same figures the cloud emits, counted in this process.

``chorus stats`` and the local server's ``/api/stats`` read ``snapshot()``: count, sum, mean,
p50/p95 (over the most recent values) and max per metric and dimension, so a user sees latency
per model and cost per turn without AWS.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.metrics import Unit

RECENT_VALUES = 1000
"""Values kept per series for the percentiles (older ones only count in sum/mean/max)."""


@dataclass
class _Series:
    unit: str
    count: int = 0
    total: float = 0.0
    maximum: float = -math.inf
    recent: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT_VALUES))

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.maximum = max(self.maximum, value)
        self.recent.append(value)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


class InProcessMetrics:
    """A thread-safe ``MetricsSink`` that keeps per-series aggregates in memory."""

    def __init__(self) -> None:
        self._series: dict[tuple[str, tuple[tuple[str, str], ...]], _Series] = {}
        self._lock = threading.Lock()

    def record(
        self,
        name: str,
        value: float,
        unit: Unit,
        dimensions: Mapping[str, str] | None = None,
        *,
        rollup: bool = False,
    ) -> None:
        keys = [tuple(sorted((dimensions or {}).items()))]
        if rollup and dimensions:
            keys.append(())
        with self._lock:
            for dims in keys:
                series = self._series.setdefault((str(name), dims), _Series(str(unit)))
                series.add(float(value))

    def snapshot(self) -> list[dict[str, Any]]:
        """Every series, sorted by metric name then dimensions."""
        with self._lock:
            items = sorted(self._series.items())
            return [
                {
                    "metric": name,
                    "dimensions": dict(dims),
                    "unit": s.unit,
                    "count": s.count,
                    "sum": round(s.total, 6),
                    "mean": round(s.total / s.count, 6),
                    "p50": round(percentile(list(s.recent), 50), 6),
                    "p95": round(percentile(list(s.recent), 95), 6),
                    "max": round(s.maximum, 6),
                }
                for (name, dims), s in items
            ]

    def series(self, name: str, **dimensions: str) -> dict[str, Any] | None:
        """One series of the snapshot (None when nothing was recorded)."""
        for row in self.snapshot():
            if row["metric"] == name and row["dimensions"] == dimensions:
                return row
        return None

    def reset(self) -> None:
        with self._lock:
            self._series.clear()

    def flush(self) -> None:
        """Nothing to send: the figures stay here until ``reset``."""
        return None
