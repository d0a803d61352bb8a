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


# -- an S3 Inventory report or a key list names the objects --------------------------------------

INVENTORY = "corpus-inventory"
"""The bucket an S3 Inventory report is delivered to (its manifest and CSV data files)."""


def inventory_rows(s3, keys: list[str]) -> list[dict]:
    """Rows of an S3 Inventory CSV report (fields Bucket, Key, Size, LastModifiedDate, ETag) as
    the manifest reader passes them: every value text, the key URL-encoded."""
    from urllib.parse import quote_plus

    rows = []
    for key in keys:
        head = s3.head_object(Bucket=SOURCE, Key=key)
        rows.append(
            {
                "Bucket": SOURCE,
                "Key": quote_plus(key, safe="/"),
                "Size": str(head["ContentLength"]),
                "LastModifiedDate": head["LastModified"].strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "ETag": head["ETag"].strip('"'),
            }
        )
    return rows


def file_batch(items: list[dict], kind: str, job: str = "job-1") -> dict:
    """A batch of a Map that read a file: the BatchInput names the file's bucket and no prefix."""
    return {
        "BatchInput": {
            "workspaceId": "ops",
            "jobId": job,
            "bucket": INVENTORY,
            "prefix": "",
            "kind": kind,
        },
        "Items": items,
    }


def test_inventory_rows_are_read_from_their_own_bucket_under_their_decoded_keys(
    services, workspace, s3, context
):
    s3.create_bucket(Bucket=INVENTORY)
    put(s3, {**GUIDES, "corpus/release notes+été.md": b"# Notes\n\nVersion 4 ships in May."})

    result = bulk_ingest_batch.handler(
        file_batch(inventory_rows(s3, [*GUIDES, "corpus/release notes+été.md"]), "inventory"),
        context,
    )

    assert (result["counts"]["ingested"], result["counts"]["failed"]) == (4, 0)
    name = "corpus/release notes+été.md"  # named by its full key: no prefix was listed
    doc = services.metadata.get_document("ops", document_id_for(name))
    assert doc.status is DocumentStatus.INDEXED and doc.name == name


def test_an_inventory_run_again_skips_every_unchanged_object_without_reading_it(
    services, workspace, s3, context
):
    s3.create_bucket(Bucket=INVENTORY)
    put(s3, GUIDES)
    rows = inventory_rows(s3, list(GUIDES))
    bulk_ingest_batch.handler(file_batch(rows, "inventory"), context)
    for key in GUIDES:
        s3.delete_object(Bucket=SOURCE, Key=key)

    again = bulk_ingest_batch.handler(file_batch(rows, "inventory", job="job-2"), context)

    assert (again["counts"]["unchanged"], again["counts"]["failed"]) == (3, 0)


def test_an_inventory_row_of_a_bucket_it_cannot_read_fails_alone(services, workspace, s3, context):
    s3.create_bucket(Bucket=INVENTORY)
    put(s3, GUIDES)
    rows = inventory_rows(s3, list(GUIDES))
    rows[0] = {**rows[0], "Bucket": "someone-elses-bucket"}

    result = bulk_ingest_batch.handler(file_batch(rows, "inventory"), context)

    assert (result["counts"]["ingested"], result["counts"]["failed"]) == (2, 1)
    failed = next(r for r in result["results"] if r["status"] == "failed")
    assert "cannot read the object" in failed["reason"]


def test_a_key_list_gives_only_keys_and_the_function_asks_s3_for_the_rest(
    services, workspace, s3, context
):
    """A CSV key list's rows (header ``Bucket,Key``: the other columns absent) — each object is
    described with HeadObject, so its version (time + ETag) is the object's real one."""
    s3.create_bucket(Bucket=INVENTORY)
    put(s3, GUIDES)
    rows = [{"Bucket": SOURCE, "Key": key} for key in GUIDES]

    first = bulk_ingest_batch.handler(file_batch(rows, "csv"), context)
    again = bulk_ingest_batch.handler(file_batch(rows, "csv", job="job-2"), context)

    assert first["counts"]["ingested"] == 3
    assert (again["counts"]["unchanged"], again["counts"]["ingested"]) == (3, 0)
    etag = s3.head_object(Bucket=SOURCE, Key="corpus/faq.md")["ETag"].strip('"')
    doc = services.metadata.get_document("ops", document_id_for("corpus/faq.md"))
    assert doc.version.endswith(etag)


