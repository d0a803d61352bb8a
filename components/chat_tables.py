"""The chat path's DynamoDB tables: WebSocket connections, sessions, Powertools idempotency
records and (optionally) the semantic answer cache."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypedDict

import pulumi
import pulumi_aws as aws

from .naming import tagged
from .validation import check_args
from .vector_store import gsi


class ChatTablesArgs(TypedDict, total=False):
    tags: Mapping[str, str]
    """Tags for every table. Default: none."""
    kms_key_arn: pulumi.Input[str]
    """Customer-managed key of the tables. Default: the AWS-owned DynamoDB key."""
    semantic_cache_table: bool
    """Also create the semantic answer cache's table (``runtime/adapters/dynamodb_cache.py``).
    Default: False."""


def expiring_table(
    name: str,
    parent: pulumi.Resource,
    *,
    hash_key: str,
    attributes: Sequence[str],
    ttl_attribute: str,
    kms_key_arn: pulumi.Input[str] | None,
    range_key: str | None = None,
    indexes: Sequence[aws.dynamodb.TableGlobalSecondaryIndexArgs] | None = None,
) -> aws.dynamodb.Table:
    """An on-demand table of string keys whose items expire at ``ttl_attribute``; encrypted,
    with point-in-time recovery. ``attributes`` keep their order (it is part of the inputs)."""
    return aws.dynamodb.Table(
        name,
        billing_mode="PAY_PER_REQUEST",
        hash_key=hash_key,
        range_key=range_key,
        attributes=[aws.dynamodb.TableAttributeArgs(name=a, type="S") for a in attributes],
        global_secondary_indexes=indexes,
        ttl=aws.dynamodb.TableTtlArgs(attribute_name=ttl_attribute, enabled=True),
        server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(
            enabled=True, kms_key_arn=kms_key_arn
        ),
        point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
        opts=pulumi.ResourceOptions(parent=parent),
    )


class ChatTables(pulumi.ComponentResource):
    """``<name>-connections`` (TTL ``expires_at``, GSI ``by_user_id``), ``<name>-sessions``
    (turns under ``sort_key``, GSI ``by_user_id``/``updated_at``), ``<name>-idempotency`` (key
    ``id``, TTL ``expiration``) and, optionally, ``<name>-answer-cache``.

    Example::

        import pulumi
        from chorus.components import ChatTables

        tables = ChatTables("chat", {"semantic_cache_table": True})
        pulumi.export("sessions", tables.sessions_table_name)
    """

    connections_table_name: pulumi.Output[str]
    """WebSocket connections."""
    connections_table_arn: pulumi.Output[str]
    """ARN of the connections table."""
    sessions_table_name: pulumi.Output[str]
    """Chat sessions and turns."""
    sessions_table_arn: pulumi.Output[str]
    """ARN of the sessions table."""
    idempotency_table_name: pulumi.Output[str]
    """Powertools idempotency records."""
    idempotency_table_arn: pulumi.Output[str]
    """ARN of the idempotency table."""
    answer_cache_table_name: pulumi.Output[str] | None
    """The semantic answer cache (None without ``semantic_cache_table``)."""
    answer_cache_table_arn: pulumi.Output[str] | None
    """ARN of the answer cache table (None without it)."""

    def __init__(
        self,
        name: str,
        args: ChatTablesArgs | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = check_args("ChatTables", name, ChatTablesArgs, args)
        super().__init__("chorus:index:ChatTables", name, {}, tagged(opts, args.get("tags")))
        kms_key_arn = args.get("kms_key_arn")
        connections = expiring_table(
            f"{name}-connections",
            self,
            hash_key="connection_id",
            attributes=["connection_id", "user_id"],
            indexes=[gsi("by_user_id", "user_id", projection_type="KEYS_ONLY")],
            ttl_attribute="expires_at",
            kms_key_arn=kms_key_arn,
        )
        sessions = expiring_table(
            f"{name}-sessions",
            self,
            hash_key="session_id",
            range_key="sort_key",
            attributes=["session_id", "sort_key", "user_id", "updated_at"],
            indexes=[gsi("by_user_id", "user_id", "updated_at")],
            ttl_attribute="expires_at",
            kms_key_arn=kms_key_arn,
        )
        idempotency = expiring_table(
            f"{name}-idempotency",
            self,
            hash_key="id",
            attributes=["id"],
            ttl_attribute="expiration",
            kms_key_arn=kms_key_arn,
        )
        answer_cache = None
        if args.get("semantic_cache_table"):
            # runtime/adapters/dynamodb_cache.py: an epoch item, entries and counters per
            # workspace; entries carry expires_at so stale answers leave even without a change.
            answer_cache = expiring_table(
                f"{name}-answer-cache",
                self,
                hash_key="workspace_id",
                range_key="sk",
                attributes=["workspace_id", "sk"],
                ttl_attribute="expires_at",
                kms_key_arn=kms_key_arn,
            )
        self.connections_table_name = connections.name
        self.connections_table_arn = connections.arn
        self.sessions_table_name = sessions.name
        self.sessions_table_arn = sessions.arn
        self.idempotency_table_name = idempotency.name
        self.idempotency_table_arn = idempotency.arn
        self.answer_cache_table_name = answer_cache.name if answer_cache else None
        self.answer_cache_table_arn = answer_cache.arn if answer_cache else None
        self.register_outputs(
            {
                "connections_table_name": self.connections_table_name,
                "connections_table_arn": self.connections_table_arn,
                "sessions_table_name": self.sessions_table_name,
                "sessions_table_arn": self.sessions_table_arn,
                "idempotency_table_name": self.idempotency_table_name,
                "idempotency_table_arn": self.idempotency_table_arn,
                "answer_cache_table_name": self.answer_cache_table_name,
                "answer_cache_table_arn": self.answer_cache_table_arn,
            }
        )
