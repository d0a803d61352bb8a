"""The time a chat turn's deadlines are measured on.

A turn waits for model calls running on threads, each under a deadline, and the whole turn under
one budget. Waiting is the only place time matters, so the clock owns both reading the time and
waiting for the next finished call: the system clock waits in real time; a simulated clock
(tests) advances only when every running call is stuck, so a deadline is tested by what happens,
never by how long it took.
"""

from __future__ import annotations

import queue
import time
from typing import Protocol, TypeVar, runtime_checkable

T = TypeVar("T")

__all__ = ["Clock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Reads the time and waits for the next of ``running`` calls to report on ``finished``."""

    def now(self) -> float:
        """Seconds on a monotonic scale (only differences mean anything)."""
        ...

    def next_finished(self, finished: queue.Queue[T], timeout: float, running: int) -> T:
        """The next item put on ``finished``; raise ``queue.Empty`` once ``timeout`` seconds
        pass first. ``running`` says how many calls may still report."""
        ...


class SystemClock:
    """Real monotonic time; waits block the calling thread."""

    def now(self) -> float:
        return time.monotonic()

    def next_finished(self, finished: queue.Queue[T], timeout: float, running: int) -> T:
        return finished.get(timeout=max(0.0, timeout))
