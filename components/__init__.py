"""chorus's Pulumi components: ``from chorus.components import Network, VectorStore, ...``.

Exports are resolved lazily so that the pure-Python parts (``components.cost``,
``components.settings``, ``components.packaging``) import without Pulumi installed.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Auth": "auth",
    "AuthArgs": "auth",
    "Network": "network",
    "NetworkArgs": "network",
    "ModelHost": "model_host",
    "ModelHostArgs": "model_host",
    "LlmArgs": "model_host",
    "HostedModelArgs": "model_host",
    "VectorStore": "vector_store",
    "VectorStoreArgs": "vector_store",
    "ChatOrchestrator": "orchestrator",
    "ChatOrchestratorArgs": "orchestrator",
    "Shared": "shared",
    "SharedArgs": "shared",
    "AppConfig": "shared",
    "AppConfigArgs": "shared",
    "LambdaFunction": "function",
    "LambdaFunctionArgs": "function",
    "QueueWithDlq": "queues",
    "QueueWithDlqArgs": "queues",
    "StackSettings": "settings",
    "build_stack": "stack",
    "Frontend": "frontend",
    "FrontendArgs": "frontend",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
