"""Sign-in for the chat app: a Cognito user pool, an SPA client and the chorus groups."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypedDict

import pulumi
import pulumi_aws as aws

from .naming import tagged
from .rules import MfaMode, PasswordLength, TokenMinutes
from .validation import check_args

GROUPS = (
    ("admin", 0, "Manages every workspace and the deployment's settings"),
    ("workspace_manager", 10, "Creates workspaces and manages their documents"),
    ("user", 20, "Chats with the workspaces shared with them"),
)
"""Cognito groups (name, precedence, description); the lower precedence wins."""


NEW_POOL_ONLY = (
    "mfa",
    "self_sign_up",
    "password_minimum_length",
    "callback_urls",
    "logout_urls",
    "domain_prefix",
    "deletion_protection",
    "access_token_minutes",
)


def _existing_pool_rule(args) -> str | None:
    existing = args.get("existing_user_pool_id") is not None
    if existing and args.get("existing_client_id") is None:
        return "'existing_user_pool_id' needs 'existing_client_id' (the web app's client)"
    if not existing and args.get("existing_client_id") is not None:
        return "'existing_client_id' needs 'existing_user_pool_id'"
    clashing = [k for k in NEW_POOL_ONLY if existing and args.get(k) is not None]
    if clashing:
        return (
            f"{', '.join(map(repr, clashing))} only shape a new user pool; an existing pool "
            "('existing_user_pool_id') keeps its own settings"
        )
    return None


class AuthArgs(TypedDict, total=False):
    tags: Mapping[str, str]
    """Tags for every taggable resource of the component (its own tags, e.g. ``Name``, win).
    Default: none (the provider's ``aws:defaultTags`` still apply)."""
    mfa: pulumi.Input[MfaMode]
    """``OFF``, ``OPTIONAL`` or ``ON`` (TOTP software tokens). Default: ``OPTIONAL``."""
    self_sign_up: pulumi.Input[bool]
    """Let anyone sign up; otherwise admins create users. Default: False."""
    password_minimum_length: pulumi.Input[PasswordLength]
    """Minimum password length (upper, lower, digit and symbol are always required). Default: 12."""
    callback_urls: pulumi.Input[Sequence[pulumi.Input[str]]]
    """OAuth redirect URLs of the SPA (authorization code + PKCE). Default:
    ``["http://localhost:5173/"]``."""
    logout_urls: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Sign-out redirect URLs. Default: the callback URLs."""
    domain_prefix: pulumi.Input[str]
    """Hosted UI domain prefix (``<prefix>.auth.<region>.amazoncognito.com``). Default: none."""
    deletion_protection: pulumi.Input[bool]
    """Protect the pool from deletion. Default: False."""
    access_token_minutes: pulumi.Input[TokenMinutes]
    """Lifetime of access and ID tokens. Default: 60."""
    existing_user_pool_id: pulumi.Input[str]
    """Bring your own user pool (``eu-west-1_AbC``): no pool, client or domain is created and
    the pool inputs above are refused. Needs ``existing_client_id``. Default: a new pool."""
    existing_client_id: pulumi.Input[str]
    """With ``existing_user_pool_id``: the public (secret-less) app client the web app signs in
    with; its id is the JWT audience the APIs accept."""
    create_groups: bool
    """Create the ``admin``, ``workspace_manager`` and ``user`` groups in the pool. Default:
    True for a new pool, False for an existing one (its groups are yours)."""


class Auth(pulumi.ComponentResource):
    """A Cognito user pool with email sign-in and strong passwords, an SPA client, and groups
    (or an existing pool and client: ``existing_user_pool_id``).

    Example::

        import pulumi
        from chorus.components import Auth

        auth = Auth("auth", {"mfa": "ON", "callback_urls": ["https://chat.example.com/"]})
        pulumi.export("issuer", auth.issuer_url)
    """

    user_pool_id: pulumi.Output[str]
    """User pool id."""
    user_pool_arn: pulumi.Output[str]
    """User pool ARN."""
    client_id: pulumi.Output[str]
    """App client id of the SPA (no secret)."""
    issuer_url: pulumi.Output[str]
    """Token issuer (``iss``), used by the JWT authorizers."""
    jwks_url: pulumi.Output[str]
    """Where the signing keys are published."""
    group_names: pulumi.Output[list[str]]
    """The groups created."""

    def __init__(
        self, name: str, args: AuthArgs | None = None, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = check_args("Auth", name, AuthArgs, args, rules=[_existing_pool_rule])
        super().__init__("chorus:index:Auth", name, {}, tagged(opts, args.get("tags")))
        if args.get("existing_user_pool_id") is not None:
            region = aws.get_region_output(opts=pulumi.InvokeOptions(parent=self)).region
            account = aws.get_caller_identity_output(
                opts=pulumi.InvokeOptions(parent=self)
            ).account_id
            pool_id = pulumi.Output.from_input(args["existing_user_pool_id"])
            endpoint = pulumi.Output.format("cognito-idp.{0}.amazonaws.com/{1}", region, pool_id)
            pool_arn = pulumi.Output.format(
                "arn:aws:cognito-idp:{0}:{1}:userpool/{2}", region, account, pool_id
            )
            client_id = pulumi.Output.from_input(args["existing_client_id"])
        else:
            pool = self._user_pool(name, args)
            pool_id, endpoint, pool_arn = pool.id, pool.endpoint, pool.arn
            client_id = self._spa_client(name, args, pool).id
        groups = args.get("create_groups", args.get("existing_user_pool_id") is None)
        if groups:
            for group, precedence, description in GROUPS:
                aws.cognito.UserGroup(
                    f"{name}-{group}",
                    name=group,
                    user_pool_id=pool_id,
                    precedence=precedence,
                    description=description,
                    opts=pulumi.ResourceOptions(parent=self),
                )

        self.user_pool_id = pool_id
        self.user_pool_arn = pool_arn
        self.client_id = client_id
        self.issuer_url = pulumi.Output.concat("https://", endpoint)
        self.jwks_url = pulumi.Output.concat("https://", endpoint, "/.well-known/jwks.json")
        self.group_names = pulumi.Output.from_input([g for g, _, _ in GROUPS] if groups else [])
        self.register_outputs(
            {
                "user_pool_id": self.user_pool_id,
                "user_pool_arn": self.user_pool_arn,
                "client_id": self.client_id,
                "issuer_url": self.issuer_url,
                "jwks_url": self.jwks_url,
                "group_names": self.group_names,
            }
        )

    def _user_pool(self, name: str, args: AuthArgs) -> aws.cognito.UserPool:
        """Email sign-in, strong passwords, TOTP MFA, recovery by verified email."""
        child = pulumi.ResourceOptions(parent=self)
        mfa = args.get("mfa", "OPTIONAL")
        pool = aws.cognito.UserPool(
            f"{name}-users",
            username_attributes=["email"],
            auto_verified_attributes=["email"],
            username_configuration=aws.cognito.UserPoolUsernameConfigurationArgs(
                case_sensitive=False
            ),
            password_policy=aws.cognito.UserPoolPasswordPolicyArgs(
                minimum_length=args.get("password_minimum_length", 12),
                require_lowercase=True,
                require_uppercase=True,
                require_numbers=True,
                require_symbols=True,
                temporary_password_validity_days=3,
            ),
            mfa_configuration=mfa,
            software_token_mfa_configuration=aws.cognito.UserPoolSoftwareTokenMfaConfigurationArgs(
                enabled=True
            )
            if mfa != "OFF"
            else None,
            account_recovery_setting=aws.cognito.UserPoolAccountRecoverySettingArgs(
                recovery_mechanisms=[
                    aws.cognito.UserPoolAccountRecoverySettingRecoveryMechanismArgs(
                        name="verified_email", priority=1
                    )
                ]
            ),
            admin_create_user_config=aws.cognito.UserPoolAdminCreateUserConfigArgs(
                allow_admin_create_user_only=pulumi.Output.from_input(
                    args.get("self_sign_up", False)
                ).apply(lambda allowed: not allowed)
            ),
            deletion_protection=pulumi.Output.from_input(
                args.get("deletion_protection", False)
            ).apply(lambda on: "ACTIVE" if on else "INACTIVE"),
            opts=child,
        )
        if args.get("domain_prefix") is not None:
            aws.cognito.UserPoolDomain(
                f"{name}-domain", domain=args["domain_prefix"], user_pool_id=pool.id, opts=child
            )
        return pool

    def _spa_client(
        self, name: str, args: AuthArgs, pool: aws.cognito.UserPool
    ) -> aws.cognito.UserPoolClient:
        """The SPA's client: no secret, authorization code + PKCE, short-lived tokens."""
        child = pulumi.ResourceOptions(parent=self)
        callback_urls = args.get("callback_urls", ["http://localhost:5173/"])
        minutes = args.get("access_token_minutes", 60)
        client = aws.cognito.UserPoolClient(
            f"{name}-spa",
            user_pool_id=pool.id,
            generate_secret=False,
            explicit_auth_flows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            allowed_oauth_flows_user_pool_client=True,
            allowed_oauth_flows=["code"],
            allowed_oauth_scopes=["openid", "email", "profile"],
            supported_identity_providers=["COGNITO"],
            callback_urls=callback_urls,
            logout_urls=args.get("logout_urls", callback_urls),
            prevent_user_existence_errors="ENABLED",
            enable_token_revocation=True,
            access_token_validity=minutes,
            id_token_validity=minutes,
            refresh_token_validity=30,
            token_validity_units=aws.cognito.UserPoolClientTokenValidityUnitsArgs(
                access_token="minutes", id_token="minutes", refresh_token="days"
            ),
            opts=child,
        )
        return client
