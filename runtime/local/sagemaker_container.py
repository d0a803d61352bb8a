"""Serve a SageMaker ``inference.py`` on the laptop, behind the SageMaker container HTTP contract.

The same script that runs in the Hugging Face SageMaker container is loaded by path and driven
the way the toolkit drives it (``model_fn`` once; ``input_fn`` → ``predict_fn`` → ``output_fn``
per request), so what works here works on an endpoint. Routes:

``GET /ping``                          200 once the model is loaded (SageMaker's health check)
``POST /invocations``                  the container contract: the script's answer, or
                                       400 ``{"code", "message"}`` for a request the script
                                       refuses, 500 ``{"code": "internal_error", ...}`` for a
                                       fault (the trace goes to the log, never to the caller)
``POST /endpoints/{name}/invocations`` the SageMaker *runtime* API, which boto3's
                                       ``sagemaker-runtime`` client calls: same answer on
                                       success; on failure a 424 ``ModelError`` carrying
                                       ``OriginalStatusCode`` / ``OriginalMessage`` exactly as
                                       the real runtime wraps a container's error

One difference from the real toolkit, on purpose: it reports *every* exception as 400, while
this server answers 500 for anything but the script's ``ClientError``, so local runs show faults
as faults.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

logger = logging.getLogger(__name__)

JSON = "application/json"
#: content types the toolkit hands to ``input_fn`` as ``str`` rather than ``bytes``
UTF8_TYPES = ("application/json", "text/csv", "text/plain")
HANDLER_NAMES = ("model_fn", "input_fn", "predict_fn", "output_fn")
INTERNAL_ERROR = {
    "code": "internal_error",
    "message": "The model failed on this request; the model server's log has the details.",
}


@dataclass(frozen=True)
class Invocation:
    """What the container answers to one ``/invocations`` request."""

    status: int
    body: bytes
    content_type: str


def load_inference_module(path: str | Path) -> ModuleType:
    """Import an ``inference.py`` by path, under a private module name.

    It is registered in ``sys.modules`` (dataclasses need that) under a name derived from the
    path, so an embedding and a cross-encoder script can be loaded side by side.
    """
    source = Path(path).resolve()
    name = f"_chorus_inference_{abs(hash(str(source))):x}"
    spec = importlib.util.spec_from_file_location(name, source)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load inference code from {source}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    missing = [fn for fn in HANDLER_NAMES if not callable(getattr(module, fn, None))]
    if missing:
        raise ImportError(f"{source} lacks {', '.join(missing)} (the inference toolkit contract)")
    return module


class ModelServer:
    """One loaded model and its inference script, called the way the SageMaker toolkit does.

    Requests are served one at a time: a CPU model already uses every core for one batch, and
    a torch module is not promised to be thread-safe.
    """

    def __init__(self, module: ModuleType, model: Any) -> None:
        self.module = module
        self.model = model
        self._client_error: type[BaseException] | None = getattr(module, "ClientError", None)
        self._lock = threading.Lock()

    @classmethod
    def load(cls, inference_path: str | Path, model_dir: str | Path) -> ModelServer:
        module = load_inference_module(inference_path)
        return cls(module, module.model_fn(str(model_dir)))

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> Invocation:
        """Run ``input_fn`` → ``predict_fn`` → ``output_fn``; map failures to 400 / 500."""
        if not accept or accept.strip() == "*/*":
            accept = JSON
        data: str | bytes = body
        if content_type and content_type.split(";")[0].strip().lower() in UTF8_TYPES:
            try:
                data = body.decode("utf-8")
            except UnicodeDecodeError:
                data = body  # input_fn reports the bad encoding as a client error
        try:
            with self._lock:
                request = self.module.input_fn(data, content_type)
                prediction = self.module.predict_fn(request, self.model)
                output = self.module.output_fn(prediction, accept)
        except Exception as exc:
            if self._client_error is not None and isinstance(exc, self._client_error):
                return _json_invocation(getattr(exc, "status_code", 400), _client_error_body(exc))
            logger.exception("inference failed")
            return _json_invocation(500, INTERNAL_ERROR)
        payload = output.encode("utf-8") if isinstance(output, str) else bytes(output)
        return Invocation(200, payload, accept)


def _client_error_body(exc: BaseException) -> dict[str, str]:
    to_dict = getattr(exc, "to_dict", None)
    if callable(to_dict):
        return dict(to_dict())
    return {"code": "bad_request", "message": str(exc)}


def _json_invocation(status: int, body: dict[str, Any]) -> Invocation:
    return Invocation(status, json.dumps(body).encode("utf-8"), JSON)


def runtime_model_error(invocation: Invocation, endpoint_name: str) -> Response:
    """Wrap a failed container answer the way the SageMaker runtime API does (424 ModelError)."""
    kind = "client" if invocation.status < 500 else "server"
    original = invocation.body.decode("utf-8", errors="replace")
    body = {
        "ErrorCode": f"{kind.upper()}_ERROR_FROM_MODEL",
        "Message": (
            f"Received {kind} error ({invocation.status}) from primary with message "
            f'"{original}". See the local model server log for endpoint {endpoint_name}.'
        ),
        "OriginalStatusCode": invocation.status,
        "OriginalMessage": original,
    }
    return Response(
        json.dumps(body),
        status_code=424,
        media_type=JSON,
        headers={"x-amzn-ErrorType": "ModelError"},
    )


def create_app(server: ModelServer) -> Starlette:
    """The Starlette app serving ``server`` on the container and runtime routes."""

    async def ping(request: Request) -> Response:
        return Response(status_code=200)

    async def run(request: Request) -> Invocation:
        body = await request.body()
        return await run_in_threadpool(
            server.invoke,
            body,
            request.headers.get("content-type"),
            request.headers.get("accept"),
        )

    async def invocations(request: Request) -> Response:
        result = await run(request)
        return Response(result.body, status_code=result.status, media_type=result.content_type)

    async def endpoint_invocations(request: Request) -> Response:
        result = await run(request)
        if result.status != 200:
            return runtime_model_error(result, request.path_params["endpoint_name"])
        return Response(
            result.body,
            media_type=result.content_type,
            headers={"x-Amzn-Invoked-Production-Variant": "AllTraffic"},
        )

    return Starlette(
        routes=[
            Route("/ping", ping, methods=["GET"]),
            Route("/invocations", invocations, methods=["POST"]),
            Route("/endpoints/{endpoint_name}/invocations", endpoint_invocations, methods=["POST"]),
        ]
    )
