"""Verify Cognito access and ID tokens: signature, issuer, client, ``token_use``, expiry.

Browsers cannot set headers on a WebSocket, so the ``$connect`` authorizer receives the token in
the query string and must check it itself. PyJWT does the cryptography; this module pins what
Cognito's documentation asks a verifier to check:

* RS256 signature with the key named by the token's ``kid`` from the pool's JWKS (fetched once
  per container and again when an unknown ``kid`` shows up: Cognito rotates keys);
* ``iss`` equals the pool's issuer URL;
* ``token_use`` is ``access`` or ``id`` (as allowed);
* the app client: ``client_id`` claim for access tokens, ``aud`` for ID tokens;
* ``exp`` in the future (with a small leeway) and ``iat`` not in the future.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from jwt.algorithms import RSAAlgorithm

from ..core.errors import ChorusError

JWKS_REFRESH_SECONDS = 3600
LEEWAY_SECONDS = 30


class InvalidToken(ChorusError):
    """The token is missing, malformed, forged, expired or meant for another pool or client."""

    code = "unauthorized"
    http_status = 401


@dataclass(frozen=True)
class Identity:
    """Who a verified token belongs to."""

    user_id: str
    username: str
    groups: tuple[str, ...]
    token_use: str
    claims: Mapping[str, Any]


def fetch_json(url: str, timeout: float = 5.0) -> dict[str, Any]:
    """GET a JSON document (the JWKS); only https, or http to a loopback address for tests."""
    if not (url.startswith("https://") or url.startswith(("http://127.0.0.1", "http://localhost"))):
        raise ValueError(f"refusing to fetch keys over plain http from {url}")
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


class CognitoTokenVerifier:
    """Checks tokens of one user pool and one app client.

    Parameters
    ----------
    issuer:
        ``https://cognito-idp.<region>.amazonaws.com/<pool id>`` (``CHORUS_ISSUER_URL``).
    client_id:
        The app client tokens must be issued to (``CHORUS_CLIENT_ID``).
    jwks_url:
        Where the pool's public keys are (``CHORUS_JWKS_URL``); defaults to the issuer's
        ``/.well-known/jwks.json``. Tests point it at a local server.
    token_uses:
        Which kinds of token to accept.
    fetch:
        Loads the JWKS document (default: ``fetch_json``).
    clock:
        Seconds since the epoch (tests move time instead of sleeping).

    Example
    -------
    >>> verifier = CognitoTokenVerifier(issuer, client_id)  # doctest: +SKIP
    >>> verifier.verify(token).user_id  # doctest: +SKIP
    '4f7c...'
    """

    def __init__(
        self,
        issuer: str,
        client_id: str,
        *,
        jwks_url: str | None = None,
        token_uses: Iterable[str] = ("access", "id"),
        fetch: Callable[[str], Mapping[str, Any]] = fetch_json,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not issuer or not client_id:
            raise ValueError("issuer and client_id are required to verify tokens")
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.jwks_url = jwks_url or f"{self.issuer}/.well-known/jwks.json"
        self.token_uses = frozenset(token_uses)
        self._fetch = fetch
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    def _key(self, kid: str) -> Any:
        with self._lock:
            stale = self._clock() - self._fetched_at > JWKS_REFRESH_SECONDS
            if kid not in self._keys or stale:
                self._load_keys()
            key = self._keys.get(kid)
        if key is None:
            raise InvalidToken("token signed with an unknown key")
        return key

    def _load_keys(self) -> None:
        try:
            document = self._fetch(self.jwks_url)
            keys = {
                k["kid"]: RSAAlgorithm.from_jwk(json.dumps(k))
                for k in document.get("keys", [])
                if k.get("kty") == "RSA" and "kid" in k
            }
        except Exception as exc:
            raise ChorusError(
                f"could not load the signing keys from {self.jwks_url}: {exc}",
                code="jwks_unavailable",
            ) from exc
        self._keys = keys
        self._fetched_at = self._clock()

    def verify(self, token: str | None) -> Identity:
        """Return the token's identity or raise ``InvalidToken`` saying what is wrong."""
        if not token or not isinstance(token, str) or token.count(".") != 2:
            raise InvalidToken("missing or malformed token")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("malformed token header") from None
        if header.get("alg") != "RS256":
            raise InvalidToken("token must be signed with RS256")
        key = self._key(str(header.get("kid", "")))
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={
                    "require": ["exp", "iat", "iss", "token_use", "sub"],
                    "verify_aud": False,  # checked below: access tokens carry client_id instead
                    "verify_iat": False,
                    "verify_exp": False,
                },
            )
        except jwt.InvalidIssuerError:
            raise InvalidToken("token was issued by another user pool") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"invalid token: {exc}") from None
        self._check_time(claims)
        token_use = claims.get("token_use")
        if token_use not in self.token_uses:
            raise InvalidToken(f"token_use {token_use!r} is not accepted here")
        audience = claims.get("client_id") if token_use == "access" else claims.get("aud")
        if audience != self.client_id:
            raise InvalidToken("token was issued to another app client")
        groups = claims.get("cognito:groups") or []
        return Identity(
            user_id=str(claims["sub"]),
            username=str(claims.get("username") or claims.get("cognito:username") or ""),
            groups=tuple(str(g) for g in groups),
            token_use=str(token_use),
            claims=claims,
        )

    def _check_time(self, claims: Mapping[str, Any]) -> None:
        """Expiry against the injected clock (PyJWT would use the wall clock)."""
        now = self._clock()
        try:
            expires, issued = float(claims["exp"]), float(claims["iat"])
        except (TypeError, ValueError):
            raise InvalidToken("exp and iat must be numbers") from None
        if expires + LEEWAY_SECONDS <= now:
            raise InvalidToken("token has expired; sign in again")
        if issued - LEEWAY_SECONDS > now:
            raise InvalidToken("token was issued in the future")
