"""The bulk ingestion workflow: its ASL (statelint, typed limits) and its role (least privilege),
on the exact inputs the engine would send."""

from __future__ import annotations

import json

import pytest
from statelint.linter import Linter

from components.bulk_ingestion import BulkIngestion, bulk_ingestion_definition
from components.validation import ComponentInputError

from .asl_lint import lint
from .conftest import ACCOUNT, REGION, deploy

BATCH = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:chat-bulk_ingest_batch:live"


def _machine_name(deployed) -> str:
    return deployed.one("aws:sfn/stateMachine:StateMachine").inputs["name"]


def _program(**overrides):
    def program():
        bulk = BulkIngestion("chat", {
            "batch_function_arn": BATCH,
            "source_bucket_names": ["corpus-a", "corpus-b"],
            "results_bucket_name": "chat-documents",
            "max_concurrency": 8,
            "max_items_per_batch": 25,
            "max_input_bytes_per_batch": 131_072,
            "tolerated_failure_percentage": 3,
            **overrides,
        })  # fmt: skip
        return {"arn": bulk.state_machine_arn}

    return program


@pytest.fixture(scope="module")
def deployed():
    return deploy(_program())


def _definition(deployed) -> dict:
    return json.loads(deployed.one("aws:sfn/stateMachine:StateMachine").inputs["definition"])


def _statements(deployed) -> dict[str, dict]:
    policy = json.loads(deployed.named("chat-bulk-ingestion-policy").inputs["policy"])
    return {s["Sid"]: s for s in policy["Statement"]}


def test_the_deployed_definition_passes_statelint(deployed):
    assert lint(_definition(deployed)) == []


def test_statelint_is_blind_only_to_the_reader_configurations_of_the_file_sources(deployed):
    """What ``lint`` leaves out: statelint 3.1.0 does not know ``InputType`` and
    ``CSVHeaderLocation`` (AWS documents both); nothing else is excused."""
    excused = set(Linter.validate(_definition(deployed))) - set(lint(_definition(deployed)))
    assert excused == {
        'Field "InputType" not allowed in State Machine.States.IngestInventory.ItemReader'
        ".ReaderConfig",
        'Field "InputType" not allowed in State Machine.States.IngestCsvKeys.ItemReader'
        ".ReaderConfig",
        'Field "CSVHeaderLocation" not allowed in State Machine.States.IngestCsvKeys'
        ".ItemReader.ReaderConfig",
        'Field "InputType" not allowed in State Machine.States.IngestJsonKeys.ItemReader'
        ".ReaderConfig",
    }


def test_the_moto_variant_passes_statelint_too():
    variant = bulk_ingestion_definition(
        batch_function_arn=BATCH, results_bucket="r", moto_compatible=True
    )
    assert lint(variant) == []


def test_the_input_kind_chooses_the_map_and_a_prefix_is_the_default(deployed):
    choice = _definition(deployed)["States"]["ReadSource"]
    assert _definition(deployed)["StartAt"] == "ReadSource"
    routes = {
        rule["And"][1]["StringEquals"]: rule["Next"]
        for rule in choice["Choices"]
        if rule["And"][0] == {"Variable": "$.kind", "IsPresent": True}
    }
    assert routes == {
        "inventory": "IngestInventory",
        "csv": "IngestCsvKeys",
        "json": "IngestJsonKeys",
    }
    assert choice["Default"] == "IngestObjects"  # an input without a kind: the listing


def test_an_inventory_manifest_is_read_with_the_manifest_reader(deployed):
    reader = _definition(deployed)["States"]["IngestInventory"]["ItemReader"]
    assert reader == {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "MANIFEST"},
        "Parameters": {"Bucket.$": "$.bucket", "Key.$": "$.key"},
    }


def test_key_lists_are_read_as_csv_with_a_header_row_or_as_a_json_array(deployed):
    states = _definition(deployed)["States"]
    assert states["IngestCsvKeys"]["ItemReader"]["ReaderConfig"] == {
        "InputType": "CSV",
        "CSVHeaderLocation": "FIRST_ROW",
    }
    assert states["IngestJsonKeys"]["ItemReader"]["ReaderConfig"] == {"InputType": "JSON"}
    for name in ("IngestCsvKeys", "IngestJsonKeys"):
        reader = states[name]["ItemReader"]
        assert reader["Resource"] == "arn:aws:states:::s3:getObject"
        assert reader["Parameters"] == {"Bucket.$": "$.bucket", "Key.$": "$.key"}


def test_every_source_is_ingested_by_the_same_batches_limits_and_results(deployed):
    states = _definition(deployed)["States"]
    prefix = states["IngestObjects"]
    for name, kind in (
        ("IngestObjects", "prefix"),
        ("IngestInventory", "inventory"),
        ("IngestCsvKeys", "csv"),
        ("IngestJsonKeys", "json"),
    ):
        ingest = states[name]
        for field in ("MaxConcurrency", "ToleratedFailurePercentage", "ResultWriter", "Catch"):
            assert ingest[field] == prefix[field], (name, field)
        assert ingest["Next"] == "RecordSucceeded"
        [task] = ingest["ItemProcessor"]["States"].values()
        assert task == prefix["ItemProcessor"]["States"]["IngestBatch"]
        batch_input = ingest["ItemBatcher"]["BatchInput"]
        assert batch_input["kind"] == kind  # how the function reads the items
        assert {k: v for k, v in batch_input.items() if k != "kind"} == {
            k: v for k, v in prefix["ItemBatcher"]["BatchInput"].items() if k != "kind"
        }


