"""The ``chorus`` command: run chorus locally, ingest, ask, evaluate."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import click

from .local.settings import DEFAULT_PORT, DEFAULT_WORKSPACE, LocalSettings

FUSION_CHOICES = ["rrf", "weighted", "adaptive"]
REPO_DOCS = Path(__file__).resolve().parent.parent / "docs"
REPO_FRONTEND = Path(__file__).resolve().parent.parent / "frontend"
_FRONTEND_SOURCES = ("src", "public", "index.html", "package.json", "package-lock.json")


def _quiet_libraries() -> None:
    """Keep model-loading chatter (progress bars, deprecation notes) off the user's terminal."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    warnings.filterwarnings("ignore")
    logging.getLogger("sentence_transformers").setLevel(logging.WARNING)


def _settings(home: str | None, **overrides: Any) -> LocalSettings:
    settings = LocalSettings()
    if home:
        settings.home = Path(home).expanduser()
    for key, value in overrides.items():
        if value is not None:
            setattr(settings, key, value)
    return settings


def _open(settings: LocalSettings):
    from .local.services import open_services

    _quiet_libraries()
    return open_services(settings)


def _print_summary(summary: Any) -> None:
    skipped = [r for r in summary.results if r.outcome in ("skipped", "failed")]
    click.echo(
        f"documents: {summary.count('indexed')} indexed, {summary.count('unchanged')} unchanged,"
        f" {summary.count('skipped')} skipped, {summary.count('failed')} failed;"
        f" chunks written: {summary.chunks}"
    )
    for r in skipped:
        reason = r.reason or ""
        named = reason if reason.startswith(f"{r.name}:") else f"{r.name}: {reason}"
        click.echo(f"  {r.outcome}: {named}")


def _newest_mtime(paths: list[Path]) -> float:
    newest = 0.0
    for path in paths:
        if path.is_dir():
            newest = max([newest, *(p.stat().st_mtime for p in path.rglob("*") if p.is_file())])
        elif path.exists():
            newest = max(newest, path.stat().st_mtime)
    return newest


def _frontend_is_stale(frontend: Path) -> bool:
    built = frontend / "dist" / "index.html"
    if not built.is_file():
        return True
    sources = [frontend / name for name in _FRONTEND_SOURCES] + list(frontend.glob("vite.config.*"))
    return _newest_mtime(sources) > built.stat().st_mtime


def _run_npm(npm: str, args: list[str], cwd: Path) -> bool:
    import subprocess

    click.echo(f"  $ npm {' '.join(args)}")
    try:
        done = subprocess.run([npm, *args], cwd=cwd, capture_output=True, text=True, check=False)
    except OSError as exc:
        click.echo(f"  npm could not start: {exc}")
        return False
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        click.echo(f"  npm {args[0]} failed (exit {done.returncode}):\n{tail}")
        return False
    return True


def _prepare_frontend(frontend: Path = REPO_FRONTEND, *, build: bool = True) -> Path | None:
    """The React app's build folder, built first when missing or older than its sources.

    Needs npm (Node.js 20+); without it, or when the build fails, returns the existing build if
    there is one, else None (the server then serves the plain chat page).
    """
    import shutil

    dist = frontend / "dist"
    has_build = (dist / "index.html").is_file()
    if not (frontend / "package.json").is_file() or not build:
        return dist if has_build else None
    if not _frontend_is_stale(frontend):
        return dist
    npm = shutil.which("npm")
    if npm is None:
        what = "an out-of-date build of the React app" if has_build else "the plain chat page"
        click.echo(
            f"npm not found: serving {what}. Install Node.js 20+ with npm to build the React "
            f"app (cd {frontend} && npm ci && npm run build)."
        )
        return dist if has_build else None
    click.echo(f"building the web app in {frontend} (npm ci && npm run build) ...")
    started = time.perf_counter()
    lock = frontend / "package-lock.json"
    installed = frontend / "node_modules" / ".package-lock.json"
    needs_install = not installed.is_file() or (
        lock.is_file() and lock.stat().st_mtime > installed.stat().st_mtime
    )
    if needs_install and not _run_npm(npm, ["ci", "--no-audit", "--no-fund"], frontend):
        click.echo("serving the plain chat page instead.")
        return dist if has_build else None
    if not _run_npm(npm, ["run", "build"], frontend):
        click.echo("serving the plain chat page instead.")
        return dist if has_build else None
    click.echo(f"web app built in {time.perf_counter() - started:.1f}s")
    return dist


