"""Specification of retrieval evaluation: BEIR loaders, graded metrics, BM25 baseline, latency.

Metric expectations are computed by hand in each test, so a reader can check the arithmetic.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from chorus.runtime.core.errors import BadRequest
from chorus.runtime.core.evaluation import (
    Bm25Baseline,
    CorpusDoc,
    evaluate_run,
    latency_summary,
    load_corpus,
    load_qrels,
    load_queries,
    mrr_at_k,
    ndcg_at_k,
    recall_at_k,
)


def write_jsonl(path: Path, records: list[object]) -> Path:
    path.write_text("\n".join(json.dumps(record) for record in records) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------------------- loaders


def test_load_corpus_reads_ids_titles_and_texts(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "corpus.jsonl",
        [{"_id": "d1", "title": "Cats", "text": "Cats purr."}, {"_id": 7, "text": "No title."}],
    )

    assert load_corpus(path) == {
        "d1": CorpusDoc(id="d1", title="Cats", text="Cats purr."),
        "7": CorpusDoc(id="7", title="", text="No title."),
    }


def test_corpus_doc_full_text_puts_the_title_first() -> None:
    assert CorpusDoc("d", "Cats", "They purr.").full_text == "Cats\n\nThey purr."
    assert CorpusDoc("d", "", "They purr.").full_text == "They purr."


def test_load_corpus_names_the_file_and_line_of_invalid_json(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    path.write_text('{"_id": "d1", "text": "ok"}\n{"_id": "d2", "text": \n', encoding="utf-8")

    with pytest.raises(BadRequest, match=r"corpus\.jsonl:2: invalid JSON") as caught:
        load_corpus(path)

    assert caught.value.code == "bad_request"


def test_load_corpus_refuses_a_line_without_an_id(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "corpus.jsonl", [{"title": "t", "text": "x"}])

    with pytest.raises(BadRequest, match=r"corpus\.jsonl:1: missing '_id'"):
        load_corpus(path)


def test_load_corpus_refuses_duplicate_ids(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", [{"_id": "d", "text": "a"}, {"_id": "d", "text": "b"}])

    with pytest.raises(BadRequest, match=r"c\.jsonl:2: duplicate _id 'd'"):
        load_corpus(path)


def test_load_corpus_refuses_a_missing_text(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "c.jsonl", [{"_id": "d", "title": "only a title"}])

    with pytest.raises(BadRequest, match=r"c\.jsonl:1: 'text'"):
        load_corpus(path)


def test_load_corpus_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match="no such file"):
        load_corpus(tmp_path / "absent.jsonl")


def test_load_queries_skips_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "queries.jsonl"
    path.write_text('{"_id": "q1", "text": "what is rag"}\n\n{"_id": "q2", "text": "why"}\n')

    assert load_queries(path) == {"q1": "what is rag", "q2": "why"}


def test_load_queries_refuses_an_empty_query_text(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "queries.jsonl", [{"_id": "q1", "text": "  "}])

    with pytest.raises(BadRequest, match=r"queries\.jsonl:1: query 'q1'"):
        load_queries(path)


def test_load_queries_refuses_a_line_that_is_not_an_object(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "queries.jsonl", [["q1", "text"]])

    with pytest.raises(BadRequest, match="expected a JSON object"):
        load_queries(path)


def test_load_qrels_reads_graded_judgements(tmp_path: Path) -> None:
    path = tmp_path / "test.tsv"
    path.write_text("query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t0\nq2\td3\t1\n")

    assert load_qrels(path) == {"q1": {"d1": 2, "d2": 0}, "q2": {"d3": 1}}


def test_load_qrels_requires_the_beir_header(tmp_path: Path) -> None:
    path = tmp_path / "test.tsv"
    path.write_text("q1\td1\t1\n")

    with pytest.raises(BadRequest, match=r"test\.tsv:1: expected the header"):
        load_qrels(path)


def test_load_qrels_names_the_line_of_a_non_integer_score(tmp_path: Path) -> None:
    path = tmp_path / "test.tsv"
    path.write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\thigh\n")

    with pytest.raises(BadRequest, match=r"test\.tsv:3: score must be an integer"):
        load_qrels(path)


def test_load_qrels_names_the_line_with_missing_fields(tmp_path: Path) -> None:
    path = tmp_path / "test.tsv"
    path.write_text("query-id\tcorpus-id\tscore\nq1\td1\n")

    with pytest.raises(BadRequest, match=r"test\.tsv:2: expected 3 tab-separated fields"):
        load_qrels(path)


def test_load_qrels_refuses_a_pair_graded_twice_differently(tmp_path: Path) -> None:
    path = tmp_path / "test.tsv"
    path.write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td1\t2\n")

    with pytest.raises(BadRequest, match=r"test\.tsv:3: .* graded both 1 and 2"):
        load_qrels(path)


# ---------------------------------------------------------------------------- ndcg

GRADED = {"a": 3, "b": 2, "c": 1, "z": 0}


def test_ndcg_uses_grades_as_gains_and_a_log2_discount() -> None:
    # top 3 of the ranking: x (0), b (2), a (3)
    dcg = 0 / math.log2(2) + 2 / math.log2(3) + 3 / math.log2(4)  # 0 + 1.26186 + 1.5 = 2.76186
    # ideal top 3 from the qrels: 3, 2, 1
    ideal = 3 / math.log2(2) + 2 / math.log2(3) + 1 / math.log2(4)  # 3 + 1.26186 + 0.5 = 4.76186

    score = ndcg_at_k(["x", "b", "a", "c"], GRADED, k=3)

    assert score == pytest.approx(dcg / ideal)  # 0.5800
    assert score == pytest.approx(0.58, abs=1e-4)


def test_ndcg_of_the_ideal_ranking_is_one() -> None:
    assert ndcg_at_k(["a", "b", "c"], GRADED, k=3) == pytest.approx(1.0)


def test_ndcg_is_zero_when_no_relevant_document_is_retrieved() -> None:
    assert ndcg_at_k(["x", "y", "z"], GRADED, k=3) == 0.0


def test_ndcg_is_zero_for_an_empty_ranking() -> None:
    assert ndcg_at_k([], GRADED, k=10) == 0.0


def test_ndcg_counts_a_duplicate_only_at_its_first_rank() -> None:
    # distinct top 2: a (3), b (2) — the second "a" neither scores again nor takes a slot
    assert ndcg_at_k(["a", "a", "b"], GRADED, k=2) == pytest.approx(1.0)


def test_ndcg_with_k_larger_than_the_ranking_compares_with_the_full_ideal() -> None:
    qrels = {"a": 1, "b": 1}
    dcg = 1 / math.log2(2)  # only "b", at rank 1
    ideal = 1 / math.log2(2) + 1 / math.log2(3)  # 1 + 0.63093 = 1.63093

    assert ndcg_at_k(["b"], qrels, k=10) == pytest.approx(dcg / ideal)  # 0.6131


def test_ndcg_is_zero_when_the_query_has_no_relevant_document() -> None:
    assert ndcg_at_k(["z"], {"z": 0}, k=10) == 0.0


def test_metrics_refuse_a_non_positive_k() -> None:
    with pytest.raises(ValueError, match="k must be a positive integer"):
        ndcg_at_k(["a"], GRADED, k=0)


# ---------------------------------------------------------------------------- recall and mrr

THREE_RELEVANT = {"a": 1, "b": 1, "c": 1, "z": 0}


def test_recall_divides_by_every_relevant_document() -> None:
    # top 3 = z, a, x: one of the three relevant documents
    assert recall_at_k(["z", "a", "x", "c"], THREE_RELEVANT, k=3) == pytest.approx(1 / 3)


def test_recall_grows_with_k() -> None:
    # top 4 = z, a, x, c: two of three
    assert recall_at_k(["z", "a", "x", "c"], THREE_RELEVANT, k=4) == pytest.approx(2 / 3)


def test_recall_does_not_count_duplicates_twice() -> None:
    assert recall_at_k(["a", "a", "a"], THREE_RELEVANT, k=3) == pytest.approx(1 / 3)


def test_recall_is_zero_when_no_relevant_document_is_retrieved() -> None:
    assert recall_at_k(["x", "z"], THREE_RELEVANT, k=10) == 0.0


def test_mrr_is_the_reciprocal_rank_of_the_first_relevant_document() -> None:
    # x (rank 1) and z (rank 2, grade 0) are not relevant; c is at rank 3
    assert mrr_at_k(["x", "z", "c", "a"], THREE_RELEVANT, k=10) == pytest.approx(1 / 3)


def test_mrr_is_zero_when_the_first_relevant_document_is_beyond_k() -> None:
    assert mrr_at_k(["x", "z", "c"], THREE_RELEVANT, k=2) == 0.0


def test_mrr_ranks_skip_duplicates() -> None:
    # distinct ranking: x (1), c (2)
    assert mrr_at_k(["x", "x", "c"], THREE_RELEVANT, k=2) == pytest.approx(1 / 2)


# ---------------------------------------------------------------------------- evaluate_run


def test_evaluate_run_averages_over_queries_with_a_relevant_document() -> None:
    qrels = {
        "q1": {"a": 1},
        "q2": {"b": 2, "c": 1},
        "q3": {"d": 0},  # nothing relevant: cannot be scored, only counted
        "q4": {"e": 1},  # missing from the run: scores zero
    }
    run = {"q1": ["a"], "q2": ["c", "b"], "q3": ["d"], "extra": ["a"]}
    # q1: perfect -> ndcg 1, recall 1, mrr 1
    # q2: gains [1, 2] -> dcg 1 + 2/log2(3) = 2.26186; ideal [2, 1] -> 2 + 1/log2(3) = 2.63093
    q2_ndcg = (1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3))  # 0.85972
    # q2 recall 1 (both found), mrr 1 (c is relevant at rank 1); q4: all zero

    result = evaluate_run(run, qrels, k=10)

    assert result == {
        "ndcg@10": pytest.approx((1 + q2_ndcg + 0) / 3),  # 0.61991
        "recall@10": pytest.approx((1 + 1 + 0) / 3),
        "mrr@10": pytest.approx((1 + 1 + 0) / 3),
        "queries": 3,
        "queries_without_relevant": 1,
        "queries_missing_from_run": 1,
    }


def test_evaluate_run_names_its_metrics_after_k() -> None:
    result = evaluate_run({"q": ["x", "a"]}, {"q": {"a": 1}}, k=1)

    assert (result["ndcg@1"], result["recall@1"], result["mrr@1"]) == (0.0, 0.0, 0.0)


def test_evaluate_run_refuses_qrels_without_any_relevant_document() -> None:
    with pytest.raises(BadRequest, match="No query in the qrels has a relevant document"):
        evaluate_run({"q": ["a"]}, {"q": {"a": 0}}, k=10)


# ---------------------------------------------------------------------------- bm25 baseline

CORPUS = {
    "cats": CorpusDoc("cats", "Cats", "Cats purr and sleep most of the day."),
    "dogs": CorpusDoc("dogs", "Dogs", "Dogs bark at the mailman and love long walks."),
    "fish": CorpusDoc("fish", "Aquarium", "Goldfish swim in a tank; feed them twice a day."),
    "kayak": CorpusDoc("kayak", "Paddling", "A kayak is a narrow boat moved with a paddle."),
}


@pytest.fixture(scope="module")
def bm25() -> Bm25Baseline:
    baseline = Bm25Baseline()
    baseline.index(CORPUS)
    return baseline


def test_bm25_ranks_the_matching_document_first(bm25: Bm25Baseline) -> None:
    results = bm25.search("why do dogs bark", k=2)

    assert [doc_id for doc_id, _ in results] == ["dogs"]
    assert results[0][1] > 0


def test_bm25_indexes_the_title_with_the_text(bm25: Bm25Baseline) -> None:
    assert [doc_id for doc_id, _ in bm25.search("aquarium", k=3)] == ["fish"]


def test_bm25_returns_scores_best_first_and_at_most_k(bm25: Bm25Baseline) -> None:
    results = bm25.search("day walks paddle", k=2)

    assert len(results) == 2
    assert results[0][1] >= results[1][1]


def test_bm25_leaves_out_documents_that_share_no_term(bm25: Bm25Baseline) -> None:
    assert {doc_id for doc_id, _ in bm25.search("sleep", k=10)} == {"cats"}


def test_bm25_query_of_stopwords_or_unknown_words_returns_nothing(bm25: Bm25Baseline) -> None:
    assert bm25.search("the and of", k=5) == []
    assert bm25.search("zeppelin", k=5) == []


def test_bm25_breaks_ties_by_corpus_order() -> None:
    baseline = Bm25Baseline()
    baseline.index({d: CorpusDoc(d, "", "same words here") for d in ["b", "a", "c"]})

    assert [doc_id for doc_id, _ in baseline.search("words", k=3)] == ["b", "a", "c"]


def test_bm25_index_replaces_the_previous_corpus() -> None:
    baseline = Bm25Baseline()
    baseline.index(CORPUS)
    baseline.index({"only": CorpusDoc("only", "", "submarines dive")})

    assert len(baseline) == 1
    assert baseline.search("dogs", k=5) == []


def test_bm25_refuses_an_empty_corpus() -> None:
    with pytest.raises(BadRequest, match="empty corpus"):
        Bm25Baseline().index({})


def test_bm25_search_before_index_is_a_programming_error() -> None:
    with pytest.raises(RuntimeError, match="index"):
        Bm25Baseline().search("anything")


# ---------------------------------------------------------------------------- latency


def test_latency_summary_interpolates_percentiles_linearly() -> None:
    # numpy "linear": p50 sits halfway between 20 and 30; p95 at position 0.95 * 3 = 2.85,
    # i.e. 30 + 0.85 * (40 - 30) = 38.5
    assert latency_summary([40.0, 10.0, 30.0, 20.0]) == {"p50": 25.0, "p95": pytest.approx(38.5)}


def test_latency_summary_of_one_sample_is_that_sample() -> None:
    assert latency_summary([12.5]) == {"p50": 12.5, "p95": 12.5}


def test_latency_summary_refuses_no_samples() -> None:
    with pytest.raises(ValueError, match="at least one sample"):
        latency_summary([])
