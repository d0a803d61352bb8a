"""The Powertools logger, tracer and metrics every handler shares (service ``chorus``).

Powertools objects hold no AWS client; the logger and metrics are created at import, as the
library expects. The tracer is built with the first invocation instead: building a Powertools
``Tracer`` imports the X-Ray SDK, whose recorder loads botocore's session and client machinery
(~440 modules, 1–2 s of a cold import on the build machine), and patches botocore. Built at the
start of the first invocation — before the wiring creates any client — it patches and records
the same calls, and a function's import stays on what it runs. Outside Lambda the tracer is a
no-op, as before. Metrics go out as CloudWatch EMF lines in the log, in the ``chorus``
namespace the functions' IAM condition allows.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer

F = TypeVar("F", bound=Callable[..., Any])


class FirstCallTracer:
    """A Powertools ``Tracer`` built on first use (``get``), not at import.

    ``capture_lambda_handler`` wraps the handler at import and applies Powertools' decorator on
    the first invocation, so every invocation, the first included, runs in its
    ``## <handler>`` subsegment with the cold-start annotation. Any other attribute is the
    built tracer's.
    """

    def __init__(self, service: str) -> None:
        self.service = service
        self._tracer: Tracer | None = None
        self._lock = threading.Lock()

    @property
    def built(self) -> bool:
        """Whether the Powertools tracer (and with it the X-Ray SDK) has been built."""
        return self._tracer is not None

    def get(self) -> Tracer:
        with self._lock:
            if self._tracer is None:
                self._tracer = Tracer(service=self.service)
            return self._tracer

    def capture_lambda_handler(self, handler: F) -> F:
        traced: Callable[..., Any] | None = None

        @functools.wraps(handler)
        def handle(event: Any, context: Any) -> Any:
            nonlocal traced
            if traced is None:
                traced = self.get().capture_lambda_handler(handler)
            return traced(event, context)

        return handle  # type: ignore[return-value]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)


logger = Logger(service="chorus")
tracer = FirstCallTracer(service="chorus")
metrics = Metrics(namespace="chorus", service="chorus")
