"""The handlers' tracer is built with the first invocation, not at import (the X-Ray SDK loads
botocore's session and client: over a second of a cold import), and traces every invocation,
the first included."""

from __future__ import annotations

from types import SimpleNamespace

from chorus.runtime.handlers.observability import FirstCallTracer


def test_wrapping_a_handler_builds_no_tracer():
    tracer = FirstCallTracer(service="chorus")
    tracer.capture_lambda_handler(lambda event, context: event)
    assert tracer.built is False


def test_the_first_invocation_builds_the_tracer_and_answers():
    tracer = FirstCallTracer(service="chorus")
    handler = tracer.capture_lambda_handler(lambda event, context: {"echo": event["n"]})
    assert handler({"n": 1}, SimpleNamespace(aws_request_id="r1")) == {"echo": 1}
    assert tracer.built is True


def test_every_invocation_runs_the_handler_once():
    calls: list[int] = []
    tracer = FirstCallTracer(service="chorus")
    handler = tracer.capture_lambda_handler(lambda event, context: calls.append(event["n"]))
    for n in range(3):
        handler({"n": n}, None)
    assert calls == [0, 1, 2]


def test_the_wrapped_handler_keeps_its_name():
    def handler(event, context):
        return None

    assert FirstCallTracer(service="chorus").capture_lambda_handler(handler).__name__ == "handler"


def test_other_attributes_are_the_built_tracers():
    tracer = FirstCallTracer(service="chorus")
    assert tracer.disabled is True  # outside Lambda the Powertools tracer is a no-op
    assert tracer.built is True
