"""The two APIs in front of the chat path: the WebSocket API (chat) and the HTTP API (REST),
each wired to Lambda functions it is given."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypedDict

import pulumi
import pulumi_aws as aws

from .access_logs import (
    HTTP_ACCESS_LOG_FORMAT,
    WEBSOCKET_ACCESS_LOG_FORMAT,
    api_gateway_account_logging,
)
from .naming import tagged
from .rules import LogRetentionDays, StageName, ThrottleBurst, ThrottleRate
from .shared import CDN_SECRET_HEADER
from .validation import check_args


class LambdaTargetArgs(TypedDict, total=False):
    function_name: pulumi.Input[str]
    """Name (or ARN) of the function API Gateway may invoke. Required."""
    invoke_arn: pulumi.Input[str]
    """The function's invoke ARN (``LambdaFunction.target_invoke_arn``: its alias's when it
    publishes versions). Required."""
    qualifier: pulumi.Input[str]
    """The alias ``invoke_arn`` names (``LambdaFunction.qualifier``): the permission is granted
    on it. Default: none (the unqualified function)."""


def allow_api_gateway(
    name: str,
    parent: pulumi.Resource,
    target: LambdaTargetArgs,
    execution_arn: pulumi.Input[str],
    suffix: str,
) -> aws.lambda_.Permission:
    """``lambda:InvokeFunction`` for API Gateway, from this API only (``<execution
    ARN><suffix>``)."""
    return aws.lambda_.Permission(
        f"{name}-invoke",
        action="lambda:InvokeFunction",
        function=target["function_name"],
        qualifier=target.get("qualifier"),
        principal="apigateway.amazonaws.com",
        source_arn=pulumi.Output.concat(execution_arn, suffix),
        opts=pulumi.ResourceOptions(parent=parent),
    )


def _throttle(args) -> dict:
    return {
        "throttling_rate_limit": args.get("throttling_rate_limit", 20),
        "throttling_burst_limit": args.get("throttling_burst_limit", 40),
    }


class WebSocketApiArgs(TypedDict, total=False):
    tags: Mapping[str, str]
    """Tags for the API and its stage. Default: none."""
    handlers: Mapping[str, LambdaTargetArgs]
    """Functions by label (``ws_connect``, ``ws_message``...); one integration each. Required."""
    routes: Mapping[str, str]
    """Route key (``$connect``, ``sendMessage``...) → handler label. Required."""
    authorizer: LambdaTargetArgs
    """REQUEST authorizer of ``$connect`` (token in the ``token`` query parameter). Required."""
    require_cdn_header: pulumi.Input[bool]
    """Make the CDN's secret header an identity source, so API Gateway refuses a ``$connect``
    without it before the authorizer runs. Default: False."""
    stage_name: pulumi.Input[StageName]
    """Stage. Default: ``live``."""
    throttling_rate_limit: pulumi.Input[ThrottleRate]
    """Steady requests/second. Default: 20."""
    throttling_burst_limit: pulumi.Input[ThrottleBurst]
    """Burst. Default: 40."""
    access_logs: bool
    """JSON access logs of the stage (``WEBSOCKET_ACCESS_LOG_FORMAT``) in ``<name>-ws-access-logs``.
    Needs the account's API Gateway CloudWatch role (``manage_account_logging``). Default: False."""
    manage_account_logging: bool
    """With ``access_logs``: set the account's API Gateway CloudWatch role (one per account and
    region; turn off when another stack or the platform team sets it). Default: True."""
    log_retention_days: pulumi.Input[LogRetentionDays]
    """Retention of the access logs. Default: 14."""
    kms_key_arn: pulumi.Input[str]
    """Customer-managed key of the access-log group. Default: AWS-managed."""


def _routes_name_handlers(args) -> str | None:
    unknown = sorted(set((args.get("routes") or {}).values()) - set(args.get("handlers") or {}))
    if unknown:
        return f"'routes' name handlers that 'handlers' lacks: {', '.join(unknown)}"
    return None


