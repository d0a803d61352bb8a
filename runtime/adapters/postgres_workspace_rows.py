"""What the PostgreSQL stores of a workspace's rows share (eval cases, web sources, API keys):
the database, the table's creation, and reading one row or all of them.

Their tables reference ``chorus_workspaces`` with ``ON DELETE CASCADE``, so deleting a workspace
deletes its rows; the metadata store must have created that table first. A store that brings
its own table creates it when built, under a transaction-scoped advisory lock named after the
table, so processes starting together do not race on ``CREATE TABLE IF NOT EXISTS``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from .postgres import PostgresDatabase


class PostgresWorkspaceRows:
    """Base of a store whose rows belong to a workspace.

    Parameters
    ----------
    db:
        The PostgreSQL database (its metadata schema created).
    """

    table: ClassVar[str]
    """The store's table (it names the advisory lock too)."""
    schema: ClassVar[str] = ""
    """The DDL the store runs when built; empty when the metadata schema creates the table."""

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db
        if self.schema:
            with db.transaction() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.table,))
                cur.execute(self.schema)

    def _one(self, sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
        """The first row ``sql`` returns, or None, in a transaction of its own."""
        with self.db.transaction() as cur:
            cur.execute(sql, params)
            row: tuple[Any, ...] | None = cur.fetchone()
            return row

    def _all(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Every row ``sql`` returns, in a transaction of its own."""
        with self.db.transaction() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall())
