"""A reproducible synthetic corpus for the benchmarks, built from the repo's own prose."""

from __future__ import annotations

import random
import re
from pathlib import Path

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
