"""DocumentBucket: upload checks, presigned PUT through moto, event keys, reading with a limit."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
import requests
from botocore.config import Config
from chorus.runtime.adapters.s3_documents import (
    DocumentBucket,
    DocumentKey,
    check_upload,
    parse_event_key,
)
from chorus.runtime.core.errors import BadRequest, NotFound, PayloadTooLarge, UnsupportedDocument

BUCKET = "chorus-docs-test"


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[DocumentBucket]:
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1", config=Config(signature_version="s3v4"))
        s3.create_bucket(Bucket=BUCKET)
        yield DocumentBucket(s3, BUCKET, max_upload_bytes=100)


def test_a_presigned_put_uploads_exactly_the_declared_file(bucket):
    ticket = bucket.upload_ticket("w1", "d1", "notes file.md", "text/markdown", 5)

    assert ticket.key == "workspaces/w1/d1/notes file.md"
    assert "X-Amz-SignedHeaders=" in ticket.url and "content-type" in ticket.url.lower()
    response = requests.put(ticket.url, data=b"hello", headers=ticket.headers)
    assert response.status_code == 200
    assert bucket.read(ticket.key) == b"hello"


@pytest.mark.parametrize(
    ("name", "content_type", "size", "error"),
    [
        ("a.md", "text/markdown", 101, PayloadTooLarge),
        ("a.md", "text/markdown", 0, BadRequest),
        ("a.exe", "application/octet-stream", 5, UnsupportedDocument),
        ("a.pdf", "text/plain", 5, UnsupportedDocument),
        ("../a.md", "text/markdown", 5, BadRequest),
        ("a\x00.md", "text/markdown", 5, BadRequest),
    ],
    ids=["oversize", "empty", "type", "mismatch", "traversal", "nul"],
)
def test_a_bad_upload_is_refused_before_signing(name, content_type, size, error):
    with pytest.raises(error):
        check_upload(name, content_type, size, max_bytes=100)


def test_content_type_parameters_are_accepted():
    assert check_upload("a.txt", "text/plain; charset=utf-8", 5, 100) == "a.txt"


def test_event_keys_are_decoded_like_s3_sends_them():
    assert parse_event_key("workspaces/w1/d1/my+notes%C3%A9.md") == DocumentKey(
        "w1", "d1", "my notesé.md"
    )
    assert parse_event_key("workspaces%2Fw1%2Fd1%2Fa+b.md") == DocumentKey("w1", "d1", "a b.md")
    assert parse_event_key("other/w1/d1/a.md") is None
    assert parse_event_key("workspaces/w1/a.md") is None


def test_reading_an_object_over_the_limit_is_refused(bucket):
    bucket._client.put_object(Bucket=BUCKET, Key="workspaces/w/d/big.txt", Body=b"x" * 101)
    with pytest.raises(UnsupportedDocument, match="too large"):
        bucket.read("workspaces/w/d/big.txt")


def test_reading_a_missing_object_is_not_found(bucket):
    with pytest.raises(NotFound):
        bucket.read("workspaces/w/d/none.txt")
    assert not bucket.exists("workspaces/w/d/none.txt")


def test_deleting_a_prefix_removes_only_its_objects(bucket):
    for key in ("workspaces/w1/d1/a.md", "workspaces/w1/d2/b.md", "workspaces/w2/d1/c.md"):
        bucket._client.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    assert bucket.delete_prefix(bucket.document_prefix("w1")) == 2
    left = bucket._client.list_objects_v2(Bucket=BUCKET)["Contents"]
    assert [o["Key"] for o in left] == ["workspaces/w2/d1/c.md"]