class WebSocketApi(pulumi.ComponentResource):
    """A WebSocket API (``$request.body.action`` routing) whose ``$connect`` is authorized by a
    Lambda, one integration per handler, one auto-deployed throttled stage.

    Example::

        import pulumi
        from chorus.components import LambdaFunction, WebSocketApi

        code = pulumi.FileArchive("build/handlers.zip")
        on_message = LambdaFunction("on-message", {"handler": "app.handler", "code": code})
        authorizer = LambdaFunction("authorizer", {"handler": "auth.handler", "code": code})

        def target(fn):
            return {"function_name": fn.function_name, "invoke_arn": fn.invoke_arn}

        ws = WebSocketApi("chat", {
            "handlers": {"message": target(on_message)},
            "routes": {"$connect": "message", "$default": "message"},
            "authorizer": target(authorizer),
        })
        pulumi.export("url", ws.url)
    """

    api_id: pulumi.Output[str]
    """The API's id."""
    api_endpoint: pulumi.Output[str]
    """``wss://<id>.execute-api.<region>.amazonaws.com``."""
    execution_arn: pulumi.Output[str]
    """ARN prefix of the API's routes (for permissions)."""
    url: pulumi.Output[str]
    """``wss://`` URL of the stage, what clients open."""
    management_endpoint: pulumi.Output[str]
    """``https://`` URL of the stage, where ``PostToConnection`` replies go."""
    manage_connections_arn: pulumi.Output[str]
    """What ``execute-api:ManageConnections`` must be granted on to reply to clients."""

    def __init__(
        self,
        name: str,
        args: WebSocketApiArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        args = check_args(
            "WebSocketApi",
            name,
            WebSocketApiArgs,
            args,
            required=("handlers", "routes", "authorizer"),
            rules=[_routes_name_handlers],
        )
        super().__init__("chorus:index:WebSocketApi", name, {}, tagged(opts, args.get("tags")))
        child = pulumi.ResourceOptions(parent=self)
        api = aws.apigatewayv2.Api(
            f"{name}-ws",
            protocol_type="WEBSOCKET",
            route_selection_expression="$request.body.action",
            description="chorus chat (JSON protocol in docs/protocol.md)",
            opts=child,
        )
        stage_name = args.get("stage_name", "live")
        identity_sources = ["route.request.querystring.token"]
        if args.get("require_cdn_header", False):
            identity_sources.append(f"route.request.header.{CDN_SECRET_HEADER}")
        authorizer = aws.apigatewayv2.Authorizer(
            f"{name}-ws-authorizer",
            api_id=api.id,
            authorizer_type="REQUEST",
            authorizer_uri=args["authorizer"]["invoke_arn"],
            identity_sources=identity_sources,
            name="cognito-jwt",
            opts=child,
        )
        allow_api_gateway(
            f"{name}-ws-authorizer", self, args["authorizer"], api.execution_arn, "/authorizers/*"
        )
        integrations: dict[str, aws.apigatewayv2.Integration] = {}
        routes = []
        for route_key, label in args["routes"].items():
            if label not in integrations:
                target = args["handlers"][label]
                integrations[label] = aws.apigatewayv2.Integration(
                    f"{name}-ws-{label}",
                    api_id=api.id,
                    integration_type="AWS_PROXY",
                    integration_uri=target["invoke_arn"],
                    content_handling_strategy="CONVERT_TO_TEXT",
                    passthrough_behavior="WHEN_NO_MATCH",
                    opts=child,
                )
                allow_api_gateway(f"{name}-ws-{label}", self, target, api.execution_arn, "/*")
            connect = route_key == "$connect"
            routes.append(
                aws.apigatewayv2.Route(
                    f"{name}-ws-route-{route_key.strip('$').lower()}",
                    api_id=api.id,
                    route_key=route_key,
                    target=pulumi.Output.concat("integrations/", integrations[label].id),
                    authorization_type="CUSTOM" if connect else "NONE",
                    authorizer_id=authorizer.id if connect else None,
                    opts=child,
                )
            )
        access_log_settings = None
        depends_on: list[pulumi.Resource] = list(routes)
        if args.get("access_logs", False):
            access_logs = aws.cloudwatch.LogGroup(
                f"{name}-ws-access-logs",
                retention_in_days=args.get("log_retention_days", 14),
                kms_key_id=args.get("kms_key_arn"),
                opts=child,
            )
            access_log_settings = aws.apigatewayv2.StageAccessLogSettingsArgs(
                destination_arn=access_logs.arn, format=WEBSOCKET_ACCESS_LOG_FORMAT
            )
            if args.get("manage_account_logging", True):
                depends_on.append(api_gateway_account_logging(name, self))
        stage = aws.apigatewayv2.Stage(
            f"{name}-ws-stage",
            api_id=api.id,
            name=stage_name,
            auto_deploy=True,
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
                **_throttle(args)
            ),
            access_log_settings=access_log_settings,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
        )
        self.api_id = api.id
        self.api_endpoint = api.api_endpoint
        self.execution_arn = api.execution_arn
        self.url = pulumi.Output.concat(api.api_endpoint, "/", stage.name)
        self.management_endpoint = websocket_management_endpoint(api.api_endpoint, stage_name)
        self.manage_connections_arn = manage_connections_arn(api.execution_arn, stage_name)
        self.register_outputs(
            {
                "api_id": self.api_id,
                "api_endpoint": self.api_endpoint,
                "execution_arn": self.execution_arn,
                "url": self.url,
                "management_endpoint": self.management_endpoint,
                "manage_connections_arn": self.manage_connections_arn,
            }
        )


