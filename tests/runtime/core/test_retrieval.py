"""Retrieval on the real stack: embedded PostgreSQL + pgvector and all-MiniLM-L6-v2.

The bundled set (tests/data/retrieval_set, BEIR format) mixes two kinds of questions: exact
identifiers among look-alikes ("XK-4471" next to XK-4417, XK-4474 ...), where keyword search is
precise and embeddings blur, and paraphrases that share no word with their answer, where only
embeddings help. Hybrid retrieval must beat each retriever alone on it.
"""

import threading
from pathlib import Path

import pytest
from chorus.runtime.core.errors import BadRequest
from chorus.runtime.core.evaluation import evaluate_run, load_corpus, load_qrels, load_queries
from chorus.runtime.core.ingestion import DocumentInput
from chorus.runtime.core.retrieval import (
    CachedOverrides,
    RetrievalSettings,
    RetrievalTrace,
    Retriever,
)
from chorus.runtime.local.evaluation import documents_in_rank_order
from chorus.runtime.local.services import open_services
from chorus.runtime.local.settings import LocalSettings

SET = Path(__file__).resolve().parents[2] / "data" / "retrieval_set"


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, pg_server_dsn, embedder):
    services = open_services(
        LocalSettings(home=tmp_path_factory.mktemp("home")), embedder=embedder, dsn=pg_server_dsn
    )
    workspace = services.create_workspace("retrieval-quality")
    corpus = load_corpus(SET / "corpus.jsonl")
    services.ingestor.ingest_many(
        workspace,
        [
            DocumentInput(f"{d.id}.txt", d.full_text.encode(), document_id=d.id)
            for d in corpus.values()
        ],
    )
    yield services, workspace
    services.delete_workspace(workspace.id)
    services.close()


def ndcg(services, workspace, settings: RetrievalSettings) -> float:
    queries = load_queries(SET / "queries.jsonl")
    run = {
        qid: documents_in_rank_order(
            services.retriever.retrieve(workspace.id, text, settings=settings), 10
        )
        for qid, text in queries.items()
    }
    return evaluate_run(run, load_qrels(SET / "qrels.tsv"), 10)["ndcg@10"]


def test_hybrid_beats_vector_only_and_keyword_only(indexed):
    services, workspace = indexed
    vector = ndcg(services, workspace, RetrievalSettings(mode="vector", k=30))
    keyword = ndcg(services, workspace, RetrievalSettings(mode="keyword", k=30))
    hybrid = ndcg(services, workspace, RetrievalSettings(mode="hybrid", k=30))
    assert hybrid > vector
    assert hybrid > keyword


def test_keyword_search_finds_the_exact_identifier_first(indexed):
    services, workspace = indexed
    hits = services.retriever.retrieve(
        workspace.id, "XK-4471", settings=RetrievalSettings(mode="keyword")
    )
    assert hits[0].document_id == "d01"


def test_vector_search_finds_a_paraphrase_keyword_search_cannot(indexed):
    services, workspace = indexed
    question = "how long do felines doze"
    keyword = services.retriever.retrieve(
        workspace.id, question, settings=RetrievalSettings(mode="keyword")
    )
    vector = services.retriever.retrieve(
        workspace.id, question, settings=RetrievalSettings(mode="vector")
    )
    assert "d04" not in [h.document_id for h in keyword]
    assert vector[0].document_id == "d04"


def test_results_stay_inside_the_workspace(indexed):
    services, _workspace = indexed
    other = services.create_workspace("other-workspace")
    try:
        assert services.retriever.retrieve(other.id, "XK-4471") == []
    finally:
        services.delete_workspace(other.id)


def test_k_caps_the_number_of_hits(indexed):
    services, workspace = indexed
    hits = services.retriever.retrieve(workspace.id, "router", settings=RetrievalSettings(k=3))
    assert len(hits) == 3


