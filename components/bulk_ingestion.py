"""Bulk ingestion: a Standard workflow whose Distributed Map reads an S3 prefix, an S3 Inventory
report or a key list and ingests it in batches, ``MaxConcurrency`` at a time, through the
``bulk_ingest_batch`` function.

Shape::

    ReadSource (Choice on the input's kind)
      ├─ prefix (default) → IngestObjects   (ItemReader s3:listObjectsV2 over {bucket, prefix})
      ├─ inventory        → IngestInventory (ItemReader s3:getObject, InputType MANIFEST: an S3
      │                                      Inventory manifest.json and its CSV data files)
      ├─ csv              → IngestCsvKeys   (ItemReader s3:getObject, InputType CSV, header row)
      └─ json             → IngestJsonKeys  (ItemReader s3:getObject, InputType JSON)
    each a Map, DISTRIBUTED; ItemBatcher (BatchInput names the kind); child executions EXPRESS;
    ResultWriter → results bucket
      └─ IngestBatch / IngestInventoryBatch / ... (lambda:invoke, Retry on Lambda's transient
         errors, BackoffRate 2.0)
    → RecordSucceeded (lambda:invoke {"finish": "succeeded"}) → end
    Catch on each map → RecordFailed (lambda:invoke {"finish": "failed", "error"}) → JobFailed

Child executions are EXPRESS: a batch is one Lambda call of a few seconds to a few minutes
(under Express's 5-minute limit: the batch function's timeout is set below it), the batch is
idempotent (at-least-once is fine), and Express children are billed per request and duration
instead of per state transition — about 10× cheaper per batch than STANDARD children (see
docs/ingestion.md, "Bulk ingestion"). The ASL is built here from typed values (numbers stay
numbers, which a ``${...}`` placeholder in a JSON file cannot do) and checked by statelint in
the tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypedDict

import pulumi
import pulumi_aws as aws

from .iam import allow
from .naming import physical_name, tagged
from .rules import LogRetentionDays
from .validation import check_args
from .workflows import logged_workflow

LAMBDA_TRANSIENT_ERRORS = [
    "Lambda.TooManyRequestsException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
]
"""Lambda's own throttling and 5xx errors: the batch never ran or never finished."""

ChildExecutionType = Literal["EXPRESS", "STANDARD"]


def _retry(max_attempts: int) -> list[dict[str, Any]]:
    return [
        {
            "ErrorEquals": LAMBDA_TRANSIENT_ERRORS,
            "IntervalSeconds": 2,
            "MaxAttempts": max_attempts,
            "BackoffRate": 2.0,  # statelint wants a float
            "JitterStrategy": "FULL",
        }
    ]


def _finish_task(function_arn: str, status: str, nxt: str | None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "finish": status,
        "workspaceId.$": "$.workspaceId",
        "jobId.$": "$.jobId",
    }
    if status == "failed":
        payload["error.$"] = "$.error"
    state: dict[str, Any] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function_arn, "Payload": payload},
        "OutputPath": "$.Payload",
        "TimeoutSeconds": 60,
        "Retry": _retry(4),
    }
    if nxt:
        state["Next"] = nxt
    else:
        state["End"] = True
    return state


SOURCE_READERS: dict[str, tuple[str, dict[str, Any]]] = {
    "prefix": (
        "IngestObjects",
        {
            "Resource": "arn:aws:states:::s3:listObjectsV2",
            "Parameters": {"Bucket.$": "$.bucket", "Prefix.$": "$.prefix"},
        },
    ),
    "inventory": (
        "IngestInventory",
        {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "MANIFEST"},
            "Parameters": {"Bucket.$": "$.bucket", "Key.$": "$.key"},
        },
    ),
    "csv": (
        "IngestCsvKeys",
        {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "CSV", "CSVHeaderLocation": "FIRST_ROW"},
            "Parameters": {"Bucket.$": "$.bucket", "Key.$": "$.key"},
        },
    ),
    "json": (
        "IngestJsonKeys",
        {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSON"},
            "Parameters": {"Bucket.$": "$.bucket", "Key.$": "$.key"},
        },
    ),
}
"""Source kind → (its Map state, its ``ItemReader``). The execution input names the kind
(``runtime/cloud/bulk_ingest.py``, ``workflow_input``): a prefix is listed, an inventory's
``manifest.json`` or a key list is read."""
MOTO_UNSUPPORTED_KINDS = ("inventory",)
"""Kinds moto's ASL grammar (5.2) rejects at ``CreateStateMachine``: ``InputType: MANIFEST``."""


