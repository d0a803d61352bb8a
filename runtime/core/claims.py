"""What a claim says, word by word: the facts a contradiction check compares.

An embedding sees that "Aurora cannot pause when idle" is about the same thing as "Aurora can
pause when idle" (cosine ~0.9) — it sees topic, not truth. What flips the meaning are a few
kinds of words, and those can be read off the sentence cheaply and deterministically:

- negation cues (``not``, ``n't``, ``never``, ``without`` …) — their parity;
- content lemmas (lemminflect) — for antonyms (WordNet pairs, ``antonyms.py``);
- numbers with their units, and dates (months and weekdays from ``calendar``, years);
- names and identifiers (capitalised or unknown words, acronyms, ``snake_case``, ``a.b``, ``v2``);
- quantifiers (all/every/always against some/sometimes/may).

The closed word classes below (negation cues, quantifiers, units) are function words no
lexical database lists as such; every open-class relation (antonyms, lemmas) comes from a
library's data.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from lemminflect import getAllLemmas

from .antonyms import are_antonyms
from .stopwords import STOPWORDS
from .synonyms import synonyms_of

NEGATIONS = frozenset(
    [
        "not",
        "no",
        "never",
        "none",
        "nothing",
        "nobody",
        "nowhere",
        "neither",
        "nor",
        "cannot",
        "without",
    ]
)
"""Words that negate what follows (``n't`` contractions are read as ``not``). "unless" is left
out: it states a condition ("unless configured otherwise" is "by default"), not a denial."""

UNIVERSAL = frozenset(["all", "every", "each", "always", "everything", "everyone", "must", "only"])
"""Quantifiers that claim every case (a claim adding one needs the source to say so)."""

PARTIAL = frozenset(
    [
        "some",
        "sometimes",
        "occasionally",
        "several",
        "few",
        "rarely",
        "seldom",
        "often",
        "usually",
        "most",
        "many",
        "partly",
        "partially",
    ]
)
"""Quantifiers that claim some cases, and so deny a universal."""

UNITS = frozenset(
    [
        "ms",
        "millisecond",
        "milliseconds",
        "s",
        "sec",
        "second",
        "seconds",
        "min",
        "minute",
        "minutes",
        "h",
        "hr",
        "hour",
        "hours",
        "day",
        "days",
        "week",
        "weeks",
        "month",
        "months",
        "year",
        "years",
        "b",
        "byte",
        "bytes",
        "kb",
        "kib",
        "mb",
        "mib",
        "gb",
        "gib",
        "tb",
        "tib",
        "kbps",
        "mbps",
        "gbps",
        "%",
        "percent",
        "character",
        "characters",
        "token",
        "tokens",
        "word",
        "words",
        "line",
        "lines",
        "row",
        "rows",
        "item",
        "items",
        "request",
        "requests",
        "gbit",
        "mbit",
        "vcpu",
        "vcpus",
        "cpu",
        "cpus",
        "core",
        "cores",
        "acu",
        "acus",
        "x",
        "times",
    ]
)
"""Words that give a number its unit: "30 seconds" and "30 minutes" differ."""

UNIT_SCALES = {
    **dict.fromkeys(("ms", "millisecond"), ("s", 0.001)),
    **dict.fromkeys(("s", "sec", "second"), ("s", 1.0)),
    **dict.fromkeys(("min", "minute"), ("s", 60.0)),
    **dict.fromkeys(("h", "hr", "hour"), ("s", 3600.0)),
    "day": ("s", 86_400.0),
    "week": ("s", 604_800.0),
    **dict.fromkeys(("b", "byte"), ("byte", 1.0)),
    "kb": ("byte", 1e3),
    "mb": ("byte", 1e6),
    "gb": ("byte", 1e9),
    "tb": ("byte", 1e12),
    "kib": ("byte", 1024.0),
    "mib": ("byte", 1024.0**2),
    "gib": ("byte", 1024.0**3),
    "tib": ("byte", 1024.0**4),
}
"""Units of one dimension, each as (base unit, its size in it): "one minute" is "60 seconds",
"half a minute" is "30 seconds". Months and years have no fixed length and are left out."""


def quantity(value: float, unit: str) -> tuple[float, str]:
    """A number in its dimension's base unit (``UNIT_SCALES``), or as written."""
    base, scale = UNIT_SCALES.get(unit, (unit, 1.0))
    return value * scale, base


NUMBER_WORDS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "hundred": 100,
    "thousand": 1000,
    "million": 1_000_000,
    "billion": 1_000_000_000,
    "half": 0.5,
    "twice": 2,
    "double": 2,
    "dozen": 12,
}
"""Spelled-out numbers, so "1,000" and "a thousand" are the same number."""

