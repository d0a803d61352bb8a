"""Embedder, Reranker and EntailmentModel ports on SageMaker endpoints running chorus'
``model_images`` code.

Requests go through boto3's ``sagemaker-runtime`` ``invoke_endpoint`` in batches no larger than
the endpoint accepts. Failures become typed chorus errors:

- the model refused the request (a ``ModelError`` whose container answer is a 4xx carrying
  ``{"code", "message"}``) → ``BadRequest`` with the endpoint's code and message;
- throttling (``ThrottlingException``, ``ModelNotReadyException``, HTTP 429) → ``Throttled``;
- timeouts → ``ProviderTimeout``; anything else → ``ProviderError``.

A 4xx ``ModelError`` *without* that code is a fault, not a bad request: the Hugging Face toolkit
reports every exception (out of memory included) as 400, and chorus' inference code marks the
requests it refuses with a code.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    ReadTimeoutError,
)

from ..core.errors import (
    BadRequest,
    ChorusError,
    PayloadTooLarge,
    ProviderError,
    ProviderTimeout,
    Throttled,
)

T = TypeVar("T")

JSON = "application/json"
DEFAULT_BATCH_SIZE = 64
THROTTLING_CODES = frozenset(
    {"ThrottlingException", "Throttling", "ModelNotReadyException", "TooManyRequestsException"}
)


def default_client(
    *,
    region_name: str | None = None,
    endpoint_url: str | None = None,
    read_timeout: float = 60.0,
    max_attempts: int = 4,
) -> Any:
    """A ``sagemaker-runtime`` client with bounded timeouts and standard retries (with backoff).

    Retries cover throttling and transient 5xx; a request the model refuses is not retried.
    """
    import boto3

    config = Config(
        connect_timeout=5,
        read_timeout=read_timeout,
        retries={"mode": "standard", "max_attempts": max_attempts},
    )
    return boto3.client(
        "sagemaker-runtime", region_name=region_name, endpoint_url=endpoint_url, config=config
    )


def _unwrap_message(text: str) -> tuple[str | None, str]:
    """(code, message) from a container's error body, looking inside JSON nested in JSON.

    Locally the body is ``{"code": "bad_request", "message": ...}``; in the Hugging Face
    container the model server wraps that string as ``{"code": 400, "type": ..., "message":
    "<that JSON>"}``. A plain-text body gives ``(None, text)``.
    """
    message: Any = text
    for _ in range(3):
        if not isinstance(message, str):
            break
        try:
            body = json.loads(message)
        except ValueError:
            break
        if not isinstance(body, dict) or "message" not in body:
            break
        code = body.get("code")
        if isinstance(code, str):
            return code, str(body["message"])
        message = body["message"]
    return None, str(message)


def error_from_client_error(exc: ClientError, endpoint_name: str) -> ChorusError:
    """Map a botocore ``ClientError`` from ``invoke_endpoint`` to a typed chorus error."""
    response: dict[str, Any] = exc.response
    error = response.get("Error", {})
    aws_code = str(error.get("Code", ""))
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if aws_code == "ModelError":
        original_status = int(response.get("OriginalStatusCode") or 0)
        code, message = _unwrap_message(
            str(response.get("OriginalMessage") or error.get("Message"))
        )
        if 400 <= original_status < 500 and code is not None:
            if code == PayloadTooLarge.code:
                return PayloadTooLarge(message)
            return BadRequest(message, code=code)
        if original_status == 429:
            return Throttled(f"SageMaker endpoint {endpoint_name} is busy: {message}")
        return ProviderError(
            f"SageMaker endpoint {endpoint_name} failed ({original_status}): {message}",
            code="model_error",
        )
    message = str(error.get("Message") or exc)
    if aws_code in THROTTLING_CODES or status == 429:
        return Throttled(f"SageMaker endpoint {endpoint_name} is throttling: {message}")
    return ProviderError(f"SageMaker endpoint {endpoint_name}: {aws_code} {message}".strip())


class SageMakerEndpoint:
    """Sends JSON to one endpoint and returns its JSON answer, raising typed chorus errors."""

    def __init__(self, endpoint_name: str, *, client: Any = None) -> None:
        self.endpoint_name = endpoint_name
        self.client = client if client is not None else default_client()

    def invoke(self, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self.client.invoke_endpoint(
                EndpointName=self.endpoint_name,
                ContentType=JSON,
                Accept=JSON,
                Body=json.dumps(payload).encode("utf-8"),
            )
            raw = response["Body"].read()
        except ClientError as exc:
            raise error_from_client_error(exc, self.endpoint_name) from exc
        except (ReadTimeoutError, ConnectTimeoutError) as exc:
            raise ProviderTimeout(
                f"SageMaker endpoint {self.endpoint_name} did not answer in time: {exc}"
            ) from exc
        except BotoCoreError as exc:
            raise ProviderError(f"SageMaker endpoint {self.endpoint_name}: {exc}") from exc
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise ProviderError(
                f"SageMaker endpoint {self.endpoint_name} answered with something other than JSON"
            ) from exc
        if not isinstance(body, dict):
            raise ProviderError(f"SageMaker endpoint {self.endpoint_name} answered {type(body)}")
        return body


def _batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _BatchedEndpointModel:
    """What the model adapters share: one endpoint, a model id for reports, and requests of at
    most ``batch_size`` items, each answered by one list entry per item."""

    def __init__(
        self,
        endpoint_name: str,
        *,
        model_id: str | None = None,
        client: Any = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._endpoint = SageMakerEndpoint(endpoint_name, client=client)
        self.model_id = model_id or endpoint_name
        self.batch_size = batch_size

    def _one_per_item(
        self, body: dict[str, Any], key: str, items: int, *, entries: str, sent: str
    ) -> list[Any]:
        """``body[key]``, checked to hold one entry per item sent (the error names the
        ``entries`` and the items ``sent``)."""
        got = body.get(key)
        if not isinstance(got, list) or len(got) != items:
            count = len(got) if isinstance(got, list) else "no"
            raise ProviderError(
                f"SageMaker endpoint {self._endpoint.endpoint_name} returned {count} {entries} "
                f"for {items} {sent}"
            )
        return got


class SageMakerEmbedder(_BatchedEndpointModel):
    """Embedder port on a SageMaker endpoint serving ``model_images/embedding``.

    The endpoint adds its configured prefix for ``kind`` and L2-normalises, so vectors match the
    in-process ``SentenceTransformerEmbedder`` for the same model.

    Parameters
    ----------
    endpoint_name:
        The SageMaker endpoint.
    dimension:
        The model's vector size; every answer is checked against it. Use ``from_endpoint`` to
        ask the endpoint instead.
    model_id:
        Recorded with stored vectors (defaults to the endpoint name).
    client:
        A ``sagemaker-runtime`` client (defaults to ``default_client()``).
    batch_size:
        Texts per request; keep it at or under the endpoint's ``CHORUS_MAX_BATCH``.
    """

    def __init__(
        self,
        endpoint_name: str,
        *,
        dimension: int,
        model_id: str | None = None,
        client: Any = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        super().__init__(endpoint_name, model_id=model_id, client=client, batch_size=batch_size)
        self.dimension = dimension

    @classmethod
    def from_endpoint(
        cls, endpoint_name: str, *, client: Any = None, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> SageMakerEmbedder:
        """Ask the endpoint (one one-text request) for its dimension and model id."""
        endpoint = SageMakerEndpoint(endpoint_name, client=client)
        body = endpoint.invoke({"inputs": ["dimension probe"], "input_type": "passage"})
        try:
            dimension = int(body["dimension"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ProviderError(f"SageMaker endpoint {endpoint_name} gave no dimension") from exc
        model_id = str(body.get("model_id") or endpoint_name)
        return cls(
            endpoint_name,
            dimension=dimension,
            model_id=model_id,
            client=endpoint.client,
            batch_size=batch_size,
        )

    def _request(self, texts: Sequence[str], kind: str) -> np.ndarray:
        body = self._endpoint.invoke({"inputs": list(texts), "input_type": kind, "normalize": True})
        try:
            vectors = np.asarray(body["vectors"], dtype=np.float32)
        except (KeyError, TypeError, ValueError) as exc:
            raise ProviderError(
                f"SageMaker endpoint {self._endpoint.endpoint_name} gave no vectors: {exc}"
            ) from exc
        if vectors.shape != (len(texts), self.dimension):
            raise ProviderError(
                f"SageMaker endpoint {self._endpoint.endpoint_name} returned vectors of shape "
                f"{vectors.shape} for {len(texts)} texts, not {self.dimension} dimensions; "
                "check the endpoint's model"
            )
        return vectors

    def embed(self, texts: Sequence[str], *, kind: str = "passage") -> np.ndarray:
        if kind not in ("query", "passage"):
            raise ValueError(f"kind must be 'query' or 'passage', not {kind!r}")
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        parts = [self._request(batch, kind) for batch in _batches(texts, self.batch_size)]
        return np.concatenate(parts, axis=0)


class SageMakerReranker(_BatchedEndpointModel):
    """Reranker port on a SageMaker endpoint serving ``model_images/cross_encoder``.

    Scores are the endpoint's default (the model's saved activation, else sigmoid — what the
    in-process ``CrossEncoderReranker`` returns) unless ``sigmoid`` forces it on or off.
    """

    def __init__(
        self,
        endpoint_name: str,
        *,
        model_id: str | None = None,
        client: Any = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        sigmoid: bool | None = None,
    ) -> None:
        super().__init__(endpoint_name, model_id=model_id, client=client, batch_size=batch_size)
        self.sigmoid = sigmoid

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        scores: list[float] = []
        for batch in _batches(passages, self.batch_size):
            payload: dict[str, Any] = {"query": query, "passages": list(batch)}
            if self.sigmoid is not None:
                payload["sigmoid"] = self.sigmoid
            body = self._endpoint.invoke(payload)
            got = self._one_per_item(body, "scores", len(batch), entries="scores", sent="passages")
            scores.extend(float(s) for s in got)
        return scores


#: the labels an NLI endpoint answers per pair (model_images/cross_encoder, NLI models)
NLI_LABELS = ("entailment", "neutral", "contradiction")


class NotAnNLIEndpoint(ProviderError):
    """The endpoint answered without NLI labels: it serves a reranker or another model.

    Retrying will not help; the judge has to point at an endpoint serving an NLI model.
    """

    code = "not_nli_model"
    retryable = False


class SageMakerEntailment(_BatchedEndpointModel):
    """EntailmentModel port (``core.model_judges``) on a SageMaker endpoint serving
    ``model_images/cross_encoder`` with an NLI model.

    Each (premise, hypothesis) pair goes out as ``{"pairs": [[premise, hypothesis], ...]}``;
    the endpoint answers ``{"labels": [{"entailment": p, "neutral": p, "contradiction": p},
    ...]}`` — softmax probabilities keyed by name, equal to what the in-process
    ``CrossEncoderEntailment`` returns for the same weights. An answer without ``labels`` (the
    endpoint serves a reranker) raises ``NotAnNLIEndpoint``.

    Parameters
    ----------
    endpoint_name:
        The SageMaker endpoint.
    model_id:
        Names the model in reports (defaults to the endpoint name).
    client:
        A ``sagemaker-runtime`` client (defaults to ``default_client()``).
    batch_size:
        Pairs per request; keep it at or under the endpoint's ``CHORUS_MAX_BATCH``.
    """

    def predict(self, pairs: Sequence[tuple[str, str]]) -> list[Mapping[str, float]]:
        probabilities: list[Mapping[str, float]] = []
        for batch in _batches(pairs, self.batch_size):
            body = self._endpoint.invoke({"pairs": [[premise, claim] for premise, claim in batch]})
            probabilities.extend(self._rows(body, len(batch)))
        return probabilities

    def _rows(self, body: dict[str, Any], expected: int) -> list[Mapping[str, float]]:
        name = self._endpoint.endpoint_name
        if "labels" not in body:
            raise NotAnNLIEndpoint(
                f"SageMaker endpoint {name} does not serve an NLI model: it answered "
                f'{sorted(body)} without "labels". Point the NLI judge at an endpoint whose '
                "model's labels name entailment and contradiction."
            )
        rows = self._one_per_item(body, "labels", expected, entries="label rows", sent="pairs")
        return [self._row(row, name) for row in rows]

    @staticmethod
    def _row(row: Any, name: str) -> Mapping[str, float]:
        try:
            if not isinstance(row, dict):
                raise TypeError(f"a label row is an object, not {type(row).__name__}")
            probabilities = {label: float(row[label]) for label in NLI_LABELS if label in row}
        except (TypeError, ValueError) as exc:
            raise ProviderError(
                f"SageMaker endpoint {name} returned a malformed label row {row!r}"
            ) from exc
        if "entailment" not in probabilities or "contradiction" not in probabilities:
            raise ProviderError(
                f"SageMaker endpoint {name} returned a label row without entailment and "
                f"contradiction: {row!r}"
            )
        return probabilities
