"""Word-level differences between a claim and its aligned source sentence."""

from __future__ import annotations

import pytest
from chorus.runtime.core.claims import read_claim
from chorus.runtime.core.contradiction import compare


def kinds(claim: str, source: str) -> list[str]:
    return [d.kind for d in compare(read_claim(claim), read_claim(source))]


def test_inserted_negation_contradicts():
    assert kinds(
        "Aurora cannot pause at zero capacity when idle.",
        "Aurora can pause at zero capacity when idle.",
    ) == ["negation"]


def test_removed_negation_contradicts():
    assert kinds(
        "The cache is shared between users.", "The cache is never shared between users."
    ) == ["negation"]


def test_antonym_from_wordnet_contradicts():
    difference = compare(
        read_claim("Keyword search is disabled by default."),
        read_claim("Keyword search is enabled by default."),
    )
    assert [(d.kind, d.claim, d.source) for d in difference] == [("antonym", "disabled", "enabled")]


def test_negation_and_antonym_cancel_out():
    assert (
        kinds("Keyword search is not disabled by default.", "Keyword search is enabled by default.")
        == []
    )


def test_different_number_contradicts_and_names_both_values():
    [difference] = compare(
        read_claim("The default chunk size is 2,000 characters."),
        read_claim("The default chunk size is 1,000 characters."),
    )
    assert (difference.kind, difference.claim, difference.source) == (
        "number",
        "2000 character",
        "1000 character",
    )


def test_spelled_out_number_is_the_same_number():
    assert kinds("Chunks hold a thousand characters.", "Chunks hold 1,000 characters.") == []


def test_same_number_in_another_unit_contradicts():
    assert kinds("The server starts in 5 minutes.", "The server starts in 5 seconds.") == ["number"]


def test_different_year_or_month_contradicts():
    assert kinds("Version 2 shipped in April 2024.", "Version 2 shipped in March 2024.") == ["date"]
    assert kinds("Version 2 shipped in 2023.", "Version 2 shipped in 2024.") == ["date"]


def test_swapped_name_contradicts():
    assert kinds(
        "Sydney is the capital of Australia.", "Canberra is the capital of Australia."
    ) == ["entity"]


def test_swapped_identifier_contradicts():
    assert kinds("Set chunk_overlap to change the size.", "Set chunk_size to change the size.") == [
        "entity"
    ]


def test_universal_where_the_source_says_sometimes_contradicts():
    assert kinds("The job always retries.", "The job sometimes retries.") == ["quantifier"]


def test_comparative_turned_around_contradicts():
    assert kinds(
        "Vector search is slower than keyword search.",
        "Vector search is faster than keyword search.",
    ) == ["comparative"]


def test_compared_things_swapped_contradicts():
    assert kinds(
        "Keyword search is faster than vector search.",
        "Vector search is faster than keyword search.",
    ) == ["comparative"]


@pytest.mark.parametrize(
    ("claim", "source"),
    [
        (
            "When idle, Aurora is able to pause at zero capacity.",
            "Aurora can pause at zero capacity when idle.",
        ),
        ("Amazon Aurora pauses when nobody uses it.", "Aurora pauses when it is not used."),
        (
            "Not only keyword search but also vectors are used.",
            "Keyword search and vectors are used.",
        ),
    ],
)
def test_paraphrase_has_no_difference(claim, source):
    assert kinds(claim, source) == []
