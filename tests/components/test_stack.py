"""The whole stack from Pulumi.dev.yaml, and a "everything on" stack: policies, IAM, ASL."""

from __future__ import annotations

import json
import re
import runpy
from pathlib import Path

import parliament
import pulumi
import pytest
from parliament import analyze_policy_string
from pulumi_policy import ResourceValidationArgs, StackValidationArgs
from pulumi_policy.policy import PolicyResource
from statelint.linter import Linter

from components import packaging
from components.orchestrator import AURORA_CLIENTS, OPTIONAL_AURORA_CLIENTS
from components.policies import RESOURCE_RULES, STACK_RULES, STAR_RESOURCE_ACTIONS
from components.settings import load_stack_file, parse_settings, read_stack_file
from components.stack import (
    VPC_WORKER_ENDPOINTS,
    LambdaCode,
    build_stack,
    missing_vpc_endpoints,
)

from .asl_lint import lint
from .conftest import ACCOUNT, REGION, deploy

ROOT = Path(__file__).resolve().parents[2]
ZIP = pulumi.AssetArchive({"runtime/__init__.py": pulumi.StringAsset("")})
CODE = LambdaCode(
    handlers=ZIP,
    core_layer=ZIP,
    dependencies_layer=ZIP,
    embedding_model=pulumi.StringAsset("model"),
    cross_encoder_model=pulumi.StringAsset("model"),
)
TGI = f"763104351884.dkr.ecr.{REGION}.amazonaws.com/huggingface-pytorch-tgi-inference:2.4"

# Every Resource "*" chorus grants, with why AWS leaves no narrower choice (mirrors the pack).
STAR_RESOURCE_REASONS = {
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions",
    "xray:GetSamplingRules": "X-Ray has no resource-level permissions",
    "xray:GetSamplingTargets": "X-Ray has no resource-level permissions",
    "ec2:CreateNetworkInterface": "Lambda VPC attachment; ENI ids are unknown in advance",
    "ec2:DeleteNetworkInterface": "Lambda VPC attachment; ENI ids are unknown in advance",
    "ec2:DescribeNetworkInterfaces": "Describe* calls support no resource-level permissions",
    "ec2:DescribeSubnets": "Describe* calls support no resource-level permissions",
    "ec2:AssignPrivateIpAddresses": "Lambda VPC attachment; ENI ids are unknown in advance",
    "ec2:UnassignPrivateIpAddresses": "Lambda VPC attachment; ENI ids are unknown in advance",
    "ecr:GetAuthorizationToken": "account-wide registry login; no resource-level permission",
    "cloudwatch:PutMetricData": "no resource-level permission; narrowed by a namespace condition",
    "logs:CreateLogDelivery": "Step Functions log delivery requires Resource *",
    "logs:DeleteLogDelivery": "Step Functions log delivery requires Resource *",
    "logs:DescribeLogGroups": "list call; no resource-level permission",
    "logs:DescribeResourcePolicies": "list call; no resource-level permission",
    "logs:GetLogDelivery": "Step Functions log delivery requires Resource *",
    "logs:ListLogDeliveries": "Step Functions log delivery requires Resource *",
    "logs:PutResourcePolicy": "Step Functions log delivery requires Resource *",
    "logs:UpdateLogDelivery": "Step Functions log delivery requires Resource *",
    "bedrock:Rerank": "no resource-level permission; the model is scoped by bedrock:InvokeModel",
}
# Resource policies (not identity policies) where "*" is what AWS requires.
STAR_IN_RESOURCE_POLICIES = {
    "kms key policy": 'Resource "*" in a key policy means "this key"',
    "deny-without-TLS statements": 'Principal "*" with Deny: applies to every caller',
}

EVERYTHING_ON = {
    "chorus:network": {"azCount": 3, "natGateways": 1, "lambdasInVpc": True,
                       "interfaceEndpoints": ["sagemaker.runtime", "secretsmanager",
                                              "bedrock-runtime"]},
    "chorus:encryption": {"customerManagedKey": True},
    "chorus:vectorStore": {"opensearch": {"enabled": True}, "kendra": {"enabled": True},
                           "s3Vectors": {"enabled": True}, "defaultStore": "pgvector"},
    "chorus:models": {
        "bedrock": ["anthropic.claude-3-haiku-20240307-v1:0"],
        "openaiModels": ["gpt-4o-mini"],
        "embedding": {"hosting": "instance", "instanceType": "ml.g4dn.xlarge"},
        "crossEncoder": {"hosting": "serverless"},
        "llms": [
            {"name": "tgi", "source": "image", "imageUri": TGI},
            {"name": "js", "source": "jumpstart",
             "modelPackageArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/llama"},
            {"name": "hf", "source": "huggingface", "imageUri": TGI, "hfModelId": "org/model"},
        ],
        "guardrail": {"id": "abc123def456", "version": 3, "checkInput": True},
        "rerank": {"provider": "bedrock", "modelId": "cohere.rerank-v3-5:0"},
        "grounding": {"llmJudge": "anthropic.claude-3-haiku-20240307-v1:0",
                      "nliEndpoint": "Grounding-NLI"},
    },
    "chorus:orchestrator": {"alarmEmail": "ops@example.com"},
    "chorus:evaluation": {"enabled": True, "schedule": "cron(0 4 * * ? *)", "maxConcurrency": 4},
    "chorus:bulkIngestion": {"enabled": True, "sourceBuckets": ["corpus-archive"],
                             "maxConcurrency": 8, "toleratedFailurePercentage": 2},
    "chorus:deletionProtection": True,
}  # fmt: skip


# Services newer than parliament's IAM database: their actions and ARN formats, copied from
# AWS's Service Authorization Reference, are checked here instead.
NEWER_THAN_PARLIAMENT = {
    "s3vectors": (
        {
            "s3vectors:DeleteVectors",
            "s3vectors:GetVectors",
            "s3vectors:ListVectors",
            "s3vectors:PutVectors",
            "s3vectors:QueryVectors",
        },
        re.compile(r"^arn:aws:s3vectors:[a-z0-9-]+:\d{12}:bucket/[a-z0-9.-]+/index/[a-z0-9.-]+$"),
    ),
}


def _newer_service_problems(name, statement):
    """Problems of a statement whose actions parliament does not know yet."""
    problems = []
    for action in statement["Action"]:
        prefix = action.split(":")[0]
        if prefix in NEWER_THAN_PARLIAMENT:
            actions, arn = NEWER_THAN_PARLIAMENT[prefix]
            if action not in actions:
                problems.append((name, "UNKNOWN_ACTION", action))
            problems += [(name, "RESOURCE_MISMATCH", r) for r in statement["Resource"]
                         if not arn.match(r)]  # fmt: skip
    return problems


def _real_mismatches(detail, resources):
    """Parliament rejects ARNs whose id holds a colon (``foundation-model/...-v1:0``, as AWS
    writes Bedrock model ids) and treats alternative resource types of an action as all
    required. A mismatch is real only if a resource matches none of the action's formats."""
    formats: dict[str, list[str]] = {}
    for item in detail:
        formats.setdefault(item["action"], []).append(item["required_format"])
    return [
        (action, resource)
        for action, options in formats.items()
        for resource in resources
        if not any(parliament.is_arn_match("", option, resource) for option in options)
    ]


def _deploy(settings, stack="dev"):
    return deploy(lambda: build_stack(settings, CODE, stack), stack=stack)


@pytest.fixture(scope="module")
def dev():
    return _deploy(load_stack_file(ROOT / "Pulumi.dev.yaml"))


@pytest.fixture(scope="module")
def dev_with_aurora():
    """Pulumi.dev.yaml with the pgvector store opted in (``vectorStore.aurora.enabled``)."""
    config = read_stack_file(ROOT / "Pulumi.dev.yaml")
    config["chorus:vectorStore"]["aurora"]["enabled"] = True
    return _deploy(parse_settings(config))


@pytest.fixture(scope="module")
def everything():
    return _deploy(parse_settings(EVERYTHING_ON), stack="prod")


def _policy_resources(d):
    return [
        PolicyResource(r.type, r.state, r.urn, r.name, None, None, None, [], {})
        for r in d.resources
        if not r.type.startswith("chorus:")
    ]


