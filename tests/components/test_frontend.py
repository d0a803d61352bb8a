"""Frontend: private bucket + CloudFront (OAC), security headers, SPA fallback, the REST and
WebSocket origins with the CDN secret header, optional WAF, uploaded build files and
config.json."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from components.frontend import (
    API_PREFIX_STRIP,
    CACHING_DISABLED,
    SPA_REWRITE,
    Frontend,
    cache_control,
    content_security_policy,
    content_type,
    websocket_stage_rewrite,
)
from components.shared import CDN_SECRET_HEADER

from . import conftest
from .conftest import REGION, deploy

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
HTTP_API = "https://abc123.execute-api.eu-west-1.amazonaws.com"
WS_API = "wss://ws456.execute-api.eu-west-1.amazonaws.com/prod"


@pytest.fixture(autouse=True)
def _distribution_domain(monkeypatch):
    """The shared mocks echo inputs; a distribution also needs its computed domain name."""
    original = conftest.RecordingMocks.new_resource

    def new_resource(self, args):
        physical_id, state = original(self, args)
        if args.typ == DISTRIBUTION:
            state["domainName"] = "d111.cloudfront.net"
            state["arn"] = "arn:aws:cloudfront::123456789012:distribution/E111"
        return physical_id, state

    monkeypatch.setattr(conftest.RecordingMocks, "new_resource", new_resource)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>chorus</title>")
    (tmp_path / "assets" / "index-abc.js").write_text("console.log(1)")
    (tmp_path / "assets" / "index-abc.css").write_text("body{}")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    (tmp_path / "config.json").write_text('{"mode": "local"}')
    return tmp_path


def _frontend(**overrides):
    args = {
        "http_api_url": HTTP_API,
        "websocket_url": WS_API,
        "cdn_secret_value": "s3cr3t-value",
        "user_pool_id": f"{REGION}_pool",
        "user_pool_client_id": "client123",
        "models": ["claude", "gpt"],
        **overrides,
    }

    def program():
        fe = Frontend("web", args)
        return {
            "url": fe.url,
            "api": fe.api_url,
            "ws": fe.websocket_url,
            "config": fe.config,
            "waf": fe.web_acl_arn,
        }

    return deploy(program)


def _connect_sources(d) -> list[str]:
    policy = d.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy").inputs
    csp = policy["securityHeadersConfig"]["contentSecurityPolicy"]["contentSecurityPolicy"]
    return next(p for p in csp.split(";") if p.strip().startswith("connect-src")).split()[1:]


def _behavior(cdn, path_pattern):
    return next(b for b in cdn["orderedCacheBehaviors"] if b["pathPattern"] == path_pattern)


def _origin(cdn, origin_id):
    return next(o for o in cdn["origins"] if o["originId"] == origin_id)


def _run_viewer_request(code: str, uri: str, querystring: dict) -> dict:
    """Run a CloudFront Function's handler under node with a viewer-request event."""
    event = {"version": "1.0", "request": {"method": "GET", "uri": uri,
                                           "querystring": querystring, "headers": {}}}  # fmt: skip
    script = code + "\nconsole.log(JSON.stringify(handler(JSON.parse(process.env.CF_EVENT))));"
    done = subprocess.run(
        ["node", "-e", script],
        env={**os.environ, "CF_EVENT": json.dumps(event)},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(done.stdout)


def test_bucket_is_private_encrypted_and_tls_only():
    d = _frontend()
    block = d.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(
        block[k]
        for k in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )
    ownership = d.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls").inputs
    assert ownership["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    assert d.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    )
    policy = json.loads(d.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    deny = next(s for s in policy["Statement"] if s["Effect"] == "Deny")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_only_this_distribution_reads_the_bucket_through_origin_access_control():
    d = _frontend()
    oac = d.one("aws:cloudfront/originAccessControl:OriginAccessControl").inputs
    assert oac["originAccessControlOriginType"] == "s3"
    assert oac["signingBehavior"] == "always" and oac["signingProtocol"] == "sigv4"
    policy = json.loads(d.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    allow = next(s for s in policy["Statement"] if s["Effect"] == "Allow")
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    assert allow["Condition"]["StringEquals"]["AWS:SourceArn"].endswith("distribution/E111")
    site = next(o for o in d.one(DISTRIBUTION).inputs["origins"] if o["originId"] == "site")
    assert site["originAccessControlId"] == "web-oac-id"
    assert "s3OriginConfig" not in site  # no legacy origin access identity


def test_viewers_use_https_only():
    cdn = _frontend().one(DISTRIBUTION).inputs
    assert cdn["defaultCacheBehavior"]["viewerProtocolPolicy"] == "redirect-to-https"
    assert cdn["orderedCacheBehaviors"][0]["viewerProtocolPolicy"] == "https-only"
    assert _behavior(cdn, "/ws")["viewerProtocolPolicy"] == "https-only"
    for origin_id in ("api", "websocket"):
        origin = _origin(cdn, origin_id)
        assert origin["customOriginConfig"]["originProtocolPolicy"] == "https-only"
        assert origin["customOriginConfig"]["originSslProtocols"] == ["TLSv1.2"]


def test_custom_domain_gets_its_certificate_with_modern_tls():
    d = _frontend(aliases=["chat.example.com"], acm_certificate_arn="arn:aws:acm:us-east-1:1:c/x")
    cdn = d.one(DISTRIBUTION).inputs
    assert cdn["aliases"] == ["chat.example.com"]
    assert cdn["viewerCertificate"]["minimumProtocolVersion"] == "TLSv1.2_2021"
    assert cdn["viewerCertificate"]["sslSupportMethod"] == "sni-only"
    assert d.outputs["url"] == "https://chat.example.com"
    assert d.outputs["config"]["websocketUrl"] == "wss://chat.example.com/ws"
    assert "wss://chat.example.com" in _connect_sources(d)


def test_security_headers_are_strict_and_the_csp_allows_the_api_the_cdn_websocket_and_cognito():
    d = _frontend()
    policy = d.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy").inputs
    headers = policy["securityHeadersConfig"]
    hsts = headers["strictTransportSecurity"]
    assert hsts["accessControlMaxAgeSec"] >= 31536000 and hsts["includeSubdomains"]
    assert headers["frameOptions"]["frameOption"] == "DENY"
    assert headers["contentTypeOptions"]["override"] is True
    assert headers["referrerPolicy"]["referrerPolicy"] == "strict-origin-when-cross-origin"
    csp = headers["contentSecurityPolicy"]["contentSecurityPolicy"]
    connect = _connect_sources(d)
    assert "'self'" in connect  # wss://<this site>/ws: 'self' matches wss: on the page's host
    assert HTTP_API in connect
    assert f"https://cognito-idp.{REGION}.amazonaws.com" in connect
    assert not any("ws456" in source for source in connect), "the app never opens the API's URL"
    assert "script-src 'self';" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    cdn = d.one(DISTRIBUTION).inputs
    assert cdn["defaultCacheBehavior"]["responseHeadersPolicyId"] == "web-headers-id"


def test_app_routes_fall_back_to_index_html_without_touching_api_errors():
    d = _frontend()
    cdn = d.one(DISTRIBUTION).inputs
    assert cdn["defaultRootObject"] == "index.html"
    assert not cdn.get("customErrorResponses"), "error pages would rewrite the API's 404s"
    fallback = d.one("aws:cloudfront/function:Function", "spa-fallback").inputs
    assert fallback["code"] == SPA_REWRITE and fallback["runtime"] == "cloudfront-js-2.0"
    association = cdn["defaultCacheBehavior"]["functionAssociations"][0]
    assert association["eventType"] == "viewer-request"


def test_rest_api_is_a_second_origin_with_the_secret_origin_header():
    d = _frontend()
    cdn = d.one(DISTRIBUTION).inputs
    api = next(o for o in cdn["origins"] if o["originId"] == "api")
    assert api["domainName"] == "abc123.execute-api.eu-west-1.amazonaws.com"
    assert api["customHeaders"] == [{"name": CDN_SECRET_HEADER, "value": "s3cr3t-value"}]
    behavior = cdn["orderedCacheBehaviors"][0]
    assert behavior["pathPattern"] == "/api/*" and behavior["targetOriginId"] == "api"
    assert behavior["cachePolicyId"] == CACHING_DISABLED
    assert {"POST", "DELETE", "PUT"} <= set(behavior["allowedMethods"])
    strip = d.one("aws:cloudfront/function:Function", "api-prefix").inputs
    assert strip["code"] == API_PREFIX_STRIP


def test_websocket_api_is_a_third_origin_with_the_secret_origin_header():
    cdn = _frontend().one(DISTRIBUTION).inputs
    ws = _origin(cdn, "websocket")
    assert ws["domainName"] == "ws456.execute-api.eu-west-1.amazonaws.com"
    assert not ws.get("originPath"), "the stage comes from the /ws function, not the origin path"
    assert ws["customHeaders"] == [{"name": CDN_SECRET_HEADER, "value": "s3cr3t-value"}]
    assert ws["customOriginConfig"]["originProtocolPolicy"] == "https-only"
    assert ws["customOriginConfig"]["originSslProtocols"] == ["TLSv1.2"]


def test_websocket_behaviour_forwards_the_handshake_and_the_token_and_caches_nothing():
    d = _frontend()
    cdn = d.one(DISTRIBUTION).inputs
    ws = _behavior(cdn, "/ws")
    assert ws["targetOriginId"] == "websocket"
    assert ws["viewerProtocolPolicy"] == "https-only"
    assert ws["cachePolicyId"] == CACHING_DISABLED
    assert set(ws["allowedMethods"]) == {"GET", "HEAD"}
    policy = d.one("aws:cloudfront/originRequestPolicy:OriginRequestPolicy", "ws-handshake")
    assert ws["originRequestPolicyId"] == "web-ws-handshake-id"
    headers = policy.inputs["headersConfig"]
    assert headers["headerBehavior"] == "whitelist"
    assert set(headers["headers"]["items"]) == {
        "Sec-WebSocket-Key",
        "Sec-WebSocket-Version",
        "Sec-WebSocket-Protocol",
        "Sec-WebSocket-Accept",
        "Sec-WebSocket-Extensions",
    }
    assert "Host" not in headers["headers"]["items"]  # API Gateway answers to its own name only
    assert policy.inputs["queryStringsConfig"]["queryStringBehavior"] == "all"  # ?token=
    assert policy.inputs["cookiesConfig"]["cookieBehavior"] == "none"


def test_websocket_path_is_rewritten_to_the_stage_by_a_viewer_request_function():
    d = _frontend()
    ws = _behavior(d.one(DISTRIBUTION).inputs, "/ws")
    [association] = ws["functionAssociations"]
    assert association["eventType"] == "viewer-request"
    fn = d.one("aws:cloudfront/function:Function", "ws-stage")
    assert association["functionArn"] == fn.state["arn"]
    assert fn.inputs["runtime"] == "cloudfront-js-2.0"
    assert fn.inputs["code"] == websocket_stage_rewrite("/prod")
    assert "request.uri = '/prod';" in fn.inputs["code"]


@pytest.mark.skipif(shutil.which("node") is None, reason="node runs the CloudFront Function")
def test_websocket_stage_rewrite_sends_ws_to_the_stage_and_keeps_the_token():
    token = {"token": {"value": "eyJ.abc.def"}}
    request = _run_viewer_request(websocket_stage_rewrite("/live"), "/ws", token)
    assert request["uri"] == "/live"
    assert request["querystring"] == token
    assert _run_viewer_request(websocket_stage_rewrite(""), "/ws", {})["uri"] == "/"


def test_websocket_stage_rewrite_refuses_what_is_no_stage_name():
    with pytest.raises(ValueError, match="not an API Gateway stage name"):
        websocket_stage_rewrite("/live';alert(1)//")


def test_named_api_stage_becomes_the_origin_path():
    d = _frontend(http_api_url=HTTP_API + "/prod")
    api = next(o for o in d.one(DISTRIBUTION).inputs["origins"] if o["originId"] == "api")
    assert api["originPath"] == "/prod"


def test_no_web_acl_unless_asked():
    d = _frontend()
    assert d.of_type("aws:wafv2/webAcl:WebAcl") == []
    assert "webAclId" not in d.one(DISTRIBUTION).inputs
    assert d.outputs["waf"] is None


def test_existing_web_acl_is_attached():
    arn = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/x/1"
    d = _frontend(web_acl_arn=arn)
    assert d.one(DISTRIBUTION).inputs["webAclId"] == arn
    assert d.of_type("aws:wafv2/webAcl:WebAcl") == []


def test_created_web_acl_uses_managed_rules_and_a_rate_limit():
    d = _frontend(create_web_acl=True, rate_limit_per_5_minutes=500)
    acl = d.one("aws:wafv2/webAcl:WebAcl").inputs
    assert acl["scope"] == "CLOUDFRONT"
    names = [r["name"] for r in acl["rules"]]
    assert "AWSManagedRulesCommonRuleSet" in names and "rate-limit-per-ip" in names
    rate = next(r for r in acl["rules"] if r["name"] == "rate-limit-per-ip")
    assert rate["statement"]["rateBasedStatement"]["limit"] == 500
    assert d.one(DISTRIBUTION).inputs["webAclId"].startswith("arn:aws:wafv2")


def test_built_files_are_uploaded_with_content_types_and_cache_rules(site):
    d = _frontend(site_dir=str(site))
    objects = {o.inputs["key"]: o.inputs for o in d.of_type(OBJECT)}
    assert set(objects) == {
        "index.html",
        "assets/index-abc.js",
        "assets/index-abc.css",
        "favicon.svg",
        "config.json",
    }
    assert objects["index.html"]["contentType"].startswith("text/html")
    assert objects["index.html"]["cacheControl"] == "no-cache"
    assert objects["assets/index-abc.js"]["contentType"].startswith("text/javascript")
    assert objects["assets/index-abc.js"]["cacheControl"].endswith("immutable")
    assert objects["assets/index-abc.css"]["contentType"].startswith("text/css")
    assert objects["favicon.svg"]["contentType"] == "image/svg+xml"


def test_config_json_comes_from_the_stack_outputs_not_the_build(site):
    d = _frontend(site_dir=str(site), default_workspace="default")
    config_object = next(o for o in d.of_type(OBJECT) if o.inputs["key"] == "config.json")
    config = json.loads(config_object.inputs["content"])
    assert config == d.outputs["config"]
    assert config["mode"] == "cloud"
    assert config["apiUrl"] == "https://d111.cloudfront.net/api"
    assert config["websocketUrl"] == "wss://d111.cloudfront.net/ws"
    assert d.outputs["ws"] == config["websocketUrl"]
    assert config["userPoolId"] == f"{REGION}_pool" and config["userPoolClientId"] == "client123"
    assert config["region"] == REGION
    assert config["models"] == ["claude", "gpt"] and config["defaultModel"] == "claude"
    assert config["modes"] == ["single", "cascade", "consensus"]
    assert config_object.inputs["contentType"] == "application/json"
    assert config_object.inputs["cacheControl"] == "no-cache"


def test_site_without_index_html_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"no index\.html"):
        Frontend(
            "web",
            {
                "site_dir": str(tmp_path),
                "http_api_url": HTTP_API,
                "websocket_url": WS_API,
                "cdn_secret_value": "x",
                "user_pool_id": "p",
                "user_pool_client_id": "c",
                "region": REGION,
            },
        )


def test_missing_required_input_names_it():
    with pytest.raises(ValueError, match="'cdn_secret_value' is required"):
        Frontend("web", {"http_api_url": HTTP_API, "websocket_url": WS_API})


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("index.html", "text/html; charset=utf-8"),
        ("assets/a.mjs", "text/javascript; charset=utf-8"),
        ("site.webmanifest", "application/manifest+json"),
        ("fonts/x.woff2", "font/woff2"),
        ("blob.unknownext", "application/octet-stream"),
    ],
)
def test_content_types(path, expected):
    assert content_type(path) == expected


def test_cache_control_and_csp_helpers():
    assert cache_control("assets/x.js").endswith("immutable")
    assert cache_control("config.json") == "no-cache"
    csp = content_security_policy(["https://api.example.com", ""])
    assert "connect-src 'self' https://api.example.com;" in csp
