"""Operations on workspaces: create, list, read, delete, tune, re-index.

Each takes the transport's ``Backend``, the ``Caller`` and an already-validated request, applies
the access rules (``access.py``) and returns a ``Reply``: the transports only translate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.errors import BadRequest, Conflict, NotFound, ReadOnlyStore, UnsupportedStore
from ..core.models import ChunkingSettings, Workspace
from .access import may_use, require_deleter, require_manager, require_workspace
from .caller import Caller
from .naming import new_workspace_id
from .ports import Backend, Offer
from .views import NO_CONTENT, Reply, workspace_view

if TYPE_CHECKING:  # pydantic loads with the first request that has a body
    from .requests import CreateWorkspace, TuneWorkspace


KNOWLEDGE_BASE_STORE = "knowledgebase"
"""The store kind of a workspace that retrieves from an existing Bedrock knowledge base."""


def _chunking(size: int, overlap: int, **more: object) -> ChunkingSettings:
    try:
        return ChunkingSettings(size, overlap, **more)  # type: ignore[arg-type]
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def create_workspace(backend: Backend, caller: Caller, body: CreateWorkspace) -> Reply:
    """``add_workspace``, answered ``201`` with the workspace."""
    return Reply(201, workspace_view(add_workspace(backend, caller, body)))


def add_workspace(backend: Backend, caller: Caller, body: CreateWorkspace) -> Workspace:
    """A workspace for this deployment's embedding model, on one of its stores (``store``;
    default ``offer.default_store``), owned by the caller and shared with ``groups``.

    Its id is the name's slug (``naming.py``).
    """
    require_manager(caller)
    chunking = _chunking(
        body.chunkSize,
        body.chunkOverlap,
        split_on_headings=body.splitOnHeadings,
        title_mode=body.titleMode,
    )
    embedding = backend.embedding
    if body.embeddingModel is not None and body.embeddingModel != embedding.model_id:
        raise BadRequest(
            f"this deployment embeds with {embedding.model_id!r}; omit embeddingModel or use "
            f"that name ({body.embeddingModel!r} needs another deployment or a re-index)",
            code="unsupported_embedding_model",
        )
    offer = backend.offer
    store = body.store or (KNOWLEDGE_BASE_STORE if body.knowledgeBaseId else offer.default_store)
    if store not in offer.stores:
        raise UnsupportedStore(
            f"store {store!r} is not deployed here; choose one of {', '.join(offer.stores)}"
        )
    _check_knowledge_base(offer, store, body)
    records = backend.records

    def build(workspace_id: str) -> Workspace:
        return Workspace(
            id=workspace_id,
            name=body.name,
            embedding_model=embedding.model_id,
            embedding_dim=embedding.dimension,
            chunking=chunking,
            store=store,
            knowledge_base_id=body.knowledgeBaseId,
            knowledge_base_search_type=body.knowledgeBaseSearchType,
        )

    def taken(workspace_id: str) -> bool:
        return records.workspace_access(workspace_id) is not None

    workspace_id = new_workspace_id(body.name, taken)
    try:
        return records.create_workspace(
            build(workspace_id), owner_id=caller.user_id, groups=body.groups
        )
    except Conflict:
        if records.workspace_access(workspace_id) is None:
            raise  # the name itself is taken (a store that keeps names unique)
    # Another request took the slug meanwhile: the suffixed id cannot collide in practice.
    return records.create_workspace(
        build(new_workspace_id(body.name, lambda _id: True)),
        owner_id=caller.user_id,
        groups=body.groups,
    )


def _check_knowledge_base(offer: Offer, store: str, body: CreateWorkspace) -> None:
    """A ``knowledgebase`` workspace names one of the stack's knowledge bases; no other does."""
    if store != KNOWLEDGE_BASE_STORE:
        if body.knowledgeBaseId or body.knowledgeBaseSearchType:
            raise BadRequest(
                f"knowledgeBaseId belongs to store {KNOWLEDGE_BASE_STORE!r}, not {store!r}",
                code="invalid_knowledge_base",
            )
        return
    if not body.knowledgeBaseId:
        raise BadRequest(
            "a knowledgebase workspace needs knowledgeBaseId, the 10-character id of an "
            "existing Bedrock knowledge base",
            code="invalid_knowledge_base",
        )
    if body.knowledgeBaseId not in offer.knowledge_bases:
        allowed = ", ".join(offer.knowledge_bases) or "none"
        raise BadRequest(
            f"knowledge base {body.knowledgeBaseId} is not one this stack may retrieve from "
            f"(allowed: {allowed}); add it to chorus:knowledgeBases and run pulumi up",
            code="invalid_knowledge_base",
        )


