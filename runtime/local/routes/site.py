"""The pages and the server's self-description: the chat page(s), ``config.json``, health and
the dev sign-in.

``/`` is the React app (``frontend/dist``) when its build is given, and the plain page in
``static/`` otherwise (also kept at ``/classic``).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ...application.requests import read_request
from ..dev_auth import DevTokenSigner
from ..services import LOCAL_STORE, LocalServices
from ..stats import stats_endpoint
from .identity import valid_user
from .responses import handles_errors

STATIC = Path(__file__).parent.parent / "static"


class DevLogin(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    user: str = Field(min_length=1, max_length=128)


def answer_modes(services: LocalServices) -> list[Literal["single", "cascade", "consensus"]]:
    """Modes the chat service answers: all three once it has multi-model orchestration."""
    chat = services.chat
    if hasattr(chat, "consensus_models") and hasattr(chat, "cascade_models"):
        return ["single", "cascade", "consensus"]
    return ["single"]


def site_routes(services: LocalServices, signer: DevTokenSigner) -> list[Route | Mount]:
    """``/config.json``, ``/api/health``, ``/api/stats``, ``/api/auth/dev-login`` and
    ``/static``."""
    settings = services.settings

    @handles_errors
    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "models": services.chat.models})

    @handles_errors
    async def config(request: Request) -> Response:
        scheme = "wss" if request.url.scheme == "https" else "ws"
        return JSONResponse(
            {
                "mode": "local",
                "websocketUrl": f"{scheme}://{request.url.netloc}/ws",
                "apiUrl": f"{request.url.scheme}://{request.url.netloc}/api",
                "models": services.chat.models,
                "defaultModel": services.chat.default_model,
                "defaultWorkspace": settings.default_workspace,
                "embeddingModel": services.embedder.model_id,
                "reranker": services.reranker.model_id if services.reranker else None,
                "modes": answer_modes(services),
                "auth": "dev",
                "embeddingModels": [services.embedder.model_id],
                "stores": [LOCAL_STORE],
            }
        )

    @handles_errors
    async def dev_login(request: Request) -> Response:
        body = read_request(DevLogin, await request.body())
        user = valid_user(body.user)
        token, expires = signer.sign(user)
        return JSONResponse({"user": user, "token": token, "expiresAt": expires})

    return [
        Route("/config.json", config),
        Route("/api/health", health),
        Route("/api/stats", stats_endpoint(services.metrics)),
        Route("/api/auth/dev-login", dev_login, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]


def page_routes(app_dir: Path | None) -> list[Route | Mount]:
    """``/`` (the React app when built, else the classic page), ``/classic`` and the app's
    assets."""

    async def classic_page(request: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    if app_dir is None:
        return [Route("/", classic_page)]

    async def app_page(request: Request) -> Response:
        host = request.url.netloc
        csp = (
            "default-src 'self'; "
            f"connect-src 'self' ws://{host} wss://{host}; "
            "img-src 'self' data:; style-src 'self'; script-src 'self'; font-src 'self'; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
        )
        return FileResponse(
            app_dir / "index.html",
            headers={
                "content-security-policy": csp,
                "cache-control": "no-cache",
                "x-content-type-options": "nosniff",
                "referrer-policy": "no-referrer",
            },
        )

    routes: list[Route | Mount] = [Route("/", app_page), Route("/classic", classic_page)]
    if (app_dir / "assets").is_dir():
        routes.append(Mount("/assets", StaticFiles(directory=app_dir / "assets")))
    for path in sorted(app_dir.iterdir()):
        if path.is_file() and path.name not in ("index.html", "config.json"):
            routes.append(Route(f"/{path.name}", functools.partial(_file_endpoint, path)))
    return routes


async def _file_endpoint(path: Path, request: Request) -> Response:
    return FileResponse(path)
