"""``chorus ingest --url`` and ``chorus sync`` as a user runs them: real processes, a real
embedded database, a real local site."""

from __future__ import annotations

from tests.runtime.test_cli import chorus


def test_a_local_url_is_refused_without_allow_private(tmp_path, site):
    result = chorus("ingest", "--url", site.base + "/", "-w", "web", home=tmp_path, check=False)
    assert result.returncode != 0
    assert "address_refused" in result.stderr and "nothing was stored" in result.stderr


def test_ingest_url_then_sync_skips_unchanged_pages(tmp_path, site):
    first = chorus(
        "ingest",
        "--url",
        site.base + "/",
        "--depth",
        "1",
        "--max-pages",
        "6",
        "--allow-private",
        "-w",
        "web",
        home=tmp_path,
    )
    assert "indexed" in first.stdout and "skipped: " in first.stdout
    again = chorus("sync", "-w", "web", "--allow-private", home=tmp_path)
    assert " 0 indexed" in again.stdout and "unchanged" in again.stdout
