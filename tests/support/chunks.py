"""Chunks with deterministic random unit embeddings, for the vector store tests."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
from chorus.runtime.core.models import Chunk, SearchHit


def unit_vectors(n: int, seed: int, dim: int) -> np.ndarray:
    """``n`` seeded random unit vectors of ``dim`` dimensions (float32)."""
    vectors = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def make_chunk(
    workspace: str,
    document: str,
    ordinal: int,
    text: str = "",
    *,
    dim: int,
    embedding: np.ndarray | None = None,
    metadata: dict[str, Any] | None = None,
) -> Chunk:
    """A chunk whose id, text and (unless given) embedding derive from its position."""
    chunk_id = f"{workspace}/{document}/{ordinal}"
    if embedding is None:
        embedding = unit_vectors(1, zlib.crc32(chunk_id.encode()), dim)[0]
    return Chunk(
        id=chunk_id,
        workspace_id=workspace,
        document_id=document,
        ordinal=ordinal,
        text=text or f"chunk {ordinal} of {document}",
        embedding=embedding,
        metadata=metadata or {},
    )


def ids(hits: Sequence[SearchHit]) -> list[str]:
    return [h.chunk_id for h in hits]


def relay_log(sections: int) -> bytes:
    """A document of ``sections`` distinct ~160-character paragraphs (one chunk each at small
    chunk sizes): what the "too large for one invocation" tests ingest across several calls."""
    return "\n\n".join(
        f"Section {i}. The relay station {i} forwards telemetry of probe {i % 7} every {i + 3} "
        f"minutes; operators check its antenna heater and battery log before each pass."
        for i in range(sections)
    ).encode()
