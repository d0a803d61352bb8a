"""X-Ray spans never fail the work they measure."""

from __future__ import annotations

import contextlib

import pytest
from chorus.runtime.adapters.xray_spans import XRaySpans


class Subsegment:
    def __init__(self) -> None:
        self.annotations: dict[str, str] = {}
        self.closed_with: type[BaseException] | str | None = "open"

    def put_annotation(self, key: str, value: str) -> None:
        self.annotations[key] = value


class Provider:
    """The X-Ray provider's ``in_subsegment`` shape (aws_lambda_powertools BaseProvider)."""

    def __init__(self, *, has_segment: bool) -> None:
        self.has_segment = has_segment
        self.opened: list[tuple[str, Subsegment]] = []

    @contextlib.contextmanager
    def in_subsegment(self, name: str):
        if not self.has_segment:
            raise RuntimeError("cannot find the current segment/subsegment")
        subsegment = Subsegment()
        self.opened.append((name, subsegment))
        try:
            yield subsegment
        except BaseException as exc:
            subsegment.closed_with = type(exc)
            raise
        else:
            subsegment.closed_with = None


class EnabledTracer:
    disabled = False

    def __init__(self, provider: Provider) -> None:
        self.provider = provider


def test_a_span_is_a_subsegment_with_its_annotations():
    provider = Provider(has_segment=True)

    with XRaySpans(EnabledTracer(provider)).span("model_call", {"model": "claude"}):
        pass

    [(name, subsegment)] = provider.opened
    assert name == "## model_call"
    assert subsegment.annotations == {"model": "claude"}
    assert subsegment.closed_with is None


def test_a_failing_span_records_the_error_and_reraises_it():
    provider = Provider(has_segment=True)

    with pytest.raises(ValueError), XRaySpans(EnabledTracer(provider)).span("grounding"):
        raise ValueError("judge failed")

    assert provider.opened[0][1].closed_with is ValueError


def test_a_thread_without_a_segment_runs_its_work_unrecorded():
    spans = XRaySpans(EnabledTracer(Provider(has_segment=False)))

    done = []
    with spans.span("model_call", {"model": "claude"}) as subsegment:
        done.append(True)
    assert done == [True] and subsegment is None


def test_a_disabled_tracer_records_nothing_and_passes_errors_through():
    tracer = EnabledTracer(Provider(has_segment=True))
    tracer.disabled = True  # outside Lambda, or POWERTOOLS_TRACE_DISABLED
    spans = XRaySpans(tracer)  # type: ignore[arg-type]

    with spans.span("retrieve", {"workspace": "ops"}) as subsegment:
        assert subsegment is None
    with pytest.raises(ValueError), spans.span("answer"):
        raise ValueError("the work's own error")
