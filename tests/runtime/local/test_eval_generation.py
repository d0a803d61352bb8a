"""Generated eval sets (runtime/core/eval_generation.py through runtime/local/answer_evaluation.py).

Real PostgreSQL, MiniLM and retriever; the LLM is the local OpenAI-compatible test server
reached through chorus's real provider, writing scripted questions for each passage it is
shown: one good question, a near-duplicate of it, a question about another passage, and a
reply with no question at all — so what the filters keep and drop is known.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from chorus.runtime.adapters.openai_compatible import OpenAICompatibleProvider
from chorus.runtime.core.eval_case_files import load_cases
from chorus.runtime.core.eval_generation import parse_questions, sample_chunks
from chorus.runtime.local.answer_evaluation import run_answer_eval, run_generation
from chorus.runtime.local.services import open_services
from chorus.runtime.local.settings import LocalSettings
from support.openai_server import OpenAICompatibleServer

pytestmark = pytest.mark.timeout(300)

SET = Path(__file__).resolve().parents[2] / "data" / "answer_set"


def scripted_questions(body: dict[str, Any]) -> list[str]:
    passage = body["messages"][-1]["content"].rsplit("Passage:\n", 1)[1]
    if "QL-88" in passage:
        return [
            "Question: What is form QL-88 for?\nAnswer: Carrying unused vacation days over.\n"
            "Question: What is the form QL-88 for?\nAnswer: Carrying vacation days over.\n"
        ]
    if "QL-38" in passage:
        return ["Question: How do I get reimbursed for travel expenses?\nAnswer: With QL-38."]
    if "Cats" in passage:  # a question another passage answers
        return ["Question: How is espresso brewed?\nAnswer: Under pressure."]
    return ["Sure! Here is a great question about coffee."]


@pytest.fixture(scope="module")
def generated(tmp_path_factory, pg_server_dsn, embedder):
    out = tmp_path_factory.mktemp("generated")
    services = open_services(
        LocalSettings(home=tmp_path_factory.mktemp("home")),
        embedder=embedder,
        dsn=pg_server_dsn,
        semantic_cache=False,
    )
    with OpenAICompatibleServer(scripted_questions) as server:
        provider = OpenAICompatibleProvider(
            model="writer", base_url=server.base_url, api_key="test"
        )
        summary = run_generation(
            services, provider, corpus=SET / "corpus.jsonl", out=out, chunks=4, per_chunk=2, k=1
        )
    yield summary, out, services
    services.close()


def test_only_useful_questions_are_kept(generated):
    summary, _, _ = generated
    assert summary["kept"] == 2 and summary["sampled_chunks"] == 4
    assert sorted(d["reason"] for d in summary["dropped"]) == [
        "does not retrieve its chunk in the first 1",
        "near-duplicate",
        "no question in the reply",
    ]


def test_a_generated_set_reads_back_as_synthetic_cases_labelled_with_their_source(generated):
    _, out, _ = generated
    cases = load_cases(out / "queries.jsonl", out / "qrels.tsv", ["ql88", "ql38"])
    assert sorted((c.question, c.relevant_document_ids) for c in cases) == [
        ("How do I get reimbursed for travel expenses?", ("ql38",)),
        ("What is form QL-88 for?", ("ql88",)),
    ]
    assert all(c.synthetic for c in cases)
    queries = [json.loads(line) for line in (out / "queries.jsonl").read_text().splitlines()]
    assert all(q["metadata"]["note"].startswith("generated from chunk ") for q in queries)


def test_answer_reports_on_a_generated_set_flag_it_as_synthetic(generated):
    _, out, services = generated
    report = run_answer_eval(
        services,
        corpus=out / "corpus.jsonl",
        queries=out / "queries.jsonl",
        qrels=out / "qrels.tsv",
        answers=out / "answers.jsonl",
    )
    assert report["synthetic"] == 2
    assert [q["synthetic"] for q in report["questions"]] == [True, True]


def test_question_answer_pairs_are_read_from_numbered_or_plain_lines():
    reply = "1. Question: Why?\nAnswer: Because.\n2) question: How?\n"
    assert parse_questions(reply) == [("Why?", "Because."), ("How?", None)]


def test_sampling_is_reproducible_and_takes_everything_when_asked_for_more():
    chunks = list(range(10))
    assert sample_chunks(chunks, 3, seed=7) == sample_chunks(chunks, 3, seed=7)
    assert sample_chunks(chunks, 30) == chunks
