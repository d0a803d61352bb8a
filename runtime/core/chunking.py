"""Cut document text into overlapping chunks with stable, content-derived ids.

The splitter is langchain's recursive character splitter (paragraphs, then lines, then
sentences, then words), sized per workspace by ``ChunkingSettings``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from .models import ChunkingSettings

_SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""]


@dataclass(frozen=True)
class ChunkDraft:
    """A chunk before embedding: its id, position and text."""

    id: str
    ordinal: int
    text: str
    start: int


def content_hash(data: bytes | str) -> str:
    """SHA-256 hex digest; documents and chunks are compared by it."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()


def chunk_id(workspace_id: str, document_id: str, ordinal: int, text: str) -> str:
    """Deterministic chunk id from (workspace, document, ordinal, content hash).

    The same text at the same place always gets the same id, so a retried upsert overwrites
    instead of duplicating, and any change of content yields a new id.
    """
    key = "\x1f".join((workspace_id, document_id, str(ordinal), content_hash(text)))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def split_text(
    text: str, workspace_id: str, document_id: str, settings: ChunkingSettings
) -> list[ChunkDraft]:
    """Split ``text`` into chunks of at most ``settings.chunk_size`` characters."""
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        separators=_SEPARATORS,
        keep_separator="end",
        add_start_index=True,
        strip_whitespace=True,
    )
    drafts: list[ChunkDraft] = []
    for ordinal, piece in enumerate(splitter.create_documents([text])):
        body = piece.page_content
        drafts.append(
            ChunkDraft(
                id=chunk_id(workspace_id, document_id, ordinal, body),
                ordinal=ordinal,
                text=body,
                start=int(piece.metadata.get("start_index", -1)),
            )
        )
    return drafts
