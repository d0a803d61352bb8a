"""``ws_message``: validate a frame, check the workspace and session, enqueue, reply on errors."""

from __future__ import annotations

from .base import current, from_environment
from .connections import ConnectionWiring
from .metadata import MetadataWiring


class MessageWiring(ConnectionWiring, MetadataWiring):
    """Replies (``delivery``), the metadata tables and the chat queue (``sqs``)."""


def message_wiring() -> MessageWiring:
    return current(MessageWiring, lambda: from_environment(MessageWiring))
