"""Does a claim contradict the source sentence it aligns with, and in which words?

Once a claim is aligned with the source sentence that best supports it (``grounding.py``),
what matters is *what differs*: a negation inserted or removed, an antonym, another number or
unit, another date, another name or identifier, a universal where the source says "some", a
comparative turned around. Each difference is reported with the words on both sides, so a
reader sees why a sentence was flagged. Everything here is word-level and deterministic: no
model, a few microseconds per pair.

Two flips cancel: "X is not enabled by default" against "X is disabled by default" has a
negation *and* an antonym, and says the same thing.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from .antonyms import are_opposite, prefix_negated
from .claims import (
    MONTHS,
    PARTIAL,
    STOPWORDS,
    SURFACE_ONLY,
    UNIVERSAL,
    Claim,
    lemmas_of,
    name_key,
    quantity,
    scope,
)

DifferenceKind = Literal[
    "negation", "antonym", "number", "date", "entity", "quantifier", "comparative"
]
COMPARATIVE_WORDS = frozenset(["more", "less", "fewer", "most", "least"])
QUANTIFIER_WORDS = (UNIVERSAL | PARTIAL | {"any", "none", "no"}) - COMPARATIVE_WORDS
"""Compared as quantifiers (``_quantifiers``), not as antonyms: WordNet pairs "all" with
"some" and makes "any" a kind of "some"."""
GENERALISING = frozenset(["every", "always", "everything", "everyone"])
"""Universals a claim may not add to a source that states no universal: "pypdf needs extra
dependencies for every kind of encryption" where the source names one kind. ("all" and
"each" are left out: "all it takes", "each message" restate rather than generalise.)"""


@dataclass(frozen=True)
class Difference:
    """One way a claim departs from its source sentence: the kind, and the words on each side
    (``source`` is empty when the source simply lacks what the claim adds)."""

    kind: DifferenceKind
    claim: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "claim": self.claim, "source": self.source}


def compare(claim: Claim, source: Claim) -> list[Difference]:
    """The differences between a claim and one source sentence that change its meaning."""
    return [
        *_polarity(claim, source),
        *_numbers(claim, source),
        *_bounds(claim, source),
        *_dates(claim, source),
        *_names(claim, source),
        *_swapped_roles(claim, source),
        *_quantifiers(claim, source),
    ]


def _relevant_negations(claim: Claim, other: Claim) -> list[str]:
    """The claim's negation cues whose scope the other sentence talks about (or that scope
    over nothing in particular): "not designed for precise timings" in a source says nothing
    about a claim that only repeats the sentence's other half. A negation also counts when
    the other sentence has everything *else* the claim says: "The FAQ file is no longer
    updated" denies "The FAQ file is still kept up to date", though their verbs differ."""
    return [
        cue
        for cue, scope in claim.negations
        if not scope or scope & other.lemmas or (claim.lemmas - scope) <= other.lemmas
    ]


ADVERB_ENDINGS = (("ically", "ic"), ("ally", "al"), ("ily", "y"), ("ly", ""))
"""An adverb's ending and its adjective's: "automatically" → "automatic", "lazily" → "lazy"."""


@lru_cache(maxsize=65_536)
def _lemmas(word: str) -> frozenset[str]:
    """The word's lemmas for antonym look-up; an adverb in -ly also as its adjective
    ("slowly" against "fast", "manually" against "automatically")."""
    if word in SURFACE_ONLY:
        return frozenset({word})
    found = lemmas_of(word) | {word}
    for ending, adjective in ADVERB_ENDINGS:
        if word.endswith(ending) and len(word) > len(ending) + 2:
            found |= lemmas_of(word[: -len(ending)] + adjective)
            break
    return found


def _affirmed_words(claim: Claim) -> set[str]:
    """The sentence's words, a double negation read as its base word ("not uncommon" as
    "common": the "not" is not counted as a negation either, ``claims.read_claim``)."""
    affirmed = dict(claim.affirmed)
    return {affirmed.get(t.lower, t.lower) for t in claim.tokens}


