"""API keys of the public API: their format, how a secret is kept, and the usage plan's limits.

A key reads ``chorus_<keyId>_<secret>``: ``keyId`` (16 hex digits) names the stored record, the
secret (43 URL-safe characters, 256 random bits) is shown once at creation and never stored:
the record keeps a random salt and ``SHA-256(salt || secret)``, compared with
``hmac.compare_digest``. With 256-bit secrets a stolen table cannot be brute-forced, so no
server-side pepper (and no secret to rotate) is needed.

Every key carries a ``UsagePlan``: a token bucket (``ratePerSecond`` refill, ``burst`` capacity)
and a quota of requests per UTC day. ``admit`` is the one rule, a pure function of the stored
``Usage`` and the time, so PostgreSQL (row lock) and DynamoDB (conditional write on a version)
apply exactly the same arithmetic; a refused request changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import ChorusError

KEY_PREFIX = "chorus_"
SCOPES = ("answers", "documents")
"""What a key may do: ask questions (``answers``), add documents (``documents``)."""
_KEY = re.compile(r"^chorus_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
DAY_SECONDS = 86400


class InvalidApiKey(ChorusError):
    """No key, a malformed key, or one that is not a key of this workspace."""

    code = "invalid_api_key"
    http_status = 401


class RevokedApiKey(ChorusError):
    code = "api_key_revoked"
    http_status = 401


class KeyScopeForbidden(ChorusError):
    """A valid key used for something its scopes do not allow."""

    code = "api_key_scope"
    http_status = 403


class LimitExceeded(ChorusError):
    """The key's rate or daily quota is spent; ``retry_after`` (whole seconds) says when a
    request will be admitted again (sent as the ``Retry-After`` header)."""

    http_status = 429

    def __init__(self, message: str, *, code: str, retry_after: int) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "retryAfter": self.retry_after}


@dataclass(frozen=True)
class UsagePlan:
    """A key's limits: ``burst`` requests at once, refilled at ``rate_per_second``; at most
    ``daily_quota`` requests per UTC day."""

    rate_per_second: float = 1.0
    burst: int = 5
    daily_quota: int = 1000

    def __post_init__(self) -> None:
        if not (self.rate_per_second > 0 and self.burst >= 1 and self.daily_quota >= 1):
            raise ValueError("a usage plan needs ratePerSecond > 0, burst ≥ 1, dailyQuota ≥ 1")


@dataclass(frozen=True)
class Usage:
    """What a key has spent: the bucket's ``tokens`` at ``refilled_at`` (epoch seconds), and
    ``day_used`` requests on UTC day ``day`` (days since the epoch). ``version`` counts writes
    (DynamoDB's conditional write compares it)."""

    tokens: float
    refilled_at: float
    day: int = 0
    day_used: int = 0
    version: int = 0


@dataclass(frozen=True)
class ApiKey:
    """A stored key: never its secret, only ``salt`` and ``secret_hash``."""

    workspace_id: str
    key_id: str
    name: str
    created_by: str
    created_at: float
    salt: str
    secret_hash: str
    plan: UsagePlan = field(default_factory=UsagePlan)
    scopes: tuple[str, ...] = SCOPES
    revoked_at: float | None = None
    usage: Usage | None = None

    @property
    def hint(self) -> str:
        """What a list shows of the key: enough to recognise it, nothing to use."""
        return f"{KEY_PREFIX}{self.key_id}_…"


def hash_secret(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode()).hexdigest()


def issue_key(
    workspace_id: str,
    name: str,
    created_by: str,
    now: float,
    plan: UsagePlan,
    scopes: tuple[str, ...] = SCOPES,
) -> tuple[str, ApiKey]:
    """A new key: the full key string (to show once) and the record to store."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    record = ApiKey(
        workspace_id=workspace_id,
        key_id=key_id,
        name=name,
        created_by=created_by,
        created_at=now,
        salt=salt,
        secret_hash=hash_secret(salt, secret),
        plan=plan,
        scopes=scopes,
        usage=Usage(tokens=float(plan.burst), refilled_at=now),
    )
    return f"{KEY_PREFIX}{key_id}_{secret}", record


def looks_like_key(raw: str | None) -> bool:
    """Whether a presented token is meant as an API key (``chorus_…``), not a sign-in token:
    a chat connection's ``?token=`` carries either."""
    return bool(raw) and str(raw).startswith(KEY_PREFIX)


def parse_key(raw: str | None) -> tuple[str, str]:
    """``(keyId, secret)`` of a presented key; ``InvalidApiKey`` when it is not one."""
    match = _KEY.fullmatch(raw or "")
    if match is None:
        raise InvalidApiKey(
            "send a chorus API key as 'Authorization: Bearer chorus_<keyId>_<secret>' (or the "
            "X-Api-Key header); a workspace manager creates one with POST "
            "/workspaces/{id}/api-keys"
        )
    return match.group(1), match.group(2)


def secret_matches(key: ApiKey, secret: str) -> bool:
    return hmac.compare_digest(key.secret_hash, hash_secret(key.salt, secret))


def admit(usage: Usage, plan: UsagePlan, now: float) -> Usage:
    """The usage after one more request at ``now``; ``LimitExceeded`` (and nothing spent) when
    the daily quota or the bucket is empty. The quota is checked first: its wait is longer."""
    today = int(now // DAY_SECONDS)
    day_used = usage.day_used if usage.day == today else 0
    if day_used >= plan.daily_quota:
        wait = math.ceil((today + 1) * DAY_SECONDS - now)
        raise LimitExceeded(
            f"this key's quota of {plan.daily_quota} requests per day is spent; it renews at "
            "00:00 UTC",
            code="quota_exceeded",
            retry_after=max(1, wait),
        )
    elapsed = max(0.0, now - usage.refilled_at)
    tokens = min(float(plan.burst), usage.tokens + elapsed * plan.rate_per_second)
    if tokens < 1.0:
        wait = math.ceil((1.0 - tokens) / plan.rate_per_second)
        raise LimitExceeded(
            f"this key allows {plan.rate_per_second:g} requests per second (bursts of "
            f"{plan.burst}); slow down and retry after the Retry-After seconds",
            code="rate_limited",
            retry_after=max(1, wait),
        )
    return replace(
        usage,
        tokens=tokens - 1.0,
        refilled_at=max(now, usage.refilled_at),
        day=today,
        day_used=day_used + 1,
        version=usage.version + 1,
    )
