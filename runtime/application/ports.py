"""What the application layer needs from a transport's wiring, as ``typing.Protocol``s.

Each transport hands the operations one ``Backend``: the local server builds it from its open
services, the REST Lambda from ``runtime.cloud.rest_wiring`` (which builds each part on first
use, so a request that lists workspaces never loads an embedder or a vector store). Nothing
here imports numpy or an SDK at run time: the REST Lambda's cold start pays for what it runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ..core.models import (
    ChunkingSettings,
    Document,
    DocumentStatus,
    Feedback,
    Session,
    StoredMessage,
    Workspace,
    WorkspaceAccess,
)

if TYPE_CHECKING:
    from ..core.api_keys import ApiKey, Usage
    from ..core.eval_cases import CaseStatus, EvalCase
    from ..core.ingestion import IngestResult
    from ..core.protocol import SendMessageData
    from ..core.source_sync import Source, SourceReport
    from ..core.sources import QAPair


class AccessRecords(Protocol):
    def workspace_access(self, workspace_id: str) -> WorkspaceAccess | None:
        """Owner and groups of a workspace; None when it does not exist."""
        ...


class Records(AccessRecords, Protocol):
    """The records the operations read and write (``MetadataStore`` plus access and feedback)."""

    def create_workspace(
        self, workspace: Workspace, *, owner_id: str = "", groups: Sequence[str] = ()
    ) -> Workspace: ...
    def get_workspace(self, workspace_id: str) -> Workspace | None: ...
    def list_workspaces(self) -> list[Workspace]: ...
    def delete_workspace(self, workspace_id: str) -> None: ...
    def update_workspace_settings(
        self, workspace_id: str, chunking: ChunkingSettings, retrieval: Mapping[str, Any]
    ) -> Workspace: ...
    def get_document(self, workspace_id: str, document_id: str) -> Document | None: ...
    def list_documents(
        self, workspace_id: str, *, status: DocumentStatus | None = None
    ) -> list[Document]: ...
    def put_document(self, document: Document) -> None: ...
    def get_session(self, session_id: str) -> Session | None: ...
    def list_sessions(self, user_id: str) -> list[Session]: ...
    def delete_session(self, session_id: str) -> None: ...
    def list_messages(self, session_id: str) -> list[StoredMessage]: ...
    def put_feedback(self, feedback: Feedback) -> Feedback:
        """Record or replace feedback on an assistant message; ``NotFound`` otherwise."""
        ...

    def list_feedback(self, session_id: str) -> list[Feedback]: ...


class EvalCases(Protocol):
    """A workspace's eval set (``core.eval_cases.EvalCase``), kept with the workspace's records:
    PostgreSQL locally, the workspace table in the cloud. Deleting the workspace deletes its set.
    """

    def put_case(self, workspace_id: str, case: EvalCase) -> EvalCase:
        """Create the case, or replace the one with its id."""
        ...

    def get_case(self, workspace_id: str, case_id: str) -> EvalCase | None: ...
    def list_cases(self, workspace_id: str, *, status: CaseStatus | None = None) -> list[EvalCase]:
        """The workspace's cases, oldest first, narrowed to one ``status`` when given."""
        ...

    def delete_case(self, workspace_id: str, case_id: str) -> bool:
        """Delete the case; False when there was none."""
        ...


class ChunkStore(Protocol):
    def delete_workspace(self, workspace_id: str) -> int:
        """Delete every chunk of the workspace; return how many."""
        ...


class DocumentIndex(Protocol):
    """Documents in and out of a workspace's index (``core.ingestion.Ingestor``)."""

    def ingest(self, workspace: Workspace, name: str, data: bytes) -> IngestResult: ...
    def delete(self, workspace_id: str, document_id: str) -> int: ...