def _violations(d, config=None):
    found = []
    config = {"requireCustomerManagedKey": False, **(config or {})}
    for r in _policy_resources(d):
        args = ResourceValidationArgs(r.resource_type, r.props, r.urn, r.name, None, None, config)
        for rule, (_, validate) in RESOURCE_RULES.items():
            validate(
                args,
                lambda message, urn=None, rule=rule, r=r: found.append((rule, r.name, message)),
            )
    stack_args = StackValidationArgs(_policy_resources(d), config)
    for rule, (_, validate) in STACK_RULES.items():
        validate(stack_args, lambda message, urn=None, rule=rule: found.append((rule, message)))
    return found


# -- the dev stack -------------------------------------------------------------------------


def test_dev_stack_is_cheap_by_construction(dev):
    assert dev.of_type("aws:ec2/natGateway:NatGateway") == []
    assert {s.inputs["availabilityZone"] for s in dev.of_type("aws:ec2/subnet:Subnet")} == {
        f"{REGION}a",
        f"{REGION}b",
    }
    endpoints = dev.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert {e.inputs["vpcEndpointType"] for e in endpoints} == {"Gateway"}
    assert dev.of_type("aws:kms/key:Key") == []
    assert dev.of_type("aws:rds/cluster:Cluster") == []  # Aurora is opt-in for dev
    assert dev.of_type("aws:lambda/eventSourceMapping:EventSourceMapping") == []  # no poller
    [variant] = dev.one("aws:sagemaker/endpointConfiguration:EndpointConfiguration").inputs[
        "productionVariants"
    ]
    assert "serverlessConfig" in variant and "instanceType" not in variant
    assert dev.of_type("aws:opensearch/serverlessCollection:ServerlessCollection") == []
    assert dev.of_type("aws:kendra/index:Index") == []
    assert all(not f.inputs.get("vpcConfig") for f in dev.of_type("aws:lambda/function:Function"))


def test_api_keys_secret_exists_only_when_an_openai_model_is_configured(dev, everything):
    assert dev.of_type("aws:secretsmanager/secret:Secret") == []
    secret = everything.one("aws:secretsmanager/secret:Secret", "api-keys").state["arn"]
    worker = json.loads(
        everything.one("aws:iam/rolePolicy:RolePolicy", "chat-worker").inputs["policy"]
    )
    keys = next(s for s in worker["Statement"] if s["Sid"] == "ReadApiKeys")
    assert keys["Resource"] == [secret]


def test_dev_stack_exports_what_a_user_needs(dev):
    keys = "websocketUrl httpApiUrl userPoolId userPoolClientId issuerUrl documentsBucket"
    keys += " workspaceTable documentTable sessionsTable connectionsTable configParameter"
    for key in keys.split():
        assert dev.outputs[key], key
    assert dev.outputs["websocketUrl"].startswith("wss://")


def test_app_config_parameter_names_the_stacks_resources(dev):
    parameter = dev.one("aws:ssm/parameter:Parameter", "app-config")
    config = json.loads(parameter.inputs["value"])
    assert parameter.inputs["name"] == "/chorus/dev/config"
    assert config["tables"]["workspace"] == dev.outputs["workspaceTable"]
    assert config["vectorStore"]["defaultStore"] == "dynamodb"
    assert config["models"]["bedrock"][0].startswith("anthropic.")


def test_dev_with_aurora_pauses_it_at_zero_capacity(dev_with_aurora):
    cluster = dev_with_aurora.one("aws:rds/cluster:Cluster").inputs
    assert cluster["serverlessv2ScalingConfiguration"]["minCapacity"] == 0


def test_dev_app_config_lists_only_the_dynamodb_store(dev):
    config = json.loads(dev.one("aws:ssm/parameter:Parameter", "app-config").inputs["value"])
    chunks = dev.one("aws:dynamodb/table:Table", "chunks")
    assert config["vectorStore"]["defaultStore"] == "dynamodb"
    assert config["vectorStore"]["stores"] == {"dynamodb": {"table": chunks.state["name"]}}


def test_dev_app_config_with_aurora_lists_both_stores_and_defaults_to_dynamodb(
    dev_with_aurora,
):
    dev = dev_with_aurora
    config = json.loads(dev.one("aws:ssm/parameter:Parameter", "app-config").inputs["value"])
    cluster = dev.one("aws:rds/cluster:Cluster")
    chunks = dev.one("aws:dynamodb/table:Table", "chunks")
    assert config["vectorStore"] == {
        "embeddingDimension": 384,
        "defaultStore": "dynamodb",
        "stores": {
            "dynamodb": {"table": chunks.state["name"]},
            "pgvector": {
                "clusterArn": cluster.state["arn"],
                "secretArn": cluster.state["masterUserSecrets"][0]["secretArn"],
                "host": cluster.state["endpoint"],
                "port": 5432,
                "database": "chorus",
                "schema": "chorus",
                "access": "dataApi",  # dev Lambdas stay out of the VPC
            },
        },
    }


def test_everything_on_app_config_reaches_every_store_and_aurora_directly(everything):
    config = json.loads(everything.one("aws:ssm/parameter:Parameter", "app-config").inputs["value"])
    stores = config["vectorStore"]["stores"]
    assert sorted(stores) == ["dynamodb", "kendra", "opensearch", "pgvector", "s3vectors"]
    assert config["vectorStore"]["defaultStore"] == "pgvector"
    assert stores["pgvector"]["access"] == "direct"  # lambdasInVpc: psycopg2 to the endpoint
    collection = everything.one("aws:opensearch/serverlessCollection:ServerlessCollection")
    assert stores["opensearch"] == {
        "collectionEndpoint": collection.state["collectionEndpoint"],
        "index": "chorus-chunks",
    }
    bucket = everything.one("aws:s3/vectorsVectorBucket:VectorsVectorBucket")
    assert stores["s3vectors"] == {
        "vectorBucketName": bucket.inputs["vectorBucketName"],
        "indexName": "chunks",
    }
    kendra = everything.one("aws:kendra/index:Index")
    assert stores["kendra"] == {"indexId": kendra.state["id"], "metadataPrefix": "kendra-metadata/"}


def test_a_stack_without_the_dynamodb_store_has_no_chunks_table():
    settings = parse_settings(
        {"chorus:vectorStore": {"defaultStore": "pgvector", "dynamodb": {"enabled": False}}}
    )
    d = _deploy(settings)
    assert [t for t in d.of_type("aws:dynamodb/table:Table") if "chunks" in t.name] == []
    config = json.loads(d.one("aws:ssm/parameter:Parameter", "app-config").inputs["value"])
    assert list(config["vectorStore"]["stores"]) == ["pgvector"]
    for policy in d.of_type("aws:iam/rolePolicy:RolePolicy"):
        assert "chunks" not in policy.inputs["policy"], policy.name


def _worker_statements(d, module):
    policy = d.one("aws:iam/rolePolicy:RolePolicy", f"chat-{module.replace('_', '-')}-policy")
    return {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}


def test_workers_get_least_privilege_on_the_dynamodb_chunks_table(dev):
    chunks = dev.one("aws:dynamodb/table:Table", "chunks").state["arn"]
    reader = _worker_statements(dev, "chat_worker")["ReadChunks"]
    assert (reader["Action"], reader["Resource"]) == (["dynamodb:Query"], [chunks])
    assert "UseChunks" not in _worker_statements(dev, "chat_worker")
    for module in ("ingest_worker", "reindex_document", "rest_api"):
        writer = _worker_statements(dev, module)["UseChunks"]
        assert writer["Action"] == ["dynamodb:BatchWriteItem", "dynamodb:Query"], module
        assert writer["Resource"] == [chunks], module
    for module in ("ws_authorizer", "ws_connect", "ws_disconnect", "ws_message", "fanout_model"):
        assert chunks not in json.dumps(_worker_statements(dev, module)), module


