"""Who is calling the local server: a dev sign-in token, or (scripts, older clients) a name.

A dev sign-in token (``POST /api/auth/dev-login``) is sent as ``Authorization: Bearer`` or
``?token=``; without one, the ``X-Chorus-User`` header or ``?user=`` names the caller, else
``local``. Every local caller administers the laptop's workspaces (``local_caller``); sessions
stay their own.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

from ...application import Caller, local_caller
from ...core.errors import BadRequest, ChorusError
from ..dev_auth import DevTokenSigner, InvalidToken
from ..services import LOCAL_USER

USER_HEADER = "x-chorus-user"


class Unauthorized(ChorusError):
    """A sign-in token that this server did not issue, or that expired."""

    code = "unauthorized"
    http_status = 401


def valid_user(value: str) -> str:
    """``value`` if it is a user name the server accepts; ``BadRequest`` otherwise."""
    if len(value) > 128 or not value.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise BadRequest("the user name may only hold letters, digits, '-', '_' and '.'")
    return value


def _bearer(connection: HTTPConnection) -> str | None:
    header = connection.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return connection.query_params.get("token") or None


def user_of(connection: HTTPConnection) -> str:
    """The caller's name: a dev sign-in token when one is sent, else the header or query."""
    token = _bearer(connection)
    if token is not None:
        signer: DevTokenSigner = connection.app.state.dev_signer
        try:
            return valid_user(signer.verify(token).user)
        except InvalidToken as exc:
            raise Unauthorized(f"{exc}; sign in again (POST /api/auth/dev-login)") from None
    value = connection.headers.get(USER_HEADER) or connection.query_params.get("user")
    return valid_user(value or LOCAL_USER)


def caller_of(connection: HTTPConnection) -> Caller:
    return local_caller(user_of(connection))
