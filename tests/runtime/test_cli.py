"""The ``chorus`` command as a user runs it: a real process, a real embedded database."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SET = REPO / "tests" / "data" / "retrieval_set"


def chorus(*args, home, check=True):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "CHORUS_HOME": str(home)}
    result = subprocess.run(
        [sys.executable, "-m", "chorus.runtime.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"chorus {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("chorus-home")


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["up"],
        ["ingest"],
        ["ask"],
        ["eval"],
        ["eval", "retrieval"],
        ["eval", "grounding"],
        ["tune"],
        ["tune", "retrieval"],
    ],
)
def test_every_subcommand_has_help(command):
    from chorus.runtime.cli import main
    from click.testing import CliRunner

    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_ingest_reports_documents_chunks_and_skipped_files(home, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "routers.md").write_text(
        "# Routers\n\nThe Zephyrine 9 router ships with WPA3 "
        "disabled; enable it under Wireless, then Security."
    )
    (folder / "blob.bin").write_bytes(b"\x00\x01\x02")
    result = chorus("ingest", str(folder), "--workspace", "cli-test", home=home)
    assert "1 indexed" in result.stdout
    assert "1 skipped" in result.stdout
    assert "blob.bin" in result.stdout
    again = chorus("ingest", str(folder), "--workspace", "cli-test", home=home)
    assert "0 indexed, 1 unchanged" in again.stdout


def test_ask_prints_the_answer_its_sources_and_timings(home):
    result = chorus(
        "ask", "Is WPA3 enabled on the Zephyrine 9?", "--workspace", "cli-test", home=home
    )
    assert "WPA3" in result.stdout
    assert "[1] routers.md" in result.stdout
    assert "retrieval" in result.stdout and "ms" in result.stdout


def test_ask_json_carries_the_sources_behind_each_citation(home):
    result = chorus(
        "ask", "Is WPA3 enabled on the Zephyrine 9?", "--workspace", "cli-test", "--json", home=home
    )
    final = json.loads(result.stdout)
    [first, *_] = final["sources"]
    assert first["n"] == 1 and first["documentName"] == "routers.md"
    assert {"documentId", "chunkId", "score"} <= set(first)
    assert "[1]" in final["answer"]


def test_eval_grounding_prints_one_verdict_line_per_input_line(tmp_path, home):
    claims = tmp_path / "claims.jsonl"
    lines = [
        {
            "id": "aurora",
            "sources": [
                {"id": "s1", "text": "Aurora can pause at zero capacity when idle."},
                {"id": "s2", "text": "Worker bees turn nectar into honey in the hive."},
            ],
            "claims": [
                "Aurora cannot pause at zero capacity when idle.",
                "Bees make honey from nectar in the hive.",
                "The Eiffel Tower was completed in 1889.",
            ],
        },
        {"id": "empty", "sources": [], "claims": ["Anything at all is claimed here."]},
    ]
    claims.write_text("\n".join(json.dumps(line) for line in lines) + "\n")

    result = chorus("eval", "grounding", "--claims", str(claims), home=home)

    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["id"] == "aurora"
    assert [(v["verdict"], v["source"]) for v in first["verdicts"][:2]] == [
        ("contradicted", "s1"),
        ("supported", "s2"),
    ]
    assert first["verdicts"][2]["verdict"] == "unsupported"
    assert second == {
        "id": "empty",
        "verdicts": [
            {
                "claim": "Anything at all is claimed here.",
                "verdict": "unsupported",
                "score": 0.0,
                "source": None,
            }
        ],
    }


def test_eval_grounding_names_the_bad_line(tmp_path, home):
    claims = tmp_path / "claims.jsonl"
    claims.write_text('{"id": "x", "sources": [], "claims": "not a list"}\n')

    result = chorus("eval", "grounding", "--claims", str(claims), home=home, check=False)

    assert result.returncode != 0 and "line 1" in result.stderr


def test_ask_in_an_unknown_workspace_fails_with_a_clear_message(home):
    result = chorus("ask", "anything", "--workspace", "nope", home=home, check=False)
    assert result.returncode != 0
    assert "does not exist" in result.stderr


@pytest.mark.parametrize("mode", ["bm25", "hybrid"])
def test_eval_retrieval_prints_one_json_report(home, mode):
    result = chorus(
        "eval",
        "retrieval",
        "--corpus",
        str(SET / "corpus.jsonl"),
        "--queries",
        str(SET / "queries.jsonl"),
        "--qrels",
        str(SET / "qrels.tsv"),
        "--mode",
        mode,
        home=home,
    )
    report = json.loads(result.stdout)
    assert report["mode"] == mode
    assert report["queries"] == 17
    assert 0.0 < report["ndcg@10"] <= 1.0
    for key in ("recall@10", "mrr@10", "p50_ms", "p95_ms", "ingest_seconds"):
        assert key in report
    if mode == "hybrid":
        assert report["baselines"]["plain_dense"] > 0
        assert report["vs_plain_dense"] > 0


def test_tune_stores_the_best_settings_on_the_workspace_and_says_what_it_chose(home):
    result = chorus(
        "tune",
        "retrieval",
        "--workspace",
        "cli-test",
        "--corpus",
        str(SET / "corpus.jsonl"),
        "--queries",
        str(SET / "queries.jsonl"),
        "--qrels",
        str(SET / "qrels.tsv"),
        home=home,
    )
    assert "plain dense" in result.stdout
    assert "workspace 'cli-test': chunking" in result.stdout


def test_chorus_cost_is_a_subcommand_plugged_in_by_the_distribution():
    """``chorus cost`` lives in components/ (an entry point; after changing pyproject.toml,
    reinstall with ``pip install -e .``) and still runs as a ``chorus`` subcommand."""
    from chorus.runtime.cli import main
    from click.testing import CliRunner

    result = CliRunner().invoke(main, ["cost", "--stack", "dev", "--project-dir", str(REPO)])
    assert result.exit_code == 0, result.output
    assert "Event paths, per month at N events a day" in result.output