def test_mmr_returns_k_distinct_chunks(indexed):
    services, workspace = indexed
    settings = RetrievalSettings(k=5, mmr_lambda=0.5)
    hits = services.retriever.retrieve(
        workspace.id, "error codes of the billing daemon", settings=settings
    )
    assert len({h.chunk_id for h in hits}) == 5


def test_metadata_filters_restrict_hits(indexed):
    services, workspace = indexed
    hits = services.retriever.retrieve(workspace.id, "router", filters={"document_name": "d05.txt"})
    assert {h.document_id for h in hits} == {"d05"}


class _Reversing:
    """A reranker that prefers the chunk it was shown last: proves reranking reorders."""

    model_id = "reversing"

    def score(self, query, passages):
        return [float(i) for i in range(len(passages))]


def test_reranker_reorders_the_fused_candidates(indexed):
    services, workspace = indexed
    plain = services.retriever.retrieve(
        workspace.id, "router", settings=RetrievalSettings(k=4, rerank_candidates=4)
    )
    reranked = Retriever(services.embedder, services.store, _Reversing()).retrieve(
        workspace.id, "router", settings=RetrievalSettings(k=4, rerank_candidates=4)
    )
    assert [h.chunk_id for h in reranked] == [h.chunk_id for h in reversed(plain)]


class _VectorOnlyStore:
    """Wraps the real store but declares no keyword search, like a store without BM25."""

    supports_keyword_search = False

    def __init__(self, inner):
        self.inner = inner

    def vector_search(self, *args, **kwargs):
        return self.inner.vector_search(*args, **kwargs)

    def keyword_search(self, *args, **kwargs):
        raise AssertionError("keyword search must not be called on this store")


def test_hybrid_falls_back_to_vector_when_the_store_has_no_keyword_search(indexed):
    services, workspace = indexed
    retriever = Retriever(services.embedder, _VectorOnlyStore(services.store))
    hits = retriever.retrieve(workspace.id, "how long do felines doze")
    assert hits[0].document_id == "d04"


class _MeetingStore:
    """The real store, whose keyword search waits at a barrier the query encode also reaches."""

    supports_keyword_search = True

    def __init__(self, inner, barrier):
        self.inner = inner
        self.barrier = barrier

    def vector_search(self, *args, **kwargs):
        return self.inner.vector_search(*args, **kwargs)

    def keyword_search(self, *args, **kwargs):
        self.barrier.wait()
        return self.inner.keyword_search(*args, **kwargs)

    def chunk_embeddings(self, *args, **kwargs):
        return self.inner.chunk_embeddings(*args, **kwargs)


class _MeetingEmbedder:
    """The real embedder, which reaches the barrier before it encodes the query."""

    def __init__(self, inner, barrier):
        self.inner = inner
        self.model_id = inner.model_id
        self.dimension = inner.dimension
        self.barrier = barrier

    def embed(self, texts, *, kind="passage"):
        self.barrier.wait()
        return self.inner.embed(texts, kind=kind)


def test_the_keyword_leg_runs_while_the_query_is_encoded(indexed):
    services, workspace = indexed
    # Both parties must be waiting at once: run one after the other, the barrier breaks.
    barrier = threading.Barrier(2, timeout=30)
    retriever = Retriever(
        _MeetingEmbedder(services.embedder, barrier), _MeetingStore(services.store, barrier)
    )
    trace = RetrievalTrace()
    hits = retriever.retrieve(workspace.id, "XK-4471", trace=trace)
    assert not barrier.broken
    assert (
        hits[0].document_id == services.retriever.retrieve(workspace.id, "XK-4471")[0].document_id
    )
    assert trace.used_keyword


class _FailingKeywordStore(_VectorOnlyStore):
    supports_keyword_search = True

    def keyword_search(self, *args, **kwargs):
        raise RuntimeError("keyword index unavailable")


