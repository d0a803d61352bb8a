"""The EMF sink writes one CloudWatch EMF line per dimension set, in the ``chorus`` namespace."""

from __future__ import annotations

import json

from chorus.runtime.adapters.emf_metrics import EmfMetrics
from chorus.runtime.core.metrics import Unit


def lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_figures_are_buffered_until_flush(capsys):
    sink = EmfMetrics()
    sink.record("Turns", 1, Unit.COUNT)

    assert capsys.readouterr().out == ""
    sink.flush()
    [line] = lines(capsys.readouterr().out)
    directive = line["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "chorus"
    assert directive["Dimensions"] == [["service"]]
    assert directive["Metrics"] == [{"Name": "Turns", "Unit": "Count"}]
    assert line["Turns"] == [1.0]


def test_a_rollup_publishes_the_value_per_dimension_and_for_the_service(capsys):
    sink = EmfMetrics()
    sink.record("TurnLatency", 250.0, Unit.MILLISECONDS, {"Mode": "cascade"}, rollup=True)
    sink.flush()

    [line] = lines(capsys.readouterr().out)
    dimensions = line["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    assert sorted(map(sorted, dimensions)) == [["Mode", "service"], ["service"]]
    assert (line["Mode"], line["service"], line["TurnLatency"]) == ("cascade", "chorus", [250.0])


def test_each_dimension_value_gets_its_own_line_and_a_flush_starts_afresh(capsys):
    sink = EmfMetrics()
    sink.record("ModelLatency", 100.0, Unit.MILLISECONDS, {"Model": "a"})
    sink.record("ModelLatency", 120.0, Unit.MILLISECONDS, {"Model": "a"})
    sink.record("ModelLatency", 300.0, Unit.MILLISECONDS, {"Model": "b"})
    sink.flush()
    sink.flush()

    emitted = lines(capsys.readouterr().out)
    assert {line["Model"]: line["ModelLatency"] for line in emitted} == {
        "a": [100.0, 120.0],
        "b": [300.0],
    }
