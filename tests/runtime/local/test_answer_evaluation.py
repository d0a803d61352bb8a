"""runtime/local/answer_evaluation.py: ``chorus eval answers`` on the real stack.

Real embedded PostgreSQL, real MiniLM, real retrieval, the real chat service and grounding
judge. The LLM is a local OpenAI-compatible server (``support/openai_server.py``) reached
through chorus's real OpenAI provider: it answers each question of the bundled answer set
(``tests/data/answer_set``) from the numbered sources in its prompt, so every answer — right,
wrong, contradicted, half invented, refused, answered when it should decline — and every
figure it earns is known in advance. Time is a clock that moves 0.1 s per reading.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chorus.runtime.adapters.openai_compatible import OpenAICompatibleProvider
from chorus.runtime.core.answering import LLMAnswerer
from chorus.runtime.core.errors import BadRequest
from chorus.runtime.core.eval_cases import EvalCase
from chorus.runtime.core.orchestration import ModelPrice
from chorus.runtime.local.answer_evaluation import run_answer_eval
from chorus.runtime.local.services import open_services
from chorus.runtime.local.settings import LocalSettings
from support.openai_server import OpenAICompatibleServer, prompt_tokens

pytestmark = pytest.mark.timeout(300)

SET = Path(__file__).resolve().parents[2] / "data" / "answer_set"
FILES = {"queries": SET / "queries.jsonl", "qrels": SET / "qrels.tsv"}
QL88 = "Form QL-88 is the request to carry unused vacation days into the next calendar year."
ESPRESSO = (
    "Espresso is brewed by forcing hot water through finely ground coffee at about nine bars "
    "of pressure."
)
PRICE = ModelPrice(input_per_1k=1.0, output_per_1k=2.0)


def scripted_answer(body: dict[str, Any]) -> list[str]:
    """The answer to the question in the prompt, citing sources by their number there."""
    prompt = body["messages"][-1]["content"]
    question = prompt.rsplit("Question: ", 1)[1]

    def n(document: str) -> int:
        return int(re.search(rf"\[(\d+)\] \({document}\.txt\)", prompt).group(1))

    answers = {
        "What is form QL-88 for?": f"{QL88} [{n('ql88')}]",
        "What is form QL-38 for?": f"{QL88} [{n('ql88')}]",
        "How many hours a day do cats sleep?": f"Cats sleep between two and four hours a day "
        f"[{n('cats')}].",
        "How is espresso brewed?": f"{ESPRESSO} [{n('espresso')}] Baristas in Kenya prefer it "
        "with honey.",
        "Who won the 1998 chess olympiad?": "I do not know.",
        "What is the capital of Atlantis?": f"{ESPRESSO} [{n('espresso')}]",
    }
    words = answers[question].split(" ")
    return [w + " " for w in words[:-1]] + [words[-1]]


class SteppingClock:
    """Each reading is 0.1 s after the previous one: a turn reads it at its start, at its first
    token and at its end, so every first token takes 100 ms and every answer 200 ms."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        self.t += 0.1
        return self.t

    def next_finished(self, finished, timeout, running):  # the Clock protocol's other half
        return finished.get(timeout=timeout)


@pytest.fixture(scope="module")
def server() -> Iterator[OpenAICompatibleServer]:
    with OpenAICompatibleServer(scripted_answer) as running:
        yield running


@pytest.fixture(scope="module")
def services(tmp_path_factory, pg_server_dsn, embedder, server):
    def llm(name: str) -> LLMAnswerer:
        return LLMAnswerer(
            OpenAICompatibleProvider(model=name, base_url=server.base_url, api_key="test")
        )

    built = open_services(
        LocalSettings(home=tmp_path_factory.mktemp("home")),
        embedder=embedder,
        dsn=pg_server_dsn,
        answerers={"scripted": llm("scripted"), "scripted-too": llm("scripted-too")},
        prices={"scripted": PRICE, "scripted-too": PRICE},
        semantic_cache=False,
    )
    yield built
    built.close()


@pytest.fixture(scope="module")
def report(services, server) -> dict[str, Any]:
    server.requests.clear()
    return run_answer_eval(
        services,
        corpus=SET / "corpus.jsonl",
        answers=SET / "answers.jsonl",
        models=["scripted"],
        clock=SteppingClock(),
        **FILES,
    )


def by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {q["id"]: q for q in report["questions"]}


