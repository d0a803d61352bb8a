"""``/api/workspaces/{id}/sources`` on the local server: add a site, a feed, text and Q&A pairs,
list them, sync them; the pages show up with their status in the documents API."""

from __future__ import annotations

import pytest
from chorus.runtime.local.app import create_app
from chorus.runtime.local.services import open_services
from chorus.runtime.local.settings import LocalSettings
from starlette.testclient import TestClient


def open_client(tmp_path, dsn, embedder, *, allow_private: bool):
    settings = LocalSettings(home=tmp_path / "home", sources_allow_private=allow_private)
    services = open_services(settings, embedder=embedder, dsn=dsn)
    return services, TestClient(create_app(services))


@pytest.fixture
def private_ok(tmp_path, fresh_dsn, embedder):
    services, client = open_client(tmp_path, fresh_dsn, embedder, allow_private=True)
    with client:
        wid = client.post("/api/workspaces", json={"name": "harbour"}).json()["id"]
        yield client, wid
    services.close()


def test_a_site_added_over_rest_lists_its_pages_as_documents(private_ok, site):
    client, wid = private_ok
    added = client.post(
        f"/api/workspaces/{wid}/sources",
        json={"kind": "site", "url": site.base + "/", "depth": 1, "maxPages": 5},
    )
    assert added.status_code == 201, added.text
    assert added.json()["indexed"] >= 3
    documents = client.get(f"/api/workspaces/{wid}/documents").json()["documents"]
    assert {d["status"] for d in documents} == {"indexed"}
    assert f"127.0.0.1:{site.port}.txt" in {d["name"] for d in documents}
    [source] = client.get(f"/api/workspaces/{wid}/sources").json()["sources"]
    assert source["status"] == "synced" and source["kind"] == "site"


def test_sync_over_rest_skips_unchanged_pages(private_ok, site):
    client, wid = private_ok
    client.post(
        f"/api/workspaces/{wid}/sources", json={"kind": "feed", "url": site.base + "/feed.xml"}
    )
    synced = client.post(f"/api/workspaces/{wid}/sources/sync")
    assert synced.status_code == 200
    [report] = synced.json()["sources"]
    assert report["indexed"] == 0 and report["unchanged"] == 2


def test_text_and_qa_sources_are_documents(private_ok):
    client, wid = private_ok
    text = client.post(
        f"/api/workspaces/{wid}/sources",
        json={"kind": "text", "name": "hours", "text": "The office opens at nine."},
    )
    qa = client.post(
        f"/api/workspaces/{wid}/sources",
        json={"kind": "qa", "pairs": [{"question": "Is there wifi?", "answer": "Yes, free."}]},
    )
    assert text.status_code == qa.status_code == 201
    assert [d["outcome"] for d in qa.json()["documents"]] == ["indexed"]
    names = {d["name"] for d in client.get(f"/api/workspaces/{wid}/documents").json()["documents"]}
    assert "hours.txt" in names and any(n.startswith("Q&A Is there wifi?") for n in names)


def test_a_loopback_url_is_refused_by_default_with_a_clear_error(
    tmp_path, fresh_dsn, embedder, site
):
    services, client = open_client(tmp_path, fresh_dsn, embedder, allow_private=False)
    try:
        with client:
            wid = client.post("/api/workspaces", json={"name": "guarded"}).json()["id"]
            refused = client.post(
                f"/api/workspaces/{wid}/sources", json={"kind": "site", "url": site.base + "/"}
            )
            assert refused.status_code == 400
            assert refused.json()["error"]["code"] == "address_refused"
            assert client.get(f"/api/workspaces/{wid}/documents").json()["documents"] == []
            assert client.get(f"/api/workspaces/{wid}/sources").json()["sources"] == []
    finally:
        services.close()


def test_a_site_without_url_is_a_bad_request(private_ok):
    client, wid = private_ok
    response = client.post(f"/api/workspaces/{wid}/sources", json={"kind": "site"})
    assert response.status_code == 400 and "url" in response.json()["error"]["message"]
