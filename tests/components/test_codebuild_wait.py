"""The deploy-time wait step returns the archive URL only when the build succeeded."""

from __future__ import annotations

import pytest

from components import codebuild_wait

EVENT = {"projectName": "p", "bucket": "b", "key": "models/hf/main/model.tar.gz", "modelId": "m"}


class FakeCodeBuild:
    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.started = None

    def start_build(self, **kwargs):
        self.started = kwargs
        return {"build": {"id": "p:1"}}

    def batch_get_builds(self, ids):
        return {"builds": [{"id": ids[0], "buildStatus": self.statuses.pop(0)}]}


def test_success_returns_the_model_data_url(monkeypatch):
    monkeypatch.setattr(codebuild_wait, "POLL_SECONDS", 0)
    client = FakeCodeBuild(["IN_PROGRESS", "SUCCEEDED"])
    result = codebuild_wait.handler(EVENT, None, client=client)
    assert result["modelDataUrl"] == "s3://b/models/hf/main/model.tar.gz"
    variables = {v["name"]: v["value"] for v in client.started["environmentVariablesOverride"]}
    assert variables["HF_MODEL_ID"] == "m" and variables["HF_REVISION"] == "main"


def test_failed_build_raises_with_where_to_look():
    with pytest.raises(RuntimeError, match="ended FAILED"):
        codebuild_wait.handler(EVENT, None, client=FakeCodeBuild(["FAILED"]))
