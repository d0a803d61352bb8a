"""A deterministic scheduler for concurrency tests: threads stop at named gates (barriers),
the test opens them in the order it wants, and every interleaving can be enumerated."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

WAIT_S = 60  # only a hung thread ever waits this long; the schedule never depends on it


class Gates:
    """Named stopping points of the event threads; the scheduler opens them one by one."""

    def __init__(self) -> None:
        self.arrived: dict[tuple[str, str], threading.Event] = defaultdict(threading.Event)
        self.go: dict[tuple[str, str], threading.Event] = defaultdict(threading.Event)
        self._lock = threading.Lock()

    def point(self, name: str) -> None:
        thread = threading.current_thread().name
        if not thread.startswith("event-"):
            return  # retries and redeliveries run straight through
        with self._lock:
            arrived, go = self.arrived[(thread, name)], self.go[(thread, name)]
        arrived.set()
        assert go.wait(WAIT_S), f"{thread} was never let past {name}"

    def reached(self, thread: threading.Thread, name: str) -> None:
        """Wait until ``thread`` stops at ``name`` or ends (superseded before it)."""
        with self._lock:
            arrived = self.arrived[(thread.name, name)]
        while not arrived.wait(0.01):
            if not thread.is_alive():
                return

    def release(self, thread: threading.Thread, name: str) -> None:
        with self._lock:
            self.go[(thread.name, name)].set()


class GatedEmbedder:
    """The real embedder; each event thread stops before embedding its chunks."""

    def __init__(self, embedder: Any, gates: Gates) -> None:
        self._embedder = embedder
        self._gates = gates
        self.model_id = embedder.model_id
        self.dimension = embedder.dimension

    def embed(self, texts: Any, *, kind: str = "passage") -> Any:
        if kind == "passage":
            self._gates.point("embed")
        return self._embedder.embed(texts, kind=kind)


class GatedStore:
    """The real pgvector store; each event thread stops inside its chunk replacement."""

    def __init__(self, store: Any, gates: Gates) -> None:
        self._store = store
        self._gates = gates

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def replace_document_chunks(self, workspace_id: str, document_id: str, chunks: Any) -> None:
        self._gates.point("replace")
        self._store.replace_document_chunks(workspace_id, document_id, chunks)


def interleavings(versions: int, steps: tuple[str, ...]) -> Iterator[list[tuple[str, int]]]:
    """Every order of each version's ``steps`` (in order) with uploads in version order."""

    def extend(done: tuple[int, ...], path: list[tuple[str, int]]):
        if all(d == len(steps) for d in done):
            yield list(path)
            return
        for i, d in enumerate(done):
            if d == len(steps):
                continue
            if steps[d] == "upload" and i > 0 and done[i - 1] == 0:
                continue  # S3 receives the uploads in version order
            yield from extend((*done[:i], d + 1, *done[i + 1 :]), [*path, (steps[d], i)])

    yield from extend((0,) * versions, [])
