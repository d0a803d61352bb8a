"""``chorus ingest s3://...`` refusals a user meets before anything reaches AWS (the cloud
path itself is tested on moto in tests/runtime/handlers/test_bulk_ingest_batch.py)."""

from __future__ import annotations

from tests.runtime.test_cli import chorus


def test_manifest_names_an_s3_inventory_and_is_refused_for_a_folder(tmp_path):
    result = chorus("ingest", str(tmp_path), "--manifest", home=tmp_path, check=False)
    assert result.returncode == 2
    assert "--manifest names an S3 Inventory manifest" in result.stderr