def _choose_source(kinds: list[str]) -> dict[str, Any]:
    """``ReadSource``: the Map of the input's ``kind`` (absent or ``prefix``: the listing)."""
    return {
        "Type": "Choice",
        "Choices": [
            {
                "And": [
                    {"Variable": "$.kind", "IsPresent": True},
                    {"Variable": "$.kind", "StringEquals": kind},
                ],
                "Next": SOURCE_READERS[kind][0],
            }
            for kind in kinds
            if kind != "prefix"
        ],
        "Default": SOURCE_READERS["prefix"][0],
    }


def bulk_ingestion_definition(
    *,
    batch_function_arn: str,
    results_bucket: str,
    results_prefix: str = "bulk-results/",
    max_concurrency: int = 10,
    max_items_per_batch: int = 20,
    max_input_bytes_per_batch: int = 262_144,
    tolerated_failure_percentage: int = 5,
    child_execution_type: ChildExecutionType = "EXPRESS",
    batch_timeout_seconds: int = 280,
    moto_compatible: bool = False,
) -> dict[str, Any]:
    """The workflow's ASL. Input ``{"workspaceId", "jobId", "kind", "bucket", "prefix",
    "key"}``: ``kind`` ``prefix`` (or absent) lists ``prefix``; ``inventory``, ``csv`` and
    ``json`` read the file at ``key``.

    ``moto_compatible=True`` gives the variant moto's interpreter (5.2) accepts, for tests: its
    ASL parser rejects ``ItemBatcher``, ``ExecutionType: EXPRESS``, an integer
    ``ToleratedFailurePercentage`` (and ignores the percentage) and ``InputType: MANIFEST``. So
    the variant has STANDARD children, no percentage, no inventory branch (an inventory input
    takes the default, the listing), and instead of the batcher an ``ItemSelector`` that hands
    each item to the function as a batch of one — the same event shape. The other
    ``ItemReader`` s (moto lists or reads its S3), the task, Retry/Catch and the
    ``ResultWriter`` are the same.
    """
    batch_task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": batch_function_arn, "Payload.$": "$"},
        "ResultSelector": {"batchId.$": "$.Payload.batchId", "counts.$": "$.Payload.counts"},
        "TimeoutSeconds": batch_timeout_seconds,
        "Retry": _retry(4),
        "End": True,
    }
    kinds = [k for k in SOURCE_READERS if not (moto_compatible and k in MOTO_UNSUPPORTED_KINDS)]

    def ingest_map(kind: str) -> dict[str, Any]:
        # state names are unique across the machine, the children's included
        task = "IngestBatch" if kind == "prefix" else f"{SOURCE_READERS[kind][0]}Batch"
        batch_input = {
            "workspaceId.$": "$.workspaceId",
            "jobId.$": "$.jobId",
            "bucket.$": "$.bucket",
            "prefix.$": "$.prefix",
            "kind": kind,  # how the function reads an item (an inventory's keys are encoded)
        }
        ingest: dict[str, Any] = {
            "Type": "Map",
            "MaxConcurrency": max_concurrency,
            "ToleratedFailurePercentage": tolerated_failure_percentage,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "DISTRIBUTED"},
                "StartAt": task,
                "States": {task: batch_task},
            },
            "ResultPath": "$.mapRun",
            "Catch": [
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordFailed"}
            ],
            "Next": "RecordSucceeded",
        }
        ingest["ItemReader"] = SOURCE_READERS[kind][1]
        ingest["ResultWriter"] = {
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": results_bucket, "Prefix": results_prefix},
        }
        config = ingest["ItemProcessor"]["ProcessorConfig"]
        if moto_compatible:
            config["ExecutionType"] = "STANDARD"
            del ingest["ToleratedFailurePercentage"]
            ingest["ItemSelector"] = {
                "BatchInput": batch_input,
                "Items.$": "States.Array($$.Map.Item.Value)",
            }
        else:
            config["ExecutionType"] = child_execution_type
            ingest["ItemBatcher"] = {
                "MaxItemsPerBatch": max_items_per_batch,
                "MaxInputBytesPerBatch": max_input_bytes_per_batch,
                "BatchInput": batch_input,
            }
        return ingest

    return {
        "Comment": "chorus bulk ingestion: list s3://bucket/prefix (or read an S3 Inventory "
        "manifest or a key list), ingest it in batches with the same code as every upload, "
        "record the counts in the workspace (components/bulk_ingestion.py).",
        "StartAt": "ReadSource",
        "States": {
            "ReadSource": _choose_source(kinds),
            **{SOURCE_READERS[kind][0]: ingest_map(kind) for kind in kinds},
            "RecordSucceeded": _finish_task(batch_function_arn, "succeeded", None),
            "RecordFailed": _finish_task(batch_function_arn, "failed", "JobFailed"),
            "JobFailed": {
                "Type": "Fail",
                "Error": "BulkIngestionFailed",
                "Cause": "the map failed (listing or reading the source, results, or more "
                "failed batches than tolerated); see the execution's RecordFailed input",
            },
        },
    }


