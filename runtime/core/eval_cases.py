"""Evaluation cases: one question, the documents that answer it, and what a good answer is.

The unit both halves of continuous evaluation share: ``chorus eval answers`` scores a list of
``EvalCase`` (read from BEIR-format files, or a workspace's eval set), and a workspace's eval
set stores them (made from a turn marked as a case, from feedback, or generated from chunks).
Document ids are the workspace's document ids, or the corpus ``_id`` of BEIR files: citation
precision and recall compare the sources an answer cites with ``relevant_document_ids``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

CaseOrigin = Literal["file", "manual", "feedback", "generated"]
"""Where a case came from: BEIR files, a turn marked as a case in the app, a thumbs-down or
thumbs-up turn, or a question generated from a sampled chunk (synthetic)."""

CaseStatus = Literal["candidate", "accepted", "rejected"]
"""Feedback makes candidates; a workspace manager accepts (then the case is evaluated) or
rejects them. Cases from files, the app and the generator are accepted when made."""


@dataclass(frozen=True)
class EvalCase:
    """One question to ask and how to judge the answer.

    ``answerable=False`` marks a question the workspace cannot answer: the right answer declines
    (refusal correctness). ``reference_answer`` is optional; with it the report scores answer
    similarity. ``relevant_document_ids`` may be empty only for unanswerable cases.
    """

    id: str
    question: str
    relevant_document_ids: tuple[str, ...] = ()
    reference_answer: str | None = None
    answerable: bool = True
    origin: CaseOrigin = "file"
    status: CaseStatus = "accepted"
    note: str | None = None
    """Free text kept with the case: the feedback comment, the generator's source chunk id."""
    tags: tuple[str, ...] = field(default=())

    @property
    def synthetic(self) -> bool:
        """Generated cases are flagged as such in every report."""
        return self.origin == "generated"
