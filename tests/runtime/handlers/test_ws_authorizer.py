"""The ``$connect`` authorizer with real moto-Cognito tokens and a local JWKS endpoint."""

from __future__ import annotations

import time

import jwt
import pytest
from chorus.runtime.handlers import ws_authorizer
from cryptography.hazmat.primitives.asymmetric import rsa
from support import moto_stack


def authorize(context, token, headers=None) -> dict:
    return ws_authorizer.handler(moto_stack.authorizer_event(token, headers=headers), context)


def effect(response: dict) -> str:
    return response["policyDocument"]["Statement"][0]["Effect"]


@pytest.mark.parametrize("kind", ["access", "id"])
def test_a_valid_token_is_allowed_with_user_and_groups(stack, services, context, kind):
    response = authorize(context, stack.tokens("alice")[kind])

    assert effect(response) == "Allow"
    statement = response["policyDocument"]["Statement"][0]
    assert statement["Resource"].endswith(f"{moto_stack.WS_API}/prod/$connect")
    assert response["principalId"] == stack.user_id("alice")
    assert response["context"]["userId"] == stack.user_id("alice")
    assert set(response["context"]["groups"].split(",")) == {"workspace_manager", "team-a"}


def _resign(token: str, **changes) -> str:
    """The token's claims, changed, signed with a key that is not the pool's (same kid)."""
    claims = {**jwt.decode(token, options={"verify_signature": False}), **changes}
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "dummy"})


def _tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    return ".".join([header, flipped, signature])


def test_forged_tampered_malformed_or_missing_tokens_are_denied(stack, services, context):
    good = stack.tokens("alice")["access"]
    for case, token in {
        "forged signature": _resign(good),
        "tampered claims": _tamper(good),
        "unsigned": jwt.encode(jwt.decode(good, options={"verify_signature": False}), None, "none"),
        "malformed": "not-a-jwt",
        "missing": None,
    }.items():
        assert effect(authorize(context, token)) == "Deny", case


def test_expired_tokens_are_denied(stack, services, context):
    token = stack.tokens("alice")["access"]
    verifier = services.verifier
    verifier._clock = lambda: time.time() + 2 * 3600  # an hour after moto's 1-hour expiry
    assert effect(authorize(context, token)) == "Deny"


def test_tokens_of_another_pool_or_client_are_denied(stack, services, context):
    idp = stack.client("cognito-idp")
    other_client = idp.create_user_pool_client(
        UserPoolId=stack.pool_id,
        ClientName="other",
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    auth = idp.admin_initiate_auth(
        UserPoolId=stack.pool_id,
        ClientId=other_client,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "alice", "PASSWORD": moto_stack.PASSWORD},
    )["AuthenticationResult"]
    assert effect(authorize(context, auth["AccessToken"])) == "Deny"
    assert effect(authorize(context, auth["IdToken"])) == "Deny"

    other_pool = idp.create_user_pool(PoolName="elsewhere")["UserPool"]["Id"]
    # moto signs every pool's tokens with one key: only the issuer check can catch this one
    foreign = _claims_token(stack, iss=f"https://cognito-idp.us-east-1.amazonaws.com/{other_pool}")
    assert effect(authorize(context, foreign)) == "Deny"


def _claims_token(stack, **changes) -> str:
    """A token signed with moto's own Cognito key (so only the claims are wrong)."""
    from moto.cognitoidp.models import cognitoidp_backends

    pool = cognitoidp_backends[moto_stack.ACCOUNT][moto_stack.REGION].user_pools[stack.pool_id]
    token, _ = pool.create_jwt(stack.client_id, "alice", "access", extra_data=changes)
    return token


def test_a_token_use_other_than_access_or_id_is_denied(stack, services, context):
    assert effect(authorize(context, _claims_token(stack))) == "Allow"  # the control
    assert effect(authorize(context, _claims_token(stack, token_use="refresh"))) == "Deny"


def test_the_cdn_header_is_checked_when_required(stack, services, context, monkeypatch):
    from dataclasses import replace

    stack.client("ssm").put_parameter(Name="/chorus/cdn", Value="s3cret", Type="SecureString")
    monkeypatch.setattr(
        services,
        "settings",
        replace(services.settings, require_cdn_header=True, cdn_secret_parameter="/chorus/cdn"),
    )
    token = stack.tokens("alice")["access"]
    assert effect(authorize(context, token)) == "Deny"
    assert effect(authorize(context, token, {"X-Chorus-Origin-Verify": "nope"})) == "Deny"
    assert effect(authorize(context, token, {"X-Chorus-Origin-Verify": "s3cret"})) == "Allow"