class UploadTicket(Protocol):
    """Where and how to send one file's bytes (a presigned request)."""

    @property
    def url(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def headers(self) -> dict[str, str]: ...
    @property
    def method(self) -> str: ...
    @property
    def expires_at(self) -> int: ...


class DocumentFiles(Protocol):
    """Where uploaded files are kept (the cloud's S3 bucket; the local server keeps none)."""

    def upload_ticket(
        self, workspace_id: str, document_id: str, name: str, content_type: str, size_bytes: int
    ) -> UploadTicket: ...
    def document_prefix(self, workspace_id: str, document_id: str | None = None) -> str: ...
    def delete_prefix(self, prefix: str) -> int: ...


class Reindexer(Protocol):
    def start(self, workspace_id: str, documents: Sequence[Mapping[str, str]]) -> str:
        """Start re-indexing these documents; returns the run's id (an execution ARN)."""
        ...


class EmbeddingModel(Protocol):
    """The identity of the deployment's embedder (any ``Embedder`` is one)."""

    @property
    def model_id(self) -> str: ...
    @property
    def dimension(self) -> int: ...


@dataclass(frozen=True)
class Offer:
    """What a deployment offers new workspaces.

    stores: the vector stores a workspace may pick; default_store: the one it gets otherwise.
    max_upload_bytes: the largest document accepted.
    knowledge_bases: the Bedrock knowledge bases a workspace may retrieve from.
    """

    stores: tuple[str, ...]
    default_store: str
    max_upload_bytes: int
    knowledge_bases: tuple[str, ...] = ()
    """Bedrock knowledge base ids a ``knowledgebase`` workspace may point at (the ones the
    stack's functions may ``bedrock:Retrieve`` from)."""


class Backend(Protocol):
    """Everything the operations touch; attributes may be built on first use."""

    @property
    def offer(self) -> Offer: ...
    @property
    def records(self) -> Records: ...
    @property
    def eval_cases(self) -> EvalCases: ...
    @property
    def chunks(self) -> ChunkStore: ...
    @property
    def index(self) -> DocumentIndex: ...
    @property
    def embedding(self) -> EmbeddingModel: ...
    @property
    def files(self) -> DocumentFiles | None: ...
    @property
    def reindexer(self) -> Reindexer | None: ...

    def forget_workspace(self, workspace_id: str) -> None:
        """Drop what the process cached about a workspace (answers, loaded chunks)."""
        ...


class Sources(Protocol):
    """Sites, feeds, text and Q&A pairs into a workspace (``core.source_sync.SourceIngest``)."""

    def add_site(
        self, workspace: Workspace, url: str, *, max_depth: int | None, max_pages: int | None
    ) -> SourceReport: ...
    def add_feed(self, workspace: Workspace, url: str) -> SourceReport: ...
    def add_text(self, workspace: Workspace, name: str, text: str) -> IngestResult: ...
    def add_qa(self, workspace: Workspace, pairs: Sequence[QAPair]) -> list[IngestResult]: ...
    def sync(self, workspace: Workspace) -> list[SourceReport]: ...
    def list_sources(self, workspace_id: str) -> list[Source]: ...


class SourceBackend(Backend, Protocol):
    """A ``Backend`` that can also fetch sources (the local server; the cloud does not yet)."""

    @property
    def sources(self) -> Sources | None: ...


class ApiKeys(Protocol):
    """A workspace's API keys and what each has spent (``core.api_keys``): PostgreSQL locally,
    items of the workspace table in the cloud. Deleting the workspace deletes its keys."""

    def add_key(self, key: ApiKey) -> None: ...
    def get_key(self, workspace_id: str, key_id: str) -> ApiKey | None: ...
    def list_keys(self, workspace_id: str) -> list[ApiKey]:
        """Oldest first, revoked ones included."""
        ...

    def revoke_key(self, workspace_id: str, key_id: str, at: float) -> ApiKey | None:
        """Mark the key revoked (a second revoke keeps the first time); None if unknown."""
        ...

    def spend(self, workspace_id: str, key_id: str, now: float) -> Usage:
        """Admit one request atomically (``core.api_keys.admit`` on the stored usage);
        ``LimitExceeded`` stores nothing, ``RevokedApiKey``/``InvalidApiKey`` if the key was
        revoked or deleted meanwhile."""
        ...


class ChatAnswers(Protocol):
    """``core.chat.ChatService`` as the public API uses it."""

    def chat(
        self, request: SendMessageData, *, user_id: str, send: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any]: ...


class PublicBackend(Backend, Protocol):
    """A ``Backend`` that also keeps API keys and answers questions (the public API)."""

    @property
    def api_keys(self) -> ApiKeys: ...
    @property
    def answers(self) -> ChatAnswers: ...
