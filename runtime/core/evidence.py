"""Evidence a fused ranking cannot see on its own: exact identifiers and sibling sections.

Two adjustments of a hybrid retrieval's fused scores, and one measure the fusion weighs the
keyword leg by, all on the candidates already found (no extra search, no model call), so they
work on every store that fuses two legs:

- **Exact identifiers** (``boost_exact_terms``): a question that names an identifier —
  ``XK-4471``, ``--force``, ``HEAD~2``, ``foo_bar``, ``Signed-off-by`` — is answered by the chunk
  that contains it verbatim, not by a look-alike (``XK-4474``) the embedding and the stemmed
  keyword leg cannot tell apart. Chunks that contain the query's identifiers as whole tokens
  gain a share of the top fused score.
- **Sibling sections** (``boost_by_siblings``): passages of one page (chunks that share a
  document title) support each other; a chunk gains a share of the best fused score of another
  chunk of its page. A question about ``git stash`` that matches one section of its man page
  well lifts the page's other sections above stray matches elsewhere.
- **Query-term coverage** (``query_term_coverage``): how many of the question's words a chunk
  holds. A keyword leg that found one chunk only is sure of it when that chunk holds the
  question's terms (an identifier), not when it matched one word of several.

Measured on three sets in docs/retrieval.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .models import SearchHit
from .stopwords import STOPWORDS

_TOKEN = re.compile(r"\S+")
_EDGE_PUNCTUATION = "\"'`,;:!?()[]{}<>"
_HAS_DIGIT = re.compile(r"\d")
_HAS_LETTER = re.compile(r"[^\W\d_]")
_JOINED = re.compile(r"\w[-_.~^/:=]\w")
_OPTION = re.compile(r"--?\w[\w-]*")
_NUMBER_WORD = re.compile(r"\d+(?:st|nd|rd|th|s|am|pm|k|m|x)", re.IGNORECASE)
"""Ordinals, decades, times and sizes (``1st``, ``1990s``, ``5pm``, ``10k``): English."""


@dataclass(frozen=True)
class ExactTerm:
    """An identifier of the query, matched case-insensitively as a whole token."""

    text: str

    def pattern(self) -> re.Pattern[str]:
        # Whole token: no word character or joining dash directly before or after it.
        return re.compile(r"(?<![\w-])" + re.escape(self.text) + r"(?![\w-])", re.IGNORECASE)


def exact_terms(query: str) -> list[ExactTerm]:
    """The query's identifiers: tokens no English word looks like.

    A token counts when it mixes letters and digits (``XK-4471``, ``WPA3``), joins word parts
    with ``- _ . ~ ^ / : =`` (``HEAD~2``, ``foo_bar``, ``remote-tracking``) or is a command-line
    option (``--force``, ``-n``). Plain words, even in capitals, do not: ``UPDATE`` or ``LIKE``
    in a question is as often English as SQL; nor do ordinals and the like (``1st``,
    ``1990s``). Each distinct token once, in query order.
    """
    found: dict[str, ExactTerm] = {}
    for raw in _TOKEN.findall(query):
        token = raw.strip(_EDGE_PUNCTUATION).rstrip(".")
        if len(token) < 2:
            continue
        is_option = _OPTION.fullmatch(token) is not None and not token.startswith("-" * 3)
        mixes = (
            _HAS_DIGIT.search(token) is not None
            and _HAS_LETTER.search(token) is not None
            and _NUMBER_WORD.fullmatch(token) is None
        )
        if is_option or mixes or _JOINED.search(token):
            found.setdefault(token.lower(), ExactTerm(token))
    return list(found.values())


def boost_exact_terms(hits: Sequence[SearchHit], query: str, weight: float) -> list[SearchHit]:
    """``hits`` re-ranked with ``weight · top score · (share of the query's identifiers held)``.

    Scaled by the first hit's score so the boost means the same for any fusion (RRF scores are
    ~0.03, weighted ones ~1–2). A query without identifiers, or weight 0: the hits unchanged.
    """
    terms = exact_terms(query) if weight > 0 else []
    if not terms or not hits:
        return list(hits)
    patterns = [(t.text.lower(), t.pattern()) for t in terms]
    unit = weight * max(h.score for h in hits) / len(patterns)
    if unit <= 0:
        return list(hits)
    boosted = []
    for hit in hits:
        lowered = hit.text.lower()
        # The substring test rules most chunks out before the whole-token regex runs.
        held = sum(1 for text, p in patterns if text in lowered and p.search(hit.text))
        boosted.append(replace(hit, score=hit.score + unit * held) if held else hit)
    return _by_score(boosted)


_WORD = re.compile(r"[^\W_]+(?:[-_.~][^\W_]+)*")
_KEPT_ENDING = 3
"""Letters a query word may lose and still count as held (``plants`` in ``plant``,
``migration`` in ``migrate``): a crude stemmer, enough to tell one word of four from all four."""


def query_term_coverage(query: str, text: str) -> float:
    """Share of the query's content words that occur in ``text``, in [0, 1].

    Stop words are ignored; a word counts when its stem — all but its last three letters, at
    least four — is in the text (case-insensitive). A query of stop words only: 1.0.
    """
    words = [w for w in dict.fromkeys(_WORD.findall(query.lower())) if w not in STOPWORDS]
    if not words:
        return 1.0
    lowered = text.lower()
    held = sum(1 for w in words if w[: max(4, len(w) - _KEPT_ENDING)] in lowered)
    return held / len(words)


def page_key(hit: SearchHit) -> str:
    """What ties a chunk to its page: its document title, else its document.

    Documents that share a title count as one page (the sections of a manual page ingested
    apart); a workspace of unrelated files titled alike should turn siblings off.
    """
    title = hit.metadata.get("title") if hit.metadata else None
    if isinstance(title, str) and title.strip():
        return f"title:{title}"
    return f"doc:{hit.document_id}"


def boost_by_siblings(hits: Sequence[SearchHit], weight: float) -> list[SearchHit]:
    """``hits`` re-ranked with ``weight ·`` the best score of another hit of the same page.

    Only the candidates in ``hits`` count (a page's sections that were not retrieved add
    nothing), and a chunk never supports itself. Weight 0: the hits unchanged.
    """
    if weight <= 0 or not hits:
        return list(hits)
    best: dict[str, list[float]] = {}
    for hit in hits:
        top = best.setdefault(page_key(hit), [])
        top.append(hit.score)
        top.sort(reverse=True)
        del top[2:]
    boosted = []
    for hit in hits:
        top = best[page_key(hit)]
        # The best other hit of the page: the second-best score when this hit is the best.
        others = top[1:] if hit.score == top[0] else top[:1]
        boosted.append(replace(hit, score=hit.score + weight * (others[0] if others else 0.0)))
    return _by_score(boosted)


def _by_score(hits: list[SearchHit]) -> list[SearchHit]:
    # Stable: equal scores keep the fused order.
    return sorted(hits, key=lambda h: -h.score)
