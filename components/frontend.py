"""The web app on a CDN: a private S3 bucket behind CloudFront, the REST and WebSocket APIs
further origins.

The bucket is reachable only through CloudFront (origin access control); every response carries a
strict set of security headers; paths without a file extension fall back to ``index.html``
(single-page app); ``/api/*`` goes to the HTTP API and ``/ws`` to the WebSocket API, both with the
shared layer's secret origin header, so the APIs can refuse calls that bypass the CDN.
``config.json`` is written from stack outputs, so one build of ``frontend/`` serves every stack.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import pulumi
import pulumi_aws as aws

from .access_logs import cdn_log_bucket
from .buckets import attach_bucket_policy, private_bucket
from .naming import physical_name, tagged
from .rules import AnswerMode, PriceClass, WafRateLimit
from .shared import CDN_SECRET_HEADER
from .validation import check_args

CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
"""AWS managed cache policy ``Managed-CachingOptimized`` (static files)."""
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
"""AWS managed cache policy ``Managed-CachingDisabled`` (the API)."""
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
"""AWS managed origin request policy ``Managed-AllViewerExceptHostHeader`` (API Gateway needs
its own Host header, and the Authorization header and query string must reach it)."""

WEBSOCKET_PATH = "/ws"
"""Path of the chat WebSocket on the CDN (``wss://<cdn>/ws``), the path the local server uses."""
WEBSOCKET_HANDSHAKE_HEADERS = (
    "Sec-WebSocket-Key",
    "Sec-WebSocket-Version",
    "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Accept",
    "Sec-WebSocket-Extensions",
)
"""Viewer headers the ``/ws`` behaviour forwards. CloudFront needs at least ``Sec-WebSocket-Key``
and ``Sec-WebSocket-Version`` forwarded to pass a WebSocket upgrade on ("Use WebSockets with
CloudFront distributions", Amazon CloudFront Developer Guide); the others carry subprotocol and
extension negotiation. Host is not forwarded: API Gateway answers only to its own name."""

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".webmanifest": "application/manifest+json",
    ".wasm": "application/wasm",
}

SPA_REWRITE = """function handler(event) {
  var request = event.request;
  var last = request.uri.split('/').pop();
  if (last.indexOf('.') === -1) {
    request.uri = '/index.html';
  }
  return request;
}"""
"""Viewer-request function of the default behaviour: app routes (no file extension) get
index.html. Done here rather than with custom error responses, which would also rewrite the
API's own 403/404 answers."""

API_PREFIX_STRIP = """function handler(event) {
  var request = event.request;
  request.uri = request.uri.replace(/^\\/api(?=\\/|$)/, '') || '/';
  return request;
}"""
"""Viewer-request function of ``/api/*``: the HTTP API's routes have no ``/api`` prefix."""

_STAGE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


def websocket_stage_rewrite(stage_path: str) -> str:
    """Viewer-request function of ``/ws``: the request path becomes the WebSocket stage's path.

    An API Gateway WebSocket API answers only on exactly ``/<stage>``: any path after the stage
    (``/live/ws``) is refused with 403. CloudFront *appends* the viewer's path to the origin path
    ("Origin path", Amazon CloudFront Developer Guide: origin path ``/production`` and a request
    for ``/acme/index.html`` fetch ``/production/acme/index.html``), so an origin path of
    ``/live`` alone would send ``/live/ws``. The WebSocket origin therefore has no origin path
    and this function replaces the whole path, ``/ws`` → ``/live``; the query string (the
    ``token``) is left as it is. The behaviour's path pattern is exactly ``/ws``, so nothing
    else reaches the function.

    Parameters
    ----------
    stage_path: ``/live`` for a named stage (``_stage_path_of`` of the API URL), ``""`` for none.
    """
    stage = stage_path.strip("/")
    if stage and not _STAGE_NAME.match(stage):
        raise ValueError(
            f"WebSocket stage {stage!r} is not an API Gateway stage name (letters, digits, - _)"
        )
    return (
        "function handler(event) {\n"
        "  var request = event.request;\n"
        f"  request.uri = '/{stage}';\n"
        "  return request;\n"
        "}"
    )


