"""The ports: what the core needs from the outside world, as ``typing.Protocol``s.

Each port has a cloud adapter and a local adapter in ``runtime/adapters``. The core only ever
sees these protocols, so it imports no SDK and no driver.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .models import (
    ChatMessage,
    Chunk,
    ChunkingSettings,
    Document,
    DocumentStatus,
    LLMDelta,
    SearchHit,
    Session,
    StoredMessage,
    Workspace,
)

if TYPE_CHECKING:  # annotations only: a handler importing a port does not load numpy
    import numpy as np


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised vectors.

    ``kind`` tells an e5-style model which prefix to add: ``"query"`` for questions,
    ``"passage"`` for indexed text. Models without prefixes ignore it.
    """

    model_id: str
    dimension: int

    def embed(self, texts: Sequence[str], *, kind: str = "passage") -> np.ndarray:
        """Return a float32 array of shape ``(len(texts), dimension)``."""
        ...


@runtime_checkable
class Reranker(Protocol):
    """Scores (query, passage) pairs; higher means more relevant."""

    model_id: str

    def score(self, query: str, passages: Sequence[str]) -> list[float]: ...


@runtime_checkable
class VectorStore(Protocol):
    """Chunks with embeddings, searchable by vector and (where supported) by keywords.

    Every call is scoped to one workspace; an implementation must never return another
    workspace's chunks.
    """

    supports_keyword_search: bool

    def replace_document_chunks(
        self, workspace_id: str, document_id: str, chunks: Sequence[Chunk]
    ) -> None:
        """Atomically make ``chunks`` the only chunks of the document (idempotent by chunk id)."""
        ...

    def delete_document(self, workspace_id: str, document_id: str) -> int:
        """Delete every chunk of a document; return how many were deleted."""
        ...

    def delete_workspace(self, workspace_id: str) -> int: ...

    def vector_search(
        self,
        workspace_id: str,
        embedding: np.ndarray,
        k: int,
        filters: Mapping[str, Any] | None = None,
    ) -> list[SearchHit]:
        """Top-k chunks by cosine similarity (score = similarity, higher is better)."""
        ...

    def keyword_search(
        self,
        workspace_id: str,
        query: str,
        k: int,
        filters: Mapping[str, Any] | None = None,
    ) -> list[SearchHit]:
        """Top-k chunks by the store's full-text ranking. Raises if unsupported."""
        ...

    def chunk_embeddings(self, workspace_id: str, chunk_ids: Sequence[str]) -> dict[str, Any]:
        """Embeddings of the given chunks (for MMR), keyed by chunk id."""
        ...

    def count_chunks(self, workspace_id: str, document_id: str | None = None) -> int: ...


@runtime_checkable
class MetadataStore(Protocol):
    """Workspaces, documents (with status and counts), sessions and messages."""

    def create_workspace(self, workspace: Workspace) -> Workspace: ...
    def get_workspace(self, workspace_id: str) -> Workspace | None: ...
    def list_workspaces(self) -> list[Workspace]: ...
    def delete_workspace(self, workspace_id: str) -> None: ...
    def update_workspace_settings(
        self, workspace_id: str, chunking: ChunkingSettings, retrieval: Mapping[str, Any]
    ) -> Workspace:
        """Store tuned chunking and retrieval overrides; ``NotFound`` for an unknown id."""
        ...

    def get_document(self, workspace_id: str, document_id: str) -> Document | None: ...
    def list_documents(
        self, workspace_id: str, *, status: DocumentStatus | None = None
    ) -> list[Document]:
        """Documents of a workspace; ``status`` narrows to one status."""
        ...

    def put_document(self, document: Document) -> None: ...
    def set_document_status(
        self,
        workspace_id: str,
        document_id: str,
        status: DocumentStatus,
        *,
        chunk_count: int | None = None,
        error: str | None = None,
    ) -> None:
        """Set a document's status (absent → no-op); clears any recorded progress."""
        ...

    def set_document_progress(
        self, workspace_id: str, document_id: str, embedded: int, total: int
    ) -> None:
        """Record that ``embedded`` of ``total`` chunks of a ``processing`` document are embedded.

        Sets ``chunks_embedded = embedded`` and ``chunk_count = total``; a no-op unless the
        document exists and is ``processing`` (a late write never decorates an indexed one).
        """
        ...

    def claim_document(self, document: Document) -> bool:
        """Write the record of a new upload unless a newer ``version`` is recorded (False)."""
        ...

    def lock_document_commit(
        self,
        workspace_id: str,
        document_id: str,
        version: str,
        content_hash: str,
        *,
        now: float,
        lease_s: float,
    ) -> str:
        """Take the commit lease of this version and bytes for ``lease_s`` seconds:
        ``locked``, ``superseded`` (no longer the newest) or ``busy`` (another commit holds it)."""
        ...

    def finish_document_commit(
        self,
        workspace_id: str,
        document_id: str,
        version: str,
        content_hash: str,
        *,
        status: DocumentStatus,
        chunk_count: int,
        error: str | None = None,
    ) -> bool:
        """Release the lease; set ``status`` only while this version is the newest (True)."""
        ...

    def delete_document(self, workspace_id: str, document_id: str) -> None: ...

    def create_session(self, session: Session) -> Session: ...
    def get_session(self, session_id: str) -> Session | None: ...
    def list_sessions(self, user_id: str) -> list[Session]: ...
    def delete_session(self, session_id: str) -> None: ...
    def add_message(self, message: StoredMessage) -> None: ...
    def list_messages(self, session_id: str) -> list[StoredMessage]: ...


@runtime_checkable
class LLMProvider(Protocol):
    """A chat model that streams its answer.

    The last ``LLMDelta`` of the stream carries the token usage the provider reported.
    Failures raise ``ProviderError`` subclasses with a stable code.
    """

    name: str

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float = 0.0,
        max_tokens: int = 512,
    ) -> Iterator[LLMDelta]: ...


@runtime_checkable
class Delivery(Protocol):
    """Sends server → client chat events (already-validated dicts) to one connection."""

    def send(self, connection_id: str, event: Mapping[str, Any]) -> bool:
        """Return False when the connection is gone (the caller stops sending to it)."""
        ...


@runtime_checkable
class WorkSender(Protocol):
    """Hands one JSON message to a worker that runs it later: a queue its event source polls,
    or an asynchronous invocation of the worker (no queue, nothing billed while idle).

    Raises when the message was not accepted, so the caller can tell its client.
    """

    def send(self, body: str) -> None: ...
