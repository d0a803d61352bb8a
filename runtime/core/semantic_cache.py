"""Semantic cache port: the same question, asked again in other words, costs nothing.

A cache entry belongs to one workspace and one *scope* (mode + models: a consensus answer is not
what a single-model request asked for). A lookup returns the nearest cached question's final
event when its cosine similarity reaches the threshold. Entries die with their workspace's
documents: any document change invalidates the whole workspace, because one new paragraph can
change any answer. An *epoch* per workspace closes the race where a chat that started before an
invalidation stores its (stale) answer after it: ``store`` refuses an epoch that has moved on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # numpy only where vectors are compared: settings read DEFAULT_THRESHOLD
    import numpy as np

DEFAULT_THRESHOLD = 0.93
"""Cosine (all-MiniLM-L6-v2) between two questions for a hit. Measured: rewordings of "What is
lava?" score 0.935–0.99 ("Can you tell me what lava is?" 0.935, "What's lava?" 0.988); other
questions on the same topic stay well below ("How hot is lava?" 0.75, "What is magma?" 0.69).
Lower thresholds serve answers to questions that were not asked."""


def cache_scope(mode: str, models: Sequence[str]) -> str:
    """The key part besides the question: answers of other modes or models never match."""
    return f"{mode}:{','.join(models)}"


@dataclass(frozen=True)
class CachedAnswer:
    """A hit: the stored final event, the question it answered and how close it was."""

    query: str
    final: Mapping[str, Any]
    similarity: float
    created_at: float = 0.0


@runtime_checkable
class SemanticCache(Protocol):
    """Per-workspace cache of final answers keyed by question embedding."""

    def epoch(self, workspace_id: str) -> int:
        """The workspace's invalidation counter; read it before answering, pass it to ``store``."""
        ...

    def lookup(
        self, workspace_id: str, scope: str, query_vec: np.ndarray, threshold: float
    ) -> CachedAnswer | None:
        """The nearest entry of the workspace and scope if its cosine is >= ``threshold``."""
        ...

    def store(
        self,
        workspace_id: str,
        scope: str,
        query: str,
        query_vec: np.ndarray,
        final: Mapping[str, Any],
        *,
        epoch: int,
    ) -> bool:
        """Keep an answer; False (nothing stored) when the workspace was invalidated since
        ``epoch`` was read."""
        ...

    def invalidate_workspace(self, workspace_id: str) -> int:
        """Drop every entry of the workspace and move its epoch on; return how many went."""
        ...


@dataclass
class _Entry:
    scope: str
    query: str
    vector: np.ndarray
    final: Mapping[str, Any]
    created_at: float


@dataclass
class InMemorySemanticCache:
    """A process-local cache (tests, one-process servers). Bounded per workspace, oldest out."""

    max_entries_per_workspace: int = 1000
    _entries: dict[str, list[_Entry]] = field(default_factory=dict)
    _epochs: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def epoch(self, workspace_id: str) -> int:
        with self._lock:
            return self._epochs.get(workspace_id, 0)

    def lookup(
        self, workspace_id: str, scope: str, query_vec: np.ndarray, threshold: float
    ) -> CachedAnswer | None:
        with self._lock:
            entries = [e for e in self._entries.get(workspace_id, []) if e.scope == scope]
        if not entries:
            return None
        import numpy as np

        query = np.asarray(query_vec, dtype=np.float32)
        scores = np.stack([e.vector for e in entries]) @ query
        best = int(np.argmax(scores))
        if float(scores[best]) < threshold:
            return None
        entry = entries[best]
        return CachedAnswer(entry.query, entry.final, float(scores[best]), entry.created_at)

    def store(
        self,
        workspace_id: str,
        scope: str,
        query: str,
        query_vec: np.ndarray,
        final: Mapping[str, Any],
        *,
        epoch: int,
    ) -> bool:
        import numpy as np

        with self._lock:
            if self._epochs.get(workspace_id, 0) != epoch:
                return False
            entries = self._entries.setdefault(workspace_id, [])
            entries.append(
                _Entry(scope, query, np.asarray(query_vec, np.float32), dict(final), time.time())
            )
            del entries[: max(0, len(entries) - self.max_entries_per_workspace)]
            return True

    def invalidate_workspace(self, workspace_id: str) -> int:
        with self._lock:
            self._epochs[workspace_id] = self._epochs.get(workspace_id, 0) + 1
            return len(self._entries.pop(workspace_id, []))
