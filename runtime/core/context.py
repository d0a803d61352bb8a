"""Assemble retrieved chunks into a prompt context with numbered citations, within a budget."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .models import SearchHit

TokenCounter = Callable[[str], int]

_TOKENISH = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def approximate_token_count(text: str) -> int:
    """Word pieces and punctuation marks, x1.3 for sub-word splits: a safe upper estimate
    for BPE/WordPiece tokenisers when the model's own tokenizer is not at hand."""
    return int(len(_TOKENISH.findall(text)) * 1.3) + 1


@dataclass(frozen=True)
class Citation:
    """One numbered source of a context: ``[number]`` in the prompt and the answer."""

    number: int
    hit: SearchHit

    @property
    def document_name(self) -> str:
        return str(self.hit.metadata.get("document_name", self.hit.document_id))


@dataclass(frozen=True)
class AssembledContext:
    text: str
    citations: list[Citation]
    tokens: int


def assemble_context(
    hits: Sequence[SearchHit],
    *,
    budget_tokens: int,
    count_tokens: TokenCounter = approximate_token_count,
) -> AssembledContext:
    """Add chunks in rank order while they fit in ``budget_tokens``; skip ones that do not.

    Each chunk becomes ``[n] (document name)\\n text`` so a model can cite it by number.
    """
    parts: list[str] = []
    citations: list[Citation] = []
    used = 0
    for hit in hits:
        number = len(citations) + 1
        name = str(hit.metadata.get("document_name", hit.document_id))
        block = f"[{number}] ({name})\n{hit.text.strip()}"
        cost = count_tokens(block) + 2
        if used + cost > budget_tokens:
            continue
        parts.append(block)
        citations.append(Citation(number, hit))
        used += cost
    return AssembledContext("\n\n".join(parts), citations, used)
