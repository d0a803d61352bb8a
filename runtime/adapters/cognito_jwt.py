"""Verify Cognito access and ID tokens: signature, issuer, client, ``token_use``, expiry.

Browsers cannot set headers on a WebSocket, so the ``$connect`` authorizer receives the token in
the query string and must check it itself. PyJWT does the cryptography; this module pins what
Cognito's documentation asks a verifier to check:

* RS256 signature with the key named by the token's ``kid`` from the pool's JWKS (fetched once
  per container, refreshed hourly and when an unknown ``kid`` shows up: Cognito rotates keys);
* ``iss`` equals the pool's issuer URL;
* ``token_use`` is ``access`` or ``id`` (as allowed);
* the app client: ``client_id`` claim for access tokens, ``aud`` for ID tokens;
* ``exp`` in the future (with a small leeway) and ``iat`` not in the future, both finite numbers.

The JWKS is fetched on behalf of anonymous callers, so fetching is bounded: at most one refresh
every ``JWKS_MIN_REFRESH_SECONDS`` whatever the tokens say, and a ``kid`` the pool did not know is
remembered for ``UNKNOWN_KID_SECONDS`` and refused without a fetch. When a refresh fails the keys
already held keep being used (stale-if-error: one outage of the JWKS endpoint must not sign every
user out), with a warning and ``refresh_failures`` counted for a metric; with no key held at all
the verifier raises ``JwksUnavailable`` (the authorizer denies).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..core.errors import ChorusError

JWKS_REFRESH_SECONDS = 3600
JWKS_MIN_REFRESH_SECONDS = 30
UNKNOWN_KID_SECONDS = 60
LEEWAY_SECONDS = 30

log = logging.getLogger(__name__)


class InvalidToken(ChorusError):
    """The token is missing, malformed, forged, expired or meant for another pool or client."""

    code = "unauthorized"
    http_status = 401


class JwksUnavailable(ChorusError):
    """The pool's signing keys could not be loaded and none are held: no token can be checked."""

    code = "jwks_unavailable"
    http_status = 503


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
        self._attempted_at = float("-inf")
        self._unknown_kids: dict[str, float] = {}
        self._lock = threading.Lock()
        self.fetches = 0
        self.refresh_failures = 0

    def _key(self, kid: str) -> Any:
        with self._lock:
            now = self._clock()
            stale = now - self._fetched_at > JWKS_REFRESH_SECONDS
            unknown = kid not in self._keys
            if unknown and self._unknown_kids.get(kid, float("-inf")) > now:
                raise InvalidToken("token signed with an unknown key")
            may_refresh = now - self._attempted_at >= JWKS_MIN_REFRESH_SECONDS
            if (unknown or stale) and may_refresh:
                self._refresh(now)
            elif not self._keys:
                raise JwksUnavailable(
                    f"the signing keys from {self.jwks_url} are unavailable; retry shortly"
                )
            key = self._keys.get(kid)
            if key is None:
                if len(self._unknown_kids) > 1024:  # bounded: random kids must not grow it
                    self._unknown_kids = {k: t for k, t in self._unknown_kids.items() if t > now}
                self._unknown_kids[kid] = now + UNKNOWN_KID_SECONDS
        if key is None:
            raise InvalidToken("token signed with an unknown key")
        return key

    def _refresh(self, now: float) -> None:
        """Load the JWKS; on failure keep the keys held (stale-if-error) or, with none, raise."""
        self._attempted_at = now
        self.fetches += 1
        from jwt.algorithms import RSAAlgorithm  # with the first keys: see ``verify``

        try:
            document = self._fetch(self.jwks_url)
            keys = {
                k["kid"]: RSAAlgorithm.from_jwk(json.dumps(k))
                for k in document.get("keys", [])
                if k.get("kty") == "RSA" and "kid" in k
            }
        except Exception as exc:
            self.refresh_failures += 1
            if self._keys:
                log.warning(
                    "could not refresh the signing keys from %s (%s); using the %d keys held",
                    self.jwks_url,
                    exc,
                    len(self._keys),
                )
                return
            raise JwksUnavailable(
                f"could not load the signing keys from {self.jwks_url}: {exc}; retry shortly"
            ) from exc
        self._keys = keys
        self._fetched_at = now
        self._unknown_kids = {k: t for k, t in self._unknown_kids.items() if k not in keys}

    def verify(self, token: str | None) -> Identity:
        """Return the token's identity or raise ``InvalidToken`` saying what is wrong."""
        if not token or not isinstance(token, str) or token.count(".") != 2:
            raise InvalidToken("missing or malformed token")
        if not token.isascii():  # a JWT is base64url: anything else (a lone surrogate) is not one
            raise InvalidToken("malformed token: not base64url")
        # PyJWT and cryptography (180 modules) load with the first token, not at import: the
        # authorizer's cold start imports only what every call needs.
        import jwt

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
        expires, issued = claims["exp"], claims["iat"]
        for value in (expires, issued):
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            if not numeric or not math.isfinite(value):
                raise InvalidToken("exp and iat must be finite numbers (seconds since the epoch)")
        if expires + LEEWAY_SECONDS <= now:
            raise InvalidToken("token has expired; sign in again")
        if issued - LEEWAY_SECONDS > now:
            raise InvalidToken("token was issued in the future")
