"""``chorus ingest --url/--feed/--qa`` and ``chorus sync``: web, feed and Q&A sources locally."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..core.sources import QAPair, SourceError


def print_report(report: Any) -> None:
    click.echo(
        f"{report.kind} {report.url}: {report.fetched} fetched, {report.indexed} indexed, "
        f"{report.unchanged} unchanged, {len(report.skipped)} skipped, "
        f"{len(report.failed)} failed; chunks written: {report.chunks}"
    )
    for url, reason in report.skipped:
        click.echo(f"  skipped: {url}: {reason}")
    for url, reason in report.failed:
        click.echo(f"  failed: {url}: {reason}")


def read_qa_file(path: Path) -> list[QAPair]:
    """A JSON list or JSON lines of ``{"question": ..., "answer": ...}``."""
    text = path.read_text(encoding="utf-8")
    try:
        rows = (
            json.loads(text)
            if text.lstrip().startswith("[")
            else [json.loads(line) for line in text.splitlines() if line.strip()]
        )
        return [QAPair(str(r["question"]), str(r["answer"])) for r in rows]
    except (ValueError, KeyError, TypeError) as exc:
        raise click.ClickException(
            f"{path}: expected JSON lines or a JSON list of {{question, answer}} ({exc})"
        ) from None


def ingest_source(
    services: Any,
    workspace: Any,
    *,
    url: str | None,
    feed: str | None,
    qa: str | None,
    depth: int | None,
    max_pages: int | None,
    allow_private: bool,
) -> None:
    """Run one ``chorus ingest`` of a site, a feed or a Q&A file and print what happened."""
    sources = services.sources(allow_private=allow_private or None)
    try:
        if url:
            print_report(sources.add_site(workspace, url, max_depth=depth, max_pages=max_pages))
        elif feed:
            print_report(sources.add_feed(workspace, feed))
        elif qa:
            results = sources.add_qa(workspace, read_qa_file(Path(qa)))
            indexed = sum(r.outcome == "indexed" for r in results)
            click.echo(f"Q&A pairs: {indexed} indexed, {len(results) - indexed} unchanged/other")
    except SourceError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message} (nothing was stored)") from None


@click.command()
@click.option("--workspace", "-w", default="default", show_default=True)
@click.option(
    "--allow-private",
    is_flag=True,
    help="Let sources fetch loopback/private addresses (an intranet, a test server).",
)
@click.option("--home", default=None, help="Data folder (default: $CHORUS_HOME or ~/.chorus).")
def sync(workspace: str, allow_private: bool, home: str | None) -> None:
    """Re-fetch the workspace's sites and feeds; unchanged pages (ETag/Last-Modified or same
    bytes) are skipped, new feed entries and changed pages are indexed."""
    from ..cli import _open, _settings

    services = _open(_settings(home))
    try:
        target = services.find_workspace(workspace)
        reports = services.sources(allow_private=allow_private or None).sync(target)
        if not reports:
            click.echo(
                f"workspace {target.name!r} has no sites or feeds; add one with "
                "`chorus ingest --url URL` or `--feed URL`"
            )
        for report in reports:
            print_report(report)
    finally:
        services.close()
