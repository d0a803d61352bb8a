"""PostgreSQL connection strings of the Aurora database (the pgvector store, the semantic cache
and the deploy-time schema setup share them)."""

from __future__ import annotations

import re

from .settings import ConfigurationError

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def with_search_path(dsn: str, schema: str) -> str:
    """``dsn`` whose connections put ``schema`` first on their ``search_path`` (then ``public``,
    where the ``vector`` extension lives); a DSN that sets ``options`` itself is kept as it is.
    """
    import psycopg2.extensions

    if not _SCHEMA_NAME.match(schema):
        raise ConfigurationError(
            f"vectorStore.schema {schema!r} is not a plain lower-case PostgreSQL identifier"
        )
    if "options" in psycopg2.extensions.parse_dsn(dsn):
        return dsn
    return psycopg2.extensions.make_dsn(dsn, options=f"-c search_path={schema},public")