def require_writable(workspace: Workspace) -> None:
    """``ReadOnlyStore`` for a workspace whose store is fed by something else (a Bedrock
    knowledge base syncs its own data sources): nothing is uploaded, fetched or stored."""
    if workspace.knowledge_base_id:
        raise ReadOnlyStore(
            f"workspace {workspace.name!r} retrieves from Bedrock knowledge base "
            f"{workspace.knowledge_base_id}, which indexes its own data sources: add the "
            "document to one of them and start a sync; chorus does not ingest into it"
        )


def list_workspaces(backend: Backend, caller: Caller) -> Reply:
    """The workspaces the caller may use, oldest first."""
    records = backend.records
    visible = []
    for workspace in records.list_workspaces():
        access = records.workspace_access(workspace.id)
        if access is not None and may_use(caller, access):
            visible.append(workspace_view(workspace))
    return Reply(200, {"workspaces": visible})


def find_workspace(backend: Backend, caller: Caller, workspace_id: str) -> Workspace:
    """The workspace if the caller may use it; ``NotFound`` otherwise."""
    require_workspace(backend.records, caller, workspace_id)
    workspace = backend.records.get_workspace(workspace_id)
    if workspace is None:
        raise NotFound(f"workspace {workspace_id!r} does not exist")
    return workspace


def get_workspace(backend: Backend, caller: Caller, workspace_id: str) -> Reply:
    """The workspace with its document count."""
    workspace = find_workspace(backend, caller, workspace_id)
    documents = backend.records.list_documents(workspace.id)
    return Reply(200, workspace_view(workspace, len(documents)))


def delete_workspace(backend: Backend, caller: Caller, workspace_id: str) -> Reply:
    """Delete the workspace, its chunks (from its own store), its document records and its
    uploaded files; its sessions stay readable by their users. ``204``."""
    access = require_workspace(backend.records, caller, workspace_id)
    require_deleter(caller, access)
    backend.chunks.delete_workspace(workspace_id)
    backend.records.delete_workspace(workspace_id)
    files = backend.files
    if files is not None:
        files.delete_prefix(files.document_prefix(workspace_id))
    backend.forget_workspace(workspace_id)
    return NO_CONTENT


def start_reindex(backend: Backend, caller: Caller, workspace_id: str) -> Reply:
    """Re-index every document of the workspace (the cloud's Step Functions ``Map``). ``202``."""
    require_workspace(backend.records, caller, workspace_id)
    return Reply(202, _reindex(backend, workspace_id))


def _reindex(backend: Backend, workspace_id: str) -> dict[str, object]:
    reindexer = backend.reindexer
    if reindexer is None:
        raise _not_deployed("re-indexing is not deployed here")
    documents = [
        {"documentId": d.id, "name": d.name} for d in backend.records.list_documents(workspace_id)
    ]
    return {"executionArn": reindexer.start(workspace_id, documents), "documents": len(documents)}


def _not_deployed(what: str) -> BadRequest:
    return BadRequest(
        f"{what} (no re-index workflow); change only the retrieval settings, or re-ingest the "
        "documents (chorus tune retrieval --source DIR does it locally)",
        code="not_deployed",
    )


def tune_workspace(
    backend: Backend, caller: Caller, workspace_id: str, body: TuneWorkspace
) -> Reply:
    """Store tuned chunking and retrieval settings on the workspace.

    The retriever reads the retrieval overrides from the record; a chunking change re-indexes
    every document, so it needs a ``reindexer`` (else 400 ``not_deployed`` and nothing changes).
    ``200`` with the workspace and ``reindex`` (the started run, or null).
    """
    from ..core.retrieval import RetrievalSettings  # imports numpy: only when tuning

    require_manager(caller)
    current = find_workspace(backend, caller, workspace_id)
    chunking = _chunking(
        body.chunkSize,
        body.chunkOverlap,
        split_on_headings=body.splitOnHeadings,
        title_mode=body.titleMode,
    )
    RetrievalSettings().with_overrides(body.retrieval)  # BadRequest names a bad key or value
    rechunk = chunking != current.chunking
    if rechunk and backend.reindexer is None:
        raise _not_deployed("a chunking change re-indexes the workspace, which cannot run here")
    updated = backend.records.update_workspace_settings(workspace_id, chunking, body.retrieval)
    reindex = _reindex(backend, workspace_id) if rechunk else None
    backend.forget_workspace(workspace_id)
    return Reply(200, {**workspace_view(updated), "reindex": reindex})
