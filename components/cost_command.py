"""``chorus cost --stack dev``: what a stack's configuration costs idle and per 1,000 chats,
what each event path costs at 0 / 1k / 1M events a day, and the vector stores a workspace can
pick.

The command lives with the estimate it prints (``cost.py``, pure Python, a dated price table):
the runtime never imports the infrastructure. The ``chorus`` command finds it through the
``chorus.commands`` entry point the distribution declares (pyproject.toml). Needs ``click`` (in
the ``chorus`` distribution).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click


@click.command("cost")
@click.option("--stack", default="dev", show_default=True, help="Reads Pulumi.<stack>.yaml.")
@click.option(
    "--project-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder holding Pulumi.yaml and the stack files.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the items as JSON.")
def cost(stack: str, project_dir: Path, as_json: bool) -> None:
    """Estimated monthly idle cost and cost per 1,000 chats of a stack, item by item, what each
    event path costs at 0 / 1k / 1M events a day, and what each vector store kind costs (idle,
    per 1,000 queries) and how fast it answers."""
    from .cost import estimate_stack, format_report
    from .settings import ConfigError

    try:
        report = estimate_stack(stack, project_dir)
    except (FileNotFoundError, ConfigError, KeyError) as error:
        raise click.ClickException(str(error).strip("'\"")) from None
    if as_json:
        payload = {
            "stack": report.stack,
            "idle": [asdict(i) for i in report.idle],
            "idleTotal": round(report.idle_total, 4),
            "idleAfterFreeTier": round(report.idle_after_free_tier, 4),
            "perThousandChats": [asdict(i) for i in report.per_thousand_chats],
            "perThousandChatsTotal": round(report.per_thousand_total, 4),
            "stores": [asdict(o) for o in report.stores],
            "eventPaths": [
                {
                    "path": e.path,
                    "mode": e.mode,
                    "deployed": e.selected,
                    "detail": e.detail,
                    "usdPerMonth": {str(n): round(usd, 4) for n, usd in e.usd_by_rate},
                }
                for e in report.event_paths
            ],
        }
        click.echo(json.dumps(payload, indent=2))
    else:
        click.echo(format_report(report))
