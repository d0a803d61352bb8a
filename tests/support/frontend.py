"""The frontend folder shared by the tests that run npm in it."""

from __future__ import annotations

import fcntl
import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"


@contextmanager
def npm_lock(folder: Path = FRONTEND) -> Iterator[None]:
    """Hold while running npm in ``folder``: the suite runs test files in parallel processes,
    and ``npm ci`` deletes ``node_modules`` that another process may be building or testing
    from (on a fresh clone both e2e files would install at once)."""
    digest = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
    with open(Path(tempfile.gettempdir()) / f"chorus-npm-{digest}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
