"""The upload endpoints of the api service, served by uvicorn on a real catalogue.

Who is signed in comes from a stand-in for the hub's token check (a fixed table of tokens);
everything else is real: the service's application, HTTP, the catalogue and the job queue.
tests/test_hub_uploads.py runs the same endpoints behind a real hub with its worker.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from aphos_lib.hub.api import create_app
from aphos_lib.hub.profiles import save_profile
from aphos_lib.hub.service_auth import ServiceAuth
from aphos_lib.uploads.storage import uploads_dir

from conftest import fixture_path, free_port, make_home

pytestmark = pytest.mark.catalogue

BASE = "/services/api/api/v2/uploads"
TOKENS = {"tok-alice": "google-1", "tok-bob": "google-2", "tok-nameless": "google-3",
          "tok-carol": "google-4", "tok-dan": "google-5"}  # fmt: skip
MAX_BYTES = 20 * 2**20


class StandInHub:
    """What ServiceAuth asks of jupyterhub's HubOAuth, for a fixed table of tokens."""

    cookie_name = "stand-in-cookie"
    access_scopes = {"access:services!service=api"}

    async def user_for_token(self, token, use_cache=True, *, sync=True):
        name = TOKENS.get(token)
        return (
            {"kind": "user", "name": name, "scopes": ["access:services!service=api"]}
            if name
            else None
        )

    def check_scopes(self, required, model):
        return set(required) & set(model["scopes"])


@pytest.fixture(scope="module")
def service(embedded_server) -> Iterator[dict]:
    import uvicorn

    home = make_home("aphos-uploads-")
    catalogue, dbname = embedded_server.clone()
    saved = {k: os.environ.get(k) for k in ("APHOS_HOME", "APHOS_UPLOADS_DIR",
                                             "APHOS_UPLOAD_MAX_IN_FLIGHT")}  # fmt: skip
    os.environ.update({"APHOS_HOME": str(home), "APHOS_UPLOAD_MAX_IN_FLIGHT": "2"})
    os.environ.pop("APHOS_UPLOADS_DIR", None)
    server = None
    try:
        with catalogue.connect("writer") as conn:
            for hub_user, username in [("google-1", "Alice"), ("google-2", "Bob"),
                                       ("google-4", "Carol"), ("google-5", "Dan")]:  # fmt: skip
                save_profile(conn, hub_user, username)
        auth = ServiceAuth("/services/api/", hub_auth=StandInHub())
        app = create_app(catalogue, auth, published_dir=home / "published")
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(),
                                               log_level="warning"))  # fmt: skip
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "the api service did not start"
            time.sleep(0.05)
        yield {"url": f"http://127.0.0.1:{server.config.port}", "catalogue": catalogue,
               "home": home}  # fmt: skip
    finally:
        if server is not None:
            server.should_exit = True
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
        catalogue.dispose()
        embedded_server.drop(dbname)
        shutil.rmtree(home, ignore_errors=True)


def headers(who: str) -> dict:
    return {"Authorization": f"token tok-{who}"}


def send(service, who: str | None, files: list[tuple[str, bytes]], **kw) -> httpx.Response:
    return httpx.post(service["url"] + BASE, files=[("files", f) for f in files],
                      headers=headers(who) if who else {}, timeout=120, **kw)  # fmt: skip


def stored_files(service) -> list:
    root = service["home"] / "uploads"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def count(service, sql: str, *args) -> int:
    with service["catalogue"].connect("writer") as conn:
        return conn.execute(sql, args).fetchone()[0]


def test_anonymous_and_nameless_observers_cannot_upload(service):
    content = fixture_path("correct_file.csv").read_bytes()
    r = send(service, None, [("correct_file.csv", content)])
    assert r.status_code == 401 and set(r.json()) == {"id", "message"}
    assert httpx.get(service["url"] + BASE).status_code == 401
    assert httpx.get(service["url"] + BASE, headers={"Authorization": "token nope"}).status_code \
        == 401  # fmt: skip
    r = send(service, "nameless", [("correct_file.csv", content)])
    assert r.status_code == 409 and "choose a username first" in r.json()["message"]
    assert count(service, "SELECT count(*) FROM upload") == 0 and stored_files(service) == []


