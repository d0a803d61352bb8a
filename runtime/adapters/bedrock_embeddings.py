"""Embedder port on Amazon Bedrock: Titan Text Embeddings and Cohere Embed, through InvokeModel.

The two families differ in what one request carries:

- **Titan** (``amazon.titan-embed-text-v2:0``, ``amazon.titan-embed-text-v1``) embeds one text per
  request — ``{"inputText", "dimensions", "normalize"}`` → ``{"embedding",
  "inputTextTokenCount"}`` — so a batch is sent as concurrent requests (``max_workers``). v2
  offers 256, 512 or 1024 dimensions (default 1024); v1 always 1536. Titan has no query/passage
  distinction.
- **Cohere** (``cohere.embed-english-v3``, ``cohere.embed-multilingual-v3``,
  ``cohere.embed-v4:0``) embeds up to 96 texts per request — ``{"texts", "input_type":
  "search_query" | "search_document", "truncate": "END", "embedding_types": ["float"]}`` →
  ``{"embeddings": {"float": [[...]]}}`` — and distinguishes queries from passages, which is what
  the port's ``kind`` means. v3 has 1024 dimensions; v4 takes ``output_dimension`` (256, 512, 1024
  or 1536, default 1536).

Vectors are L2-normalised here (Cohere's are not; Titan's are when asked) so cosine is a dot
product, as the port promises. The client should retry throttling itself (botocore's standard
mode): an ingest embeds hundreds of texts, and one throttled request must not fail the document.
Failures become the provider errors of ``adapters/bedrock.py``.

Tested with botocore's Stubber against the documented request and response bodies (no Bedrock
here): ``tests/runtime/adapters/test_bedrock_embeddings.py``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ..core.errors import ProviderError
from .bedrock import error_from_client_error
from .botocore_errors import ProviderErrors

COHERE_BATCH = 96
"""Texts per Cohere Embed request (the model's limit)."""

COHERE_MAX_CHARS = 2048
"""Cohere v3 refuses longer texts unless told to truncate; ``truncate: END`` cuts them."""

TITAN_V2_DIMENSIONS = (256, 512, 1024)
COHERE_V4_DIMENSIONS = (256, 512, 1024, 1536)


def default_dimension(model_id: str) -> int:
    """The vector size a model returns when not told otherwise."""
    family = _family(model_id)
    if family == "titan-v1":
        return 1536
    if family == "cohere-v4":
        return 1536
    return 1024


def _family(model_id: str) -> str:
    name = model_id.split("/")[-1]  # an inference-profile or model ARN ends in the id
    if "titan-embed-text-v2" in name:
        return "titan-v2"
    if "titan-embed-text-v1" in name or "titan-embed-g1-text" in name:
        return "titan-v1"
    if "cohere.embed-v4" in name:
        return "cohere-v4"
    if "cohere.embed-" in name:
        return "cohere-v3"
    raise ValueError(
        f"{model_id!r} is not a Bedrock embedding model chorus knows: use amazon.titan-embed-text-"
        "v2:0, amazon.titan-embed-text-v1, cohere.embed-english-v3, cohere.embed-multilingual-v3 "
        "or cohere.embed-v4:0"
    )


class BedrockEmbedder:
    """Embedder port on a Bedrock embedding model.

    Parameters
    ----------
    model_id:
        The Bedrock model id (or an inference-profile / model ARN ending in one).
    dimension:
        The vector size to ask for (Titan v2, Cohere v4) or to expect; default: the model's.
    client:
        A ``bedrock-runtime`` client (retrying throttling: botocore's standard mode).
    max_workers:
        Concurrent requests for Titan, which embeds one text per request.
    """

    def __init__(
        self,
        model_id: str,
        *,
        dimension: int | None = None,
        client: Any = None,
        max_workers: int = 8,
    ) -> None:
        self.family = _family(model_id)
        self.dimension = dimension or default_dimension(model_id)
        allowed = {
            "titan-v2": TITAN_V2_DIMENSIONS,
            "cohere-v4": COHERE_V4_DIMENSIONS,
            "titan-v1": (1536,),
            "cohere-v3": (1024,),
        }[self.family]
        if self.dimension not in allowed:
            raise ValueError(
                f"{model_id} returns vectors of {' or '.join(map(str, allowed))} dimensions, "
                f"not {self.dimension}"
            )
        if client is None:
            import boto3

            client = boto3.client("bedrock-runtime")
        self.client = client
        self.model_id = model_id
        self.max_workers = max(1, max_workers)

    def embed(self, texts: Sequence[str], *, kind: str = "passage") -> np.ndarray:
        if kind not in ("query", "passage"):
            raise ValueError(f"kind must be 'query' or 'passage', not {kind!r}")
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self.family.startswith("titan"):
            rows = self._titan(texts)
        else:
            rows = [
                row
                for start in range(0, len(texts), COHERE_BATCH)
                for row in self._cohere(texts[start : start + COHERE_BATCH], kind)
            ]
        vectors = np.asarray(rows, dtype=np.float32)
        if vectors.shape != (len(texts), self.dimension):
            raise ProviderError(
                f"Bedrock {self.model_id} returned vectors of shape {vectors.shape} for "
                f"{len(texts)} texts, not {self.dimension} dimensions"
            )
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms == 0, 1.0, norms)

    # -- the two request shapes ------------------------------------------------------------------

    def _titan(self, texts: Sequence[str]) -> list[list[float]]:
        def one(text: str) -> list[float]:
            body: dict[str, Any] = {"inputText": text}
            if self.family == "titan-v2":
                body.update(dimensions=self.dimension, normalize=True)
            return self._invoke(body)["embedding"]

        if len(texts) == 1:
            return [one(texts[0])]
        with ThreadPoolExecutor(max_workers=min(self.max_workers, len(texts))) as pool:
            return list(pool.map(one, texts))

    def _cohere(self, texts: Sequence[str], kind: str) -> list[list[float]]:
        body: dict[str, Any] = {
            "texts": [text[:COHERE_MAX_CHARS] for text in texts],
            "input_type": "search_query" if kind == "query" else "search_document",
            "truncate": "END",
            "embedding_types": ["float"],
        }
        if self.family == "cohere-v4":
            body["output_dimension"] = self.dimension
        embeddings = self._invoke(body)["embeddings"]
        # With embedding_types the answer is {"float": [...]}; older shapes are a bare list.
        return embeddings["float"] if isinstance(embeddings, dict) else embeddings

    def _invoke(self, body: dict[str, Any]) -> dict[str, Any]:
        with ProviderErrors(self.model_id, "Bedrock", error_from_client_error):
            response = self.client.invoke_model(
                modelId=self.model_id,
                body=json.dumps(body),
                contentType="application/json",
                accept="application/json",
            )
            raw = response["body"].read()
        try:
            answer = json.loads(raw)
        except ValueError as exc:
            raise ProviderError(f"Bedrock {self.model_id} answered with non-JSON: {exc}") from None
        if not isinstance(answer, dict) or not ({"embedding", "embeddings"} & set(answer)):
            raise ProviderError(f"Bedrock {self.model_id} answered without embeddings")
        return answer