class BulkIngestionArgs(TypedDict, total=False):
    batch_function_arn: pulumi.Input[str]
    """The ``bulk_ingest_batch`` function's ``live`` alias ARN (``LambdaFunction.target_arn``).
    Required."""
    source_bucket_names: Sequence[str]
    """Buckets the workflow may list and read (least privilege: no others): the corpus's, and
    the bucket an S3 Inventory report or a key list is delivered to. Required."""
    results_bucket_name: pulumi.Input[str]
    """Bucket the map's results go to (``ResultWriter``). Required."""
    results_prefix: str
    """Key prefix of the results. Default: ``bulk-results/``."""
    max_concurrency: int
    """Batches running at once (caps calls into the embedding endpoint and the store).
    Default: 10."""
    max_items_per_batch: int
    """Objects per batch. Default: 20."""
    max_input_bytes_per_batch: int
    """Input bytes per batch (at most 256 KiB). Default: 262144."""
    tolerated_failure_percentage: int
    """Failed batches (in percent, 0–100) the map tolerates before it fails. Default: 5."""
    child_execution_type: ChildExecutionType
    """Child workflow type. Default: ``EXPRESS`` (per-request billing; batches < 5 min)."""
    batch_timeout_seconds: int
    """Timeout of one batch call; under 300 with EXPRESS children. Default: 280."""
    kms_key_arn: pulumi.Input[str]
    """Customer-managed key of the execution data and logs. Default: AWS-owned keys."""
    log_retention_days: pulumi.Input[LogRetentionDays]
    """Retention of the workflow's logs. Default: 14."""
    tags: Mapping[str, str]
    """Tags for the state machine, role and log group. Default: none."""


