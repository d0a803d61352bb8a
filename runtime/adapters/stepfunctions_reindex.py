"""Re-indexing through the Standard ``Map`` workflow (``components/workflows.py``).

The workflow's input is ``{"workspaceId", "documents": [{"documentId", "name"}, ...]}``; each
document is re-ingested from its uploaded file by the ``reindex_document`` Lambda.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


class StepFunctionsReindexer:
    """``Reindexer`` port: starts one execution of the re-index state machine per request."""

    def __init__(self, client: Any, state_machine_arn: str) -> None:
        self._client = client
        self.state_machine_arn = state_machine_arn

    def start(self, workspace_id: str, documents: Sequence[Mapping[str, str]]) -> str:
        execution = self._client.start_execution(
            stateMachineArn=self.state_machine_arn,
            input=json.dumps({"workspaceId": workspace_id, "documents": list(documents)}),
        )
        return str(execution["executionArn"])