def test_workers_get_the_s3_vectors_index_read_only_for_chat_and_with_the_key(everything):
    index = everything.one("aws:s3/vectorsIndex:VectorsIndex").state["indexArn"]
    assert index.startswith(f"arn:aws:s3vectors:{REGION}:{ACCOUNT}:bucket/")
    key = everything.one("aws:kms/key:Key").state["arn"]
    chat = _worker_statements(everything, "chat_worker")
    assert chat["ReadChunkVectors"]["Action"] == [
        "s3vectors:GetVectors",
        "s3vectors:ListVectors",
        "s3vectors:QueryVectors",
    ]
    assert chat["ReadChunkVectors"]["Resource"] == [index]
    assert chat["UseVectorsKey"]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert chat["UseVectorsKey"]["Resource"] == [key]
    for module in ("ingest_worker", "reindex_document", "rest_api"):
        use = _worker_statements(everything, module)["UseChunkVectors"]
        assert use["Action"] == [
            "s3vectors:DeleteVectors",
            "s3vectors:GetVectors",
            "s3vectors:ListVectors",
            "s3vectors:PutVectors",
            "s3vectors:QueryVectors",
        ], module
        assert use["Resource"] == [index], module


def test_kendra_is_retrieved_by_chat_and_rest_and_fed_metadata_by_the_indexers(everything):
    kendra = everything.one("aws:kendra/index:Index").state["arn"]
    bucket = everything.one("aws:s3/bucket:Bucket", "documents").state["arn"]
    for module in ("chat_worker", "rest_api"):
        retrieve = _worker_statements(everything, module)["RetrieveKendra"]
        assert (retrieve["Action"], retrieve["Resource"]) == (["kendra:Retrieve"], [kendra])
        assert "WriteKendraMetadata" not in _worker_statements(everything, module)
    for module in ("ingest_worker", "reindex_document"):
        statements = _worker_statements(everything, module)
        assert "RetrieveKendra" not in statements
        write = statements["WriteKendraMetadata"]
        assert write["Action"] == ["s3:DeleteObject", "s3:PutObject"]
        assert write["Resource"] == [f"{bucket}/kendra-metadata/*"]
    source = everything.one("aws:kendra/dataSource:DataSource").inputs["configuration"]
    metadata = source["s3Configuration"]["documentsMetadataConfiguration"]
    assert metadata == {"s3Prefix": "kendra-metadata/"}


KNOWLEDGE_BASES = ["ABCDE12345", "FGHIJ67890"]


@pytest.fixture(scope="module")
def with_knowledge_bases():
    """Pulumi.dev.yaml with two existing Bedrock knowledge bases (``chorus:knowledgeBases``)."""
    config = read_stack_file(ROOT / "Pulumi.dev.yaml")
    return _deploy(parse_settings({**config, "chorus:knowledgeBases": KNOWLEDGE_BASES}))


def test_knowledge_bases_are_retrieved_by_chat_and_rest_on_exactly_their_arns(
    with_knowledge_bases,
):
    arns = [f"arn:aws:bedrock:{REGION}:{ACCOUNT}:knowledge-base/{i}" for i in KNOWLEDGE_BASES]
    for module in ("chat_worker", "rest_api"):
        retrieve = _worker_statements(with_knowledge_bases, module)["RetrieveKnowledgeBases"]
        assert (retrieve["Action"], retrieve["Resource"]) == (["bedrock:Retrieve"], arns)
        policy = {"Version": "2012-10-17", "Statement": [retrieve]}
        assert analyze_policy_string(json.dumps(policy)).findings == []
    for module in ("ingest_worker", "reindex_document", "ws_message", "fanout_model"):
        statements = _worker_statements(with_knowledge_bases, module)
        assert "bedrock:Retrieve" not in json.dumps(statements), module


def test_knowledge_bases_reach_the_app_config_as_a_store(with_knowledge_bases):
    parameter = with_knowledge_bases.one("aws:ssm/parameter:Parameter", "app-config")
    stores = json.loads(parameter.inputs["value"])["vectorStore"]["stores"]
    assert stores["knowledgebase"] == {"knowledgeBaseIds": KNOWLEDGE_BASES}


def test_without_knowledge_bases_nothing_may_retrieve_from_one(dev):
    config = json.loads(dev.one("aws:ssm/parameter:Parameter", "app-config").inputs["value"])
    assert "knowledgebase" not in config["vectorStore"]["stores"]
    for module in ("chat_worker", "rest_api"):
        assert "RetrieveKnowledgeBases" not in _worker_statements(dev, module)


@pytest.fixture(scope="module")
def scheduled_sources():
    """Pulumi.dev.yaml with sources re-synced every 6 hours (``chorus:sources.syncRate``)."""
    config = read_stack_file(ROOT / "Pulumi.dev.yaml")
    return _deploy(parse_settings({**config, "chorus:sources": {"syncRate": "rate(6 hours)"}}))


def _live(d, module):
    """The ``live`` alias's ARN: what the asynchronous callers of ``module`` invoke."""
    name = f"chat-{module.replace('_', '-')}"
    alias = d.one("aws:lambda/alias:Alias", f"{name}-live")
    assert alias.state["arn"] == d.one("aws:lambda/function:Function", name).state["arn"] + ":live"
    return alias.state["arn"]


def test_dev_deploys_sync_sources_without_a_schedule(dev):
    assert dev.of_type("aws:scheduler/schedule:Schedule") == []
    sync = _worker_statements(dev, "sync_sources")
    assert sync["TrackSources"]["Action"] == sync["TrackDocuments"]["Action"]
    assert "ReadUploads" not in sync  # it fetches from the web, never from the bucket


def test_rest_api_may_only_hand_sources_to_sync_sources(dev):
    statement = _worker_statements(dev, "rest_api")["HandOverSources"]
    assert statement["Action"] == ["lambda:InvokeFunction"]
    assert statement["Resource"] == [_live(dev, "sync_sources")]
    rest = dev.one("aws:lambda/function:Function", "chat-rest-api")
    env = rest.inputs["environment"]["variables"]
    assert env["CHORUS_SOURCES_SYNC_FUNCTION"] == _live(dev, "sync_sources")
    # no other function: the public API's answers need the models (docs/public_api.md), but
    # fetching, chunking and indexing sources happen in sync_sources only
    invokes = [
        s
        for s in _worker_statements(dev, "rest_api").values()
        if "lambda:InvokeFunction" in s["Action"]
    ]
    assert invokes == [statement]


def test_the_sources_schedule_invokes_sync_sources_through_a_role_that_may_do_nothing_else(
    scheduled_sources,
):
    d = scheduled_sources
    schedule = d.one("aws:scheduler/schedule:Schedule").inputs
    target = _live(d, "sync_sources")
    assert schedule["scheduleExpression"] == "rate(6 hours)"
    assert schedule["target"]["arn"] == target
    assert json.loads(schedule["target"]["input"]) == {"minAgeSeconds": 3 * 3600}
    role = d.one("aws:iam/role:Role", "sources-schedule-role")
    assert schedule["target"]["roleArn"] == role.state["arn"]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    policy = json.loads(
        d.one("aws:iam/rolePolicy:RolePolicy", "sources-schedule-policy").inputs["policy"]
    )
    failed = d.named("chat-sources-failed", "aws:sqs/queue:Queue").state["arn"]
    assert [(s["Action"], s["Resource"]) for s in policy["Statement"]] == [
        (["lambda:InvokeFunction"], [target]),
        (["sqs:SendMessage"], [failed]),  # what the schedule cannot deliver
    ]
    assert schedule["target"]["deadLetterConfig"] == {"arn": failed}
    assert analyze_policy_string(json.dumps(policy)).findings == []


def test_without_sources_nothing_is_handed_over():
    config = read_stack_file(ROOT / "Pulumi.dev.yaml")
    d = _deploy(parse_settings({**config, "chorus:sources": {"enabled": False}}))
    assert "HandOverSources" not in _worker_statements(d, "rest_api")
    names = [f.name for f in d.of_type("aws:lambda/function:Function")]
    assert not any(name.endswith("sync-sources") for name in names)


