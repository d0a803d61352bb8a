"""Re-indexing one document (a Map item): re-embeds even when the bytes did not change."""

from __future__ import annotations

import pytest
from chorus.runtime.core.errors import NotFound
from chorus.runtime.core.models import ChunkingSettings, DocumentStatus, Workspace
from chorus.runtime.handlers import reindex_document
from pydantic import ValidationError

TEXT = b"The XK-4471 signing key rotates every ninety days. Restore old keys from the vault."


def test_a_document_is_re_embedded_from_its_uploaded_file(stack, services, context):
    workspace = services.metadata.create_workspace(
        Workspace("ops", "Ops", services.embedder.model_id, 384, ChunkingSettings(200, 40))
    )
    key = "workspaces/ops/d1/keys.txt"
    stack.client("s3").put_object(Bucket=stack.bucket, Key=key, Body=TEXT)
    services.ingestor.ingest(workspace, "keys.txt", TEXT, document_id="d1")
    services.store.delete_document("ops", "d1")  # as if the chunk table had been rebuilt

    result = reindex_document.handler(
        {"workspaceId": "ops", "document": {"documentId": "d1", "name": "keys.txt"}}, context
    )

    assert result["outcome"] == "indexed"
    assert services.store.count_chunks("ops", "d1") == result["chunks"] >= 1
    assert services.metadata.get_document("ops", "d1").status is DocumentStatus.INDEXED


def test_a_bad_item_or_missing_workspace_raises_for_the_state_machine(stack, services, context):
    with pytest.raises(ValidationError):
        reindex_document.handler({"workspaceId": "ops"}, context)
    with pytest.raises(NotFound):
        reindex_document.handler(
            {"workspaceId": "nope", "document": {"documentId": "d", "name": "a.md"}}, context
        )
