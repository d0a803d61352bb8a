"""Deploy-time database setup: the ``vector`` extension, the chorus schema and its tables.

Two ways in (``runtime/cloud/db_setup.py`` does the work, through the RDS Data API when given
``clusterArn`` + ``secretArn`` and no ``host``/``dsn``, else with psycopg2):

* a direct invocation — ``aws.lambda_.Invocation`` or a Pulumi dynamic resource — with
  ``{"clusterArn", "secretArn", "database", "schema", "embeddingDimension"}``: returns what
  exists afterwards, raises (failing the deployment) when it cannot;
* a CloudFormation-style custom resource (``RequestType`` Create/Update/Delete): the outcome is
  PUT to ``ResponseURL`` as SUCCESS or FAILED, and the function returns normally. Delete leaves
  the database alone (the cluster's own deletion drops it; data is never removed here).
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from ..cloud.db_setup import (
    SetupRequest,
    resolve_dsn,
    set_up_database,
    set_up_database_via_data_api,
)
from .observability import logger, metrics, tracer

_MARGIN_MS = 30_000


def run_setup(event: dict[str, Any], context: Any, session: Any = None) -> dict[str, Any]:
    request = SetupRequest.from_input(event)
    session = session or boto3.session.Session()
    remaining_ms = context.get_remaining_time_in_millis() if context is not None else 300_000
    budget_s = max(remaining_ms - _MARGIN_MS, 0) / 1000
    if request.uses_data_api:
        client = session.client("rds-data")
        result = set_up_database_via_data_api(client, request, budget_s=budget_s)
    else:
        result = set_up_database(resolve_dsn(request, session), request, budget_s=budget_s)
    logger.info("database ready", extra={"setup": result})
    return result


def respond(event: dict[str, Any], status: str, reason: str, resource_id: str, data: dict) -> None:
    """PUT the custom resource's outcome to its pre-signed ``ResponseURL``."""
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:1000],
            "PhysicalResourceId": resource_id,
            "StackId": event.get("StackId", ""),
            "RequestId": event.get("RequestId", ""),
            "LogicalResourceId": event.get("LogicalResourceId", ""),
            "NoEcho": False,
            "Data": {k: v for k, v in data.items() if isinstance(v, str | int | float)},
        }
    ).encode()
    put = urllib.request.Request(
        event["ResponseURL"],
        data=body,
        method="PUT",
        headers={"Content-Type": "", "Content-Length": str(len(body))},
    )
    with urllib.request.urlopen(put, timeout=30) as response:
        response.read()


def custom_resource(event: dict[str, Any], context: Any, session: Any = None) -> dict[str, Any]:
    properties = dict(event.get("ResourceProperties") or {})
    properties.pop("ServiceToken", None)
    resource_id = event.get("PhysicalResourceId") or "chorus-db-setup"
    status, reason, data = "SUCCESS", "", {}
    try:
        resource_id = (
            event.get("PhysicalResourceId") or SetupRequest.from_input(properties).resource_id()
        )
        if event.get("RequestType") in ("Create", "Update"):
            data = run_setup(properties, context, session)
            reason = f"schema {data['schema']} ready"
        else:
            reason = "nothing to do on delete"
    except Exception as exc:
        logger.exception("database setup failed")
        status, reason = "FAILED", f"{type(exc).__name__}: {exc}"
    respond(event, status, reason, resource_id, data)
    return {"Status": status, "Reason": reason, "PhysicalResourceId": resource_id}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "RequestType" in event and "ResponseURL" in event:
        return custom_resource(event, context)
    return run_setup(event, context)
