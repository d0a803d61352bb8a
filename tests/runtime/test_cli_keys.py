"""``chorus keys``: a local workspace's API keys from the command line (a real process, a real
embedded database)."""

from __future__ import annotations

import json

import pytest

from .test_cli import chorus

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("chorus-keys-home")
    docs = tmp_path_factory.mktemp("docs")
    (docs / "rotation.md").write_text("# Rotation\n\nKeys rotate every 90 days.\n")
    chorus("ingest", str(docs), "--workspace", "Docs", home=home)
    return home


def test_a_created_key_is_printed_once_then_listed_and_revoked_by_id(home):
    created = chorus("keys", "create", "-w", "Docs", "--name", "ci", "--burst", "9", home=home)
    key = created.stdout.strip()
    key_id = key.split("_")[1]

    listed = json.loads(chorus("keys", "list", "-w", "Docs", "--json", home=home).stdout)
    assert key.startswith("chorus_") and key not in json.dumps(listed)
    assert [(k["id"], k["name"], k["plan"]["burst"]) for k in listed] == [(key_id, "ci", 9)]

    chorus("keys", "revoke", "-w", "Docs", key_id, home=home)
    listed = json.loads(chorus("keys", "list", "-w", "Docs", "--json", home=home).stdout)
    assert listed[0]["revokedAt"] is not None


def test_an_invalid_plan_is_refused_before_anything_is_stored(home):
    result = chorus(
        "keys", "create", "-w", "Docs", "--name", "x", "--burst", "0", home=home, check=False
    )

    assert result.returncode == 2 and "burst" in result.stderr


def test_revoking_an_unknown_key_says_so(home):
    result = chorus("keys", "revoke", "-w", "Docs", "0123456789abcdef", home=home, check=False)

    assert result.returncode == 1 and "not_found" in result.stderr
