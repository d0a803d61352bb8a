"""Publishes ``document-changed`` on SNS after a document is indexed or deleted.

Subscribers (the chat worker's cache-invalidation queue, optional e-mail) get raw JSON
``{"type": "document-changed", "workspaceId", "documentId", "at"}`` with message attributes
``workspaceId`` so a subscription can filter by workspace.
"""

from __future__ import annotations

import json
import time
from typing import Any

DOCUMENT_CHANGED = "document-changed"


class DocumentChangedPublisher:
    """Callable matching ``Ingestor(on_document_changed=...)``.

    Parameters
    ----------
    client:
        A boto3 SNS client.
    topic_arn:
        The ``document-changed`` topic (``CHORUS_DOCUMENT_CHANGED_TOPIC_ARN``).
    """

    def __init__(self, client: Any, topic_arn: str) -> None:
        self._client = client
        self.topic_arn = topic_arn

    def __call__(self, workspace_id: str, document_id: str | None = None) -> None:
        """Tell subscribers the workspace changed (one document, or all: ``document_id`` None)."""
        message = {
            "type": DOCUMENT_CHANGED,
            "workspaceId": workspace_id,
            "documentId": document_id,
            "at": int(time.time()),
        }
        self._client.publish(
            TopicArn=self.topic_arn,
            Message=json.dumps(message),
            MessageAttributes={
                "type": {"DataType": "String", "StringValue": DOCUMENT_CHANGED},
                "workspaceId": {"DataType": "String", "StringValue": workspace_id},
            },
        )
