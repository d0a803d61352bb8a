"""``EntailmentModel`` on a local sentence-transformers CrossEncoder with NLI labels.

Any NLI cross-encoder saved in a folder works (e.g. ``cross-encoder/nli-deberta-v3-xsmall``):
its ``config.id2label`` names the classes, mapped here to ``entailment`` / ``neutral`` /
``contradiction`` by name. No trained NLI weights install from PyPI, so none is configured by
default; set ``CHORUS_NLI_MODEL`` to such a folder to add this judge to every turn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..core.errors import ChorusError


class NLIModelError(ChorusError):
    """The folder's model does not name entailment and contradiction labels."""

    code = "bad_nli_model"


def nli_label(name: str) -> str | None:
    """``entailment``, ``neutral`` or ``contradiction`` for a model's label name, else None."""
    lower = name.lower()
    for label in ("entail", "contradict", "neutral"):
        if lower.startswith(label):
            return {"entail": "entailment", "contradict": "contradiction"}.get(label, label)
    return None


class CrossEncoderEntailment:
    """Softmax probabilities of an NLI cross-encoder, keyed by the three NLI labels."""

    def __init__(
        self, model_path: str | Path, *, batch_size: int = 16, device: str = "cpu"
    ) -> None:
        from sentence_transformers import CrossEncoder

        path = Path(model_path)
        self._model = CrossEncoder(str(path), device=device, max_length=512)
        id2label = dict(self._model.model.config.id2label)
        self.labels = [nli_label(str(id2label[i])) for i in sorted(id2label)]
        if "entailment" not in self.labels or "contradiction" not in self.labels:
            raise NLIModelError(
                f"the model in {path} has labels {list(id2label.values())}; an NLI model needs "
                "entailment and contradiction labels (set CHORUS_NLI_MODEL to an NLI "
                "cross-encoder folder)"
            )
        self.model_id = path.name
        self.batch_size = batch_size

    def predict(self, pairs: Sequence[tuple[str, str]]) -> list[Mapping[str, float]]:
        if not pairs:
            return []
        scores = np.asarray(
            self._model.predict(
                list(pairs),
                batch_size=self.batch_size,
                show_progress_bar=False,
                convert_to_numpy=True,
                apply_softmax=True,
            )
        ).reshape(len(pairs), -1)
        return [
            {label: float(p) for label, p in zip(self.labels, row, strict=True) if label}
            for row in scores
        ]
