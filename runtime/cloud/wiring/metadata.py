"""Records and messages: the metadata tables, the documents bucket, queues and workflows, the
document-changed topic and the idempotency records of the workers."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from .base import Wiring, retries

if TYPE_CHECKING:
    from ...adapters.dynamodb_metadata import DynamoDBMetadataStore
    from ...adapters.s3_documents import DocumentBucket
    from ...adapters.sns_events import DocumentChangedPublisher


class MetadataWiring(Wiring):
    """Workspaces, documents, sessions; S3, SQS, Step Functions and SNS clients."""

    @cached_property
    def sqs(self) -> Any:
        return self.client("sqs")

    @cached_property
    def stepfunctions(self) -> Any:
        return self.client("stepfunctions")

    @cached_property
    def metadata(self) -> DynamoDBMetadataStore:
        from ...adapters.dynamodb_metadata import DynamoDBMetadataStore

        ttl = self.settings.session_ttl_days
        return DynamoDBMetadataStore(
            self.dynamodb, self.settings.tables, session_ttl_seconds=ttl * 86400 if ttl else None
        )

    @cached_property
    def documents(self) -> DocumentBucket:
        from botocore.config import Config

        from ...adapters.s3_documents import DocumentBucket

        s3 = self.session.client("s3", config=retries().merge(Config(signature_version="s3v4")))
        return DocumentBucket(
            s3, self.settings.documents_bucket, max_upload_bytes=self.settings.max_upload_bytes
        )

    @cached_property
    def publisher(self) -> DocumentChangedPublisher | None:
        from ...adapters.sns_events import DocumentChangedPublisher

        arn = self.settings.document_changed_topic_arn
        return DocumentChangedPublisher(self.client("sns"), arn) if arn else None

    @cached_property
    def idempotency_layer(self) -> Any:
        """Powertools DynamoDB persistence on ``tables.idempotency``; None when not configured."""
        table = self.settings.idempotency_table
        if not table:
            return None
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        return DynamoDBPersistenceLayer(table_name=table, boto3_session=self.session)
