"""statelint, minus the one gap it has for the bulk ingestion workflow.

statelint 3.1.0 (the newest on PyPI) knows only ``MaxItems`` in an ``ItemReader``'s
``ReaderConfig``; the fields AWS documents there for reading a file — ``InputType`` (``CSV``,
``JSON``, ``JSONL``, ``PARQUET``, ``MANIFEST``), ``CSVHeaderLocation``, ``CSVHeaders``,
``CSVDelimiter``, ``ManifestType`` — it reports as "not allowed". ``lint`` drops exactly those
reports and keeps every other problem; the tests assert the reader configurations themselves.
"""

from __future__ import annotations

import re
from typing import Any

from statelint.linter import Linter

READER_CONFIG_FIELDS = (
    "InputType",
    "CSVHeaderLocation",
    "CSVHeaders",
    "CSVDelimiter",
    "ManifestType",
)
_GAP = re.compile(
    r'^Field "('
    + "|".join(READER_CONFIG_FIELDS)
    + r')" not allowed in .*\.ItemReader\.ReaderConfig$'
)


def lint(definition: dict[str, Any]) -> list[str]:
    """statelint's problems with ``definition``, but for its unknown ``ReaderConfig`` fields."""
    return [p for p in Linter.validate(definition) if not _GAP.match(p)]
