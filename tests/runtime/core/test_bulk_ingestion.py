"""Listed objects as documents: names, versions that sort by time, stable batch ids."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from chorus.runtime.core.bulk_ingestion import (
    BatchCounts,
    BulkObject,
    batch_id,
    document_name,
    object_version,
)
from chorus.runtime.core.errors import BadRequest


def test_an_item_reader_item_and_a_boto3_listing_give_the_same_object():
    when = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)
    from_sfn = BulkObject.from_item(
        {"Key": "p/a.md", "Etag": '"abc"', "Size": 12, "LastModified": when.timestamp()}
    )
    from_boto3 = BulkObject.from_item(
        {"Key": "p/a.md", "ETag": '"abc"', "Size": 12, "LastModified": when}
    )
    from_moto = BulkObject.from_item(
        {"Key": "p/a.md", "ETag": '"abc"', "Size": 12, "LastModified": "2026-12-03T07:00:00+00:00"}
    )
    assert from_sfn == from_boto3 == from_moto == BulkObject("p/a.md", "abc", 12, when.timestamp())


def test_an_inventory_row_names_its_bucket_and_its_url_encoded_key_is_decoded():
    """An S3 Inventory CSV row as the manifest reader passes it: every field text, the key
    URL-encoded (S3 Inventory's CSV format), the modification time as ``LastModifiedDate``."""
    row = {
        "Bucket": "corpus-a",
        "Key": "guides/runbook+%C3%A9t%C3%A9%2B1.md",
        "Size": "3399671",
        "LastModifiedDate": "2022-11-16T00:29:32.000Z",
        "ETag": "a7ff4a1d4164c3cd55851055ec8f6b20",
    }
    obj = BulkObject.from_item(row, url_encoded_key=True)
    assert obj == BulkObject(
        "guides/runbook été+1.md",
        "a7ff4a1d4164c3cd55851055ec8f6b20",
        3_399_671,
        datetime(2022, 11, 16, 0, 29, 32, tzinfo=UTC).timestamp(),
        "corpus-a",
    )
    assert obj.described


def test_a_key_list_row_without_size_or_time_is_not_described():
    obj = BulkObject.from_item({"Key": "guides/keys.md", "Size": "", "LastModified": ""})
    assert (obj.size, obj.last_modified, obj.described) == (None, None, False)
    assert BulkObject.from_item({"Key": "a+b.md"}).key == "a+b.md"  # only inventories encode


def test_an_item_without_a_key_is_refused():
    with pytest.raises(BadRequest, match="Key"):
        BulkObject.from_item({"Size": 3})


def test_a_later_version_of_an_object_sorts_after_an_earlier_one_as_text():
    older = object_version(BulkObject("a", "ffff", 1, 999.0))
    newer = object_version(BulkObject("a", "0000", 1, 1000.0))
    assert older < newer


def test_bulk_versions_sort_after_s3_event_sequencers():
    from chorus.runtime.core.ingestion import document_version

    assert document_version("FFFFFFFFFFFFFFFF") < object_version(BulkObject("a", "e", 1, 0.0))


def test_a_documents_name_is_its_key_below_the_prefix():
    assert document_name("corpus/", "corpus/guides/keys.md") == "guides/keys.md"
    assert document_name("", "keys.md") == "keys.md"


def test_a_batch_id_depends_on_its_objects_not_their_order():
    a, b = BulkObject("a", "1"), BulkObject("b", "2")
    assert batch_id([a, b]) == batch_id([b, a]) != batch_id([a, BulkObject("b", "3")])


def test_counts_add_up_over_batches():
    total = BatchCounts()
    total.merge(BatchCounts(ingested=2, chunks=7))
    total.merge(BatchCounts.from_dict({"unchanged": 3, "failed": 1}))
    assert (total.objects, total.chunks) == (6, 7)
