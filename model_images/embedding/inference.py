"""SageMaker inference code for a sentence-embedding model (Hugging Face inference toolkit).

The Hugging Face SageMaker container imports this file from ``model.tar.gz``'s ``code/`` folder
and calls ``model_fn`` once, then ``input_fn`` → ``predict_fn`` → ``output_fn`` per request. It
runs alone in that container, so it imports nothing from chorus.

Request (``Content-Type: application/json``)::

    {"inputs": ["text", ...], "input_type": "query" | "passage", "normalize": true}

``input_type`` defaults to ``"passage"`` and ``normalize`` to ``true``. Response::

    {"vectors": [[float, ...], ...], "dimension": 384, "model_id": "all-MiniLM-L6-v2"}

The vectors are what sentence-transformers' ``encode`` gives for the same model: the configured
prefix is added, texts are truncated at the model's max length, token embeddings are mean-pooled
with the attention mask (or the CLS token, when the model's pooling config says so) and, when
``normalize`` is true, L2-normalised.

Bad requests raise ``ClientError``. The toolkit turns any exception into HTTP 400 with
``str(exception)`` as the message, so ``str(ClientError)`` is the JSON ``{"code", "message"}``
that the runtime's SageMaker adapter reads back; chorus' local server answers 400 with that same
JSON body.

Settings come from the container's environment (the SageMaker Model's ``Environment``):

``CHORUS_MODEL_ID``          model id echoed in responses (default: the model folder's name)
``CHORUS_QUERY_PREFIX``      prefix for queries, e.g. ``"query: "`` for e5 (default: the
``CHORUS_PASSAGE_PREFIX``    model's sentence-transformers ``prompts``, else none)
``CHORUS_MAX_BATCH``         most texts one request may carry (default 256)
``CHORUS_BATCH_SIZE``        texts per forward pass (default 32)
``CHORUS_MAX_LENGTH``        tokens kept per text (default: the model's ``max_seq_length``)
``CHORUS_DEVICE``            ``cpu`` / ``cuda`` (default: cuda when available)
``CHORUS_DTYPE``             ``float32`` / ``float16`` / ``bfloat16`` (default: float16 on
                             cuda, float32 on cpu)
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

JSON = "application/json"
INPUT_TYPES = ("query", "passage")
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


class ClientError(ValueError):
    """A request this endpoint refuses; the caller has to change it, retrying will not help.

    ``str()`` is the JSON ``{"code", "message"}`` because that string is all the Hugging Face
    toolkit passes on (as a 400) to the caller.
    """

    status_code = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}

    def __str__(self) -> str:
        return json.dumps(self.to_dict())


@dataclass(frozen=True)
class Settings:
    """How the model is served; read once from the environment at load time."""

    model_id: str | None = None
    query_prefix: str | None = None
    passage_prefix: str | None = None
    max_batch: int = 256
    batch_size: int = 32
    max_length: int | None = None
    device: str | None = None
    dtype: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        def number(name: str, default: int | None) -> int | None:
            raw = environ.get(name)
            if raw is None or raw == "":
                return default
            value = int(raw)
            if value < 1:
                raise ValueError(f"{name} must be a positive integer, not {raw!r}")
            return value

        return cls(
            model_id=environ.get("CHORUS_MODEL_ID") or None,
            query_prefix=environ.get("CHORUS_QUERY_PREFIX"),
            passage_prefix=environ.get("CHORUS_PASSAGE_PREFIX"),
            max_batch=number("CHORUS_MAX_BATCH", 256) or 256,
            batch_size=number("CHORUS_BATCH_SIZE", 32) or 32,
            max_length=number("CHORUS_MAX_LENGTH", None),
            device=environ.get("CHORUS_DEVICE") or None,
            dtype=environ.get("CHORUS_DTYPE") or None,
        )


@dataclass(frozen=True)
class EmbeddingRequest:
    texts: list[str]
    input_type: str = "passage"
    normalize: bool = True


@dataclass
class EmbeddingModel:
    """A loaded model plus everything ``predict_fn`` needs to encode like sentence-transformers."""

    model: Any
    tokenizer: Any
    model_id: str
    dimension: int
    max_length: int
    pooling: str
    prefixes: dict[str, str]
    max_batch: int
    batch_size: int
    device: torch.device

    def encode(self, texts: Sequence[str], *, input_type: str, normalize: bool) -> np.ndarray:
        """Embed ``texts`` in internal batches of similar length, returned in input order.

        Sorting longest first (as sentence-transformers does) keeps padding, and so wasted
        compute, small; the original order is restored at the end.
        """
        prefix = self.prefixes[input_type]
        inputs = [prefix + text for text in texts]
        order = np.argsort(
            [-len(text) for text in inputs]
        )  # same (default) sort as sentence-transformers
        out = np.empty((len(inputs), self.dimension), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                rows = order[start : start + self.batch_size]
                vectors = self._forward([inputs[i] for i in rows])
                if normalize:
                    vectors = torch.nn.functional.normalize(vectors, p=2, dim=1)
                out[rows] = vectors.float().cpu().numpy()
        return out

    def _forward(self, batch: list[str]) -> torch.Tensor:
        features = self.tokenizer(
            batch,
            padding=True,
            truncation="longest_first",
            max_length=self.max_length,
            return_tensors="pt",
        ).to(self.device)
        tokens = self.model(**features).last_hidden_state
        if self.pooling == "cls":
            return tokens[:, 0]
        mask = features["attention_mask"].unsqueeze(-1).to(tokens.dtype)
        summed = (tokens * mask).sum(dim=1)
        return summed / mask.sum(dim=1).clamp(min=1e-9)


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _transformer_dir(model_dir: Path) -> Path:
    """Where the Transformer module lives: the root for most models, ``0_Transformer`` for old."""
    for module in _read_json(model_dir / "modules.json") or []:
        if str(module.get("type", "")).endswith("Transformer"):
            return model_dir / module.get("path", "")
    return model_dir


def _pooling_mode(model_dir: Path) -> str:
    """``mean`` or ``cls``, from the sentence-transformers pooling config (mean when absent)."""
    for module in _read_json(model_dir / "modules.json") or []:
        if str(module.get("type", "")).endswith("Pooling"):
            config = _read_json(model_dir / module.get("path", "") / "config.json")
            if config.get("pooling_mode_cls_token"):
                return "cls"
            if config.get("pooling_mode_mean_tokens", True):
                return "mean"
            raise ValueError(f"unsupported pooling in {module.get('path')}: only mean or CLS")
    return "mean"


def load(model_dir: str | Path, settings: Settings) -> EmbeddingModel:
    """Load the model folder (a sentence-transformers or plain transformers model)."""
    root = Path(model_dir)
    weights_dir = _transformer_dir(root)
    device = torch.device(settings.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    dtype_name = settings.dtype or ("float16" if device.type == "cuda" else "float32")
    if dtype_name not in DTYPES:
        raise ValueError(f"CHORUS_DTYPE must be one of {sorted(DTYPES)}, not {dtype_name!r}")
    tokenizer = AutoTokenizer.from_pretrained(weights_dir)
    # Cast after loading: the ``dtype=`` / ``torch_dtype=`` keyword differs across transformers
    # versions, and the container's version is not ours to choose.
    model = AutoModel.from_pretrained(weights_dir).to(device=device, dtype=DTYPES[dtype_name])
    model.eval()

    st_config = _read_json(weights_dir / "sentence_bert_config.json")
    model_limit = int(getattr(model.config, "max_position_embeddings", 512))
    max_length = settings.max_length or st_config.get("max_seq_length")
    if max_length is None:
        max_length = min(int(tokenizer.model_max_length), model_limit)
    prompts = _read_json(root / "config_sentence_transformers.json").get("prompts") or {}
    prefixes = {
        "query": settings.query_prefix
        if settings.query_prefix is not None
        else prompts.get("query", ""),
        "passage": settings.passage_prefix
        if settings.passage_prefix is not None
        else prompts.get("passage", prompts.get("document", "")),
    }
    return EmbeddingModel(
        model=model,
        tokenizer=tokenizer,
        model_id=settings.model_id or root.resolve().name,
        dimension=int(model.config.hidden_size),
        max_length=int(max_length),
        pooling=_pooling_mode(root),
        prefixes=prefixes,
        max_batch=settings.max_batch,
        batch_size=settings.batch_size,
        device=device,
    )


def parse_request(body: str | bytes, content_type: str | None) -> EmbeddingRequest:
    """Validate a request body; raise ``ClientError`` saying what to fix."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type != JSON:
        raise ClientError(
            "unsupported_media_type",
            f"Send the request as {JSON}, not {content_type or 'no content type'!r}.",
        )
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ClientError("invalid_json", f"The request body is not valid JSON: {exc}.") from None
    if not isinstance(payload, dict):
        raise ClientError("bad_request", 'The request must be a JSON object with "inputs".')
    unknown = sorted(set(payload) - {"inputs", "input_type", "normalize"})
    if unknown:
        raise ClientError(
            "bad_request",
            f"Unknown field(s) {unknown}; allowed: inputs, input_type, normalize.",
        )
    texts = payload.get("inputs")
    if not isinstance(texts, list):
        raise ClientError("bad_request", '"inputs" must be a list of strings.')
    if not texts:
        raise ClientError("empty_batch", '"inputs" is empty; send at least one text.')
    bad = [i for i, text in enumerate(texts) if not isinstance(text, str)]
    if bad:
        raise ClientError(
            "bad_request", f'"inputs" must hold only strings; items {bad[:5]} do not.'
        )
    input_type = payload.get("input_type", "passage")
    if input_type not in INPUT_TYPES:
        raise ClientError(
            "bad_request", f'"input_type" must be "query" or "passage", not {input_type!r}.'
        )
    normalize = payload.get("normalize", True)
    if not isinstance(normalize, bool):
        raise ClientError("bad_request", '"normalize" must be true or false.')
    return EmbeddingRequest(texts=texts, input_type=input_type, normalize=normalize)


# --- Hugging Face SageMaker inference toolkit contract -------------------------------------


def model_fn(model_dir: str, context: Any = None) -> EmbeddingModel:
    """Load the model once per worker; settings come from the container's environment."""
    return load(model_dir, Settings.from_env(os.environ))


def input_fn(input_data: str | bytes, content_type: str | None) -> EmbeddingRequest:
    return parse_request(input_data, content_type)


def predict_fn(data: EmbeddingRequest, model: EmbeddingModel) -> dict[str, Any]:
    if len(data.texts) > model.max_batch:
        raise ClientError(
            "batch_too_large",
            f"{len(data.texts)} inputs in one request; this endpoint takes at most "
            f"{model.max_batch}. Split the batch.",
        )
    vectors = model.encode(data.texts, input_type=data.input_type, normalize=data.normalize)
    return {"vectors": vectors.tolist(), "dimension": model.dimension, "model_id": model.model_id}


def output_fn(prediction: dict[str, Any], accept: str | None) -> str:
    media_type = (accept or JSON).split(";")[0].strip().lower()
    if media_type not in (JSON, "*/*"):
        raise ClientError(
            "unsupported_accept", f"This endpoint answers {JSON} only, not {accept!r}."
        )
    return json.dumps(prediction)
