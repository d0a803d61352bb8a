"""Regenerates ``runtime/core/data/synonyms.tsv`` from WordNet 3.0 (the word pairs grounding
counts as shared when it measures how many of a claim's words a source sentence has).

A paraphrase says the same thing in other words ("needs" for "requires", "quick" for "fast"),
and the share of a claim's content words a source sentence has is one of the judge's support
signals (``claims.lexical_overlap``): without synonyms a reworded paraphrase loses it. Like the
antonyms, the pairs ship as a small file, so ``pip install`` alone gives them:

    apt-get install -y wordnet-base      # Princeton WordNet 3.0 dict files (/usr/share/wordnet)
    pip install nltk
    python bench/wordnet_synonyms.py      # prints the pair count, rewrites the file

Precision over recall: two single words are synonyms only when the synset that joins them is
the *most frequent* sense of each (WordNet's tagged sense counts), so "run" and "operate" pair
but "run" and "bunk" (a rare sense of one of them) do not.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import warnings
from pathlib import Path

from wordnet_antonyms import HEADER, LEXNAMES, POS_NUMBER

OUT = Path(__file__).resolve().parents[1] / "runtime" / "core" / "data" / "synonyms.tsv"


def synonym_pairs(dict_dir: Path) -> list[tuple[str, str]]:
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    class _Reader(WordNetCorpusReader):
        def map_wn(self, version: str = "wordnet") -> None:  # type: ignore[override]
            return None

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "corpora" / "wordnet"
        shutil.copytree(dict_dir, root)
        lines = [f"{i:02d}\t{n}\t{POS_NUMBER[n.split('.')[0]]}\n" for i, n in enumerate(LEXNAMES)]
        (root / "lexnames").write_text("".join(lines))
        nltk.data.path.append(tmp)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wordnet = _Reader(str(root), None)

        def first_sense(word: str, pos: str):
            senses = [s for s in wordnet.synsets(word) if s.pos() in pos]
            return senses[0] if senses else None

        pairs: set[tuple[str, str]] = set()
        for pos in ("n", "v", "as", "r"):
            for synset in wordnet.all_synsets(pos[0]):
                words = [
                    lemma.name().lower()
                    for lemma in synset.lemmas()
                    if lemma.name().isalpha() and lemma.count() > 0
                ]
                words = [w for w in set(words) if first_sense(w, pos) == synset]
                for i, first in enumerate(sorted(words)):
                    for second in sorted(words)[i + 1 :]:
                        pairs.add((first, second))
            if pos == "as":
                continue
    return sorted(pairs)


def main() -> None:
    dict_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/wordnet")
    pairs = synonym_pairs(dict_dir)
    header = HEADER.replace("Antonym pairs", "Synonym pairs").replace(
        "wordnet_antonyms.py", "wordnet_synonyms.py"
    )
    OUT.write_text(header + "".join(f"{a}\t{b}\n" for a, b in pairs))
    print(f"{len(pairs)} synonym pairs -> {OUT}")


if __name__ == "__main__":
    main()
