"""One translation of botocore's failures into chorus ``ProviderError``s, for every AWS model
provider (Bedrock, SageMaker TGI): each supplies only how to read its service's ClientErrors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.eventstream import ParserError as EventStreamParserError
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, ReadTimeoutError
from botocore.parsers import ResponseParserError
from urllib3.exceptions import HTTPError as Urllib3HTTPError
from urllib3.exceptions import ReadTimeoutError as Urllib3ReadTimeoutError

from ..core.errors import ProviderError, ProviderTimeout

ClientErrorMapper = Callable[[ClientError, str], ProviderError]


class ProviderErrors:
    """Context manager: whatever botocore raises inside leaves as a ``ProviderError`` subclass.

    Parameters
    ----------
    name:
        The model's name, for messages.
    service:
        Where it runs (``"Bedrock"``), for messages.
    from_client_error:
        The service's reading of a ``ClientError`` (throttling, validation, model errors).
    malformed_is_error:
        Also turn parsing slips of our own (KeyError, TypeError ...) on an unexpected stream
        shape into ``ProviderError``; for services whose stream shapes chorus parses by hand.
    """

    def __init__(
        self,
        name: str,
        service: str,
        from_client_error: ClientErrorMapper,
        *,
        malformed_is_error: bool = False,
    ) -> None:
        self.name = name
        self.service = service
        self.from_client_error = from_client_error
        self.malformed_is_error = malformed_is_error

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, _: Any
    ) -> bool:
        if exc is None or isinstance(exc, GeneratorExit | ProviderError):
            return False
        if isinstance(exc, ClientError):
            raise self.from_client_error(exc, self.name) from None
        if isinstance(exc, ReadTimeoutError | ConnectTimeoutError | Urllib3ReadTimeoutError):
            raise ProviderTimeout(
                f"{self.name} did not answer in time on {self.service}: {exc}"
            ) from None
        if isinstance(
            exc, BotoCoreError | EventStreamParserError | ResponseParserError | Urllib3HTTPError
        ):
            raise ProviderError(f"no answer from {self.name} on {self.service}: {exc}") from None
        if self.malformed_is_error and isinstance(
            exc, KeyError | TypeError | AttributeError | ValueError
        ):
            raise ProviderError(
                f"{self.name} sent a {self.service} stream chorus cannot read: {exc!r}"
            ) from None
        return False
