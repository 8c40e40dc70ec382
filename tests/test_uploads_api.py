"""The upload endpoints of the api service on a real catalogue and queue, with no worker.

Nothing runs the jobs here, so uploads stay queued (tests/test_upload_widget.py adds a real
worker; tests/test_hub_uploads.py a real hub). See tests/upload_service.py for the sign-in.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from upload_service import BASE, environment, headers, serve_api

from aphos_lib.uploads.cleanup import remove_abandoned
from aphos_lib.uploads.storage import uploads_dir

from conftest import fixture_path, make_home

pytestmark = pytest.mark.catalogue

MAX_BYTES = 20 * 2**20


@pytest.fixture(scope="module")
def service(embedded_server) -> Iterator[dict]:
    home = make_home("aphos-uploads-")
    catalogue, dbname = embedded_server.clone()
    try:
        with (
            environment(APHOS_HOME=str(home), APHOS_UPLOADS_DIR=None,
                        APHOS_UPLOAD_MAX_IN_FLIGHT="2"),
            serve_api(catalogue, home) as url,
        ):  # fmt: skip
            yield {"url": url, "catalogue": catalogue, "home": home}
    finally:
        catalogue.dispose()
        embedded_server.drop(dbname)
        shutil.rmtree(home, ignore_errors=True)


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


def test_the_owner_sees_the_upload_log_others_only_counts(service):
    r = send(service, "alice", [("night.csv", b"x"), ("../../y.csv", b"y")])
    assert r.status_code == 202
    upload_id = r.json()["upload_id"]
    page = service["url"] + "/services/api/observers/alice"
    html = {"Accept": "text/html"}
    own = httpx.get(page, headers={**html, **headers("alice")})
    assert own.status_code == 200 and "id='upload-log'" in own.text
    assert f"<td>{upload_id}</td>" in own.text and "../../y.csv" not in own.text
    assert "<td>queued</td><td>0 / 2</td>" in own.text
    public = httpx.get(page, headers=html)
    assert "upload-log" not in public.text and "id='upload-totals'" in public.text
    other = httpx.get(page, headers={**html, **headers("bob")})
    assert "upload-log" not in other.text
    totals = httpx.get(page).json()["totals"]
    uploads = count(service, "SELECT count(*) FROM upload u JOIN observer o ON o.id ="
                             " u.observer_id WHERE o.username = 'Alice'")  # fmt: skip
    assert totals == {"uploads": uploads, "files": 0, "stored": 0, "duplicates": 0,
                      "rejected": 0, "fluxes": 0}  # fmt: skip


def test_a_body_declared_far_too_large_is_refused_unread(service):
    host, port = service["url"].removeprefix("http://").split(":")
    request = (f"POST {BASE} HTTP/1.1\r\nHost: {host}\r\nAuthorization: token tok-alice\r\n"
               "Content-Type: multipart/form-data; boundary=x\r\n"
               f"Content-Length: {10**12}\r\n\r\n")  # fmt: skip
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(request.encode())
        reply = b""
        while b"}" not in reply and (chunk := s.recv(65536)):
            reply += chunk
        reply = reply.decode()
    assert reply.startswith("HTTP/1.1 413") and "per upload" in reply


def test_abandoned_upload_folders_are_removed_once_old(service):
    root = service["home"] / "uploads"
    r = send(service, "dan", [("kept.csv", b"k")])
    kept = root / str(r.json()["upload_id"])
    abandoned, recent = root / "987654", root / "987655"
    for folder in (abandoned, recent):
        folder.mkdir(parents=True)
        (folder / "0123.csv").write_bytes(b"half a file")
    old = time.time() - 7200
    for folder in (abandoned, kept):
        os.utime(folder, (old, old))
    with service["catalogue"].connect("writer") as conn:
        assert remove_abandoned(conn) == ["987654"]
    assert not abandoned.exists() and recent.is_dir() and kept.is_dir()


def test_the_client_finds_the_api_service_from_a_workspaces_environment():
    from aphos_lib.uploads.client import UploadError, api_url_from_environment

    assert api_url_from_environment({"APHOS_API_URL": "http://127.0.0.1:8003/services/api"}) == (
        "http://127.0.0.1:8003/services/api/")  # fmt: skip
    hub = {"JUPYTERHUB_PUBLIC_HUB_URL": "https://aphos.example/hub/"}
    assert api_url_from_environment(hub) == "https://aphos.example/services/api/"
    with pytest.raises(UploadError, match="APHOS_API_URL"):
        api_url_from_environment({"JUPYTERHUB_API_URL": "http://127.0.0.1:8081/hub/api"})


@pytest.mark.slow
def test_schemathesis_over_the_whole_service_finds_no_server_error(service, tmp_path):
    """The api service's own document (REST API and uploads), called as a signed-in observer."""
    schemathesis = Path(sys.executable).parent / "st"
    done = subprocess.run(
        [str(schemathesis), "run", service["url"] + "/services/api/api/openapi.json",
         "--url", service["url"], "--header", "Authorization: token tok-dan",
         "--checks", "not_a_server_error,response_schema_conformance,status_code_conformance,"
         "content_type_conformance", "--max-examples", "10", "--seed", "1"],
        capture_output=True, text=True, timeout=900, cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:]
