"""Settings of the local server and CLI, from the environment with CLI overrides.

Every setting has a default that works with nothing installed beyond the package itself:
embedded PostgreSQL under ``~/.chorus``, all-MiniLM-L6-v2 from PyPI, the extractive answerer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PORT = 8765
DEFAULT_WORKSPACE = "default"


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


@dataclass
class LocalSettings:
    """What ``chorus up``, ``chorus ingest`` and ``chorus ask`` run with.

    Environment variables: ``CHORUS_HOME`` (data folder, default ``~/.chorus``),
    ``CHORUS_EMBEDDING_MODEL`` (a sentence-transformers folder; default MiniLM from PyPI),
    ``CHORUS_QUERY_PREFIX`` / ``CHORUS_PASSAGE_PREFIX`` (for e5-style models),
    ``CHORUS_RERANK_MODEL`` (a CrossEncoder folder; no reranking when unset),
    ``CHORUS_NLI_MODEL`` (an NLI CrossEncoder folder: a second grounding judge, combined
    conservatively with the word-level one; none when unset),
    ``CHORUS_OPENAI_BASE_URL``, ``CHORUS_OPENAI_API_KEY`` (or ``OPENAI_API_KEY``) and
    ``CHORUS_OPENAI_MODEL`` (an OpenAI-compatible model offered next to the extractive one),
    ``CHORUS_SOURCES_ALLOW_PRIVATE=1`` (web sources may fetch loopback and private addresses).
    """

    home: Path = field(default_factory=lambda: _env_path("CHORUS_HOME") or Path.home() / ".chorus")
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    embedding_model_path: Path | None = field(
        default_factory=lambda: _env_path("CHORUS_EMBEDDING_MODEL")
    )
    query_prefix: str = field(default_factory=lambda: os.environ.get("CHORUS_QUERY_PREFIX", ""))
    passage_prefix: str = field(default_factory=lambda: os.environ.get("CHORUS_PASSAGE_PREFIX", ""))
    rerank_model_path: Path | None = field(default_factory=lambda: _env_path("CHORUS_RERANK_MODEL"))
    nli_model_path: Path | None = field(default_factory=lambda: _env_path("CHORUS_NLI_MODEL"))
    openai_base_url: str | None = field(
        default_factory=lambda: os.environ.get("CHORUS_OPENAI_BASE_URL") or None
    )
    openai_api_key: str | None = field(
        default_factory=lambda: (
            os.environ.get("CHORUS_OPENAI_API_KEY") or os.environ.get("OPENAI_API_KEY") or None
        )
    )
    openai_model: str | None = field(
        default_factory=lambda: os.environ.get("CHORUS_OPENAI_MODEL") or None
    )
    default_workspace: str = DEFAULT_WORKSPACE
    max_upload_bytes: int = 20 * 1024 * 1024
    sources_allow_private: bool = field(
        default_factory=lambda: os.environ.get("CHORUS_SOURCES_ALLOW_PRIVATE", "") in ("1", "true")
    )
    """Let web sources fetch loopback/private addresses (``--allow-private``): off by default."""

    @property
    def pgdata(self) -> Path:
        return self.home / "pgdata"
