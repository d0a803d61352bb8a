"""The bulk ingestion workflow under moto's Step Functions interpreter: its Distributed Map lists
the prefix in moto's S3 (``ItemReader``), calls ``bulk_ingest_batch`` in process for each item,
writes its results manifest (``ResultWriter``) and records the job's end in the workspace.

moto runs the variant ``bulk_ingestion_definition(moto_compatible=True)``: its ASL parser
rejects ``ItemBatcher`` and EXPRESS children (docs/ingestion.md, "Bulk ingestion").
"""

from __future__ import annotations

import pytest
from chorus.runtime.cloud.bulk_ingest import start_bulk_ingestion
from chorus.runtime.core.models import ChunkingSettings, DocumentStatus, Workspace
from chorus.runtime.core.parsing import document_id_for
from chorus.runtime.handlers import bulk_ingest_batch
from support.stepfunctions import (
    deploy_bulk_ingestion,
    execute_in_running_mock,
    record_retry_waits,
    run_lambdas_in_process,
    wait_for_execution,
)

SOURCE, RESULTS = "corpus-source", "chorus-results"


@pytest.fixture
def workflow(stack, services, context, monkeypatch):
    s3 = stack.client("s3")
    for bucket in (SOURCE, RESULTS):
        s3.create_bucket(Bucket=bucket)
    calls: list[dict] = []

    def invoke(event):
        calls.append(event)
        return bulk_ingest_batch.handler(event, context)

    execute_in_running_mock(monkeypatch)
    run_lambdas_in_process(monkeypatch, {"bulk_ingest_batch": invoke})
    record_retry_waits(monkeypatch)
    sfn, arn = deploy_bulk_ingestion(RESULTS)
    return sfn, arn, s3, calls


def run(services, sfn, arn, s3, workspace_id="ops", prefix="corpus/"):
    job = start_bulk_ingestion(
        sfn, s3, services.bulk_progress, arn, workspace_id, f"s3://{SOURCE}/{prefix}"
    )
    return job, wait_for_execution(
        sfn, arn.replace(":stateMachine:", ":execution:") + f":{job.job_id}"
    )


def make_workspace(services, workspace_id="ops"):
    services.metadata.create_workspace(
        Workspace(workspace_id, "Ops", services.embedder.model_id, 384, ChunkingSettings(200, 40))
    )


def test_the_workflow_ingests_a_prefix_and_records_the_jobs_counts(services, workflow):
    sfn, arn, s3, _ = workflow
    make_workspace(services)
    s3.put_object(Bucket=SOURCE, Key="corpus/a.md", Body=b"# A\n\nThe red fox jumps at dawn.")
    s3.put_object(Bucket=SOURCE, Key="corpus/b.txt", Body=b"Quarterly revenue rose by 12%.")

    job, described = run(services, sfn, arn, s3)

    assert described["status"] == "SUCCEEDED"
    recorded = services.bulk_progress.get_job("ops", job.job_id)
    assert (recorded.status, recorded.counts.ingested, recorded.counts.failed) == (
        "succeeded",
        2,
        0,
    )
    doc = services.metadata.get_document("ops", document_id_for("a.md"))
    assert doc.status is DocumentStatus.INDEXED


def test_the_map_writes_its_results_manifest_to_the_results_bucket(services, workflow):
    sfn, arn, s3, _ = workflow
    make_workspace(services)
    s3.put_object(Bucket=SOURCE, Key="corpus/a.md", Body=b"# A\n\nThe red fox jumps at dawn.")

    run(services, sfn, arn, s3)

    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=RESULTS).get("Contents", [])]
    assert keys and all(k.startswith("bulk-results/") for k in keys)


def test_running_the_same_prefix_again_skips_every_object(services, workflow):
    sfn, arn, s3, _ = workflow
    make_workspace(services)
    s3.put_object(Bucket=SOURCE, Key="corpus/a.md", Body=b"# A\n\nThe red fox jumps at dawn.")
    s3.put_object(Bucket=SOURCE, Key="corpus/b.txt", Body=b"Quarterly revenue rose by 12%.")
    run(services, sfn, arn, s3)

    again, _ = run(services, sfn, arn, s3)

    counts = services.bulk_progress.get_job("ops", again.job_id).counts
    assert (counts.unchanged, counts.ingested) == (2, 0)