home_option = click.option(
    "--home",
    type=click.Path(file_okay=False),
    default=None,
    help="Data folder (default: $CHORUS_HOME or ~/.chorus).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """chorus: multi-LLM RAG chat, locally on embedded parts or on AWS."""


@main.command()
@home_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int)
@click.option(
    "--sample",
    type=click.Path(exists=True),
    default=None,
    help="Folder ingested into the default workspace at start (default: the repo's docs/).",
)
@click.option("--no-sample", is_flag=True, help="Do not ingest a sample folder.")
@click.option("--workspace", default=DEFAULT_WORKSPACE, show_default=True)
@click.option(
    "--build/--no-build",
    default=True,
    show_default=True,
    help="Build the React app (npm) when its build is missing or stale.",
)
@click.option(
    "--classic-page",
    is_flag=True,
    help="Serve the plain chat page at / instead of the React app.",
)
def up(
    home: str | None,
    host: str,
    port: int,
    sample: str | None,
    no_sample: bool,
    workspace: str,
    build: bool,
    classic_page: bool,
) -> None:
    """Run chorus locally: embedded PostgreSQL, MiniLM, the chat app and WebSocket."""
    import uvicorn

    from .local.app import create_app
    from .local.folder import ingest_path

    settings = _settings(home, host=host, port=port, default_workspace=workspace)
    frontend_dir = None if classic_page else _prepare_frontend(build=build)
    click.echo(f"chorus home: {settings.home}")
    started = time.perf_counter()
    services = _open(settings)
    click.echo(
        f"embedded PostgreSQL and {services.embedder.model_id} ready "
        f"in {time.perf_counter() - started:.1f}s"
    )
    target = services.ensure_workspace(workspace)
    sample_dir = None if no_sample else Path(sample) if sample else REPO_DOCS
    if sample_dir is not None and sample_dir.exists():
        click.echo(f"ingesting {sample_dir} into workspace {target.name!r} ...")
        summary = ingest_path(services.ingestor, target, sample_dir)
        _print_summary(summary)
    url = f"http://{host}:{port}/"
    page = "chat app" if frontend_dir else "chat page (plain)"
    click.echo(f"{page}: {url}   WebSocket: ws://{host}:{port}/ws   (Ctrl+C stops)")
    app = create_app(services, frontend_dir=frontend_dir)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning", ws_max_size=1024 * 1024)
    finally:
        services.close()


@main.command()
@click.argument("path", required=False)
@click.option("--url", default=None, help="Crawl a website from this start URL (same site).")
@click.option("--depth", type=int, default=None, help="Link depth of a --url crawl (default 2).")
@click.option("--max-pages", type=int, default=None, help="Pages of a --url crawl (default 50).")
@click.option("--feed", default=None, help="Index the entries of an RSS/Atom feed.")
@click.option("--qa", default=None, help="JSON(L) file of {question, answer} pairs.")
@click.option(
    "--allow-private",
    is_flag=True,
    help="Let --url/--feed fetch loopback/private addresses (refused by default).",
)
@click.option(
    "--workspace",
    "-w",
    default=DEFAULT_WORKSPACE,
    show_default=True,
    help="Workspace name or id; created when missing.",
)
@click.option(
    "--chunk-size",
    type=int,
    default=None,
    help="Characters per chunk for a new workspace (default 1000).",
)
@click.option(
    "--chunk-overlap",
    type=int,
    default=None,
    help="Overlap between chunks for a new workspace (default 200).",
)
@click.option(
    "--config-parameter",
    envvar="CHORUS_CONFIG_PARAMETER",
    default=None,
    help="s3:// only: the deployment's app config in SSM (stack output configParameter).",
)
@click.option(
    "--follow/--no-follow",
    default=True,
    help="s3:// only: print the job's progress until it ends (default) or return at once.",
)
@click.option(
    "--manifest",
    is_flag=True,
    help="s3:// only: the key is an S3 Inventory manifest.json (detected when so named); "
    "a .csv or .json key is read as a list of keys.",
)
@home_option
def ingest(
    path: str | None,
    url: str | None,
    depth: int | None,
    max_pages: int | None,
    feed: str | None,
    qa: str | None,
    allow_private: bool,
    workspace: str,
    chunk_size: int | None,
    chunk_overlap: int | None,
    config_parameter: str | None,
    follow: bool,
    manifest: bool,
    home: str | None,
) -> None:
    """Ingest a file or a folder, a website (--url), a feed (--feed) or Q&A pairs (--qa) into
    a workspace (unchanged files and pages are skipped; `chorus sync` re-fetches sites/feeds).
    With s3://bucket/prefix (or the manifest.json of an S3 Inventory report, or a .csv/.json
    list of keys), start the deployed bulk ingestion workflow instead (--workspace is then the
    cloud workspace's id)."""
    if sum(x is not None for x in (path, url, feed, qa)) != 1:
        raise click.UsageError("give exactly one of PATH, --url, --feed or --qa")
    if manifest and not (path or "").startswith("s3://"):
        raise click.UsageError("--manifest names an S3 Inventory manifest: give s3://.../X.json")
    if path is not None and path.startswith("s3://"):
        if not config_parameter:
            raise click.UsageError(
                "s3:// needs --config-parameter (or CHORUS_CONFIG_PARAMETER): the stack "
                "output configParameter"
            )
        from .commands.bulk import start_cloud_ingestion
        from .core.errors import ChorusError

        try:
            start_cloud_ingestion(
                path,
                workspace,
                config_parameter,
                follow_progress=follow,
                kind="inventory" if manifest else None,
            )
        except ChorusError as exc:
            raise click.ClickException(f"{exc.code}: {exc.message}") from None
        return
    if path is not None and not Path(path).exists():
        raise click.BadParameter(f"{path!r} does not exist", param_hint="PATH")
    from tqdm import tqdm

    from .core.errors import NotFound
    from .core.models import ChunkingSettings
    from .local.folder import iter_files

    services = _open(_settings(home))
    try:
        try:
            target = services.find_workspace(workspace)
        except NotFound:
            chunking = ChunkingSettings(
                chunk_size or 1000, chunk_overlap if chunk_overlap is not None else 200
            )
            target = services.create_workspace(workspace, chunking)
        services.check_embedding_model(target)
        if path is None:
            from .commands.sources import ingest_source

            started = time.perf_counter()
            ingest_source(
                services,
                target,
                url=url,
                feed=feed,
                qa=qa,
                depth=depth,
                max_pages=max_pages,
                allow_private=allow_private,
            )
            click.echo(
                f"workspace {target.name!r} ({target.id}); {time.perf_counter() - started:.1f}s"
            )
            return
        from .commands.bulk import print_report
        from .local.bulk import ingest_folder

        root = Path(path)
        total = sum(1 for _ in iter_files(root))
        started = time.perf_counter()
        with tqdm(total=total, unit="doc", disable=None, file=sys.stderr) as bar:
            report = ingest_folder(
                services.ingestor,
                target,
                root,
                on_report=lambda batch: bar.update(batch.counts.objects),
            )
        print_report(report)
        click.echo(f"workspace {target.name!r} ({target.id}); {time.perf_counter() - started:.1f}s")
    finally:
        services.close()


@main.command()
@click.argument("question")
@click.option("--workspace", "-w", default=DEFAULT_WORKSPACE, show_default=True)
@click.option("--model", default=None, help="Answering model (default: extractive).")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the final event as JSON, with the sources behind each [n].",
)
@home_option
def ask(question: str, workspace: str, model: str | None, as_json: bool, home: str | None) -> None:
    """Ask one question: prints the answer, its sources and timings."""
    from .core.errors import ChorusError
    from .core.protocol import SendMessageData

    services = _open(_settings(home))
    try:
        try:
            target = services.find_workspace(workspace)
            request = SendMessageData(
                workspaceId=target.id, text=question, models=[model] if model else []
            )
        except (ChorusError, ValueError) as exc:
            raise click.ClickException(str(exc)) from None
        events: list[dict[str, Any]] = []
        result = services.chat.chat(request, user_id="cli", send=lambda e: events.append(e) or True)
    finally:
        services.close()
    if result["type"] == "error":
        raise click.ClickException(f"{result['code']}: {result['message']}")
    sources = next((e["sources"] for e in events if e["type"] == "sources"), [])
    if as_json:
        # The citations of the answer, checkable by a program: [n] is sources[n - 1].
        click.echo(json.dumps({**result, "sources": sources}, indent=2))
        return
    click.echo(result["answer"])
    click.echo("\nSources:")
    for s in sources:
        click.echo(f"  [{s['n']}] {s['documentName']}  (score {s['score']:.3f})")
    lat = result["latencyMs"]
    click.echo(
        f"\nretrieval {lat['retrieval']:.0f} ms, generation {lat['generation']:.0f} ms, "
        f"total {lat['total']:.0f} ms; model {result['model']}"
    )