def test_the_key_lets_s3_vectors_index_only_when_s3_vectors_is_deployed(everything):
    policy = json.loads(everything.one("aws:kms/key:Key").inputs["policy"])
    [statement] = [s for s in policy["Statement"] if s["Sid"] == "S3VectorsIndexing"]
    assert statement["Principal"] == {"Service": "indexing.s3vectors.amazonaws.com"}
    assert statement["Action"] == "kms:Decrypt"
    assert statement["Condition"] == {
        "ArnLike": {"aws:SourceArn": f"arn:aws:s3vectors:{REGION}:{ACCOUNT}:bucket/*"},
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ForAnyValue:StringEquals": {
            "kms:EncryptionContextKeys": ["aws:s3vectors:arn", "aws:s3vectors:resource-id"]
        },
    }
    vectors = everything.one("aws:s3/vectorsVectorBucket:VectorsVectorBucket").inputs
    assert vectors["encryptionConfigurations"] == [
        {"sseType": "aws:kms", "kmsKeyArn": key_arn(everything)}
    ]
    no_vectors = dict(EVERYTHING_ON, **{"chorus:vectorStore": {"kendra": {"enabled": True}}})
    d = _deploy(parse_settings(no_vectors), stack="prod")
    sids = [s["Sid"] for s in json.loads(d.one("aws:kms/key:Key").inputs["policy"])["Statement"]]
    assert "S3VectorsIndexing" not in sids


def key_arn(d):
    return d.one("aws:kms/key:Key").state["arn"]


