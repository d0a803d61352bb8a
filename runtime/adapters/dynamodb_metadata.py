"""MetadataStore port on the seed's DynamoDB tables: workspaces, documents, sessions, feedback.

The cloud counterpart of ``postgres_metadata``. Keys are the ones the VectorStore and
ChatOrchestrator components deploy (docs/infrastructure.md, "Tables"):

* ``workspace`` (``workspace_id``, ``object_type``): ``object_type = "workspace"`` holds the
  record (name, owner, groups allowed to use it), ``"settings"`` the embedding model, chunking and
  store; GSI ``by_object_type`` (``object_type``, ``created_at``) lists workspaces by age.
* ``document`` (``workspace_id``, ``document_id``): one item per document; ``compound_sort_key``
  = ``<status>#<updated_at>#<document_id>`` so GSI ``by_compound_sort_key`` lists a workspace's
  documents by status and time.
* ``sessions`` (``session_id``, ``sort_key``): ``META`` (owner, workspace, title; the only item
  carrying ``user_id``, so GSI ``by_user_id`` lists sessions, not messages), one
  ``MSG#<iso time>#<id>`` item per message (no 400 KB item ceiling on a long session), one
  ``MSGID#<id>`` guard per message that makes ``add_message`` idempotent, and
  ``FEEDBACK#<message id>``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from ..core.errors import BadRequest, Conflict, NotFound
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

WORKSPACE_RECORD = "workspace"
WORKSPACE_SETTINGS = "settings"
SESSION_META = "META"
BATCH_WRITE_LIMIT = 25


@dataclass(frozen=True)
class TableNames:
    """Names of the deployed tables (from the SSM app config)."""

    workspace: str
    document: str
    sessions: str
    connections: str


def now_iso() -> str:
    """UTC time with microseconds: sortable as text, which the sort keys rely on."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _parse_time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _plain(value: Any) -> Any:
    """DynamoDB's ``Decimal`` numbers back to ``int``/``float`` for JSON and dataclasses."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _dynamo_safe(value: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-able mapping with floats as ``Decimal`` (boto3 refuses floats) and no NULs."""
    text = json.dumps(value, default=str).replace("\\u0000", "")
    return json.loads(text, parse_float=Decimal)


