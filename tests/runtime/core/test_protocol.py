import json

import pytest
from chorus.runtime.core.errors import BadRequest, PayloadTooLarge
from chorus.runtime.core.protocol import (
    MAX_MESSAGE_BYTES,
    Heartbeat,
    SendMessage,
    parse_client_message,
)


def send(**data):
    return json.dumps(
        {"action": "sendMessage", "data": {"workspaceId": "ws", "text": "hi", **data}}
    )


def test_a_minimal_send_message_gets_defaults():
    message = parse_client_message(send())
    assert isinstance(message, SendMessage)
    assert message.data.mode == "single"
    assert message.data.models == []
    assert message.data.modelKwargs.temperature == 0.0
    assert message.data.sessionId is None


def test_heartbeat_parses():
    assert isinstance(parse_client_message('{"action": "heartbeat"}'), Heartbeat)


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[1, 2]",
        '"a string"',
        '{"data": {}}',
        '{"action": "deleteEverything"}',
        '{"action": "sendMessage"}',
        send(text="   "),
        send(text="a\u0000b"),
        send(mode="unanimous"),
        send(workspaceId="../etc"),
        send(sessionId="x" * 200),
        send(unexpected=1),
        send(modelKwargs={"temperature": 5}),
        send(models=["m"] * 20),
    ],
)
def test_bad_messages_raise_bad_request_with_a_reason(raw):
    with pytest.raises(BadRequest) as info:
        parse_client_message(raw)
    assert info.value.code == "bad_request"
    assert info.value.message


def test_unknown_action_is_named_in_the_error():
    with pytest.raises(BadRequest, match="deleteEverything"):
        parse_client_message('{"action": "deleteEverything"}')


def test_oversize_messages_are_refused_before_parsing():
    raw = send(text="x" * (MAX_MESSAGE_BYTES + 10))
    with pytest.raises(PayloadTooLarge) as info:
        parse_client_message(raw)
    assert info.value.code == "payload_too_large"


def test_text_longer_than_the_limit_is_refused():
    with pytest.raises(BadRequest, match="text"):
        parse_client_message(send(text="x" * 8001))


def test_injection_strings_are_just_text():
    text = "'; DROP TABLE chorus_chunks; -- <script>alert(1)</script> {{7*7}}"
    assert parse_client_message(send(text=text)).data.text == text


def test_an_event_holding_a_lone_surrogate_still_encodes_to_utf8():
    from chorus.runtime.core.protocol import encode_event, error_event

    frame = encode_event(error_event("not_found", "no session 's\ud800'", "s\udfff"))

    assert json.loads(frame.encode("utf-8"))["sessionId"] == "s\ufffd"


@pytest.mark.parametrize("value", ["s" * 129, "a\n", "", "a\ud800", "../etc", "a b", 7])
def test_an_id_no_record_could_have_is_not_found(value):
    from chorus.runtime.core.errors import NotFound
    from chorus.runtime.core.protocol import valid_id

    with pytest.raises(NotFound):
        valid_id(value, "session")


def test_the_session_id_of_a_bad_frame_is_echoed_only_when_it_is_a_valid_id():
    from chorus.runtime.core.protocol import session_id_of

    assert session_id_of('{"data": {"sessionId": "s-1"}}') == "s-1"
    assert session_id_of('{"data": {"sessionId": "s\\ud800"}}') is None
    assert session_id_of("[" * 10_000) is None