MULTIPLIERS = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000}
SUFFIX_MULTIPLIERS = {"k": 1000, "m": 1_000_000, "b": 1_000_000_000}

MONTHS = {name.lower(): name for name in calendar.month_name if name} | {
    abbr.lower(): calendar.month_name[i] for i, abbr in enumerate(calendar.month_abbr) if abbr
}
WEEKDAYS = {name.lower() for name in calendar.day_name} | {
    name.lower() for name in calendar.day_abbr
}


_TOKEN = re.compile(
    r"""
    (?P<number>[$€£]?\d+(?:[.,]\d+)*(?:\s?(?:%|[kKmMbB]\b))?)
    | (?P<word>[A-Za-z_][\w'’]*(?:[.\-/][\w'’]+)*)
    """,
    re.VERBOSE,
)
_YEAR = re.compile(r"^(1[5-9]\d\d|2[01]\d\d)$")
_CAMEL = re.compile(r"[a-z][A-Z]")
_ALTERNATIVES = re.compile(r"[a-z]+/[a-z]+")
"""Two words joined by a slash ("IPython/Jupyter", "and/or"), not a path."""


@dataclass(frozen=True)
class Token:
    """One token of a sentence: its text, lower-cased form and position."""

    text: str
    lower: str
    index: int
    number: float | None = None


@dataclass(frozen=True)
class Claim:
    """A sentence read for comparison.

    tokens:
        Every word and number, in order (``n't`` split off as ``not``).
    lemmas:
        Lemmas of the content words (stop words left out), for alignment and antonyms.
    negations:
        The negation cues, each with the content lemmas it scopes over (the next few content
        words): a negation only matters where the other sentence talks about what it negates.
    numbers:
        (value, unit) of each number that is not a year; unit is ``""`` when none follows.
    dates:
        Years, months and weekdays, normalised ("Mar" → "month:3").
    names:
        Names and identifiers, lower-cased.
    quantifiers:
        Universal and partial quantifier words present.
    """

    text: str
    tokens: tuple[Token, ...]
    lemmas: frozenset[str]
    negations: tuple[tuple[str, frozenset[str]], ...]
    numbers: frozenset[tuple[float, str]]
    dates: frozenset[str]
    names: frozenset[str]
    quantifiers: frozenset[str]

    digits: frozenset[float] = frozenset()
    jargon: frozenset[str] = frozenset()
    bounds: frozenset[tuple[float, str, str]] = frozenset()
    """(value, relation, words) of each number a comparison bounds: ``>`` ("more than 128"),
    ``>=`` ("at least 5"), ``<`` ("fewer than 3"), ``<=`` ("up to 7 days", "limited to 128"),
    ``=`` ("exactly once"), ``~`` (an adjective's "-er than 500": strictly other, either way)."""
    """Lower-case words no dictionary knows (asyncio, gevent): compared like names where two
    sentences put different ones in the same place, but not required to appear in a source."""
    """Values written with digits (spelled-out ones such as "two" are often not counts)."""
    affirmed: tuple[tuple[str, str], ...] = ()
    """Prefix-negated words a "not" cancels, with the base word they affirm: ("uncommon",
    "common") for "not uncommon"."""

    @property
    def values(self) -> frozenset[float]:
        return frozenset(v for v, _ in self.numbers)


@lru_cache(maxsize=50_000)
def lemmas_of(word: str) -> frozenset[str]:
    """Every lemma lemminflect knows for ``word`` (any part of speech), or the word itself."""
    found = {lemma.lower() for group in getAllLemmas(word).values() for lemma in group}
    return frozenset(found or {word})


def is_dictionary_word(word: str) -> bool:
    """Whether lemminflect knows the (lower-cased) word, or each part of a hyphenated one:
    unknown words are names or jargon."""
    lower = word.lower()
    if lower in STOPWORDS or lower in NEGATIONS or lower in UNIVERSAL or lower in PARTIAL:
        return True
    if "-" in lower:
        return all(is_dictionary_word(part) for part in lower.split("-") if part)
    return bool(getAllLemmas(lower))


