"""The HTML report of ``chorus eval answers``: headline figures, plots, questions worst first.

One self-contained file (plots inlined as SVG, no script, no network) that can be attached to
a CI run or stored next to the JSON. The plots are drawn with matplotlib (imported only here,
on its non-interactive Agg backend): the distribution of per-question quality, grounding shares
per question, and the latency distribution (first token and final).
"""

from __future__ import annotations

import html
import io
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["render_report"]

_COLUMNS = (
    ("id", "id"),
    ("quality", "quality"),
    ("hit", "hit@k"),
    ("ndcg@10", "nDCG@10"),
    ("citation_precision", "cit. precision"),
    ("citation_recall", "cit. recall"),
    ("supported", "supported"),
    ("contradicted", "contradicted"),
    ("similarity", "similarity"),
    ("refusal_correct", "refusal ok"),
    ("final_ms", "final ms"),
)


def _svg(figure: Any) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _plots(questions: Sequence[Mapping[str, Any]]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots = []
    figure, axes = plt.subplots(figsize=(5, 3))
    axes.hist([q["quality"] for q in questions], bins=10, range=(0, 1), color="#4c72b0")
    axes.set(title="Quality per question", xlabel="quality (mean of scores)", ylabel="questions")
    plots.append(_svg(figure))

    ids = [q["id"] for q in questions]
    shares = {
        name: [q[name] or 0.0 for q in questions]
        for name in ("supported", "unsupported", "contradicted")
    }
    figure, axes = plt.subplots(figsize=(max(5, 0.35 * len(ids)), 3))
    bottom = [0.0] * len(ids)
    for name, colour in (
        ("supported", "#55a868"),
        ("unsupported", "#dd8452"),
        ("contradicted", "#c44e52"),
    ):
        axes.bar(ids, shares[name], bottom=bottom, label=name, color=colour)
        bottom = [b + s for b, s in zip(bottom, shares[name], strict=True)]
    axes.set(title="Grounding of each answer (share of words)", ylim=(0, 1))
    axes.tick_params(axis="x", labelrotation=90)
    axes.legend(fontsize="small")
    plots.append(_svg(figure))

    figure, axes = plt.subplots(figsize=(5, 3))
    firsts = [q["first_token_ms"] for q in questions if q["first_token_ms"] is not None]
    finals = [q["final_ms"] for q in questions]
    axes.boxplot([firsts or [0.0], finals], tick_labels=["first token", "final"])
    axes.set(title="Latency", ylabel="ms")
    plots.append(_svg(figure))
    return plots


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}"
    return html.escape(str(value))


def render_report(report: Mapping[str, Any], *, plots: bool = True) -> str:
    """The report as one HTML page (questions in the report's order: worst first).

    ``plots=False`` leaves the plots out (where matplotlib is not installed: the Lambda
    layer does not ship it); the figures and the table are the same."""
    k = report["k"]
    overall = report["overall"]
    questions = report["questions"]
    synthetic = report.get("synthetic", 0)
    rows = []
    for q in questions:
        values = {**q, "hit": q.get(f"hit@{k}")}
        cells = "".join(f"<td>{_cell(values.get(key))}</td>" for key, _ in _COLUMNS)
        flag = " <b>synthetic</b>" if q.get("synthetic") else ""
        rows.append(
            f"<tr>{cells}</tr><tr class='detail'><td colspan='{len(_COLUMNS)}'>"
            f"<b>Q</b> {html.escape(q['question'])}{flag}<br><b>A</b> "
            f"{html.escape(q['answer'] or q.get('error') or '')}</td></tr>"
        )
    headline = "".join(
        f"<tr><th>{html.escape(name)}</th><td>{_cell(value)}</td></tr>"
        for name, value in _flat(overall)
    )
    header = "".join(f"<th>{html.escape(title)}</th>" for _, title in _COLUMNS)
    note = (
        f"<p class='warn'>{synthetic} of {report['cases']} questions are generated "
        "(synthetic): read their scores with care.</p>"
        if synthetic
        else ""
    )
    models = ", ".join(report.get("models") or []) or "default"
    plotted = (
        "".join(_plots(questions))
        if plots
        else "<p>Plots are drawn where matplotlib is installed (<code>chorus eval answers "
        "--report</code>); this report was rendered without it.</p>"
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>chorus eval answers</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 2px 6px; }}
tr.detail td {{ color: #555; font-size: 90%; }} .warn {{ color: #a33; }}
.plots svg {{ max-width: 100%; height: auto; }}
</style></head><body>
<h1>chorus eval answers</h1>
<p>mode {html.escape(report["mode"])}, models {html.escape(models)}; {report["cases"]} questions
({report["unanswerable"]} unanswerable), {report["errors"]} errors.</p>
{note}
<h2>Overall</h2><table>{headline}</table>
<h2>Plots</h2><div class="plots">{plotted}</div>
<h2>Questions, worst first</h2>
<table><tr>{header}</tr>{"".join(rows)}</table>
</body></html>
"""


def _flat(values: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in values.items():
        if isinstance(value, Mapping):
            out.extend(_flat(value, f"{prefix}{key}."))
        else:
            out.append((f"{prefix}{key}", value))
    return out
