"""The local dev sign-in: HMAC-signed tokens that name a user, for the laptop server only.

``chorus up`` has no user pool. The web app signs in with ``POST /api/auth/dev-login`` and gets a
token signed with a secret kept in the chorus home folder; the WebSocket (``?token=``) and the
REST API (``Authorization: Bearer``) map it back to the user. It keeps users' sessions apart on a
shared laptop server; it is not a security boundary (anyone who can reach 127.0.0.1 can sign in
as anyone), exactly like the ``X-Chorus-User`` header it sits next to.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

TOKEN_PREFIX = "dev1"
DEFAULT_TTL_SECONDS = 7 * 24 * 3600
SECRET_FILE = "dev-auth.key"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class InvalidToken(ValueError):
    """The token is malformed, signed with another secret, or expired."""


@dataclass(frozen=True)
class DevToken:
    user: str
    expires_at: int


class DevTokenSigner:
    """Signs and checks ``dev1.<payload>.<signature>`` tokens with one secret.

    Example:
        >>> signer = DevTokenSigner(b"k" * 32)
        >>> signer.verify(signer.sign("alice")[0]).user
        'alice'
    """

    def __init__(self, secret: bytes, ttl_seconds: int = DEFAULT_TTL_SECONDS) -> None:
        if len(secret) < 16:
            raise ValueError("the dev sign-in secret must be at least 16 bytes")
        self._secret = secret
        self.ttl_seconds = ttl_seconds

    def _signature(self, payload: str) -> str:
        mac = hmac.new(self._secret, f"{TOKEN_PREFIX}.{payload}".encode(), hashlib.sha256)
        return _b64(mac.digest())

    def sign(self, user: str, now: float | None = None) -> tuple[str, int]:
        """A token for ``user`` and its expiry (Unix seconds)."""
        expires = int((now if now is not None else time.time()) + self.ttl_seconds)
        payload = _b64(json.dumps({"sub": user, "exp": expires}, separators=(",", ":")).encode())
        return f"{TOKEN_PREFIX}.{payload}.{self._signature(payload)}", expires

    def verify(self, token: str, now: float | None = None) -> DevToken:
        """The user a token names; raises ``InvalidToken`` when it is not one of ours or expired."""
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
            raise InvalidToken("not a chorus dev sign-in token")
        payload, signature = parts[1], parts[2]
        if not hmac.compare_digest(self._signature(payload), signature):
            raise InvalidToken("the token's signature does not match this server's secret")
        try:
            claims = json.loads(_unb64(payload))
            user, expires = str(claims["sub"]), int(claims["exp"])
        except (ValueError, KeyError, TypeError):
            raise InvalidToken("the token's payload is malformed") from None
        if expires < (now if now is not None else time.time()):
            raise InvalidToken("the token has expired; sign in again")
        return DevToken(user=user, expires_at=expires)


def load_or_create_secret(home: Path) -> bytes:
    """The per-home secret, created once with mode 0600 (``<home>/dev-auth.key``)."""
    path = Path(home) / SECRET_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its secret
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return bytes.fromhex(value)
