"""Typed errors with stable codes.

Every error that can reach a user carries a ``code`` that clients switch on (the chat protocol's
``error`` event and the REST API's 4xx bodies use it verbatim) and a human message that says what
was wrong and what to do about it.
"""

from __future__ import annotations


class ChorusError(Exception):
    """Base class of every error chorus raises on purpose."""

    code: str = "internal_error"
    http_status: int = 500

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class BadRequest(ChorusError):
    """The caller sent something malformed; nothing was changed."""

    code = "bad_request"
    http_status = 400


class PayloadTooLarge(BadRequest):
    code = "payload_too_large"
    http_status = 413


class NotFound(ChorusError):
    code = "not_found"
    http_status = 404


class Conflict(ChorusError):
    code = "conflict"
    http_status = 409


class Forbidden(ChorusError):
    code = "forbidden"
    http_status = 403


class UnsupportedDocument(ChorusError):
    """A file that cannot be ingested: unknown type, binary, empty or oversize.

    Ingestion skips such a file with this reason and carries on with the rest of the batch.
    """

    code = "unsupported_document"
    http_status = 415


class UnsupportedStore(ChorusError):
    """A workspace asks for a store this deployment does not offer."""

    code = "unsupported_store"
    http_status = 400


class ReadOnlyStore(ChorusError):
    """A write reached a store that is fed by something else (Kendra's data source, a Bedrock
    knowledge base's sync)."""

    code = "read_only_store"
    http_status = 409


class UnsupportedOperation(ChorusError):
    """The store cannot do this; a capability flag says so and the caller should check it."""

    code = "unsupported_operation"
    http_status = 501


class IngestError(ChorusError):
    code = "ingest_failed"


class ProviderError(ChorusError):
    """An LLM, embedding or reranking provider failed; ``code`` says how.

    ``retryable`` says whether the same request may succeed later (throttling, a transient
    fault) or would fail the same way (a rejected request); resilience retries only the former.
    """

    code = "provider_unavailable"
    http_status = 502
    retryable: bool = True

    def __init__(
        self, message: str, *, code: str | None = None, retryable: bool | None = None
    ) -> None:
        super().__init__(message, code=code)
        if retryable is not None:
            self.retryable = retryable


class Throttled(ProviderError):
    code = "throttled"
    http_status = 429


class ProviderTimeout(ProviderError):
    code = "timeout"
    http_status = 504
    retryable = False  # the deadline is spent


class ContextTooLong(ProviderError):
    code = "context_too_long"
    http_status = 400
    retryable = False
