"""The hand-labelled grounding and agreement sets of ``bench/grounding.py``, and how the script
reports a set: the blind set keeps the counts it promises per kind, shares nothing with the set
the judge was tuned on, and is reported as one half of its own."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path

import pytest
import yaml

BENCH = Path(__file__).resolve().parents[2] / "bench"
DATA = BENCH / "data"
BLIND_CLAIMS = DATA / "grounding_claims_blind.yaml"
BLIND_ANSWERS = DATA / "agreement_answers_blind.yaml"
FLIPPED = ("negation", "antonym", "number", "date", "entity", "quantifier", "comparative")
KINDS = {"paraphrase", "verbatim", "invention", *FLIPPED}


@pytest.fixture(scope="module")
def bench_grounding():
    """bench/grounding.py as a module (bench/ is scripts, not a package)."""
    spec = importlib.util.spec_from_file_location("bench_grounding", BENCH / "grounding.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


def _groups(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text())


def _kinds(groups: list[dict]) -> Counter[str]:
    return Counter(claim["kind"] for group in groups for claim in group["claims"])


def test_every_blind_claim_names_a_known_kind_and_has_sources():
    groups = _groups(BLIND_CLAIMS)
    for group in groups:
        assert group["id"] and group["sources"] and group["claims"]
        assert all(source["id"] and source["text"].strip() for source in group["sources"])
        assert {claim["kind"] for claim in group["claims"]} <= KINDS, group["id"]
        assert all(claim["text"].strip() for claim in group["claims"])


def test_the_blind_set_holds_the_promised_counts_per_kind():
    groups = _groups(BLIND_CLAIMS)
    kinds = _kinds(groups)
    assert len(groups) >= 12
    assert sum(kinds.values()) >= 240
    assert kinds["paraphrase"] >= 70
    assert kinds["verbatim"] >= 20
    assert kinds["invention"] >= 50
    assert sum(kinds[k] for k in FLIPPED) >= 90
    assert all(kinds[k] >= 10 for k in FLIPPED), kinds


def test_the_blind_set_shares_no_document_or_claim_with_the_tuned_set():
    blind, tuned = _groups(BLIND_CLAIMS), _groups(DATA / "grounding_claims.yaml")

    def ids(groups: list[dict]) -> set[str]:
        return {g["id"] for g in groups} | {s["id"] for g in groups for s in g["sources"]}

    def texts(groups: list[dict]) -> set[str]:
        return {c["text"] for g in groups for c in g["claims"]}

    assert not ids(blind) & ids(tuned)
    assert not texts(blind) & texts(tuned)


def test_a_paraphrase_is_never_a_copy_of_a_source_sentence():
    for group in _groups(BLIND_CLAIMS):
        sources = " ".join(" ".join(s["text"].split()) for s in group["sources"])
        for claim in group["claims"]:
            if claim["kind"] == "paraphrase":
                assert claim["text"].rstrip(".") not in sources, claim["text"]


def test_each_blind_question_has_right_and_wrong_answers_about_a_blind_group():
    groups = {g["id"] for g in _groups(BLIND_CLAIMS)}
    questions = yaml.safe_load(BLIND_ANSWERS.read_text())
    assert len(questions) >= 20
    for q in questions:
        assert q["source"] in groups, q["question"]
        assert len(q["right"]) >= 2 and len(q["wrong"]) >= 1


def test_the_tuned_set_keeps_its_dev_and_held_out_halves(bench_grounding):
    split = bench_grounding.split_for(DATA / "grounding_claims.yaml", bench_grounding.CLAIMS)
    assert split.halves == ("dev", "held-out")
    assert split.half("pybreaker") == bench_grounding.half_of("pybreaker")


def test_a_blind_set_is_reported_in_a_readable_and_a_measured_half_by_document(
    bench_grounding,
):
    split = bench_grounding.split_for(BLIND_CLAIMS, bench_grounding.CLAIMS)
    assert split.halves == ("blind-dev", "blind-test")
    halves = {g["id"]: split.half(g["id"]) for g in _groups(BLIND_CLAIMS)}
    assert set(halves.values()) == {"blind-dev", "blind-test"}
    for group, half in halves.items():
        expected = "blind-dev" if bench_grounding.half_of(group) == "dev" else "blind-test"
        assert half == expected, group


def test_any_other_set_is_reported_as_one_half_called_all(bench_grounding, tmp_path):
    split = bench_grounding.split_for(tmp_path / "mine.yaml", bench_grounding.CLAIMS)
    assert split.halves == ("all",)
    assert split.half("anything") == "all"


def test_claims_without_answers_leave_agreement_out(bench_grounding):
    args = bench_grounding.parse_args(["--claims", str(BLIND_CLAIMS)])
    assert args.claims == BLIND_CLAIMS
    assert args.answers is None


def test_no_arguments_mean_the_tuned_sets(bench_grounding):
    args = bench_grounding.parse_args([])
    assert (args.claims, args.answers) == (bench_grounding.CLAIMS, bench_grounding.ANSWERS)
