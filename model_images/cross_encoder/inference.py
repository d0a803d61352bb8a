"""SageMaker inference code for a cross-encoder: a reranker or an NLI model (Hugging Face
inference toolkit).

The Hugging Face SageMaker container imports this file from ``model.tar.gz``'s ``code/`` folder
and calls ``model_fn`` once, then ``input_fn`` → ``predict_fn`` → ``output_fn`` per request. It
runs alone in that container, so it imports nothing from chorus.

Request (``Content-Type: application/json``), either one query against many passages::

    {"query": "...", "passages": ["...", ...]}

or explicit pairs::

    {"pairs": [["query", "passage"], ...]}

plus an optional ``"sigmoid": true | false``. Response, one score per passage or pair, in the
order sent::

    {"scores": [float, ...], "model_id": "ms-marco-MiniLM-L-6-v2"}

The scores are what sentence-transformers' ``CrossEncoder.predict`` returns for the same weights:
pairs truncated ``longest_first`` at the model's max length, the single logit passed through the
model's activation — the one saved in its config, else sigmoid, exactly as sentence-transformers
chooses. ``"sigmoid"`` overrides that choice per request (``false`` gives raw logits).

**NLI models.** A model with several labels is served as an NLI (entailment) classifier when its
``config.id2label`` names entailment and contradiction (a name starting ``entail``,
``contradict`` or ``neutral``, any case — the rule of chorus' ``nli_label``, copied here because
this file imports nothing from chorus). The request is the same; each pair is
``[premise, hypothesis]`` (with ``"query"`` + ``"passages"``, the query is every pair's
premise). The response carries the softmax probabilities of each pair, keyed by the NLI labels
whatever order the model keeps them in, in the order sent::

    {"labels": [{"entailment": 0.91, "neutral": 0.06, "contradiction": 0.03}, ...],
     "model_id": "nli-deberta-v3-xsmall"}

These equal ``CrossEncoder.predict(..., apply_softmax=True)``. ``"sigmoid"`` is refused
(``bad_request``) for an NLI model. A model with several labels that are not NLI labels is
refused at load time.

Bad requests raise ``ClientError``. The toolkit turns any exception into HTTP 400 with
``str(exception)`` as the message, so ``str(ClientError)`` is the JSON ``{"code", "message"}``
that the runtime's SageMaker adapter reads back; chorus' local server answers 400 with that same
JSON body.

Settings come from the container's environment (the SageMaker Model's ``Environment``):

``CHORUS_MODEL_ID``     model id echoed in responses (default: the model folder's name)
``CHORUS_MAX_BATCH``    most pairs one request may carry (default 256)
``CHORUS_BATCH_SIZE``   pairs per forward pass (default 32)
``CHORUS_MAX_LENGTH``   tokens kept per pair (default: the tokenizer's limit, at most the model's)
``CHORUS_DEVICE``       ``cpu`` / ``cuda`` (default: cuda when available)
``CHORUS_DTYPE``        ``float32`` / ``float16`` / ``bfloat16`` (default: float16 on cuda,
                        float32 on cpu)
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

JSON = "application/json"
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
ACTIVATIONS = {
    "torch.nn.modules.activation.Sigmoid": "sigmoid",
    "torch.nn.Sigmoid": "sigmoid",
    "torch.nn.modules.linear.Identity": "identity",
    "torch.nn.Identity": "identity",
}


#: label-name prefix → NLI label; the same rule as ``chorus.runtime.adapters.nli_cross_encoder``
NLI_PREFIXES = (("entail", "entailment"), ("contradict", "contradiction"), ("neutral", "neutral"))


def nli_label(name: str) -> str | None:
    """``entailment``, ``neutral`` or ``contradiction`` for a model's label name, else None."""
    lower = name.lower()
    for prefix, label in NLI_PREFIXES:
        if lower.startswith(prefix):
            return label
    return None


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
            max_batch=number("CHORUS_MAX_BATCH", 256) or 256,
            batch_size=number("CHORUS_BATCH_SIZE", 32) or 32,
            max_length=number("CHORUS_MAX_LENGTH", None),
            device=environ.get("CHORUS_DEVICE") or None,
            dtype=environ.get("CHORUS_DTYPE") or None,
        )


@dataclass(frozen=True)
class RerankRequest:
    pairs: list[tuple[str, str]]
    sigmoid: bool | None = None


