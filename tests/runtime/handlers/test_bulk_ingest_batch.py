"""A Distributed Map child of the bulk ingestion: ``bulk_ingest_batch`` on moto S3 + DynamoDB,
the real embedded PostgreSQL and MiniLM.

moto's Step Functions interpreter does not run a ``DISTRIBUTED`` Map's ``ItemReader`` (see
docs/ingestion.md, "Bulk ingestion"), so the batches here are built the way the ``ItemReader``
and ``ItemBatcher`` build them: a ``ListObjectsV2`` page cut into ``Items`` with a
``BatchInput``.
"""

from __future__ import annotations

import pytest
from chorus.runtime.cloud.bulk_ingest import (
    EmptySource,
    SourceNotReadable,
    execution_arn,
    start_bulk_ingestion,
)
from chorus.runtime.core.errors import BadRequest, NotFound
from chorus.runtime.core.models import ChunkingSettings, DocumentStatus, Workspace
from chorus.runtime.core.parsing import document_id_for
from chorus.runtime.handlers import bulk_ingest_batch

SOURCE = "corpus-source"
GUIDES = {
    "corpus/guides/keys.md": b"# Keys\n\nThe XK-4471 signing key rotates every ninety days.",
    "corpus/guides/vault.txt": b"Restore old keys from the vault with the break-glass role.",
    "corpus/faq.md": b"# FAQ\n\nBackups run nightly at 02:00 UTC and are kept for 35 days.",
}


@pytest.fixture
def workspace(services):
    return services.metadata.create_workspace(
        Workspace("ops", "Ops", services.embedder.model_id, 384, ChunkingSettings(200, 40))
    )


@pytest.fixture
def s3(stack):
    client = stack.client("s3")
    client.create_bucket(Bucket=SOURCE)
    return client


def put(s3, objects: dict[str, bytes]) -> None:
    for key, body in objects.items():
        s3.put_object(Bucket=SOURCE, Key=key, Body=body)


def listed(s3, prefix: str = "corpus/") -> list[dict]:
    """The items of a ``ListObjectsV2`` page as the ItemReader passes them (``Etag``, epoch)."""
    contents = s3.list_objects_v2(Bucket=SOURCE, Prefix=prefix).get("Contents", [])
    return [
        {
            "Key": o["Key"],
            "Etag": o["ETag"],
            "Size": o["Size"],
            "LastModified": int(o["LastModified"].timestamp()),
            "StorageClass": "STANDARD",
        }
        for o in contents
    ]


def batch(items: list[dict], job: str = "job-1", prefix: str = "corpus/") -> dict:
    return {
        "BatchInput": {"workspaceId": "ops", "jobId": job, "bucket": SOURCE, "prefix": prefix},
        "Items": items,
    }


def test_a_batch_ingests_every_listed_document_and_counts_it(services, workspace, s3, context):
    put(s3, GUIDES)

    result = bulk_ingest_batch.handler(batch(listed(s3)), context)

    assert result["counts"]["ingested"] == 3 and result["counts"]["failed"] == 0
    doc = services.metadata.get_document("ops", document_id_for("guides/keys.md"))
    assert doc.status is DocumentStatus.INDEXED and doc.name == "guides/keys.md"
    assert services.store.count_chunks("ops", doc.id) >= 1


def test_the_workspace_holds_the_jobs_counts_added_over_its_batches(
    services, workspace, s3, context
):
    put(s3, GUIDES)
    items = listed(s3)

    bulk_ingest_batch.handler(batch(items[:2]), context)
    bulk_ingest_batch.handler(batch(items[2:]), context)

    job = services.bulk_progress.get_job("ops", "job-1")
    assert (job.counts.ingested, job.batches) == (3, 2)


def test_a_retried_batch_overwrites_its_counts_instead_of_doubling_them(
    services, workspace, s3, context
):
    put(s3, GUIDES)
    items = listed(s3)

    bulk_ingest_batch.handler(batch(items), context)
    bulk_ingest_batch.handler(batch(items), context)  # the Map's Retry of the same batch

    job = services.bulk_progress.get_job("ops", "job-1")
    assert job.counts.objects == 3 and job.batches == 1


def test_a_second_run_over_the_same_prefix_skips_every_object_without_reading_it(
    services, workspace, s3, context
):
    put(s3, GUIDES)
    items = listed(s3)
    bulk_ingest_batch.handler(batch(items), context)
    for key in GUIDES:  # nothing left to read: an unchanged object must not be fetched
        s3.delete_object(Bucket=SOURCE, Key=key)

    again = bulk_ingest_batch.handler(batch(items, job="job-2"), context)

    assert again["counts"] == {**again["counts"], "unchanged": 3, "ingested": 0, "failed": 0}


