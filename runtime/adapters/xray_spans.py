"""X-Ray subsegments for the core's spans (retrieve, each model call, grounding, store writes).

Uses the Powertools tracer (its configuration is shared by every ``Tracer`` instance), so
outside Lambda, or with ``POWERTOOLS_TRACE_DISABLED``, a span records nothing. A span is never
allowed to fail the work it measures: a thread with no X-Ray segment (a consensus model's
worker thread) just goes unrecorded.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from aws_lambda_powertools import Tracer

from ..core.metrics import SERVICE


class XRaySpans:
    """``Spans`` as X-Ray subsegments named ``## <name>`` with the given annotations."""

    def __init__(self, tracer: Tracer | None = None) -> None:
        self.tracer = tracer or Tracer(service=SERVICE)

    @contextlib.contextmanager
    def span(self, name: str, annotations: Mapping[str, str] | None = None) -> Iterator[Any]:
        if self.tracer.disabled:
            yield None
            return
        manager: Any = None
        subsegment: Any = None
        try:
            manager = self.tracer.provider.in_subsegment(f"## {name}")
            subsegment = manager.__enter__()
        except Exception:  # no segment in this thread: measure nothing, fail nothing
            manager = subsegment = None
        if subsegment is not None:
            with contextlib.suppress(Exception):
                for key, value in (annotations or {}).items():
                    subsegment.put_annotation(key, value)
        try:
            yield subsegment
        finally:
            if manager is not None:
                with contextlib.suppress(Exception):
                    manager.__exit__(*sys.exc_info())