def test_a_jwks_outage_is_a_deny_not_a_lambda_error(stack, services, context, monkeypatch):
    from chorus.runtime.adapters.cognito_jwt import CognitoTokenVerifier

    def unreachable(url: str) -> dict:
        raise OSError("connection refused")

    outage = CognitoTokenVerifier(stack.issuer, stack.client_id, fetch=unreachable)
    monkeypatch.setitem(vars(services), "verifier", outage)

    response = authorize(context, stack.tokens("alice")["access"])

    assert effect(response) == "Deny"
    assert response["context"] == {"reason": "jwks_unavailable"}


def test_a_failed_refresh_with_cached_keys_still_allows_and_is_counted(
    stack, services, context, monkeypatch, capsys
):
    from chorus.runtime.adapters.cognito_jwt import CognitoTokenVerifier, fetch_json

    jwks = {"up": True}
    now = [time.time() - 3000]  # keys loaded 50 minutes before the token is issued

    def fetch(url: str) -> dict:
        if not jwks["up"]:
            raise OSError("connection refused")
        return fetch_json(url)

    verifier = CognitoTokenVerifier(
        stack.issuer, stack.client_id, jwks_url=stack.jwks_url, fetch=fetch, clock=lambda: now[0]
    )
    monkeypatch.setitem(vars(services), "verifier", verifier)
    token = stack.tokens("alice")["access"]
    assert effect(authorize(context, _resign(token))) == "Deny"  # loads the keys
    jwks["up"] = False
    now[0] += 3000 + 601  # the hourly refresh is due; the token is valid
    capsys.readouterr()

    assert effect(authorize(context, token)) == "Allow"

    assert '"JwksRefreshFailed"' in capsys.readouterr().out


# -- connections opened with a public API key (the cloud's streaming answers) ---------------


def _key(stack, workspace: str = "ops", scopes=("answers", "documents")) -> tuple[str, str]:
    """A key of ``workspace`` stored in the stack's workspace table: (full key, key id)."""
    from chorus.runtime.adapters.dynamodb_api_keys import DynamoDBApiKeys
    from chorus.runtime.core.api_keys import UsagePlan, issue_key

    raw, record = issue_key(workspace, "ci", "alice", time.time(), UsagePlan(), tuple(scopes))
    DynamoDBApiKeys(stack.session.resource("dynamodb"), stack.settings.tables.workspace).add_key(
        record
    )
    return raw, record.key_id


def connect_with_key(context, key: str, workspace: str | None = "ops") -> dict:
    query = {"workspace": workspace} if workspace is not None else {}
    event = moto_stack.authorizer_event(key, query=query)
    return ws_authorizer.handler(event, context)


def test_a_live_key_of_the_workspace_is_allowed_and_named_in_the_context(stack, services, context):
    key, key_id = _key(stack)

    response = connect_with_key(context, key)

    assert effect(response) == "Allow"
    assert response["principalId"] == f"apikey:{key_id}"
    assert response["context"] == {
        "userId": f"apikey:{key_id}",
        "username": "ci",
        "groups": "",
        "tokenUse": "api_key",
        "apiKeyId": key_id,
        "apiKeyWorkspace": "ops",
    }


def test_wrong_revoked_unscoped_or_misplaced_keys_are_denied_with_their_reason(
    stack, services, context
):
    from chorus.runtime.adapters.dynamodb_api_keys import DynamoDBApiKeys

    key, _ = _key(stack)
    revoked, revoked_id = _key(stack)
    DynamoDBApiKeys(stack.session.resource("dynamodb"), stack.settings.tables.workspace).revoke_key(
        "ops", revoked_id, time.time()
    )
    documents_only, _ = _key(stack, scopes=("documents",))
    wrong_secret = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    for case, (token, workspace, reason) in {
        "wrong secret": (wrong_secret, "ops", "invalid_api_key"),
        "another workspace": (key, "other", "invalid_api_key"),
        "no workspace": (key, None, "invalid_api_key"),
        "malformed": ("chorus_nothex_x", "ops", "invalid_api_key"),
        "revoked": (revoked, "ops", "api_key_revoked"),
        "no answers scope": (documents_only, "ops", "api_key_scope"),
    }.items():
        response = connect_with_key(context, token, workspace)
        assert effect(response) == "Deny", case
        assert response["context"] == {"reason": reason}, case


def test_key_connections_are_checked_by_the_edge_wiring_built_from_the_environment(
    stack, context, monkeypatch
):
    """Deployed, the authorizer runs on ``EdgeSettings`` (its environment), not the app
    config: ``CHORUS_WORKSPACE_TABLE`` is where it finds keys."""
    from chorus.runtime.cloud.services import set_services

    for name, value in stack.env.items():
        monkeypatch.setenv(name, value)
    set_services(None)  # nothing installed: the handler builds its wiring from os.environ
    key, key_id = _key(stack)
    try:
        response = connect_with_key(context, key)
    finally:
        set_services(None)  # forget the wiring built on this test's moto session
    assert effect(response) == "Allow"
    assert response["context"]["apiKeyId"] == key_id
