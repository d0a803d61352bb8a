"""``WorkSender`` adapters: a message to the worker's queue, or an asynchronous invocation of the
worker (moto's Lambda without Docker accepts ``InvocationType=Event`` with a 202; a refusal is
answered with botocore's Stubber and the documented response shape)."""

from __future__ import annotations

import io
import zipfile

import boto3
import pytest
from botocore.stub import Stubber
from chorus.runtime.adapters.work_senders import (
    ASYNC_PAYLOAD_LIMIT,
    LambdaAsyncWorkSender,
    SqsWorkSender,
    WorkNotAccepted,
)
from chorus.runtime.core.ports import WorkSender

REGION = "us-east-1"


@pytest.fixture
def aws(monkeypatch):
    from moto import mock_aws

    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws(config={"lambda": {"use_docker": False}}):
        yield


def _worker(name: str = "chat-worker") -> str:
    role = boto3.client("iam").create_role(RoleName="worker", AssumeRolePolicyDocument="{}")
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    boto3.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="app.handler",
        Code={"ZipFile": code.getvalue()},
    )
    return name


def test_both_senders_are_work_senders():
    assert isinstance(SqsWorkSender(object(), "https://queue"), WorkSender)
    assert isinstance(LambdaAsyncWorkSender(object(), "worker"), WorkSender)


def test_the_queue_sender_puts_one_message_on_the_queue(aws):
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="chat")["QueueUrl"]

    SqsWorkSender(sqs, url).send('{"requestId": "r1"}')

    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert message["Body"] == '{"requestId": "r1"}'


def test_the_async_sender_is_accepted_with_a_202(aws):
    client = boto3.client("lambda")
    LambdaAsyncWorkSender(client, _worker()).send('{"requestId": "r1"}')  # raises unless 202


def test_an_answer_other_than_202_is_work_not_accepted():
    client = boto3.client(
        "lambda", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stubber:
        stubber.add_response("invoke", {"StatusCode": 200, "Payload": io.BytesIO(b"")})
        with pytest.raises(WorkNotAccepted) as error:
            LambdaAsyncWorkSender(client, "worker").send("{}")
    assert error.value.code == "work_not_accepted" and "expected 202" in str(error.value)


def test_a_message_over_the_async_limit_is_refused_before_any_call():
    client = boto3.client(
        "lambda", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stubber, pytest.raises(WorkNotAccepted) as error:
        LambdaAsyncWorkSender(client, "worker").send("x" * (ASYNC_PAYLOAD_LIMIT + 1))
        stubber.assert_no_pending_responses()
    assert "send a reference" in str(error.value)


def test_senders_need_where_to_send():
    with pytest.raises(ValueError, match="queue URL"):
        SqsWorkSender(object(), "")
    with pytest.raises(ValueError, match="function name"):
        LambdaAsyncWorkSender(object(), "")
