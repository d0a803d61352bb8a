"""Workspaces' eval sets in PostgreSQL (the ``EvalCases`` port of ``runtime/application``).

The table ``chorus_eval_cases`` is created with the metadata schema (``postgres_metadata``):
a case belongs to its workspace (``ON DELETE CASCADE``), so deleting the workspace deletes its set.
"""

from __future__ import annotations

from typing import Any

from ..core.eval_cases import CaseStatus, EvalCase
from .postgres_workspace_rows import PostgresWorkspaceRows

_COLUMNS = (
    "id, question, relevant_document_ids, reference_answer, answerable, origin, status, note, tags"
)


def _clean(value: str | None) -> str | None:
    """PostgreSQL text refuses NUL characters: drop them rather than fail the write."""
    return value.replace("\x00", "") if value is not None else None


class PostgresEvalCases(PostgresWorkspaceRows):
    """Eval cases in ``chorus_eval_cases`` (the metadata store must have created the schema)."""

    table = "chorus_eval_cases"

    def put_case(self, workspace_id: str, case: EvalCase) -> EvalCase:
        """Insert the case or replace the one with its id (its creation time stays)."""
        row = (
            workspace_id,
            case.id,
            _clean(case.question),
            [_clean(d) for d in case.relevant_document_ids],
            _clean(case.reference_answer),
            case.answerable,
            case.origin,
            case.status,
            _clean(case.note),
            [_clean(t) for t in case.tags],
        )
        stored = self._one(
            f"""INSERT INTO chorus_eval_cases (workspace_id, {_COLUMNS})
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (workspace_id, id) DO UPDATE SET
                question = EXCLUDED.question,
                relevant_document_ids = EXCLUDED.relevant_document_ids,
                reference_answer = EXCLUDED.reference_answer,
                answerable = EXCLUDED.answerable, origin = EXCLUDED.origin,
                status = EXCLUDED.status, note = EXCLUDED.note, tags = EXCLUDED.tags
                RETURNING {_COLUMNS}""",
            row,
        )
        assert stored is not None  # an upsert with RETURNING returns its row
        return _case(stored)

    def get_case(self, workspace_id: str, case_id: str) -> EvalCase | None:
        row = self._one(
            f"SELECT {_COLUMNS} FROM chorus_eval_cases WHERE workspace_id = %s AND id = %s",
            (workspace_id, case_id),
        )
        return _case(row) if row else None

    def list_cases(self, workspace_id: str, *, status: CaseStatus | None = None) -> list[EvalCase]:
        query = f"SELECT {_COLUMNS} FROM chorus_eval_cases WHERE workspace_id = %s"
        params: list[Any] = [workspace_id]
        if status is not None:
            query += " AND status = %s"
            params.append(status)
        return [_case(r) for r in self._all(query + " ORDER BY created_at, id", params)]

    def delete_case(self, workspace_id: str, case_id: str) -> bool:
        with self.db.transaction() as cur:
            cur.execute(
                "DELETE FROM chorus_eval_cases WHERE workspace_id = %s AND id = %s",
                (workspace_id, case_id),
            )
            return cur.rowcount > 0


def _case(row: tuple[Any, ...]) -> EvalCase:
    case_id, question, documents, reference, answerable, origin, status, note, tags = row
    return EvalCase(
        id=case_id,
        question=question,
        relevant_document_ids=tuple(documents),
        reference_answer=reference,
        answerable=answerable,
        origin=origin,
        status=status,
        note=note,
        tags=tuple(tags),
    )
