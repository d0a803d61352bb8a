"""Ingest a file or a folder tree from disk, reporting progress and skipped files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from ..core.ingestion import DocumentInput, Ingestor, IngestResult, IngestSummary
from ..core.models import Workspace

_IGNORED_DIRS = {".git", "node_modules", "__pycache__", ".venv", ".chorus"}


def iter_files(root: Path) -> Iterator[Path]:
    """Files under ``root`` in a stable order, hidden files and tool folders left out."""
    if root.is_file():
        yield root
        return
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).parts
        if any(part in _IGNORED_DIRS or part.startswith(".") for part in relative):
            continue
        if path.is_file():
            yield path


def document_name(root: Path, path: Path) -> str:
    """The name a file gets in its workspace: its path relative to the ingested folder."""
    if root.is_file():
        return path.name
    return path.relative_to(root).as_posix()


def ingest_path(
    ingestor: Ingestor,
    workspace: Workspace,
    root: Path,
    *,
    on_result: Callable[[IngestResult], None] | None = None,
) -> IngestSummary:
    """Ingest every file under ``root``; one bad file never stops the others."""
    unreadable: list[IngestResult] = []

    def documents() -> Iterator[DocumentInput]:
        for path in iter_files(root):
            name = document_name(root, path)
            try:
                data = path.read_bytes()
            except OSError as exc:
                result = IngestResult(name, "skipped", reason=f"cannot read the file: {exc}")
                unreadable.append(result)
                if on_result:
                    on_result(result)
                continue
            yield DocumentInput(name, data, metadata={"source": str(path)})

    summary = ingestor.ingest_many(workspace, documents(), on_result=on_result)
    for result in unreadable:
        summary.add(result)
    return summary
