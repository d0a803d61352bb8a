"""``chorus eval answers`` as a user runs it: a real process, a real embedded database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from chorus.runtime.cli import main
from click.testing import CliRunner

pytestmark = pytest.mark.timeout(300)

SET = Path(__file__).resolve().parents[2] / "data" / "answer_set"
FILES = [
    "--corpus",
    str(SET / "corpus.jsonl"),
    "--queries",
    str(SET / "queries.jsonl"),
    "--qrels",
    str(SET / "qrels.tsv"),
]


def chorus(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CHORUS_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "chorus.runtime.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def invoke(*args: str):
    return CliRunner().invoke(main, ["eval", "answers", *args])


def test_the_command_has_help():
    result = invoke("--help")
    assert result.exit_code == 0 and "--compare" in result.output


def test_without_a_corpus_or_a_workspace_there_is_nothing_to_ask():
    result = invoke("--queries", str(SET / "queries.jsonl"), "--qrels", str(SET / "qrels.tsv"))
    assert result.exit_code == 2 and "give --corpus" in result.output


def test_queries_without_qrels_are_refused():
    result = invoke("--workspace", "hr", "--queries", str(SET / "queries.jsonl"))
    assert result.exit_code == 2 and "give both --queries and --qrels, or neither" in result.output


def test_a_corpus_without_queries_is_refused():
    result = invoke("--corpus", str(SET / "corpus.jsonl"))
    assert result.exit_code == 2 and "--corpus needs --queries and --qrels" in result.output


def test_a_malformed_corpus_is_refused_before_any_model_loads(tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"_id": "a", "text": "fine"}\n{"_id": "b", "text": \n')
    result = invoke(*FILES[2:], "--corpus", str(corpus))
    assert result.exit_code == 1
    assert "bad_request" in result.output and "corpus.jsonl:2: invalid JSON" in result.output


def test_a_previous_report_that_is_not_json_is_refused(tmp_path):
    previous = tmp_path / "previous.json"
    previous.write_text("{not json")
    result = invoke(*FILES, "--compare", str(previous))
    assert result.exit_code == 1 and "not a JSON file" in result.output


def test_a_run_prints_one_json_report_writes_the_html_and_fails_on_a_regression(tmp_path):
    previous = tmp_path / "previous.json"
    # A previous run that scored higher than any run can (quality is at most 1).
    previous.write_text(json.dumps({"kind": "chorus.eval.answers", "overall": {"quality": 2.0}}))
    page = tmp_path / "report.html"
    result = chorus(
        "eval",
        "answers",
        *FILES,
        "--answers",
        str(SET / "answers.jsonl"),
        "--report",
        str(page),
        "--compare",
        str(previous),
        home=tmp_path,
    )
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["cases"] == 6 and report["comparison"]["regressions"] == ["quality"]
    assert "REGRESSION" in result.stderr
    html = page.read_text()
    assert html.count("<svg") == 3 and "Questions, worst first" in html


def test_generating_without_an_llm_says_how_to_configure_one(monkeypatch):
    monkeypatch.delenv("CHORUS_OPENAI_MODEL", raising=False)
    result = CliRunner().invoke(
        main, ["eval", "generate", "--corpus", str(SET / "corpus.jsonl"), "--out", "unused"]
    )
    assert result.exit_code == 2 and "set CHORUS_OPENAI_MODEL" in result.output