def _polarity(claim: Claim, source: Claim) -> list[Difference]:
    """Negation parity, antonyms and a swapped comparison, counted together: an odd number
    of flips contradicts ("not disabled" is "enabled"; "B is slower than A" is "A is faster
    than B")."""
    mine_cues = _relevant_negations(claim, source)
    their_cues = _relevant_negations(source, claim)
    negation_flip = len(mine_cues) % 2 != len(their_cues) % 2
    opposites: list[tuple[str, str]] = []
    mine_all, theirs_all = _affirmed_words(claim), _affirmed_words(source)
    claim_words, source_words = mine_all - theirs_all, theirs_all - mine_all
    for mine in sorted(claim_words - QUANTIFIER_WORDS):
        prefixed = [w for w in sorted(source_words) if prefix_negated(mine, w)]
        if prefixed:  # "non-blocking" against "blocking": the parts are shared, the sense not
            opposites.append((mine, prefixed[0]))
            continue
        mine_lemmas = _lemmas(mine)
        if mine_lemmas & source.lemmas:
            continue  # the source has the word in another form
        for theirs in sorted(source_words - QUANTIFIER_WORDS):
            their_lemmas = _lemmas(theirs)
            if their_lemmas & claim.lemmas:
                continue
            if are_opposite(mine, theirs, _lemmas):
                opposites.append((mine, theirs))
                break
    swapped = _comparison_order(claim, source)
    flips = int(negation_flip) + len(opposites) + int(swapped is not None)
    if flips % 2 == 0:
        return []
    out = []
    for mine, theirs in opposites:
        comparative = (
            mine in COMPARATIVE_WORDS
            or theirs in COMPARATIVE_WORDS
            or (mine not in lemmas_of(mine) and mine.endswith(("er", "est")))
        )
        out.append(Difference("comparative" if comparative else "antonym", mine, theirs))
    if swapped is not None:
        out.append(swapped)
    if negation_flip:
        out.append(Difference("negation", " ".join(mine_cues), " ".join(their_cues)))
    return out


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def same_quantity(first: tuple[float, str], second: tuple[float, str]) -> bool:
    """The same value, or the same amount in units of one dimension ("1 minute" and "60
    seconds", "2 GB" and "2,000 MB")."""
    mine, theirs = quantity(*first), quantity(*second)
    if first[1] and second[1] and mine[1] == theirs[1]:
        return _same(mine[0], theirs[0])
    return _same(first[0], second[0])


MULTIPLES = frozenset(["time", "times", "fold", "x"])


def _stated_ratio(multiple: float, claim: Claim, source: Claim) -> bool:
    """Whether "N times" in the claim is the ratio of two of its numbers the source states
    ("530 MB/s, more than five times zlib's 95 MB/s": 530 / 95 = 5.6): N up to the ratio, less
    than N + 1 — a rounded-down or exact multiple, not another one."""
    stated = [
        v
        for v, unit in claim.numbers
        if unit not in MULTIPLES
        and v > 0
        and any(same_quantity((v, unit), m) for m in source.numbers)
    ]
    return any(multiple <= a / b < multiple + 1 for a in stated for b in stated if a > b)


def _numbers(claim: Claim, source: Claim) -> list[Difference]:
    """Another value where the source states one, or the same value in another unit. A
    multiple the claim works out from two stated numbers is not another value."""
    mine = [
        n
        for n in claim.numbers
        if not any(same_quantity(n, m) for m in source.numbers)
        and not (n[1] in MULTIPLES and _stated_ratio(n[0], claim, source))
    ]
    theirs = [n for n in source.numbers if not any(same_quantity(n, m) for m in claim.numbers)]
    out: list[Difference] = []
    if mine and theirs:
        out.append(Difference("number", _format(mine), _format(theirs)))
    for value, unit in claim.numbers:
        if (value, unit) in mine:
            continue
        units = {u for w, u in source.numbers if _same(value, w)} - {""}
        converted = any(
            u and same_quantity((value, unit), (w, u)) for w, u in source.numbers
        )  # "60 seconds" where the source also says "1 minute"
        if unit and units and unit not in units and not converted:
            out.append(
                Difference("number", _format([(value, unit)]), _format([(value, units.pop())]))
            )
    return out


def _bounds(claim: Claim, source: Claim) -> list[Difference]:
    """The same number bounded the other way: "more than 128 tokens" where the source says
    "limited to 128", "shorter than 500 steps" where it says "500 steps", "exactly once"
    where it says "at least once"."""
    out: list[Difference] = []
    for value, relation, words in sorted(claim.bounds):
        stated = [(r, w) for v, r, w in source.bounds if _same(v, value)]
        if not any(_same(v, value) for v, _ in source.numbers):
            continue
        theirs = stated[0] if stated else ("", "")
        if _conflicting(relation, theirs[0]):
            out.append(
                Difference("comparative", f"{words} {value:g}", f"{theirs[1]} {value:g}".strip())
            )
    return out


STRICT = frozenset([">", "<", "~"])
ABOVE = frozenset([">", ">="])
BELOW = frozenset(["<", "<="])


