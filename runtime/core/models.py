"""Domain records shared by the core, the adapters and the handlers.

Plain frozen dataclasses: they cross the port boundary, so they carry no behaviour that needs a
driver. Wire formats (the chat protocol, REST bodies) are pydantic models in ``protocol.py``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class DocumentStatus(enum.StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    INDEXED = "indexed"
    FAILED = "failed"


TITLE_MODES = ("keyword", "embed", "none")


@dataclass(frozen=True)
class ChunkingSettings:
    """How a workspace cuts documents into chunks.

    Defaults: 1,000 characters with 200 characters of overlap, split on paragraphs, then lines,
    then sentences, then words (langchain's recursive splitter). MiniLM reads 256 tokens, so
    ~1,000 characters of English fit without truncation.

    split_on_headings: cut Markdown at its headings first, so no chunk spans two sections.
    title_mode: where a chunk's ``title › heading`` path goes (``chunking.py``): ``keyword``
        (stored text and keyword search, not the embedding), ``embed`` (the embedding too) or
        ``none`` (metadata only).
    """

    chunk_size: int = 1000
    chunk_overlap: int = 200
    split_on_headings: bool = True
    title_mode: str = "keyword"

    def __post_init__(self) -> None:
        if self.chunk_size < 50:
            raise ValueError("chunk_size must be at least 50 characters")
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise ValueError("chunk_overlap must be >= 0 and smaller than chunk_size")
        if self.title_mode not in TITLE_MODES:
            raise ValueError(f"title_mode must be one of {', '.join(TITLE_MODES)}")


@dataclass(frozen=True)
class Workspace:
    id: str
    name: str
    embedding_model: str
    embedding_dim: int
    chunking: ChunkingSettings = field(default_factory=ChunkingSettings)
    store: str = "pgvector"
    created_at: datetime | None = None
    retrieval: Mapping[str, Any] = field(default_factory=dict)
    """Tuned overrides of ``RetrievalSettings`` (``chorus tune retrieval``); empty: defaults."""
    knowledge_base_id: str | None = None
    """With ``store == "knowledgebase"``: the Bedrock knowledge base the workspace retrieves
    from (it syncs its own data sources; chorus ingests nothing into it)."""
    knowledge_base_search_type: str | None = None
    """``HYBRID`` or ``SEMANTIC`` (Retrieve's ``overrideSearchType``); None: the knowledge base's
    own choice."""


@dataclass(frozen=True)
class Document:
    """A document's record: what was uploaded and how far indexing got.

    ``chunk_count`` is the number of chunks indexed; while a large document is ``processing``
    across several invocations it is the number of chunks to embed, and ``chunks_embedded`` the
    number embedded so far (``None`` when no progress was recorded: any status change clears it).
    """

    workspace_id: str
    id: str
    name: str
    content_hash: str
    status: DocumentStatus
    chunk_count: int = 0
    size_bytes: int = 0
    content_type: str = ""
    error: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    chunks_embedded: int | None = None
    version: str = ""
    """The newest upload of the document seen so far (``document_version`` of the S3 event's
    sequencer; '' where uploads are not ordered): an older version never overwrites it."""


@dataclass(frozen=True)
class Chunk:
    """One indexed piece of a document, with its embedding."""

    id: str
    workspace_id: str
    document_id: str
    ordinal: int
    text: str
    embedding: tuple[float, ...] | Any
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchHit:
    """A chunk a retriever returned, with the score that retriever gave it (higher is better)."""

    chunk_id: str
    document_id: str
    ordinal: int
    text: str
    score: float
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChatMessage:
    """One turn sent to an LLM: role is ``system``, ``user`` or ``assistant``."""

    role: str
    content: str


@dataclass(frozen=True)
class TokenUsage:
    input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens
        )


@dataclass(frozen=True)
class LLMDelta:
    """A piece of a streamed completion. The last delta of a stream carries ``usage``."""

    text: str = ""
    usage: TokenUsage | None = None


@dataclass(frozen=True)
class Session:
    id: str
    user_id: str
    workspace_id: str
    title: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class StoredMessage:
    """A user or assistant turn of a session, as the MetadataStore keeps it."""

    session_id: str
    id: str
    role: str
    content: str
    details: Mapping[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None


@dataclass(frozen=True)
class WorkspaceAccess:
    """Who may use a workspace: its creator and members of any of its groups."""

    workspace_id: str
    owner_id: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Feedback:
    """A user's verdict on one assistant message."""

    session_id: str
    message_id: str
    user_id: str
    rating: str
    comment: str = ""
    created_at: datetime | None = None
