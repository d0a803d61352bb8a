"""The cloud's metrics sink: CloudWatch Embedded Metric Format lines through Powertools.

Figures are buffered per dimension set and written as one EMF line per set on ``flush()`` (the
chat service flushes after every turn, the ingestor after every document, the handlers at the
end of each invocation), so a turn costs a handful of log lines, not one per figure. CloudWatch
turns the lines into metrics in the ``chorus`` namespace; nothing calls the CloudWatch API.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from aws_lambda_powertools.metrics import EphemeralMetrics

from ..core.metrics import NAMESPACE, SERVICE, Unit

_GroupKey = tuple[tuple[tuple[str, str], ...], bool]


class EmfMetrics:
    """A ``MetricsSink`` writing EMF to stdout (where Lambda sends it to CloudWatch Logs).

    Parameters
    ----------
    namespace, service:
        The namespace and ``service`` dimension (chorus's defaults: ``chorus`` / ``chorus``).
    """

    def __init__(self, namespace: str = NAMESPACE, service: str = SERVICE) -> None:
        self.namespace = namespace
        self.service = service
        self._groups: dict[_GroupKey, EphemeralMetrics] = {}
        self._lock = threading.Lock()

    def record(
        self,
        name: str,
        value: float,
        unit: Unit,
        dimensions: Mapping[str, str] | None = None,
        *,
        rollup: bool = False,
    ) -> None:
        dims = tuple(sorted((dimensions or {}).items()))
        key = (dims, rollup and bool(dims))
        with self._lock:
            group = self._groups.get(key)
            if group is None:
                group = EphemeralMetrics(namespace=self.namespace, service=self.service)
                for dim, dim_value in dims:
                    group.add_dimension(name=dim, value=dim_value)
                if key[1]:  # the same values also under the service alone
                    group.add_dimensions(service=self.service)
                self._groups[key] = group
            group.add_metric(name=str(name), unit=str(unit), value=float(value))

    def flush(self) -> None:
        """Write every buffered dimension set as one EMF line and start afresh."""
        with self._lock:
            groups, self._groups = list(self._groups.values()), {}
        for group in groups:
            if group.metric_set:
                group.flush_metrics()
