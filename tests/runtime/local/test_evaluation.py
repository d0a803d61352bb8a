"""runtime/local/evaluation.py and tuning.py: the eval harness on the real stack (embedded
PostgreSQL, MiniLM) and the bundled BEIR set."""

from __future__ import annotations

from pathlib import Path

import pytest
from chorus.runtime.core.evaluation import CorpusDoc
from chorus.runtime.core.ingestion import DocumentInput
from chorus.runtime.core.models import ChunkingSettings, DocumentStatus, SearchHit
from chorus.runtime.core.retrieval import RetrievalSettings
from chorus.runtime.local.eval_embeddings import DiskCachedEmbedder
from chorus.runtime.local.evaluation import (
    EvalSet,
    LegRankings,
    SweepGrid,
    SweepRow,
    plain_dense_run,
    run_from_legs,
    run_retrieval_eval,
    run_retrieval_sweep,
    sweep_table,
)
from chorus.runtime.local.services import open_services
from chorus.runtime.local.settings import LocalSettings
from chorus.runtime.local.tuning import TunedSettings, apply_tuning, best_hybrid

SET = Path(__file__).resolve().parents[2] / "data" / "retrieval_set"


@pytest.fixture(scope="module")
def services(tmp_path_factory, pg_server_dsn, embedder):
    built = open_services(
        LocalSettings(home=tmp_path_factory.mktemp("home")),
        embedder=embedder,
        dsn=pg_server_dsn,
        semantic_cache=False,
    )
    yield built
    built.close()


def bundled() -> EvalSet:
    return EvalSet.load(SET / "corpus.jsonl", SET / "queries.jsonl", SET / "qrels.tsv")


class Counting:
    """The real embedder, counting the texts it is asked to embed."""

    def __init__(self, inner):
        self.inner, self.model_id, self.dimension = inner, inner.model_id, inner.dimension
        self.texts = 0

    def embed(self, texts, *, kind="passage"):
        self.texts += len(texts)
        return self.inner.embed(texts, kind=kind)


def test_plain_dense_search_ranks_whole_passages_by_cosine(embedder):
    eval_set = EvalSet(
        {
            "wifi": CorpusDoc("wifi", "Wireless", "Turn on WPA3 under Wireless, then Security."),
            "bill": CorpusDoc("bill", "Energy", "Run the dishwasher at night to pay less."),
        },
        {"q": "how do I make my wifi more secure"},
        {"q": {"wifi": 1}},
    )
    assert plain_dense_run(eval_set, embedder, 2) == {"q": ["wifi", "bill"]}


def test_the_disk_cache_embeds_each_text_once_across_runs(embedder, tmp_path):
    counting = Counting(embedder)
    first = DiskCachedEmbedder(counting, tmp_path)
    vectors = first.embed(["a passage", "another"])
    first.save()
    again = DiskCachedEmbedder(counting, tmp_path).embed(["another", "a passage"])
    assert counting.texts == 2
    assert (again[1] == vectors[0]).all()


def hit(chunk, document, score):
    return SearchHit(chunk, document, 0, chunk, score)


def test_a_run_from_searched_legs_follows_the_mode_and_fusion_asked_for():
    legs = LegRankings(
        vector={"q": [hit("v", "doc-v", 0.9), hit("k", "doc-k", 0.8)]},
        keyword={"q": [hit("k", "doc-k", 5.0), hit("v", "doc-v", 1.0)]},
        ingest_seconds=0.0,
        chunks=2,
        skipped=0,
    )
    assert run_from_legs(legs, RetrievalSettings(mode="vector"), 10) == {"q": ["doc-v", "doc-k"]}
    assert run_from_legs(legs, RetrievalSettings(mode="keyword"), 10) == {"q": ["doc-k", "doc-v"]}
    keyword_heavy = RetrievalSettings(fusion="weighted", keyword_weight=2.0)
    assert run_from_legs(legs, keyword_heavy, 10)["q"][0] == "doc-k"