def test_the_moto_variant_leaves_out_only_the_manifest_reader_moto_cannot_parse():
    states = bulk_ingestion_definition(
        batch_function_arn=BATCH, results_bucket="r", moto_compatible=True
    )["States"]
    assert "IngestInventory" not in states
    assert {"IngestObjects", "IngestCsvKeys", "IngestJsonKeys"} <= set(states)
    assert [r["Next"] for r in states["ReadSource"]["Choices"]] == [
        "IngestCsvKeys",
        "IngestJsonKeys",
    ]


def test_the_map_is_distributed_over_an_s3_listing_with_express_children(deployed):
    ingest = _definition(deployed)["States"]["IngestObjects"]
    assert ingest["ItemProcessor"]["ProcessorConfig"] == {
        "Mode": "DISTRIBUTED",
        "ExecutionType": "EXPRESS",
    }
    assert ingest["ItemReader"] == {
        "Resource": "arn:aws:states:::s3:listObjectsV2",
        "Parameters": {"Bucket.$": "$.bucket", "Prefix.$": "$.prefix"},
    }


def test_concurrency_batching_and_tolerated_failures_come_from_the_args(deployed):
    ingest = _definition(deployed)["States"]["IngestObjects"]
    assert ingest["MaxConcurrency"] == 8
    assert ingest["ToleratedFailurePercentage"] == 3
    batcher = ingest["ItemBatcher"]
    assert (batcher["MaxItemsPerBatch"], batcher["MaxInputBytesPerBatch"]) == (25, 131_072)
    assert set(batcher["BatchInput"]) == {
        "workspaceId.$",
        "jobId.$",
        "bucket.$",
        "prefix.$",
        "kind",
    }


def test_results_go_to_the_results_bucket_under_their_prefix(deployed):
    writer = _definition(deployed)["States"]["IngestObjects"]["ResultWriter"]
    assert writer["Parameters"] == {"Bucket": "chat-documents", "Prefix": "bulk-results/"}


def test_every_task_retries_lambdas_transient_errors_with_backoff_rate_two(deployed):
    states = _definition(deployed)["States"]
    tasks = [
        states["IngestObjects"]["ItemProcessor"]["States"]["IngestBatch"],
        states["RecordSucceeded"],
        states["RecordFailed"],
    ]
    for task in tasks:
        assert task["Parameters"]["FunctionName"] == BATCH
        assert [r["BackoffRate"] for r in task["Retry"]] == [2.0]
    assert states["IngestObjects"]["Catch"][0]["Next"] == "RecordFailed"
    assert states["RecordFailed"]["Next"] == "JobFailed"


def test_the_role_invokes_only_the_batch_functions_alias(deployed):
    assert _statements(deployed)["InvokeBatches"]["Resource"] == [BATCH]


def test_the_role_lists_and_reads_only_the_configured_source_buckets(deployed):
    statements = _statements(deployed)
    assert statements["ListSources"]["Action"] == ["s3:ListBucket"]
    assert statements["ListSources"]["Resource"] == [
        "arn:aws:s3:::corpus-a",
        "arn:aws:s3:::corpus-b",
    ]
    assert statements["ReadSources"]["Resource"] == [
        "arn:aws:s3:::corpus-a/*",
        "arn:aws:s3:::corpus-b/*",
    ]


def test_manifests_key_lists_and_what_they_name_are_read_only_in_the_source_buckets(deployed):
    """An inventory's manifest.json and CSV data files, a key list, and the objects they name:
    ``s3:GetObject`` under the configured buckets is the workflow's only read grant."""
    reads = [s for s in _statements(deployed).values() if "s3:GetObject" in s["Action"]]
    assert [s["Sid"] for s in reads] == ["ReadSources", "WriteResults"]
    assert reads[1]["Resource"] == ["arn:aws:s3:::chat-documents/bulk-results/*"]


def test_the_role_writes_results_only_under_the_results_prefix(deployed):
    write = _statements(deployed)["WriteResults"]
    assert "s3:PutObject" in write["Action"]
    assert write["Resource"] == ["arn:aws:s3:::chat-documents/bulk-results/*"]


def test_the_role_runs_and_stops_only_its_own_child_executions(deployed):
    statements = _statements(deployed)
    name = _machine_name(deployed)
    machine = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"
    assert statements["RunChildExecutions"]["Resource"] == [machine]
    executions = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{name}"
    assert statements["ManageChildExecutions"]["Resource"] == [
        f"{executions}/*:*",
        f"{executions}:*",
        f"arn:aws:states:{REGION}:{ACCOUNT}:express:{name}/*:*:*",
    ]
    assert set(statements["ManageChildExecutions"]["Action"]) == {
        "states:DescribeExecution",
        "states:StopExecution",
    }


def test_the_state_machine_is_standard_and_named_per_stack_for_its_own_arn(deployed):
    machine = deployed.one("aws:sfn/stateMachine:StateMachine").inputs
    assert machine["type"] == "STANDARD"
    assert (
        machine["name"].endswith("-chat-bulk-ingestion")
        and machine["name"] != "chat-bulk-ingestion"
    )


def test_standard_children_can_be_chosen():
    d = deploy(_program(child_execution_type="STANDARD"))
    ingest = _definition(d)["States"]["IngestObjects"]
    assert ingest["ItemProcessor"]["ProcessorConfig"]["ExecutionType"] == "STANDARD"


def test_missing_source_buckets_are_refused():
    def program():
        BulkIngestion("x", {"batch_function_arn": BATCH, "results_bucket_name": "r"})

    with pytest.raises(ComponentInputError, match="source_bucket_names"):
        deploy(program)
