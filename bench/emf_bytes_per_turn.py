"""Bytes of CloudWatch EMF one chat turn writes (what its metrics cost in log ingestion).

Run: ``python bench/emf_bytes_per_turn.py``. Prints lines and bytes for a single-model turn
and a three-model consensus turn, as the chat worker would flush them.
"""

from __future__ import annotations

import contextlib
import io

from chorus.runtime.adapters.emf_metrics import EmfMetrics
from chorus.runtime.core.metrics import OperationsMetrics


def answer(model: str) -> dict:
    return {
        "model": model,
        "latencyMs": 800.0,
        "cost": 0.0003,
        "grounding": 0.9,
        "agreement": 0.8,
        "usage": {"inputTokens": 1200, "outputTokens": 90},
    }


def emitted(models: list[str], mode: str) -> tuple[int, int]:
    final = {
        "type": "final",
        "cached": False,
        "cost": 0.0003 * len(models),
        "latencyMs": {"total": 900.0, "firstToken": 300.0},
        "answers": [answer(m) for m in models],
        "judge": None,
    }
    ops = OperationsMetrics(EmfMetrics())
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        ops.cache_lookup(False)
        ops.retrieval("DynamoDBVectorStore", 40.0)
        ops.turn(final, mode)
        ops.flush()
    text = out.getvalue()
    return len(text.splitlines()), len(text.encode())


if __name__ == "__main__":
    for mode, models in (
        ("single", ["anthropic.claude-3-haiku-20240307-v1:0"]),
        ("consensus", ["claude-haiku", "claude-sonnet", "gpt-4o-mini"]),
    ):
        lines, size = emitted(models, mode)
        print(f"{mode:<10} {len(models)} model(s): {lines} EMF lines, {size} bytes")
