"""Regenerates ``runtime/core/data/derivations.tsv`` from WordNet 3.0: pairs of words built on
one stem ("cover"/"coverage", "depend"/"dependency", "annotate"/"annotation").

A paraphrase often says with a verb what its source says with a noun ("every line is covered
by tests" for "100% test coverage"). Grounding's lexical coverage signal
(``claims.coverage``) counts such a word as present. WordNet's derivational links also join
words on different stems ("annotate"/"note", "kill"/"death"); only pairs that share their
first four letters (three when the shorter word has at most five) are kept, so the file holds
morphology, not association. Like the antonyms, the pairs ship as a small file:

    apt-get install -y wordnet-base      # Princeton WordNet 3.0 dict files (/usr/share/wordnet)
    pip install nltk
    python bench/wordnet_derivations.py   # prints the pair count, rewrites the file
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import warnings
from pathlib import Path

from wordnet_antonyms import HEADER, LEXNAMES, POS_NUMBER

OUT = Path(__file__).resolve().parents[1] / "runtime" / "core" / "data" / "derivations.tsv"


def same_stem(first: str, second: str) -> bool:
    """Whether two words open with the same stem: four shared letters, or three when the
    shorter word has at most five ("use"/"usage" is a pair, "annotate"/"note" is not)."""
    shared = 0
    while shared < min(len(first), len(second)) and first[shared] == second[shared]:
        shared += 1
    return shared >= 4 or (shared >= 3 and min(len(first), len(second)) <= 5)


def derivation_pairs(dict_dir: Path) -> list[tuple[str, str]]:
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
        pairs: set[tuple[str, str]] = set()
        for pos in ("n", "v", "a", "r"):
            for synset in wordnet.all_synsets(pos):
                for lemma in synset.lemmas():
                    word = lemma.name().lower()
                    if not word.isalpha():
                        continue
                    for other in [*lemma.derivationally_related_forms(), *lemma.pertainyms()]:
                        related = other.name().lower()
                        if related.isalpha() and related != word and same_stem(word, related):
                            first, second = sorted((word, related))
                            pairs.add((first, second))
    return sorted(pairs)


def main() -> None:
    dict_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/wordnet")
    pairs = derivation_pairs(dict_dir)
    header = HEADER.replace("Antonym pairs", "Derivationally related pairs").replace(
        "wordnet_antonyms.py", "wordnet_derivations.py"
    )
    OUT.write_text(header + "".join(f"{a}\t{b}\n" for a, b in pairs))
    print(f"{len(pairs)} derivation pairs -> {OUT}")


if __name__ == "__main__":
    main()
