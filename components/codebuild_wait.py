"""Deploy-time step: start the CodeBuild project that packages a Hugging Face model, wait for it.

Runs as a Lambda invoked once by ``aws.lambda_.Invocation`` (see ``model_host.py``); it imports
only boto3, so it ships as this single file. The Lambda limit (15 minutes) bounds the wait: a
model whose download + tar takes longer should be packaged once and passed as ``model_data_url``.
"""

from __future__ import annotations

import time
from typing import Any

POLL_SECONDS = 15
SAFETY_MARGIN_MS = 30_000


def handler(event: dict[str, Any], context: Any, client: Any = None) -> dict[str, str]:
    """Start the build with the model's variables and return ``{"modelDataUrl": "s3://..."}``.

    Parameters
    ----------
    event: ``{"projectName", "bucket", "key", "modelId", "revision"}``.
    context: the Lambda context (its remaining time bounds the wait).
    client: a CodeBuild client (tests pass a stub); default ``boto3.client("codebuild")``.
    """
    if client is None:
        import boto3

        client = boto3.client("codebuild")
    variables = [
        {"name": "HF_MODEL_ID", "value": event["modelId"], "type": "PLAINTEXT"},
        {"name": "HF_REVISION", "value": event.get("revision", "main"), "type": "PLAINTEXT"},
        {"name": "ARTIFACT_BUCKET", "value": event["bucket"], "type": "PLAINTEXT"},
        {"name": "ARTIFACT_KEY", "value": event["key"], "type": "PLAINTEXT"},
    ]
    build_id = client.start_build(
        projectName=event["projectName"], environmentVariablesOverride=variables
    )["build"]["id"]
    while True:
        status = client.batch_get_builds(ids=[build_id])["builds"][0]["buildStatus"]
        if status == "SUCCEEDED":
            return {"modelDataUrl": f"s3://{event['bucket']}/{event['key']}", "buildId": build_id}
        if status != "IN_PROGRESS":
            raise RuntimeError(
                f"CodeBuild {build_id} ended {status}; see its logs in CloudWatch "
                "(/aws/codebuild/<project>) and re-run the deployment"
            )
        if context is not None and context.get_remaining_time_in_millis() < SAFETY_MARGIN_MS:
            raise TimeoutError(
                f"CodeBuild {build_id} still running near the Lambda time limit; package the "
                "model once and pass its S3 URL as model_data_url instead"
            )
        time.sleep(POLL_SECONDS)
