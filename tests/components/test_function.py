"""LambdaFunction: published versions, the ``live`` alias and SnapStart."""

from __future__ import annotations

import pulumi
import pytest

from components.function import LambdaFunction
from components.validation import ComponentInputError

from .conftest import deploy

CODE = pulumi.AssetArchive({"app.py": pulumi.StringAsset("def handler(e, c): ...\n")})


def _function(**args):
    def program():
        fn = LambdaFunction("worker", {"handler": "app.handler", "code": CODE, **args})
        return {"alias": fn.alias.arn if fn.alias is not None else None}

    return deploy(program)


def test_a_plain_function_publishes_nothing_and_has_no_alias():
    d = _function()
    function = d.one("aws:lambda/function:Function").inputs
    assert not function.get("publish")
    assert "snapStart" not in function
    assert d.of_type("aws:lambda/alias:Alias") == []
    assert d.outputs["alias"] is None


def test_snap_start_publishes_versions_and_points_the_live_alias_at_the_latest():
    d = _function(snap_start=True)
    function = d.one("aws:lambda/function:Function")
    assert function.inputs["publish"] is True
    assert function.inputs["snapStart"] == {"applyOn": "PublishedVersions"}
    assert function.inputs["runtime"] == "python3.12"  # SnapStart needs Python 3.12+
    alias = d.one("aws:lambda/alias:Alias").inputs
    assert alias["name"] == "live"
    assert alias["functionName"] == function.state["name"]
    assert alias["functionVersion"] == function.state["version"] == "1"
    assert d.outputs["alias"].endswith(f":function:{function.state['name']}:live")


def test_publish_alone_gives_the_alias_without_snap_start():
    d = _function(publish=True)
    assert "snapStart" not in d.one("aws:lambda/function:Function").inputs
    assert d.one("aws:lambda/alias:Alias").inputs["name"] == "live"


def test_snap_start_without_published_versions_is_refused():
    with pytest.raises(ComponentInputError, match="snap_start needs published versions"):
        _function(snap_start=True, publish=False)