def test_a_failing_keyword_leg_fails_the_retrieval(indexed):
    services, workspace = indexed
    retriever = Retriever(services.embedder, _FailingKeywordStore(services.store))
    with pytest.raises(RuntimeError, match="keyword index unavailable"):
        retriever.retrieve(workspace.id, "XK-4471")


def test_the_trace_times_each_stage_of_a_hybrid_retrieval(indexed):
    services, workspace = indexed
    trace = RetrievalTrace()
    services.retriever.retrieve(workspace.id, "XK-4471", trace=trace)
    assert {"embed_query", "vector_search", "keyword_search", "legs", "fusion"} <= set(
        trace.timings_ms
    )


class _CountingStore:
    """The real store, counting vector searches; ``vectors=False`` hides stored vectors."""

    supports_keyword_search = True

    def __init__(self, inner, *, vectors=True):
        self.inner = inner
        self.vectors = vectors
        self.vector_searches = 0

    def vector_search(self, *args, **kwargs):
        self.vector_searches += 1
        return self.inner.vector_search(*args, **kwargs)

    def keyword_search(self, *args, **kwargs):
        return self.inner.keyword_search(*args, **kwargs)

    def chunk_embeddings(self, *args, **kwargs):
        return self.inner.chunk_embeddings(*args, **kwargs) if self.vectors else {}


def test_feedback_searches_the_vector_leg_again_from_the_first_hits(indexed):
    services, workspace = indexed
    store = _CountingStore(services.store)
    trace = RetrievalTrace()
    hits = Retriever(services.embedder, store).retrieve(
        workspace.id, "how long do felines doze", trace=trace
    )
    assert store.vector_searches == 2
    assert "feedback" in trace.timings_ms
    assert hits[0].document_id == "d04"


def test_feedback_weight_zero_searches_once(indexed):
    services, workspace = indexed
    store = _CountingStore(services.store)
    Retriever(services.embedder, store).retrieve(
        workspace.id, "how long do felines doze", settings=RetrievalSettings(feedback_weight=0)
    )
    assert store.vector_searches == 1


def test_without_stored_vectors_feedback_keeps_the_first_fusion(indexed):
    services, workspace = indexed
    store = _CountingStore(services.store, vectors=False)
    with_feedback = Retriever(services.embedder, store).retrieve(workspace.id, "router")
    without = services.retriever.retrieve(
        workspace.id, "router", settings=RetrievalSettings(feedback_weight=0)
    )
    assert store.vector_searches == 1
    assert [h.chunk_id for h in with_feedback] == [h.chunk_id for h in without]


def test_vector_only_retrieval_takes_no_feedback(indexed):
    services, workspace = indexed
    store = _CountingStore(services.store)
    Retriever(services.embedder, store).retrieve(
        workspace.id, "router", settings=RetrievalSettings(mode="vector")
    )
    assert store.vector_searches == 1


def test_feedback_settings_are_validated():
    with pytest.raises(BadRequest, match="feedback"):
        RetrievalSettings(feedback_weight=-1)
    with pytest.raises(BadRequest, match="feedback"):
        RetrievalSettings(feedback_depth=0)


def test_a_question_naming_an_identifier_gets_its_chunk_before_look_alikes(indexed):
    services, workspace = indexed
    hits = services.retriever.retrieve(workspace.id, "how to fix error XK-4471")
    assert hits[0].document_id == "d01"


def test_vector_only_scores_are_the_stores_cosines_without_evidence(indexed):
    services, workspace = indexed
    query_vector = services.retriever.embedder.embed(["error XK-4471"], kind="query")[0]
    searched = services.store.vector_search(workspace.id, query_vector, 8)
    hits = services.retriever.retrieve(
        workspace.id, "error XK-4471", settings=RetrievalSettings(mode="vector")
    )
    assert [(h.chunk_id, h.score) for h in hits] == [(h.chunk_id, h.score) for h in searched]


