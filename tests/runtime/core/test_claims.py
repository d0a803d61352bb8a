"""Lexical coverage: how many of a claim's words a source sentence (and the neighbour a
pronoun links to it) has, and which of its negations and quantifiers it lacks."""

from __future__ import annotations

from chorus.runtime.core.claims import (
    continues,
    coverage,
    coverage_words,
    read_claim,
    unstated_qualifiers,
)


def words_of(*sentences: str) -> frozenset[str]:
    return coverage_words([read_claim(s) for s in sentences])


def test_a_word_counts_as_covered_by_its_synonym():
    claim = read_claim("The tool needs Python.")

    assert coverage(claim, words_of("The tool requires Python.")) == 1.0


def test_a_hyphenated_word_covers_a_claim_word_by_its_part():
    claim = read_claim("Background tasks run in the same process.")

    assert coverage(claim, words_of("It offers in-process background tasks.")) == 0.75


def test_a_hyphenated_claim_word_needs_every_part_covered():
    claim = read_claim("It offers a callback-based API.")

    assert coverage(claim, words_of("It offers a coroutine-based API.")) == 2 / 3
    assert coverage(claim, words_of("It offers an API based on a callback.")) == 1.0


def test_numbers_and_dates_count_by_value():
    claim = read_claim("The upload is dated 31 October 2024.")

    assert coverage(claim, words_of("It was uploaded on Thursday, 31 October 2024.")) == 0.8
    assert coverage(claim, words_of("It was uploaded on Thursday, 30 October 2024.")) == 0.6


def test_a_claim_without_content_words_has_no_coverage():
    assert coverage(read_claim("It is not."), words_of("It is.")) == 0.0


def test_negations_and_quantifiers_the_source_lacks_are_named():
    claim = read_claim("The parser never handles only some versions.")

    assert unstated_qualifiers(claim, words_of("The parser handles versions 1 and 2.")) == [
        "never",
        "only",
        "some",
    ]
    assert unstated_qualifiers(claim, words_of("It never handles only some versions.")) == []


def test_a_sentence_opening_with_a_pronoun_continues_the_one_before():
    assert continues(read_claim("It was uploaded on Thursday."))
    assert continues(read_claim("They run in the same process."))
    assert not continues(read_claim("Gunicorn is a WSGI server."))
