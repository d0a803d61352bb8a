"""The laptop's sink keeps count, sum, mean, percentiles and max per metric and dimensions."""

from __future__ import annotations

from chorus.runtime.adapters.inprocess_metrics import InProcessMetrics, percentile
from chorus.runtime.core.metrics import Unit


def test_a_series_aggregates_its_values():
    sink = InProcessMetrics()
    for ms in (100, 200, 300, 400):
        sink.record("ModelLatency", ms, Unit.MILLISECONDS, {"Model": "a"})

    row = sink.series("ModelLatency", Model="a")
    assert row is not None
    assert (row["count"], row["sum"], row["mean"], row["max"]) == (4, 1000, 250, 400)
    assert (row["p50"], row["p95"]) == (200, 400)
    assert row["unit"] == "Milliseconds"


def test_a_rollup_also_counts_under_no_dimension():
    sink = InProcessMetrics()
    sink.record("Turns", 1, Unit.COUNT, {"Mode": "single"}, rollup=True)
    sink.record("Turns", 1, Unit.COUNT, {"Mode": "consensus"}, rollup=True)

    assert sink.series("Turns")["count"] == 2
    assert sink.series("Turns", Mode="single")["count"] == 1


def test_reset_forgets_everything():
    sink = InProcessMetrics()
    sink.record("Turns", 1, Unit.COUNT)
    sink.reset()
    assert sink.snapshot() == []


def test_nearest_rank_percentiles():
    assert percentile([5.0], 95) == 5.0
    assert percentile([float(v) for v in range(1, 101)], 95) == 95.0
