"""The ``EvalCases`` port on both adapters: PostgreSQL (embedded, real connections) and the
seed's workspace table (moto). The same specification holds for each."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from chorus.runtime.adapters.dynamodb_eval_cases import DynamoDBEvalCases
from chorus.runtime.adapters.dynamodb_metadata import (
    DynamoDBMetadataStore,
    TableNames,
    create_tables,
)
from chorus.runtime.adapters.postgres import PostgresDatabase
from chorus.runtime.adapters.postgres_eval_cases import PostgresEvalCases
from chorus.runtime.adapters.postgres_metadata import PostgresMetadataStore
from chorus.runtime.core.eval_cases import EvalCase
from chorus.runtime.core.models import Workspace

TABLES = TableNames("ws", "docs", "sessions", "connections")


def _postgres(request: pytest.FixtureRequest) -> Iterator[tuple[Any, Any]]:
    dsn = request.getfixturevalue("with_settings")(
        request.getfixturevalue("module_dsn"), request.getfixturevalue("schema_path")
    )
    db = PostgresDatabase(dsn)
    try:
        yield PostgresMetadataStore(db), PostgresEvalCases(db)
    finally:
        db.close()


def _dynamodb(request: pytest.FixtureRequest) -> Iterator[tuple[Any, Any]]:
    from moto import mock_aws

    monkeypatch = request.getfixturevalue("monkeypatch")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        create_tables(boto3.client("dynamodb", region_name="us-east-1"), TABLES)
        resource = boto3.resource("dynamodb", region_name="us-east-1")
        yield DynamoDBMetadataStore(resource, TABLES), DynamoDBEvalCases(resource, TABLES.workspace)


@pytest.fixture(params=["postgres", "dynamodb"])
def stores(request: pytest.FixtureRequest) -> Iterator[tuple[Any, Any]]:
    """(metadata store, eval cases) with workspaces ``ws-1`` and ``ws-2``."""
    make = _postgres if request.param == "postgres" else _dynamodb
    for metadata, cases in make(request):
        for wid in ("ws-1", "ws-2"):
            metadata.create_workspace(Workspace(wid, f"name {wid}", "minilm", 384))
        yield metadata, cases


def case(cid: str = "c1", **kwargs: Any) -> EvalCase:
    fields: dict[str, Any] = {
        "question": "How often do keys rotate?",
        "relevant_document_ids": ("doc-a", "doc-b"),
        **kwargs,
    }
    return EvalCase(cid, **fields)


def test_a_put_case_reads_back_with_every_field(stores):
    _, cases = stores
    full = case(
        reference_answer="Every 90 days.",
        answerable=False,
        origin="feedback",
        status="candidate",
        note="it is 30 days now",
        tags=("thumbs-down", "keys"),
    )

    assert cases.put_case("ws-1", full) == full
    assert cases.get_case("ws-1", "c1") == full


def test_putting_a_case_with_a_known_id_replaces_it(stores):
    _, cases = stores
    cases.put_case("ws-1", case(status="candidate", note="first"))

    cases.put_case("ws-1", case(status="rejected", note=None))

    assert cases.list_cases("ws-1") == [case(status="rejected", note=None)]


def test_cases_list_oldest_first_and_narrow_to_one_status(stores):
    _, cases = stores
    for cid, status in [("z", "candidate"), ("a", "accepted"), ("m", "candidate")]:
        cases.put_case("ws-1", case(cid, status=status))

    assert [c.id for c in cases.list_cases("ws-1")] == ["z", "a", "m"]
    assert [c.id for c in cases.list_cases("ws-1", status="candidate")] == ["z", "m"]


def test_a_workspace_sees_only_its_own_cases(stores):
    _, cases = stores
    cases.put_case("ws-1", case("c1"))

    assert cases.list_cases("ws-2") == []
    assert cases.get_case("ws-2", "c1") is None
    assert cases.delete_case("ws-2", "c1") is False
    assert cases.get_case("ws-1", "c1") is not None


def test_delete_case_says_whether_there_was_one(stores):
    _, cases = stores
    cases.put_case("ws-1", case())

    assert cases.delete_case("ws-1", "c1") is True
    assert cases.delete_case("ws-1", "c1") is False
    assert cases.list_cases("ws-1") == []


def test_nul_characters_are_dropped_and_injection_strings_kept(stores):
    _, cases = stores
    hostile = "'; DROP TABLE chorus_eval_cases; -- ${x} <b>"

    stored = cases.put_case("ws-1", case(question=hostile + "\x00", note="\x00n"))

    assert (stored.question, stored.note) == (hostile, "n")


def test_cases_leave_the_workspace_record_and_listing_alone(stores):
    metadata, cases = stores
    cases.put_case("ws-1", case())

    assert [w.id for w in metadata.list_workspaces()] == ["ws-1", "ws-2"]
    assert metadata.get_workspace("ws-1").name == "name ws-1"


def test_deleting_the_workspace_deletes_its_cases(stores):
    metadata, cases = stores
    cases.put_case("ws-1", case())

    metadata.delete_workspace("ws-1")

    assert cases.list_cases("ws-1") == []
