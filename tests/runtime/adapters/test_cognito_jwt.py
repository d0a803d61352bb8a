"""CognitoTokenVerifier against real RS256 tokens from moto's Cognito."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import boto3
import jwt
import pytest
import requests
from chorus.runtime.adapters.cognito_jwt import (
    JWKS_MIN_REFRESH_SECONDS,
    CognitoTokenVerifier,
    InvalidToken,
    fetch_json,
)
from chorus.runtime.core.errors import ChorusError
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

PASSWORD = "Correct-Horse-Battery-9!"


@pytest.fixture
def pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    """A pool, a client, a user in two groups, and the pool's JWKS as moto serves it."""
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        idp = boto3.client("cognito-idp", region_name="us-east-1")
        pool_id = idp.create_user_pool(PoolName="p")["UserPool"]["Id"]
        clients = [
            idp.create_user_pool_client(
                UserPoolId=pool_id,
                ClientName=name,
                ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH"],
            )["UserPoolClient"]["ClientId"]
            for name in ("spa", "other")
        ]
        idp.admin_create_user(UserPoolId=pool_id, Username="ann")
        idp.admin_set_user_password(
            UserPoolId=pool_id, Username="ann", Password=PASSWORD, Permanent=True
        )
        for group in ("admin", "team-a"):
            idp.create_group(UserPoolId=pool_id, GroupName=group)
            idp.admin_add_user_to_group(UserPoolId=pool_id, Username="ann", GroupName=group)
        issuer = f"https://cognito-idp.us-east-1.amazonaws.com/{pool_id}"
        jwks = requests.get(f"{issuer}/.well-known/jwks.json", timeout=5).json()

        def tokens(client_id: str) -> dict[str, str]:
            auth = idp.admin_initiate_auth(
                UserPoolId=pool_id,
                ClientId=client_id,
                AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": "ann", "PASSWORD": PASSWORD},
            )["AuthenticationResult"]
            return {"access": auth["AccessToken"], "id": auth["IdToken"]}

        yield {
            "issuer": issuer,
            "client": clients[0],
            "tokens": tokens,
            "other": clients[1],
            "jwks": jwks,
        }


def verifier(pool, fetches: list | None = None, **kwargs) -> CognitoTokenVerifier:
    def fetch(url: str) -> dict:
        if fetches is not None:
            fetches.append(url)
        return pool["jwks"]

    return CognitoTokenVerifier(pool["issuer"], pool["client"], fetch=fetch, **kwargs)


@pytest.mark.parametrize("kind", ["access", "id"])
def test_a_pool_token_gives_the_user_and_groups(pool, kind):
    identity = verifier(pool).verify(pool["tokens"](pool["client"])[kind])
    assert identity.token_use == kind
    assert set(identity.groups) == {"admin", "team-a"}
    assert identity.user_id == identity.claims["sub"]


def test_tokens_of_another_app_client_are_refused(pool):
    for token in pool["tokens"](pool["other"]).values():
        with pytest.raises(InvalidToken, match="another app client"):
            verifier(pool).verify(token)


def test_a_token_signed_with_another_key_is_refused(pool):
    claims = jwt.decode(
        pool["tokens"](pool["client"])["access"], options={"verify_signature": False}
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "dummy"})
    with pytest.raises(InvalidToken, match="invalid token"):
        verifier(pool).verify(forged)


def test_a_token_not_signed_with_rs256_is_refused(pool):
    claims = jwt.decode(
        pool["tokens"](pool["client"])["access"], options={"verify_signature": False}
    )
    token = jwt.encode(
        claims, "a-shared-secret-of-at-least-32-bytes!", algorithm="HS256", headers={"kid": "dummy"}
    )
    with pytest.raises(InvalidToken, match="RS256"):
        verifier(pool).verify(token)


def test_an_expired_token_is_refused(pool):
    token = pool["tokens"](pool["client"])["access"]
    late = verifier(pool, clock=lambda: time.time() + 3600 + 60)
    with pytest.raises(InvalidToken, match="expired"):
        late.verify(token)
    assert verifier(pool, clock=lambda: time.time() + 3500).verify(token)  # still valid


def test_only_the_accepted_token_use_passes(pool):
    tokens = pool["tokens"](pool["client"])
    id_only = verifier(pool, token_uses=("id",))
    assert id_only.verify(tokens["id"]).token_use == "id"
    with pytest.raises(InvalidToken, match="token_use"):
        id_only.verify(tokens["access"])