def test_layers_are_uploaded_to_a_private_artifacts_bucket(dev):
    bucket = dev.named("shared-artifacts", "aws:s3/bucket:Bucket")
    objects = {
        o.inputs["key"]: o
        for o in dev.of_type("aws:s3/bucketObjectv2:BucketObjectv2")
        if o.name.startswith("shared-")
    }
    assert sorted(objects) == ["layers/core.zip", "layers/dependencies.zip"]
    for label in ("core", "dependencies"):
        layer = dev.named(f"shared-{label}", "aws:lambda/layerVersion:LayerVersion").inputs
        archive = objects[f"layers/{label}.zip"]
        assert "code" not in layer
        assert layer["s3Bucket"] == bucket.state["bucket"] == archive.inputs["bucket"]
        assert layer["s3Key"] == f"layers/{label}.zip"
        assert layer["s3ObjectVersion"] == archive.state["versionId"]
    block = dev.one(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "shared-artifacts"
    ).inputs
    assert all(block[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                  "restrictPublicBuckets"))  # fmt: skip
    sse = dev.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "shared-artifacts",
    ).inputs["rules"][0]
    assert sse["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    policy = json.loads(
        dev.one("aws:s3/bucketPolicy:BucketPolicy", "shared-artifacts").inputs["policy"]
    )
    [deny] = policy["Statement"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    versioning = dev.one("aws:s3/bucketVersioning:BucketVersioning", "shared-artifacts").inputs
    assert versioning["versioningConfiguration"]["status"] == "Enabled"


def test_app_config_has_no_guardrail_unless_one_is_configured(dev):
    config = json.loads(dev.one("aws:ssm/parameter:Parameter", "app-config").inputs["value"])
    assert "guardrail" not in config["models"]
    for policy in dev.of_type("aws:iam/rolePolicy:RolePolicy"):
        assert "bedrock:ApplyGuardrail" not in policy.inputs["policy"], policy.name


def test_app_config_gives_the_runtime_the_guardrail_as_it_reads_it(everything):
    config = json.loads(everything.one("aws:ssm/parameter:Parameter", "app-config").inputs["value"])
    assert config["models"]["guardrail"] == {
        "id": "abc123def456",
        "version": "3",
        "failOpen": False,
        "checkInput": True,
    }


def test_app_config_guardrail_is_accepted_by_the_runtime_settings(everything):
    from runtime.cloud.settings import GuardrailSettings, settings_from

    config = json.loads(everything.one("aws:ssm/parameter:Parameter", "app-config").inputs["value"])
    settings = settings_from(config, {})
    assert settings.models.guardrail == GuardrailSettings(
        id="abc123def456", version="3", fail_open=False, check_input=True
    )


def test_only_the_roles_that_answer_questions_may_apply_the_guardrail(everything):
    """The chat worker, ``rest_api`` for the public API's answers (docs/public_api.md), and the
    scheduled evaluation, which answers through the same chat service (a run must score the
    answers users get)."""
    guardrail = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:guardrail/abc123def456"
    appliers = {}
    for policy in everything.resources:
        if policy.type not in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"):
            continue
        for statement in json.loads(policy.inputs["policy"])["Statement"]:
            if "bedrock:ApplyGuardrail" in statement["Action"]:
                appliers[policy.name] = (statement["Action"], statement["Resource"])
    assert appliers == {
        "chat-chat-worker-policy": (["bedrock:ApplyGuardrail"], [guardrail]),
        "chat-evaluate-workspace-policy": (["bedrock:ApplyGuardrail"], [guardrail]),
        "chat-rest-api-policy": (["bedrock:ApplyGuardrail"], [guardrail]),
    }


RERANK_MODEL_ARN = f"arn:aws:bedrock:{REGION}::foundation-model/cohere.rerank-v3-5:0"


def test_app_config_has_no_rerank_model_unless_one_is_configured(dev):
    config = json.loads(dev.one("aws:ssm/parameter:Parameter", "app-config").inputs["value"])
    assert "rerank" not in config["models"]
    for policy in dev.of_type("aws:iam/rolePolicy:RolePolicy"):
        assert "bedrock:Rerank" not in policy.inputs["policy"], policy.name


def test_app_config_gives_the_runtime_the_rerank_model_as_it_reads_it(everything):
    from runtime.cloud.settings import RerankSettings, settings_from

    config = json.loads(everything.one("aws:ssm/parameter:Parameter", "app-config").inputs["value"])
    assert config["models"]["rerank"] == {"provider": "bedrock", "modelId": "cohere.rerank-v3-5:0"}
    assert settings_from(config, {}).models.rerank == RerankSettings(
        "bedrock", "cohere.rerank-v3-5:0"
    )


def test_app_config_gives_the_runtime_its_grounding_judges_as_it_reads_them(dev, everything):
    from runtime.cloud.settings import GroundingJudgeSettings, settings_from

    def config_of(d):
        return json.loads(d.one("aws:ssm/parameter:Parameter", "app-config").inputs["value"])

    assert "grounding" not in config_of(dev)["models"]
    config = config_of(everything)
    assert settings_from(config, {}).models.grounding == GroundingJudgeSettings(
        "anthropic.claude-3-haiku-20240307-v1:0", "Grounding-NLI"
    )


def test_only_the_answering_roles_may_invoke_the_nli_endpoint(everything):
    """The chat worker, ``rest_api`` (the public API) and the scheduled evaluation."""
    endpoint = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/grounding-nli"
    granted = {
        policy.name
        for policy in everything.resources
        if policy.type in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy")
        for statement in json.loads(policy.inputs["policy"])["Statement"]
        if endpoint in statement["Resource"]
    }
    assert granted == {
        "chat-chat-worker-policy",
        "chat-evaluate-workspace-policy",
        "chat-rest-api-policy",
    }


def test_a_sagemaker_reranker_the_stack_does_not_host_is_granted_by_name_to_the_answering_roles():
    config = read_stack_file(ROOT / "Pulumi.dev.yaml")
    config["chorus:models"] = {
        **config.get("chorus:models", {}),
        "rerank": {"provider": "sagemaker", "endpoint": "Team-CrossEncoder"},
    }
    d = _deploy(parse_settings(config))
    endpoint = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/team-crossencoder"
    granted = {
        policy.name: statement["Action"]
        for policy in d.of_type("aws:iam/rolePolicy:RolePolicy")
        for statement in json.loads(policy.inputs["policy"])["Statement"]
        if endpoint in statement["Resource"]
    }
    assert granted == {
        "chat-chat-worker-policy": ["sagemaker:InvokeEndpoint"],
        "chat-rest-api-policy": ["sagemaker:InvokeEndpoint"],
    }


def test_only_the_answering_roles_may_rerank_and_only_with_the_configured_model(everything):
    """The chat worker, ``rest_api`` (the public API) and the scheduled evaluation."""
    grants: dict[str, set[tuple[str, str]]] = {}
    for policy in everything.resources:
        if policy.type not in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"):
            continue
        for statement in json.loads(policy.inputs["policy"])["Statement"]:
            for action in statement["Action"]:
                for resource in statement["Resource"]:
                    if action == "bedrock:Rerank" or resource == RERANK_MODEL_ARN:
                        grants.setdefault(policy.name, set()).add((action, resource))
    # Rerank takes no resource; AWS also checks InvokeModel on the model it names.
    answering = {("bedrock:Rerank", "*"), ("bedrock:InvokeModel", RERANK_MODEL_ARN)}
    # the scheduled evaluation and the public API answer through the same chat service
    assert grants == {
        "chat-chat-worker-policy": answering,
        "chat-evaluate-workspace-policy": answering,
        "chat-rest-api-policy": answering,
    }


def test_app_config_tells_the_runtime_how_to_reach_aurora_and_the_idempotency_table(
    dev_with_aurora,
):
    dev = dev_with_aurora
    config = json.loads(dev.one("aws:ssm/parameter:Parameter", "app-config").inputs["value"])
    cluster = dev.one("aws:rds/cluster:Cluster")
    pgvector = config["vectorStore"]["stores"]["pgvector"]
    assert pgvector["host"] == cluster.state["endpoint"]
    assert pgvector["port"] == 5432
    assert pgvector["database"] == cluster.inputs["databaseName"] == "chorus"
    assert pgvector["secretArn"] == cluster.state["masterUserSecrets"][0]["secretArn"]
    idempotency = dev.one("aws:dynamodb/table:Table", "idempotency")
    assert config["tables"]["idempotency"] == idempotency.state["name"]
    assert dev.outputs["idempotencyTable"] == idempotency.state["name"]


def test_dev_stack_serves_the_app_from_the_cdn(dev):
    assert dev.outputs["appUrl"] == "https://web-cdn.cloudfront.net"
    site = json.loads(
        dev.one("aws:s3/bucketObjectv2:BucketObjectv2", "web-config").inputs["content"]
    )
    assert site["mode"] == "cloud"
    assert site["websocketUrl"] == "wss://web-cdn.cloudfront.net/ws"
    assert dev.outputs["appWebsocketUrl"] == site["websocketUrl"]
    assert site["apiUrl"] == "https://web-cdn.cloudfront.net/api"
    assert site["userPoolId"] == dev.outputs["userPoolId"]
    assert site["userPoolClientId"] == dev.outputs["userPoolClientId"]
    assert site["region"] == REGION
    assert site["models"] == ["anthropic.claude-3-haiku-20240307-v1:0"]  # no embedding model
    secret = dev.one("aws:ssm/parameter:Parameter", "cdn-secret").inputs["value"]
    origins = dev.one("aws:cloudfront/distribution:Distribution").inputs["origins"]
    with_secret = {o["originId"]: o["customHeaders"] for o in origins if o.get("customHeaders")}
    assert with_secret == {
        "api": [{"name": "x-chorus-origin-verify", "value": secret}],
        "websocket": [{"name": "x-chorus-origin-verify", "value": secret}],
    }


def test_dev_websocket_reaches_the_orchestrators_stage_through_the_cdn(dev):
    direct = dev.outputs["websocketUrl"]  # wss://<id>.execute-api.<region>.amazonaws.com/<stage>
    host, stage = direct.removeprefix("wss://").split("/", 1)
    origins = dev.one("aws:cloudfront/distribution:Distribution").inputs["origins"]
    ws = next(o for o in origins if o["originId"] == "websocket")
    assert ws["domainName"] == host
    rewrite = dev.one("aws:cloudfront/function:Function", "ws-stage").inputs["code"]
    assert f"request.uri = '/{stage}';" in rewrite


def _cdn_header_checks(d):
    """(identity sources of $connect, CHORUS_REQUIRE_CDN_HEADER of the authorizer and rest_api)."""
    authorizer = d.one("aws:apigatewayv2/authorizer:Authorizer", "ws-authorizer")
    flags = {
        d.one("aws:lambda/function:Function", name).inputs["environment"]["variables"][
            "CHORUS_REQUIRE_CDN_HEADER"
        ]
        for name in ("ws-authorizer", "rest-api")
    }
    return authorizer.inputs["identitySources"], flags


def test_dev_apis_refuse_callers_that_bypass_the_cdn(dev):
    sources, flags = _cdn_header_checks(dev)
    assert sources == [
        "route.request.querystring.token",
        "route.request.header.x-chorus-origin-verify",
    ]
    assert flags == {"true"}


def test_documents_bucket_accepts_uploads_from_the_app_origin(dev):
    cors = dev.one("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration", "documents")
    [rule] = cors.inputs["corsRules"]
    assert rule["allowedOrigins"] == ["http://localhost:5173", "https://web-cdn.cloudfront.net"]


def test_frontend_can_be_turned_off():
    settings = load_stack_file(ROOT / "Pulumi.dev.yaml").model_copy(
        update={"frontend": parse_settings({"chorus:frontend": {"enabled": False}}).frontend}
    )
    d = _deploy(settings)
    assert d.of_type("aws:cloudfront/distribution:Distribution") == []
    assert "appUrl" not in d.outputs and "appWebsocketUrl" not in d.outputs
    assert d.outputs["websocketUrl"].startswith("wss://")  # clients use the API directly
    cors = d.one("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration", "documents")
    assert cors.inputs["corsRules"][0]["allowedOrigins"] == ["http://localhost:5173"]
    # nothing would send the CDN header: neither API asks for it
    sources, flags = _cdn_header_checks(d)
    assert sources == ["route.request.querystring.token"]
    assert flags == {"false"}


def test_every_resource_is_a_child_of_a_chorus_component(dev):
    for r in dev.resources:
        if r.type.startswith("aws:"):
            assert r.urn, r.name
            qualified_type = r.urn.split("::")[2]
            assert qualified_type.startswith("chorus:index:"), r.urn


def test_policy_pack_passes_on_the_dev_stack(dev):
    assert _violations(dev) == []


def _route_violations(route_key: str, kind: str) -> list[str]:
    found: list[str] = []
    _, validate = RESOURCE_RULES["api-authorized"]
    props = {"routeKey": route_key, "authorizationType": kind}
    args = ResourceValidationArgs("aws:apigatewayv2/route:Route", props, "urn", "r", None, None, {})
    validate(args, lambda message, urn=None: found.append(message))
    return found


def test_the_policy_pack_lets_only_public_api_routes_skip_the_jwt_authorizer():
    """``/v1`` routes are authorized by a workspace API key in the function (public_api.md)."""
    assert _route_violations("POST /v1/workspaces/{workspaceId}/answers", "NONE") == []
    assert _route_violations("GET /workspaces", "NONE") != []
    assert _route_violations("POST /v1/workspaces/{workspaceId}/answers", "AWS_IAM") != []


def test_everything_on_stack_passes_with_customer_managed_key_required(everything):
    assert _violations(everything, {"requireCustomerManagedKey": True}) == []


def test_everything_on_stack_encrypts_with_the_customer_key(everything):
    key = everything.one("aws:kms/key:Key").state["arn"]
    for group in everything.of_type("aws:cloudwatch/logGroup:LogGroup"):
        assert group.inputs["kmsKeyId"] == key, group.name
    for table in everything.of_type("aws:dynamodb/table:Table"):
        assert table.inputs["serverSideEncryption"]["kmsKeyArn"] == key
    for queue in everything.of_type("aws:sqs/queue:Queue"):
        assert queue.inputs["kmsMasterKeyId"] == key
    for topic in everything.of_type("aws:sns/topic:Topic"):
        assert topic.inputs["kmsMasterKeyId"] == key
    assert everything.one("aws:rds/cluster:Cluster").inputs["kmsKeyId"] == key
    for sse in everything.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ):
        if sse.name == "web-site-sse":  # CloudFront reads it through OAC: SSE-S3 (see pack)
            assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"] == {
                "sseAlgorithm": "AES256"
            }
            continue
        assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] == key