def test_a_right_answer_scores_full_marks(report):
    right = by_id(report)["right"]
    assert right["cited_documents"] == ["ql88"]
    assert (right["hit@5"], right["ndcg@10"]) == (True, 1.0)
    assert (right["citation_precision"], right["citation_recall"]) == (1.0, 1.0)
    assert (right["supported"], right["unsupported"], right["contradicted"]) == (1.0, 0.0, 0.0)
    assert right["similarity"] == 1.0
    assert (right["refused"], right["refusal_correct"], right["quality"]) == (False, True, 1.0)


def test_a_grounded_answer_citing_the_wrong_document_has_zero_citation_precision(report):
    wrong = by_id(report)["wrong"]
    assert wrong["cited_documents"] == ["ql88"] and wrong["relevant_documents"] == ["ql38"]
    assert (wrong["citation_precision"], wrong["citation_recall"]) == (0.0, 0.0)
    assert wrong["supported"] == 1.0  # a true quote, of the wrong form
    assert wrong["quality"] == 0.6


def test_an_answer_the_sources_contradict_counts_as_contradicted(report):
    contradicted = by_id(report)["contradicted"]
    assert (contradicted["supported"], contradicted["unsupported"]) == (0.0, 0.0)
    assert contradicted["contradicted"] == 1.0
    assert contradicted["quality"] == 0.8


def test_grounding_shares_are_shares_of_the_answers_words(report):
    half = by_id(report)["half"]
    # 17 words quoted from the source, 7 invented ("Baristas in Kenya prefer it with honey.")
    assert (half["supported"], half["unsupported"], half["contradicted"]) == (
        round(17 / 24, 4),
        round(7 / 24, 4),
        0.0,
    )


def test_declining_an_unanswerable_question_is_correct_and_claims_nothing(report):
    refused = by_id(report)["refused"]
    assert (refused["refused"], refused["refusal_correct"], refused["quality"]) == (
        True,
        True,
        1.0,
    )
    assert refused["supported"] is None and refused["hit@5"] is None
    assert refused["citation_precision"] is None


def test_answering_an_unanswerable_question_is_a_refusal_error(report):
    invented = by_id(report)["invented"]
    assert (invented["refused"], invented["refusal_correct"], invented["quality"]) == (
        False,
        False,
        0.5,
    )


def test_the_overall_figures_average_the_questions_they_apply_to(report):
    overall = report["overall"]
    assert (report["cases"], report["answerable"], report["unanswerable"]) == (6, 4, 2)
    assert (overall["hit@5"], overall["ndcg@10"]) == (1.0, 1.0)
    assert (overall["citation_precision"], overall["citation_recall"]) == (0.75, 0.75)
    assert overall["grounding"] == {
        "supported": round((3 + round(17 / 24, 4)) / 5, 4),
        "unsupported": round(round(7 / 24, 4) / 5, 4),
        "contradicted": 0.2,
    }
    assert overall["refusal"] == {
        "accuracy": round(5 / 6, 4),
        "unanswerable_declined": 0.5,
        "answerable_refused": 0.0,
    }
    assert overall["similarity"] == 1.0 and overall["agreement"] is None


def test_questions_are_listed_worst_first(report):
    assert [q["id"] for q in report["questions"]] == [
        "invented",
        "wrong",
        "contradicted",
        "half",
        "refused",
        "right",
    ]


def test_latency_is_measured_on_the_evaluators_clock(report):
    assert report["overall"]["latency_ms"] == {
        "first_token_p50": 100.0,
        "first_token_p95": 100.0,
        "final_p50": 200.0,
        "final_p95": 200.0,
    }


def test_tokens_and_cost_are_what_the_provider_reported(report, server):
    bodies = [r.body for r in server.requests]
    inputs = [prompt_tokens(b["messages"]) for b in bodies]
    outputs = [len(scripted_answer(b)) for b in bodies]
    assert report["overall"]["tokens"] == {"input": sum(inputs), "output": sum(outputs)}
    expected = sum(
        round(i / 1000 * 1.0 + o / 1000 * 2.0, 6) for i, o in zip(inputs, outputs, strict=True)
    )
    assert report["overall"]["cost"] == round(expected, 6)


def test_a_scratch_workspace_is_deleted_after_the_run(report, services):
    assert report["workspace"] is None
    assert not [w for w in services.metadata.list_workspaces() if w.name.startswith("eval-")]