def websocket_management_endpoint(
    api_endpoint: pulumi.Input[str], stage_name: pulumi.Input[str]
) -> pulumi.Output[str]:
    """``https://<id>.execute-api.<region>.amazonaws.com/<stage>`` from the ``wss://`` one."""
    return pulumi.Output.concat(
        pulumi.Output.from_input(api_endpoint).apply(lambda e: e.replace("wss://", "https://")),
        "/",
        stage_name,
    )


def manage_connections_arn(
    execution_arn: pulumi.Input[str], stage_name: pulumi.Input[str]
) -> pulumi.Output[str]:
    """ARN ``execute-api:ManageConnections`` is granted on (replies to any connection)."""
    return pulumi.Output.concat(execution_arn, "/", stage_name, "/POST/@connections/*")


class HttpApiArgs(TypedDict, total=False):
    tags: Mapping[str, str]
    """Tags for the API, its stage and its access-log group. Default: none."""
    handler: LambdaTargetArgs
    """The one function serving every route (payload format 2.0). Required."""
    routes: Sequence[str]
    """Route keys (``GET /workspaces``...), each behind the JWT authorizer. Required."""
    issuer_url: pulumi.Input[str]
    """JWT issuer (``Auth.issuer_url``). Required."""
    audience: pulumi.Input[str]
    """JWT audience, the app client id (``Auth.client_id``). Required."""
    cors_allowed_origins: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Origins answered for CORS. Default: ``["http://localhost:5173"]``."""
    log_retention_days: pulumi.Input[LogRetentionDays]
    """Retention of the access logs. Default: 14."""
    kms_key_arn: pulumi.Input[str]
    """Customer-managed key of the access-log group. Default: AWS-managed."""
    throttling_rate_limit: pulumi.Input[ThrottleRate]
    """Steady requests/second. Default: 20."""
    throttling_burst_limit: pulumi.Input[ThrottleBurst]
    """Burst. Default: 40."""
    public_routes: Sequence[str]
    """Route keys of the public API (``POST /v1/...``) with no JWT authorizer: the function
    checks the API key itself (a workspace key in the workspace table). Default: none."""
    public_throttling_rate_limit: pulumi.Input[ThrottleRate]
    """Steady requests/second of EACH public route, all keys together: the outer guard in front
    of the per-key plans the function enforces. Default: 10."""
    public_throttling_burst_limit: pulumi.Input[ThrottleBurst]
    """Burst of each public route. Default: 20."""


ACCESS_LOG_FORMAT = HTTP_ACCESS_LOG_FORMAT
"""The HTTP API's access-log line (``access_logs.HTTP_ACCESS_LOG_FORMAT``)."""


