"""The REST routes both transports serve are one table: the cloud's API Gateway routes, checked
path ids, and request models that exist."""

from __future__ import annotations

import re

import pytest
from chorus.components.orchestrator import HTTP_ROUTES
from chorus.runtime.application import requests
from chorus.runtime.application.rest_routes import API_KEY_ROUTES, REST_ROUTES, RestRoute
from chorus.runtime.core.errors import NotFound

ALL = (*REST_ROUTES, *API_KEY_ROUTES)


def _route_key(route: RestRoute) -> str:
    """``GET /workspaces/{workspace_id}`` as API Gateway names it: ``{workspaceId}``."""
    path = re.sub(r"_(\w)", lambda m: m.group(1).upper(), route.path)
    return f"{route.method} {path}"


def test_the_table_is_exactly_the_routes_api_gateway_sends_to_the_rest_function():
    assert sorted(_route_key(r) for r in ALL) == sorted(HTTP_ROUTES)


@pytest.mark.parametrize("route", [r for r in ALL if r.body], ids=lambda r: r.name)
def test_every_body_a_route_reads_names_a_request_model(route):
    assert issubclass(getattr(requests, route.body), requests.BaseModel)


def test_a_path_id_no_store_could_hold_is_not_found_naming_what_was_asked_for():
    (route,) = [r for r in API_KEY_ROUTES if r.method == "DELETE"]

    with pytest.raises(NotFound, match="no API key with id"):
        route.path_ids({"workspace_id": "handbook", "key_id": "x" * 300})


def test_a_bulk_ingestion_job_id_is_left_to_its_operation_to_check():
    (route,) = [r for r in REST_ROUTES if "{job_id}" in r.path]

    assert route.path_ids({"workspace_id": "handbook", "job_id": "x" * 300}) == [
        "handbook",
        "x" * 300,
    ]
