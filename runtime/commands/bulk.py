"""``chorus ingest s3://bucket/prefix --workspace W`` (or ``s3://.../manifest.json``, an S3
Inventory report, or a ``.csv``/``.json`` key list): start the deployed bulk ingestion workflow
and follow its progress; and the summary both bulk paths print.

The deployment is found through its app config in SSM (``--config-parameter``, or
``CHORUS_CONFIG_PARAMETER``; the stack output ``configParameter``): it names the workflow
(``bulkIngestionStateMachineArn``) and the workspace table the progress is recorded in.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import click

from ..core.bulk_ingestion import BatchCounts, BatchReport, BulkJob
from ..core.errors import BadRequest


def counts_line(counts: BatchCounts) -> str:
    return (
        f"documents: {counts.ingested} indexed, {counts.unchanged} unchanged, "
        f"{counts.skipped} skipped, {counts.failed} failed; chunks written: {counts.chunks}"
    )


def print_report(report: BatchReport) -> None:
    """The same summary as ``chorus ingest FOLDER`` always printed, then one line per file
    that was skipped or failed, with its reason."""
    click.echo(counts_line(report.counts))
    for result in report.results:
        if result.status in ("skipped", "failed"):
            click.echo(f"  {result.status}: {result.key}: {result.reason or ''}")


def deployment_config(ssm: Any, parameter: str) -> dict[str, Any]:
    """The app config (JSON) the stack wrote to SSM; ``BadRequest`` when it has no bulk
    workflow (``chorus:bulkIngestion.enabled`` is off)."""
    value = ssm.get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"]
    config = json.loads(value)
    if not config.get("bulkIngestionStateMachineArn"):
        raise BadRequest(
            f"the deployment behind {parameter} has no bulk ingestion workflow; set "
            "chorus:bulkIngestion.enabled and sourceBuckets, then pulumi up"
        )
    return config


def follow(
    sfn: Any,
    progress: Any,
    job: BulkJob,
    execution_arn: str,
    *,
    every_s: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Print the job's counts until its execution ends; returns the execution's status."""
    while True:
        status = sfn.describe_execution(executionArn=execution_arn)["status"]
        recorded = progress.get_job(job.workspace_id, job.job_id)
        counts = recorded.counts if recorded else BatchCounts()
        click.echo(f"{status.lower()}: {counts_line(counts)}")
        if status != "RUNNING":
            return status
        sleep(every_s)


def start_cloud_ingestion(
    uri: str,
    workspace_id: str,
    parameter: str,
    *,
    follow_progress: bool,
    kind: str | None = None,
    session: Any = None,
) -> str:
    """Start (and optionally follow) a bulk ingestion of a prefix, an S3 Inventory manifest or
    a key list (``kind``, or the name says: ``cloud.bulk_ingest.detect_kind``); returns the
    execution's ARN."""
    import boto3

    from ..adapters.dynamodb_bulk_jobs import DynamoBulkProgress
    from ..cloud.bulk_ingest import execution_arn, start_bulk_ingestion

    session = session or boto3.session.Session()
    config = deployment_config(session.client("ssm"), parameter)
    machine = config["bulkIngestionStateMachineArn"]
    progress = DynamoBulkProgress(session.resource("dynamodb"), config["tables"]["workspace"])
    sfn = session.client("stepfunctions")
    job = start_bulk_ingestion(
        sfn, session.client("s3"), progress, machine, workspace_id, uri, kind=kind
    )
    arn = execution_arn(machine, job.job_id)
    click.echo(f"started bulk ingestion {job.job_id} of {job.source} into {workspace_id}")
    click.echo(f"execution: {arn}")
    if follow_progress:
        status = follow(sfn, progress, job, arn)
        if status != "SUCCEEDED":
            raise click.ClickException(f"bulk ingestion {job.job_id} ended {status}")
    return arn