def _number(text: str) -> float | None:
    raw = text.lstrip("$€£").replace(" ", "")
    multiplier = 1.0
    if raw.endswith("%"):
        raw = raw[:-1]
    elif raw[-1:].lower() in SUFFIX_MULTIPLIERS and raw[:-1]:
        multiplier = SUFFIX_MULTIPLIERS[raw[-1].lower()]
        raw = raw[:-1]
    if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", raw):
        raw = raw.replace(",", "")
    raw = raw.replace(",", ".")
    try:
        return float(raw) * multiplier
    except ValueError:
        return None


def tokenize(text: str) -> list[Token]:
    """Words and numbers in order; contractions ("can't", "doesn't") become their verb + not,
    and spelled-out numbers ("two thousand") become one numeric token."""
    out: list[Token] = []
    for match in _TOKEN.finditer(text.replace("’", "'")):
        raw = match.group(0)
        if match.group("number"):
            out.append(Token(raw, raw.lower(), len(out), _number(raw)))
            continue
        lower = raw.lower()
        if lower.endswith("n't"):
            stem = {"can't": "can", "won't": "will", "shan't": "shall"}.get(lower, lower[:-3])
            out.append(Token(stem, stem, len(out)))
            out.append(Token(raw, "not", len(out)))
            continue
        if lower == "cannot":
            out.append(Token("can", "can", len(out)))
            out.append(Token(raw, "not", len(out)))
            continue
        if lower == "once" and out and out[-1].lower in ("exactly", "least", "most", "than"):
            out.append(Token(raw, lower, len(out), 1.0))  # "at least once" counts deliveries
            continue
        if lower in NUMBER_WORDS:
            value = float(NUMBER_WORDS[lower])
            previous = out[-1] if out else None
            if lower in MULTIPLIERS and previous is not None and previous.number is not None:
                out[-1] = Token(
                    f"{previous.text} {raw}", previous.lower, previous.index,
                    previous.number * MULTIPLIERS[lower],
                )  # fmt: skip
                continue
            out.append(Token(raw, lower, len(out), value))
            continue
        out.append(Token(raw, lower, len(out)))
    return out


def _is_name(token: Token, first: bool) -> bool:
    text = token.text
    if token.number is not None or len(text) < 2:
        return False
    if any(c in text for c in "_./") or _CAMEL.search(text):
        return True  # identifiers: chunk_size, max.tokens, docs/protocol.md, maxTokens
    if any(c.isdigit() for c in text):
        return True  # S3, v2, gpt-4o
    if text.isupper():
        return True  # AWS, JWT
    if text[0].isupper():
        return not first or not is_dictionary_word(text)
    return False


def _is_jargon(token: Token) -> bool:
    """A lower-case word no dictionary knows: a product or tool (asyncio, gevent, uvloop)."""
    text = token.text
    return (
        text.isalpha()
        and text.islower()
        and len(text) >= 3
        and not is_dictionary_word(text)
        and not _inflected(text)
    )


INFLECTIONS = ("ed", "ing", "ly", "er", "s")
"""Endings of English words a dictionary may not list in that form ("unmocked", "retried")."""


def _inflected(word: str) -> bool:
    """Whether an unknown word is a known one with an ending ("rewrapped" → "rewrap"), not a
    name that merely ends like one ("pdfly", "tqdm")."""
    for ending in INFLECTIONS:
        if word.endswith(ending) and len(word) > len(ending) + 2:
            stem = word[: -len(ending)]
            stems = (stem, stem + "e", stem[:-1], stem[:-1] + "y")  # "lazily" → "lazy"
            if any(is_dictionary_word(s) for s in stems):
                return True
    return False


def name_key(word: str) -> str:
    """A name as compared: possessive dropped ("Git's" is "git")."""
    return word.removesuffix("'s").removesuffix("'")


NEGATION_SCOPE = 3
"""Content words after a negation cue that it is taken to negate."""
CONTRAST = {("rather", "than"), ("instead", "of")}
"""Two-word cues that deny what follows ("snapshots rather than differences")."""
SURFACE_ONLY = frozenset(["more", "most", "less", "least", "fewer"])
"""Words compared as written: their lemmas (much, little) would pair unrelated opposites."""


CLAUSE_OPENERS = frozenset(
    ["which", "who", "whom", "whose", "because", "while", "whereas", "although", "though", "so"]
)
"""Words that open another clause: a negation does not reach past them ("snapshots rather
than differences, which makes switching faster" does not deny the switching)."""