def test_everything_on_stack_has_nat_endpoints_and_workers_in_the_vpc(everything):
    assert len(everything.of_type("aws:ec2/natGateway:NatGateway")) == 1
    assert len(everything.of_type("aws:ec2/subnet:Subnet")) == 9
    interface = [
        e.inputs["serviceName"].rsplit(".", 1)[-1] if "runtime" not in e.inputs["serviceName"]
        else e.inputs["serviceName"].split(f"{REGION}.")[1]
        for e in everything.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
        if e.inputs["vpcEndpointType"] == "Interface"
    ]  # fmt: skip
    assert sorted(interface) == ["bedrock-runtime", "sagemaker.runtime", "secretsmanager"]
    assert everything.one("aws:opensearch/serverlessVpcEndpoint:ServerlessVpcEndpoint")
    access = everything.one("aws:opensearch/serverlessAccessPolicy:ServerlessAccessPolicy")
    # the four Aurora clients, the scheduled evaluation, the bulk batch function, sync_sources
    assert len(json.loads(access.inputs["policy"])[0]["Principal"]) == 7
    assert len(everything.of_type("aws:sagemaker/endpoint:Endpoint")) == 5


def test_lambdas_in_vpc_attach_the_aurora_clients_behind_the_database_rule(everything):
    lambda_sg = everything.one("aws:ec2/securityGroup:SecurityGroup", "lambda").state["id"]
    database_sg = everything.one("aws:ec2/securityGroup:SecurityGroup", "database").state["id"]
    private = {
        s.state["id"] for s in everything.of_type("aws:ec2/subnet:Subnet") if "private" in s.name
    }
    attached = {}
    for fn in everything.of_type("aws:lambda/function:Function"):
        if fn.inputs.get("vpcConfig") and fn.name.startswith("chat-"):
            attached[fn.inputs["handler"].split(".")[2]] = fn.inputs["vpcConfig"]
    # with the scheduled evaluation (it retrieves and stores turns as the chat worker does) and
    # the indexers deployed by configuration (bulk ingestion's batch function, sync_sources)
    assert set(attached) == {
        *AURORA_CLIENTS,
        "evaluate_workspace",
        *OPTIONAL_AURORA_CLIENTS,
    }
    for config in attached.values():
        assert set(config["subnetIds"]) == private and len(private) == 3
        assert config["securityGroupIds"] == [lambda_sg]
    [rule] = [
        r
        for r in everything.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.inputs["securityGroupId"] == database_sg
    ]
    assert rule.inputs["referencedSecurityGroupId"] == lambda_sg
    assert (rule.inputs["fromPort"], rule.inputs["toPort"]) == (5432, 5432)


def test_vpc_attached_lambdas_without_nat_name_the_endpoints_they_need():
    base = {"chorus:network": {"natGateways": 0, "lambdasInVpc": True, "interfaceEndpoints": []}}
    missing = missing_vpc_endpoints(parse_settings(base))
    assert missing == ["ssm", "secretsmanager", "sns", "states", "sagemaker.runtime",
                       "bedrock-runtime"]  # fmt: skip
    assert missing_vpc_endpoints(load_stack_file(ROOT / "Pulumi.dev.yaml")) == []  # not in VPC
    with_nat = {"chorus:network": {"natGateways": 1, "lambdasInVpc": True}}
    assert missing_vpc_endpoints(parse_settings(with_nat)) == []


def test_a_guardrail_alone_needs_the_bedrock_runtime_endpoint():
    config = {
        "chorus:network": {"lambdasInVpc": True, "interfaceEndpoints": list(VPC_WORKER_ENDPOINTS)},
        "chorus:models": {"bedrock": [], "embedding": {"hosting": "none"}},
    }
    assert missing_vpc_endpoints(parse_settings(config)) == []
    config["chorus:models"]["guardrail"] = {"id": "abc123def456", "version": "DRAFT"}
    assert missing_vpc_endpoints(parse_settings(config)) == ["bedrock-runtime"]


# -- IAM --------------------------------------------------------------------------------------


def test_star_resource_allowlist_is_exactly_the_documented_one():
    assert dict(STAR_RESOURCE_ACTIONS) == STAR_RESOURCE_REASONS


@pytest.mark.parametrize("stack", ["dev", "everything"])
def test_every_identity_policy_passes_parliament(stack, request):
    d = request.getfixturevalue(stack)
    identity = [
        r
        for r in d.resources
        if r.type in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy")
    ]
    assert len(identity) > 10
    problems = []
    for r in identity:
        document = json.loads(r.inputs["policy"])
        for statement in document["Statement"]:
            assert statement["Action"], (r.name, statement)
            assert statement["Resource"], (r.name, statement)
            if "*" in statement["Resource"]:
                unexpected = set(statement["Action"]) - set(STAR_RESOURCE_REASONS)
                assert not unexpected, (r.name, unexpected)
        newer = [
            s
            for s in document["Statement"]
            if any(a.split(":")[0] in NEWER_THAN_PARLIAMENT for a in s["Action"])
        ]
        for statement in newer:
            assert all(a.split(":")[0] in NEWER_THAN_PARLIAMENT for a in statement["Action"])
            problems += _newer_service_problems(r.name, statement)
        known = {**document, "Statement": [s for s in document["Statement"] if s not in newer]}
        for finding in analyze_policy_string(json.dumps(known)).findings:
            if finding.issue != "RESOURCE_STAR":  # "*" is checked above against the allowlist
                problems.append((r.name, finding.issue, finding.detail))
        for statement in known["Statement"]:  # one at a time, to know the resources
            single = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
            for finding in analyze_policy_string(single).findings:
                if finding.issue == "RESOURCE_MISMATCH":
                    problems.remove((r.name, finding.issue, finding.detail))
                    problems += _real_mismatches(finding.detail, statement["Resource"])
    assert problems == []


@pytest.mark.parametrize("stack", ["dev", "everything"])
def test_trust_and_resource_policies_are_well_formed(stack, request):
    d = request.getfixturevalue(stack)
    identity = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy")
    for type_, name, text in d.policies():
        if type_ in identity and name.endswith(".policy"):
            continue  # linted by test_every_identity_policy_passes_parliament
        document = json.loads(text)
        if "Statement" not in document:
            continue  # OpenSearch Serverless security policies ({"Rules": ...})
        if name.endswith(".assumeRolePolicy"):  # trust policies have no Resource to lint
            [trust] = document["Statement"]
            assert trust["Action"] == "sts:AssumeRole"
            assert list(trust["Principal"]) == ["Service"], name
            continue
        findings = [
            (f.issue, f.detail)
            for f in analyze_policy_string(text).findings
            if not (f.issue == "RESOURCE_STAR" and name.endswith("-key.policy"))
        ]
        assert findings == [], name
        for statement in document["Statement"]:
            if statement.get("Principal") == "*":
                assert statement["Effect"] == "Deny", name  # only the TLS-only denials
            if statement.get("Resource") == "*":
                assert name.endswith("-key.policy"), name


# -- state machines ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted((ROOT / "runtime" / "statemachines").glob("*.asl.json")))
def test_asl_files_validate(path):
    assert Linter.validate(json.loads(path.read_text())) == []


def test_deployed_definitions_validate_after_substitution(dev):
    for machine in dev.of_type("aws:sfn/stateMachine:StateMachine"):
        assert Linter.validate(json.loads(machine.inputs["definition"])) == [], machine.name


# -- the policy pack catches what it should --------------------------------------------------


def _resource_violations(type_, props, config=None):
    found = []
    args = ResourceValidationArgs(type_, props, "urn", "r", None, None, config or {})
    for _, validate in RESOURCE_RULES.values():
        validate(args, lambda message, urn=None: found.append(message))
    return found


def test_every_rule_is_in_the_pack_with_its_config_schema():
    from components.policies import POLICIES

    assert sorted(p.name for p in POLICIES) == sorted([*RESOURCE_RULES, *STACK_RULES])
    for policy in POLICIES:
        assert "requireCustomerManagedKey" in policy.config_schema.properties


def test_pack_flags_an_untraced_function():
    assert any("tracing" in v for v in _resource_violations("aws:lambda/function:Function", {}))


