"""Every piece of wiring in one object: what the REST API and the tests use.

Each handler family has its own small wiring (``runtime.cloud.wiring``: connections, messages,
models, ingest, chat), built on first use, so a function loads only what it runs.
``CloudServices`` composes them all; ``get_services()`` builds it once per container, and
``set_services`` installs a ready-made one that every handler's factory then hands out (tests
build ``CloudServices`` with their own clients and models).
"""

from __future__ import annotations

from .dsn import with_search_path
from .wiring.base import cloud_metrics, current, from_environment, install
from .wiring.bulk import BulkWiring
from .wiring.chat import ChatWiring
from .wiring.messages import MessageWiring
from .wiring.models import SINGLE_ATTEMPT

__all__ = [
    "SINGLE_ATTEMPT",
    "CloudServices",
    "cloud_metrics",
    "get_services",
    "set_services",
    "with_search_path",
]


class CloudServices(ChatWiring, BulkWiring, MessageWiring):
    """Adapters and core services of one Lambda container, each built once on first use (see
    ``runtime.cloud.wiring.base.Wiring`` for the parameters)."""


def get_services() -> CloudServices:
    """This container's services, built from the environment and SSM on first call."""
    return current(CloudServices, lambda: from_environment(CloudServices))


def set_services(services: CloudServices | None) -> None:
    """Install ready-made services (tests), or None to rebuild from the environment."""
    install(services)
