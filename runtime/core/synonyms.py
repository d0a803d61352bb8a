"""Synonym pairs: "requires"/"needs", "fast"/"quick" say the same thing in other words.

Grounding counts the share of a claim's content words a source sentence has
(``claims.lexical_overlap``); a paraphrase that rewords the source loses that share unless a
synonym counts as the word. The pairs are WordNet 3.0's, restricted to words whose *most
frequent* sense the synset is (``bench/wordnet_synonyms.py`` generates
``data/synonyms.tsv``), shipped like the antonyms so ``pip install`` is enough.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def synonym_table() -> dict[str, frozenset[str]]:
    """Each word's synonyms, read once from the shipped WordNet pairs."""
    table: dict[str, set[str]] = {}
    text = resources.files(__package__).joinpath("data/synonyms.tsv").read_text("utf-8")
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
