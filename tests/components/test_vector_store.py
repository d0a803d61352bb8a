"""VectorStore: the seed's exact table keys, the locked-down documents bucket, Aurora, options."""

from __future__ import annotations

import json

import pulumi
import pytest
from parliament import analyze_policy_string

from components.vector_store import VectorStore

from .conftest import deploy

CODE = pulumi.AssetArchive(
    {"runtime/handlers/db_setup.py": pulumi.StringAsset("def handler(e, c): ...\n")}
)


def _store(**args):
    base = {
        "isolated_subnet_ids": ["subnet-a", "subnet-b"],
        "database_security_group_id": "sg-db",
        "setup_code": CODE,
    }

    def program():
        store = VectorStore("vs", {**base, **args})
        return {
            "workspace": store.workspace_table_name,
            "bucket": store.documents_bucket_name,
            "cluster": store.cluster_arn,
            "collection": store.collection_endpoint,
        }

    return deploy(program)


def _keys(table):
    i = table.inputs
    return (
        i["hashKey"],
        i["rangeKey"],
        [
            (g["name"], *[k["attributeName"] for k in g["keySchemas"]])
            for g in i["globalSecondaryIndexes"]
            if [k["keyType"] for k in g["keySchemas"]] == ["HASH", "RANGE"]
        ],
    )


def test_workspace_table_has_exactly_the_seed_keys():
    table = _store().one("aws:dynamodb/table:Table", "workspace")
    assert _keys(table) == (
        "workspace_id",
        "object_type",
        [("by_object_type", "object_type", "created_at")],
    )
    assert table.inputs["attributes"] == [
        {"name": "created_at", "type": "S"},
        {"name": "object_type", "type": "S"},
        {"name": "workspace_id", "type": "S"},
    ]


def test_document_table_has_exactly_the_seed_keys():
    table = _store().one("aws:dynamodb/table:Table", "document")
    assert _keys(table) == (
        "workspace_id",
        "document_id",
        [("by_compound_sort_key", "workspace_id", "compound_sort_key")],
    )
    assert {a["name"] for a in table.inputs["attributes"]} == {
        "workspace_id",
        "document_id",
        "compound_sort_key",
    }


def test_tables_are_on_demand_with_pitr_and_kms():
    for table in _store(kms_key_arn="arn:aws:kms:eu-west-1:123456789012:key/k").of_type(
        "aws:dynamodb/table:Table"
    ):
        assert table.inputs["billingMode"] == "PAY_PER_REQUEST"
        assert table.inputs["pointInTimeRecovery"] == {"enabled": True}
        assert table.inputs["serverSideEncryption"] == {
            "enabled": True,
            "kmsKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/k",
        }


def test_chunks_table_has_exactly_the_keys_the_dynamodb_adapter_creates():
    table = _store().one("aws:dynamodb/table:Table", "chunks").inputs
    # runtime/adapters/dynamodb_store.py create_table: PK workspace_id (S), SK sk (S), no index
    assert (table["hashKey"], table["rangeKey"]) == ("workspace_id", "sk")
    assert table["attributes"] == [
        {"name": "workspace_id", "type": "S"},
        {"name": "sk", "type": "S"},
    ]
    assert "globalSecondaryIndexes" not in table
    assert table["billingMode"] == "PAY_PER_REQUEST"  # $0 while idle
    assert table["pointInTimeRecovery"] == {"enabled": True}
    assert table["serverSideEncryption"] == {"enabled": True}  # the AWS-managed key
    assert table["deletionProtectionEnabled"] is False


def test_chunks_table_follows_the_key_and_deletion_protection():
    key = "arn:aws:kms:eu-west-1:123456789012:key/k"
    table = _store(kms_key_arn=key, deletion_protection=True).one(
        "aws:dynamodb/table:Table", "chunks"
    )
    assert table.inputs["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": key}
    assert table.inputs["deletionProtectionEnabled"] is True