def test_a_key_list_entry_for_a_missing_object_fails_alone_with_nothing_stored(
    services, workspace, s3, context
):
    s3.create_bucket(Bucket=INVENTORY)
    put(s3, GUIDES)
    rows = [{"Bucket": SOURCE, "Key": key} for key in [*GUIDES, "corpus/gone.md"]]

    result = bulk_ingest_batch.handler(file_batch(rows, "json"), context)

    assert (result["counts"]["ingested"], result["counts"]["failed"]) == (3, 1)
    failed = next(r for r in result["results"] if r["status"] == "failed")
    assert failed["key"] == "corpus/gone.md" and "cannot read" in failed["reason"]
    assert services.metadata.get_document("ops", document_id_for("corpus/gone.md")) is None


def test_a_key_list_without_a_bucket_column_reads_the_lists_own_bucket(
    services, workspace, s3, context
):
    s3.create_bucket(Bucket=INVENTORY)
    s3.put_object(Bucket=INVENTORY, Key="docs/faq.md", Body=GUIDES["corpus/faq.md"])

    result = bulk_ingest_batch.handler(file_batch([{"Key": "docs/faq.md"}], "csv"), context)

    assert result["counts"]["ingested"] == 1


def test_a_batch_of_an_unknown_kind_raises_for_the_state_machine(services, workspace, context):
    with pytest.raises(BadRequest, match="kind"):
        bulk_ingest_batch.handler(file_batch([{"Key": "a.md"}], "parquet"), context)


def test_starting_detects_an_inventory_manifest_and_hands_the_workflow_its_key(
    services, workspace, s3, stack
):
    import json

    from chorus.runtime.cloud.bulk_ingest import S3Source, workflow_input
    from support.stepfunctions import deploy_bulk_ingestion

    s3.create_bucket(Bucket=INVENTORY)
    manifest = "inv/corpus-source/daily/2026-12-01T01-00Z/manifest.json"
    s3.put_object(Bucket=INVENTORY, Key=manifest, Body=b"{}")
    sfn = stack.client("stepfunctions")
    _, arn = deploy_bulk_ingestion()

    job = start_bulk_ingestion(
        sfn, s3, services.bulk_progress, arn, "ops", f"s3://{INVENTORY}/{manifest}"
    )

    described = sfn.describe_execution(executionArn=execution_arn(arn, job.job_id))
    assert json.loads(described["input"]) == {
        "workspaceId": "ops",
        "jobId": job.job_id,
        "kind": "inventory",
        "bucket": INVENTORY,
        "prefix": "",
        "key": manifest,
    }
    assert workflow_input("ops", "j", S3Source.parse(f"s3://{SOURCE}/corpus/"))["kind"] == "prefix"


def test_starting_refuses_a_manifest_that_does_not_exist_and_records_nothing(
    services, workspace, s3, stack
):
    from chorus.runtime.cloud.bulk_ingest import MissingList

    s3.create_bucket(Bucket=INVENTORY)
    s3.put_object(Bucket=INVENTORY, Key="inv/manifest.json.bak", Body=b"{}")

    with pytest.raises(MissingList, match="does not exist"):
        start_bulk_ingestion(
            stack.client("stepfunctions"),
            s3,
            services.bulk_progress,
            "arn:unused",
            "ops",
            f"s3://{INVENTORY}/inv/manifest.json",
            job_id="job-m",
        )
    assert services.bulk_progress.get_job("ops", "job-m") is None
