"""The local server end to end: the real app under uvicorn, a real WebSocket client, httpx.

One server (and one database on the session's embedded PostgreSQL) serves the whole module; a
workspace of four short documents on distinct topics is ingested once. Tests that change state
create a workspace or a user of their own, so they never see each other's rows.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from chorus.runtime.local.app import create_app
from chorus.runtime.local.services import LocalServices, open_services
from chorus.runtime.local.settings import LocalSettings
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

DOCUMENTS = {
    "volcanoes.md": (
        "# Volcanoes\n\n"
        "A volcano is an opening in the crust where molten magma reaches the surface as lava. "
        "Stratovolcanoes such as Mount Fuji build steep cones from layers of ash and lava. "
        "Explosive eruptions throw pyroclastic flows and ash columns high into the sky.\n"
    ),
    "sourdough.md": (
        "# Sourdough bread\n\n"
        "Sourdough bread rises with a starter of wild yeast and lactic acid bacteria. "
        "Feed the starter with flour and water every day to keep it active. "
        "A long cold fermentation of the dough gives the loaf its sour taste and open crumb.\n"
    ),
    "chess.md": (
        "# Chess openings\n\n"
        "The Sicilian Defence answers the king's pawn opening with the c-pawn. "
        "Castling moves the king two squares toward a rook to keep the king safe. "
        "A gambit sacrifices a pawn in the opening for faster development.\n"
    ),
    "honeybees.md": (
        "# Honeybees\n\n"
        "A honeybee colony has one queen, thousands of worker bees and a few drones. "
        "Worker bees collect nectar from flowers and turn it into honey in the hive. "
        "Bees perform a waggle dance to tell the colony where the flowers are.\n"
    ),
}
INJECTIONS = ["'; DROP TABLE chorus_chunks; --", "<script>alert(1)</script>", "{{7*7}}"]
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


# -- a live server ---------------------------------------------------------------------------


@contextmanager
def serve(services: LocalServices) -> Iterator[str]:
    """Run the real app under uvicorn on a free 127.0.0.1 port; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(services),
        log_level="warning",
        lifespan="off",
        ws_max_size=1024 * 1024,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start within 30 s"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@pytest.fixture(scope="module")
def module_dsn(pg_server_dsn: str) -> Iterator[str]:
    """A database of this module's own on the session's embedded PostgreSQL."""
    import psycopg2

    name = f"t_app_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(pg_server_dsn)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    yield pg_server_dsn.replace("/postgres?", f"/{name}?", 1)
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()


@pytest.fixture(scope="module")
def services(
    module_dsn: str, embedder: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalServices]:
    settings = LocalSettings(home=tmp_path_factory.mktemp("chorus-home"))
    opened = open_services(settings, embedder=embedder, dsn=module_dsn)
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def base_url(services: LocalServices) -> Iterator[str]:
    with serve(services) as url:
        yield url


@pytest.fixture(scope="module")
def workspace_id(base_url: str) -> str:
    """A workspace holding DOCUMENTS, uploaded through the REST API."""
    with httpx.Client(base_url=base_url, timeout=60) as client:
        created = client.post("/api/workspaces", json={"name": "topics"})
        assert created.status_code == 201, created.text
        wid = created.json()["id"]
        for name, text in DOCUMENTS.items():
            uploaded = client.post(
                f"/api/workspaces/{wid}/documents", files={"file": (name, text.encode())}
            )
            assert uploaded.status_code == 201, uploaded.text
    return wid


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=60) as client:
        yield client


@pytest.fixture
def user() -> str:
    """A user name of this test's own."""
    return f"user-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def ws(base_url: str, workspace_id: str, user: str) -> Iterator[ClientConnection]:
    with open_ws(base_url, user) as conn:
        yield conn


