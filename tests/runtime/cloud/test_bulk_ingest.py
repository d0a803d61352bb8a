"""What ``s3://bucket/<key>`` names for a bulk ingestion: a prefix, an S3 Inventory manifest or
a key list — told by its name, or by an explicit kind."""

from __future__ import annotations

import pytest
from chorus.runtime.cloud.bulk_ingest import S3Source, detect_kind
from chorus.runtime.core.errors import BadRequest


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("corpus/", "prefix"),
        ("manuals", "prefix"),
        ("", "prefix"),
        ("inv/corpus/daily/2026-12-01T01-00Z/manifest.json", "inventory"),
        ("lists/keys.CSV", "csv"),
        ("lists/keys.json", "json"),
    ],
)
def test_the_name_says_what_a_source_is(key, kind):
    assert detect_kind(key) == kind
    assert S3Source.parse(f"s3://corpus-a/{key}").kind == kind


def test_an_explicit_kind_wins_over_the_name():
    source = S3Source.parse("s3://inventory-a/inv/latest.json", "inventory")
    assert (source.bucket, source.prefix, source.kind) == (
        "inventory-a",
        "inv/latest.json",
        "inventory",
    )


def test_a_file_kind_needs_an_object_key():
    with pytest.raises(BadRequest, match="names no object"):
        S3Source.parse("s3://inventory-a/inv/", "inventory")


def test_an_unknown_kind_is_a_bad_request():
    with pytest.raises(BadRequest, match="kind"):
        S3Source.parse("s3://corpus-a/x.parquet", "parquet")
