"""The local server: the chat WebSocket, the REST API and the chat page on 127.0.0.1.

It speaks the same protocol and REST API as the cloud (docs/protocol.md); the routes live in
``routes/`` and only translate to the application layer (``runtime/application``) and the chat
service. Blocking work (embedding, PostgreSQL, generation) runs in worker threads.
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException

from .dev_auth import DevTokenSigner, load_or_create_secret
from .routes import api_routes, chat_socket_route, page_routes, public_api_routes, site_routes
from .routes.responses import http_error
from .services import LocalServices


def create_app(services: LocalServices, frontend_dir: Path | None = None) -> Starlette:
    """The local chorus server over already-open services.

    Parameters:
        services: the open stores, embedder and chat service.
        frontend_dir: the React app's build (``frontend/dist``), served at ``/`` when it holds an
            ``index.html``; without it ``/`` is the plain page of ``static/``.
    """
    signer = DevTokenSigner(load_or_create_secret(services.settings.home))
    app_dir = frontend_dir if frontend_dir and (frontend_dir / "index.html").is_file() else None
    routes = [
        *page_routes(app_dir),
        *site_routes(services, signer),
        *api_routes(services),
        *public_api_routes(services),
        chat_socket_route(services.chat, lambda: services.backend.api_keys),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
    app.state.dev_signer = signer
    return app