class BulkIngestion(pulumi.ComponentResource):
    """``<name>-bulk-ingestion``: the Standard workflow with its own role.

    Example::

        from chorus.components import BulkIngestion

        bulk = BulkIngestion("chat", {
            "batch_function_arn": "arn:aws:lambda:eu-west-1:123456789012:function:bulk:live",
            "source_bucket_names": ["corpus-bucket"],
            "results_bucket_name": "chat-documents",
            "max_concurrency": 8,
        })
    """

    state_machine_arn: pulumi.Output[str]
    """The workflow ``chorus ingest s3://...`` and the REST API start."""
    role_arn: pulumi.Output[str]
    """Its execution role."""

    def __init__(
        self, name: str, args: BulkIngestionArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = check_args(
            "BulkIngestion",
            name,
            BulkIngestionArgs,
            args,
            required=("batch_function_arn", "source_bucket_names", "results_bucket_name"),
        )
        super().__init__("chorus:index:BulkIngestion", name, {}, tagged(opts, args.get("tags")))
        invoke = pulumi.InvokeOptions(parent=self)
        machine_name = physical_name(name, "bulk-ingestion", max_length=80)
        label = f"{name}-bulk-ingestion"
        region = aws.get_region_output(opts=invoke).region
        account = aws.get_caller_identity_output(opts=invoke).account_id
        machine_arn = pulumi.Output.concat(
            "arn:aws:states:", region, ":", account, ":stateMachine:", machine_name
        )
        # a Distributed Map's child executions are named ``<machine>/<map run label>:<id>``
        children = pulumi.Output.concat(
            "arn:aws:states:", region, ":", account, ":execution:", machine_name, "/*:*"
        )
        runs = pulumi.Output.concat(
            "arn:aws:states:", region, ":", account, ":execution:", machine_name, ":*"
        )
        # EXPRESS children are express executions: ``express:<machine>/<label>:<name>:<id>``
        express_children = pulumi.Output.concat(
            "arn:aws:states:", region, ":", account, ":express:", machine_name, "/*:*:*"
        )
        results_prefix = args.get("results_prefix", "bulk-results/")
        results_bucket = args["results_bucket_name"]
        kms_key_arn = args.get("kms_key_arn")
        sources = list(args["source_bucket_names"])
        statements = [
            allow("InvokeBatches", ["lambda:InvokeFunction"], [args["batch_function_arn"]]),
            allow("ListSources", ["s3:ListBucket"], [f"arn:aws:s3:::{b}" for b in sources]),
            allow("ReadSources", ["s3:GetObject"], [f"arn:aws:s3:::{b}/*" for b in sources]),
            allow(
                "WriteResults",
                [
                    "s3:PutObject",
                    "s3:GetObject",
                    "s3:ListMultipartUploadParts",
                    "s3:AbortMultipartUpload",
                ],
                [pulumi.Output.concat("arn:aws:s3:::", results_bucket, "/", results_prefix, "*")],
            ),
            # A Distributed Map starts its child executions as executions of this machine.
            allow("RunChildExecutions", ["states:StartExecution"], [machine_arn]),
            allow(
                "ManageChildExecutions",
                ["states:DescribeExecution", "states:StopExecution"],
                [children, runs, express_children],
            ),
        ]
        definition = pulumi.Output.all(args["batch_function_arn"], results_bucket).apply(
            lambda v: pulumi.Output.json_dumps(
                bulk_ingestion_definition(
                    batch_function_arn=v[0],
                    results_bucket=v[1],
                    results_prefix=results_prefix,
                    max_concurrency=args.get("max_concurrency", 10),
                    max_items_per_batch=args.get("max_items_per_batch", 20),
                    max_input_bytes_per_batch=args.get("max_input_bytes_per_batch", 262_144),
                    tolerated_failure_percentage=args.get("tolerated_failure_percentage", 5),
                    child_execution_type=args.get("child_execution_type", "EXPRESS"),
                    batch_timeout_seconds=args.get("batch_timeout_seconds", 280),
                )
            )
        )
        workflow = logged_workflow(
            self,
            label,
            description="Execution role of the bulk ingestion workflow only",
            statements=statements,
            definition=definition,
            workflow_type="STANDARD",
            log_level="ERROR",
            kms_key_arn=kms_key_arn,
            log_retention_days=args.get("log_retention_days", 14),
            machine_name=machine_name,
        )
        machine, role = workflow.machine, workflow.role
        self.state_machine_arn = machine.arn
        self.role_arn = role.arn
        self.register_outputs(
            {"state_machine_arn": self.state_machine_arn, "role_arn": self.role_arn}
        )
