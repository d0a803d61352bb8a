"""Workspaces' eval sets on the seed's workspace table (the ``EvalCases`` port).

One item per case under the workspace's partition: ``workspace_id`` and ``object_type =
"evalcase#<case id>"`` (the seed keys, as the issue asks: no new table, and the ``rest_api``
Lambda's grant on the workspace table already covers it). The items carry no ``created_at``
(``recorded_at`` instead), so the ``by_object_type`` index that lists workspaces never holds
them; deleting the workspace deletes every item of its partition, the set included.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core.eval_cases import CaseStatus, EvalCase
from .dynamodb_metadata import now_iso
from .dynamodb_workspace_items import DynamoDBWorkspaceItems

CASE_PREFIX = "evalcase#"
SCHEDULE_ITEM = "evalschedule"
"""The item that opts a workspace into scheduled evaluation. Unlike the cases it carries
``created_at``, so the ``by_object_type`` index lists the opted-in workspaces under this
``object_type`` (one query, no scan); it sorts outside the record/settings range that
``get_workspace`` reads and goes with the workspace's partition when it is deleted."""


def _clean(value: str | None) -> str | None:
    return value.replace("\x00", "") if value is not None else None


class DynamoDBEvalCases(DynamoDBWorkspaceItems):
    """Eval cases in the workspace table (``DynamoDBWorkspaceItems``: resource, table name)."""

    def put_case(self, workspace_id: str, case: EvalCase) -> EvalCase:
        """Create the case or replace the one with its id (its ``recorded_at`` stays)."""
        fields = {
            "case_id": case.id,
            "question": _clean(case.question),
            "relevant_document_ids": [_clean(d) for d in case.relevant_document_ids],
            "reference_answer": _clean(case.reference_answer),
            "answerable": case.answerable,
            "origin": case.origin,
            "case_status": case.status,
            "note": _clean(case.note),
            "tags": [_clean(t) for t in case.tags],
        }
        names = {f"#{k}": k for k in fields}
        values: dict[str, Any] = {f":{k}": v for k, v in fields.items()}
        values[":now"] = now_iso()
        sets = [f"#{k} = :{k}" for k in fields]
        sets.append("recorded_at = if_not_exists(recorded_at, :now)")
        item = self._table.update_item(
            Key=self._key(workspace_id, CASE_PREFIX + case.id),
            UpdateExpression="SET " + ", ".join(sets),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )["Attributes"]
        return _case(item)

    def get_case(self, workspace_id: str, case_id: str) -> EvalCase | None:
        item = self._get(workspace_id, CASE_PREFIX + case_id)
        return _case(item) if item else None

    def list_cases(self, workspace_id: str, *, status: CaseStatus | None = None) -> list[EvalCase]:
        """Oldest first (by ``recorded_at``, then id); the status is a filter on one partition."""
        if status is None:
            found = self._under(workspace_id, CASE_PREFIX)
        else:
            found = self._under(
                workspace_id, CASE_PREFIX, where="case_status = :s", values={":s": status}
            )
        items = sorted(
            found,
            key=lambda i: (str(i.get("recorded_at", "")), str(i["case_id"])),
        )
        return [_case(i) for i in items]

    def delete_case(self, workspace_id: str, case_id: str) -> bool:
        old = self._table.delete_item(
            Key=self._key(workspace_id, CASE_PREFIX + case_id), ReturnValues="ALL_OLD"
        )
        return "Attributes" in old

    def set_scheduled(self, workspace_id: str, enabled: bool) -> None:
        """Opt the workspace into (or out of) scheduled evaluation (``scheduledEvaluation``)."""
        key = self._key(workspace_id, SCHEDULE_ITEM)
        if enabled:
            self._table.put_item(Item={**key, "created_at": now_iso(), "scheduled": True})
        else:
            self._table.delete_item(Key=key)

    def scheduled_workspaces(self) -> list[str]:
        """Ids of the workspaces opted into scheduled evaluation, oldest opt-in first."""
        query: dict[str, Any] = {
            "IndexName": "by_object_type",
            "KeyConditionExpression": "object_type = :t",
            "ExpressionAttributeValues": {":t": SCHEDULE_ITEM},
        }
        return [str(i["workspace_id"]) for i in self._query(query)]


def _case(item: Mapping[str, Any]) -> EvalCase:
    return EvalCase(
        id=str(item["case_id"]),
        question=str(item["question"]),
        relevant_document_ids=tuple(str(d) for d in item.get("relevant_document_ids") or ()),
        reference_answer=item.get("reference_answer"),
        answerable=bool(item.get("answerable", True)),
        origin=item.get("origin", "manual"),
        status=item.get("case_status", "candidate"),
        note=item.get("note"),
        tags=tuple(str(t) for t in item.get("tags") or ()),
    )