def content_type(path: str) -> str:
    """Content type for a built file; unknown extensions fall back to ``mimetypes``."""
    suffix = Path(path).suffix.lower()
    if suffix in CONTENT_TYPES:
        return CONTENT_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(path)
    return guessed or "application/octet-stream"


def cache_control(path: str) -> str:
    """Hashed assets are immutable; everything else is revalidated on every load."""
    if path.startswith("assets/"):
        return "public, max-age=31536000, immutable"
    return "no-cache"


def content_security_policy(
    connect_sources: Sequence[str], extra_script_sources: Sequence[str] = ()
) -> str:
    """The CSP of the app: only this origin, plus the API, WebSocket and Cognito endpoints."""
    connect = " ".join(["'self'", *[s for s in connect_sources if s]])
    script = " ".join(["'self'", *extra_script_sources])
    return (
        f"default-src 'self'; script-src {script}; style-src 'self'; img-src 'self' data:; "
        f"font-src 'self'; connect-src {connect}; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'self'; upgrade-insecure-requests"
    )


def _origin_of(url: str) -> str:
    """``scheme://host`` of a URL (CSP sources are origins)."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}" if rest else url


def _host_of(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0]


def _stage_path_of(url: str) -> str:
    """Origin path for an API invoke URL: ``/prod`` for a named stage, ``""`` for ``$default``."""
    path = url.split("://", 1)[-1].partition("/")[2].strip("/")
    return "" if path in ("", "$default") else f"/{path}"


@dataclass(frozen=True)
class _Edge:
    """The distribution's edge functions and the WebSocket origin request policy."""

    spa: aws.cloudfront.Function
    strip_api: aws.cloudfront.Function
    ws_rewrite: aws.cloudfront.Function
    ws_forward: aws.cloudfront.OriginRequestPolicy


def _site_dir_is_built(args) -> str | None:
    site_dir = args.get("site_dir")
    if isinstance(site_dir, str) and not (Path(site_dir) / "index.html").is_file():
        return (
            f"'site_dir': {site_dir} has no index.html; build the app first "
            "(cd frontend && npm ci && npm run build)"
        )
    return None


