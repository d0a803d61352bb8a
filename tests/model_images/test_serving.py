"""runtime/local/sagemaker_container.py: an inference.py behind the SageMaker container contract."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from chorus.runtime.local.sagemaker_container import (
    ModelServer,
    create_app,
    load_inference_module,
)
from starlette.testclient import TestClient

# A stand-in inference.py: echoes its input, refuses "bad", fails on "boom".
ECHO_CODE = textwrap.dedent(
    """
    import json

    class ClientError(ValueError):
        status_code = 400

        def __init__(self, code, message):
            super().__init__(message)
            self.code, self.message = code, message

        def to_dict(self):
            return {"code": self.code, "message": self.message}

    def model_fn(model_dir, context=None):
        return {"model_dir": model_dir}

    def input_fn(data, content_type):
        if content_type != "application/json":
            raise ClientError("unsupported_media_type", "send JSON")
        return json.loads(data)

    def predict_fn(data, model):
        if data.get("text") == "bad":
            raise ClientError("bad_request", "text must not be 'bad'")
        if data.get("text") == "boom":
            raise RuntimeError("secret internals /opt/ml/model")
        return {"echo": data, "type": type(data).__name__, "model_dir": model["model_dir"]}

    def output_fn(prediction, accept):
        return json.dumps(prediction)
    """
)


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    code = tmp_path / "inference.py"
    code.write_text(ECHO_CODE)
    return TestClient(create_app(ModelServer.load(code, tmp_path)), raise_server_exceptions=False)


def post(client: TestClient, path: str, body: object, content_type: str = "application/json"):
    return client.post(path, content=json.dumps(body), headers={"content-type": content_type})


def test_ping_answers_200(client):
    assert client.get("/ping").status_code == 200


def test_invocations_runs_input_predict_output_with_the_loaded_model(client, tmp_path):
    response = post(client, "/invocations", {"text": "hello"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "echo": {"text": "hello"},
        "type": "dict",
        "model_dir": str(tmp_path),
    }


def test_a_refused_request_is_a_400_with_the_scripts_code(client):
    response = post(client, "/invocations", {"text": "bad"})
    assert response.status_code == 400
    assert response.json() == {"code": "bad_request", "message": "text must not be 'bad'"}


def test_the_content_type_reaches_input_fn(client):
    response = post(client, "/invocations", {"text": "x"}, content_type="text/csv")
    assert response.status_code == 400
    assert response.json()["code"] == "unsupported_media_type"


def test_a_fault_is_a_500_that_leaks_no_trace(client):
    response = post(client, "/invocations", {"text": "boom"})
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert "secret" not in response.text and "Traceback" not in response.text


def test_the_runtime_api_route_answers_like_invocations(client):
    response = post(client, "/endpoints/my-endpoint/invocations", {"text": "hello"})
    assert response.status_code == 200
    assert response.json()["echo"] == {"text": "hello"}


def test_the_runtime_api_route_wraps_container_errors_as_a_424_model_error(client):
    response = post(client, "/endpoints/my-endpoint/invocations", {"text": "bad"})
    assert response.status_code == 424
    assert response.headers["x-amzn-errortype"] == "ModelError"
    body = response.json()
    assert body["OriginalStatusCode"] == 400
    assert json.loads(body["OriginalMessage"])["code"] == "bad_request"


def test_a_script_without_the_toolkit_functions_is_refused(tmp_path):
    code = tmp_path / "inference.py"
    code.write_text("def model_fn(model_dir):\n    return None\n")
    with pytest.raises(ImportError, match="input_fn, predict_fn, output_fn"):
        load_inference_module(code)