@pytest.fixture
def new_workspace(http: httpx.Client) -> str:
    """An empty workspace of this test's own."""
    response = http.post("/api/workspaces", json={"name": f"ws {uuid.uuid4().hex[:8]}"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


# -- helpers ---------------------------------------------------------------------------------


def open_ws(base_url: str, user: str) -> ClientConnection:
    return connect(
        base_url.replace("http://", "ws://") + "/ws",
        additional_headers={"X-Chorus-User": user},
        open_timeout=10,
        close_timeout=5,
    )


def receive(conn: ClientConnection) -> dict[str, Any]:
    return json.loads(conn.recv(timeout=60))


def send_message(conn: ClientConnection, workspace: str, text: str, **fields: Any) -> None:
    data = {"workspaceId": workspace, "text": text, **fields}
    conn.send(json.dumps({"action": "sendMessage", "data": data}))


def turn(conn: ClientConnection) -> list[dict[str, Any]]:
    """Events up to and including the ``final`` or ``error`` that ends a turn."""
    events = [receive(conn)]
    while events[-1]["type"] not in ("final", "error"):
        events.append(receive(conn))
    return events


def ask(conn: ClientConnection, workspace: str, text: str, **fields: Any) -> list[dict[str, Any]]:
    send_message(conn, workspace, text, **fields)
    return turn(conn)


def assert_usable(conn: ClientConnection, workspace: str) -> None:
    """The connection still answers a good question after a bad one."""
    events = ask(conn, workspace, "How do bees make honey?")
    assert events[-1]["type"] == "final", events[-1]
    assert events[-1]["answer"]


def upload(
    http: httpx.Client, workspace: str, name: str, data: bytes, **headers: str
) -> httpx.Response:
    return http.post(
        f"/api/workspaces/{workspace}/documents", files={"file": (name, data)}, headers=headers
    )


def document_names(http: httpx.Client, workspace: str) -> list[str]:
    response = http.get(f"/api/workspaces/{workspace}/documents")
    assert response.status_code == 200, response.text
    return [d["name"] for d in response.json()["documents"]]


def table_exists(services: LocalServices, table: str) -> bool:
    with services.db.transaction() as cur:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
        return bool(cur.fetchone()[0])


# -- chat over the WebSocket -----------------------------------------------------------------


def test_question_streams_sources_then_tokens_then_final(ws, workspace_id):
    events = ask(ws, workspace_id, "How does a volcano erupt?")

    types = [e["type"] for e in events]
    assert types[0] == "sources"
    assert types[-1] == "final"
    assert set(types[1:-1]) == {"token"}
    assert len(types) > 3, "the answer should stream in more than one token"


def test_streamed_tokens_add_up_to_the_final_answer(ws, workspace_id):
    events = ask(ws, workspace_id, "How do I feed a sourdough starter?")

    final = events[-1]
    streamed = "".join(e["text"] for e in events if e["type"] == "token")
    assert final["answer"]
    assert streamed.strip() == final["answer"]
    assert {e["model"] for e in events if e["type"] == "token"} == {final["model"]}


def test_final_answer_cites_only_sources_that_exist(ws, workspace_id):
    events = ask(ws, workspace_id, "What does a honeybee colony consist of?")

    sources = events[0]["sources"]
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", events[-1]["answer"])}
    assert cited, f"the answer cites nothing: {events[-1]['answer']!r}"
    assert cited <= {s["n"] for s in sources}


def test_sources_carry_document_score_and_snippet(ws, workspace_id):
    sources = ask(ws, workspace_id, "What is castling in chess?")[0]["sources"]

    assert [s["n"] for s in sources] == list(range(1, len(sources) + 1))
    for source in sources:
        assert source["documentName"] in DOCUMENTS
        assert source["documentId"] and source["chunkId"]
        assert isinstance(source["score"], float)
        assert source["snippet"] and len(source["snippet"]) <= 300


@pytest.mark.parametrize(
    ("question", "document"),
    [
        ("Which mountain is a stratovolcano made of ash and lava?", "volcanoes.md"),
        ("Why is sourdough bread sour?", "sourdough.md"),
        ("What is the Sicilian Defence?", "chess.md"),
        ("Why do bees dance?", "honeybees.md"),
    ],
)
def test_topical_question_ranks_its_document_first(ws, workspace_id, question, document):
    sources = ask(ws, workspace_id, question)[0]["sources"]

    assert sources[0]["documentName"] == document


def test_every_event_of_a_turn_carries_the_same_session_and_message_id(ws, workspace_id):
    session_id = f"s-{uuid.uuid4().hex}"
    events = ask(ws, workspace_id, "What is a gambit?", sessionId=session_id)

    assert {e["sessionId"] for e in events} == {session_id}
    message_ids = {e["messageId"] for e in events}
    assert len(message_ids) == 1 and None not in message_ids


def test_a_new_session_gets_an_id_from_the_server(ws, workspace_id):
    events = ask(ws, workspace_id, "What is lava?")

    session_ids = {e["sessionId"] for e in events}
    assert len(session_ids) == 1
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.:-]*", session_ids.pop())


def test_final_reports_model_usage_cost_and_latency(ws, workspace_id):
    # A question no other test asks: the semantic cache would answer a repeated one.
    final = ask(ws, workspace_id, "What does a stratovolcano like Mount Fuji build?")[-1]

    assert final["model"] == "extractive" and final["mode"] == "single"
    assert final["answers"][0]["model"] == "extractive"
    assert final["answers"][0]["text"] == final["answer"]
    assert set(final["usage"]) == {"inputTokens", "outputTokens"}
    assert final["cost"] == 0
    assert final["latencyMs"]["total"] >= final["latencyMs"]["retrieval"] > 0
    assert final["cached"] is False


def test_heartbeat_gets_a_heartbeat_event(ws):
    ws.send(json.dumps({"action": "heartbeat"}))

    assert receive(ws) == {"type": "heartbeat", "sessionId": None, "messageId": None}


def test_follow_up_in_the_same_session_is_stored_in_order(ws, workspace_id, http, user):
    first = ask(ws, workspace_id, "What is a volcano?")[-1]
    session_id = first["sessionId"]
    second = ask(ws, workspace_id, "And what are pyroclastic flows?", sessionId=session_id)[-1]
    assert second["type"] == "final" and second["sessionId"] == session_id

    response = http.get(f"/api/sessions/{session_id}", headers={"X-Chorus-User": user})

    assert response.status_code == 200, response.text
    messages = response.json()["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert [m["content"] for m in messages] == [
        "What is a volcano?",
        first["answer"],
        "And what are pyroclastic flows?",
        second["answer"],
    ]
    assert messages[3]["id"] == second["messageId"]
    assert messages[3]["details"]["sources"]


def frame(**data: Any) -> str:
    """A sendMessage frame with ``data`` over a harmless default."""
    return json.dumps({"action": "sendMessage", "data": {"workspaceId": "w", "text": "hi", **data}})


BAD_FRAMES = {
    "malformed JSON": ('{"action": "sendMessage", "data": {', "bad_request"),
    "JSON array": ('[{"action": "heartbeat"}]', "bad_request"),
    "JSON string": ('"heartbeat"', "bad_request"),
    "unknown action": ('{"action": "deleteEverything"}', "bad_request"),
    "no action": ('{"data": {"workspaceId": "topics", "text": "hi"}}', "bad_request"),
    "missing data": ('{"action": "sendMessage"}', "bad_request"),
    "missing workspace": ('{"action": "sendMessage", "data": {"text": "hi"}}', "bad_request"),
    "empty text": (frame(text=""), "bad_request"),
    "whitespace text": (frame(text=" \n\t "), "bad_request"),
    "text with NUL": (frame(text="a\x00b"), "bad_request"),
    "lone surrogate": (frame(text="@").replace('"@"', '"a\\ud800"'), "bad_request"),
    "text too long": (frame(text="x" * 8001), "bad_request"),
    "unknown field": (frame(x=1), "bad_request"),
    "bad session id": (frame(sessionId="../x"), "bad_request"),
    "bad mode": (frame(mode="all"), "bad_request"),
    "models not a list": (frame(models="extractive"), "bad_request"),
    "temperature out of range": (frame(modelKwargs={"temperature": 9}), "bad_request"),
    "oversize frame": (frame(text="x" * 100_000), "payload_too_large"),
    "10 KB of nested arrays": ("[" * 10_000, "bad_request"),
    "5,000 nested objects": ('{"a":' * 5_000, "bad_request"),
    "lone surrogate in the session id": (
        '{"action": "sendMessage", "data": {"workspaceId": "w", "text": "hi", '
        '"sessionId": "s\\ud800"}}',
        "bad_request",
    ),
}


@pytest.mark.parametrize(("frame", "code"), BAD_FRAMES.values(), ids=BAD_FRAMES.keys())
def test_bad_frame_gets_an_error_event_and_the_connection_stays_usable(
    ws, workspace_id, frame, code
):
    ws.send(frame)

    event = receive(ws)
    assert event["type"] == "error"
    assert event["code"] == code
    assert event["message"]
    assert_usable(ws, workspace_id)


def test_frame_over_one_mebibyte_closes_only_its_own_connection(base_url, workspace_id, user):
    with open_ws(base_url, user) as conn:
        conn.send(frame(text="x" * (1024 * 1024 + 1)))
        with pytest.raises(ConnectionClosed) as closed:
            conn.recv(timeout=30)

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    with open_ws(base_url, user) as conn:
        assert_usable(conn, workspace_id)


def test_binary_frame_that_is_not_json_gets_bad_request(ws, workspace_id):
    ws.send(b"\xff\xfe\x00garbage")

    event = receive(ws)
    assert (event["type"], event["code"]) == ("error", "bad_request")
    assert_usable(ws, workspace_id)


CHAT_ERRORS = {
    "unknown workspace": ({"workspaceId": "no-such-workspace"}, "not_found"),
    "unknown model": ({"models": ["gpt-17-ultra"]}, "unknown_model"),
    "unknown model in a consensus": (
        {"mode": "consensus", "models": ["extractive", "gpt-17-ultra"]},
        "unknown_model",
    ),
}


@pytest.mark.parametrize("mode", ["consensus", "cascade"])
def test_multi_model_modes_answer_with_the_local_models(ws, workspace_id, mode):
    events = ask(ws, workspace_id, f"Why do bees dance? ({mode})", mode=mode)

    final = events[-1]
    assert final["type"] == "final", final
    assert final["mode"] == mode and final["model"] == "extractive"
    assert final["grounding"] is not None and isinstance(final["unsupported"], list)
    tokens = [e for e in events if e["type"] == "token" and e["model"] == final["model"]]
    assert "".join(e["text"] for e in tokens).strip() == final["answer"]


def test_repeated_question_is_served_from_the_cache_until_the_workspace_changes(
    ws, http, new_workspace
):
    upload(http, new_workspace, "honeybees.md", DOCUMENTS["honeybees.md"].encode())
    first = ask(ws, new_workspace, "How do worker bees make honey?")[-1]
    second = ask(ws, new_workspace, "How do the worker bees make honey?")[-1]
    upload(http, new_workspace, "chess.md", DOCUMENTS["chess.md"].encode())
    third = ask(ws, new_workspace, "How do worker bees make honey?")[-1]

    assert (first["cached"], second["cached"], third["cached"]) == (False, True, False)
    assert second["answer"] == first["answer"]


@pytest.mark.parametrize(("fields", "code"), CHAT_ERRORS.values(), ids=CHAT_ERRORS.keys())
def test_unanswerable_request_gets_its_error_code_and_stores_nothing(
    ws, workspace_id, http, user, fields, code
):
    session_id = f"s-{uuid.uuid4().hex}"
    data = {"workspaceId": workspace_id, "sessionId": session_id, **fields}
    events = ask(ws, data.pop("workspaceId"), "What is lava?", **data)

    assert len(events) == 1
    event = events[0]
    assert (event["type"], event["code"]) == ("error", code)
    assert event["sessionId"] == session_id and event["messageId"]
    stored = http.get(f"/api/sessions/{session_id}", headers={"X-Chorus-User": user})
    assert stored.status_code == 404
    assert_usable(ws, workspace_id)


@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_string_is_answered_like_any_question(
    ws, workspace_id, services, http, user, text
):
    chunks_before = services.store.count_chunks(workspace_id)

    events = ask(ws, workspace_id, text)

    assert events[-1]["type"] == "final", events[-1]
    session = http.get(f"/api/sessions/{events[-1]['sessionId']}", headers={"X-Chorus-User": user})
    assert session.json()["messages"][0]["content"] == text
    assert table_exists(services, "chorus_workspaces")
    assert table_exists(services, services.store.table)
    assert services.store.count_chunks(workspace_id) == chunks_before
    assert ask(ws, workspace_id, "Why do bees dance?")[0]["sources"][0]["documentName"] == (
        "honeybees.md"
    )


@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_string_as_workspace_id_is_refused(ws, workspace_id, text):
    events = ask(ws, text, "What is lava?")

    assert (events[0]["type"], events[0]["code"]) == ("error", "bad_request")
    assert_usable(ws, workspace_id)


def test_another_users_session_is_forbidden_and_left_untouched(
    base_url, ws, workspace_id, http, user
):
    session_id = ask(ws, workspace_id, "What is a volcano?")[-1]["sessionId"]

    with open_ws(base_url, f"intruder-{user}") as intruder:
        events = ask(intruder, workspace_id, "Tell me your secrets", sessionId=session_id)
        assert_usable(intruder, workspace_id)

    assert len(events) == 1
    assert (events[0]["type"], events[0]["code"]) == ("error", "forbidden")
    owner_view = http.get(f"/api/sessions/{session_id}", headers={"X-Chorus-User": user})
    assert [m["role"] for m in owner_view.json()["messages"]] == ["user", "assistant"]


def test_client_that_leaves_mid_answer_does_not_disturb_the_server(base_url, workspace_id, user):
    with open_ws(base_url, user) as leaving:
        send_message(leaving, workspace_id, "How does a volcano erupt?")

    with open_ws(base_url, user) as conn:
        assert_usable(conn, workspace_id)


def test_session_cannot_move_to_another_workspace(ws, workspace_id, new_workspace):
    session_id = ask(ws, workspace_id, "What is a volcano?")[-1]["sessionId"]

    events = ask(ws, new_workspace, "What is a volcano?", sessionId=session_id)

    assert (events[0]["type"], events[0]["code"]) == ("error", "bad_request")


def test_invalid_user_name_gets_an_error_event(base_url, workspace_id):
    with open_ws(base_url, "<script>") as conn:
        event = receive(conn)

    assert (event["type"], event["code"]) == ("error", "bad_request")


def test_questions_on_two_connections_are_answered_independently(base_url, workspace_id, user):
    with open_ws(base_url, user) as one, open_ws(base_url, user) as two:
        send_message(one, workspace_id, "Why is sourdough bread sour?")
        send_message(two, workspace_id, "What is the Sicilian Defence?")
        first, second = turn(one), turn(two)

    assert first[0]["sources"][0]["documentName"] == "sourdough.md"
    assert second[0]["sources"][0]["documentName"] == "chess.md"
    assert first[-1]["sessionId"] != second[-1]["sessionId"]


# -- REST: workspaces ------------------------------------------------------------------------


def test_workspace_lifecycle_create_list_get_delete(http):
    created = http.post("/api/workspaces", json={"name": "Life Cycle", "chunkSize": 500})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["name"] == "Life Cycle" and body["chunkSize"] == 500
    assert body["embeddingModel"] and body["embeddingDimension"] == 384

    listed = http.get("/api/workspaces")
    assert listed.status_code == 200
    assert body["id"] in [w["id"] for w in listed.json()["workspaces"]]

    fetched = http.get(f"/api/workspaces/{body['id']}")
    assert fetched.status_code == 200
    assert fetched.json()["documents"] == 0

    assert http.delete(f"/api/workspaces/{body['id']}").status_code == 204
    assert http.get(f"/api/workspaces/{body['id']}").status_code == 404
    assert body["id"] not in [w["id"] for w in http.get("/api/workspaces").json()["workspaces"]]


def test_duplicate_workspace_name_is_a_conflict(http, new_workspace):
    name = http.get(f"/api/workspaces/{new_workspace}").json()["name"]

    response = http.post("/api/workspaces", json={"name": name})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


BAD_WORKSPACES = {
    "not JSON": b"{name: x}",
    "empty body": b"",
    "JSON array": b'["x"]',
    "no name": b"{}",
    "empty name": b'{"name": "  "}',
    "name not a string": b'{"name": 42}',
    "name too long": json.dumps({"name": "x" * 101}).encode(),
    "control character": b'{"name": "a\\u0007b"}',
    "chunk size too small": b'{"name": "small", "chunkSize": 10}',
    "overlap not below size": b'{"name": "lap", "chunkSize": 100, "chunkOverlap": 100}',
    "unknown field": b'{"name": "x", "owner": "root"}',
}


@pytest.mark.parametrize("body", BAD_WORKSPACES.values(), ids=BAD_WORKSPACES.keys())
def test_bad_workspace_request_is_a_400_and_creates_nothing(http, body):
    before = http.get("/api/workspaces").json()["workspaces"]

    response = http.post(
        "/api/workspaces", content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "bad_request"
    assert http.get("/api/workspaces").json()["workspaces"] == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/workspaces/nope"),
        ("DELETE", "/api/workspaces/nope"),
        ("GET", "/api/workspaces/nope/documents"),
        ("DELETE", "/api/workspaces/nope/documents/doc"),
        ("GET", "/api/workspaces/x y/documents"),
    ],
)
def test_unknown_workspace_is_a_404(http, method, path):
    response = http.request(method, path)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("body", ["[" * 10_000, '{"a":' * 5_000, '{"name": "\\udc00"}'])