def test_chunks_table_outputs_and_statements_or_none_when_turned_off():
    captured = {}

    def program():
        store = VectorStore("vs", {"enable_aurora": False})
        bare = VectorStore("bare", {"enable_aurora": False, "enable_dynamodb_store": False})
        captured["read"] = store.dynamodb_store_statements(read_only=True)
        captured["write"] = store.dynamodb_store_statements()
        captured["none"] = bare.dynamodb_store_statements()
        return {
            "name": store.chunks_table_name,
            "arn": store.chunks_table_arn,
            "bare": bare.chunks_table_name,
        }

    d = deploy(program)
    table = d.named("vs-chunks", "aws:dynamodb/table:Table")
    assert d.outputs["name"] == table.state["name"]
    assert d.outputs["arn"] == table.state["arn"]
    assert d.outputs["bare"] is None
    assert not [t for t in d.of_type("aws:dynamodb/table:Table") if t.name == "bare-chunks"]
    [read] = captured["read"]
    [write] = captured["write"]
    assert read["Action"] == ["dynamodb:Query"]
    assert write["Action"] == ["dynamodb:BatchWriteItem", "dynamodb:Query"]
    assert captured["none"] == []


def test_bucket_blocks_public_access_is_versioned_and_kms_encrypted():
    d = _store()
    block = d.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(
        block[k]
        for k in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )
    versioning = d.one("aws:s3/bucketVersioning:BucketVersioning").inputs
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    sse = d.one(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    rule = sse.inputs["rules"][0]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    assert rule["bucketKeyEnabled"] is True
    ownership = d.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs
    assert ownership["rule"]["objectOwnership"] == "BucketOwnerEnforced"


def test_bucket_policy_denies_requests_without_tls():
    d = _store()
    bucket = d.one("aws:s3/bucket:Bucket")
    policy = json.loads(d.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    [deny] = policy["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Resource"] == [bucket.state["arn"], bucket.state["arn"] + "/*"]


def test_bucket_notifies_the_ingest_queue_which_has_a_dlq():
    d = _store()
    notification = d.one("aws:s3/bucketNotification:BucketNotification").inputs
    [target] = notification["queues"]
    queues = {q.name: q for q in d.of_type("aws:sqs/queue:Queue")}
    ingest, dlq = queues["vs-ingest"], queues["vs-ingest-dlq"]
    assert target["queueArn"] == ingest.state["arn"]
    assert set(target["events"]) == {"s3:ObjectCreated:*", "s3:ObjectRemoved:*"}
    assert json.loads(ingest.inputs["redrivePolicy"]) == {
        "deadLetterTargetArn": dlq.state["arn"],
        "maxReceiveCount": 3,
    }
    # S3 cannot publish to a queue under the AWS-managed SQS key: SSE-SQS without a CMK.
    assert ingest.inputs["sqsManagedSseEnabled"] is True
    policy = json.loads(
        d.one("aws:sqs/queuePolicy:QueuePolicy", "vs-ingest-policy").inputs["policy"]
    )
    send = next(s for s in policy["Statement"] if s["Effect"] == "Allow")
    assert send["Principal"] == {"Service": "s3.amazonaws.com"}
    assert send["Condition"] == {
        "ArnEquals": {"aws:SourceArn": d.one("aws:s3/bucket:Bucket").state["arn"]}
    }


def test_ingest_queue_uses_the_customer_key_when_given():
    key = "arn:aws:kms:eu-west-1:123456789012:key/k"
    for queue in _store(kms_key_arn=key).of_type("aws:sqs/queue:Queue"):
        assert queue.inputs["kmsMasterKeyId"] == key


def test_aurora_is_serverless_v2_paused_at_zero_encrypted_with_a_managed_secret():
    d = _store()
    cluster = d.one("aws:rds/cluster:Cluster").inputs
    assert cluster["engine"] == "aurora-postgresql"
    assert cluster["serverlessv2ScalingConfiguration"] == {
        "minCapacity": 0,
        "maxCapacity": 2,
        "secondsUntilAutoPause": 300,
    }
    assert cluster["storageEncrypted"] is True
    assert cluster["manageMasterUserPassword"] is True
    assert cluster["enableHttpEndpoint"] is True
    assert cluster["vpcSecurityGroupIds"] == ["sg-db"]
    instance = d.one("aws:rds/clusterInstance:ClusterInstance").inputs
    assert instance["instanceClass"] == "db.serverless"
    assert instance["publiclyAccessible"] is False


def test_vector_extension_is_created_by_a_lambda_backed_step():
    d = _store(embedding_dimension=768)
    invocation = d.one("aws:lambda/invocation:Invocation")
    payload = json.loads(invocation.inputs["input"])
    assert payload["embeddingDimension"] == 768
    assert payload["clusterArn"] == d.one("aws:rds/cluster:Cluster").state["arn"]
    assert payload["secretArn"].startswith("arn:aws:secretsmanager:")
    fn = d.one("aws:lambda/function:Function", "db-setup")
    assert fn.inputs["handler"] == "runtime.handlers.db_setup.handler"
    assert invocation.inputs["functionName"] == fn.state["name"]
    policy = json.loads(d.one("aws:iam/rolePolicy:RolePolicy", "db-setup").inputs["policy"])
    sql = next(s for s in policy["Statement"] if s["Sid"] == "RunSetupSql")
    assert sql["Resource"] == [d.one("aws:rds/cluster:Cluster").state["arn"]]


def test_aurora_needs_network_inputs():
    with pytest.raises(ValueError, match="isolated_subnet_ids"):
        VectorStore("bad", {"setup_code": CODE})


def test_store_without_aurora_stands_alone():
    def program():
        store = VectorStore("alone", {"enable_aurora": False})
        return {"cluster": store.cluster_arn}

    d = deploy(program)
    assert d.of_type("aws:rds/cluster:Cluster") == []
    assert d.outputs["cluster"] is None
    assert len(d.of_type("aws:dynamodb/table:Table")) == 3  # workspace, document, chunks


def test_opensearch_collection_has_encryption_network_and_access_policies():
    key = "arn:aws:kms:eu-west-1:123456789012:key/k"

    def program():
        store = VectorStore(
            "vs",
            {
                "enable_aurora": False,
                "enable_opensearch": True,
                "kms_key_arn": key,
                "opensearch_vpc_id": "vpc-1",
                "opensearch_vpc_subnet_ids": ["subnet-p"],
            },
        )
        store.grant_opensearch_access("workers", ["arn:aws:iam::123456789012:role/worker"])
        return {"endpoint": store.collection_endpoint}

    d = deploy(program)
    collection = d.one("aws:opensearch/serverlessCollection:ServerlessCollection").inputs
    assert collection["type"] == "VECTORSEARCH"
    policies = {
        p.inputs["type"]: json.loads(p.inputs["policy"])
        for p in d.of_type("aws:opensearch/serverlessSecurityPolicy:ServerlessSecurityPolicy")
    }
    assert policies["encryption"]["KmsARN"] == key
    assert policies["network"][0]["AllowFromPublic"] is False
    access = json.loads(
        d.one("aws:opensearch/serverlessAccessPolicy:ServerlessAccessPolicy").inputs["policy"]
    )
    assert access[0]["Principal"] == ["arn:aws:iam::123456789012:role/worker"]
    assert d.outputs["endpoint"].startswith("https://")


def test_kendra_index_is_optional_and_encrypted_with_the_key():
    key = "arn:aws:kms:eu-west-1:123456789012:key/k"
    d = _store(enable_kendra=True, kms_key_arn=key, enable_aurora=False)
    index = d.one("aws:kendra/index:Index").inputs
    assert index["edition"] == "DEVELOPER_EDITION"
    assert index["serverSideEncryptionConfiguration"] == {"kmsKeyId": key}
    assert _store(enable_aurora=False).of_type("aws:kendra/index:Index") == []


# -- Amazon S3 Vectors ------------------------------------------------------------------------

KEY = "arn:aws:kms:eu-west-1:123456789012:key/k"


def test_s3_vectors_is_off_by_default():
    d = _store(enable_aurora=False)
    assert d.of_type("aws:s3/vectorsVectorBucket:VectorsVectorBucket") == []
    assert d.of_type("aws:s3/vectorsIndex:VectorsIndex") == []


def test_s3_vectors_bucket_and_index_are_kms_encrypted_cosine_with_the_dimension():
    d = _store(
        enable_aurora=False, enable_s3_vectors=True, kms_key_arn=KEY, embedding_dimension=768
    )

    bucket = d.one("aws:s3/vectorsVectorBucket:VectorsVectorBucket").inputs
    assert bucket["vectorBucketName"] == "vs-test-vectors"
    assert bucket["encryptionConfigurations"] == [{"sseType": "aws:kms", "kmsKeyArn": KEY}]
    assert bucket["forceDestroy"] is False
    index = d.one("aws:s3/vectorsIndex:VectorsIndex").inputs
    assert index["vectorBucketName"] == "vs-test-vectors"
    assert index["indexName"] == "chunks"
    assert (index["dataType"], index["dimension"], index["distanceMetric"]) == (
        "float32",
        768,
        "cosine",
    )
    assert index["encryptionConfigurations"] == [{"sseType": "aws:kms", "kmsKeyArn": KEY}]


def test_s3_vectors_index_declares_the_keys_the_adapter_writes_non_filterable():
    from chorus.runtime.adapters.s3vectors_store import NON_FILTERABLE_KEYS

    d = _store(enable_aurora=False, enable_s3_vectors=True)

    index = d.one("aws:s3/vectorsIndex:VectorsIndex").inputs
    assert index["metadataConfiguration"] == {
        "nonFilterableMetadataKeys": ["text", "chorus_metadata"]
    }
    assert tuple(index["metadataConfiguration"]["nonFilterableMetadataKeys"]) == NON_FILTERABLE_KEYS
    assert index["dimension"] == 384


def test_s3_vectors_without_a_customer_key_uses_the_service_default_sse_s3():
    d = _store(enable_aurora=False, enable_s3_vectors=True, s3_vectors_bucket_name="my-vectors")

    bucket = d.one("aws:s3/vectorsVectorBucket:VectorsVectorBucket").inputs
    assert bucket["vectorBucketName"] == "my-vectors"
    assert "encryptionConfigurations" not in bucket
    assert "encryptionConfigurations" not in d.one("aws:s3/vectorsIndex:VectorsIndex").inputs


def test_s3_vectors_statements_name_the_five_data_actions_on_the_index_only():
    captured = {}

    def program():
        store = VectorStore("vs", {"enable_aurora": False, "enable_s3_vectors": True})
        captured["statements"] = store.s3_vectors_statements()
        captured["read_only"] = store.s3_vectors_statements(read_only=True)
        captured["none"] = VectorStore("bare", {"enable_aurora": False}).s3_vectors_statements()
        return {"index": store.s3_vectors_index_name}

    d = deploy(program)
    (statement,) = captured["statements"]
    [read_only] = captured["read_only"]
    assert read_only["Action"] == [
        "s3vectors:GetVectors",
        "s3vectors:ListVectors",
        "s3vectors:QueryVectors",
    ]
    assert statement["Action"] == [
        "s3vectors:DeleteVectors",
        "s3vectors:GetVectors",
        "s3vectors:ListVectors",
        "s3vectors:PutVectors",
        "s3vectors:QueryVectors",
    ]
    assert len(statement["Resource"]) == 1
    assert captured["none"] == []
    assert d.outputs["index"] == "chunks"


# -- Kendra data source -----------------------------------------------------------------------


def _kendra(**args):
    return _store(enable_aurora=False, enable_kendra=True, **args)


def test_kendra_index_declares_workspace_id_as_a_string_attribute_and_keeps_the_built_ins():
    fields = {
        f["name"]: f
        for f in _kendra()
        .one("aws:kendra/index:Index")
        .inputs["documentMetadataConfigurationUpdates"]
    }

    assert fields["workspace_id"] == {
        "name": "workspace_id",
        "type": "STRING_VALUE",
        "search": {"displayable": True, "facetable": True, "searchable": False, "sortable": False},
        "relevance": {"importance": 1, "valuesImportanceMap": {}},
    }
    assert {n for n in fields if n.startswith("_")} >= {
        "_document_title",
        "_source_uri",
        "_tenant_id",
    }
    assert len(fields) == 15


def test_kendra_data_source_crawls_the_documents_prefix_with_metadata_files_elsewhere():
    d = _kendra(kendra_sync_schedule="cron(0 * * * ? *)")

    source = d.one("aws:kendra/dataSource:DataSource").inputs
    index = d.one("aws:kendra/index:Index")
    role = d.one("aws:iam/role:Role", "kendra-source-role")
    assert (source["type"], source["indexId"], source["roleArn"]) == (
        "S3",
        index.state["id"],
        role.state["arn"],
    )
    assert source["schedule"] == "cron(0 * * * ? *)"
    assert source["configuration"]["s3Configuration"] == {
        "bucketName": d.one("aws:s3/bucket:Bucket").state["bucket"],
        "inclusionPrefixes": ["workspaces/"],
        "documentsMetadataConfiguration": {"s3Prefix": "kendra-metadata/"},
    }
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "kendra.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


def test_kendra_data_source_role_reads_only_that_bucket_and_feeds_only_that_index():
    d = _kendra(kms_key_arn=KEY)
    bucket = d.one("aws:s3/bucket:Bucket").state["arn"]
    index = d.one("aws:kendra/index:Index").state["arn"]

    policy = d.one("aws:iam/rolePolicy:RolePolicy", "kendra-source-policy").inputs["policy"]

    statements = {s["Sid"]: s for s in json.loads(policy)["Statement"]}
    assert statements["ReadDocumentsAndMetadata"]["Action"] == ["s3:GetObject"]
    assert statements["ReadDocumentsAndMetadata"]["Resource"] == [
        f"{bucket}/workspaces/*",
        f"{bucket}/kendra-metadata/*",
    ]
    assert statements["ListDocumentsAndMetadata"]["Resource"] == [bucket]
    assert statements["ListDocumentsAndMetadata"]["Condition"] == {
        "StringLike": {"s3:prefix": ["workspaces/*", "kendra-metadata/*"]}
    }
    assert statements["FeedTheIndex"]["Action"] == [
        "kendra:BatchDeleteDocument",
        "kendra:BatchPutDocument",
    ]
    assert statements["FeedTheIndex"]["Resource"] == [index]
    assert statements["DecryptWithKmsKey"] == {
        "Sid": "DecryptWithKmsKey",
        "Effect": "Allow",
        "Action": ["kms:Decrypt"],
        "Resource": [KEY],
    }
    assert all("*" not in s["Resource"] for s in statements.values())
    assert [(f.issue, f.detail) for f in analyze_policy_string(policy).findings] == []


def test_kendra_data_source_can_be_left_out():
    d = _kendra(kendra_data_source=False)
    assert d.of_type("aws:kendra/dataSource:DataSource") == []
    assert d.of_type("aws:iam/role:Role") and all(
        "source" not in r.name for r in d.of_type("aws:iam/role:Role")
    )


def test_documents_bucket_expires_old_versions_and_abandoned_ingest_staging():
    rules = {
        r["id"]: r
        for r in _store()
        .one("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
        .inputs["rules"]
    }
    assert rules["expire-old-versions"]["noncurrentVersionExpiration"] == {"noncurrentDays": 30}
    assert rules["expire-old-versions"]["abortIncompleteMultipartUpload"] == {
        "daysAfterInitiation": 1
    }
    staging = rules["expire-ingest-staging"]
    assert staging["status"] == "Enabled"
    assert staging["filter"] == {"prefix": "ingest-staging/"}
    assert staging["expiration"] == {"days": 7}
