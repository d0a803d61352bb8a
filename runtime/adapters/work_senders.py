"""``WorkSender`` adapters: an SQS queue (polled by the worker's event source) and an
asynchronous Lambda invocation (the worker runs the message as its event; Lambda keeps it,
retries it and sends it to the on-failure destination when every try failed).

Which one a stack uses is its ``eventPaths`` setting (docs/cost.md, "Event paths").
"""

from __future__ import annotations

import functools
from typing import Any

from ..core.errors import ChorusError

ASYNC_PAYLOAD_LIMIT = 256 * 1024
"""Bytes an asynchronous invocation accepts as its event (Lambda's quota; a chat job or a
continuation is far below)."""


class WorkNotAccepted(ChorusError):
    """The queue or Lambda did not take the message; the caller tells its client (code
    ``work_not_accepted``: try again) and nothing was started."""

    code = "work_not_accepted"
    http_status = 503


class SqsWorkSender:
    """One message per ``send`` to the worker's queue (``SendMessage``)."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        if not queue_url:
            raise ValueError(
                "SqsWorkSender needs the queue URL (CHORUS_CHAT_QUEUE_URL or the app config)"
            )
        self._sqs, self.queue_url = sqs, queue_url

    def send(self, body: str) -> None:
        self._sqs.send_message(QueueUrl=self.queue_url, MessageBody=body)


class LambdaAsyncWorkSender:
    """``Invoke`` with ``InvocationType=Event``: Lambda queues the event internally and answers
    202 at once; the function's event invoke config (retries, maximum age, on-failure
    destination) decides what happens when it fails."""

    def __init__(self, lambda_client: Any, function_name: str) -> None:
        if not function_name:
            raise ValueError("LambdaAsyncWorkSender needs the worker's function name or ARN")
        self._lambda, self.function_name = lambda_client, function_name

    def send(self, body: str) -> None:
        payload = body.encode("utf-8")
        if len(payload) > ASYNC_PAYLOAD_LIMIT:
            raise WorkNotAccepted(
                f"message of {len(payload)} bytes exceeds the {ASYNC_PAYLOAD_LIMIT}-byte limit of "
                "an asynchronous invocation; send a reference (an S3 key) instead"
            )
        response = self._lambda.invoke(
            FunctionName=self.function_name, InvocationType="Event", Payload=payload
        )
        if response.get("StatusCode") != 202:
            raise WorkNotAccepted(
                f"Lambda answered {response.get('StatusCode')} to an asynchronous invocation of "
                f"{self.function_name} (expected 202)"
            )


@functools.cache
def default_lambda_client() -> Any:
    """The process's Lambda client, built on first use (never at import: a cold start pays for
    clients it does not use)."""
    import boto3

    return boto3.client("lambda")