def test_a_listing_that_fails_fails_the_job_and_the_workspace_record_says_why(services, workflow):
    """The ItemReader cannot list the bucket (gone, or not the role's to read): the map's Catch
    records the failure in the workspace and the execution fails; nothing was ingested."""
    import json

    from chorus.runtime.core.bulk_ingestion import BulkJob

    sfn, arn, _, calls = workflow
    make_workspace(services)
    services.bulk_progress.start_job(BulkJob("ops", "job-denied", "s3://no-such-bucket/x/"))
    execution = sfn.start_execution(
        stateMachineArn=arn,
        name="job-denied",
        input=json.dumps(
            {"workspaceId": "ops", "jobId": "job-denied", "bucket": "no-such-bucket", "prefix": ""}
        ),
    )

    described = wait_for_execution(sfn, execution["executionArn"])

    assert described["status"] == "FAILED"
    recorded = services.bulk_progress.get_job("ops", "job-denied")
    assert recorded.status == "failed" and recorded.error
    assert [c for c in calls if "Items" in c] == []


def test_the_workflow_ingests_the_objects_a_csv_key_list_names(services, workflow):
    """moto's ItemReader reads the CSV (``InputType: CSV``, header row), the Map hands each row
    to the batch function, which asks S3 for what a key list does not say."""
    sfn, arn, s3, calls = workflow
    make_workspace(services)
    s3.put_object(Bucket=SOURCE, Key="corpus/a.md", Body=b"# A\n\nThe red fox jumps at dawn.")
    s3.put_object(Bucket=SOURCE, Key="corpus/b.txt", Body=b"Quarterly revenue rose by 12%.")
    s3.put_object(Bucket=SOURCE, Key="corpus/skip.md", Body=b"# Not listed\n\nLeft alone.")
    s3.put_object(Bucket=SOURCE, Key="lists/wanted.csv", Body=b"Key\ncorpus/a.md\ncorpus/b.txt\n")

    job, described = run(services, sfn, arn, s3, prefix="lists/wanted.csv")

    assert described["status"] == "SUCCEEDED"
    recorded = services.bulk_progress.get_job("ops", job.job_id)
    assert (recorded.status, recorded.counts.ingested, recorded.counts.failed) == (
        "succeeded",
        2,
        0,
    )
    assert {c["BatchInput"]["kind"] for c in calls if "Items" in c} == {"csv"}
    assert services.metadata.get_document("ops", document_id_for("corpus/a.md")) is not None
    assert services.metadata.get_document("ops", document_id_for("corpus/skip.md")) is None


def test_the_workflow_ingests_the_objects_a_json_key_list_names_once(services, workflow):
    import json

    sfn, arn, s3, _ = workflow
    make_workspace(services)
    s3.put_object(Bucket=SOURCE, Key="corpus/a.md", Body=b"# A\n\nThe red fox jumps at dawn.")
    listed = json.dumps([{"Bucket": SOURCE, "Key": "corpus/a.md"}]).encode()
    s3.put_object(Bucket=SOURCE, Key="lists/wanted.json", Body=listed)
    run(services, sfn, arn, s3, prefix="lists/wanted.json")

    again, described = run(services, sfn, arn, s3, prefix="lists/wanted.json")

    assert described["status"] == "SUCCEEDED"
    counts = services.bulk_progress.get_job("ops", again.job_id).counts
    assert (counts.unchanged, counts.ingested) == (1, 0)


def test_a_key_list_that_is_not_json_fails_the_job_and_the_workspace_record_says_why(
    services, workflow
):
    sfn, arn, s3, calls = workflow
    make_workspace(services)
    s3.put_object(Bucket=SOURCE, Key="lists/broken.json", Body=b"{not json")

    job, described = run(services, sfn, arn, s3, prefix="lists/broken.json")

    assert described["status"] == "FAILED"
    recorded = services.bulk_progress.get_job("ops", job.job_id)
    assert recorded.status == "failed" and recorded.error
    assert [c for c in calls if "Items" in c] == []