class DynamoDBMetadataStore:
    """Workspaces, documents, sessions, messages and feedback on the seed's tables.

    Parameters
    ----------
    resource:
        A boto3 DynamoDB *service resource* (``boto3.resource("dynamodb")``).
    tables:
        The deployed table names.
    session_ttl_seconds:
        When set, session items get ``expires_at`` (the sessions table's TTL attribute) this far
        in the future, refreshed on every message.
    """

    def __init__(
        self, resource: Any, tables: TableNames, *, session_ttl_seconds: int | None = None
    ) -> None:
        self.tables = tables
        self._workspaces = resource.Table(tables.workspace)
        self._documents = resource.Table(tables.document)
        self._sessions = resource.Table(tables.sessions)
        # The resource's client accepts plain Python values (boto3 serialises them), also in
        # transactions, so items are written the same way as through the Table objects.
        self._client = resource.meta.client
        self.session_ttl_seconds = session_ttl_seconds

    # -- workspaces -------------------------------------------------------------------------

    def create_workspace(
        self,
        workspace: Workspace,
        *,
        owner_id: str = "",
        groups: Sequence[str] = (),
    ) -> Workspace:
        """Write the record and settings items in one transaction; ``Conflict`` if the id exists."""
        created = workspace.created_at.isoformat() if workspace.created_at else now_iso()
        record = {
            "workspace_id": workspace.id,
            "object_type": WORKSPACE_RECORD,
            "name": workspace.name,
            "owner_id": owner_id,
            "groups": list(groups),
            "created_at": created,
        }
        settings = {
            "workspace_id": workspace.id,
            "object_type": WORKSPACE_SETTINGS,
            "embedding_model": workspace.embedding_model,
            "embedding_dim": workspace.embedding_dim,
            "chunk_size": workspace.chunking.chunk_size,
            "chunk_overlap": workspace.chunking.chunk_overlap,
            "store": workspace.store,
            **_tuned_settings(workspace.chunking, workspace.retrieval),
            **_knowledge_base(workspace),
        }
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.tables.workspace,
                            "Item": record,
                            "ConditionExpression": "attribute_not_exists(workspace_id)",
                        }
                    },
                    {"Put": {"TableName": self.tables.workspace, "Item": settings}},
                ]
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TransactionCanceledException":
                raise Conflict(f"a workspace with id {workspace.id!r} already exists") from None
            raise
        stored = self.get_workspace(workspace.id)
        assert stored is not None
        return stored

    def update_workspace_settings(
        self,
        workspace_id: str,
        chunking: ChunkingSettings,
        retrieval: Mapping[str, Any],
    ) -> Workspace:
        """Store tuned chunking and retrieval settings on the settings item (the chat worker and
        the ingest worker read them from there); ``NotFound`` for an unknown workspace."""
        tuned = {
            "chunk_size": chunking.chunk_size,
            "chunk_overlap": chunking.chunk_overlap,
            **_tuned_settings(chunking, retrieval),
        }
        names = {f"#{key}": key for key in tuned}
        if not _written(
            self._workspaces.update_item,
            Key={"workspace_id": workspace_id, "object_type": WORKSPACE_SETTINGS},
            UpdateExpression="SET " + ", ".join(f"#{key} = :{key}" for key in tuned),
            ConditionExpression="attribute_exists(workspace_id)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={f":{key}": value for key, value in tuned.items()},
        ):
            raise NotFound(f"workspace {workspace_id!r} does not exist")
        stored = self.get_workspace(workspace_id)
        if stored is None:
            raise NotFound(f"workspace {workspace_id!r} does not exist")
        return stored

    def _workspace_items(self, workspace_id: str) -> dict[str, dict[str, Any]]:
        items = self._query(
            self._workspaces,
            KeyConditionExpression="workspace_id = :w",
            values={":w": workspace_id},
        )
        return {item["object_type"]: item for item in items}

    def get_workspace(self, workspace_id: str) -> Workspace | None:
        # Only the record and its settings: the partition also holds the workspace's eval set
        # (``evalcase#...`` sorts before both), which a read of the workspace must not pay for.
        items = {
            item["object_type"]: item
            for item in self._query(
                self._workspaces,
                KeyConditionExpression="workspace_id = :w AND object_type BETWEEN :a AND :b",
                values={":w": workspace_id, ":a": WORKSPACE_SETTINGS, ":b": WORKSPACE_RECORD},
            )
        }
        if WORKSPACE_RECORD not in items or WORKSPACE_SETTINGS not in items:
            return None
        return _workspace(items[WORKSPACE_RECORD], items[WORKSPACE_SETTINGS])

    def workspace_access(self, workspace_id: str) -> WorkspaceAccess | None:
        """Owner and groups of a workspace, or None when it does not exist."""
        item = self._workspaces.get_item(
            Key={"workspace_id": workspace_id, "object_type": WORKSPACE_RECORD}
        ).get("Item")
        if item is None:
            return None
        return WorkspaceAccess(
            workspace_id, str(item.get("owner_id", "")), tuple(item.get("groups", []))
        )

    def list_workspaces(self) -> list[Workspace]:
        records = self._query(
            self._workspaces,
            IndexName="by_object_type",
            KeyConditionExpression="object_type = :t",
            values={":t": WORKSPACE_RECORD},
        )
        workspaces = []
        for record in records:
            workspace = self.get_workspace(record["workspace_id"])
            if workspace is not None:
                workspaces.append(workspace)
        return workspaces

    def delete_workspace(self, workspace_id: str) -> None:
        """Delete the workspace's items and its document records (chunks are the store's job)."""
        for document in self._query(
            self._documents,
            KeyConditionExpression="workspace_id = :w",
            values={":w": workspace_id},
            ProjectionExpression="workspace_id, document_id",
        ):
            self._documents.delete_item(
                Key={"workspace_id": workspace_id, "document_id": document["document_id"]}
            )
        for object_type in self._workspace_items(workspace_id):
            self._workspaces.delete_item(
                Key={"workspace_id": workspace_id, "object_type": object_type}
            )

    # -- documents --------------------------------------------------------------------------

    def get_document(self, workspace_id: str, document_id: str) -> Document | None:
        item = self._documents.get_item(
            Key={"workspace_id": workspace_id, "document_id": document_id}, ConsistentRead=True
        ).get("Item")
        return _document(item) if item else None

    def list_documents(
        self, workspace_id: str, *, status: DocumentStatus | None = None
    ) -> list[Document]:
        """Documents of a workspace by status then time (``status`` narrows to one status)."""
        condition = "workspace_id = :w"
        values: dict[str, Any] = {":w": workspace_id}
        if status is not None:
            condition += " AND begins_with(compound_sort_key, :s)"
            values[":s"] = f"{status.value}#"
        items = self._query(
            self._documents,
            IndexName="by_compound_sort_key",
            KeyConditionExpression=condition,
            values=values,
        )
        return [_document(item) for item in items]

    def put_document(self, document: Document) -> None:
        now = now_iso()
        existing = self.get_document(document.workspace_id, document.id)
        created = (
            existing.created_at.isoformat()
            if existing and existing.created_at
            else (document.created_at.isoformat() if document.created_at else now)
        )
        item = {
            "workspace_id": document.workspace_id,
            "document_id": document.id,
            "name": document.name,
            "content_hash": document.content_hash,
            "status": document.status.value,
            "chunk_count": document.chunk_count,
            "size_bytes": document.size_bytes,
            "content_type": document.content_type,
            "created_at": created,
            "updated_at": now,
            "compound_sort_key": _compound(document.status, now, document.id),
        }
        if document.error:
            item["error"] = document.error
        if document.chunks_embedded is not None:
            item["chunks_embedded"] = document.chunks_embedded
        version = document.version or (existing.version if existing else "")
        if version:  # a newer upload's place in the order survives a plain rewrite
            item["version"] = version
        self._documents.put_item(Item=item)

    def claim_document(self, document: Document) -> bool:
        """Write the record of a new upload unless a newer version was recorded already.

        The ``ConditionExpression`` (no record, or its ``version`` ≤ this one) is the
        compare-and-set; a commit lease held on the record is kept.
        """
        now = now_iso()
        existing = self.get_document(document.workspace_id, document.id)
        created = existing.created_at.isoformat() if existing and existing.created_at else now
        names = {"#n": "name", "#s": "status", "#v": "version", "#e": "error"}
        values: dict[str, Any] = {
            ":n": document.name,
            ":h": document.content_hash,
            ":s": document.status.value,
            ":c": document.chunk_count,
            ":b": document.size_bytes,
            ":t": document.content_type,
            ":cr": created,
            ":u": now,
            ":k": _compound(document.status, now, document.id),
            ":v": document.version,
        }
        sets = [
            "#n = :n",
            "content_hash = :h",
            "#s = :s",
            "chunk_count = :c",
            "size_bytes = :b",
            "content_type = :t",
            "created_at = if_not_exists(created_at, :cr)",
            "updated_at = :u",
            "compound_sort_key = :k",
            "#v = :v",
        ]
        removes = ["chunks_embedded"]
        if document.error:
            sets.append("#e = :e")
            values[":e"] = document.error
        else:
            removes.append("#e")
        return _written(
            self._documents.update_item,
            Key={"workspace_id": document.workspace_id, "document_id": document.id},
            UpdateExpression=f"SET {', '.join(sets)} REMOVE {', '.join(removes)}",
            ConditionExpression="attribute_not_exists(#v) OR #v <= :v",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

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
        """Take the document's commit lease for this version and bytes: ``locked``,
        ``superseded`` (newer version or bytes recorded) or ``busy`` (another commit holds an
        unexpired lease)."""
        if _written(
            self._documents.update_item,
            Key={"workspace_id": workspace_id, "document_id": document_id},
            UpdateExpression="SET commit_version = :v, commit_until = :until",
            ConditionExpression=(
                "#v = :v AND content_hash = :h"
                " AND (attribute_not_exists(commit_version) OR commit_version = :v"
                " OR commit_until < :now)"
            ),
            ExpressionAttributeNames={"#v": "version"},
            ExpressionAttributeValues={
                ":v": version,
                ":h": content_hash,
                ":until": Decimal(str(now + lease_s)),
                ":now": Decimal(str(now)),
            },
        ):
            return "locked"
        found = self.get_document(workspace_id, document_id)
        current = found is not None and (found.version, found.content_hash) == (
            version,
            content_hash,
        )
        return "busy" if current else "superseded"

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
        """Release the lease this commit holds; record ``status`` only while this version and
        bytes are the newest recorded (True), else leave the newer record alone (False)."""
        key = {"workspace_id": workspace_id, "document_id": document_id}
        _written(
            self._documents.update_item,
            Key=key,
            UpdateExpression="SET chunk_count = :n REMOVE commit_version, commit_until",
            ConditionExpression="commit_version = :v",
            ExpressionAttributeValues={":v": version, ":n": chunk_count},
        )
        now = now_iso()
        names = {"#s": "status", "#v": "version", "#e": "error"}
        values: dict[str, Any] = {
            ":s": status.value,
            ":n": chunk_count,
            ":u": now,
            ":k": _compound(status, now, document_id),
            ":v": version,
            ":h": content_hash,
        }
        sets = ["#s = :s", "chunk_count = :n", "updated_at = :u", "compound_sort_key = :k"]
        removes = ["chunks_embedded"]
        if error:
            sets.append("#e = :e")
            values[":e"] = error
        else:
            removes.append("#e")
        return _written(
            self._documents.update_item,
            Key=key,
            UpdateExpression=f"SET {', '.join(sets)} REMOVE {', '.join(removes)}",
            ConditionExpression="#v = :v AND content_hash = :h",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def set_document_status(
        self,
        workspace_id: str,
        document_id: str,
        status: DocumentStatus,
        *,
        chunk_count: int | None = None,
        error: str | None = None,
    ) -> None:
        """Update status (and counts or reason) of an existing document; absent → no-op.

        Any recorded progress (``chunks_embedded``) is removed: it belongs to one processing run.
        """
        now = now_iso()
        names = {"#s": "status"}
        values: dict[str, Any] = {
            ":s": status.value,
            ":u": now,
            ":c": _compound(status, now, document_id),
        }
        sets = ["#s = :s", "updated_at = :u", "compound_sort_key = :c"]
        removes = ["chunks_embedded"]
        if chunk_count is not None:
            sets.append("chunk_count = :n")
            values[":n"] = chunk_count
        if error:
            sets.append("#e = :e")
            names["#e"] = "error"
            values[":e"] = error
        else:
            removes.append("#e")
            names["#e"] = "error"
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        _written(
            self._documents.update_item,
            Key={"workspace_id": workspace_id, "document_id": document_id},
            UpdateExpression=expression,
            ConditionExpression="attribute_exists(document_id)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def set_document_progress(
        self, workspace_id: str, document_id: str, embedded: int, total: int
    ) -> None:
        """Record chunks embedded so far (and the total) of a ``processing`` document.

        An attribute on the document item (no key changes); absent or no longer ``processing``
        → no-op.
        """
        now = now_iso()
        _written(
            self._documents.update_item,
            Key={"workspace_id": workspace_id, "document_id": document_id},
            UpdateExpression=(
                "SET chunks_embedded = :e, chunk_count = :n, updated_at = :u,"
                " compound_sort_key = :c"
            ),
            ConditionExpression="attribute_exists(document_id) AND #s = :s",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":e": embedded,
                ":n": total,
                ":u": now,
                ":c": _compound(DocumentStatus.PROCESSING, now, document_id),
                ":s": DocumentStatus.PROCESSING.value,
            },
        )

    def delete_document(self, workspace_id: str, document_id: str) -> None:
        self._documents.delete_item(Key={"workspace_id": workspace_id, "document_id": document_id})

    # -- sessions ---------------------------------------------------------------------------

    def _ttl(self) -> dict[str, int]:
        if not self.session_ttl_seconds:
            return {}
        return {"expires_at": int(datetime.now(UTC).timestamp()) + self.session_ttl_seconds}

    def create_session(self, session: Session) -> Session:
        """Create the META item unless it exists (idempotent); returns the stored session."""
        now = now_iso()
        item = {
            "session_id": session.id,
            "sort_key": SESSION_META,
            "user_id": session.user_id,
            "workspace_id": session.workspace_id,
            "title": session.title,
            "created_at": now,
            "updated_at": now,
            **self._ttl(),
        }
        _written(
            self._sessions.put_item,
            Item=item,
            ConditionExpression="attribute_not_exists(session_id)",
        )
        stored = self.get_session(session.id)
        assert stored is not None
        return stored

    def get_session(self, session_id: str) -> Session | None:
        item = self._sessions.get_item(
            Key={"session_id": session_id, "sort_key": SESSION_META}, ConsistentRead=True
        ).get("Item")
        return _session(item) if item else None

    def list_sessions(self, user_id: str) -> list[Session]:
        """The user's sessions, most recently active first (GSI ``by_user_id``)."""
        items = self._query(
            self._sessions,
            IndexName="by_user_id",
            KeyConditionExpression="user_id = :u",
            values={":u": user_id},
            ScanIndexForward=False,
        )
        return [_session(item) for item in items if item.get("sort_key") == SESSION_META]

    def delete_session(self, session_id: str) -> None:
        """Delete every item of the session (META, messages, guards, feedback)."""
        keys = [
            {"session_id": session_id, "sort_key": item["sort_key"]}
            for item in self._query(
                self._sessions,
                KeyConditionExpression="session_id = :s",
                values={":s": session_id},
                ProjectionExpression="session_id, sort_key",
            )
        ]
        with self._sessions.batch_writer() as batch:
            for key in keys:
                batch.delete_item(Key=key)

    def add_message(self, message: StoredMessage) -> None:
        """Store one message as its own item; a second call with the same id changes nothing.

        The ``MSGID#`` guard and the message go in one transaction, so a retried write can
        neither duplicate the message nor leave a guard without it.
        """
        created = message.created_at.isoformat() if message.created_at else now_iso()
        sort_key = f"MSG#{created}#{message.id}"
        item = {
            "session_id": message.session_id,
            "sort_key": sort_key,
            "message_id": message.id,
            "role": message.role,
            "content": message.content.replace("\x00", ""),
            "details": _dynamo_safe(dict(message.details)),
            "created_at": created,
            **self._ttl(),
        }
        guard = {
            "session_id": message.session_id,
            "sort_key": f"MSGID#{message.id}",
            "message_sort_key": sort_key,
            "role": message.role,
            **self._ttl(),
        }
        ttl_set = ", expires_at = :x" if self.session_ttl_seconds else ""
        meta_values: dict[str, Any] = {":u": created}
        if self.session_ttl_seconds:
            meta_values[":x"] = self._ttl()["expires_at"]
        table = self.tables.sessions
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": table,
                            "Item": guard,
                            "ConditionExpression": "attribute_not_exists(session_id)",
                        }
                    },
                    {"Put": {"TableName": table, "Item": item}},
                    {
                        "Update": {
                            "TableName": table,
                            "Key": {"session_id": message.session_id, "sort_key": SESSION_META},
                            "UpdateExpression": f"SET updated_at = :u{ttl_set}",
                            "ConditionExpression": "attribute_exists(session_id)",
                            "ExpressionAttributeValues": meta_values,
                        }
                    },
                ]
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return  # already stored: a retry
            raise NotFound(
                f"session {message.session_id!r} does not exist; create it before adding messages"
            ) from None

    def list_messages(self, session_id: str) -> list[StoredMessage]:
        items = self._query(
            self._sessions,
            KeyConditionExpression="session_id = :s AND begins_with(sort_key, :m)",
            values={":s": session_id, ":m": "MSG#"},
            ConsistentRead=True,
        )
        return [_message(item) for item in items]

    # -- feedback ---------------------------------------------------------------------------

    def put_feedback(self, feedback: Feedback) -> Feedback:
        """Record (or replace) a user's feedback on an assistant message of their session."""
        if feedback.rating not in ("up", "down"):
            raise BadRequest("rating must be 'up' or 'down'")
        guard = self._sessions.get_item(
            Key={"session_id": feedback.session_id, "sort_key": f"MSGID#{feedback.message_id}"}
        ).get("Item")
        if guard is None or guard.get("role") != "assistant":
            raise NotFound(
                f"message {feedback.message_id!r} is not an answer in session "
                f"{feedback.session_id!r}"
            )
        created = now_iso()
        self._sessions.put_item(
            Item={
                "session_id": feedback.session_id,
                "sort_key": f"FEEDBACK#{feedback.message_id}",
                "message_id": feedback.message_id,
                "feedback_user_id": feedback.user_id,
                "rating": feedback.rating,
                "comment": feedback.comment.replace("\x00", ""),
                "created_at": created,
                **self._ttl(),
            }
        )
        return Feedback(
            feedback.session_id,
            feedback.message_id,
            feedback.user_id,
            feedback.rating,
            feedback.comment,
            _parse_time(created),
        )

    def list_feedback(self, session_id: str) -> list[Feedback]:
        items = self._query(
            self._sessions,
            KeyConditionExpression="session_id = :s AND begins_with(sort_key, :f)",
            values={":s": session_id, ":f": "FEEDBACK#"},
        )
        return [
            Feedback(
                session_id,
                item["message_id"],
                item["feedback_user_id"],
                item["rating"],
                item.get("comment", ""),
                _parse_time(item.get("created_at")),
            )
            for item in items
        ]

    # -- plumbing ---------------------------------------------------------------------------

    @staticmethod
    def _query(table: Any, *, values: dict[str, Any], **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Every item of a (paginated) query."""
        kwargs["ExpressionAttributeValues"] = values
        while True:
            page = table.query(**kwargs)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _compound(status: DocumentStatus, updated_at: str, document_id: str) -> str:
    return f"{status.value}#{updated_at}#{document_id}"


def _workspace(record: Mapping[str, Any], settings: Mapping[str, Any]) -> Workspace:
    return Workspace(
        id=record["workspace_id"],
        name=record["name"],
        embedding_model=settings["embedding_model"],
        embedding_dim=int(settings["embedding_dim"]),
        chunking=ChunkingSettings(
            chunk_size=int(settings["chunk_size"]),
            chunk_overlap=int(settings["chunk_overlap"]),
            split_on_headings=bool(settings.get("split_on_headings", True)),
            title_mode=str(settings.get("title_mode", "keyword")),
        ),
        store=settings["store"],
        created_at=_parse_time(record.get("created_at")),
        retrieval=json.loads(settings.get("retrieval") or "{}"),
        knowledge_base_id=settings.get("knowledge_base_id") or None,
        knowledge_base_search_type=settings.get("knowledge_base_search_type") or None,
    )


def _knowledge_base(workspace: Workspace) -> dict[str, str]:
    """Settings-item attributes of a workspace that retrieves from a Bedrock knowledge base."""
    fields = {
        "knowledge_base_id": workspace.knowledge_base_id,
        "knowledge_base_search_type": workspace.knowledge_base_search_type,
    }
    return {key: value for key, value in fields.items() if value}


def _tuned_settings(chunking: ChunkingSettings, retrieval: Mapping[str, Any]) -> dict[str, Any]:
    """Settings-item attributes of the tuned settings; retrieval overrides as a JSON string
    (DynamoDB numbers would need Decimal, and the chat worker reads them as one value)."""
    return {
        "split_on_headings": chunking.split_on_headings,
        "title_mode": chunking.title_mode,
        "retrieval": json.dumps(dict(retrieval), sort_keys=True),
    }


def _document(item: Mapping[str, Any]) -> Document:
    return Document(
        workspace_id=item["workspace_id"],
        id=item["document_id"],
        name=item["name"],
        content_hash=item.get("content_hash", ""),
        status=DocumentStatus(item["status"]),
        chunk_count=int(item.get("chunk_count", 0)),
        size_bytes=int(item.get("size_bytes", 0)),
        content_type=item.get("content_type", ""),
        error=item.get("error"),
        created_at=_parse_time(item.get("created_at")),
        updated_at=_parse_time(item.get("updated_at")),
        chunks_embedded=(
            int(item["chunks_embedded"]) if item.get("chunks_embedded") is not None else None
        ),
        version=str(item.get("version", "")),
    )


def _session(item: Mapping[str, Any]) -> Session:
    return Session(
        id=item["session_id"],
        user_id=item["user_id"],
        workspace_id=item["workspace_id"],
        title=item.get("title", ""),
        created_at=_parse_time(item.get("created_at")),
        updated_at=_parse_time(item.get("updated_at")),
    )


def _message(item: Mapping[str, Any]) -> StoredMessage:
    return StoredMessage(
        session_id=item["session_id"],
        id=item["message_id"],
        role=item["role"],
        content=item.get("content", ""),
        details=_plain(item.get("details", {})),
        created_at=_parse_time(item.get("created_at")),
    )


def create_tables(client: Any, tables: TableNames) -> None:
    """Create the four tables with the components' exact keys and indexes (tests, local use).

    In the cloud the VectorStore and ChatOrchestrator components create them.
    """

    def create(name: str, keys: list[tuple[str, str]], indexes: list[dict[str, Any]]) -> None:
        attributes = {k for k, _ in keys} | {
            a["AttributeName"] for ix in indexes for a in ix["KeySchema"]
        }
        spec: dict[str, Any] = {
            "TableName": name,
            "KeySchema": [{"AttributeName": k, "KeyType": t} for k, t in keys],
            "AttributeDefinitions": [
                {"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)
            ],
            "BillingMode": "PAY_PER_REQUEST",
        }
        if indexes:
            spec["GlobalSecondaryIndexes"] = indexes
        client.create_table(**spec)

    def index(name: str, hash_key: str, range_key: str | None, projection: str = "ALL") -> dict:
        schema = [{"AttributeName": hash_key, "KeyType": "HASH"}]
        if range_key:
            schema.append({"AttributeName": range_key, "KeyType": "RANGE"})
        return {
            "IndexName": name,
            "KeySchema": schema,
            "Projection": {"ProjectionType": projection},
        }

    create(
        tables.workspace,
        [("workspace_id", "HASH"), ("object_type", "RANGE")],
        [index("by_object_type", "object_type", "created_at")],
    )
    create(
        tables.document,
        [("workspace_id", "HASH"), ("document_id", "RANGE")],
        [index("by_compound_sort_key", "workspace_id", "compound_sort_key")],
    )
    create(
        tables.sessions,
        [("session_id", "HASH"), ("sort_key", "RANGE")],
        [index("by_user_id", "user_id", "updated_at")],
    )
    create(
        tables.connections,
        [("connection_id", "HASH")],
        [index("by_user_id", "user_id", None, "KEYS_ONLY")],
    )


def _written(write: Any, **request: Any) -> bool:
    """``write(**request)`` (a conditional put or update): True when written, False when its
    condition failed and nothing was written; any other failure raises."""
    try:
        write(**request)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return False
    return True