def test_pack_flags_a_wildcard_grant():
    policy = json.dumps(
        {"Statement": [{"Sid": "All", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    )
    found = _resource_violations("aws:iam/rolePolicy:RolePolicy", {"policy": policy})
    assert any("wildcard action" in v for v in found)
    assert any("Resource '*'" in v for v in found)


def test_pack_flags_a_source_without_partial_batch_responses():
    props = {"eventSourceArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:q"}
    found = _resource_violations("aws:lambda/eventSourceMapping:EventSourceMapping", props)
    assert len(found) == 2


def test_pack_flags_a_public_bucket_and_a_queue_without_dlq():
    resources = [
        PolicyResource(
            "aws:s3/bucket:Bucket", {"bucket": "b"}, "u1", "b", None, None, None, [], {}
        ),
        PolicyResource(
            "aws:sqs/queue:Queue", {"arn": "arn:q"}, "u2", "q", None, None, None, [], {}
        ),
    ]
    found = []
    for _, validate in STACK_RULES.values():
        validate(
            StackValidationArgs(resources, {}), lambda message, urn=None: found.append(message)
        )
    assert any("public access" in v for v in found)
    assert any("TLS" in v for v in found)
    assert any("dead-letter" in v for v in found)


# -- __main__.py ------------------------------------------------------------------------------


def test_main_reads_the_dev_config_and_exports_the_urls(monkeypatch, tmp_path):
    built = packaging.BuiltArchive(tmp_path / "x.zip", "0", 0)
    monkeypatch.setattr(
        packaging,
        "build_lambda_artifacts",
        lambda *a, **k: packaging.LambdaArtifacts(built, built, built),
    )
    from model_images import packaging as model_packaging

    archives = []
    monkeypatch.setattr(
        model_packaging, "write_model_archive", lambda *a: archives.append(a) or a[2]
    )
    config = {
        k: v if isinstance(v, str) else json.dumps(v)
        for k, v in read_stack_file(ROOT / "Pulumi.dev.yaml").items()
    }

    def program():
        pulumi.runtime.set_all_config(config)
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

    d = deploy(program, stack="dev")
    # no database setup (no Aurora); sync_sources (chorus:sources.enabled by default)
    assert len(d.of_type("aws:lambda/function:Function")) == 11
    assert d.one("aws:ssm/parameter:Parameter", "app-config").inputs["name"] == "/chorus/dev/config"
    [(model_dir, code_dir, _)] = archives  # the dev embedder, from its PyPI package
    assert (Path(model_dir) / "config.json").exists()
    assert Path(code_dir).name == "embedding"


_BYTECODES: list[str] = []
"""The ``bytecode`` mode of each ``build_lambda_artifacts`` call of the last ``_run_main``."""


def _run_main(monkeypatch, tmp_path, overrides):
    built = packaging.BuiltArchive(tmp_path / "x.zip", "0", 0)
    calls = []
    bytecodes = _BYTECODES
    bytecodes.clear()

    def fake_build(runtime_dir, out_dir, requirements=(), architecture="x86_64", bytecode="auto"):
        calls.append(list(requirements))
        bytecodes.append(bytecode)
        return packaging.LambdaArtifacts(built, built, built, packaging.CACHE_TAG)

    monkeypatch.setattr(packaging, "build_lambda_artifacts", fake_build)
    from model_images import packaging as model_packaging

    monkeypatch.setattr(model_packaging, "write_model_archive", lambda *a: a[2])
    raw = {**read_stack_file(ROOT / "Pulumi.dev.yaml"), **overrides}
    config = {k: v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}

    def program():
        pulumi.runtime.set_all_config(config)
        runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__")

    return deploy(program, stack="dev"), calls


def test_main_builds_the_handlers_requirements_and_skips_powertools_given_its_layer(
    monkeypatch, tmp_path
):
    _, [requirements] = _run_main(monkeypatch, tmp_path, {})
    assert requirements == packaging.lambda_requirements()
    layer = f"arn:aws:lambda:{REGION}:017000801446:layer:AWSLambdaPowertoolsPythonV3:7"
    _, [requirements] = _run_main(
        monkeypatch, tmp_path, {"chorus:lambda": {"powertoolsLayerArn": layer}}
    )
    assert requirements == [
        r for r in packaging.lambda_requirements() if not r.startswith("aws-lambda-powertools")
    ]


def test_main_ships_bytecode_as_the_stack_setting_says(monkeypatch, tmp_path):
    _run_main(monkeypatch, tmp_path, {})
    assert _BYTECODES == ["auto"]
    _run_main(monkeypatch, tmp_path, {"chorus:lambda": {"bytecode": "always"}})
    assert _BYTECODES == ["always"]


def test_snap_start_setting_puts_the_workers_on_published_versions():
    settings = load_stack_file(ROOT / "Pulumi.dev.yaml")
    on = settings.model_copy(
        update={"lambda_": settings.lambda_.model_copy(update={"snap_start": True})}
    )
    d = _deploy(on)
    snap = sorted(
        fn.inputs["handler"]
        for fn in d.of_type("aws:lambda/function:Function")
        if fn.inputs.get("snapStart")
    )
    assert snap == [
        "runtime.handlers.chat_worker.handler",
        "runtime.handlers.ingest_worker.handler",
    ]
    assert {a.inputs["name"] for a in d.of_type("aws:lambda/alias:Alias")} == {"live"}


def test_main_deploys_the_cdn_without_a_build_unless_the_build_is_required(monkeypatch, tmp_path):
    absent = {"chorus:frontend": {"siteDir": str(tmp_path / "no-dist")}}
    d, _ = _run_main(monkeypatch, tmp_path, absent)
    objects = d.of_type("aws:s3/bucketObjectv2:BucketObjectv2")
    assert [o.inputs["key"] for o in objects if o.name.startswith("web-")] == ["config.json"]
    assert d.one("aws:cloudfront/distribution:Distribution")

    required = {"chorus:frontend": {"siteDir": str(tmp_path / "no-dist"), "requireBuild": True}}
    with pytest.raises(Exception, match=r"chorus:frontend\.requireBuild"):
        _run_main(monkeypatch, tmp_path, required)


def test_main_uploads_a_built_app(monkeypatch, tmp_path):
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html>")
    (dist / "assets" / "app-1.js").write_text("1")
    d, _ = _run_main(monkeypatch, tmp_path, {"chorus:frontend": {"siteDir": str(dist)}})
    keys = sorted(
        o.inputs["key"]
        for o in d.of_type("aws:s3/bucketObjectv2:BucketObjectv2")
        if o.name.startswith("web-")
    )
    assert keys == ["assets/app-1.js", "config.json", "index.html"]


def test_main_rejects_a_bad_value_naming_the_key():
    from components.settings import ConfigError

    with pytest.raises(ConfigError, match=r"'chorus:network\.natGateways'"):
        parse_settings({"chorus:network": '{"natGateways": "many"}'})
    with pytest.raises(ConfigError, match=r"unknown config key 'chorus:netwrk'"):
        parse_settings({"chorus:netwrk": "{}"})


# -- embedding on Bedrock ----------------------------------------------------------------------

TITAN = "amazon.titan-embed-text-v2:0"


def test_dev_app_config_answers_only_with_chat_models(dev):
    config = json.loads(dev.one("aws:ssm/parameter:Parameter", "app-config").inputs["value"])
    assert config["models"]["bedrock"] == ["anthropic.claude-3-haiku-20240307-v1:0"]
    assert "embedding" not in config["models"]  # dev embeds on SageMaker Serverless


def test_an_embedding_on_bedrock_needs_no_endpoint_and_reaches_the_runtime():
    from runtime.adapters.bedrock_embeddings import BedrockEmbedder
    from runtime.cloud.services import CloudServices
    from runtime.cloud.settings import settings_from

    settings = parse_settings(
        {
            "chorus:vectorStore": {"embeddingDimension": 1024},
            "chorus:models": {"embedding": {"hosting": "bedrock", "modelId": TITAN}},
        }
    )
    d = _deploy(settings)

    assert not [e for e in d.of_type("aws:sagemaker/endpoint:Endpoint") if "embedding" in e.name]
    config = json.loads(d.one("aws:ssm/parameter:Parameter", "app-config").inputs["value"])
    assert config["models"]["embedding"] == {"provider": "bedrock", "modelId": TITAN}
    assert TITAN not in config["models"]["bedrock"]
    titan_arn = f"arn:aws:bedrock:{REGION}::foundation-model/{TITAN}"
    for module in ("ingest_worker", "reindex_document", "chat_worker"):
        invoke = _worker_statements(d, module)["InvokeBedrock"]
        assert titan_arn in invoke["Resource"], module
    import boto3

    runtime = CloudServices(
        settings_from(config, {"AWS_REGION": REGION}),
        session=boto3.session.Session(
            region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
        ),
    )
    embedder = runtime.embedder
    assert isinstance(embedder, BedrockEmbedder) and embedder.dimension == 1024
    assert TITAN not in runtime.answerers()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"chorus:models": {"embedding": {"hosting": "bedrock", "modelId": TITAN}}},
            "chorus:models.*returns 256 or 512 or 1024 dimensions.*it is 384",
        ),
        (
            {"chorus:models": {"embedding": {"hosting": "bedrock"}}},
            "chorus:models.embedding.*needs modelId",
        ),
        (
            {"chorus:models": {"embedding": {"hosting": "bedrock", "modelId": "meta.llama3"}}},
            "not a Bedrock embedding model",
        ),
        (
            {"chorus:models": {"crossEncoder": {"hosting": "bedrock", "modelId": TITAN}}},
            "chorus:models.crossEncoder.*no cross-encoder",
        ),
    ],
)
def test_a_bedrock_embedding_the_stack_cannot_use_is_refused_naming_the_key(config, message):
    from components.settings import ConfigError

    with pytest.raises(ConfigError, match=message):
        parse_settings(config)