def test_a_changed_object_is_ingested_again_and_replaces_its_chunks(
    services, workspace, s3, context
):
    put(s3, GUIDES)
    first = listed(s3)
    bulk_ingest_batch.handler(batch(first), context)
    s3.put_object(Bucket=SOURCE, Key="corpus/faq.md", Body=b"# FAQ\n\nBackups now run hourly.")
    changed = [
        {**item, "LastModified": item["LastModified"] + 60}
        if item["Key"] == "corpus/faq.md"
        else item
        for item in listed(s3)
    ]

    again = bulk_ingest_batch.handler(batch(changed, job="job-2"), context)

    assert (again["counts"]["ingested"], again["counts"]["unchanged"]) == (1, 2)
    new_etag = next(i["Etag"] for i in changed if i["Key"] == "corpus/faq.md").strip('"')
    doc = services.metadata.get_document("ops", document_id_for("faq.md"))
    assert doc.status is DocumentStatus.INDEXED and doc.version.endswith(new_etag)


def test_non_documents_folder_markers_and_oversized_objects_are_skipped_and_stored_nowhere(
    services, workspace, s3, context
):
    limit = services.ingestor.max_document_bytes
    put(
        s3,
        {
            "corpus/": b"",
            "corpus/logo.png": b"\x89PNG\r\n\x1a\n" + bytes(64),
            "corpus/huge.txt": b"word " * (limit // 5 + 10),
        },
    )

    result = bulk_ingest_batch.handler(batch(listed(s3)), context)

    assert result["counts"]["skipped"] == 3 and result["counts"]["ingested"] == 0
    reasons = {r["key"]: r.get("reason", "") for r in result["results"]}
    assert "limit" in reasons["corpus/huge.txt"]
    assert services.metadata.get_document("ops", document_id_for("huge.txt")) is None


def test_an_object_gone_or_replaced_since_the_listing_fails_alone_with_nothing_stored(
    services, workspace, s3, context
):
    put(s3, GUIDES)
    items = listed(s3)
    s3.delete_object(Bucket=SOURCE, Key="corpus/faq.md")

    result = bulk_ingest_batch.handler(batch(items), context)

    assert (result["counts"]["ingested"], result["counts"]["failed"]) == (2, 1)
    failed = next(r for r in result["results"] if r["status"] == "failed")
    assert failed["key"] == "corpus/faq.md" and "cannot read" in failed["reason"]
    assert services.metadata.get_document("ops", document_id_for("faq.md")) is None


def test_the_final_step_records_the_jobs_outcome(services, workspace, s3, context):
    put(s3, GUIDES)
    bulk_ingest_batch.handler(batch(listed(s3)), context)

    done = bulk_ingest_batch.handler(
        {"finish": "succeeded", "workspaceId": "ops", "jobId": "job-1"}, context
    )

    assert done["counts"]["ingested"] == 3
    assert services.bulk_progress.get_job("ops", "job-1").status == "succeeded"


def test_a_malformed_batch_or_a_missing_workspace_raises_for_the_state_machine(
    services, s3, context
):
    with pytest.raises(BadRequest):
        bulk_ingest_batch.handler({"Items": []}, context)
    with pytest.raises(NotFound):
        bulk_ingest_batch.handler(batch([]), context)


def test_starting_refuses_an_empty_prefix_and_records_nothing(services, workspace, s3, stack):
    sfn = stack.client("stepfunctions")

    with pytest.raises(EmptySource):
        start_bulk_ingestion(
            sfn,
            s3,
            services.bulk_progress,
            "arn:unused",
            "ops",
            f"s3://{SOURCE}/nothing/",
            job_id="job-e",
        )
    assert services.bulk_progress.get_job("ops", "job-e") is None


def test_starting_refuses_a_bucket_it_cannot_list_with_a_clear_error(
    services, workspace, s3, stack
):
    with pytest.raises(SourceNotReadable, match="sourceBuckets"):
        start_bulk_ingestion(
            stack.client("stepfunctions"),
            s3,
            services.bulk_progress,
            "arn:unused",
            "ops",
            "s3://no-such-bucket-here/corpus/",
            job_id="job-x",
        )
    assert services.bulk_progress.get_job("ops", "job-x") is None


def test_starting_records_the_job_and_names_the_execution_after_it(services, workspace, s3, stack):
    from support.stepfunctions import deploy_bulk_ingestion

    put(s3, GUIDES)
    sfn = stack.client("stepfunctions")
    _, arn = deploy_bulk_ingestion()

    job = start_bulk_ingestion(
        sfn, s3, services.bulk_progress, arn, "ops", f"s3://{SOURCE}/corpus/"
    )

    described = sfn.describe_execution(executionArn=execution_arn(arn, job.job_id))
    assert described["name"] == job.job_id
    assert services.bulk_progress.get_job("ops", job.job_id).source == f"s3://{SOURCE}/corpus/"