@main.group()
def eval() -> None:
    """Measure chorus: retrieval quality on BEIR-format data, grounding verdicts on claims."""


@eval.command("retrieval")
@click.option(
    "--corpus",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="BEIR corpus.jsonl: {_id, title, text} per line.",
)
@click.option(
    "--queries",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="BEIR queries.jsonl: {_id, text} per line.",
)
@click.option(
    "--qrels",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="TSV with header query-id, corpus-id, score.",
)
@click.option(
    "--mode",
    type=click.Choice(["bm25", "vector", "keyword", "hybrid", "hybrid+rerank"]),
    default="hybrid",
    show_default=True,
)
@click.option("--k", type=int, default=10, show_default=True)
@click.option(
    "--rerank-model",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="CrossEncoder folder for hybrid+rerank.",
)
@click.option(
    "--fusion",
    type=click.Choice(FUSION_CHOICES),
    default=None,
    help="Fusion of the two legs (default: the retriever's default).",
)
@click.option("--chunk-size", type=int, default=None, help="Characters per chunk (default 1000).")
@click.option("--chunk-overlap", type=int, default=None, help="Chunk overlap (default 200).")
@click.option(
    "--title-mode",
    type=click.Choice(["keyword", "embed", "none"]),
    default=None,
    help="Where titles and headings go (default keyword: searched, not embedded).",
)
@click.option(
    "--sweep",
    is_flag=True,
    help="Score a small grid (chunking x fusion) and print a table instead of one report.",
)
@home_option
def eval_retrieval(
    corpus: str,
    queries: str,
    qrels: str,
    mode: str,
    k: int,
    rerank_model: str | None,
    fusion: str | None,
    chunk_size: int | None,
    chunk_overlap: int | None,
    title_mode: str | None,
    sweep: bool,
    home: str | None,
) -> None:
    """Ingest a BEIR corpus into a fresh workspace and print ndcg/recall/mrr@k as JSON.

    A hybrid report also shows each leg alone, BM25 and plain dense search (each passage
    embedded whole with the same model) and ``vs_plain_dense``, hybrid's ratio to the latter.
    """
    from .local.evaluation import EvalSet, run_retrieval_eval, run_retrieval_sweep, sweep_table

    if mode == "hybrid+rerank" and not rerank_model:
        raise click.UsageError("--mode hybrid+rerank needs --rerank-model PATH")
    _quiet_libraries()
    settings = _settings(home)
    if sweep:
        eval_set = EvalSet.load(Path(corpus), Path(queries), Path(qrels))
        rows, plain = run_retrieval_sweep(settings, eval_set, k=k)
        click.echo(sweep_table(rows, plain, k))
        return
    report = run_retrieval_eval(
        settings,
        Path(corpus),
        Path(queries),
        Path(qrels),
        mode=mode,
        k=k,
        rerank_model=Path(rerank_model) if rerank_model else None,
        fusion=fusion,
        chunking=_chunking(chunk_size, chunk_overlap, title_mode),
    )
    click.echo(json.dumps(report, indent=2))


