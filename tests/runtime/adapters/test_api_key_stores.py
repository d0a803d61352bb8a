"""The ``ApiKeys`` port on both adapters: PostgreSQL (embedded, real connections) and the seed's
workspace table (moto). The same specification holds for each; time is a number the test
passes (``now``), never the wall clock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from chorus.runtime.adapters.dynamodb_api_keys import DynamoDBApiKeys
from chorus.runtime.adapters.dynamodb_metadata import (
    DynamoDBMetadataStore,
    TableNames,
    create_tables,
)
from chorus.runtime.adapters.postgres import PostgresDatabase
from chorus.runtime.adapters.postgres_api_keys import PostgresApiKeys
from chorus.runtime.adapters.postgres_metadata import PostgresMetadataStore
from chorus.runtime.core.api_keys import (
    DAY_SECONDS,
    LimitExceeded,
    RevokedApiKey,
    UsagePlan,
    issue_key,
    parse_key,
)
from chorus.runtime.core.models import Workspace

TABLES = TableNames("ws", "docs", "sessions", "connections")
NOON = 20_000 * DAY_SECONDS + 43_200.0


class Stores:
    def __init__(self, metadata: Any, keys: Any, raw_rows: Any) -> None:
        self.metadata = metadata
        self.keys = keys
        self.raw_rows = raw_rows
        """Everything the store holds about keys, as text (to look for secrets in)."""


def _postgres(request: pytest.FixtureRequest) -> Iterator[Stores]:
    dsn = request.getfixturevalue("with_settings")(
        request.getfixturevalue("module_dsn"), request.getfixturevalue("schema_path")
    )
    db = PostgresDatabase(dsn)

    def rows() -> str:
        with db.transaction() as cur:
            cur.execute("SELECT t::text FROM chorus_api_keys t")
            return "\n".join(r[0] for r in cur.fetchall())

    try:
        yield Stores(PostgresMetadataStore(db), PostgresApiKeys(db), rows)
    finally:
        db.close()


def _dynamodb(request: pytest.FixtureRequest) -> Iterator[Stores]:
    from moto import mock_aws

    monkeypatch = request.getfixturevalue("monkeypatch")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        create_tables(boto3.client("dynamodb", region_name="us-east-1"), TABLES)
        resource = boto3.resource("dynamodb", region_name="us-east-1")
        table = resource.Table(TABLES.workspace)
        yield Stores(
            DynamoDBMetadataStore(resource, TABLES),
            DynamoDBApiKeys(resource, TABLES.workspace),
            lambda: repr(table.scan()["Items"]),
        )


@pytest.fixture(params=["postgres", "dynamodb"])
def stores(request: pytest.FixtureRequest) -> Iterator[Stores]:
    """Key stores with workspaces ``ws-1`` and ``ws-2``."""
    make = _postgres if request.param == "postgres" else _dynamodb
    for made in make(request):
        for wid in ("ws-1", "ws-2"):
            made.metadata.create_workspace(Workspace(wid, f"name {wid}", "minilm", 384))
        yield made


def stored(stores: Stores, plan: UsagePlan | None = None, workspace: str = "ws-1"):
    raw, record = issue_key(workspace, "ci", "alice", NOON, plan or UsagePlan())
    stores.keys.add_key(record)
    return raw, record


def test_a_stored_key_reads_back_with_its_plan_and_scopes(stores):
    _, record = stored(stores, UsagePlan(2.5, 7, 300))

    assert stores.keys.get_key("ws-1", record.key_id) == record
    assert stores.keys.get_key("ws-2", record.key_id) is None


def test_the_store_never_holds_the_secret(stores):
    raw, record = stored(stores)
    _, secret = parse_key(raw)

    everything = stores.raw_rows()

    assert record.secret_hash in everything
    assert secret not in everything and raw not in everything


def test_keys_list_oldest_first_per_workspace(stores):
    _, first = stored(stores)
    _, second = stored(stores)
    stored(stores, workspace="ws-2")

    assert [k.key_id for k in stores.keys.list_keys("ws-1")] == sorted(
        [first.key_id, second.key_id], key=lambda i: (NOON, i)
    )


def test_revoking_keeps_the_first_revocation_time(stores):
    _, record = stored(stores)

    stores.keys.revoke_key("ws-1", record.key_id, NOON + 10)
    again = stores.keys.revoke_key("ws-1", record.key_id, NOON + 20)

    assert again is not None and again.revoked_at == NOON + 10
    assert stores.keys.revoke_key("ws-1", "0123456789abcdef", NOON) is None


def test_spending_follows_the_plan_and_a_refusal_writes_nothing(stores):
    _, record = stored(stores, UsagePlan(rate_per_second=1.0, burst=2, daily_quota=100))
    stores.keys.spend("ws-1", record.key_id, NOON)
    stores.keys.spend("ws-1", record.key_id, NOON)
    before = stores.keys.get_key("ws-1", record.key_id).usage

    with pytest.raises(LimitExceeded) as refused:
        stores.keys.spend("ws-1", record.key_id, NOON + 0.25)

    assert refused.value.retry_after == 1
    assert stores.keys.get_key("ws-1", record.key_id).usage == before
    assert stores.keys.spend("ws-1", record.key_id, NOON + 1).day_used == 3


def test_a_revoked_key_spends_nothing(stores):
    _, record = stored(stores)
    stores.keys.revoke_key("ws-1", record.key_id, NOON)

    with pytest.raises(RevokedApiKey):
        stores.keys.spend("ws-1", record.key_id, NOON)


def test_concurrent_requests_are_each_counted_once(stores, request):
    """Eight threads spend at the same instant on a bucket of five: exactly five are admitted
    and the stored count says five (no lost update, no double count). PostgreSQL only: moto
    does not serialise conditional writes across threads (DynamoDB does); the DynamoDB race is
    staged step by step below."""
    if request.node.callspec.params["stores"] == "dynamodb":
        pytest.skip("moto applies concurrent conditional writes without isolation")
    _, record = stored(stores, UsagePlan(rate_per_second=0.001, burst=5, daily_quota=100))
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def request() -> None:
        barrier.wait()
        try:
            stores.keys.spend("ws-1", record.key_id, NOON)
            outcomes.append("admitted")
        except LimitExceeded:
            outcomes.append("refused")

    threads = [threading.Thread(target=request) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(outcomes) == ["admitted"] * 5 + ["refused"] * 3
    assert stores.keys.get_key("ws-1", record.key_id).usage.day_used == 5


def test_deleting_the_workspace_deletes_its_keys(stores):
    _, record = stored(stores)

    stores.metadata.delete_workspace("ws-1")

    assert stores.keys.get_key("ws-1", record.key_id) is None


@pytest.fixture
def dynamodb_keys(monkeypatch) -> Iterator[tuple[Any, Any]]:
    """Two key stores on two clients of the same moto table: ``racer`` spends in between."""
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        create_tables(boto3.client("dynamodb", region_name="us-east-1"), TABLES)
        resource = boto3.resource("dynamodb", region_name="us-east-1")
        DynamoDBMetadataStore(resource, TABLES).create_workspace(
            Workspace("ws-1", "one", "minilm", 384)
        )
        other = boto3.resource("dynamodb", region_name="us-east-1")
        yield DynamoDBApiKeys(resource, TABLES.workspace), DynamoDBApiKeys(other, TABLES.workspace)


def _race_once(keys: Any, racer: Any, key_id: str) -> None:
    """Just before ``keys`` writes its first usage update, ``racer`` spends on the same key."""
    fired: list[bool] = []

    def before_update(**_: Any) -> None:
        if not fired:
            fired.append(True)
            racer.spend("ws-1", key_id, NOON)

    keys._table.meta.client.meta.events.register("before-call.dynamodb.UpdateItem", before_update)


def test_a_lost_race_on_dynamodb_is_retried_on_fresh_figures(dynamodb_keys):
    keys, racer = dynamodb_keys
    _, record = issue_key("ws-1", "ci", "alice", NOON, UsagePlan(0.001, 5, 100))
    keys.add_key(record)
    _race_once(keys, racer, record.key_id)

    usage = keys.spend("ws-1", record.key_id, NOON)

    assert usage.day_used == 2
    assert keys.get_key("ws-1", record.key_id).usage == usage


def test_a_race_for_the_last_token_on_dynamodb_refuses_the_loser(dynamodb_keys):
    keys, racer = dynamodb_keys
    _, record = issue_key("ws-1", "ci", "alice", NOON, UsagePlan(0.001, 1, 100))
    keys.add_key(record)
    _race_once(keys, racer, record.key_id)

    with pytest.raises(LimitExceeded):
        keys.spend("ws-1", record.key_id, NOON)

    assert keys.get_key("ws-1", record.key_id).usage.day_used == 1