def scope(tokens: list[Token], start: int) -> frozenset[str]:
    """Lemmas of the next few content words from ``start``: what a negation or quantifier
    there is about."""
    out: set[str] = set()
    for token in tokens[start:]:
        if len(out) >= NEGATION_SCOPE or (out and token.lower in CLAUSE_OPENERS):
            break
        if token.lower in STOPWORDS or token.lower in NEGATIONS:
            continue
        out.update(lemmas_of(token.lower) | {token.lower})
        if "-" in token.lower:  # "not well-formed" negates "formed" too, as read_claim reads it
            parts = [p for p in token.lower.split("-") if len(p) > 2 and p not in STOPWORDS]
            out.update(lemma for part in parts for lemma in lemmas_of(part))
    return frozenset(out)


BOUNDS = {
    ("more", "than"): ">",
    ("greater", "than"): ">",
    ("at", "least"): ">=",
    ("over",): ">",
    ("above",): ">",
    ("exceeding",): ">",
    ("minimum", "of"): ">=",
    ("less", "than"): "<",
    ("fewer", "than"): "<",
    ("at", "most"): "<=",
    ("up", "to"): "<=",
    ("under",): "<",
    ("below",): "<",
    ("within",): "<=",
    ("limited", "to"): "<=",
    ("maximum", "of"): "<=",
    ("exactly",): "=",
}
"""Words before a number that bound it (a closed class, like the negation cues)."""


GREATER = frozenset(["larger", "bigger", "greater", "longer", "higher", "heavier", "wider"])
SMALLER = frozenset(["smaller", "shorter", "lower", "lighter", "narrower", "fewer", "less"])
"""Comparative adjectives whose direction is plain whatever they measure ("larger than 10 MB"
is above 10 MB); other "-er than" words bound a number without a known direction."""


def _bound(tokens: list[Token], position: int) -> tuple[str, str] | None:
    """The relation and words that bound the number at ``position``, if any."""
    before = [t.lower for t in tokens[max(0, position - 2) : position]]
    for words, relation in BOUNDS.items():
        if tuple(before[-len(words) :]) == words:
            return relation, " ".join(words)
    if len(before) == 2 and before[1] == "than" and before[0].endswith("er"):
        direction = (
            ">" if before[0] in GREATER else "<" if before[0] in SMALLER else "~"
        )  # "larger than 10 MB" is above it; "shorter than 500": strictly other than 500
        return direction, " ".join(before)
    return None


def _between(tokens: list[Token], position: int, before: str, after: str) -> bool:
    return (
        0 < position < len(tokens) - 1
        and tokens[position - 1].lower == before
        and tokens[position + 1].lower == after
    )


STEM_PREFIXES = ("non-", "non", "un", "mal")


def _negated_stem(word: str) -> str | None:
    """The dictionary word a prefix negates ("formed" in "malformed", "blocking" in
    "non-blocking"), so a sentence with it talks about what that word is about."""
    for prefix in STEM_PREFIXES:
        stem = word.removeprefix(prefix)
        if stem != word and len(stem) >= 4 and is_dictionary_word(stem):
            return stem
    return None


LITOTES_PREFIXES = ("non-", "non", "un", "in", "im", "il", "ir")


def _litotes(tokens: list[Token], position: int) -> bool:
    """ "not" right before a prefix-negated word ("not uncommon", "not impossible") is a
    double negation that affirms: the two cancel, and the sentence says the base word."""
    return litotes_base(tokens, position) is not None


def litotes_base(tokens: list[Token], position: int) -> str | None:
    """The base word a "not un-X" at ``position`` affirms ("common" for "not uncommon"): the
    prefixed word and its base must be opposites in the antonym data (WordNet lists
    common/uncommon, possible/impossible), so "not unpack" or "not install" stay negations."""
    following = tokens[position + 1].lower if position + 1 < len(tokens) else ""
    for prefix in LITOTES_PREFIXES:
        base = following.removeprefix(prefix)
        if base != following and len(base) >= 4 and are_antonyms(following, base):
            return base
    return None


