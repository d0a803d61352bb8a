"""``chorus ingest FOLDER``: the folder listed like an S3 prefix and ingested in batches by the
same code as the cloud's Distributed Map children (``core.bulk_ingestion.ingest_batch``).

Each file is a ``BulkObject`` (key: its path below the folder; version: its modification time
and size), so a second run skips unchanged files without reading them, as the cloud skips
unchanged objects. One process embeds: the embedder already spreads a batch over every core
(PyTorch's intra-op threads), so more processes would each load the model and compete for the
same cores (docs/ingestion.md, "Bulk ingestion").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from ..core.bulk_ingestion import BatchReport, BulkObject, ingest_batch
from ..core.ingestion import Ingestor
from ..core.models import Workspace
from .folder import iter_files

DEFAULT_BATCH_OBJECTS = 64
"""Files per batch: enough chunks for full embedding batches, small enough to report often."""


def folder_objects(root: Path) -> Iterator[BulkObject]:
    """The files under ``root`` as listed objects (a single file lists itself)."""
    base = root.parent if root.is_file() else root
    for path in iter_files(root):
        try:
            stat = path.stat()
        except OSError:
            continue  # vanished between listing and stat: not part of this run
        yield BulkObject(
            key=path.relative_to(base).as_posix(),
            etag=f"{stat.st_size:x}-{stat.st_mtime_ns:x}",
            size=stat.st_size,
            last_modified=stat.st_mtime,
        )


def ingest_folder(
    ingestor: Ingestor,
    workspace: Workspace,
    root: Path,
    *,
    batch_objects: int = DEFAULT_BATCH_OBJECTS,
    on_report: Callable[[BatchReport], None] | None = None,
) -> BatchReport:
    """Ingest every file under ``root`` in batches; returns the whole run's counts and results.

    One unreadable or unsupported file is counted (``failed``/``skipped``), never fatal.
    """
    base = root.parent if root.is_file() else root

    def read(obj: BulkObject) -> bytes:
        return (base / obj.key).read_bytes()

    total = BatchReport("folder")
    pending: list[BulkObject] = []

    def flush() -> None:
        report = ingest_batch(ingestor, workspace, pending, read, source=str(base))
        for result in report.results:
            total.add(result)
        if on_report is not None:
            on_report(report)
        pending.clear()

    for obj in folder_objects(root):
        pending.append(obj)
        if len(pending) >= batch_objects:
            flush()
    if pending:
        flush()
    return total
