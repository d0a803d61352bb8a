"""Semantic cache: the in-memory implementation and the PostgreSQL adapter obey one contract.

The contract runs against both (the PostgreSQL one on a real embedded server); question
vectors come from the real MiniLM so thresholds are tested as they are used.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from chorus.runtime.core.semantic_cache import (
    DEFAULT_THRESHOLD,
    InMemorySemanticCache,
    SemanticCache,
    cache_scope,
)

SCOPE = cache_scope("single", ["extractive"])
FINAL = {"answer": "Lava is molten rock [1].", "model": "extractive", "sources": [{"n": 1}]}


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A DynamoDB resource under moto with the cache table created."""
    import boto3
    from chorus.runtime.adapters.dynamodb_cache import create_table
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        resource = boto3.resource("dynamodb", region_name="us-east-1")
        create_table(resource.meta.client, "chorus-cache")
        yield resource


@pytest.fixture(params=["memory", "postgres", "dynamodb"])
def cache(request: pytest.FixtureRequest) -> Iterator[SemanticCache]:
    if request.param == "memory":
        yield InMemorySemanticCache()
        return
    if request.param == "dynamodb":
        from chorus.runtime.adapters.dynamodb_cache import DynamoDBSemanticCache

        yield DynamoDBSemanticCache(request.getfixturevalue("dynamodb"), "chorus-cache", 384)
        return
    from chorus.runtime.adapters.postgres import PostgresDatabase
    from chorus.runtime.adapters.postgres_cache import PostgresSemanticCache

    db = PostgresDatabase(request.getfixturevalue("fresh_dsn"))
    yield PostgresSemanticCache(db, 384)
    db.close()


@pytest.fixture(scope="module")
def vec(embedder):
    def embed(text: str) -> np.ndarray:
        return embedder.embed([text], kind="query")[0]

    return embed


def test_rewording_of_a_cached_question_is_a_hit(cache, vec):
    cache.store("ws", SCOPE, "What is lava?", vec("What is lava?"), FINAL, epoch=0)

    hit = cache.lookup("ws", SCOPE, vec("Can you tell me what lava is?"), DEFAULT_THRESHOLD)

    assert hit is not None
    assert hit.final == FINAL and hit.query == "What is lava?"
    assert DEFAULT_THRESHOLD <= hit.similarity < 1.0


def test_another_question_on_the_same_topic_is_a_miss(cache, vec):
    cache.store("ws", SCOPE, "What is lava?", vec("What is lava?"), FINAL, epoch=0)

    assert cache.lookup("ws", SCOPE, vec("How hot is lava?"), DEFAULT_THRESHOLD) is None


def test_entries_never_cross_workspaces_or_scopes(cache, vec):
    cache.store("ws", SCOPE, "What is lava?", vec("What is lava?"), FINAL, epoch=0)
    other_scope = cache_scope("consensus", ["a", "b"])

    assert cache.lookup("other", SCOPE, vec("What is lava?"), DEFAULT_THRESHOLD) is None
    assert cache.lookup("ws", other_scope, vec("What is lava?"), DEFAULT_THRESHOLD) is None


def test_invalidation_empties_only_that_workspace_and_moves_its_epoch(cache, vec):
    cache.store("ws", SCOPE, "What is lava?", vec("What is lava?"), FINAL, epoch=0)
    cache.store("keep", SCOPE, "What is lava?", vec("What is lava?"), FINAL, epoch=0)

    assert cache.invalidate_workspace("ws") == 1

    assert cache.lookup("ws", SCOPE, vec("What is lava?"), DEFAULT_THRESHOLD) is None
    assert cache.lookup("keep", SCOPE, vec("What is lava?"), DEFAULT_THRESHOLD) is not None
    assert cache.epoch("ws") == 1 and cache.epoch("keep") == 0


