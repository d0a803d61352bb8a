"""``chorus ingest FOLDER`` through the bulk batch code: the folder listed like an S3 prefix."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from chorus.runtime.local.bulk import folder_objects, ingest_folder
from chorus.runtime.local.services import open_services
from chorus.runtime.local.settings import LocalSettings


@pytest.fixture(scope="module")
def local_services(module_dsn: str, embedder: Any, tmp_path_factory) -> Iterator[Any]:
    settings = LocalSettings(home=tmp_path_factory.mktemp("chorus-home"))
    opened = open_services(settings, embedder=embedder, dsn=module_dsn)
    yield opened
    opened.close()


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "docs"
    (root / "guides").mkdir(parents=True)
    (root / "guides" / "keys.md").write_text("# Keys\n\nThe XK-4471 key rotates every 90 days.")
    (root / "faq.txt").write_text("Backups run nightly at 02:00 UTC and are kept for 35 days.")
    (root / "blob.bin").write_bytes(b"\x00\x01\x02")
    return root


def test_files_are_listed_by_their_path_below_the_folder(folder):
    assert sorted(o.key for o in folder_objects(folder)) == [
        "blob.bin",
        "faq.txt",
        "guides/keys.md",
    ]


def test_a_folder_is_ingested_in_batches_with_every_file_counted(local_services, folder):
    workspace = local_services.create_workspace("bulk-local")
    reports = []

    total = ingest_folder(
        local_services.ingestor, workspace, folder, batch_objects=2, on_report=reports.append
    )

    assert (total.counts.ingested, total.counts.skipped) == (2, 1)
    assert [r.counts.objects for r in reports] == [2, 1]


def test_a_second_run_skips_unchanged_files_and_reingests_a_touched_one(local_services, folder):
    workspace = local_services.create_workspace("bulk-again")
    ingest_folder(local_services.ingestor, workspace, folder)
    changed = folder / "faq.txt"
    changed.write_text("Backups now run every hour.")
    stat = changed.stat()
    os.utime(changed, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))

    again = ingest_folder(local_services.ingestor, workspace, folder)

    assert (again.counts.ingested, again.counts.unchanged) == (1, 1)