@dataclass
class CrossEncoderModel:
    """A loaded classifier plus what ``predict_fn`` needs to score like sentence-transformers'
    ``CrossEncoder``: a single-logit reranker, or an NLI model when ``labels`` is set (one NLI
    label, or None for a class that is none of the three, per logit)."""

    model: Any
    tokenizer: Any
    model_id: str
    max_length: int
    sigmoid: bool
    max_batch: int
    batch_size: int
    device: torch.device
    labels: tuple[str | None, ...] | None = None

    def _outputs(
        self,
        pairs: Sequence[tuple[str, str]],
        activation: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> np.ndarray:
        """Logits through ``activation``, shape (pairs, labels), in input order, computed in
        internal batches of similar length.

        Longest-first sorting matches sentence-transformers, and the activation is applied per
        batch as it does, so each batch is padded and computed the same way and the results come
        out identical, not merely close.
        """
        order = np.argsort(
            [-(len(q) + len(p)) for q, p in pairs]
        )  # same (default) sort as sentence-transformers
        out = np.empty((len(pairs), int(self.model.config.num_labels)), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                rows = order[start : start + self.batch_size]
                features = self.tokenizer(
                    [pairs[i][0] for i in rows],
                    [pairs[i][1] for i in rows],
                    padding=True,
                    truncation="longest_first",
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(self.device)
                logits = self.model(**features).logits.float()
                if activation is not None:
                    logits = activation(logits)
                out[rows] = logits.cpu().numpy()
        return out

    def classify(self, pairs: Sequence[tuple[str, str]]) -> list[dict[str, float]]:
        """Per pair, the softmax probability of each NLI label (classes that are no NLI label
        keep their share of the softmax but are left out of the answer)."""
        if self.labels is None:
            raise ValueError("this model is a reranker; it has no NLI labels")
        probabilities = self._outputs(pairs, lambda logits: torch.softmax(logits, dim=-1))
        return [
            {label: float(p) for label, p in zip(self.labels, row, strict=True) if label}
            for row in probabilities
        ]

    def score(self, pairs: Sequence[tuple[str, str]], *, sigmoid: bool | None = None) -> np.ndarray:
        """One relevance score per pair, in input order (a single-logit model's logit, through
        sigmoid unless told otherwise)."""
        apply_sigmoid = self.sigmoid if sigmoid is None else sigmoid
        return self._outputs(pairs, torch.sigmoid if apply_sigmoid else None).squeeze(-1)


def _default_sigmoid(config: Any) -> bool:
    """The activation sentence-transformers would apply: the saved one, else sigmoid."""
    saved = (getattr(config, "sentence_transformers", None) or {}).get("activation_fn")
    saved = saved or getattr(config, "sbert_ce_default_activation_function", None)
    if saved is None:
        return True
    if saved not in ACTIVATIONS:
        raise ValueError(f"unsupported activation {saved!r}: only Sigmoid or Identity")
    return ACTIVATIONS[saved] == "sigmoid"


def _nli_labels(config: Any) -> tuple[str | None, ...] | None:
    """The NLI label of each class, in class order, or None unless entailment and
    contradiction are both named."""
    id2label = dict(getattr(config, "id2label", None) or {})
    labels = tuple(nli_label(str(id2label.get(i, ""))) for i in range(int(config.num_labels)))
    if "entailment" not in labels or "contradiction" not in labels:
        return None
    return labels


def load(model_dir: str | Path, settings: Settings) -> CrossEncoderModel:
    """Load a sequence-classification model: one label (a reranker's single score) or NLI
    labels (entailment / neutral / contradiction probabilities)."""
    root = Path(model_dir)
    device = torch.device(settings.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    dtype_name = settings.dtype or ("float16" if device.type == "cuda" else "float32")
    if dtype_name not in DTYPES:
        raise ValueError(f"CHORUS_DTYPE must be one of {sorted(DTYPES)}, not {dtype_name!r}")
    tokenizer = AutoTokenizer.from_pretrained(root)
    # Cast after loading: the ``dtype=`` / ``torch_dtype=`` keyword differs across transformers
    # versions, and the container's version is not ours to choose.
    model = AutoModelForSequenceClassification.from_pretrained(root)
    model = model.to(device=device, dtype=DTYPES[dtype_name])
    model.eval()
    labels = None
    if model.config.num_labels != 1:
        labels = _nli_labels(model.config)
        if labels is None:
            names = [model.config.id2label.get(i) for i in range(model.config.num_labels)]
            raise ValueError(
                f"{root} has {model.config.num_labels} labels {names}; serve a single-logit "
                "reranker, or an NLI model whose config.id2label names entailment and "
                "contradiction"
            )
    model_limit = int(getattr(model.config, "max_position_embeddings", 512))
    max_length = settings.max_length or min(int(tokenizer.model_max_length), model_limit)
    return CrossEncoderModel(
        model=model,
        tokenizer=tokenizer,
        model_id=settings.model_id or root.resolve().name,
        max_length=int(max_length),
        sigmoid=_default_sigmoid(model.config) if labels is None else False,
        max_batch=settings.max_batch,
        batch_size=settings.batch_size,
        device=device,
        labels=labels,
    )


def _pairs_from(payload: dict[str, Any]) -> list[tuple[str, str]]:
    if "pairs" in payload:
        if "query" in payload or "passages" in payload:
            raise ClientError(
                "bad_request", 'Send either "pairs" or "query" + "passages", not both.'
            )
        pairs = payload["pairs"]
        if not isinstance(pairs, list):
            raise ClientError("bad_request", '"pairs" must be a list of [query, passage] pairs.')
        bad = [
            i
            for i, pair in enumerate(pairs)
            if not (
                isinstance(pair, list) and len(pair) == 2 and all(isinstance(t, str) for t in pair)
            )
        ]
        if bad:
            raise ClientError(
                "bad_request",
                f'"pairs" items must be [query, passage] strings; items {bad[:5]} are not.',
            )
        return [(q, p) for q, p in pairs]
    query, passages = payload.get("query"), payload.get("passages")
    if not isinstance(query, str):
        raise ClientError("bad_request", '"query" must be a string (or send "pairs").')
    if not isinstance(passages, list):
        raise ClientError("bad_request", '"passages" must be a list of strings.')
    bad = [i for i, passage in enumerate(passages) if not isinstance(passage, str)]
    if bad:
        raise ClientError(
            "bad_request", f'"passages" must hold only strings; items {bad[:5]} do not.'
        )
    return [(query, passage) for passage in passages]


def parse_request(body: str | bytes, content_type: str | None) -> RerankRequest:
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
        raise ClientError(
            "bad_request", 'The request must be a JSON object with "query" + "passages".'
        )
    unknown = sorted(set(payload) - {"query", "passages", "pairs", "sigmoid"})
    if unknown:
        raise ClientError(
            "bad_request", f"Unknown field(s) {unknown}; allowed: query, passages, pairs, sigmoid."
        )
    pairs = _pairs_from(payload)
    if not pairs:
        raise ClientError("empty_batch", "No passages to score; send at least one.")
    sigmoid = payload.get("sigmoid")
    if sigmoid is not None and not isinstance(sigmoid, bool):
        raise ClientError("bad_request", '"sigmoid" must be true or false.')
    return RerankRequest(pairs=pairs, sigmoid=sigmoid)


# --- Hugging Face SageMaker inference toolkit contract -------------------------------------


def model_fn(model_dir: str, context: Any = None) -> CrossEncoderModel:
    """Load the model once per worker; settings come from the container's environment."""
    return load(model_dir, Settings.from_env(os.environ))


def input_fn(input_data: str | bytes, content_type: str | None) -> RerankRequest:
    return parse_request(input_data, content_type)


def predict_fn(data: RerankRequest, model: CrossEncoderModel) -> dict[str, Any]:
    if len(data.pairs) > model.max_batch:
        raise ClientError(
            "batch_too_large",
            f"{len(data.pairs)} passages in one request; this endpoint takes at most "
            f"{model.max_batch}. Split the batch.",
        )
    if model.labels is not None:
        if data.sigmoid is not None:
            raise ClientError(
                "bad_request",
                '"sigmoid" applies to a reranker; this endpoint serves an NLI model, which '
                "answers softmax probabilities. Leave it out.",
            )
        return {"labels": model.classify(data.pairs), "model_id": model.model_id}
    scores = model.score(data.pairs, sigmoid=data.sigmoid)
    return {"scores": scores.tolist(), "model_id": model.model_id}


def output_fn(prediction: dict[str, Any], accept: str | None) -> str:
    media_type = (accept or JSON).split(";")[0].strip().lower()
    if media_type not in (JSON, "*/*"):
        raise ClientError(
            "unsupported_accept", f"This endpoint answers {JSON} only, not {accept!r}."
        )
    return json.dumps(prediction)
