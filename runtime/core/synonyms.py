"""Synonym pairs: "requires"/"needs", "fast"/"quick" say the same thing in other words.

Grounding counts the share of a claim's content words a source sentence has
(``claims.lexical_overlap``); a paraphrase that rewords the source loses that share unless a
synonym counts as the word. The pairs are WordNet 3.0's, restricted to words whose *most
frequent* sense the synset is (``bench/wordnet_synonyms.py`` generates
``data/synonyms.tsv``), shipped like the antonyms so ``pip install`` is enough. Derivationally
related forms ("cover"/"coverage", ``data/derivations.tsv``) are kept apart: they count for
lexical coverage (``claims.coverage``), not for alignment.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def synonym_table() -> dict[str, frozenset[str]]:
    """Each word's synonyms, read once from the shipped WordNet pairs."""
    return _pair_table("data/synonyms.tsv")


@lru_cache(maxsize=1)
def derivation_table() -> dict[str, frozenset[str]]:
    """Each word's derivationally related forms on its own stem ("cover"/"coverage"), read
    once from the shipped WordNet pairs (``bench/wordnet_derivations.py``)."""
    return _pair_table("data/derivations.tsv")


def _pair_table(resource: str) -> dict[str, frozenset[str]]:
    """A symmetric word relation from a shipped file of tab-separated pairs."""
    table: dict[str, set[str]] = {}
    text = resources.files(__package__).joinpath(resource).read_text("utf-8")
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        first, second = line.split("\t")
        table.setdefault(first, set()).add(second)
        table.setdefault(second, set()).add(first)
    return {word: frozenset(words) for word, words in table.items()}


def synonyms_of(lemma: str) -> frozenset[str]:
    """The lemma's synonyms (empty for a word WordNet does not pair)."""
    return synonym_table().get(lemma, frozenset())


def derivations_of(lemma: str) -> frozenset[str]:
    """Words built on the lemma's stem ("coverage" for "cover"; empty when WordNet has none):
    a paraphrase says with a verb what its source says with a noun."""
    return derivation_table().get(lemma, frozenset())
