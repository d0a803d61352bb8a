"""JSON from outside is parsed with a bound on its depth, and every failure is a BadRequest."""

from __future__ import annotations

import pytest
from chorus.runtime.core.bounded_json import MAX_JSON_DEPTH, json_depth, parse_json
from chorus.runtime.core.errors import BadRequest


def test_json_within_the_bound_parses_as_usual():
    assert parse_json('{"a": [1, {"b": "c"}]}') == {"a": [1, {"b": "c"}]}
    nested = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert json_depth(nested) == MAX_JSON_DEPTH and parse_json(nested)


@pytest.mark.parametrize("text", ["[" * 10_000, '{"a":' * 5_000, "[" * 65 + "]" * 65])
def test_json_deeper_than_the_bound_is_a_bad_request_before_parsing(text):
    with pytest.raises(BadRequest, match="nests deeper than 64 levels"):
        parse_json(text, what="message")


def test_brackets_inside_strings_do_not_count():
    text = '["' + "[" * 1000 + '\\"' + "{" * 1000 + '"]'
    assert json_depth(text) == 1
    assert parse_json(text)[0].startswith("[[[")


def test_bytes_that_are_not_utf8_are_a_bad_request():
    with pytest.raises(BadRequest, match="not UTF-8"):
        parse_json(b'{"a": "\xff"}', what="request body")


@pytest.mark.parametrize("text", ['"\\ud800"', '{"id": "a\\udfff"}', '"\ud800"'])
def test_a_lone_surrogate_is_a_bad_request(text):
    with pytest.raises(BadRequest, match="surrogate"):
        parse_json(text)


def test_a_surrogate_pair_is_just_a_character():
    assert parse_json('"\\ud83d\\ude00"') == "\U0001f600"


@pytest.mark.parametrize("text", ["", "{nope", "[1,]", "NaN-ish"])
def test_text_that_is_not_json_is_a_bad_request(text):
    with pytest.raises(BadRequest, match="not valid JSON"):
        parse_json(text)