def test_a_hybrid_run_from_searched_legs_adds_the_query_s_identifiers_as_evidence():
    legs = LegRankings(
        vector={
            "q": [
                hit("XK-4474", "look-alike", 0.9),
                hit("XK-4471", "answer", 0.85),
                hit("other", "other", 0.5),
            ]
        },
        keyword={"q": [hit("XK-4474", "look-alike", 2.0), hit("XK-4471", "answer", 1.9)]},
        ingest_seconds=0.0,
        chunks=2,
        skipped=0,
        queries={"q": "how to fix XK-4471"},
    )
    plain = RetrievalSettings(exact_term_weight=0.0)
    assert run_from_legs(legs, plain, 2) == {"q": ["look-alike", "answer"]}
    assert run_from_legs(legs, RetrievalSettings(), 2) == {"q": ["answer", "look-alike"]}


def test_a_sweep_row_names_a_sibling_weight_other_than_the_default():
    row = SweepRow(ChunkingSettings(), RetrievalSettings(sibling_weight=0.0), {})
    assert row.label().endswith("adaptive kw=1 sib=0")
    assert "sib=" not in SweepRow(ChunkingSettings(), RetrievalSettings(), {}).label()


def test_a_hybrid_report_compares_with_plain_dense_search_and_each_leg(services):
    report = run_retrieval_eval(
        services.settings,
        SET / "corpus.jsonl",
        SET / "queries.jsonl",
        SET / "qrels.tsv",
        services=services,
    )
    baselines = report["baselines"]
    assert set(baselines) == {"vector", "keyword", "bm25", "plain_dense", "plain_dense_text_only"}
    best_plain = max(baselines["plain_dense"], baselines["plain_dense_text_only"])
    assert report["vs_plain_dense"] == pytest.approx(report["ndcg@10"] / best_plain, abs=1e-3)
    assert report["chunks"] >= report["documents"] == 32


def test_a_sweep_scores_every_grid_point_best_first(services):
    grid = SweepGrid(
        chunk_sizes=(1000,),
        title_modes=("keyword",),
        fusions=({"mode": "vector"}, {"fusion": "adaptive"}, {"fusion": "rrf"}),
    )
    rows, plain = run_retrieval_sweep(services.settings, bundled(), grid=grid, services=services)
    scores = [row.metrics["ndcg@10"] for row in rows]
    assert len(rows) == 3 and scores == sorted(scores, reverse=True)
    table = sweep_table(rows, plain)
    assert "plain dense" in table and "adaptive" in table and "vs plain" in table


def test_a_tune_picks_the_best_hybrid_configuration_not_a_single_leg(services):
    grid = SweepGrid(
        chunk_sizes=(1000,),
        title_modes=("keyword",),
        fusions=({"mode": "keyword"}, {"fusion": "rrf"}, {"fusion": "weighted"}),
    )
    rows, _ = run_retrieval_sweep(services.settings, bundled(), grid=grid, services=services)
    tuned = best_hybrid(rows)
    hybrid = [r for r in rows if r.retrieval.mode == "hybrid"]
    assert tuned.ndcg == max(r.metrics["ndcg@10"] for r in hybrid)


def test_a_chunking_change_queues_the_workspaces_documents_for_re_indexing(services):
    workspace = services.create_workspace("tune-me")
    services.ingestor.ingest_many(workspace, [DocumentInput("a.md", b"# A\n\nSome text.")])
    tuned = TunedSettings(ChunkingSettings(chunk_size=500, chunk_overlap=50), {"rrf_k": 30}, 0.9)
    assert apply_tuning(services.metadata, workspace, tuned) is True
    stored = services.find_workspace(workspace.id)
    assert (stored.chunking, stored.retrieval) == (tuned.chunking, {"rrf_k": 30})
    assert {d.status for d in services.metadata.list_documents(workspace.id)} == {
        DocumentStatus.QUEUED
    }
    summary = services.ingestor.ingest_many(stored, [DocumentInput("a.md", b"# A\n\nSome text.")])
    assert summary.count("indexed") == 1  # re-chunked, not skipped as unchanged
    services.delete_workspace(workspace.id)


def test_a_fusion_only_change_keeps_the_index(services):
    workspace = services.create_workspace("tune-fusion")
    services.ingestor.ingest_many(workspace, [DocumentInput("a.md", b"# A\n\nSome text.")])
    tuned = TunedSettings(workspace.chunking, {"fusion": "rrf"}, 0.9)
    assert apply_tuning(services.metadata, workspace, tuned) is False
    assert {d.status for d in services.metadata.list_documents(workspace.id)} == {
        DocumentStatus.INDEXED
    }
    services.delete_workspace(workspace.id)
