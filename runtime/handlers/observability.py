"""The Powertools logger, tracer and metrics every handler shares (service ``chorus``).

Powertools objects hold no AWS client: creating them at import is what the library expects, and
the X-Ray tracer is a no-op outside Lambda. Metrics go out as CloudWatch EMF lines in the log, in
the ``chorus`` namespace the functions' IAM condition allows.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="chorus")
tracer = Tracer(service="chorus")
metrics = Metrics(namespace="chorus", service="chorus")