class FrontendArgs(TypedDict, total=False):
    tags: Mapping[str, str]
    """Tags for every taggable resource of the component (its own tags, e.g. ``Name``, win).
    Default: none (the provider's ``aws:defaultTags`` still apply)."""
    site_dir: pulumi.Input[str]
    """Folder of the built app (``frontend/dist``); every file becomes a bucket object. Default:
    none (the bucket starts empty and ``config.json`` is still written)."""
    http_api_url: pulumi.Input[str]
    """The REST API's invoke URL (``ChatOrchestrator.http_api_url``), served under ``/api``.
    Required."""
    websocket_url: pulumi.Input[str]
    """The WebSocket API's URL (``ChatOrchestrator.websocket_url``,
    ``wss://<id>.execute-api.<region>.amazonaws.com/<stage>``), served at ``/ws``; the app gets
    ``wss://<domain>/ws``. Required."""
    cdn_secret_value: pulumi.Input[str]
    """Value of the secret origin header (``Shared.cdn_secret_value``) sent to both API origins.
    Required."""
    region: pulumi.Input[str]
    """Region of the user pool, for ``config.json`` and the CSP. Default: the provider's region."""
    user_pool_id: pulumi.Input[str]
    """Cognito user pool id (``Auth.user_pool_id``). Required."""
    user_pool_client_id: pulumi.Input[str]
    """Cognito app client id (``Auth.client_id``). Required."""
    models: pulumi.Input[Sequence[str]]
    """Model names offered in the model picker. Default: none (the server's default model)."""
    default_model: pulumi.Input[str]
    """Preselected model. Default: the first of ``models``."""
    modes: Sequence[AnswerMode]
    """Answer modes offered. Default: ``["single", "cascade", "consensus"]``."""
    default_workspace: pulumi.Input[str]
    """Workspace preselected for new users. Default: none (the first one)."""
    extra_config: pulumi.Input[Mapping[str, Any]]
    """More keys merged into ``config.json``. Default: none."""
    extra_connect_sources: Sequence[str]
    """More CSP ``connect-src`` origins (e.g. a Cognito hosted-UI domain). Default: none."""
    aliases: Sequence[str]
    """Custom domain names of the distribution. Default: none (the cloudfront.net name)."""
    acm_certificate_arn: pulumi.Input[str]
    """ACM certificate (us-east-1) for ``aliases``. Default: none (CloudFront's certificate)."""
    price_class: PriceClass
    """CloudFront price class. Default: ``PriceClass_100`` (North America and Europe)."""
    web_acl_arn: pulumi.Input[str]
    """An existing WAF web ACL (scope CLOUDFRONT) to attach. Default: none."""
    create_web_acl: bool
    """Create a WAF web ACL (AWS managed common and known-bad-input rules plus a per-IP rate
    limit; ~$8/month). It must live in us-east-1: run the stack there or pass ``waf_provider``.
    Default: False."""
    waf_provider: pulumi.ProviderResource
    """Provider for us-east-1 used for the web ACL. Default: the stack's provider."""
    rate_limit_per_5_minutes: WafRateLimit
    """Requests per IP per 5 minutes before the created web ACL blocks. Default: 2000."""
    force_destroy: bool
    """Let ``pulumi destroy`` empty the bucket. Default: True (it only holds build output)."""
    access_logs: bool
    """CloudFront standard logs to a private bucket of their own (``<name>-cdn-logs``).
    Default: False."""
    access_log_expiry_days: pulumi.Input[int]
    """Days the CDN's access logs are kept. Default: 30."""
    access_log_kms_key_arn: pulumi.Input[str]
    """Customer-managed key of the access-log bucket (its policy must let
    ``delivery.logs.amazonaws.com`` generate data keys). Default: SSE-S3."""