def test_consensus_reports_agreement_between_its_models(services):
    report = run_answer_eval(
        services,
        corpus=SET / "corpus.jsonl",
        answers=SET / "answers.jsonl",
        mode="consensus",
        models=["scripted", "scripted-too"],
        clock=SteppingClock(),
        **FILES,
    )
    # Both models get the same script: they agree on every question.
    assert [q["agreement"] for q in report["questions"]] == [1.0] * 6
    assert report["overall"]["agreement"] == 1.0


def test_the_extractive_answerer_declines_what_the_corpus_does_not_cover(services):
    report = run_answer_eval(
        services, corpus=SET / "corpus.jsonl", answers=SET / "answers.jsonl", **FILES
    )
    questions = by_id(report)
    assert [questions[q]["refused"] for q in ("refused", "invented")] == [True, True]
    assert questions["right"]["cited_documents"] == ["ql88"]
    assert report["overall"]["refusal"]["unanswerable_declined"] == 1.0


def test_a_named_workspace_is_kept_and_reused_on_the_next_run(services):
    first = run_answer_eval(
        services, corpus=SET / "corpus.jsonl", workspace="answer-eval-kept", **FILES
    )
    again = run_answer_eval(services, workspace="answer-eval-kept", **FILES)
    assert first["ingest"]["indexed"] == 4 and again["ingest"] == {"documents": 4, "reused": True}
    assert [q["id"] for q in again["questions"]] == [q["id"] for q in first["questions"]]


def test_qrels_naming_a_document_the_workspace_lacks_are_refused(services, tmp_path):
    qrels = tmp_path / "qrels.tsv"
    qrels.write_text("query-id\tcorpus-id\tscore\nright\tnowhere\t1\n")
    with pytest.raises(BadRequest, match="'nowhere', which is not a document"):
        run_answer_eval(
            services, corpus=SET / "corpus.jsonl", queries=FILES["queries"], qrels=qrels
        )


def test_an_unknown_model_is_refused_before_any_question_is_asked(services, server):
    server.requests.clear()
    with pytest.raises(BadRequest, match="unknown model 'nope'; available: extractive"):
        run_answer_eval(services, corpus=SET / "corpus.jsonl", models=["nope"], **FILES)
    assert server.requests == []


def _workspace_with_eval_set(services, name: str) -> str:
    """``name`` holding the bundled corpus, and an eval set of two accepted cases, a candidate
    and a rejected one (the last two must never be asked)."""
    run_answer_eval(services, corpus=SET / "corpus.jsonl", workspace=name, **FILES)
    workspace = services.find_workspace(name)
    cases = services.backend.eval_cases
    for case in (
        EvalCase("right", "What is form QL-88 for?", ("ql88",), reference_answer=QL88),
        EvalCase("wrong", "What is form QL-38 for?", ("ql38",)),
        EvalCase("pending", "Who won the 1998 chess olympiad?", answerable=False,
                 origin="feedback", status="candidate"),
        EvalCase("dropped", "What is the capital of Atlantis?", answerable=False,
                 status="rejected"),
    ):  # fmt: skip
        cases.put_case(workspace.id, case)
    return workspace.id


def test_a_workspace_without_files_is_evaluated_on_its_accepted_eval_set(services, server):
    _workspace_with_eval_set(services, "answer-eval-set")
    server.requests.clear()
    report = run_answer_eval(services, workspace="answer-eval-set", models=["scripted"])
    assert report["eval_set"] == "workspace" and report["ingest"]["reused"] is True
    questions = by_id(report)
    assert sorted(questions) == ["right", "wrong"]
    assert len(server.requests) == 2  # the candidate and the rejected case were never asked
    assert questions["right"]["quality"] == 1.0 and questions["right"]["similarity"] == 1.0
    assert (questions["wrong"]["citation_precision"], questions["wrong"]["quality"]) == (0.0, 0.6)
    assert report["overall"]["citation_precision"] == 0.5


def test_a_workspace_with_no_accepted_case_is_refused(services):
    run_answer_eval(services, corpus=SET / "corpus.jsonl", workspace="answer-eval-empty", **FILES)
    with pytest.raises(BadRequest, match="has no accepted eval cases"):
        run_answer_eval(services, workspace="answer-eval-empty")


def test_files_are_still_the_set_when_given_with_a_workspace(services):
    run_answer_eval(services, corpus=SET / "corpus.jsonl", workspace="answer-eval-files", **FILES)
    report = run_answer_eval(services, workspace="answer-eval-files", **FILES)
    assert report["eval_set"] == "files" and report["cases"] == 4  # the qrels name four
