"""``chorus stats``: the running local server's operations figures (``GET /api/stats``)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import click

from ..local.settings import DEFAULT_PORT
from ..local.stats import format_summary


@click.command()
@click.option(
    "--url",
    default=f"http://127.0.0.1:{DEFAULT_PORT}",
    show_default=True,
    help="The local server `chorus up` started.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the raw JSON.")
def stats(url: str, as_json: bool) -> None:
    """Latency per model, cost per turn, retries, cache hits and ingest, since the server
    started (the figures the cloud emits as CloudWatch metrics)."""
    endpoint = url.rstrip("/") + "/api/stats"
    try:
        with urllib.request.urlopen(endpoint, timeout=10) as response:
            summary = json.loads(response.read())
    except (urllib.error.URLError, OSError) as exc:
        raise click.ClickException(
            f"cannot reach {endpoint} ({exc}); start the server with `chorus up` or pass --url"
        ) from None
    click.echo(json.dumps(summary, indent=2) if as_json else format_summary(summary))
