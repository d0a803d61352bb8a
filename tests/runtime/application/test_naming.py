"""Workspace ids from names: readable ASCII in any script, unique by a suffix when taken."""

from __future__ import annotations

import re

from chorus.runtime.application.naming import new_workspace_id, workspace_slug
from chorus.runtime.core.protocol import ID_PATTERN


def test_non_ascii_names_keep_their_meaning():
    assert workspace_slug("Café ü 日本") == "cafe-u-ri-ben"
    assert workspace_slug("Привет мир") == "privet-mir"


def test_punctuation_and_case_become_single_dashes():
    assert workspace_slug("  Ops/Runbooks -- 2026 ") == "ops-runbooks-2026"


def test_a_long_name_is_cut_at_a_word_boundary():
    slug = workspace_slug("the quick brown fox jumps over the lazy dog again")
    assert len(slug) <= 40 and not slug.endswith("-") and "the-quick-brown-fox" in slug


def test_a_name_with_nothing_to_transliterate_gets_a_plain_slug():
    assert workspace_slug("😀 ✨") == "workspace"


def test_the_id_is_the_slug_while_it_is_free_else_suffixed():
    assert new_workspace_id("Team A", lambda _id: False) == "team-a"
    suffixed = new_workspace_id("Team A", lambda _id: True)
    assert re.fullmatch(r"team-a-[0-9a-f]{8}", suffixed)


def test_every_id_fits_the_id_pattern():
    for name in ["Café ü 日本", "😀", "x" * 100, "a.b_c:d"]:
        assert re.fullmatch(ID_PATTERN, new_workspace_id(name, lambda _id: True))
