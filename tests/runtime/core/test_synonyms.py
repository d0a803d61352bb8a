"""Synonyms count as shared words when grounding measures a claim's lexical overlap."""

from __future__ import annotations

from chorus.runtime.core.claims import lexical_overlap, read_claim
from chorus.runtime.core.synonyms import synonyms_of


def test_wordnet_pairs_words_whose_most_frequent_sense_is_shared():
    assert "need" in synonyms_of("require")


def test_word_without_a_frequent_shared_sense_has_no_synonym_listed():
    assert "bunk" not in synonyms_of("run")


def test_reworded_claim_shares_its_synonyms_with_the_source():
    claim = read_claim("The installer begins the download.")
    source = read_claim("The installer starts the download.")
    assert lexical_overlap(claim, source) == 1.0


def test_word_that_is_no_synonym_is_not_shared():
    claim = read_claim("The installer cancels the download.")
    source = read_claim("The installer starts the download.")
    assert lexical_overlap(claim, source) == 2 / 3
