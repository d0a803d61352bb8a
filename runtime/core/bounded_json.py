"""JSON from outside, parsed with a bound on its nesting depth.

Python's ``json`` has no depth limit: ~5,000 levels of ``[`` or ``{"a":`` make it (and whatever
walks the result afterwards) raise ``RecursionError``, which used to drop a WebSocket, fail a
Lambda or turn into a 500. Every place where JSON enters chorus from a client, a queue or an
uploaded document parses it here: the depth is checked before parsing (a linear scan that skips
strings), and every failure is a ``BadRequest`` that says what is wrong.

Example
-------
>>> parse_json('{"a": [1, 2]}')
{'a': [1, 2]}
>>> parse_json("[" * 100 + "]" * 100, what="request body")
Traceback (most recent call last):
...
chorus.runtime.core.errors.BadRequest: request body nests deeper than 64 levels; flatten it
"""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import BadRequest

MAX_JSON_DEPTH = 64
"""Deeper than any message, request or record chorus reads; documents get their own bound."""

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in ``text`` (brackets inside strings ignored).

    Malformed text gets a number too (the parser rejects it afterwards).
    """
    if text.count("[") + text.count("{") == 0:
        return 0
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(0, depth - 1)
    return deepest


def check_depth(text: str, max_depth: int = MAX_JSON_DEPTH, *, what: str = "message") -> None:
    """Raise ``BadRequest`` when ``text`` nests arrays and objects deeper than ``max_depth``."""
    if text.count("[") + text.count("{") > max_depth and json_depth(text) > max_depth:
        raise BadRequest(f"{what} nests deeper than {max_depth} levels; flatten it")


def parse_json(raw: str | bytes, *, what: str = "message", max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse ``raw`` (UTF-8 when bytes) refusing more than ``max_depth`` levels of nesting.

    Raises ``BadRequest`` when ``raw`` is not UTF-8, nests too deep, is not JSON, or holds a
    string no UTF-8 reply could carry (a lone surrogate such as ``"\\ud800"``).
    """
    if isinstance(raw, bytes | bytearray):
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest(f"{what} is not UTF-8 text; send JSON encoded as UTF-8") from None
    else:
        text = raw
    check_depth(text, max_depth, what=what)
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise BadRequest(f"{what} is not valid JSON: {exc}") from None
    if "\\u" in text or _has_surrogate(text):
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise BadRequest(
                f"{what} holds a lone UTF-16 surrogate (e.g. \\ud800); send valid Unicode"
            ) from None
    return value


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