class HttpApi(pulumi.ComponentResource):
    """An HTTP API whose routes all go to one Lambda behind a Cognito JWT authorizer, with CORS,
    throttling and JSON access logs; ``public_routes`` (the API-key public API) skip the JWT
    authorizer and get their own, tighter, stage throttling.

    Example::

        import pulumi
        from chorus.components import Auth, HttpApi, LambdaFunction

        code = pulumi.FileArchive("build/handlers.zip")
        auth = Auth("auth")
        rest = LambdaFunction("rest", {"handler": "api.handler", "code": code})
        api = HttpApi("chat", {
            "handler": {"function_name": rest.function_name, "invoke_arn": rest.invoke_arn},
            "routes": ["GET /workspaces", "POST /workspaces"],
            "issuer_url": auth.issuer_url,
            "audience": auth.client_id,
        })
        pulumi.export("url", api.url)
    """

    api_id: pulumi.Output[str]
    """The API's id."""
    execution_arn: pulumi.Output[str]
    """ARN prefix of the API's routes."""
    url: pulumi.Output[str]
    """Invoke URL of the ``$default`` stage."""

    def __init__(
        self, name: str, args: HttpApiArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = check_args(
            "HttpApi",
            name,
            HttpApiArgs,
            args,
            required=("handler", "routes", "issuer_url", "audience"),
        )
        super().__init__("chorus:index:HttpApi", name, {}, tagged(opts, args.get("tags")))
        child = pulumi.ResourceOptions(parent=self)
        api = aws.apigatewayv2.Api(
            f"{name}-http",
            protocol_type="HTTP",
            description="chorus REST API: workspaces, documents, sessions, feedback",
            cors_configuration=aws.apigatewayv2.ApiCorsConfigurationArgs(
                allow_origins=args.get("cors_allowed_origins", ["http://localhost:5173"]),
                allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                allow_headers=["authorization", "content-type", "x-api-key"],
                max_age=3600,
            ),
            opts=child,
        )
        jwt = aws.apigatewayv2.Authorizer(
            f"{name}-http-jwt",
            api_id=api.id,
            authorizer_type="JWT",
            identity_sources=["$request.header.Authorization"],
            jwt_configuration=aws.apigatewayv2.AuthorizerJwtConfigurationArgs(
                issuer=args["issuer_url"], audiences=[args["audience"]]
            ),
            name="cognito",
            opts=child,
        )
        integration = aws.apigatewayv2.Integration(
            f"{name}-http-rest-api",
            api_id=api.id,
            integration_type="AWS_PROXY",
            integration_uri=args["handler"]["invoke_arn"],
            payload_format_version="2.0",
            timeout_milliseconds=29000,
            opts=child,
        )
        allow_api_gateway(f"{name}-http-rest-api", self, args["handler"], api.execution_arn, "/*/*")
        routes = [
            aws.apigatewayv2.Route(
                f"{name}-http-route-{i}",
                api_id=api.id,
                route_key=route_key,
                target=pulumi.Output.concat("integrations/", integration.id),
                authorization_type="JWT",
                authorizer_id=jwt.id,
                opts=child,
            )
            for i, route_key in enumerate(args["routes"])
        ]
        public_routes = list(args.get("public_routes") or ())
        routes += [
            aws.apigatewayv2.Route(
                f"{name}-http-public-route-{i}",
                api_id=api.id,
                route_key=route_key,
                target=pulumi.Output.concat("integrations/", integration.id),
                authorization_type="NONE",  # the API key is checked by the function
                opts=child,
            )
            for i, route_key in enumerate(public_routes)
        ]
        access_logs = aws.cloudwatch.LogGroup(
            f"{name}-http-access-logs",
            retention_in_days=args.get("log_retention_days", 14),
            kms_key_id=args.get("kms_key_arn"),
            opts=child,
        )
        stage = aws.apigatewayv2.Stage(
            f"{name}-http-stage",
            api_id=api.id,
            name="$default",
            auto_deploy=True,
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
                **_throttle(args)
            ),
            route_settings=[
                aws.apigatewayv2.StageRouteSettingArgs(
                    route_key=route_key,
                    throttling_rate_limit=args.get("public_throttling_rate_limit", 10),
                    throttling_burst_limit=args.get("public_throttling_burst_limit", 20),
                )
                for route_key in public_routes
            ],
            access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
                destination_arn=access_logs.arn, format=ACCESS_LOG_FORMAT
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=routes),
        )
        self.api_id = api.id
        self.execution_arn = api.execution_arn
        self.url = stage.invoke_url
        self.register_outputs(
            {"api_id": self.api_id, "execution_arn": self.execution_arn, "url": self.url}
        )
