"""What every wiring shares: the settings, one boto3 session, its clients, and the registry that
builds each wiring once per container (or hands out the one a test installed).

boto3 is imported with the session, on the first call that needs AWS, never at import: the edge
functions' cold import stays within the standard library.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ...core.metrics import OperationsMetrics
    from ...core.model_registry import ProviderFactory
    from ...core.ports import Embedder, Reranker, VectorStore
    from ..settings import CloudSettings, EdgeSettings

W = TypeVar("W", bound="Wiring")

_config: Any = None


def retries() -> Any:
    """The botocore client config of every client: standard retry mode, 5 attempts."""
    global _config
    if _config is None:
        from botocore.config import Config

        _config = Config(retries={"mode": "standard", "max_attempts": 5})
    return _config


class Wiring:
    """Settings, session and clients; the subclasses add what their handlers use, each member
    built once on first use.

    Parameters
    ----------
    settings:
        The resolved configuration (``CloudSettings``; the edge functions' ``EdgeSettings``).
    session:
        boto3 session every client comes from (tests pass one bound to moto).
    embedder, reranker, store:
        Ready-made ports (tests share the loaded MiniLM and the embedded PostgreSQL); by
        default they come from the app config (SageMaker endpoints, Aurora).
    database_dsn:
        A PostgreSQL URI that bypasses the database secret (used verbatim: no schema is added).
    jwks_fetch:
        Loads the JWKS for the token verifier (default: HTTPS GET of ``CHORUS_JWKS_URL``).
    provider_factories:
        Factories by provider kind (``ModelSpec`` → ``LLMProvider``) that replace or add to the
        built-in ones for ``models.registry`` (tests pass fakes).
    metrics:
        Where the chat service, the models and the ingestor report their figures, or a factory
        of it called on first use (the deployed functions: ``cloud_metrics``, EMF + X-Ray).
        Default: nowhere.
    """

    settings: Any

    def __init__(
        self,
        settings: CloudSettings | EdgeSettings,
        *,
        session: Any = None,
        embedder: Embedder | None = None,
        reranker: Reranker | None = None,
        store: VectorStore | None = None,
        database_dsn: str | None = None,
        jwks_fetch: Callable[[str], dict] | None = None,
        provider_factories: Mapping[str, ProviderFactory] | None = None,
        metrics: OperationsMetrics | Callable[[], OperationsMetrics] | None = None,
    ) -> None:
        self.settings = settings
        self._session = session
        self._embedder = embedder
        self._reranker = reranker
        self._store = store
        self._database_dsn = database_dsn
        self._jwks_fetch = jwks_fetch
        self._provider_factories = dict(provider_factories or {})
        self._metrics = metrics

    @cached_property
    def metrics(self) -> OperationsMetrics:
        """Built on first use: the edge functions, which report nothing, never import it."""
        from ...core.metrics import NO_METRICS, OperationsMetrics

        given = self._metrics
        if given is None:
            return NO_METRICS
        return given if isinstance(given, OperationsMetrics) else given()

    @cached_property
    def session(self) -> Any:
        if self._session is not None:
            return self._session
        import boto3

        return boto3.session.Session(region_name=self.settings.region)

    def client(self, service: str, **kwargs: Any) -> Any:
        return self.session.client(service, config=retries(), **kwargs)

    @cached_property
    def dynamodb(self) -> Any:
        return self.session.resource("dynamodb", config=retries())

    @cached_property
    def ssm(self) -> Any:
        return self.client("ssm")

    def _secret(self, arn: str) -> dict[str, Any]:
        value = self.client("secretsmanager").get_secret_value(SecretId=arn)
        return json.loads(value.get("SecretString") or "{}")

    def close(self) -> None:
        """Close the database pool if one was opened (tests; a container just ends)."""
        if "database" in vars(self):
            vars(self)["database"].close()


def settings_from_environment() -> tuple[CloudSettings, Any]:
    """The app config (SSM, ``CHORUS_CONFIG_PARAMETER``) with the environment, and the session
    that read it."""
    import boto3

    from ..settings import load_settings

    session = boto3.session.Session()
    return load_settings(session.client("ssm", config=retries()), os.environ), session


def cloud_metrics() -> OperationsMetrics:
    """EMF metrics and X-Ray spans (imported here: only the functions that report pay for
    them)."""
    from ...adapters.emf_metrics import EmfMetrics
    from ...adapters.xray_spans import XRaySpans
    from ...core.metrics import OperationsMetrics

    return OperationsMetrics(EmfMetrics(), XRaySpans())


def from_environment(kind: type[W]) -> W:
    """A ``kind`` wiring on the app config and the environment, reporting to CloudWatch."""
    settings, session = settings_from_environment()
    return kind(settings, session=session, metrics=cloud_metrics)


_lock = threading.RLock()
_installed: Wiring | None = None
_built: dict[type, Wiring] = {}


def current(kind: type[W], build: Callable[[], W]) -> W:
    """This container's ``kind`` wiring: the installed one when it provides ``kind`` (tests
    install a whole ``CloudServices``), else the one ``build`` made on the first call."""
    with _lock:
        if isinstance(_installed, kind):
            return _installed
        if kind not in _built:
            _built[kind] = build()
        return _built[kind]  # type: ignore[return-value]


def install(wiring: Wiring | None) -> None:
    """Install ready-made wiring for every handler (tests), or None to build from the
    environment again."""
    global _installed
    with _lock:
        _installed = wiring
        _built.clear()
