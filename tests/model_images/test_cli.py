"""runtime/commands/model.py: ``chorus model package`` and ``chorus model serve``."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from chorus.runtime.commands.model import model
from click.testing import CliRunner
from starlette.testclient import TestClient


def test_package_writes_the_archive_for_the_chosen_kind(tmp_path):
    model_dir = tmp_path / "tiny-model"
    model_dir.mkdir()
    (model_dir / "config.json").write_text("{}")
    (model_dir / "model.safetensors").write_bytes(b"weights")
    out = tmp_path / "build" / "model.tar.gz"
    result = CliRunner().invoke(
        model, ["package", "--kind", "embedding", "--model", str(model_dir), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "sha256" in result.output
    with tarfile.open(out, "r:gz") as tar:
        names = tar.getnames()
    assert {"code/inference.py", "code/requirements.txt", "model.safetensors"} <= set(names)


def test_package_reports_a_folder_it_cannot_package(tmp_path):
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(
        model, ["package", "--kind", "cross-encoder", "--model", str(tmp_path / "empty")]
    )
    assert result.exit_code != 0
    assert "no config.json" in result.output


def test_serve_loads_the_inference_code_with_the_given_environment(
    minilm_path, monkeypatch: pytest.MonkeyPatch
):
    served = {}

    def fake_run(app, host, port, **kwargs):
        served.update(app=app, host=host, port=port)

    monkeypatch.setattr("uvicorn.run", fake_run)
    # serve sets the container environment in os.environ; setenv first so teardown restores it.
    monkeypatch.setenv("CHORUS_MODEL_ID", "overwritten-by-serve")
    result = CliRunner().invoke(
        model,
        [
            "serve",
            "embedding",
            "--model",
            str(minilm_path),
            "--port",
            "9191",
            "--env",
            "CHORUS_MODEL_ID=minilm-local",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (served["host"], served["port"]) == ("127.0.0.1", 9191)
    response = TestClient(served["app"]).post("/invocations", json={"inputs": ["hello"]})
    assert response.status_code == 200
    assert response.json()["model_id"] == "minilm-local"


def test_serve_refuses_a_malformed_env_pair(minilm_path: Path):
    result = CliRunner().invoke(
        model, ["serve", "embedding", "--model", str(minilm_path), "--env", "NOVALUE"]
    )
    assert result.exit_code != 0
    assert "KEY=VALUE" in result.output
