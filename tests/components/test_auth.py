"""Auth: strong passwords, email sign-in, an SPA client without secret, the three groups."""

from __future__ import annotations

from components.auth import Auth

from .conftest import REGION, deploy


def _auth(**args):
    def program():
        auth = Auth("auth", args)
        return {"issuer": auth.issuer_url, "jwks": auth.jwks_url, "client": auth.client_id}

    return deploy(program)


def test_pool_signs_in_by_email_with_a_strong_password_policy():
    pool = _auth().one("aws:cognito/userPool:UserPool").inputs
    assert pool["usernameAttributes"] == ["email"]
    assert pool["passwordPolicy"] == {
        "minimumLength": 12,
        "requireLowercase": True,
        "requireUppercase": True,
        "requireNumbers": True,
        "requireSymbols": True,
        "temporaryPasswordValidityDays": 3,
    }
    assert pool["mfaConfiguration"] == "OPTIONAL"
    assert pool["softwareTokenMfaConfiguration"] == {"enabled": True}
    assert pool["adminCreateUserConfig"] == {"allowAdminCreateUserOnly": True}


def test_spa_client_has_no_secret_and_uses_srp_and_pkce_code_flow():
    client = _auth().one("aws:cognito/userPoolClient:UserPoolClient").inputs
    assert client["generateSecret"] is False
    assert client["explicitAuthFlows"] == ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    assert client["allowedOauthFlows"] == ["code"]
    assert client["preventUserExistenceErrors"] == "ENABLED"


def test_groups_admin_workspace_manager_user():
    groups = _auth().of_type("aws:cognito/userGroup:UserGroup")
    by_precedence = sorted((g.inputs["precedence"], g.inputs["name"]) for g in groups)
    assert [(name, precedence) for precedence, name in by_precedence] == [
        ("admin", 0),
        ("workspace_manager", 10),
        ("user", 20),
    ]


def test_outputs_issuer_and_jwks_urls():
    d = _auth(mfa="ON")
    issuer = f"https://cognito-idp.{REGION}.amazonaws.com/{REGION}_abc"
    assert d.outputs["issuer"] == issuer
    assert d.outputs["jwks"] == issuer + "/.well-known/jwks.json"
    assert d.one("aws:cognito/userPool:UserPool").inputs["mfaConfiguration"] == "ON"