class Frontend(pulumi.ComponentResource):
    """The React app on S3 + CloudFront, the APIs behind ``/api`` and ``/ws``, and
    ``config.json``.

    Example::

        import pulumi
        from chorus.components import Frontend

        web = Frontend("web", {
            "http_api_url": "https://abc123.execute-api.eu-west-1.amazonaws.com",
            "websocket_url": "wss://def456.execute-api.eu-west-1.amazonaws.com/live",
            "cdn_secret_value": pulumi.Output.secret("a-long-random-value"),
            "user_pool_id": "eu-west-1_AbC",
            "user_pool_client_id": "1h2j3k",
            "models": ["anthropic.claude-3-haiku-20240307-v1:0"],
        })
        pulumi.export("app", web.url)
    """

    bucket_name: pulumi.Output[str]
    """The private bucket holding the built app."""
    distribution_id: pulumi.Output[str]
    """CloudFront distribution id (for invalidations)."""
    domain_name: pulumi.Output[str]
    """The distribution's domain name (``d123.cloudfront.net``)."""
    url: pulumi.Output[str]
    """``https://`` URL of the app."""
    access_log_bucket_name: pulumi.Output[str] | None
    """Bucket of the CDN's standard logs (None without ``access_logs``)."""
    api_url: pulumi.Output[str]
    """The REST API through the CDN (``<url>/api``); the app's ``apiUrl``."""
    websocket_url: pulumi.Output[str]
    """The chat WebSocket through the CDN (``wss://<domain>/ws``); the app's ``websocketUrl``."""
    config: pulumi.Output[dict[str, Any]]
    """The ``config.json`` the app reads at start."""
    web_acl_arn: pulumi.Output[str | None]
    """The WAF web ACL attached, if any."""

    def __init__(
        self, name: str, args: FrontendArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        args = check_args(
            "Frontend",
            name,
            FrontendArgs,
            args,
            required=(
                "http_api_url",
                "websocket_url",
                "cdn_secret_value",
                "user_pool_id",
                "user_pool_client_id",
            ),
            rules=[_site_dir_is_built],
        )
        super().__init__("chorus:index:Frontend", name, {}, tagged(opts, args.get("tags")))
        child = pulumi.ResourceOptions(parent=self)
        region = (
            args.get("region")
            or aws.get_region_output(opts=pulumi.InvokeOptions(parent=self)).region
        )

        site = private_bucket(
            f"{name}-site",
            parent=self,
            encryption="AES256",
            versioning=False,
            force_destroy=args.get("force_destroy", True),
            tls_only_policy=False,
        )
        bucket = site.bucket

        oac = aws.cloudfront.OriginAccessControl(
            f"{name}-oac",
            name=physical_name(name, "site", max_length=64),
            description="chorus web app: CloudFront signs every request to the private bucket",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=child,
        )

        headers = self._security_headers(name, args, region)
        edge = self._edge_functions(name, args)
        self.access_log_bucket_name = None
        distribution = self._distribution(name, args, bucket, oac, headers, edge)
        attach_bucket_policy(
            site,
            [
                {
                    "Sid": "CloudFrontReadsThroughOac",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudfront.amazonaws.com"},
                    "Action": "s3:GetObject",
                    "Resource": pulumi.Output.concat(bucket.arn, "/*"),
                    "Condition": {"StringEquals": {"AWS:SourceArn": distribution.arn}},
                }
            ],
        )

        url, api_url, websocket_url, config = self._app_config(args, region, distribution)
        self._upload(name, args, bucket, config)

        self.bucket_name = bucket.bucket
        self.distribution_id = distribution.id
        self.domain_name = distribution.domain_name
        self.url = url
        self.api_url = api_url
        self.websocket_url = websocket_url
        self.config = config
        self.web_acl_arn = pulumi.Output.from_input(self._web_acl_arn)
        self.register_outputs(
            {
                "bucket_name": self.bucket_name,
                "distribution_id": self.distribution_id,
                "domain_name": self.domain_name,
                "url": self.url,
                "api_url": self.api_url,
                "websocket_url": self.websocket_url,
                "config": self.config,
                "web_acl_arn": self.web_acl_arn,
            }
        )

    # -- pieces ---------------------------------------------------------------------------------

    def _security_headers(
        self, name: str, args: FrontendArgs, region: pulumi.Input[str]
    ) -> aws.cloudfront.ResponseHeadersPolicy:
        """CSP (this origin, the API, Cognito), HSTS and the other strict headers."""
        child = pulumi.ResourceOptions(parent=self)
        aliases = list(args.get("aliases", []))
        cognito_endpoint = pulumi.Output.format("https://cognito-idp.{0}.amazonaws.com", region)
        # The browser opens wss://<this site>/ws. 'self' covers it (CSP Level 3 matches wss: to an
        # https: page's own host; Chrome 71+, Firefox, Safari 16+); each custom domain is also
        # listed as a wss: origin. The cloudfront.net name cannot be listed: this policy must
        # exist before the distribution that names it. The API Gateway WebSocket URL itself is
        # not allowed: the app never connects to it.
        csp = pulumi.Output.all(args["http_api_url"], cognito_endpoint).apply(
            lambda v: content_security_policy(
                [
                    _origin_of(v[0]),
                    *[f"wss://{alias}" for alias in aliases],
                    v[1],
                    *args.get("extra_connect_sources", []),
                ]
            )
        )
        return aws.cloudfront.ResponseHeadersPolicy(
            f"{name}-headers",
            name=physical_name(name, "security-headers", max_length=128),
            comment="chorus web app: strict security headers",
            security_headers_config=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigArgs(
                content_security_policy=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigContentSecurityPolicyArgs(
                    content_security_policy=csp, override=True
                ),
                strict_transport_security=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigStrictTransportSecurityArgs(
                    access_control_max_age_sec=63072000,
                    include_subdomains=True,
                    preload=True,
                    override=True,
                ),
                content_type_options=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigContentTypeOptionsArgs(
                    override=True
                ),
                frame_options=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigFrameOptionsArgs(
                    frame_option="DENY", override=True
                ),
                referrer_policy=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigReferrerPolicyArgs(
                    referrer_policy="strict-origin-when-cross-origin", override=True
                ),
                xss_protection=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigXssProtectionArgs(
                    protection=True, mode_block=True, override=True
                ),
            ),
            custom_headers_config=aws.cloudfront.ResponseHeadersPolicyCustomHeadersConfigArgs(
                items=[
                    aws.cloudfront.ResponseHeadersPolicyCustomHeadersConfigItemArgs(
                        header="Permissions-Policy",
                        value="camera=(), microphone=(), geolocation=(), payment=()",
                        override=True,
                    ),
                    aws.cloudfront.ResponseHeadersPolicyCustomHeadersConfigItemArgs(
                        header="Cross-Origin-Opener-Policy", value="same-origin", override=True
                    ),
                ]
            ),
            opts=child,
        )

    def _edge_functions(self, name: str, args: FrontendArgs) -> _Edge:
        """The viewer-request functions (SPA fallback, ``/api`` prefix, ``/ws`` → stage) and
        the WebSocket handshake's origin request policy."""
        child = pulumi.ResourceOptions(parent=self)
        spa = aws.cloudfront.Function(
            f"{name}-spa-fallback",
            name=physical_name(name, "spa-fallback", max_length=64),
            runtime="cloudfront-js-2.0",
            comment="app routes without a file extension serve index.html",
            code=SPA_REWRITE,
            publish=True,
            opts=child,
        )
        strip_api = aws.cloudfront.Function(
            f"{name}-api-prefix",
            name=physical_name(name, "api-prefix", max_length=64),
            runtime="cloudfront-js-2.0",
            comment="/api/x on the CDN is /x on the HTTP API",
            code=API_PREFIX_STRIP,
            publish=True,
            opts=child,
        )
        ws_stage_path = pulumi.Output.from_input(args["websocket_url"]).apply(_stage_path_of)
        ws_rewrite = aws.cloudfront.Function(
            f"{name}-ws-stage",
            name=physical_name(name, "ws-stage", max_length=64),
            runtime="cloudfront-js-2.0",
            comment="/ws on the CDN is the WebSocket API's stage path",
            code=ws_stage_path.apply(websocket_stage_rewrite),
            publish=True,
            opts=child,
        )
        ws_forward = aws.cloudfront.OriginRequestPolicy(
            f"{name}-ws-handshake",
            name=physical_name(name, "websocket-handshake", max_length=128),
            comment="chorus WebSocket: the handshake headers and the query string (token)",
            headers_config=aws.cloudfront.OriginRequestPolicyHeadersConfigArgs(
                header_behavior="whitelist",
                headers=aws.cloudfront.OriginRequestPolicyHeadersConfigHeadersArgs(
                    items=list(WEBSOCKET_HANDSHAKE_HEADERS)
                ),
            ),
            query_strings_config=aws.cloudfront.OriginRequestPolicyQueryStringsConfigArgs(
                query_string_behavior="all"
            ),
            cookies_config=aws.cloudfront.OriginRequestPolicyCookiesConfigArgs(
                cookie_behavior="none"
            ),
            opts=child,
        )
        return _Edge(spa=spa, strip_api=strip_api, ws_rewrite=ws_rewrite, ws_forward=ws_forward)

    def _distribution(
        self,
        name: str,
        args: FrontendArgs,
        bucket: aws.s3.Bucket,
        oac: aws.cloudfront.OriginAccessControl,
        headers: aws.cloudfront.ResponseHeadersPolicy,
        edge: _Edge,
    ) -> aws.cloudfront.Distribution:
        """The site, ``/api/*`` and ``/ws`` behaviours, optional WAF and custom domain."""
        child = pulumi.ResourceOptions(parent=self)
        aliases = list(args.get("aliases", []))
        web_acl_arn: pulumi.Input[str] | None = args.get("web_acl_arn")
        if web_acl_arn is None and args.get("create_web_acl", False):
            web_acl_arn = self._web_acl(name, args).arn
        self._web_acl_arn = web_acl_arn

        api_host = pulumi.Output.from_input(args["http_api_url"]).apply(_host_of)
        api_origin_path = pulumi.Output.from_input(args["http_api_url"]).apply(_stage_path_of)
        ws_host = pulumi.Output.from_input(args["websocket_url"]).apply(_host_of)
        certificate = (
            aws.cloudfront.DistributionViewerCertificateArgs(
                acm_certificate_arn=args["acm_certificate_arn"],
                ssl_support_method="sni-only",
                minimum_protocol_version="TLSv1.2_2021",
            )
            if args.get("acm_certificate_arn") is not None
            else aws.cloudfront.DistributionViewerCertificateArgs(
                cloudfront_default_certificate=True
            )
        )
        return aws.cloudfront.Distribution(
            f"{name}-cdn",
            enabled=True,
            comment=f"chorus web app ({name})",
            default_root_object="index.html",
            http_version="http2and3",
            is_ipv6_enabled=True,
            price_class=args.get("price_class", "PriceClass_100"),
            aliases=aliases or None,
            web_acl_id=web_acl_arn,
            origins=[
                aws.cloudfront.DistributionOriginArgs(
                    origin_id="site",
                    domain_name=bucket.bucket_regional_domain_name,
                    origin_access_control_id=oac.id,
                ),
                _api_origin("api", api_host, args["cdn_secret_value"], api_origin_path),
                # wss://<id>.execute-api.<region>.amazonaws.com/<stage> as an HTTPS origin (a
                # WebSocket handshake is an HTTPS request); no origin path, see
                # websocket_stage_rewrite. The secret header lets $connect refuse direct callers.
                _api_origin("websocket", ws_host, args["cdn_secret_value"]),
            ],
            default_cache_behavior=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
                target_origin_id="site",
                viewer_protocol_policy="redirect-to-https",
                allowed_methods=["GET", "HEAD", "OPTIONS"],
                cached_methods=["GET", "HEAD"],
                compress=True,
                cache_policy_id=CACHING_OPTIMIZED,
                response_headers_policy_id=headers.id,
                function_associations=[
                    aws.cloudfront.DistributionDefaultCacheBehaviorFunctionAssociationArgs(
                        event_type="viewer-request", function_arn=edge.spa.arn
                    )
                ],
            ),
            ordered_cache_behaviors=[
                aws.cloudfront.DistributionOrderedCacheBehaviorArgs(
                    path_pattern="/api/*",
                    target_origin_id="api",
                    viewer_protocol_policy="https-only",
                    allowed_methods=["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
                    cached_methods=["GET", "HEAD"],
                    compress=True,
                    cache_policy_id=CACHING_DISABLED,
                    origin_request_policy_id=ALL_VIEWER_EXCEPT_HOST,
                    response_headers_policy_id=headers.id,
                    function_associations=[
                        aws.cloudfront.DistributionOrderedCacheBehaviorFunctionAssociationArgs(
                            event_type="viewer-request", function_arn=edge.strip_api.arn
                        )
                    ],
                ),
                aws.cloudfront.DistributionOrderedCacheBehaviorArgs(
                    path_pattern=WEBSOCKET_PATH,
                    target_origin_id="websocket",
                    # wss only: a WebSocket client does not follow a redirect
                    viewer_protocol_policy="https-only",
                    allowed_methods=["GET", "HEAD"],
                    cached_methods=["GET", "HEAD"],
                    compress=False,
                    cache_policy_id=CACHING_DISABLED,
                    origin_request_policy_id=edge.ws_forward.id,
                    function_associations=[
                        aws.cloudfront.DistributionOrderedCacheBehaviorFunctionAssociationArgs(
                            event_type="viewer-request", function_arn=edge.ws_rewrite.arn
                        )
                    ],
                ),
            ],
            restrictions=aws.cloudfront.DistributionRestrictionsArgs(
                geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(
                    restriction_type="none"
                )
            ),
            viewer_certificate=certificate,
            logging_config=self._cdn_logging(name, args),
            opts=child,
        )

    def _cdn_logging(
        self, name: str, args: FrontendArgs
    ) -> aws.cloudfront.DistributionLoggingConfigArgs | None:
        """Standard logs under ``cdn/`` of a private bucket that expires them."""
        if not args.get("access_logs", False):
            return None
        logs = cdn_log_bucket(
            f"{name}-cdn-logs",
            parent=self,
            expiry_days=args.get("access_log_expiry_days", 30),
            kms_key_arn=args.get("access_log_kms_key_arn"),
        )
        self.access_log_bucket_name = logs.bucket
        return aws.cloudfront.DistributionLoggingConfigArgs(
            bucket=logs.bucket_domain_name, prefix="cdn/", include_cookies=False
        )

    def _app_config(
        self,
        args: FrontendArgs,
        region: pulumi.Input[str],
        distribution: aws.cloudfront.Distribution,
    ) -> tuple[pulumi.Output[str], pulumi.Output[str], pulumi.Output[str], pulumi.Output[Any]]:
        """The app's URL, its API and WebSocket URLs through the CDN, and ``config.json``."""
        aliases = list(args.get("aliases", []))
        url = (
            pulumi.Output.concat("https://", aliases[0])
            if aliases
            else pulumi.Output.concat("https://", distribution.domain_name)
        )
        api_url = pulumi.Output.concat(url, "/api")
        websocket_url = url.apply(lambda u: "wss://" + u.split("://", 1)[1] + WEBSOCKET_PATH)
        modes = list(args.get("modes", ["single", "cascade", "consensus"]))
        config = pulumi.Output.all(
            api_url=api_url,
            websocket_url=websocket_url,
            region=region,
            user_pool_id=args["user_pool_id"],
            client_id=args["user_pool_client_id"],
            models=args.get("models", []),
            default_model=args.get("default_model"),
            default_workspace=args.get("default_workspace"),
            extra=args.get("extra_config", {}),
        ).apply(
            lambda v: {
                "mode": "cloud",
                "apiUrl": v["api_url"],
                "websocketUrl": v["websocket_url"],
                "region": v["region"],
                "userPoolId": v["user_pool_id"],
                "userPoolClientId": v["client_id"],
                "models": list(v["models"] or []),
                "defaultModel": v["default_model"] or next(iter(v["models"] or []), None),
                "defaultWorkspace": v["default_workspace"],
                "modes": modes,
                **dict(v["extra"] or {}),
            }
        )
        return url, api_url, websocket_url, config

    def _upload(
        self, name: str, args: FrontendArgs, bucket: aws.s3.Bucket, config: pulumi.Output[Any]
    ) -> None:
        """Every built file (hashed assets immutable) and ``config.json`` (never cached)."""
        child = pulumi.ResourceOptions(parent=self)
        objects: list[pulumi.Resource] = []
        site_dir = args.get("site_dir")
        if site_dir is not None:
            root = Path(str(site_dir))
            for path in sorted(p for p in root.rglob("*") if p.is_file()):
                key = path.relative_to(root).as_posix()
                if key == "config.json":
                    continue  # written below from the stack outputs
                digest = hashlib.sha256(key.encode()).hexdigest()[:8]
                objects.append(
                    aws.s3.BucketObjectv2(
                        f"{name}-file-{digest}",
                        bucket=bucket.id,
                        key=key,
                        source=pulumi.FileAsset(str(path)),
                        content_type=content_type(key),
                        cache_control=cache_control(key),
                        opts=child,
                    )
                )
        aws.s3.BucketObjectv2(
            f"{name}-config",
            bucket=bucket.id,
            key="config.json",
            content=pulumi.Output.json_dumps(config),
            content_type="application/json",
            cache_control="no-cache",
            opts=child,
        )

    def _web_acl(self, name: str, args: FrontendArgs) -> aws.wafv2.WebAcl:
        provider = args.get("waf_provider")
        opts = pulumi.ResourceOptions(parent=self, provider=provider)

        def managed(priority: int, rule_name: str) -> aws.wafv2.WebAclRuleArgs:
            return aws.wafv2.WebAclRuleArgs(
                name=rule_name,
                priority=priority,
                override_action=aws.wafv2.WebAclRuleOverrideActionArgs(
                    none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()
                ),
                statement=aws.wafv2.WebAclRuleStatementArgs(
                    managed_rule_group_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
                        vendor_name="AWS", name=rule_name
                    )
                ),
                visibility_config=aws.wafv2.WebAclRuleVisibilityConfigArgs(
                    cloudwatch_metrics_enabled=True,
                    metric_name=rule_name,
                    sampled_requests_enabled=True,
                ),
            )

        return aws.wafv2.WebAcl(
            f"{name}-waf",
            name=physical_name(name, max_length=128),
            description="chorus web app: AWS managed rules and a per-IP rate limit",
            scope="CLOUDFRONT",
            default_action=aws.wafv2.WebAclDefaultActionArgs(
                allow=aws.wafv2.WebAclDefaultActionAllowArgs()
            ),
            rules=[
                managed(1, "AWSManagedRulesCommonRuleSet"),
                managed(2, "AWSManagedRulesKnownBadInputsRuleSet"),
                managed(3, "AWSManagedRulesAmazonIpReputationList"),
                aws.wafv2.WebAclRuleArgs(
                    name="rate-limit-per-ip",
                    priority=10,
                    action=aws.wafv2.WebAclRuleActionArgs(
                        block=aws.wafv2.WebAclRuleActionBlockArgs()
                    ),
                    statement=aws.wafv2.WebAclRuleStatementArgs(
                        rate_based_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(
                            limit=args.get("rate_limit_per_5_minutes", 2000),
                            aggregate_key_type="IP",
                        )
                    ),
                    visibility_config=aws.wafv2.WebAclRuleVisibilityConfigArgs(
                        cloudwatch_metrics_enabled=True,
                        metric_name="rate-limit-per-ip",
                        sampled_requests_enabled=True,
                    ),
                ),
            ],
            visibility_config=aws.wafv2.WebAclVisibilityConfigArgs(
                cloudwatch_metrics_enabled=True,
                metric_name=physical_name(name, max_length=128),
                sampled_requests_enabled=True,
            ),
            opts=opts,
        )


__all__: Sequence[str] = ["Frontend", "FrontendArgs"]


def _api_origin(
    origin_id: str,
    host: pulumi.Input[str],
    secret: pulumi.Input[str],
    path: pulumi.Input[str] | None = None,
) -> aws.cloudfront.DistributionOriginArgs:
    """An API Gateway origin: HTTPS only, TLS 1.2, carrying the secret origin header that the
    APIs check so nobody calls them around the CDN."""
    return aws.cloudfront.DistributionOriginArgs(
        origin_id=origin_id,
        domain_name=host,
        origin_path=path,
        custom_origin_config=aws.cloudfront.DistributionOriginCustomOriginConfigArgs(
            http_port=80,
            https_port=443,
            origin_protocol_policy="https-only",
            origin_ssl_protocols=["TLSv1.2"],
        ),
        custom_headers=[
            aws.cloudfront.DistributionOriginCustomHeaderArgs(name=CDN_SECRET_HEADER, value=secret)
        ],
    )