def test_an_upload_is_stored_under_server_names_and_queued(service):
    content = fixture_path("correct_file.csv").read_bytes()
    r = send(service, "alice", [("../../x", content), ("few.csv", b"not sips")])
    assert r.status_code == 202, r.text
    body = r.json()
    upload_id = body["upload_id"]
    assert body["status_url"] == f"{BASE}/{upload_id}"
    assert [(f["position"], f["filename"], f["size_bytes"]) for f in body["files"]] == [
        (0, "../../x", len(content)), (1, "few.csv", 8)]  # fmt: skip
    assert body["files"][0]["sha256"] == hashlib.sha256(content).hexdigest()
    # The client's name is metadata: the bytes lie under the uploads folder, named by the server.
    with service["catalogue"].connect("writer") as conn:
        names = conn.execute("SELECT filename, stored_name FROM upload_input WHERE upload_id = %s"
                             " ORDER BY position", (upload_id,)).fetchall()  # fmt: skip
        job = conn.execute("SELECT id, state, files_total, observer_id FROM ingest_job"
                           " WHERE upload_id = %s", (upload_id,)).fetchone()  # fmt: skip
    assert [n[0] for n in names] == ["../../x", "few.csv"]
    for _, stored in names:
        assert stored.startswith(f"{upload_id}/") and stored.endswith(".csv")
    root = service["home"] / "uploads"
    assert (root / names[0][1]).read_bytes() == content
    assert not (service["home"].parent / "x").exists() and not (root.parent / "x").exists()
    assert job[0] == body["job_id"] and job[1:3] == ("queued", 2)
    status = httpx.get(service["url"] + body["status_url"], headers=headers("alice")).json()
    assert status["state"] == "queued" and status["client"] == "api"
    assert status["job"]["state"] == "queued"
    assert (status["job"]["files_done"], status["job"]["files_total"]) == (0, 2)
    assert [(f["filename"], f["status"]) for f in status["files"]] == [
        ("../../x", None), ("few.csv", None)]  # fmt: skip
    listing = httpx.get(service["url"] + BASE, headers=headers("alice")).json()
    assert listing["total"] == 1 and listing["uploads"][0]["id"] == upload_id
    assert listing["uploads"][0]["files_total"] == 2


def test_another_observers_upload_answers_404_like_a_missing_one(service):
    r = send(service, "dan", [("a.csv", b"x")])
    assert r.status_code == 202, r.text
    mine = r.json()["status_url"]
    assert httpx.get(service["url"] + mine, headers=headers("dan")).status_code == 200
    for path in (mine, mine + "/report", f"{BASE}/999999", f"{BASE}/999999/report"):
        r = httpx.get(service["url"] + path, headers=headers("bob"))
        assert r.status_code == 404 and set(r.json()) == {"id", "message"}, path
    other = httpx.get(service["url"] + BASE, headers=headers("bob")).json()
    assert other["total"] == 0 and other["uploads"] == []


def test_a_file_over_20_mb_is_refused_413_storing_nothing(service):
    before = (stored_files(service), count(service, "SELECT count(*) FROM upload"))
    big = b"x" * (MAX_BYTES + 2**20)  # 21 MB
    r = send(service, "bob", [("small.csv", b"ok"), ("big.csv", big)])
    assert r.status_code == 413 and "20 MB" in r.json()["message"]
    assert (stored_files(service), count(service, "SELECT count(*) FROM upload")) == before
    exactly = send(service, "bob", [("limit.csv", b"y" * MAX_BYTES)])
    assert exactly.status_code == 202, exactly.text


def test_too_many_jobs_in_flight_answers_429(service):
    for _ in range(2):  # the limit is 2 here; nothing runs the jobs, so they stay queued
        assert send(service, "carol", [("a.csv", b"x")]).status_code == 202
    before = (stored_files(service), count(service, "SELECT count(*) FROM upload"))
    r = send(service, "carol", [("a.csv", b"x")])
    assert r.status_code == 429 and "at most 2" in r.json()["message"]
    assert (stored_files(service), count(service, "SELECT count(*) FROM upload")) == before


def test_not_a_multipart_upload_answers_400(service):
    r = httpx.post(service["url"] + BASE, content=b"hello", headers=headers("alice"))
    assert r.status_code == 400 and "multipart/form-data" in r.json()["message"]
    r = httpx.post(service["url"] + BASE, data={"client": "notebook"}, files={"other": b"x"},
                   headers=headers("alice"))  # fmt: skip
    assert r.status_code == 400 and "no files" in r.json()["message"]


def test_a_cookie_session_must_echo_the_xsrf_token(service):
    url = service["url"] + BASE
    cookies = {"stand-in-cookie": "tok-alice", "_xsrf": "abc"}
    r = httpx.post(url, files={"files": ("a.csv", b"x")}, cookies=cookies)
    assert r.status_code == 403 and "XSRF" in r.json()["message"]
    assert httpx.get(url, cookies=cookies).status_code == 200  # reading needs no token


def test_the_endpoints_are_in_the_openapi_document(service):
    schema = httpx.get(service["url"] + "/services/api/api/openapi.json").json()
    assert {BASE, f"{BASE}/{{upload_id}}", f"{BASE}/{{upload_id}}/report"} <= set(
        schema["paths"])  # fmt: skip
    post = schema["paths"][BASE]["post"]
    assert "multipart/form-data" in post["requestBody"]["content"]
    assert {"202", "401", "413", "429"} <= set(post["responses"])
    assert uploads_dir() == service["home"] / "uploads"
