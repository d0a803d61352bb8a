"""runtime/core/eval_case_files.py: BEIR files (+ reference answers) as evaluation cases."""

from __future__ import annotations

from pathlib import Path

import pytest
from chorus.runtime.core.errors import BadRequest
from chorus.runtime.core.eval_case_files import cases_from_beir, load_answers, load_cases

SET = Path(__file__).resolve().parents[2] / "data" / "answer_set"
DOCS = ["ql88", "ql38", "cats", "espresso"]


def test_the_bundled_answer_set_reads_as_judged_then_unanswerable_cases_in_file_order():
    cases = load_cases(SET / "queries.jsonl", SET / "qrels.tsv", DOCS, SET / "answers.jsonl")
    assert [(c.id, c.answerable, c.relevant_document_ids) for c in cases] == [
        ("right", True, ("ql88",)),
        ("wrong", True, ("ql38",)),
        ("contradicted", True, ("cats",)),
        ("half", True, ("espresso",)),
        ("refused", False, ()),
        ("invented", False, ()),
    ]
    assert cases[0].reference_answer.startswith("Form QL-88 is the request")
    assert {c.origin for c in cases} == {"file"} and not any(c.synthetic for c in cases)


def test_queries_outside_the_qrels_are_another_split_and_left_out():
    cases = cases_from_beir({"a": "one?", "b": "two?"}, {"a": {"d": 1}}, ["d"])
    assert [c.id for c in cases] == ["a"]


def test_a_generated_query_becomes_a_synthetic_case(tmp_path):
    queries = tmp_path / "queries.jsonl"
    queries.write_text('{"_id": "g1", "text": "What?", "metadata": {"origin": "generated"}}\n')
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text("query-id\tcorpus-id\tscore\ng1\td\t1\n")
    (case,) = load_cases(queries, qrels, ["d"])
    assert case.origin == "generated" and case.synthetic


@pytest.mark.parametrize(
    ("queries", "qrels", "answers", "message"),
    [
        ({"a": "?"}, {"b": {"d": 1}}, None, "query 'b' is not in the queries file"),
        ({"a": "?"}, {"a": {"x": 1}}, None, "'x', which is not a document"),
        ({"a": "?"}, {"a": {"d": 1}}, {"z": {"answerable": False}}, "query 'z' is not in"),
        ({"a": "?"}, {"a": {"d": 1}}, {"a": {"answerable": False}}, "marked unanswerable"),
        ({"a": "?"}, {"a": {"d": 0}}, None, "has no relevant document"),
        ({"a": "?"}, {}, None, "the evaluation set is empty"),
    ],
)
def test_inconsistent_files_are_refused_with_what_to_fix(queries, qrels, answers, message):
    with pytest.raises(BadRequest, match=message):
        cases_from_beir(queries, qrels, ["d"], answers)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"_id": "a", "answer": 3}', "'answer' must be a non-empty string"),
        ('{"_id": "a", "answerable": "no"}', "'answerable' must be true or false"),
        ('{"_id": "a"}', "give an 'answer', or mark the question"),
        ('{"answer": "x"}', "missing '_id'"),
        ("not json", "invalid JSON"),
    ],
)
def test_a_malformed_answers_line_is_refused_naming_the_line(tmp_path, line, message):
    path = tmp_path / "answers.jsonl"
    path.write_text(f'{{"_id": "ok", "answer": "fine"}}\n{line}\n')
    with pytest.raises(BadRequest, match=rf"answers.jsonl:2: .*{message}"):
        load_answers(path)
