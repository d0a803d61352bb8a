"""``chorus keys create|list|revoke``: a local workspace's API keys for the public API.

The same operations as ``POST/GET/DELETE /api/workspaces/{id}/api-keys`` (the application layer,
run as the CLI's local user, who administers the laptop's workspaces); the full key is printed
once, by ``create``. See docs/public_api.md.

Example::

    chorus keys create --workspace docs --name ci --rate 2 --burst 10 --daily-quota 5000
    chorus keys list --workspace docs
    chorus keys revoke --workspace docs 0123456789abcdef
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import click

HOME = click.option(
    "--home", default=None, help="Data folder (default: $CHORUS_HOME or ~/.chorus)."
)
WORKSPACE = click.option("--workspace", "-w", required=True, help="Workspace name or id.")


@click.group()
def keys() -> None:
    """API keys of a workspace's public API (docs/public_api.md)."""


def _run(home: str | None, workspace: str, operation: Callable[..., Any]) -> Any:
    """``operation(backend, caller, workspace_id)`` on the local services; a ChorusError is
    the command's error message."""
    from ..application.caller import local_caller
    from ..cli import _open, _settings
    from ..core.errors import ChorusError
    from ..local.services import LOCAL_USER

    services = _open(_settings(home))
    try:
        target = services.find_workspace(workspace)
        return operation(services.backend, local_caller(LOCAL_USER), target.id)
    except ChorusError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    finally:
        services.close()


@keys.command("create")
@WORKSPACE
@click.option("--name", required=True, help="What the key is for (shown in lists).")
@click.option("--rate", type=float, default=1.0, show_default=True, help="Requests per second.")
@click.option("--burst", type=int, default=5, show_default=True, help="Requests at once.")
@click.option("--daily-quota", type=int, default=1000, show_default=True, help="Requests/day.")
@click.option(
    "--scope",
    "scopes",
    type=click.Choice(["answers", "documents"]),
    multiple=True,
    help="What the key may do (repeat; default: both).",
)
@HOME
def create(
    workspace: str,
    name: str,
    rate: float,
    burst: int,
    daily_quota: int,
    scopes: tuple[str, ...],
    home: str | None,
) -> None:
    """Issue a key; the full key is printed once (store it now)."""
    from ..application.api_keys import create_key
    from ..application.requests import CreateApiKey, validate_request
    from ..core.errors import ChorusError

    fields: dict[str, Any] = {
        "name": name,
        "ratePerSecond": rate,
        "burst": burst,
        "dailyQuota": daily_quota,
    }
    if scopes:
        fields["scopes"] = list(scopes)
    try:
        body = validate_request(CreateApiKey, fields)
    except ChorusError as exc:
        raise click.UsageError(exc.message) from None
    reply = _run(home, workspace, lambda b, c, w: create_key(b, c, w, body, time.time()))
    click.echo(reply.body["key"])
    click.echo(
        f"key {reply.body['id']} of workspace {reply.body['workspaceId']!r}: shown once; "
        "send it as 'Authorization: Bearer <key>'",
        err=True,
    )


@keys.command("list")
@WORKSPACE
@click.option("--json", "as_json", is_flag=True, help="Print the keys as JSON.")
@HOME
def list_(workspace: str, as_json: bool, home: str | None) -> None:
    """The workspace's keys, oldest first (never a secret)."""
    from ..application.api_keys import list_keys

    listed = _run(home, workspace, list_keys).body["apiKeys"]
    if as_json:
        click.echo(json.dumps(listed, indent=2))
        return
    for key in listed:
        plan = key["plan"]
        state = f"revoked {key['revokedAt']}" if key["revokedAt"] else "active"
        click.echo(
            f"{key['id']}  {key['name']}  {','.join(key['scopes'])}  "
            f"{plan['ratePerSecond']:g}/s burst {plan['burst']}, {plan['dailyQuota']}/day  "
            f"used today {key['usedToday']}  {state}"
        )


@keys.command("revoke")
@WORKSPACE
@click.argument("key_id")
@HOME
def revoke(workspace: str, key_id: str, home: str | None) -> None:
    """Revoke a key at once (it stays in the list as revoked)."""
    from ..application.api_keys import revoke_key

    _run(home, workspace, lambda b, c, w: revoke_key(b, c, w, key_id, time.time()))
    click.echo(f"key {key_id} revoked")
