"""Reranker port on Amazon Bedrock's Rerank API (``bedrock-agent-runtime`` ``Rerank``).

Bedrock serves trained rerank models — Amazon Rerank (``amazon.rerank-v1:0``) and Cohere Rerank
(``cohere.rerank-v3-5:0``) — so a cloud stack gets cross-encoder reranking with no endpoint to
run. One request carries the query and up to 1,000 inline text passages::

    rerank(queries=[{"type": "TEXT", "textQuery": {"text": q}}],
           sources=[{"type": "INLINE", "inlineDocumentSource":
                     {"type": "TEXT", "textDocument": {"text": p}}}, ...],
           rerankingConfiguration={"type": "BEDROCK_RERANKING_MODEL",
               "bedrockRerankingConfiguration": {"numberOfResults": n,
                   "modelConfiguration": {"modelArn": arn}}})
    → {"results": [{"index": i, "relevanceScore": s}, ...], "nextToken": ...}

Results come best first and name passages by ``index``; ``score`` puts them back in the order
asked. Asking for every passage (``numberOfResults = len(passages)``) means no passage is left
unscored. The model is named by its ARN (``arn:aws:bedrock:<region>::foundation-model/<id>``);
a bare model id is turned into that ARN for the client's region. The caller needs
``bedrock:Rerank`` and ``bedrock:InvokeModel`` on the model.

Tested with botocore's Stubber against these documented shapes (no Bedrock here):
``tests/runtime/adapters/test_bedrock_rerank.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from ..core.errors import ProviderError
from .bedrock import error_from_client_error

MAX_SOURCES = 1000
"""Passages one Rerank request may carry (the API's limit)."""

MAX_TEXT_CHARS = 32_000
"""Longest text the API accepts for a query or a passage."""


def model_arn(model: str, region: str) -> str:
    """The foundation-model ARN of ``model`` (an ARN is returned as it is)."""
    if model.startswith("arn:"):
        return model
    return f"arn:aws:bedrock:{region}::foundation-model/{model}"


class BedrockReranker:
    """Scores (query, passage) pairs with a Bedrock rerank model; higher is more relevant.

    Parameters
    ----------
    model:
        A rerank model id (``amazon.rerank-v1:0``, ``cohere.rerank-v3-5:0``) or its ARN.
    client:
        A ``bedrock-agent-runtime`` client.
    """

    def __init__(self, model: str, *, client: Any) -> None:
        self._client = client
        self.model_arn = model_arn(model, client.meta.region_name)
        self.model_id = self.model_arn.rsplit("/", 1)[-1]

    def score(self, query: str, passages: Sequence[str]) -> list[float]:
        scores: list[float] = []
        for start in range(0, len(passages), MAX_SOURCES):
            scores.extend(self._score_batch(query, passages[start : start + MAX_SOURCES]))
        return scores

    def _score_batch(self, query: str, passages: Sequence[str]) -> list[float]:
        if not passages:
            return []
        request: dict[str, Any] = {
            "queries": [{"type": "TEXT", "textQuery": {"text": query[:MAX_TEXT_CHARS]}}],
            "sources": [
                {
                    "type": "INLINE",
                    "inlineDocumentSource": {
                        "type": "TEXT",
                        # an empty text is refused; a blank passage is simply irrelevant
                        "textDocument": {"text": passage[:MAX_TEXT_CHARS] or " "},
                    },
                }
                for passage in passages
            ],
            "rerankingConfiguration": {
                "type": "BEDROCK_RERANKING_MODEL",
                "bedrockRerankingConfiguration": {
                    "numberOfResults": len(passages),
                    "modelConfiguration": {"modelArn": self.model_arn},
                },
            },
        }
        found: dict[int, float] = {}
        while True:
            try:
                response = self._client.rerank(**request)
            except ClientError as exc:
                raise error_from_client_error(exc, self.model_id) from None
            for result in response.get("results", []):
                index = int(result["index"])
                if not 0 <= index < len(passages):
                    raise ProviderError(
                        f"Bedrock rerank model {self.model_id} scored passage {index} of "
                        f"{len(passages)}"
                    )
                found[index] = float(result["relevanceScore"])
            token = response.get("nextToken")
            if not token:
                break
            request["nextToken"] = token
        if len(found) != len(passages):
            raise ProviderError(
                f"Bedrock rerank model {self.model_id} scored {len(found)} of "
                f"{len(passages)} passages"
            )
        return [found[i] for i in range(len(passages))]