def _conflicting(mine: str, theirs: str) -> bool:
    """Whether the claim's bound on a number contradicts the source's (``""``: the source
    states the number plainly): a strict bound against the number itself, bounds in opposite
    directions, or "exactly" against a bound."""
    if mine in STRICT and theirs in ("", "="):
        return True
    if (mine in ABOVE and theirs in BELOW) or (mine in BELOW and theirs in ABOVE):
        return True
    return mine == "=" and theirs in ABOVE | BELOW


def _format(numbers: list[tuple[float, str]]) -> str:
    return ", ".join(f"{v:g} {u}".strip() for v, u in sorted(numbers))


def _dates(claim: Claim, source: Claim) -> list[Difference]:
    out = []
    for kind in ("year", "month", "day"):
        mine = sorted(d for d in claim.dates - source.dates if d.startswith(kind))
        theirs = sorted(d for d in source.dates - claim.dates if d.startswith(kind))
        if mine and theirs:
            out.append(Difference("date", _date_words(claim, mine), _date_words(source, theirs)))
    return out


def _date_words(claim: Claim, dates: list[str]) -> str:
    return ", ".join(d.split(":", 1)[1] for d in dates)


def _names(claim: Claim, source: Claim) -> list[Difference]:
    """A name or identifier in the claim where the aligned source sentence has another one
    in the same place ("Sydney" for "Canberra", ``chunk_overlap`` for ``chunk_size``)."""
    a, b = _identifier_tokens(claim), _identifier_tokens(source)
    plain_a = {name_key(t.lower) for t in claim.tokens}
    plain_b = {name_key(t.lower) for t in source.tokens}
    claim_words, source_words = set(a) | plain_a, set(b) | plain_b
    named_a = claim.names | claim.jargon | (set(a) - plain_a)  # joined identifiers too
    named_b = source.names | source.jargon | (set(b) - plain_b)
    mine = {n for n in named_a if not _has_name(source_words, n)}
    theirs = {n for n in named_b if not _has_name(claim_words, n)}
    if not mine and not theirs:
        return []
    pairs: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op != "replace":
            continue
        left = [w for w in a[i1:i2] if w in mine]
        right = [w for w in b[j1:j2] if w in theirs]
        if i2 - i1 == 1 and j2 - j1 == 1 and (left or right):
            # One word for one in the same place, a name on either side: "builds with
            # clang" for "builds with gcc" (clang is also an English word).
            left, right = left or _content(a[i1:i2]), right or _content(b[j1:j2])
        if left and right and not _related(left, right):
            pairs.append((" ".join(left), " ".join(right)))
    return [Difference("entity", left, right) for left, right in pairs]


def _identifier_tokens(claim: Claim) -> list[str]:
    """The sentence's words as names compare, a name followed by a number joined into one
    identifier: "RFC 8878" reads as "rfc8878", the way "RFC8878" is written unspaced."""
    tokens = claim.tokens
    named = claim.names | claim.jargon
    out: list[str] = []
    position = 0
    while position < len(tokens):
        key = name_key(tokens[position].lower)
        following = tokens[position + 1] if position + 1 < len(tokens) else None
        if (
            following is not None
            and key in named
            and key.isalpha()
            and key not in MONTHS  # "May 2021" is a date, compared as one
            and following.text.isdigit()
        ):
            out.append(key + following.text)
            position += 2
            continue
        out.append(key)
        position += 1
    return out


ROLE_WORDS = 2
"""Content words after a name that say what the sentence makes of it ("as the *real
directory*", "as a *symlink*")."""


def _roles(claim: Claim) -> dict[str, tuple[str, ...]]:
    """Each name or identifier with the content words right after it (up to the next name),
    the first time it occurs. Jargon (lower-case words no dictionary knows, "symlink") counts
    as a role word, not as a name."""
    tokens = claim.tokens
    named = claim.names
    out: dict[str, tuple[str, ...]] = {}
    for position, token in enumerate(tokens):
        key = name_key(token.lower)
        if key not in named or key in out:
            continue
        words: list[str] = []
        for following in tokens[position + 1 :]:
            word = name_key(following.lower)
            if word in named or len(words) >= ROLE_WORDS:
                break
            if word not in STOPWORDS and following.number is None:
                words.append(word)
        out[key] = tuple(words)
    return out


def _swapped_roles(claim: Claim, source: Claim) -> list[Difference]:
    """Two names the sentences share, each followed in the claim by the words that follow
    the *other* in the source: "/var/mail as the real directory and /var/spool/mail as a
    symlink" against the reverse. Reordering a sentence keeps each name's own words, so a
    paraphrase does not swap them."""
    mine, theirs = _roles(claim), _roles(source)
    shared = sorted(n for n in mine.keys() & theirs.keys() if mine[n] and theirs[n])
    for position, first in enumerate(shared):
        for second in shared[position + 1 :]:
            if (
                mine[first] != mine[second]
                and mine[first] == theirs[second]
                and mine[second] == theirs[first]
            ):
                return [Difference("entity", f"{first} {second}", f"{second} {first}")]
    return []