def _chunking(size: int | None, overlap: int | None, title_mode: str | None) -> Any:
    from .core.models import ChunkingSettings

    defaults = ChunkingSettings()
    try:
        return ChunkingSettings(
            chunk_size=size or defaults.chunk_size,
            chunk_overlap=overlap if overlap is not None else defaults.chunk_overlap,
            title_mode=title_mode or defaults.title_mode,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


@main.group()
def tune() -> None:
    """Tune a workspace from an evaluation set (stored on the workspace record)."""


@tune.command("retrieval")
@click.option("--workspace", "-w", required=True, help="Workspace name or id.")
@click.option("--corpus", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--queries", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--qrels", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--k", type=int, default=10, show_default=True)
@click.option(
    "--source",
    type=click.Path(exists=True),
    default=None,
    help="The workspace's document folder: re-ingested at once when the chunking changes.",
)
@home_option
def tune_retrieval(
    workspace: str,
    corpus: str,
    queries: str,
    qrels: str,
    k: int,
    source: str | None,
    home: str | None,
) -> None:
    """Sweep chunking and fusion on an evaluation set and store the best on the workspace."""
    from .core.errors import ChorusError
    from .local.evaluation import EvalSet, run_retrieval_sweep, sweep_table
    from .local.folder import ingest_path
    from .local.tuning import apply_tuning, best_hybrid

    services = _open(_settings(home))
    try:
        try:
            target = services.find_workspace(workspace)
        except ChorusError as exc:
            raise click.ClickException(str(exc)) from None
        eval_set = EvalSet.load(Path(corpus), Path(queries), Path(qrels))
        rows, plain = run_retrieval_sweep(services.settings, eval_set, k=k, services=services)
        click.echo(sweep_table(rows, plain, k))
        tuned = best_hybrid(rows, k)
        reindex = apply_tuning(services.metadata, target, tuned)
        c = tuned.chunking
        click.echo(
            f"workspace {target.name!r}: chunking {c.chunk_size}/{c.chunk_overlap} "
            f"title={c.title_mode}, retrieval {json.dumps(dict(tuned.retrieval)) or '{}'} "
            f"(ndcg@{k} {tuned.ndcg:.4f})"
        )
        if reindex and source:
            click.echo(f"chunking changed: re-ingesting {source} ...")
            _print_summary(
                ingest_path(services.ingestor, services.find_workspace(target.id), Path(source))
            )
        elif reindex:
            click.echo(
                "chunking changed: its documents are queued; run `chorus ingest FOLDER "
                f"--workspace {target.name}` to re-index them"
            )
    finally:
        services.close()


COMMANDS_ENTRY_POINTS = "chorus.commands"
"""Entry-point group of subcommands other parts of the distribution add (``chorus cost`` lives
with the infrastructure it prices: the runtime does not import it)."""


def _register_commands() -> None:
    """Subcommands that live in their own modules, and those the distribution plugs in."""
    from importlib.metadata import entry_points

    from .commands import eval_answers
    from .commands.eval_grounding import grounding
    from .commands.keys import keys
    from .commands.model import model
    from .commands.sources import sync
    from .commands.stats import stats

    main.add_command(keys)
    main.add_command(model)
    main.add_command(stats)
    main.add_command(sync)
    eval.add_command(grounding)
    eval_answers.register(eval)
    for entry in entry_points(group=COMMANDS_ENTRY_POINTS):
        main.add_command(_lazy(entry), entry.name)


def _lazy(entry: Any) -> click.Command:
    """A command that imports its module only when it runs (or shows its help)."""

    class Lazy(click.Command):
        def _target(self) -> click.Command:
            return entry.load()

        def get_params(self, ctx: click.Context) -> list[click.Parameter]:
            return self._target().get_params(ctx)

        def invoke(self, ctx: click.Context) -> Any:
            return self._target().invoke(ctx)

        def get_short_help_str(self, limit: int = 45) -> str:
            return self._target().get_short_help_str(limit)

        def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
            self._target().format_help(ctx, formatter)

    return Lazy(entry.name)


_register_commands()

if __name__ == "__main__":
    main()
