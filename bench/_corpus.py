"""A reproducible synthetic corpus for the benchmarks, built from the repo's own prose, and the
set-up the ingestion benches share (their knobs, a warm local stack, the raw-encode baseline)."""

from __future__ import annotations

import argparse
import random
import re
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def paragraphs() -> list[str]:
    texts = [p.read_text() for p in sorted((REPO / "docs").glob("*.md"))]
    texts += [p.read_text() for p in sorted((REPO / "tests").rglob("*.md"))]
    found = []
    for text in texts:
        for block in re.split(r"\n\s*\n", text):
            words = block.split()
            if len(words) >= 12:
                found.append(" ".join(words))
    if not found:
        raise SystemExit("no prose found under docs/ to build a corpus from")
    return found


def documents(count: int, paragraphs_per_doc: int = 6, seed: int = 7) -> list[tuple[str, str]]:
    """``count`` (name, text) pairs, each a shuffled mix of real paragraphs with a unique tag."""
    rng = random.Random(seed)
    pool = paragraphs()
    out = []
    for i in range(count):
        body = "\n\n".join(rng.choice(pool) for _ in range(paragraphs_per_doc))
        out.append((f"doc-{i:05d}.md", f"# Document {i} (tag T{i:05d})\n\n{body}"))
    return out


def ingest_arguments(description: str) -> argparse.Namespace:
    """The ingestion benches' knobs: ``--documents`` (300) and ``--repeats`` (3)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    return parser.parse_args()


@contextmanager
def warm_local_services() -> Iterator[tuple[Path, Any]]:
    """A throwaway home under /tmp and the local services on it, the embedder warmed up (its
    first call loads the model, which no rate should pay); closed and removed after."""
    from chorus.runtime.local.services import open_services
    from chorus.runtime.local.settings import LocalSettings

    with tempfile.TemporaryDirectory(prefix="chorus-bench-", dir="/tmp") as home:
        services = open_services(LocalSettings(home=Path(home)))
        services.embedder.embed(["warm up"] * 8)
        try:
            yield Path(home), services
        finally:
            services.close()


def embedded_texts(docs: Sequence[tuple[str, str]], workspace: Any) -> list[str]:
    """The very texts the ingestor embeds for ``docs`` in ``workspace``: Markdown cut at its
    headings, the heading path kept out of the embedding (title_mode "keyword")."""
    from chorus.runtime.core.chunking import split_text

    return [
        d.embed_text
        for name, text in docs
        for d in split_text(
            text, workspace.id, name, workspace.chunking, markdown=name.endswith(".md")
        )
    ]


def raw_encode_rate(embedder: Any, docs: Sequence[tuple[str, str]], workspace: Any) -> float:
    """Chunks/s of one ``embedder.embed`` over the texts the ingestor embeds for ``docs``: the
    baseline an ingest rate is held to."""
    texts = embedded_texts(docs, workspace)
    started = time.perf_counter()
    embedder.embed(texts)
    return len(texts) / (time.perf_counter() - started)
