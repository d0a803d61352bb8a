"""The fan-out workflow's Lambda tasks: which answerers they use, and how their errors are named.

Step Functions matches a Lambda task's ``Retry`` and ``Catch`` on the error *type*, which the
Python runtime sets to the raised exception's class name (``type(exc).__name__``). The ASL
(``core/stepfunctions_plan.py``) retries ``Throttled``, ``ProviderError`` and
``ThrottlingException``, lets ``ContextTooLong`` and ``ProviderTimeout`` through to ``Catch``,
and ``fanout_agreement_task`` maps those names to the protocol's codes. Providers raise subclasses
(``RateLimited``, ``CircuitOpen``, a ``ProviderError`` marked ``retryable = False`` ...), so the
model task re-raises each error under the name the workflow must see.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..core.errors import ContextTooLong, ProviderError, ProviderTimeout, Throttled
from ..core.stepfunctions_plan import (
    PROVIDER_RETRY_ERRORS,
    fanout_agreement_task,
    fanout_model_task,
)

if TYPE_CHECKING:
    from .wiring.models import ModelWiring


class ProviderRejected(ProviderError):
    """A provider refused the request for good (not throttling, not a fault): retrying the same
    call would fail the same way, so it must not carry a name the workflow retries."""

    retryable = False


def workflow_error(error: BaseException) -> BaseException:
    """``error`` under the class name the workflow's ``Retry``/``Catch`` and the agreement task
    expect; the original is kept as ``__cause__``.

    - any ``ContextTooLong`` → ``ContextTooLong`` (not retried, code ``context_too_long``);
    - any ``ProviderTimeout`` → ``ProviderTimeout`` (not retried, code ``timeout``);
    - any ``Throttled`` (chorus' own ``RateLimited`` too: the next invocation may find a free
      slot) → ``Throttled`` (retried with full jitter, code ``throttled``);
    - a retryable ``ProviderError`` → ``ProviderError`` (retried);
    - a ``ProviderError`` that must not be retried keeps its own name (``CircuitOpen`` ...),
      or becomes ``ProviderRejected`` when its name is one the workflow retries;
    - anything else (an unknown model, a bug) is left alone: not retried, caught as
      ``provider_unavailable``.
    """
    if not isinstance(error, ProviderError):
        return error
    for kind in (ContextTooLong, ProviderTimeout, Throttled):
        if isinstance(error, kind):
            return error if type(error) is kind else _renamed(kind, error)
    if error.retryable:
        return error if type(error) is ProviderError else _renamed(ProviderError, error)
    if type(error).__name__ in PROVIDER_RETRY_ERRORS:
        return _renamed(ProviderRejected, error)
    return error


def _renamed(kind: type[ProviderError], error: ProviderError) -> ProviderError:
    renamed = kind(error.message, code=error.code)
    renamed.retryable = error.retryable
    renamed.__cause__ = error
    return renamed


def ask_model(services: ModelWiring, event: Mapping[str, Any]) -> dict[str, Any]:
    """``AskOneModel``: one model answers; failures raise under their workflow name."""
    try:
        return fanout_model_task(event, services.fanout_answerers, services.prices)
    except Exception as exc:
        renamed = workflow_error(exc)
        if renamed is exc:
            raise
        raise renamed from exc


def score_agreement(services: ModelWiring, event: Mapping[str, Any]) -> dict[str, Any]:
    """``ScoreAgreement``: agreement, medoid and grounding over the models' results."""
    return fanout_agreement_task(event, services.agreement, services.grounding)
