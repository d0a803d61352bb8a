"""Hypothesis strategies for hostile input: what an attacker or a broken client sends.

Shared by the property-based suites of every entry point (local and cloud REST, both WebSockets,
the authorizer, the ingest worker's SQS records). Every strategy mixes well-formed messages with
the shapes that broke chorus before: deep nesting, lone surrogates, oversize ids, invalid UTF-8,
numbers that are not finite.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import strategies as st

_CODE = re.compile(r"[a-z][a-z_]{2,40}")


def is_stable_code(code: object) -> bool:
    """A ``ChorusError`` code (lower_snake_case), and not the one for failures nobody foresaw."""
    return isinstance(code, str) and _CODE.fullmatch(code) is not None and code != "internal_error"


HOSTILE_STRINGS = [
    "",
    " ",
    "\x00",
    "\ud800",
    "a\udfffb",
    "[" * 5_000,
    '{"a":' * 5_000,
    "x" * 3_000,
    "../../etc/passwd",
    "%2e%2e%2f",
    "'; DROP TABLE chorus_documents; --",
    "<script>alert(1)</script>",
    "NaN",
    "1e400",
    "\u202e\u0000\ufeff",
    "ops",
    "s-1",
]

texts = st.one_of(
    st.sampled_from(HOSTILE_STRINGS),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
)
ids = st.one_of(
    st.sampled_from(["ops", "s-1", "doc1", "w" * 129, "a b", "\ud800", "", "../x", "ä"]),
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,20}", fullmatch=True),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    texts,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)),
    max_leaves=12,
)


def dumps(value: Any) -> str:
    """JSON text of ``value`` as a client would send it (non-finite numbers included)."""
    return json.dumps(value, ensure_ascii=False)


def _chat_frame(data: dict[str, Any], action: str) -> str:
    return dumps({"action": action, "data": data})


send_message_data = st.fixed_dictionaries(
    {},
    optional={
        "sessionId": st.one_of(ids, json_values),
        "workspaceId": st.one_of(ids, json_values),
        "text": st.one_of(texts, json_values),
        "mode": st.one_of(st.sampled_from(["single", "cascade", "consensus", "x"]), json_values),
        "models": st.one_of(st.lists(texts, max_size=10), json_values),
        "modelKwargs": st.one_of(
            st.fixed_dictionaries(
                {},
                optional={"temperature": scalars, "maxTokens": scalars, "x": scalars},
            ),
            json_values,
        ),
        "extra": json_values,
    },
)

client_frames = st.one_of(
    st.sampled_from(HOSTILE_STRINGS),
    json_values.map(dumps),
    st.builds(_chat_frame, send_message_data, st.sampled_from(["sendMessage", "heartbeat", "x"])),
    st.just('{"action": "heartbeat"}'),
)
"""A WebSocket frame from a client: garbage, any JSON, or a sendMessage with fuzzed fields."""

request_bodies = st.one_of(
    st.none(),
    st.sampled_from(HOSTILE_STRINGS),
    json_values.map(dumps),
    st.fixed_dictionaries(
        {},
        optional={
            "name": texts,
            "chunkSize": scalars,
            "chunkOverlap": scalars,
            "groups": st.one_of(st.lists(texts, max_size=3), json_values),
            "fileName": texts,
            "contentType": texts,
            "sizeBytes": scalars,
            "rating": st.one_of(st.sampled_from(["up", "down"]), texts),
            "messageId": ids,
            "comment": texts,
        },
    ).map(dumps),
)
"""A REST request body: none, garbage, any JSON, or a request model with fuzzed fields."""


def s3_record(name: str, key: str, size: Any, sequencer: Any, etag: Any) -> dict[str, Any]:
    return {
        "eventName": name,
        "s3": {
            "bucket": {"name": "chorus-docs"},
            "object": {"key": key, "size": size, "sequencer": sequencer, "eTag": etag},
        },
    }


s3_notifications = st.builds(
    lambda records: dumps({"Records": records}),
    st.lists(
        st.builds(
            s3_record,
            st.sampled_from(["ObjectCreated:Put", "ObjectRemoved:Delete", "x"]),
            st.one_of(st.builds(lambda w, d, n: f"workspaces/{w}/{d}/{n}", ids, ids, texts), texts),
            scalars,
            st.one_of(st.from_regex(r"[0-9A-F]{1,20}", fullmatch=True), scalars),
            scalars,
        ),
        max_size=3,
    ),
)
sqs_bodies = st.one_of(
    st.sampled_from(HOSTILE_STRINGS),
    json_values.map(dumps),
    s3_notifications,
    st.builds(
        lambda c: dumps({"chorusContinuation": c}),
        st.one_of(json_values, st.dictionaries(texts, scalars, max_size=6)),
    ),
)
"""An ingest-queue message body: garbage, any JSON, S3 notifications or continuations."""