@lru_cache(maxsize=8192)
def read_claim(text: str) -> Claim:
    """A sentence's comparable facts (see ``Claim``); remembered, since a turn reads the same
    source sentences for every answer and every quote."""
    tokens = tokenize(text)
    lemmas: set[str] = set()
    negations: list[tuple[str, frozenset[str]]] = []
    digits: set[float] = set()
    bounds: set[tuple[float, str, str]] = set()
    jargon: set[str] = set()
    numbers: set[tuple[float, str]] = set()
    dates: set[str] = set()
    names: set[str] = set()
    quantifiers: set[str] = set()
    affirmed: list[tuple[str, str]] = []
    for position, token in enumerate(tokens):
        lower = token.lower
        following_word = tokens[position + 1].lower if position + 1 < len(tokens) else ""
        if lower in NEGATIONS and not (
            (lower == "not" and following_word in ("only", "just"))
            or (lower == "not" and _litotes(tokens, position))
            or (lower == "nor" and any(t.lower == "neither" for t in tokens[:position]))
        ):
            negations.append((token.text, scope(tokens, position + 1)))
        elif lower == "not" and (base := litotes_base(tokens, position)) is not None:
            lemmas.update(lemmas_of(base))  # "not uncommon" says "common"
            affirmed.append((tokens[position + 1].lower, base))
        elif (lower, following_word) in CONTRAST:
            negations.append((f"{token.text} {following_word}", scope(tokens, position + 2)))
        if lower in UNIVERSAL or lower in PARTIAL:
            quantifiers.add(lower)
        if token.number is not None:
            if _YEAR.match(token.text):
                dates.add(f"year:{token.text}")
                continue
            after = 2 if lower == "half" and following_word in ("a", "an") else 1
            following = tokens[position + after].lower if position + after < len(tokens) else ""
            unit = "%" if token.text.endswith("%") else following if following in UNITS else ""
            if lower == "one" and not unit:
                continue  # "one of the models" is a pronoun, not a count
            unit = {"percent": "%"}.get(unit, unit)
            numbers.add((token.number, unit.rstrip("s") if len(unit) > 3 else unit))
            bound = _bound(tokens, position)
            if bound is not None:
                bounds.add((token.number, *bound))
            if token.text[0].isdigit():
                digits.add(token.number)
            continue
        if lower in MONTHS and (token.text[0].isupper() or len(lower) > 3) and lower != "may":
            dates.add(f"month:{MONTHS[lower]}")
            continue
        if lower in WEEKDAYS and token.text[0].isupper():
            dates.add(f"day:{lower[:3]}")
            continue
        if lower in UNITS and position and tokens[position - 1].number is not None:
            pass  # a number's unit ("2 GB"), not a name
        elif _is_name(token, position == 0):
            names.add(name_key(lower))
        elif _is_jargon(token):
            jargon.add(lower)
        if lower == "well" and _between(tokens, position, "as", "as"):
            continue  # "as well as" is "and"
        if lower not in STOPWORDS and lower not in NEGATIONS:
            lemmas.update({lower} if lower in SURFACE_ONLY else lemmas_of(lower))
            stem = _negated_stem(lower)
            if stem:  # "malformed" is about being formed, as "not well-formed" is
                lemmas.update(lemmas_of(stem))
            if "-" in lower or _ALTERNATIVES.fullmatch(lower):  # "requests-compatible"
                parts = [p for p in re.split(r"[-/]", lower) if len(p) > 2 and p not in STOPWORDS]
                lemmas.update(lemma for part in parts for lemma in lemmas_of(part))
    return Claim(
        text,
        tuple(tokens),
        frozenset(lemmas),
        tuple(negations),
        frozenset(numbers),
        frozenset(dates),
        frozenset(names),
        frozenset(quantifiers),
        frozenset(digits),
        frozenset(jargon),
        frozenset(bounds),
        tuple(affirmed),
    )


def lexical_overlap(claim: Claim, source: Claim) -> float:
    """Share of the claim's content lemmas that the source sentence has too, itself or as a
    synonym ("needs" for "requires": a paraphrase rewords), in [0, 1]."""
    if not claim.lemmas:
        return 0.0
    shared = sum(1 for words in _with_synonyms(claim.lemmas) if words & source.lemmas)
    return shared / len(claim.lemmas)


@lru_cache(maxsize=16_384)
def _with_synonyms(lemmas: frozenset[str]) -> tuple[frozenset[str], ...]:
    """Each lemma with its synonyms (``synonyms.py``), remembered per sentence."""
    return tuple(frozenset({lemma}) | synonyms_of(lemma) for lemma in lemmas)


ANAPHORS = frozenset(["it", "its", "they", "their", "this", "these", "those", "he", "she"])
"""Words that, opening a sentence, refer to what the sentence before is about."""


def continues(sentence: Claim) -> bool:
    """Whether the sentence opens with a pronoun ("It was uploaded on …"): it goes on about
    the sentence before, which says what "it" is."""
    return bool(sentence.tokens) and sentence.tokens[0].lower in ANAPHORS


