"""A simulated clock for deadline tests: time moves only when every running call is stuck.

``SimulatedClock`` implements ``chorus.runtime.core.clock.Clock``. A scripted provider that
"hangs" calls ``park(release)``; when every call the orchestrator still waits for is parked, the
clock jumps to the wait's deadline and the wait times out. Calls that do finish are waited for in
real time, however slow the machine is, so no assertion ever depends on wall time.
"""

from __future__ import annotations

import queue
import threading
from typing import TypeVar

T = TypeVar("T")


class SimulatedClock:
    def __init__(self, start: float = 1_000.0) -> None:
        self._now = start
        self._parked = 0
        self._changed = threading.Condition()
        self.timeouts = 0

    def now(self) -> float:
        with self._changed:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._changed:
            self._now += seconds

    def park(self, release: threading.Event, timeout: float | None = None) -> bool:
        """Block the calling (model) thread until ``release``; to the clock, it is stuck.

        ``timeout`` (real seconds) bounds the wait, so code that ignores the clock makes a test
        fail by a wrong outcome instead of hanging it; returns whether ``release`` was set.
        """
        with self._changed:
            self._parked += 1
            self._changed.notify_all()
        return release.wait(timeout)

    def next_finished(self, finished: queue.Queue[T], timeout: float, running: int) -> T:
        while True:
            try:
                return finished.get_nowait()
            except queue.Empty:
                pass
            with self._changed:
                if timeout <= 0:
                    raise queue.Empty
                if self._parked >= running:  # nobody left who could report: time passes
                    self._parked -= running
                    self._now += timeout
                    self.timeouts += 1
                    raise queue.Empty
                self._changed.wait(0.005)
