"""The OpenAPI document of the public API cannot drift: its paths are the routes both transports
serve, its request bodies come from the models they validate with, and docs/openapi.json is it."""

from __future__ import annotations

import json
import re
from pathlib import Path

from chorus.runtime.application.openapi import openapi_document

DOCS = Path(__file__).resolve().parents[3] / "docs" / "openapi.json"
METHODS = {"get", "post", "put", "patch", "delete"}


def documented() -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, item in openapi_document()["paths"].items()
        for method in item
        if method in METHODS
    }


def _braces(path: str) -> str:
    """``/a/{workspace_id}`` and ``/a/<workspace_id>`` as ``/a/{}``."""
    return re.sub(r"[{<][^}>]+[}>]", "{}", path)


def test_docs_openapi_json_is_the_generated_document():
    assert json.loads(DOCS.read_text(encoding="utf-8")) == openapi_document(), (
        "regenerate it: python -m chorus.runtime.application.openapi > docs/openapi.json"
    )


def test_the_document_is_openapi_3_1_and_every_reference_resolves():
    document = openapi_document()
    schemas = document["components"]["schemas"]

    assert document["openapi"] == "3.1.0"
    refs = re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(document))
    assert refs and set(refs) <= set(schemas)


def test_every_documented_operation_is_a_route_of_the_cloud_rest_api():
    from chorus.runtime.handlers.rest_api import app

    cloud = set()
    for key in app._route_keys:  # "POST/workspaces/<workspace_id>/api-keys"
        method, path = re.match(r"^([A-Z]+)(/.*)$", key).groups()
        cloud.add((method, _braces(path)))

    assert {(m, _braces(p)) for m, p in documented()} <= cloud


def test_the_local_server_serves_exactly_the_documented_public_routes(tmp_path):
    from chorus.runtime.local.routes.public_api import public_api_routes

    class NoServices:
        backend = None

    local = {
        (method, _braces(route.path.removeprefix("/api")))
        for route in public_api_routes(NoServices())  # type: ignore[arg-type]
        for method in route.methods or ()
        if method != "HEAD" and route.path != "/api/openapi.json"
    }

    assert local == {(m, _braces(p)) for m, p in documented()}
