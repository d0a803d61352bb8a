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
