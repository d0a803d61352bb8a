"""Generated eval sets: questions an LLM writes from sampled chunks, kept only when useful.

For a workspace without an eval set. Each sampled chunk goes to the LLM with a prompt asking
for questions the passage answers (and a one-sentence answer from it); each question is
labelled with its source chunk and document, then filtered:

1. it must retrieve its chunk: the chunk is among the first ``k`` hits of the workspace's
   real retriever (a question that does not is vague, or answered elsewhere);
2. near-duplicates are dropped: a question whose embedding cosine with an already kept one is
   at least ``duplicate_threshold`` adds nothing.

Kept questions become ``EvalCase(origin="generated")``: synthetic, and flagged so in every
report. Every dropped question is returned with its reason, so a user can see what the filter
did.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .eval_cases import EvalCase
from .models import ChatMessage
from .ports import Embedder, LLMProvider
from .retrieval import Retriever

__all__ = [
    "GenerationResult",
    "SourceChunk",
    "generate_cases",
    "parse_questions",
    "sample_chunks",
]

PROMPT = (
    "Write {n} question(s) that the passage below answers on its own, each one the way a "
    "user would ask it, followed by a one-sentence answer taken from the passage. Use exactly "
    "this format for each:\nQuestion: ...\nAnswer: ...\n\nPassage:\n{passage}"
)
_PAIR = re.compile(r"^\s*(?:\d+[.)]\s*)?(question|answer)\s*:\s*(.+?)\s*$", re.I | re.M)


@dataclass(frozen=True)
class SourceChunk:
    """A chunk a question may be generated from, as the workspace stores it."""

    chunk_id: str
    document_id: str
    text: str


@dataclass
class GenerationResult:
    """The kept cases, and every dropped question with why it was dropped."""

    cases: list[EvalCase] = field(default_factory=list)
    dropped: list[dict[str, str]] = field(default_factory=list)


def sample_chunks(chunks: Sequence[SourceChunk], count: int, seed: int = 0) -> list[SourceChunk]:
    """``count`` chunks drawn without replacement (all when there are fewer); reproducible."""
    if count >= len(chunks):
        return list(chunks)
    return random.Random(seed).sample(list(chunks), count)


def parse_questions(reply: str) -> list[tuple[str, str | None]]:
    """``(question, answer or None)`` pairs from ``Question: / Answer:`` lines, in order."""
    pairs: list[tuple[str, str | None]] = []
    for label, text in _PAIR.findall(reply):
        if label.lower() == "question":
            pairs.append((text, None))
        elif pairs and pairs[-1][1] is None:
            pairs[-1] = (pairs[-1][0], text)
    return pairs


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1.0, norms)


def generate_cases(
    provider: LLMProvider,
    retriever: Retriever,
    embedder: Embedder,
    workspace_id: str,
    chunks: Sequence[SourceChunk],
    *,
    per_chunk: int = 1,
    k: int = 5,
    duplicate_threshold: float = 0.9,
    max_tokens: int = 200,
) -> GenerationResult:
    """Ask ``provider`` for ``per_chunk`` questions per chunk and keep the useful ones."""
    result = GenerationResult()
    kept_vectors: list[np.ndarray] = []
    for chunk in chunks:
        prompt = PROMPT.format(n=per_chunk, passage=chunk.text.strip())
        reply = "".join(
            d.text
            for d in provider.stream_chat(
                [ChatMessage("user", prompt)], temperature=0.0, max_tokens=max_tokens
            )
        )
        pairs = parse_questions(reply)[:per_chunk]
        if not pairs:
            result.dropped.append(
                {"chunk": chunk.chunk_id, "question": "", "reason": "no question in the reply"}
            )
        for question, answer in pairs:
            hits = retriever.retrieve(workspace_id, question)[:k]
            if chunk.chunk_id not in [h.chunk_id for h in hits]:
                reason = f"does not retrieve its chunk in the first {k}"
                result.dropped.append(
                    {"chunk": chunk.chunk_id, "question": question, "reason": reason}
                )
                continue
            vector = _unit(np.asarray(embedder.embed([question], kind="query"), np.float64))[0]
            if kept_vectors and float(np.max(np.stack(kept_vectors) @ vector)) >= (
                duplicate_threshold
            ):
                result.dropped.append(
                    {"chunk": chunk.chunk_id, "question": question, "reason": "near-duplicate"}
                )
                continue
            kept_vectors.append(vector)
            digest = hashlib.sha256(f"{chunk.chunk_id}\x1f{question}".encode()).hexdigest()
            result.cases.append(
                EvalCase(
                    id=f"gen-{digest[:12]}",
                    question=question,
                    relevant_document_ids=(chunk.document_id,),
                    reference_answer=answer,
                    origin="generated",
                    note=f"generated from chunk {chunk.chunk_id}",
                )
            )
    return result