def test_a_hostile_json_body_is_a_400(http, body):
    response = http.post("/api/workspaces", content=body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
    assert "Recursion" not in response.text


def test_an_overlong_path_id_is_a_404(http):
    response = http.get(f"/api/workspaces/{'w' * 3000}/documents")

    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_encoded_traversal_in_the_path_is_a_404(http):
    assert http.get("/api/workspaces/..%2F..%2Fetc/documents").status_code == 404


def test_upload_into_unknown_workspace_is_a_404(http):
    assert upload(http, "nope", "a.md", b"# A\n\nsome text here").status_code == 404


# -- REST: documents -------------------------------------------------------------------------


def test_upload_indexes_the_document(http, new_workspace, services):
    response = upload(http, new_workspace, "notes.md", DOCUMENTS["chess.md"].encode())

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["outcome"] == "indexed" and body["status"] == "indexed"
    assert body["name"] == "notes.md" and body["chunks"] > 0 and body["progress"] is None
    assert services.store.count_chunks(new_workspace, body["id"]) == body["chunks"]
    assert document_names(http, new_workspace) == ["notes.md"]


def test_a_paused_document_is_listed_processing_with_its_progress(http, new_workspace, services):
    from chorus.runtime.core.ingestion import Ingestor

    workspace = services.metadata.get_workspace(new_workspace)
    one_batch = Ingestor(services.embedder, services.store, services.metadata, flush_chunks=1)
    text = ("\n\n".join(DOCUMENTS.values()) * 4).encode()
    stops = iter([False, True])
    paused = one_batch.ingest(workspace, "all.md", text, should_stop=lambda: next(stops))
    assert paused.outcome == "paused"

    (listed,) = http.get(f"/api/workspaces/{new_workspace}/documents").json()["documents"]

    assert listed["status"] == "processing"
    assert listed["progress"] == {"embedded": 1, "total": paused.checkpoint.total}
    assert listed["chunks"] == paused.checkpoint.total > 1


def test_same_upload_again_is_unchanged(http, new_workspace):
    data = DOCUMENTS["sourdough.md"].encode()
    first = upload(http, new_workspace, "bread.md", data).json()

    again = upload(http, new_workspace, "bread.md", data)

    assert again.status_code == 200
    assert again.json()["outcome"] == "unchanged"
    assert again.json()["id"] == first["id"] and again.json()["chunks"] == first["chunks"]


UNSUPPORTED = {
    "PNG named .pdf": ("x.pdf", PNG),
    "empty file": ("empty.txt", b""),
    "binary .txt": ("blob.txt", bytes(range(256)) * 8),
    "unknown extension": ("tool.exe", b"MZ\x90\x00" * 100),
}


@pytest.mark.parametrize(("name", "data"), UNSUPPORTED.values(), ids=UNSUPPORTED.keys())
def test_unsupported_upload_is_a_415_and_stores_nothing(http, new_workspace, services, name, data):
    response = upload(http, new_workspace, name, data)

    assert response.status_code == 415, response.text
    assert response.json()["error"]["code"] == "unsupported_document"
    assert document_names(http, new_workspace) == []
    assert services.store.count_chunks(new_workspace) == 0


@pytest.mark.parametrize("name", ["../../etc/passwd", "a/b.txt", "..\\x.txt", "..", "."])
def test_path_in_upload_name_is_a_400_and_stores_nothing(http, new_workspace, services, name):
    response = upload(http, new_workspace, name, b"plain text that would be indexed")

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "bad_request"
    assert document_names(http, new_workspace) == []
    assert services.store.count_chunks(new_workspace) == 0


def test_upload_without_a_file_field_is_a_400(http, new_workspace):
    response = http.post(
        f"/api/workspaces/{new_workspace}/documents", files={"document": ("a.md", b"# A")}
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


BROKEN_FORMS = {
    "wrong boundary": (
        b"--xyz\r\nContent-Disposition: form-data; name=file; filename=a.md\r\n\r\nnoend",
        "multipart/form-data; boundary=abc",
    ),
    "no boundary": (b"--xyz\r\n\r\n", "multipart/form-data"),
    "two files": (
        b"--b\r\nContent-Disposition: form-data; name=file; filename=a.md\r\n\r\n# A\r\n"
        b"--b\r\nContent-Disposition: form-data; name=file; filename=b.md\r\n\r\n# B\r\n"
        b"--b--\r\n",
        "multipart/form-data; boundary=b",
    ),
}


@pytest.mark.parametrize(("body", "content_type"), BROKEN_FORMS.values(), ids=BROKEN_FORMS.keys())
def test_broken_multipart_body_is_a_400_and_stores_nothing(http, new_workspace, body, content_type):
    response = http.post(
        f"/api/workspaces/{new_workspace}/documents",
        content=body,
        headers={"content-type": content_type},
    )

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "bad_request"
    assert document_names(http, new_workspace) == []


def test_upload_over_the_limit_is_a_413_and_stores_nothing(services, embedder, tmp_path: Path):
    small = LocalServices(
        **{**services.__dict__, "settings": LocalSettings(home=tmp_path, max_upload_bytes=1024)}
    )
    with serve(small) as url, httpx.Client(base_url=url, timeout=60) as http:
        wid = http.post("/api/workspaces", json={"name": f"small {uuid.uuid4().hex[:6]}"}).json()
        fits = upload(http, wid["id"], "fits.txt", b"a short note about tides and the moon")
        too_big = upload(http, wid["id"], "big.txt", b"tides and the moon. " * 200)
        way_too_big = upload(http, wid["id"], "huge.txt", b"tides and the moon. " * 20_000)
        names = document_names(http, wid["id"])

    assert fits.status_code == 201, fits.text
    assert too_big.status_code == 413 and way_too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "payload_too_large"
    assert names == ["fits.txt"]


def test_deleting_a_document_removes_its_chunks(http, new_workspace, services):
    document = upload(http, new_workspace, "bees.md", DOCUMENTS["honeybees.md"].encode()).json()
    assert services.store.count_chunks(new_workspace, document["id"]) > 0
    path = f"/api/workspaces/{new_workspace}/documents/{document['id']}"

    assert http.delete(path).status_code == 204

    assert services.store.count_chunks(new_workspace, document["id"]) == 0
    assert document_names(http, new_workspace) == []
    second = http.delete(path)
    assert second.status_code == 404
    assert second.json()["error"]["code"] == "not_found"


def test_deleted_document_is_no_longer_retrieved(base_url, http, new_workspace, user):
    for name in ("volcanoes.md", "chess.md"):
        assert upload(http, new_workspace, name, DOCUMENTS[name].encode()).status_code == 201
    doc_id = next(
        d["id"]
        for d in http.get(f"/api/workspaces/{new_workspace}/documents").json()["documents"]
        if d["name"] == "volcanoes.md"
    )
    http.delete(f"/api/workspaces/{new_workspace}/documents/{doc_id}")

    with open_ws(base_url, user) as conn:
        sources = ask(conn, new_workspace, "How does a volcano erupt?")[0]["sources"]

    assert {s["documentName"] for s in sources} <= {"chess.md"}


def test_deleting_a_workspace_removes_its_chunks(http, new_workspace, services):
    upload(http, new_workspace, "bees.md", DOCUMENTS["honeybees.md"].encode())

    assert http.delete(f"/api/workspaces/{new_workspace}").status_code == 204

    assert services.store.count_chunks(new_workspace) == 0
    assert http.delete(f"/api/workspaces/{new_workspace}").status_code == 404


# -- REST: sessions --------------------------------------------------------------------------


def test_sessions_list_only_the_callers_sessions(base_url, http, workspace_id, user):
    other = f"other-{user}"
    with open_ws(base_url, user) as mine, open_ws(base_url, other) as theirs:
        my_session = ask(mine, workspace_id, "What is a volcano?")[-1]["sessionId"]
        their_session = ask(theirs, workspace_id, "What is honey?")[-1]["sessionId"]

    listed = http.get("/api/sessions", headers={"X-Chorus-User": user})

    assert listed.status_code == 200
    assert [s["id"] for s in listed.json()["sessions"]] == [my_session]
    assert listed.json()["sessions"][0]["workspaceId"] == workspace_id
    assert their_session != my_session


def test_another_users_session_is_a_404(base_url, http, workspace_id, user):
    with open_ws(base_url, user) as conn:
        session_id = ask(conn, workspace_id, "What is a volcano?")[-1]["sessionId"]

    other = {"X-Chorus-User": f"other-{user}"}
    assert http.get(f"/api/sessions/{session_id}", headers=other).status_code == 404
    assert http.delete(f"/api/sessions/{session_id}", headers=other).status_code == 404
    assert http.get(f"/api/sessions/{session_id}", headers={"X-Chorus-User": user}).is_success


def test_deleting_a_session_removes_it(base_url, http, workspace_id, user):
    with open_ws(base_url, user) as conn:
        session_id = ask(conn, workspace_id, "What is a volcano?")[-1]["sessionId"]
    mine = {"X-Chorus-User": user}

    assert http.delete(f"/api/sessions/{session_id}", headers=mine).status_code == 204

    assert http.get(f"/api/sessions/{session_id}", headers=mine).status_code == 404
    assert http.get("/api/sessions", headers=mine).json()["sessions"] == []


def test_invalid_user_header_is_a_400(http):
    response = http.get("/api/sessions", headers={"X-Chorus-User": "robert'); --"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


# -- config and the page ---------------------------------------------------------------------


def test_config_tells_the_page_where_to_connect(http, base_url):
    response = http.get("/config.json")

    assert response.status_code == 200
    config = response.json()
    assert config["websocketUrl"] == base_url.replace("http://", "ws://") + "/ws"
    assert config["apiUrl"] == base_url + "/api"
    assert config["models"] == ["extractive"] and config["defaultModel"] == "extractive"
    assert config["mode"] == "local"


def test_health_is_ok(http):
    assert http.get("/api/health").json()["status"] == "ok"


def test_root_serves_the_chat_page(http):
    response = http.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<title>" in response.text and "/static/app.js" in response.text


def test_chat_page_script_is_served_from_static(http):
    response = http.get("/static/app.js")

    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert "innerHTML" not in response.text, "untrusted text must never go through innerHTML"


def test_static_does_not_serve_files_outside_its_folder(http):
    response = http.get("/static/..%2F..%2Fapp.py")

    assert response.status_code == 404


# -- the chat socket opened with a public API key (as the cloud's WebSocket API) -------------


def issue_key(http: httpx.Client, workspace: str, **plan: Any) -> dict[str, Any]:
    created = http.post(f"/api/workspaces/{workspace}/api-keys", json={"name": "bot", **plan})
    assert created.status_code == 201, created.text
    return created.json()


def open_key_ws(base_url: str, key: str, workspace: str) -> ClientConnection:
    url = base_url.replace("http://", "ws://") + f"/ws?token={key}&workspace={workspace}"
    return connect(url, open_timeout=10, close_timeout=5)


def test_a_key_socket_streams_an_answer_stored_under_the_key(
    base_url, http, services, workspace_id
):
    key = issue_key(http, workspace_id)
    with open_key_ws(base_url, key["key"], workspace_id) as conn:
        events = ask(conn, workspace_id, "How does a volcano form a steep cone?")

    assert events[-1]["type"] == "final", events[-1]
    assert "token" in [e["type"] for e in events]
    session = services.metadata.get_session(events[-1]["sessionId"])
    assert session.user_id == f"apikey:{key['id']}"
    listed = http.get(f"/api/workspaces/{workspace_id}/api-keys").json()["apiKeys"]
    assert next(k for k in listed if k["id"] == key["id"])["usedToday"] == 1


def test_a_key_socket_may_ask_only_its_own_workspace(base_url, http, workspace_id, new_workspace):
    key = issue_key(http, workspace_id)
    with open_key_ws(base_url, key["key"], workspace_id) as conn:
        [event] = ask(conn, new_workspace, "What is sourdough?")

    assert (event["type"], event["code"]) == ("error", "not_found")


def test_a_key_socket_over_its_quota_is_told_when_to_retry(base_url, http, workspace_id):
    key = issue_key(http, workspace_id, dailyQuota=1)
    with open_key_ws(base_url, key["key"], workspace_id) as conn:
        assert ask(conn, workspace_id, "What is sourdough?")[-1]["type"] == "final"
        [refused] = ask(conn, workspace_id, "What is a volcano?")

    assert (refused["type"], refused["code"]) == ("error", "quota_exceeded")
    assert 0 < refused["retryAfter"] <= 86400


def test_a_wrong_or_revoked_key_is_refused_when_the_socket_opens(base_url, http, workspace_id):
    key = issue_key(http, workspace_id)
    revoked = http.delete(f"/api/workspaces/{workspace_id}/api-keys/{key['id']}")
    assert revoked.status_code == 204
    wrong = f"chorus_{'0' * 16}_{'A' * 43}"
    for presented, code in ((key["key"], "api_key_revoked"), (wrong, "invalid_api_key")):
        with open_key_ws(base_url, presented, workspace_id) as conn:
            event = receive(conn)
            with pytest.raises(ConnectionClosed) as closed:
                conn.recv(timeout=30)
        assert (event["type"], event["code"]) == ("error", code)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