# -- semantic cache ------------------------------------------------------------------------------


def test_without_aurora_the_semantic_cache_gets_a_dynamodb_table_the_runtime_uses():
    import boto3

    from runtime.adapters.dynamodb_cache import DynamoDBSemanticCache
    from runtime.cloud.services import CloudServices
    from runtime.cloud.settings import settings_from

    settings = parse_settings(
        {
            "chorus:vectorStore": {"aurora": {"enabled": False}},
            "chorus:semanticCache": {"enabled": True, "threshold": 0.95},
        }
    )
    d = _deploy(settings)

    table = d.one("aws:dynamodb/table:Table", "answer-cache")
    assert (table.inputs["hashKey"], table.inputs["rangeKey"]) == ("workspace_id", "sk")
    assert table.inputs["ttl"] == {"attributeName": "expires_at", "enabled": True}
    assert table.inputs["serverSideEncryption"]["enabled"] is True
    grant = _worker_statements(d, "chat_worker")["UseAnswerCache"]
    assert grant["Resource"] == [table.state["arn"]]
    assert "dynamodb:ConditionCheckItem" in grant["Action"]
    for module in ("ingest_worker", "ws_message"):  # rest_api answers public questions
        assert table.state["arn"] not in json.dumps(_worker_statements(d, module)), module
    config = json.loads(d.one("aws:ssm/parameter:Parameter", "app-config").inputs["value"])
    assert config["semanticCache"] == {
        "enabled": True,
        "threshold": 0.95,
        "maxEntriesPerWorkspace": 200,
        "table": table.state["name"],
    }
    runtime = CloudServices(
        settings_from(config, {"AWS_REGION": REGION}),
        session=boto3.session.Session(
            region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
        ),
    )
    assert isinstance(runtime.cache, DynamoDBSemanticCache)


def test_with_aurora_the_semantic_cache_stays_in_it_and_dev_has_none(dev):
    d = _deploy(parse_settings({"chorus:semanticCache": {"enabled": True}}))
    assert not [t for t in d.of_type("aws:dynamodb/table:Table") if "answer-cache" in t.name]
    config = json.loads(d.one("aws:ssm/parameter:Parameter", "app-config").inputs["value"])
    assert "table" not in config["semanticCache"] and config["semanticCache"]["enabled"]
    dev_config = json.loads(dev.one("aws:ssm/parameter:Parameter", "app-config").inputs["value"])
    assert "semanticCache" not in dev_config


def test_a_semantic_cache_on_aurora_without_aurora_is_refused_naming_the_key():
    from components.settings import ConfigError

    with pytest.raises(ConfigError, match=r"chorus:semanticCache.*aurora\.enabled is false"):
        parse_settings(
            {
                "chorus:vectorStore": {"aurora": {"enabled": False}},
                "chorus:semanticCache": {"enabled": True, "store": "aurora"},
            }
        )


# -- scheduled evaluation ------------------------------------------------------------------------


def test_dev_deploys_no_scheduled_evaluation(dev):
    assert dev.of_type("aws:scheduler/schedule:Schedule") == []
    assert [r.name for r in dev.resources if "evaluat" in r.name or "eval-" in r.name] == []


def test_scheduled_evaluation_is_composed_behind_its_config_with_the_alarm_topic(everything):
    schedule = everything.one("aws:scheduler/schedule:Schedule").inputs
    assert schedule["scheduleExpression"] == "cron(0 4 * * ? *)"
    machine = everything.one("aws:sfn/stateMachine:StateMachine", "scheduled-evaluation")
    assert (
        json.loads(machine.inputs["definition"])["States"]["EvaluateWorkspaces"]["MaxConcurrency"]
        == 4
    )
    alarm = everything.one("aws:cloudwatch/metricAlarm:MetricAlarm", "eval-regression").inputs
    topic = everything.one("aws:sns/topic:Topic", "alarms").state["arn"]
    assert alarm["alarmActions"] == [topic]
    fn = everything.one("aws:lambda/function:Function", "evaluate-workspace")
    policy = json.loads(
        everything.named("chat-evaluate-workspace-policy", "aws:iam/rolePolicy:RolePolicy").inputs[
            "policy"
        ]
    )
    sids = {s["Sid"] for s in policy["Statement"]}
    assert {"ReadAppConfig", "InvokeBedrock", "StoreTurn", "KeepResults", "ReadEvalSets"} <= sids
    assert not sids & {"StreamToClient", "ReadConnections", "IdempotencyRecords", "RunFanout"}
    assert fn.inputs["vpcConfig"]["subnetIds"]  # lambdasInVpc: with the other Aurora clients


def test_the_evaluation_role_may_read_opensearch_as_the_workers_do(everything):
    role = everything.one("aws:iam/role:Role", "evaluate-workspace").state["arn"]
    access = everything.one(
        "aws:opensearch/serverlessAccessPolicy:ServerlessAccessPolicy", "workers"
    ).inputs["policy"]
    assert role in json.loads(access)[0]["Principal"]


# -- bulk ingestion ----------------------------------------------------------------------------


def test_bulk_ingestion_is_deployed_only_when_enabled(dev, everything):
    assert dev.of_type("chorus:index:BulkIngestion") == []
    assert len(everything.of_type("chorus:index:BulkIngestion")) == 1
    assert "bulkIngestionStateMachineArn" in everything.outputs


def test_bulk_ingestion_takes_its_limits_from_the_stack_config(everything):
    machine = everything.one("aws:sfn/stateMachine:StateMachine", "bulk-ingestion").inputs
    ingest = json.loads(machine["definition"])["States"]["IngestObjects"]
    assert (ingest["MaxConcurrency"], ingest["ToleratedFailurePercentage"]) == (8, 2)
    assert lint(json.loads(machine["definition"])) == []


def test_the_bulk_batch_function_reads_only_the_configured_source_buckets(everything):
    policies = [p for p in everything.policies() if p[1] == "chat-bulk-ingest-batch-policy.policy"]
    assert policies, "the bulk_ingest_batch function has a policy"
    statements = [s for _, _, doc in policies for s in json.loads(doc)["Statement"]]
    read = next(s for s in statements if s.get("Sid") == "ReadSources")
    assert read["Resource"] == ["arn:aws:s3:::corpus-archive/*"]


def test_the_app_config_names_the_bulk_workflow_for_the_cli_and_the_rest_api(everything):
    parameter = everything.one("aws:ssm/parameter:Parameter", "app-config")
    config = json.loads(parameter.inputs["value"])
    assert config["bulkIngestionStateMachineArn"].endswith("-chat-bulk-ingestion")
