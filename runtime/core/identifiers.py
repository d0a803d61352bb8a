"""Ids and printable text at the edge of every transport, on the standard library alone.

Part of the chat protocol (``protocol.py`` re-exports every name), kept apart from its pydantic
models: the REST API checks every path id before its first request reaches a store, and should
not load pydantic (~140 modules) to do it.
"""

from __future__ import annotations

import re

from .errors import NotFound

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"
"""Ids of workspaces, documents, sessions and messages: ASCII, at most 128 characters (far
under DynamoDB's 2,048-byte key limit), so an id can always be stored, logged and echoed."""
_ID = re.compile(ID_PATTERN.removesuffix("$"))
_SURROGATE = re.compile("[\ud800-\udfff]")


def is_valid_id(value: object) -> bool:
    """Whether ``value`` is an id chorus could have issued (``ID_PATTERN``, whole string)."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def valid_id(value: str, what: str) -> str:
    """``value`` when it is a well-formed id; ``NotFound`` otherwise (no such thing can exist).

    Path ids are checked at the edge, before any store sees them: a 3,000-byte id would be a
    500 from DynamoDB, an id with a lone surrogate an encoding error in the reply.
    """
    if not is_valid_id(value):
        shown = printable(value[:40]) if isinstance(value, str) else ""
        raise NotFound(f"no {what} with id {shown!r}; ids are letters, digits and _.:- (≤ 128)")
    return value


def printable(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD: safe to encode as UTF-8."""
    return _SURROGATE.sub("\ufffd", text)
