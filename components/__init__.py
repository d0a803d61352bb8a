"""chorus's Pulumi components: ``from chorus.components import Network, VectorStore, ...``.

Exports are resolved lazily so that the pure-Python parts (``components.cost``,
``components.settings``, ``components.packaging``, ``components.rules``) import without loading
Pulumi. Type checkers see the real classes: the imports below run only under
``TYPE_CHECKING``, and ``__getattr__`` exists only at run time, so a misspelt name is an error
for mypy/pyright as well as at import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

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
    "DeadLetterQueue": "queues",
    "DeadLetterQueueArgs": "queues",
    "StackSettings": "settings",
    "build_stack": "stack",
    "Frontend": "frontend",
    "FrontendArgs": "frontend",
    "ComponentInputError": "validation",
    "ChatTables": "chat_tables",
    "ChatTablesArgs": "chat_tables",
    "ChatMessaging": "chat_messaging",
    "ChatMessagingArgs": "chat_messaging",
    "WebSocketApi": "chat_apis",
    "WebSocketApiArgs": "chat_apis",
    "HttpApi": "chat_apis",
    "HttpApiArgs": "chat_apis",
    "LambdaTargetArgs": "chat_apis",
    "ChatWorkflows": "workflows",
    "ChatWorkflowsArgs": "workflows",
    "ChatAlarms": "alarms",
    "ChatAlarmsArgs": "alarms",
    "Dashboard": "dashboard",
    "DashboardArgs": "dashboard",
    "LambdaDeployments": "deployments",
    "LambdaDeploymentsArgs": "deployments",
    "ScheduledEvaluation": "scheduled_evaluation",
    "ScheduledEvaluationArgs": "scheduled_evaluation",
    "BulkIngestion": "bulk_ingestion",
    "BulkIngestionArgs": "bulk_ingestion",
}

__all__ = [
    "AppConfig",
    "AppConfigArgs",
    "Auth",
    "AuthArgs",
    "BulkIngestion",
    "BulkIngestionArgs",
    "ChatAlarms",
    "ChatAlarmsArgs",
    "ChatMessaging",
    "ChatMessagingArgs",
    "ChatOrchestrator",
    "ChatOrchestratorArgs",
    "ChatTables",
    "ChatTablesArgs",
    "ChatWorkflows",
    "ChatWorkflowsArgs",
    "ComponentInputError",
    "Dashboard",
    "DashboardArgs",
    "DeadLetterQueue",
    "DeadLetterQueueArgs",
    "Frontend",
    "FrontendArgs",
    "HostedModelArgs",
    "HttpApi",
    "HttpApiArgs",
    "LambdaDeployments",
    "LambdaDeploymentsArgs",
    "LambdaFunction",
    "LambdaFunctionArgs",
    "LambdaTargetArgs",
    "LlmArgs",
    "ModelHost",
    "ModelHostArgs",
    "Network",
    "NetworkArgs",
    "QueueWithDlq",
    "QueueWithDlqArgs",
    "ScheduledEvaluation",
    "ScheduledEvaluationArgs",
    "Shared",
    "SharedArgs",
    "StackSettings",
    "VectorStore",
    "VectorStoreArgs",
    "WebSocketApi",
    "WebSocketApiArgs",
    "build_stack",
]

if TYPE_CHECKING:
    from .alarms import ChatAlarms, ChatAlarmsArgs
    from .auth import Auth, AuthArgs
    from .bulk_ingestion import BulkIngestion, BulkIngestionArgs
    from .chat_apis import HttpApi, HttpApiArgs, LambdaTargetArgs, WebSocketApi, WebSocketApiArgs
    from .chat_messaging import ChatMessaging, ChatMessagingArgs
    from .chat_tables import ChatTables, ChatTablesArgs
    from .dashboard import Dashboard, DashboardArgs
    from .deployments import LambdaDeployments, LambdaDeploymentsArgs
    from .frontend import Frontend, FrontendArgs
    from .function import LambdaFunction, LambdaFunctionArgs
    from .model_host import HostedModelArgs, LlmArgs, ModelHost, ModelHostArgs
    from .network import Network, NetworkArgs
    from .orchestrator import ChatOrchestrator, ChatOrchestratorArgs
    from .queues import DeadLetterQueue, DeadLetterQueueArgs, QueueWithDlq, QueueWithDlqArgs
    from .scheduled_evaluation import ScheduledEvaluation, ScheduledEvaluationArgs
    from .settings import StackSettings
    from .shared import AppConfig, AppConfigArgs, Shared, SharedArgs
    from .stack import build_stack
    from .validation import ComponentInputError
    from .vector_store import VectorStore, VectorStoreArgs
    from .workflows import ChatWorkflows, ChatWorkflowsArgs
else:

    def __getattr__(name: str):
        if name not in _EXPORTS:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return __all__