def coverage_words(claims: Sequence[Claim]) -> frozenset[str]:
    """What source sentences say, as ``coverage`` matches it: their content lemmas (a
    hyphenated word's parts included), their words and identifiers, and their numbers and
    dates by value."""
    words: set[str] = set()
    for claim in claims:
        words.update(claim.lemmas)
        words.update(name_key(token.lower) for token in claim.tokens)
        words.update(f"n:{value:g}" for value in claim.values)
        words.update(claim.dates)
    return frozenset(words)


def coverage(claim: Claim, words: frozenset[str]) -> float:
    """Share of the claim's content words a window of source sentences has (``coverage_words``),
    each word as itself, a lemma or a WordNet synonym, a hyphenated word also by all its
    parts ("in-process" by "process"), numbers and dates by value ("31 October 2024").
    Negation cues and quantifiers are left out: ``unstated_qualifiers`` says which of them a
    window lacks. In [0, 1]; 0 for a claim without content words.

    Unlike ``lexical_overlap`` (lemmas, for alignment) it counts words, not lemmas — a word
    lemminflect reads two ways ("dated": "date", "dated") counts once — and the window may be
    two sentences, one of them going on about the other ("It …")."""
    forms = _content_forms(claim.text)
    if not forms:
        return 0.0
    return sum(1 for word in forms if word.found_in(words)) / len(forms)


@lru_cache(maxsize=16_384)
def _content_forms(text: str) -> tuple[_AnyOf, ...]:
    """Each content word of the sentence with every form ``coverage`` accepts for it."""
    claim = read_claim(text)
    tokens = claim.tokens
    out: list[_AnyOf] = []
    for position, token in enumerate(tokens):
        lower = token.lower
        if token.number is not None:
            if _YEAR.match(token.text):
                out.append(_AnyOf(frozenset({f"year:{token.text}"}), ()))
            elif not (lower == "one" and f"n:{token.number:g}" not in _stated(claim)):
                out.append(_AnyOf(frozenset({f"n:{token.number:g}"}), ()))
            continue
        if lower in MONTHS and (token.text[0].isupper() or len(lower) > 3) and lower != "may":
            out.append(_AnyOf(frozenset({f"month:{MONTHS[lower]}"}), ()))
            continue
        if (
            lower in STOPWORDS
            or lower in NEGATIONS
            or lower in UNIVERSAL
            or lower in PARTIAL
            or (lower in UNITS and position and tokens[position - 1].number is not None)
            or (lower in WEEKDAYS and token.text[0].isupper())
        ):
            continue
        forms = _related({lower, name_key(lower)} | set(_lemmas(lower)))
        if "-" in lower or _ALTERNATIVES.fullmatch(lower):
            parts = [p for p in re.split(r"[-/]", lower) if len(p) > 2 and p not in STOPWORDS]
            out.append(_AnyOf(forms, tuple(_related(set(_lemmas(part))) for part in parts)))
        else:
            out.append(_AnyOf(forms, ()))
    return tuple(out)


def _stated(claim: Claim) -> frozenset[str]:
    """The claim's numbers as ``coverage_words`` keys them ("one" as a pronoun is none)."""
    return frozenset(f"n:{value:g}" for value in claim.values)


def _lemmas(word: str) -> frozenset[str]:
    return frozenset({word}) if word in SURFACE_ONLY else lemmas_of(word)


def _related(forms: set[str]) -> frozenset[str]:
    """The forms with their synonyms."""
    related = set(forms)
    for form in forms:
        related.update(synonyms_of(form))
    return frozenset(related)


@dataclass(frozen=True)
class _AnyOf:
    """One content word as ``coverage`` matches it: any of its forms, or — a hyphenated word
    ("in-process") — each of its parts ("process"; "callback-based" needs "callback" too,
    not only "based")."""

    forms: frozenset[str]
    parts: tuple[frozenset[str], ...]

    def found_in(self, words: frozenset[str]) -> bool:
        if self.forms & words:
            return True
        return bool(self.parts) and all(part & words for part in self.parts)


def unstated_qualifiers(claim: Claim, words: frozenset[str]) -> list[str]:
    """The claim's negation cues and quantifiers ("not", "only", "some") a window of source
    sentences (``coverage_words``) does not have: a claim supported on word coverage alone
    must not add one ("handles only some versions" where the source lists them all)."""
    cues = [cue.split()[0].lower() for cue, _ in claim.negations]
    return [word for word in [*cues, *sorted(claim.quantifiers)] if word not in words]