def test_a_token_of_another_pool_is_refused(pool):
    elsewhere = CognitoTokenVerifier(
        pool["issuer"] + "x", pool["client"], fetch=lambda url: pool["jwks"]
    )
    with pytest.raises(InvalidToken, match="another user pool"):
        elsewhere.verify(pool["tokens"](pool["client"])["access"])


class Clock:
    """Seconds since the epoch that move only when a test says so."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _signed_elsewhere(token: str, kid: str, **changes: object) -> str:
    claims = {**jwt.decode(token, options={"verify_signature": False}), **changes}
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def test_keys_are_fetched_once_and_again_for_an_unknown_kid(pool):
    fetches: list[str] = []
    clock = Clock()
    checker = verifier(pool, fetches, clock=clock)
    token = pool["tokens"](pool["client"])["access"]
    checker.verify(token)
    checker.verify(token)
    assert fetches == [pool["issuer"] + "/.well-known/jwks.json"]

    clock.now += JWKS_MIN_REFRESH_SECONDS
    with pytest.raises(InvalidToken, match="unknown key"):
        checker.verify(_signed_elsewhere(token, "new-key"))
    assert len(fetches) == 2


def test_random_kids_cannot_force_a_jwks_download_per_request(pool):
    fetches: list[str] = []
    clock = Clock()
    checker = verifier(pool, fetches, clock=clock)
    token = pool["tokens"](pool["client"])["access"]
    checker.verify(token)

    for n in range(50):
        with pytest.raises(InvalidToken, match="unknown key"):
            checker.verify(_signed_elsewhere(token, f"random-{n}"))

    assert len(fetches) == 1


def test_an_unknown_kid_is_remembered_and_refused_without_a_fetch(pool):
    fetches: list[str] = []
    clock = Clock()
    checker = verifier(pool, fetches, clock=clock)
    forged = _signed_elsewhere(pool["tokens"](pool["client"])["access"], "nobody-knows-me")
    with pytest.raises(InvalidToken, match="unknown key"):
        checker.verify(forged)

    clock.now += JWKS_MIN_REFRESH_SECONDS  # refreshing would be allowed, but the kid is known bad
    with pytest.raises(InvalidToken, match="unknown key"):
        checker.verify(forged)

    assert len(fetches) == 1


def test_a_failed_hourly_refresh_keeps_serving_the_cached_keys(pool, caplog):
    clock = Clock()
    outage = {"on": False}

    def fetch(url: str) -> dict:
        if outage["on"]:
            raise OSError("connection refused")
        return pool["jwks"]

    checker = CognitoTokenVerifier(pool["issuer"], pool["client"], fetch=fetch, clock=clock)
    token = pool["tokens"](pool["client"])["access"]
    clock.now -= 3000  # the keys are loaded 50 minutes before the token is issued ...
    with pytest.raises(InvalidToken):
        checker.verify(_signed_elsewhere(token, "unknown"))
    outage["on"] = True
    clock.now += 3000 + 601  # ... so the hourly refresh is due while the token is valid

    with caplog.at_level("WARNING"):
        assert checker.verify(token).user_id

    assert checker.refresh_failures == 1
    assert any("using the" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("value", ["nan", "inf", "1e400", float("nan"), float("inf"), True])
@pytest.mark.parametrize("claim", ["exp", "iat"])
def test_date_claims_must_be_finite_numbers(pool, claim, value):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "kid": "k1"}
    checker = CognitoTokenVerifier(
        pool["issuer"], pool["client"], fetch=lambda url: {"keys": [jwk]}
    )
    claims = jwt.decode(
        pool["tokens"](pool["client"])["access"], options={"verify_signature": False}
    )
    token = jwt.encode({**claims, claim: value}, key, algorithm="RS256", headers={"kid": "k1"})
    with pytest.raises(InvalidToken, match="finite numbers"):
        checker.verify(token)


def test_an_unreachable_jwks_is_a_server_error_not_a_denial_reason(pool):
    def broken(url: str) -> dict:
        raise OSError("connection refused")

    checker = CognitoTokenVerifier(pool["issuer"], pool["client"], fetch=broken)
    with pytest.raises(ChorusError) as raised:
        checker.verify(pool["tokens"](pool["client"])["access"])
    assert raised.value.code == "jwks_unavailable"


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", None, "..\ud800", "é.é.é"])
def test_garbage_is_refused(pool, token):
    with pytest.raises(InvalidToken):
        verifier(pool).verify(token)


def test_keys_are_only_fetched_over_https_or_loopback():
    with pytest.raises(ValueError, match="plain http"):
        fetch_json("http://example.com/jwks.json")
