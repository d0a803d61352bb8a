"""Workspace ids from names: readable, ASCII, and meaningful for names in any script.

"Café ü 日本" becomes ``cafe-u-ri-ben`` (python-slugify transliterates with text-unidecode),
where a plain ``[^a-z0-9]`` rule left ``caf``. The id is the slug while it is free, else the
slug with eight random hex digits, so two "Docs" workspaces never collide.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

SLUG_CHARS = 40
FALLBACK = "workspace"


def workspace_slug(name: str) -> str:
    """``name`` transliterated to lower-case ASCII words joined by ``-`` (at most 40 chars,
    cut at a word boundary); ``workspace`` when nothing of it survives (e.g. only emoji)."""
    from slugify import slugify  # loads its transliteration table only when a workspace is made

    return slugify(name, max_length=SLUG_CHARS, word_boundary=True) or FALLBACK


def new_workspace_id(name: str, taken: Callable[[str], bool]) -> str:
    """The slug of ``name`` if no workspace has it as id, else ``<slug>-<8 hex digits>``."""
    slug = workspace_slug(name)
    return slug if not taken(slug) else f"{slug}-{uuid.uuid4().hex[:8]}"
