"""``ws_message``: validate a frame, check the workspace and session, enqueue, reply on errors."""

from __future__ import annotations

from .base import current, from_environment
from .connections import ConnectionWiring
from .metadata import MetadataWiring


class MessageWiring(ConnectionWiring, MetadataWiring):
    """Replies (``delivery``), the metadata tables, the chat queue (``sqs``) and the API keys
    a key's connection spends from."""

    def _api_keys_table(self) -> str:
        return self.settings.tables.workspace


def message_wiring() -> MessageWiring:
    return current(MessageWiring, lambda: from_environment(MessageWiring))
