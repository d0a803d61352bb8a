"""``DataApiDatabase``: the pgvector SQL over the RDS Data API.

A real boto3 ``rds-data`` client talks to the local Data API server
(``tests/support/rds_data_server.py``) on the embedded PostgreSQL; the vector store contract
runs over it in test_store_contract.py ("pgvector-data-api"). Here: how values and results are
mapped, transactions, the resume retry, the Data API's limits, and the semantic cache.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from decimal import Decimal

import numpy as np
import pytest
from chorus.runtime.adapters.pgvector_store import PgVectorStore
from chorus.runtime.adapters.postgres_cache import PostgresSemanticCache
from chorus.runtime.adapters.postgres_metadata import PostgresMetadataStore
from chorus.runtime.adapters.rds_data import (
    DataApiDatabase,
    DataApiError,
    DatabaseResuming,
    compile_statements,
    encode,
)
from chorus.runtime.core.models import Workspace
from psycopg2.extras import Json
from support.chunks import make_chunk, unit_vectors
from support.rds_data_server import MAX_REQUEST_BYTES, RdsDataServer

DIM = 8


@pytest.fixture(scope="module")
def server(module_dsn: str) -> Iterator[RdsDataServer]:
    with RdsDataServer(module_dsn) as server:
        yield server


@pytest.fixture
def db(server: RdsDataServer, schema_path: str) -> DataApiDatabase:
    server.calls.clear()
    server.resume_failures, server.resume_style = 0, "resuming"
    server.max_response_bytes = 1024 * 1024
    database = DataApiDatabase(
        server.client(),
        cluster_arn=server.cluster_arn,
        secret_arn=server.secret_arn,
        database=server.database,
        schema=schema_path.removeprefix("search_path=").split(",")[0],
    )
    database.first_wait_s, database.max_wait_s, database.resume_budget_s = 0.01, 0.05, 5.0
    return database


def one(db: DataApiDatabase, sql: str, params: list | tuple | None = None) -> tuple:
    with db.transaction() as cur:
        cur.execute(sql, params)
        return cur.fetchone()


# -- translating psycopg2 SQL -------------------------------------------------------------------


def test_placeholders_become_numbered_named_parameters():
    ((sql, parameters),) = compile_statements(
        "SELECT * FROM t WHERE a = %s AND b = %s", [encode("x"), encode(2)]
    )

    assert sql == "SELECT * FROM t WHERE a = :p1 AND b = :p2"
    assert parameters == [
        {"name": "p1", "value": {"stringValue": "x"}},
        {"name": "p2", "value": {"longValue": 2}},
    ]


def test_a_doubled_percent_is_one_percent_only_when_parameters_are_given():
    ((with_params, _),) = compile_statements("SELECT %s || '%%', 7 %% 3", [encode("a")])
    ((without, _),) = compile_statements("SELECT 7 % 3, '%%'", None)

    assert with_params == "SELECT :p1 || '%', 7 % 3"
    assert without == "SELECT 7 % 3, '%%'"


@pytest.mark.parametrize(
    ("sql", "params", "message"),
    [
        ("SELECT '%s'", ["x"], "inside a quoted literal"),
        ("SELECT %(name)s", ["x"], "named"),
        ("SELECT %d", [1], "unsupported format character"),
        ("SELECT %s, %s", ["x"], "more %s placeholders than parameters"),
        ("SELECT %s", ["x", "y"], "2 parameters for 1"),
    ],
)
def test_sql_the_translation_cannot_keep_faithful_is_refused(sql, params, message):
    with pytest.raises(ValueError, match=message):
        compile_statements(sql, [encode(p) for p in params])


def test_several_statements_are_sent_one_by_one_with_their_own_parameters():
    statements = compile_statements(
        "INSERT INTO t VALUES (%s); -- one; two\nUPDATE t SET v = %s WHERE ';' = ';';",
        [encode(1), encode("x")],
    )

    assert [(sql.splitlines()[-1], [p["name"] for p in ps]) for sql, ps in statements] == [
        ("INSERT INTO t VALUES (:p1)", ["p1"]),
        ("UPDATE t SET v = :p2 WHERE ';' = ';'", ["p2"]),
    ]


def test_vectors_and_lists_travel_as_text_in_a_cast():
    vector, names = encode(np.array([0.1, -2.0, 3.5], dtype=np.float32)), encode(['a"b', "c\\d"])
    ((sql, parameters),) = compile_statements("SELECT %s, %s", [vector, names])

    assert sql == "SELECT CAST(:p1 AS vector), CAST(:p2 AS text[])"
    assert parameters[0]["value"] == {"stringValue": "[0.100000001,-2,3.5]"}
    assert parameters[1]["value"] == {"stringValue": '{"a\\"b","c\\\\d"}'}


def test_json_decimal_timestamps_and_uuids_carry_their_type_hint():
    moment = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))

    assert encode(Json({"a": "東京"})).type_hint == "JSON"
    assert encode(Decimal("1.50")).value == {"stringValue": "1.50"}
    assert encode(moment).value == {"stringValue": "2024-05-01 10:00:00.000000"}
    assert encode(moment).type_hint == "TIMESTAMP"
    assert encode(uuid.UUID(int=1)).type_hint == "UUID"
    with pytest.raises(TypeError, match="Json"):
        encode({"a": 1})


# -- values and results over the wire -----------------------------------------------------------


def test_none_bool_int_and_float_keep_their_types(db):
    row = one(
        db,
        "SELECT %s::text IS NULL, pg_typeof(%s)::text, pg_typeof(%s)::text, pg_typeof(%s)::text,"
        " %s, %s, %s",
        (None, True, 1, 1.5, True, 2**40, 0.1),
    )

    assert row == (True, "boolean", "bigint", "double precision", True, 2**40, 0.1)
    assert isinstance(row[4], bool) and not isinstance(row[5], bool)


def test_unicode_and_quotes_round_trip(db):
    text = "東京 🎉 naïve ' \" \\ \t\n e\u0301"

    assert one(db, "SELECT %s, length(%s)", (text, text)) == (text, len(text))


def test_json_binds_as_jsonb_and_comes_back_parsed(db):
    value = {"tags": ["x", "東京"], "n": None, "page": 3, "score": 0.5}

    row = one(db, "SELECT %s, pg_typeof(%s)::text, %s::jsonb -> 'tags'", (Json(value),) * 3)

    assert row == (value, "jsonb", ["x", "東京"])


def test_vectors_bind_through_the_cast_and_come_back_as_float32_arrays(db):
    vector = unit_vectors(1, seed=5, dim=DIM)[0]

    (back, distance) = one(db, "SELECT %s, %s <=> %s", (vector, vector, vector))

    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, vector.astype(np.float32))
    assert distance == pytest.approx(0.0, abs=1e-6)


def test_a_vector_sent_as_plain_text_fails_as_it_does_on_aurora(db):
    # The Data API binds a stringValue as varchar: without the CAST pgvector has no operator.
    with pytest.raises(DataApiError, match="operator does not exist"):
        db.call(
            "execute_statement",
            sql="SELECT '[1,2]'::vector <=> :v",
            parameters=[{"name": "v", "value": {"stringValue": "[1,2]"}}],
        )


def test_result_columns_decode_by_their_postgresql_type(db):
    row = one(
        db,
        """SELECT 1::int4, 2::int8, 2.5::float8, true, 'x'::text, NULL::text, 1.25::numeric,
                  '2024-05-01 10:00:00.5+02'::timestamptz, '2024-05-01'::date,
                  ARRAY[1, 2], ARRAY['a', NULL], %s::uuid""",
        (uuid.UUID(int=1),),
    )

    assert row == (
        1,
        2,
        2.5,
        True,
        "x",
        None,
        Decimal("1.25"),
        dt.datetime(2024, 5, 1, 8, 0, 0, 500000, tzinfo=dt.UTC),
        dt.date(2024, 5, 1),
        [1, 2],
        ["a", None],
        "00000000-0000-0000-0000-000000000001",
    )


def test_lists_bind_as_arrays_for_any(db):
    assert one(db, "SELECT 'b' = ANY(%s), 3 = ANY(%s), 'z' = ANY(%s)", (["a", "b"], [1], [])) == (
        True,
        False,
        False,
    )


def test_rowcount_counts_updated_rows_and_returned_rows(db):
    with db.transaction() as cur:
        cur.execute("CREATE TABLE t (id int)")
        cur.execute("INSERT INTO t SELECT generate_series(1, 5)")
        assert cur.rowcount == 5
        cur.execute("DELETE FROM t WHERE id > %s", (3,))
        assert cur.rowcount == 2
        cur.execute("SELECT id FROM t ORDER BY id")
        assert cur.rowcount == 3
        assert cur.fetchone() == (1,)
        assert cur.fetchall() == [(2,), (3,)]
        assert cur.fetchone() is None


# -- transactions --------------------------------------------------------------------------------


def test_an_exception_rolls_the_transaction_back_and_leaves_nothing(db, server):
    with db.transaction() as cur:
        cur.execute("CREATE TABLE kept (v text)")

    with pytest.raises(RuntimeError, match="boom"), db.transaction() as cur:
        cur.execute("INSERT INTO kept VALUES (%s)", ("lost",))
        raise RuntimeError("boom")

    assert one(db, "SELECT count(*) FROM kept") == (0,)
    assert "RollbackTransaction" in server.operations()


def test_a_failed_statement_rolls_back_the_whole_transaction(db):
    with db.transaction() as cur:
        cur.execute("CREATE TABLE u (id int PRIMARY KEY)")

    with pytest.raises(DataApiError, match="23505"), db.transaction() as cur:
        cur.execute("INSERT INTO u VALUES (1)")
        cur.execute("INSERT INTO u VALUES (1)")

    assert one(db, "SELECT count(*) FROM u") == (0,)


def test_each_transaction_puts_the_schema_first_on_the_search_path(db):
    (path,) = one(db, "SHOW search_path")

    assert path == f"{db.schema}, public"


def test_an_unknown_transaction_id_is_refused(db):
    with pytest.raises(DataApiError, match="is not found"):
        db.call("commit_transaction", transactionId="bm90LWEtdHJhbnNhY3Rpb24=")


def test_a_schema_that_is_not_a_plain_identifier_is_refused(server):
    with pytest.raises(ValueError, match="identifier"):
        DataApiDatabase(
            server.client(), cluster_arn="a", secret_arn="s", database="d", schema="x; DROP"
        )


# -- auto-pause ----------------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["resuming", "communications-link"])
def test_calls_are_retried_while_the_cluster_resumes(db, server, style):
    server.resume_failures, server.resume_style = 3, style

    assert one(db, "SELECT 1") == (1,)
    assert server.operations()[:4] == ["BeginTransaction"] * 4


def test_a_cluster_that_stays_paused_past_the_budget_is_a_clear_error(db, server):
    server.resume_failures = 10_000
    db.resume_budget_s = 0.2

    with pytest.raises(DatabaseResuming, match="resuming") as caught:
        one(db, "SELECT 1")

    assert caught.value.code == "database_resuming"
    server.resume_failures = 0


def test_other_service_errors_say_what_failed(server, db):
    wrong = DataApiDatabase(
        server.client(),
        cluster_arn=server.cluster_arn,
        secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:other",
        database=server.database,
    )

    with pytest.raises(DataApiError, match="begin_transaction failed: BadRequestException"):
        one(wrong, "SELECT 1")
    with pytest.raises(DataApiError, match="42P01") as caught:
        one(db, "SELECT * FROM missing_table")
    assert "SELECT * FROM missing_table" in caught.value.message


# -- limits ------------------------------------------------------------------------------------


def test_large_batches_are_split_into_requests_under_4_mib(db, server):
    store = PgVectorStore(db, 384)
    text = "lorem ipsum dolor sit amet " * 110  # ~3 KB
    chunks = [make_chunk("ws", "doc", i, f"{i} {text}", dim=384) for i in range(1200)]
    server.calls.clear()

    store.replace_document_chunks("ws", "doc", chunks)

    inserts = [body for op, body in server.calls if "INSERT INTO" in body.get("sql", "")]
    sizes = [len(json.dumps(body).encode()) for body in inserts]
    assert len(inserts) >= 3 and max(sizes) < MAX_REQUEST_BYTES
    assert store.count_chunks("ws", "doc") == 1200
    assert len(store.chunk_embeddings("ws", [c.id for c in chunks])) == 1200


def test_a_row_past_the_64_kb_limit_is_a_clear_error_not_a_silent_cut(db):
    store = PgVectorStore(db, DIM)
    text = "x" * 70_000
    store.replace_document_chunks("ws", "doc", [make_chunk("ws", "doc", 0, text, dim=DIM)])

    assert store.count_chunks("ws") == 1
    with pytest.raises(DataApiError, match="64 KB"):
        store.document_chunks("ws", "doc")


def test_a_response_past_1_mib_is_a_clear_error(db):
    with pytest.raises(DataApiError, match="response size limit"):
        one(db, "SELECT repeat('x', 1000) FROM generate_series(1, 1200)")


def test_a_statement_past_4_mib_is_refused_before_sending(db, server):
    server.calls.clear()

    with pytest.raises(DataApiError, match="does not fit") as caught:
        one(db, "SELECT length(%s)", ("x" * MAX_REQUEST_BYTES,))

    assert caught.value.code == "statement_too_large"
    assert "ExecuteStatement" not in [op for op, b in server.calls if "length" in b.get("sql", "")]


# -- the other adapters on the Data API ------------------------------------------------------------


def test_the_semantic_cache_works_over_the_data_api(db):
    cache = PostgresSemanticCache(db, DIM)
    question = unit_vectors(1, seed=1, dim=DIM)[0]
    final = {"answer": "lava is hot", "sources": ["東京"]}

    assert cache.store("ws", "single:x", "is lava hot?", question, final, epoch=0)
    hit = cache.lookup("ws", "single:x", question, threshold=0.9)
    assert hit is not None
    assert (hit.query, hit.final, round(hit.similarity, 5)) == ("is lava hot?", final, 1.0)
    assert cache.lookup("ws", "single:y", question, threshold=0.9) is None

    assert cache.invalidate_workspace("ws") == 1
    assert cache.epoch("ws") == 1
    assert not cache.store("ws", "single:x", "q", question, final, epoch=0)
    assert cache.lookup("ws", "single:x", question, threshold=0.0) is None


def test_the_metadata_store_works_over_the_data_api(db):
    store = PostgresMetadataStore(db)

    created = store.create_workspace(
        Workspace(id="w1", name="Docs", embedding_model="m", embedding_dim=DIM)
    )

    assert store.get_workspace("w1") == created
    assert created.created_at.tzinfo is not None
