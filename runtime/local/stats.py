"""The laptop's operations figures: what the cloud dashboard shows, from this process.

``GET /api/stats`` answers ``operations_summary`` of the server's in-process metrics (latency
per model, cost per turn, retries, cache hits, ingest); ``chorus stats`` prints it as a table.
No user data is in it (counts and timings by mode, model, store), so it needs no sign-in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..adapters.inprocess_metrics import InProcessMetrics

MODEL_FIGURES = {
    "ModelLatency": "latencyMs",
    "ModelRetries": "retries",
    "ModelThrottles": "throttles",
    "ModelBreakerOpens": "breakerOpens",
    "ModelErrors": "errors",
    "ModelInputTokens": "inputTokens",
    "ModelOutputTokens": "outputTokens",
    "ModelCost": "cost",
    "ModelGrounding": "grounding",
    "ModelAgreement": "agreement",
}
"""Per-model metric → its key in the summary."""


def _latency(row: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"count": row["count"], "p50": row["p50"], "p95": row["p95"], "max": row["max"]}


def operations_summary(snapshot: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Turns, models, retrieval, cache and ingest figures from ``InProcessMetrics.snapshot()``."""
    rows: dict[tuple[str, tuple[tuple[str, str], ...]], Mapping[str, Any]] = {
        (r["metric"], tuple(sorted(r["dimensions"].items()))): r for r in snapshot
    }

    def total(name: str) -> float:
        row = rows.get((name, ()))
        return row["sum"] if row else 0

    def by(name: str, dimension: str) -> dict[str, Mapping[str, Any]]:
        return {
            dict(dims)[dimension]: row
            for (metric, dims), row in rows.items()
            if metric == name and len(dims) == 1 and dims[0][0] == dimension
        }

    turns = int(total("Turns"))
    cost = rows.get(("TurnCost", ()))
    models: dict[str, dict[str, Any]] = {}
    for metric, key in MODEL_FIGURES.items():
        for model, row in by(metric, "Model").items():
            entry = models.setdefault(model, {})
            if metric == "ModelLatency":
                entry[key] = _latency(row)
                entry["calls"] = row["count"]
            elif metric in ("ModelGrounding", "ModelAgreement"):
                entry[key] = row["mean"]
            else:
                entry[key] = row["sum"]
    return {
        "turns": {
            "count": turns,
            "errors": int(total("TurnErrors")),
            "byMode": {m: int(r["sum"]) for m, r in by("Turns", "Mode").items()},
            "byOutcome": {o: int(r["sum"]) for o, r in by("Turns", "Outcome").items()},
            "latencyMs": _latency(rows.get(("TurnLatency", ()))),
            "firstTokenMs": _latency(rows.get(("TurnFirstTokenLatency", ()))),
            "costPerTurn": round(cost["mean"], 6) if cost else None,
            "cost": round(cost["sum"], 6) if cost else 0.0,
        },
        "models": models,
        "retrieval": {s: _latency(r) for s, r in by("RetrievalLatency", "Store").items()},
        "cache": {"hits": int(total("CacheHits")), "misses": int(total("CacheMisses"))},
        "ingest": {
            "documents": int(total("IngestDocuments")),
            "byOutcome": {o: int(r["sum"]) for o, r in by("IngestDocuments", "Outcome").items()},
            "chunks": int(total("IngestChunks")),
            "seconds": round(total("IngestSeconds"), 3),
            "failures": {k: int(r["sum"]) for k, r in by("IngestFailures", "Reason").items()},
        },
    }


def stats_endpoint(metrics: InProcessMetrics) -> Callable[[Request], Awaitable[Response]]:
    """The ``GET /api/stats`` handler over the server's metrics."""

    async def stats(request: Request) -> Response:
        return JSONResponse(operations_summary(metrics.snapshot()))

    return stats


def _ms(latency: Mapping[str, Any] | None) -> str:
    if not latency:
        return "-"
    return f"p50 {latency['p50']:.0f} / p95 {latency['p95']:.0f} ms"


def format_summary(summary: Mapping[str, Any]) -> str:
    """The summary as the plain-text table ``chorus stats`` prints."""
    t = summary["turns"]
    lines = [
        f"turns          {t['count']} ({t['errors']} errors)  "
        + "  ".join(f"{k}: {v}" for k, v in sorted(t["byOutcome"].items())),
        f"latency        first token {_ms(t['firstTokenMs'])}; final {_ms(t['latencyMs'])}",
        f"cost           ${t['cost']:.6f} total"
        + (f", ${t['costPerTurn']:.6f} per turn" if t["costPerTurn"] is not None else ""),
        f"cache          {summary['cache']['hits']} hits, {summary['cache']['misses']} misses",
    ]
    for store, latency in sorted(summary["retrieval"].items()):
        lines.append(f"retrieval      {store}: {_ms(latency)}")
    if summary["models"]:
        lines.append("")
        lines.append(
            f"{'model':<40} {'calls':>5} {'p50 ms':>8} {'p95 ms':>8} {'retries':>7} "
            f"{'throttles':>9} {'cost $':>10} {'grounding':>9}"
        )
        for model, m in sorted(summary["models"].items()):
            latency = m.get("latencyMs") or {}
            grounding = m.get("grounding")
            lines.append(
                f"{model[:40]:<40} {m.get('calls', 0):>5} {latency.get('p50', 0):>8.0f} "
                f"{latency.get('p95', 0):>8.0f} {m.get('retries', 0):>7.0f} "
                f"{m.get('throttles', 0):>9.0f} {m.get('cost', 0):>10.6f} "
                f"{'-' if grounding is None else f'{grounding:.2f}':>9}"
            )
    i = summary["ingest"]
    lines.append("")
    lines.append(
        f"ingest         {i['documents']} documents, {i['chunks']} chunks, {i['seconds']} s"
        + (
            "; failures: " + ", ".join(f"{k} {v}" for k, v in sorted(i["failures"].items()))
            if i["failures"]
            else ""
        )
    )
    return "\n".join(lines)