def test_sections_of_one_page_lift_each_other(indexed):
    services, _ = indexed
    pages = services.create_workspace("sibling-sections")
    try:
        services.ingestor.ingest_many(
            pages,
            [
                DocumentInput(
                    f"{name}.txt", text.encode(), document_id=name, metadata={"title": title}
                )
                for name, title, text in [
                    ("stash", "git-stash", "Stash the changes in a dirty working directory away."),
                    ("stash-options", "git-stash", "Options: --keep-index, --include-untracked."),
                    ("log", "git-log", "Show the commit logs of the working directory."),
                ]
            ],
        )

        def ranked(weight):
            return [
                h.document_id
                for h in services.retriever.retrieve(
                    pages.id,
                    "stash changes in the working directory",
                    settings=RetrievalSettings(sibling_weight=weight, feedback_weight=0),
                )
            ]

        assert ranked(0.0)[:2] == ["stash", "log"]
        assert ranked(1.0)[:2] == ["stash", "stash-options"]
    finally:
        services.delete_workspace(pages.id)


def test_evidence_weights_are_validated_and_tunable():
    with pytest.raises(BadRequest, match="exact_term_weight"):
        RetrievalSettings(exact_term_weight=-0.5)
    with pytest.raises(BadRequest, match="sibling_weight"):
        RetrievalSettings(sibling_weight=-0.5)
    tuned = RetrievalSettings().with_overrides({"exact_term_weight": 0, "sibling_weight": 0.1})
    assert (tuned.exact_term_weight, tuned.sibling_weight) == (0, 0.1)


def test_an_empty_query_is_a_bad_request(indexed):
    from chorus.runtime.core.errors import BadRequest

    services, workspace = indexed
    with pytest.raises(BadRequest):
        services.retriever.retrieve(workspace.id, "   ")


def test_a_workspace_with_tuned_settings_is_retrieved_with_them(indexed):
    services, workspace = indexed
    asked: list[str] = []

    def overrides(workspace_id):
        asked.append(workspace_id)
        return {
            "fusion": "rrf",
            "keyword_weight": 0.0,
            "feedback_weight": 0.0,
            "exact_term_weight": 0.0,
        }

    tuned = Retriever(services.retriever.embedder, services.store, workspace_overrides=overrides)
    vector_only = services.retriever.retrieve(
        workspace.id, "XK-4471", settings=RetrievalSettings(mode="vector")
    )
    hits = tuned.retrieve(workspace.id, "XK-4471")
    assert asked == [workspace.id]
    assert [h.chunk_id for h in hits] == [h.chunk_id for h in vector_only]


def test_broken_tuned_settings_fall_back_to_the_defaults(indexed):
    services, workspace = indexed
    broken = Retriever(
        services.retriever.embedder,
        services.store,
        workspace_overrides=lambda _: {"fusion": "loudest"},
    )
    assert broken.settings_for(workspace.id) == RetrievalSettings()


def test_overrides_name_only_tunable_settings():
    assert RetrievalSettings().with_overrides({"keyword_weight": 0.25}).keyword_weight == 0.25
    with pytest.raises(BadRequest, match="tunable"):
        RetrievalSettings().with_overrides({"mode": "keyword"})
    with pytest.raises(BadRequest):
        RetrievalSettings().with_overrides({"fusion": "loudest"})


def test_tuned_overrides_are_read_once_per_ttl_per_workspace():
    now = [0.0]
    reads: list[str] = []

    def read(workspace_id):
        reads.append(workspace_id)
        return {"keyword_weight": len(reads)}

    cached = CachedOverrides(read, ttl_seconds=60, clock=lambda: now[0])
    assert cached("a") == {"keyword_weight": 1}
    now[0] = 59.0
    assert cached("a") == {"keyword_weight": 1}
    assert cached("b") == {"keyword_weight": 2}
    now[0] = 61.0
    assert cached("a") == {"keyword_weight": 3}
    assert reads == ["a", "b", "a"]
