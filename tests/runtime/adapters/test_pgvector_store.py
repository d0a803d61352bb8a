"""runtime/adapters/pgvector_store.py against the real embedded PostgreSQL with pgvector.

Every test gets an empty schema of its own (first on the connection's search_path) in a database
of this module, so each sees a fresh ``chorus_chunks`` table without paying for a new database.
Embeddings are seeded random unit vectors, so vector results can be checked against brute-force
cosine similarity in numpy.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import bm25s
import numpy as np
import pytest
from chorus.runtime.adapters.pgvector_store import PgVectorStore
from chorus.runtime.adapters.postgres import PostgresDatabase
from chorus.runtime.core.models import Chunk, SearchHit
from chorus.runtime.core.ports import VectorStore
from support.chunks import ids, make_chunk
from support.chunks import unit_vectors as _unit_vectors

DIM = 384
# Planner settings that leave the HNSW index as the only way to answer ``ORDER BY embedding <=>``:
# on small tables PostgreSQL would otherwise scan the workspace index and sort exactly, and the
# approximate index (and pgvector's iterative scan) would go untested.
FORCE_HNSW = ("enable_seqscan=off", "enable_bitmapscan=off", "enable_sort=off")


def unit_vectors(n: int, seed: int, dim: int = DIM) -> np.ndarray:
    return _unit_vectors(n, seed, dim)


def chunk(workspace: str, document: str, ordinal: int, text: str = "", **kw: Any) -> Chunk:
    return make_chunk(workspace, document, ordinal, text, dim=DIM, **kw)


def document(workspace: str, name: str, texts: Sequence[str]) -> list[Chunk]:
    return [chunk(workspace, name, i, text) for i, text in enumerate(texts)]


def all_rows(store: PgVectorStore) -> list[tuple]:
    with store.db.transaction() as cur:
        cur.execute(
            f"SELECT id, workspace_id, document_id, ordinal, text, metadata, embedding::text"
            f" FROM {store.table} ORDER BY id"
        )
        return cur.fetchall()


@pytest.fixture
def db(module_dsn: str, schema_path: str, with_settings) -> Iterator[PostgresDatabase]:
    database = PostgresDatabase(with_settings(module_dsn, schema_path))
    yield database
    database.close()


@pytest.fixture
def store(db: PostgresDatabase) -> PgVectorStore:
    return PgVectorStore(db, DIM)


@pytest.fixture
def hnsw_db(module_dsn: str, schema_path: str, with_settings) -> Iterator[PostgresDatabase]:
    """A database whose every connection must answer nearest-neighbour queries by HNSW."""
    database = PostgresDatabase(with_settings(module_dsn, schema_path, *FORCE_HNSW))
    yield database
    database.close()


def uses_hnsw(store: PgVectorStore, workspace: str, query: np.ndarray) -> bool:
    with store.db.transaction() as cur:
        cur.execute(
            f"EXPLAIN SELECT id FROM {store.table} WHERE workspace_id = %s"
            " ORDER BY embedding <=> %s LIMIT 10",
            (workspace, query),
        )
        plan = "\n".join(row[0] for row in cur.fetchall())
    return f"{store.table}_hnsw_idx" in plan


# -- schema -----------------------------------------------------------------------------------


def test_the_store_satisfies_the_vector_store_port(store):
    assert isinstance(store, VectorStore)
    assert store.supports_keyword_search is True


def test_opening_a_store_twice_on_the_same_table_keeps_its_rows(db, store):
    store.replace_document_chunks("ws", "doc", document("ws", "doc", ["one", "two"]))

    again = PgVectorStore(db, DIM)

    assert again.count_chunks("ws") == 2


def test_opening_a_table_of_another_dimension_raises_a_clear_value_error(db, store):
    with pytest.raises(ValueError) as caught:
        PgVectorStore(db, 768)

    message = str(caught.value)
    assert "chorus_chunks stores 384-dimensional embeddings" in message
    assert "opened for 768" in message
    assert "use another table" in message


def test_another_table_name_holds_another_dimension(db, store):
    small = PgVectorStore(db, 8, table="chorus_chunks_8d")
    small.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 0, embedding=np.ones(8))])

    assert small.count_chunks("ws") == 1
    assert store.count_chunks("ws") == 0


@pytest.mark.parametrize("table", ["chunks; DROP TABLE x", "Chunks", "1chunks", "a" * 64, ""])
def test_an_unsafe_table_name_raises_value_error(db, table):
    with pytest.raises(ValueError, match="invalid table name"):
        PgVectorStore(db, DIM, table=table)


# -- writes -----------------------------------------------------------------------------------


def test_replacing_a_document_twice_with_the_same_chunks_changes_nothing(store):
    chunks = document("ws", "doc", ["alpha", "beta", "gamma"])

    store.replace_document_chunks("ws", "doc", chunks)
    before = all_rows(store)
    store.replace_document_chunks("ws", "doc", chunks)

    assert all_rows(store) == before
    assert store.count_chunks("ws") == 3


def test_replacing_a_document_leaves_no_stale_chunk(store):
    store.replace_document_chunks("ws", "doc", document("ws", "doc", ["a1", "a2", "a3", "a4"]))
    new = [chunk("ws", "doc", 0, "b1"), chunk("ws", "doc", 7, "b8")]

    store.replace_document_chunks("ws", "doc", new)

    kept = store.document_chunks("ws", "doc")
    assert [(h.chunk_id, h.text) for h in kept] == [("ws/doc/0", "b1"), ("ws/doc/7", "b8")]


def test_replacing_a_document_updates_text_metadata_and_embedding_of_a_kept_chunk_id(store):
    store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 0, "old", metadata={"v": 1})])
    vector = unit_vectors(1, seed=99)[0]
    updated = chunk("ws", "doc", 0, "new", embedding=vector, metadata={"v": 2})

    store.replace_document_chunks("ws", "doc", [updated])

    (hit,) = store.vector_search("ws", vector, k=5)
    assert (hit.chunk_id, hit.text, hit.metadata) == ("ws/doc/0", "new", {"v": 2})
    assert hit.score == pytest.approx(1.0, abs=1e-5)


def test_replacing_a_document_does_not_touch_other_documents_or_workspaces(store):
    store.replace_document_chunks("ws", "other", document("ws", "other", ["x1", "x2"]))
    store.replace_document_chunks("ws2", "doc", document("ws2", "doc", ["y1", "y2", "y3"]))
    untouched = [r for r in all_rows(store) if r[2] == "other" or r[1] == "ws2"]

    store.replace_document_chunks("ws", "doc", document("ws", "doc", ["a1"]))
    store.replace_document_chunks("ws", "doc", document("ws", "doc", ["b1", "b2"]))
    store.replace_document_chunks("ws", "doc", [])

    assert [r for r in all_rows(store) if r[2] == "other" or r[1] == "ws2"] == untouched
    assert store.count_chunks("ws", "doc") == 0


@pytest.mark.parametrize(
    "bad",
    [chunk("ws2", "doc", 9, "wrong workspace"), chunk("ws", "other", 9, "wrong document")],
    ids=["wrong workspace", "wrong document"],
)
def test_a_chunk_of_another_document_raises_value_error_and_writes_nothing(store, bad):
    original = document("ws", "doc", ["kept 1", "kept 2"])
    store.replace_document_chunks("ws", "doc", original)
    before = all_rows(store)

    with pytest.raises(ValueError, match="must belong to the document being replaced"):
        store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 0, "replaced"), bad])

    assert all_rows(store) == before


def test_delete_document_returns_its_count_and_removes_only_it(store):
    store.replace_document_chunks("ws", "doc", document("ws", "doc", ["a", "b", "c"]))
    store.replace_document_chunks("ws", "other", document("ws", "other", ["d"]))
    store.replace_document_chunks("ws2", "doc", document("ws2", "doc", ["e", "f"]))

    assert store.delete_document("ws", "doc") == 3

    assert store.count_chunks("ws", "doc") == 0
    assert store.count_chunks("ws", "other") == 1
    assert store.count_chunks("ws2", "doc") == 2
    assert store.delete_document("ws", "doc") == 0


def test_delete_workspace_returns_its_count_and_removes_only_it(store):
    store.replace_document_chunks("ws", "doc", document("ws", "doc", ["a", "b"]))
    store.replace_document_chunks("ws", "other", document("ws", "other", ["c"]))
    store.replace_document_chunks("ws2", "doc", document("ws2", "doc", ["d", "e"]))

    assert store.delete_workspace("ws") == 3

    assert store.count_chunks("ws") == 0
    assert store.count_chunks("ws2") == 2
    assert store.delete_workspace("ws") == 0


def test_count_chunks_counts_per_workspace_and_per_document(store):
    store.replace_document_chunks("ws", "doc", document("ws", "doc", ["a", "b", "c"]))
    store.replace_document_chunks("ws", "other", document("ws", "other", ["d"]))
    store.replace_document_chunks("ws2", "doc", document("ws2", "doc", ["e"]))

    assert store.count_chunks("ws") == 4
    assert store.count_chunks("ws", "doc") == 3
    assert store.count_chunks("ws", "other") == 1
    assert store.count_chunks("ws2") == 1
    assert store.count_chunks("ws", "missing") == 0
    assert store.count_chunks("missing") == 0


def test_unicode_texts_round_trip_unchanged(store):
    texts = [
        "東京は日本の首都です。北京是中国的首都。서울은 한국의 수도입니다.",
        "Emoji 🎉🚀👩🏽‍💻 and flags 🇫🇷 survive; so does the 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 of 4-byte letters.",
        "naïve café, Ωμέγα, עברית, العربية, e\u0301 (combining), zero\u200bwidth",
        "quotes ' \" ` and backslashes \\ \\\\ and a tab\tand a newline\nstay",
    ]
    store.replace_document_chunks("ws", "doc", document("ws", "doc", texts))

    assert [h.text for h in store.document_chunks("ws", "doc")] == texts


def test_a_very_long_text_round_trips_unchanged(store):
    words = [f"word{i % 5000}" for i in range(40_000)]
    text = " ".join(words) + " 東京 🎉"  # ~330 KB
    store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 0, text)])

    (hit,) = store.document_chunks("ws", "doc")
    assert hit.text == text
    assert ids(store.keyword_search("ws", "word4999", k=3)) == ["ws/doc/0"]


def test_nul_bytes_are_stripped_from_chunk_text(store):
    store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 0, "before\x00after\x00")])

    (hit,) = store.document_chunks("ws", "doc")
    assert hit.text == "beforeafter"


def test_metadata_round_trips_as_json(store):
    metadata = {"source": "a/b.pdf", "page": 3, "score": 0.5, "tags": ["x", "東京"], "n": None}
    store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 0, metadata=metadata)])

    (hit,) = store.document_chunks("ws", "doc")
    assert hit.metadata == metadata


def test_chunk_embeddings_returns_the_stored_vectors_of_the_workspace_only(store):
    mine = document("ws", "doc", ["a", "b"])
    theirs = document("ws2", "doc", ["c"])
    store.replace_document_chunks("ws", "doc", mine)
    store.replace_document_chunks("ws2", "doc", theirs)

    found = store.chunk_embeddings("ws", [c.id for c in mine] + [theirs[0].id, "missing"])

    assert set(found) == {c.id for c in mine}
    for c in mine:
        assert found[c.id].dtype == np.float32
        np.testing.assert_allclose(found[c.id], c.embedding, rtol=1e-6)
    assert store.chunk_embeddings("ws", []) == {}


# -- vector search ----------------------------------------------------------------------------


def test_vector_top_k_matches_brute_force_cosine_through_the_hnsw_index(hnsw_db):
    store = PgVectorStore(hnsw_db, DIM)
    vectors = unit_vectors(300, seed=7)
    store.replace_document_chunks(
        "ws", "doc", [chunk("ws", "doc", i, embedding=v) for i, v in enumerate(vectors)]
    )
    queries = unit_vectors(20, seed=8)
    assert uses_hnsw(store, "ws", queries[0])

    exact_orders, recalls = 0, []
    for query in queries:
        hits = store.vector_search("ws", query, k=10)
        similarities = vectors @ query
        expected = [f"ws/doc/{i}" for i in np.argsort(-similarities, kind="stable")[:10]]
        # Scores are the true cosine similarities, best first, whatever the index found.
        got = [int(h.chunk_id.rsplit("/", 1)[1]) for h in hits]
        np.testing.assert_allclose([h.score for h in hits], similarities[got], atol=1e-5)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        exact_orders += ids(hits) == expected
        recalls.append(len(set(ids(hits)) & set(expected)) / 10)

    # HNSW is approximate: an exact top-10 is expected at this size, and these seeds gave 20 of
    # 20 on each of 25 index builds, but other seeds missed one neighbour on 1 query in 50.
    # So the order is required for most queries, and recall for all.
    assert np.mean(recalls) >= 0.95, recalls
    assert min(recalls) >= 0.8, recalls
    assert exact_orders >= 17, f"{exact_orders} of 20 queries in exact brute-force order"


def test_vector_search_returns_the_whole_workspace_when_k_exceeds_it(store):
    store.replace_document_chunks("ws", "doc", document("ws", "doc", ["a", "b", "c"]))

    hits = store.vector_search("ws", unit_vectors(1, seed=1)[0], k=50)

    assert sorted(ids(hits)) == ["ws/doc/0", "ws/doc/1", "ws/doc/2"]


def test_filtered_top_k_still_returns_k_when_the_workspace_is_a_small_fraction(hnsw_db):
    # 32 dimensions keep 2,000 HNSW inserts fast; the filter, not the dimension, is under test.
    dim = 32
    store = PgVectorStore(hnsw_db, dim, table="chunks_32d")
    crowd = unit_vectors(2000, seed=11, dim=dim)
    store.replace_document_chunks(
        "crowd", "doc", [chunk("crowd", "doc", i, embedding=v) for i, v in enumerate(crowd)]
    )
    few = unit_vectors(30, seed=12, dim=dim)  # 1.5% of the table
    store.replace_document_chunks(
        "few", "doc", [chunk("few", "doc", i, embedding=v) for i, v in enumerate(few)]
    )
    query = unit_vectors(1, seed=13, dim=dim)[0]
    assert uses_hnsw(store, "few", query)

    hits = store.vector_search("few", query, k=10)

    assert len(hits) == 10
    assert all(h.chunk_id.startswith("few/") for h in hits)
    expected = {f"few/doc/{i}" for i in np.argsort(-(few @ query))[:10]}
    assert len(set(ids(hits)) & expected) >= 9
    # The control: the same index scan without pgvector's iterative scan comes back short.
    with store.db.transaction() as cur:
        cur.execute("SET LOCAL hnsw.ef_search = 40")
        cur.execute(
            "SELECT id FROM chunks_32d WHERE workspace_id = 'few'"
            " ORDER BY embedding <=> %s LIMIT 10",
            (query,),
        )
        assert len(cur.fetchall()) < 10


def test_vector_search_never_returns_another_workspaces_chunks(store):
    shared = unit_vectors(1, seed=3)[0]
    store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 0, embedding=shared)])
    store.replace_document_chunks(
        "ws2", "doc", [chunk("ws2", "doc", i, embedding=shared) for i in range(5)]
    )

    hits = store.vector_search("ws", shared, k=10)

    assert ids(hits) == ["ws/doc/0"]
    assert store.vector_search("nobody", shared, k=10) == []


# -- keyword search ---------------------------------------------------------------------------


def test_keyword_search_never_returns_another_workspaces_chunks(store):
    store.replace_document_chunks("ws", "doc", document("ws", "doc", ["refund policy for ws"]))
    store.replace_document_chunks(
        "ws2", "doc", document("ws2", "doc", ["refund policy", "refund refund policy"])
    )

    assert ids(store.keyword_search("ws", "refund policy", k=10)) == ["ws/doc/0"]
    assert store.keyword_search("nobody", "refund policy", k=10) == []


def test_keyword_search_finds_a_rare_identifier_with_a_hyphen_and_digits(store):
    common = [
        "To fix an error in the ingest worker, restart the worker and check the logs.",
        "Fix the error by restarting: most errors in the worker go away after a restart.",
        "Error fix checklist: restart, check logs, fix configuration, restart again.",
        "The worker logs every error; fix errors by reading the logs and restarting.",
        "Common error fixes: restart the worker, fix permissions, fix the queue.",
    ]
    rare = "Error XK-4471 means the embedding endpoint is paused."
    store.replace_document_chunks("ws", "doc", document("ws", "doc", [*common, rare]))

    only_id = store.keyword_search("ws", "XK-4471", k=10)
    question = store.keyword_search("ws", "how do I fix error XK-4471 in the worker", k=10)

    assert ids(only_id) == ["ws/doc/5"]
    assert question[0].chunk_id == "ws/doc/5"
    assert question[0].score > question[1].score
    assert len(question) == 6


def test_keyword_search_ranks_by_term_rarity_not_by_repetition_of_common_words(store):
    texts = [f"fix the error in service {i}" for i in range(8)]
    texts += ["fix fix fix error error error fix error", "vendor code ZQ9 appears in the error"]
    store.replace_document_chunks("ws", "doc", document("ws", "doc", texts))

    hits = store.keyword_search("ws", "fix error ZQ9", k=3)

    assert hits[0].chunk_id == "ws/doc/9"


def test_keyword_search_stems_english_words(store):
    store.replace_document_chunks("ws", "doc", document("ws", "doc", ["Invoices are generated"]))

    assert ids(store.keyword_search("ws", "invoice generation", k=5)) == ["ws/doc/0"]


def test_keyword_search_finds_cjk_and_accented_words(store):
    texts = ["東京 is the capital of Japan", "Un café naïve à Paris", "nothing relevant"]
    store.replace_document_chunks("ws", "doc", document("ws", "doc", texts))

    assert ids(store.keyword_search("ws", "東京", k=5)) == ["ws/doc/0"]
    assert ids(store.keyword_search("ws", "naïve café", k=5)) == ["ws/doc/1"]


# -- BM25 ------------------------------------------------------------------------------------
# Words the English stemmer leaves alone and neither PostgreSQL nor bm25s drops as stop words, so
# both tokenise these texts alike and the scores can be compared exactly.

GREEK = ["alpha", "beta", "gamma", "delta", "kappa", "sigma", "omega", "theta"]


def scores(hits: Sequence[SearchHit]) -> dict[str, float]:
    return {h.chunk_id: h.score for h in hits}


def test_keyword_scores_are_the_bm25_scores_bm25s_computes(store):
    texts = [
        "alpha beta gamma",
        "alpha alpha alpha delta",
        "beta gamma gamma kappa sigma omega theta",
        "alpha " * 12 + "omega",
        "kappa sigma",
        "delta delta beta alpha gamma kappa sigma omega theta theta",
    ]
    store.replace_document_chunks("ws", "doc", document("ws", "doc", texts))
    reference = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    reference.index(
        bm25s.tokenize(texts, return_ids=False, show_progress=False), show_progress=False
    )

    for query in ["alpha", "alpha gamma", "beta kappa theta", "omega delta sigma"]:
        expected = reference.get_scores(query.split())
        found = scores(store.keyword_search("ws", query, k=10))
        assert found == pytest.approx(
            {f"ws/doc/{i}": float(s) for i, s in enumerate(expected) if s > 0}, rel=1e-5
        )


def test_repeating_a_term_fifty_times_does_not_make_a_chunk_fifty_times_as_relevant(store):
    texts = [
        "alpha " + "beta " * 49,  # the term once, in a chunk of 50 words
        "alpha " * 5 + "beta " * 45,
        "alpha " * 50,
        "gamma delta",
        "kappa sigma",
    ]
    store.replace_document_chunks("ws", "doc", document("ws", "doc", texts))

    hits = store.keyword_search("ws", "alpha", k=5)
    found = scores(hits)

    # More occurrences rank higher, but term frequency saturates: fifty weigh less than three
    # times one in a chunk of the same length.
    assert ids(hits) == ["ws/doc/2", "ws/doc/1", "ws/doc/0"]
    assert found["ws/doc/2"] < 3 * found["ws/doc/0"]


def test_of_two_chunks_matching_alike_the_shorter_ranks_first(store):
    long_text = "alpha beta " + " ".join(GREEK[2:] * 5)
    texts = [long_text, "alpha beta", "kappa sigma", "omega theta"]
    store.replace_document_chunks("ws", "doc", document("ws", "doc", texts))

    hits = store.keyword_search("ws", "alpha beta", k=5)

    assert ids(hits) == ["ws/doc/1", "ws/doc/0"]
    assert hits[0].score > hits[1].score


def test_the_statistics_count_chunks_lengths_and_document_frequencies(store):
    store.replace_document_chunks("ws", "a", document("ws", "a", ["alpha beta", "alpha gamma"]))
    store.replace_document_chunks("ws", "b", document("ws", "b", ["gamma gamma delta"]))

    stats = store.keyword_statistics("ws")

    assert stats == {
        "chunks": 3,
        "total_length": 7,
        "df": {"alpha": 2, "beta": 1, "gamma": 2, "delta": 1},
    }


def test_deleting_a_document_takes_it_out_of_the_statistics(store):
    store.replace_document_chunks("ws", "a", document("ws", "a", ["alpha beta"]))
    store.replace_document_chunks("ws", "b", document("ws", "b", ["alpha gamma"]))
    store.replace_document_chunks("ws", "c", document("ws", "c", ["delta kappa"]))
    before = store.keyword_search("ws", "alpha", k=5)

    store.delete_document("ws", "b")

    assert store.keyword_statistics("ws") == {
        "chunks": 2,
        "total_length": 4,
        "df": {"alpha": 1, "beta": 1, "delta": 1, "kappa": 1},
    }
    assert store.keyword_search("ws", "gamma", k=5) == []
    # "alpha" is now in one chunk of two, not in two of three: rarer, so it weighs more.
    (after,) = store.keyword_search("ws", "alpha", k=5)
    assert after.score > scores(before)["ws/a/0"]


def test_replacing_a_document_leaves_the_statistics_of_ingesting_it_once(store):
    store.replace_document_chunks("ws", "a", document("ws", "a", ["alpha beta", "gamma"]))
    store.replace_document_chunks("ws", "b", document("ws", "b", ["delta delta kappa"]))
    store.replace_document_chunks("ws", "a", document("ws", "a", ["alpha alpha sigma"]))
    store.replace_document_chunks("ws", "b", document("ws", "b", ["delta delta kappa"]))
    store.replace_document_chunks("ws", "c", document("ws", "c", ["omega"]))
    store.delete_document("ws", "c")
    store.replace_document_chunks("fresh", "a", document("fresh", "a", ["alpha alpha sigma"]))
    store.replace_document_chunks("fresh", "b", document("fresh", "b", ["delta delta kappa"]))

    assert store.keyword_statistics("ws") == store.keyword_statistics("fresh")
    assert [h.score for h in store.keyword_search("ws", "alpha delta", k=5)] == [
        h.score for h in store.keyword_search("fresh", "alpha delta", k=5)
    ]


def test_the_statistics_of_a_workspace_ignore_every_other_workspace(store):
    store.replace_document_chunks("ws", "a", document("ws", "a", ["alpha beta"]))
    store.replace_document_chunks("ws2", "a", document("ws2", "a", ["alpha", "alpha", "alpha"]))

    assert store.keyword_statistics("ws") == {
        "chunks": 1,
        "total_length": 2,
        "df": {"alpha": 1, "beta": 1},
    }

    store.delete_workspace("ws2")

    assert store.keyword_statistics("ws2") == {"chunks": 0, "total_length": 0, "df": {}}
    assert store.keyword_statistics("ws")["chunks"] == 1


def test_a_table_from_before_bm25_gets_its_statistics_when_the_store_opens(db, store):
    store.replace_document_chunks("ws", "a", document("ws", "a", ["alpha beta", "alpha gamma"]))
    store.replace_document_chunks("ws2", "b", document("ws2", "b", ["gamma delta"]))
    expected = {ws: store.keyword_statistics(ws) for ws in ("ws", "ws2")}
    with db.transaction() as cur:
        cur.execute(f"DROP TABLE {store.postings}, {store.lexemes}, {store.corpus}")

    reopened = PgVectorStore(db, DIM)

    assert {ws: reopened.keyword_statistics(ws) for ws in ("ws", "ws2")} == expected
    assert ids(reopened.keyword_search("ws", "beta", k=5)) == ["ws/a/0"]


def test_concurrent_ingests_into_one_workspace_keep_the_statistics_exact(db, store):
    names = [f"d{i}" for i in range(12)]
    texts = {
        n: [" ".join(GREEK[: 2 + i % 6]), f"omega {GREEK[i % 8]}"] for i, n in enumerate(names)
    }
    start = threading.Barrier(4)

    def ingest(part: list[str]) -> None:
        start.wait()
        for n in part:
            store.replace_document_chunks("ws", n, document("ws", n, texts[n]))

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(ingest, [names[i::4] for i in range(4)]))
    for n in names:
        store.replace_document_chunks("recount", n, document("recount", n, texts[n]))

    assert store.keyword_statistics("ws") == store.keyword_statistics("recount")
    assert store.keyword_statistics("ws")["chunks"] == 24


INJECTIONS = {
    "sql comment": "'; DROP TABLE chorus_chunks; --",
    "tsquery operators": "a & b | !c <-> d",
    "prefix operator": ":*",
    "prefix on a word": "refund:* & !policy",
    "weights and phrase": "refund:AB <2> policy",
    "parentheses": "((refund) | (policy",
    "single quotes": "it's O'Reilly's ''refund''",
    "double quotes": '"refund" "policy',
    "backslashes": "\\ \\\\ refund\\' \\x00",
    "nul byte": "refund\x00policy",
    "empty": "",
    "whitespace": " \t\n ",
    "stopwords only": "the and of a to is",
    "punctuation only": "!@#$%^&*()_+-=[]{};:,./<>?|~`",
    "10 KB of text": ("refund policy questions and answers " * 300)[:10_240],
    "one 10 KB word": "r" * 10_240,
    "unicode": "返金ポリシー 🎉🚀 naïve café עברית",
    "emoji only": "🎉🚀👩🏽‍💻",
}


@pytest.mark.parametrize("query", list(INJECTIONS.values()), ids=list(INJECTIONS))
def test_keyword_search_on_hostile_input_never_raises_and_changes_nothing(store, query):
    texts = ["The refund policy allows returns in 30 days.", "Policy O'Reilly 東京 🎉"]
    store.replace_document_chunks("ws", "doc", document("ws", "doc", texts))
    before = all_rows(store)

    hits = store.keyword_search("ws", query, k=5)

    assert all(isinstance(h, SearchHit) and h.document_id == "doc" for h in hits)
    assert all_rows(store) == before
    assert ids(store.keyword_search("ws", "refund", k=5)) == ["ws/doc/0"]


@pytest.mark.parametrize("value", ["'; DROP TABLE chorus_chunks; --", "\\", '"}', "🎉"])
def test_metadata_filters_with_hostile_values_match_nothing_and_change_nothing(store, value):
    store.replace_document_chunks("ws", "doc", document("ws", "doc", ["refund policy"]))
    before = all_rows(store)
    query = unit_vectors(1, seed=5)[0]

    assert store.vector_search("ws", query, k=5, filters={"source": value}) == []
    assert store.keyword_search("ws", "refund", k=5, filters={value: value}) == []
    assert all_rows(store) == before


# -- metadata filters -------------------------------------------------------------------------


# jsonb-containment filter semantics are proven for every store, pgvector included, by
# test_store_contract.py::test_metadata_filters_match_by_containment.


def test_nul_bytes_are_stripped_from_metadata(store):
    metadata = {"title\x00": "Annual\x00 report", "authors": ["a\x00b"], "nested": {"k": "\x00"}}
    store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 0, metadata=metadata)])

    (hit,) = store.document_chunks("ws", "doc")
    assert hit.metadata == {"title": "Annual report", "authors": ["ab"], "nested": {"k": ""}}


def test_a_metadata_filter_with_nul_bytes_matches_like_the_stripped_value(store):
    store.replace_document_chunks("ws", "doc", [chunk("ws", "doc", 0, metadata={"k": "ab"})])

    hits = store.keyword_search("ws", "chunk", k=5, filters={"k": "a\x00b"})

    assert ids(hits) == ["ws/doc/0"]
