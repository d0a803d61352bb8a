"""``POST/GET /workspaces/{id}/bulk-ingestions`` on the REST handler: start the deployed bulk
workflow on a prefix, read the job's progress; managers only; clear refusals."""

from __future__ import annotations

import dataclasses
import json

import pytest
from chorus.runtime.handlers import rest_api
from support import moto_stack
from support.stepfunctions import deploy_bulk_ingestion

SOURCE = "corpus-source"


@pytest.fixture
def bulk_wiring(stack, embedder, module_dsn, schema_path, with_settings):
    """The REST wiring with the bulk workflow deployed (its ARN in the settings)."""
    from chorus.runtime.cloud.rest_wiring import RestWiring, set_rest_wiring

    _, arn = deploy_bulk_ingestion()
    s3 = stack.client("s3")
    s3.create_bucket(Bucket=SOURCE)
    s3.put_object(Bucket=SOURCE, Key="corpus/a.md", Body=b"# A\n\nThe red fox jumps at dawn.")
    built = RestWiring(
        dataclasses.replace(stack.settings, bulk_state_machine_arn=arn),
        session=stack.session,
        embedder=embedder,
        database_dsn=with_settings(module_dsn, schema_path),
    )
    set_rest_wiring(built)
    yield built
    set_rest_wiring(None)
    built.close()


def caller(stack, context):
    claims = {u: moto_stack.http_claims(stack.tokens(u)["access"]) for u in stack.users}

    def invoke(user, method, path, body=None):
        event = moto_stack.http_event(method, path, claims=claims.get(user), body=body)
        response = rest_api.handler(event, context)
        raw = response.get("body")
        return response["statusCode"], json.loads(raw) if raw else None

    return invoke


@pytest.fixture
def call(stack, bulk_wiring, context):
    return caller(stack, context)


@pytest.fixture
def workspace(call) -> str:
    status, body = call("alice", "POST", "/workspaces", {"name": "Corpus", "groups": ["team-a"]})
    assert status == 201, body
    return body["id"]


def test_a_manager_starts_a_bulk_ingestion_and_gets_the_job(call, workspace):
    status, job = call(
        "alice",
        "POST",
        f"/workspaces/{workspace}/bulk-ingestions",
        {"uri": f"s3://{SOURCE}/corpus/"},
    )

    assert status == 202
    assert (job["status"], job["source"]) == ("running", f"s3://{SOURCE}/corpus/")
    assert job["jobId"].startswith("bulk-")


def test_the_jobs_progress_is_read_back_from_the_workspace(call, workspace):
    _, job = call(
        "alice",
        "POST",
        f"/workspaces/{workspace}/bulk-ingestions",
        {"uri": f"s3://{SOURCE}/corpus/"},
    )

    status, read = call("alice", "GET", f"/workspaces/{workspace}/bulk-ingestions/{job['jobId']}")

    assert status == 200
    assert read["counts"] == {"ingested": 0, "unchanged": 0, "skipped": 0, "failed": 0, "chunks": 0}


def test_a_manager_starts_one_from_an_s3_inventory_manifest(call, workspace, stack):
    """The body names the inventory's ``manifest.json``; ``kind`` may say so when the name
    does not (here it is detected from the name)."""
    manifest = "inventory/corpus-source/daily/2026-12-01T01-00Z/manifest.json"
    stack.client("s3").put_object(Bucket=SOURCE, Key=manifest, Body=b"{}")

    status, job = call(
        "alice",
        "POST",
        f"/workspaces/{workspace}/bulk-ingestions",
        {"uri": f"s3://{SOURCE}/{manifest}"},
    )

    assert status == 202
    assert job["source"] == f"s3://{SOURCE}/{manifest}"


def test_a_manifest_or_key_list_that_does_not_exist_is_refused(call, workspace):
    status, body = call(
        "alice",
        "POST",
        f"/workspaces/{workspace}/bulk-ingestions",
        {"uri": f"s3://{SOURCE}/lists/latest.txt", "kind": "csv"},
    )
    assert (status, body["error"]["code"]) == (400, "source_not_found")


def test_an_unknown_kind_is_a_bad_request(call, workspace):
    status, body = call(
        "alice",
        "POST",
        f"/workspaces/{workspace}/bulk-ingestions",
        {"uri": f"s3://{SOURCE}/corpus/", "kind": "parquet"},
    )
    assert (status, body["error"]["code"]) == (400, "bad_request")


def test_a_plain_user_may_not_start_one(call, workspace):
    status, body = call(
        "bob", "POST", f"/workspaces/{workspace}/bulk-ingestions", {"uri": f"s3://{SOURCE}/corpus/"}
    )
    assert status == 403 and body["error"]["code"] == "forbidden"


def test_an_empty_prefix_is_refused_and_no_job_is_recorded(call, workspace, bulk_wiring):
    status, body = call(
        "alice", "POST", f"/workspaces/{workspace}/bulk-ingestions", {"uri": f"s3://{SOURCE}/none/"}
    )
    assert (status, body["error"]["code"]) == (400, "empty_source")


def test_a_bucket_that_cannot_be_listed_is_refused_with_what_to_do(call, workspace):
    status, body = call(
        "alice", "POST", f"/workspaces/{workspace}/bulk-ingestions", {"uri": "s3://not-ours-bkt/x/"}
    )
    assert (status, body["error"]["code"]) == (403, "source_not_readable")
    assert "sourceBuckets" in body["error"]["message"]


def test_a_uri_that_is_not_s3_is_a_bad_request(call, workspace):
    status, body = call(
        "alice", "POST", f"/workspaces/{workspace}/bulk-ingestions", {"uri": "file:///etc/passwd"}
    )
    assert (status, body["error"]["code"]) == (400, "bad_request")


def test_an_unknown_job_is_not_found(call, workspace):
    status, _ = call("alice", "GET", f"/workspaces/{workspace}/bulk-ingestions/bulk-nope")
    assert status == 404


def test_without_the_workflow_deployed_it_answers_not_deployed(stack, wiring, context):
    call = caller(stack, context)
    _, ws = call("alice", "POST", "/workspaces", {"name": "Plain", "groups": ["team-a"]})

    status, body = call(
        "alice", "POST", f"/workspaces/{ws['id']}/bulk-ingestions", {"uri": f"s3://{SOURCE}/x/"}
    )

    assert (status, body["error"]["code"]) == (400, "not_deployed")
