"""Scheduled evaluation: the one function of the evaluation workflow, and its operators' door.

Events (``action`` defaults to ``evaluate``):

- ``{"action": "list"}`` → ``{"workspaces": [{"workspaceId"}, ...]}``: the opted-in workspaces
  (the workflow's first step; its ``Map`` iterates over them);
- ``{"workspaceId"}`` → the run's result keys, headline figures and regressions (one ``Map``
  item); a workspace that cannot be evaluated raises, and the workflow's ``Catch`` records it
  without stopping the others;
- ``{"action": "accept", "workspaceId", "resultKey"?}``: make a run (default: the newest) the
  workspace's baseline;
- ``{"action": "schedule", "workspaceId", "enabled": true|false}``: opt in or out.

Errors raise with their type's name (``NotFound``, ``BadRequest``), as the Python runtime
reports them to Step Functions.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from ..cloud.wiring.evaluation import evaluation_wiring
from ..core.errors import BadRequest
from .observability import logger, metrics, tracer

ACTIONS = ("evaluate", "list", "accept", "schedule")


def _workspace_id(event: dict[str, Any]) -> str:
    value = event.get("workspaceId")
    if not isinstance(value, str) or not 0 < len(value) <= 128:
        raise BadRequest("the event needs a workspaceId (1 to 128 characters)")
    return value


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    from ..cloud import scheduled_evaluation as operations

    if not isinstance(event, dict):
        raise BadRequest("the event must be a JSON object")
    action = event.get("action", "evaluate")
    if action not in ACTIONS:
        raise BadRequest(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
    wiring = evaluation_wiring()
    if action == "list":
        return {"workspaces": operations.scheduled_workspaces(wiring)}
    workspace_id = _workspace_id(event)
    if action == "accept":
        key = event.get("resultKey")
        if key is not None and not isinstance(key, str):
            raise BadRequest("resultKey must be a string (a run's result.json key)")
        return operations.accept_baseline(wiring, workspace_id, key)
    if action == "schedule":
        enabled = event.get("enabled")
        if not isinstance(enabled, bool):
            raise BadRequest('a schedule action needs "enabled": true or false')
        return operations.set_scheduled(wiring, workspace_id, enabled)
    return operations.evaluate_workspace(wiring, workspace_id)