def test_answer_computed_before_an_invalidation_is_not_stored(cache, vec):
    epoch = cache.epoch("ws")  # a chat starts ...
    cache.invalidate_workspace("ws")  # ... a document changes meanwhile ...

    stored = cache.store("ws", SCOPE, "What is lava?", vec("What is lava?"), FINAL, epoch=epoch)

    assert stored is False
    assert cache.lookup("ws", SCOPE, vec("What is lava?"), DEFAULT_THRESHOLD) is None


def test_nearest_entry_wins(cache, vec):
    cache.store("ws", SCOPE, "What is magma?", vec("What is magma?"), {"answer": "m"}, epoch=0)
    cache.store("ws", SCOPE, "What is lava?", vec("What is lava?"), FINAL, epoch=0)

    hit = cache.lookup("ws", SCOPE, vec("What's lava?"), 0.0)

    assert hit is not None and hit.query == "What is lava?"


def test_oldest_entries_go_beyond_the_bound(vec, fresh_dsn, dynamodb):
    from chorus.runtime.adapters.dynamodb_cache import DynamoDBSemanticCache
    from chorus.runtime.adapters.postgres import PostgresDatabase
    from chorus.runtime.adapters.postgres_cache import PostgresSemanticCache

    db = PostgresDatabase(fresh_dsn)
    try:
        for bounded in (
            InMemorySemanticCache(max_entries_per_workspace=2),
            PostgresSemanticCache(db, 384, max_entries_per_workspace=2),
            DynamoDBSemanticCache(dynamodb, "chorus-cache", 384, max_entries_per_workspace=2),
        ):
            for question in ("What is lava?", "Why do bees dance?", "What is a gambit?"):
                bounded.store("ws", SCOPE, question, vec(question), {"answer": question}, epoch=0)

            assert bounded.lookup("ws", SCOPE, vec("What is lava?"), 0.99) is None
            assert bounded.lookup("ws", SCOPE, vec("What is a gambit?"), 0.99) is not None
    finally:
        db.close()


def test_postgres_cache_rejects_an_unsafe_table_name(fresh_dsn):
    from chorus.runtime.adapters.postgres import PostgresDatabase
    from chorus.runtime.adapters.postgres_cache import PostgresSemanticCache

    db = PostgresDatabase(fresh_dsn)
    try:
        with pytest.raises(ValueError, match="invalid table name"):
            PostgresSemanticCache(db, 384, table="x; DROP TABLE y")
    finally:
        db.close()


def test_dynamodb_cache_pages_through_a_large_scope_and_keeps_scopes_apart(vec, dynamodb):
    from chorus.runtime.adapters.dynamodb_cache import DynamoDBSemanticCache

    cache = DynamoDBSemanticCache(dynamodb, "chorus-cache", 384, max_entries_per_workspace=500)
    tricky = cache_scope("single", ["model#a"])  # a '#' in a model name
    plain = cache_scope("single", ["model"])
    vectors = np.random.default_rng(0).normal(size=(150, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    padding = {"answer": "x" * 8000}
    for i, vector in enumerate(vectors):  # ~9.6 kB each: over one 1 MB query page
        cache.store("ws", plain, f"q{i}", vector, padding, epoch=0)
    cache.store("ws", tricky, "What is lava?", vec("What is lava?"), FINAL, epoch=0)

    last = cache.lookup("ws", plain, vectors[-1], 0.99)
    assert last is not None and last.query == "q149"
    assert cache.lookup("ws", plain, vec("What is lava?"), 0.99) is None
    assert cache.lookup("ws", tricky, vec("What is lava?"), 0.99) is not None
    assert cache.invalidate_workspace("ws") == 151


def test_dynamodb_cache_refuses_a_vector_of_another_size(dynamodb):
    from chorus.runtime.adapters.dynamodb_cache import DynamoDBSemanticCache

    cache = DynamoDBSemanticCache(dynamodb, "chorus-cache", 384)
    with pytest.raises(ValueError, match="384"):
        cache.store("ws", SCOPE, "q", np.ones(3), FINAL, epoch=0)