def _content(words: list[str]) -> list[str]:
    return [w for w in words if w not in STOPWORDS and not w.isdigit()]


def _related(left: list[str], right: list[str]) -> bool:
    """Names whose parts one contains the other's ("tqdm" and "tqdm.gui") are one thing named
    more or less precisely, not a swap (``chunk_size`` and ``chunk_overlap`` are two)."""
    mine = {p for name in left for p in re.split(r"[-_./]", name) if p}
    theirs = {p for name in right for p in re.split(r"[-_./]", name) if p}
    return mine <= theirs or theirs <= mine


def _has_name(words: set[str], name: str) -> bool:
    """Whether the words hold the name, in the singular or the plural ("API", "APIs")."""
    return name in words or name.removesuffix("s") in words or f"{name}s" in words


def _quantifiers(claim: Claim, source: Claim) -> list[Difference]:
    """A universal the source limits ("always" for "sometimes"), or the reverse."""
    mine_all = claim.quantifiers & UNIVERSAL - source.quantifiers
    mine_some = claim.quantifiers & PARTIAL - source.quantifiers
    source_all = source.quantifiers & UNIVERSAL
    source_some = source.quantifiers & PARTIAL
    if mine_all and source_some and not (claim.quantifiers & source_some):
        return [Difference("quantifier", " ".join(sorted(mine_all)), " ".join(sorted(source_some)))]
    if mine_some and source_all and not (claim.quantifiers & source_all):
        return [Difference("quantifier", " ".join(sorted(mine_some)), " ".join(sorted(source_all)))]
    added = {
        t.lower
        for t in claim.tokens
        if t.lower in GENERALISING - source.quantifiers
        and scope(list(claim.tokens), t.index + 1) & source.lemmas
    }  # a universal over what the source talks about ("every kind of *encryption*")
    if added and not source.quantifiers & UNIVERSAL:
        return [Difference("quantifier", " ".join(sorted(added)), "")]
    return []


ORDER_PIVOTS = (("than",), ("rather than",), ("before", "after"), ("after", "before"))
"""Words that order two things: each with the pivots of the other sentence it is compared
with (``than`` only with ``than``; ``before``/``after`` with either)."""


NOT_ORDERING = frozenset(["rather", "other"])
"""Words that make the next "than" a contrast, not a comparison ("snapshots rather than
differences")."""


def _pivot_positions(words: list[str]) -> dict[str, int]:
    """Where each ordering word first orders two things ("rather than" apart from "than")."""
    out: dict[str, int] = {}
    for position, word in enumerate(words):
        if word in ("than", "before", "after"):
            if word == "than" and position and words[position - 1] in NOT_ORDERING:
                word = "rather than"  # a contrast: "X rather than Y" swapped is a flip too
            out.setdefault(word, position)
    return out


def _comparison_order(claim: Claim, source: Claim) -> Difference | None:
    """ "A is faster than B" against "B is faster than A", "the lock is taken before the file
    is opened" against "the file is opened before the lock is taken": the compared things (or
    events) swapped around the same pivot. ("after" against "before" with the events swapped
    says the same thing: the antonym and the swap cancel in ``_polarity``.)"""
    a = [t.lower for t in claim.tokens]
    b = [t.lower for t in source.tokens]
    mine, theirs = _pivot_positions(a), _pivot_positions(b)
    pivots = [p for p in ORDER_PIVOTS if p[0] in mine and any(w in theirs for w in p)]
    if not pivots:
        return None
    pivot = pivots[0]
    i = mine[pivot[0]]
    j = min(theirs[w] for w in pivot if w in theirs)
    if i == 0 or j == 0:
        return None  # "Before X, Y": the order is in the grammar, not the position
    after_mine = a[i + 1 : i + 4]
    after_theirs = b[j + 1 : j + 4]
    if not after_mine or after_mine == after_theirs:
        return None
    moved = [w for w in after_mine if w not in STOPWORDS and w in b[:j] and w not in after_theirs]
    back = [w for w in after_theirs if w not in STOPWORDS and w in a[:i]]
    if moved and back:
        return Difference(
            "comparative", f"{a[i]} {' '.join(after_mine)}", f"{b[j]} {' '.join(after_theirs)}"
        )
    return None
