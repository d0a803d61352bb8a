"""Sentences of a Markdown/HTML chunk, with what each one is: prose, list item, heading …

An extractive answer quotes sentences, so what counts as one matters: a heading ("## Rustdoc
tests"), a table row, a code block or the half sentence a chunk boundary cut off is not
something to quote. ``read_sentences`` keeps every piece of text with its kind and whether it
is a whole sentence; ``answer_sentences`` is what an answer may quote; the grounding judge
checks every claim (``answering.claim_sentences``), whatever its kind.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Literal

from .claims import is_dictionary_word

SentenceKind = Literal["prose", "list", "heading", "table", "quote"]

_ABBREVIATIONS = (
    r"(?<!\be\.g\.)(?<!\bi\.e\.)(?<!\betc\.)(?<!\bvs\.)(?<!\bcf\.)(?<!\bMr\.)(?<!\bDr\.)"
)
_SENTENCE_END = re.compile(_ABBREVIATIONS + r"(?<=[.!?])\s+(?=[\"'(\[`*]?[A-Z0-9])")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_TABLE = re.compile(r"^\s*\|.*\|\s*$|^\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)+\|?\s*$")
_QUOTE = re.compile(r"^\s*>\s?")
_FENCE = re.compile(r"^\s*(```|~~~)")
_HTML_TAG = re.compile(r"<[^>\n]+>")
_HTML_BLOCK = re.compile(r"<(script|style|pre|code)\b[^>]*>.*?</\1>", re.IGNORECASE | re.DOTALL)
_EMPHASIS = re.compile(r"\*\*|\*|(?<!\w)__?(?=\w)|(?<=\w)__?(?!\w)")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_CITATION = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
_OPENER = re.compile(r"^[\"'(`]?[A-Z0-9]")
_LOWER_START = re.compile(r"(?<=[A-Za-z)]{3}[.!?])\s+(?=[a-z])")
"""A sentence end before a lower-case word: READMEs open sentences with a tool's name
("... with Elasticsearch. bm25s is implemented ..."); split there unless the word before
the stop is an abbreviation (``_LOWER_ABBREVIATIONS``; shorter ones never match)."""
_LOWER_ABBREVIATIONS = frozenset(
    [
        "etc",
        "approx",
        "incl",
        "resp",
        "viz",
        "esp",
        "ibid",
        "min",
        "max",
        "inc",
        "ltd",
        "corp",
        "dept",
        "est",
        "fig",
        "sec",
        "vol",
        "nos",
        "misc",
        "var",
        "def",
        "ref",
    ]
)


@dataclass(frozen=True)
class Sentence:
    """One piece of text: the sentence, what kind of block it came from, its position in the
    chunk, and whether it is whole (starts like a sentence, ends with . ! or ?)."""

    text: str
    kind: SentenceKind
    index: int
    whole: bool


def _blocks(text: str) -> list[tuple[SentenceKind, str]]:
    """Paragraphs, list items, headings, quotes and table rows, hard wraps joined; code
    blocks (fenced or indented) and HTML script/style/pre are left out."""
    text = _HTML_BLOCK.sub("\n\n", text)
    text = html.unescape(_HTML_TAG.sub(" ", text)) if "<" in text else text
    blocks: list[tuple[SentenceKind, list[str]]] = []
    in_code = False
    previous_blank = True
    for line in text.splitlines():
        if _FENCE.match(line):
            in_code = not in_code  # code is quoted, not stated
            blocks.append(("prose", []))
            continue
        if in_code:
            continue
        if not line.strip():
            blocks.append(("prose", []))
            previous_blank = True
            continue
        if previous_blank and line.startswith(("    ", "\t")) and not _LIST_ITEM.match(line):
            continue  # an indented code block
        previous_blank = False
        if _SETEXT.match(line) and blocks and blocks[-1][1]:
            blocks[-1] = ("heading", blocks[-1][1])
            blocks.append(("prose", []))
            continue
        if _HEADING.match(line):
            blocks.append(("heading", [line.lstrip().lstrip("#")]))
            blocks.append(("prose", []))
        elif _TABLE.match(line):
            blocks.append(("table", [line]))
            blocks.append(("prose", []))
        elif _LIST_ITEM.match(line):
            blocks.append(("list", [_LIST_ITEM.sub("", line, count=1)]))
        elif _QUOTE.match(line):
            if blocks and blocks[-1][0] == "quote" and blocks[-1][1]:
                blocks[-1][1].append(_QUOTE.sub("", line))
            else:
                blocks.append(("quote", [_QUOTE.sub("", line)]))
        elif not blocks or not blocks[-1][1]:
            blocks.append(("prose", [line]))
        else:
            blocks[-1][1].append(line)
    return [(kind, " ".join(p.strip() for p in lines)) for kind, lines in blocks if lines]


def _clean(raw: str) -> str:
    text = _LINK.sub(r"\1", raw)
    text = _EMPHASIS.sub("", text)
    text = _CITATION.sub("", text)
    return " ".join(text.split()).strip()


def _split(block: str) -> list[str]:
    """A block's sentences: at a stop before a capital or digit, and before a lower-case
    word ("bm25s", "apt-get", "apt") after a word that is no abbreviation."""
    out: list[str] = []
    for part in _SENTENCE_END.split(block):
        start = 0
        for match in _LOWER_START.finditer(part):
            before = part[start : match.start()].rstrip(".!?").split()
            following = part[match.end() :].split(maxsplit=1)
            if not before or not following:
                continue
            last = before[-1].lower().strip("()")
            if last in _LOWER_ABBREVIATIONS:
                continue
            out.append(part[start : match.start()])
            start = match.end()
        out.append(part[start:])
    return out


def _names_a_thing(word: str) -> bool:
    """Whether a lower-case word opening a sentence is a name or identifier (a word no
    dictionary knows: ``pypdf``, ``apt-get``, ``bm25s``), not the rest of a sentence an
    abbreviation interrupted."""
    bare = word.strip(".,;:()\"'`")
    if not bare:
        return False
    if any(c.isdigit() or c in "_-./" for c in bare):
        return True
    return not is_dictionary_word(bare)


def read_sentences(text: str) -> list[Sentence]:
    """Every sentence of a chunk, in order, with its kind and wholeness."""
    out: list[Sentence] = []
    for kind, block in _blocks(text):
        for raw in _split(block):
            sentence = _clean(raw)
            if not any(c.isalnum() for c in sentence):
                continue
            opens = bool(_OPENER.match(sentence)) or _names_a_thing(sentence.split()[0])
            whole = opens and sentence.endswith((".", "!", "?"))
            out.append(Sentence(sentence, kind, len(out), whole))
    return out


def answer_sentences(text: str, *, min_words: int = 4) -> list[Sentence]:
    """What an extractive answer may quote: whole prose (or quoted) sentences, and list items
    that are whole sentences of some length; mostly letters (not ``{"a": 1}``)."""
    out = []
    for sentence in read_sentences(text):
        if sentence.kind in ("heading", "table") or not sentence.whole:
            continue
        words = len(sentence.text.split())
        if words < min_words or (sentence.kind == "list" and words < 6):
            continue
        if sum(c.isalpha() for c in sentence.text) < len(sentence.text) / 2:
            continue
        out.append(sentence)
    return out
