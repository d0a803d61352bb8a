"""The local server's routes: the REST API (``api``), the chat socket (``chat_socket``) and the
pages (``site``). Each translates HTTP to the application layer or the chat service."""

from .api import api_routes
from .chat_socket import chat_socket_route
from .public_api import public_api_routes
from .site import page_routes, site_routes

__all__ = [
    "api_routes",
    "chat_socket_route",
    "page_routes",
    "public_api_routes",
    "site_routes",
]
