"""The upload endpoints of the api service on a real catalogue and queue, with no worker.

Nothing runs the jobs here, so uploads stay queued (tests/test_upload_widget.py adds a real
worker; tests/test_hub_uploads.py a real hub). See tests/upload_service.py for the sign-in.
"""

from __future__ import annotations

import hashlib
import json
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

from aphos_lib.jobs.storage import uploads_dir
from aphos_lib.uploads.cleanup import remove_abandoned

from conftest import fixture_path, make_home, schemathesis_env

pytestmark = pytest.mark.catalogue

MAX_BYTES = 20 * 2**20


@pytest.fixture(scope="module")
def service(embedded_server) -> Iterator[dict]:
    home = make_home("aphos-uploads-")
    catalogue, dbname = embedded_server.clone()
    try:
        with (
            environment(
                APHOS_HOME=str(home), APHOS_UPLOADS_DIR=None, APHOS_UPLOAD_MAX_IN_FLIGHT="2"
            ),
            serve_api(catalogue, home) as url,
        ):
            yield {"url": url, "catalogue": catalogue, "home": home}
    finally:
        catalogue.dispose()
        embedded_server.drop(dbname)
        shutil.rmtree(home, ignore_errors=True)


def send(service, who: str | None, files: list[tuple[str, bytes]], **kw) -> httpx.Response:
    return httpx.post(
        service["url"] + BASE,
        files=[("files", f) for f in files],
        headers=headers(who) if who else {},
        timeout=120,
        **kw,
    )


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
    assert (
        httpx.get(service["url"] + BASE, headers={"Authorization": "token nope"}).status_code == 401
    )
    r = send(service, "nameless", [("correct_file.csv", content)])
    assert r.status_code == 409 and "choose a username first" in r.json()["message"]
    assert count(service, "SELECT count(*) FROM upload") == 0 and stored_files(service) == []


def test_an_upload_is_stored_under_server_names_and_queued(service):
    content = fixture_path("correct_file.csv").read_bytes()
    r = send(service, "alice", [("GK Cep 2021-11-06 (V).csv", content), ("few.csv", b"not sips")])
    assert r.status_code == 202, r.text
    body = r.json()
    upload_id = body["upload_id"]
    assert body["status_url"] == f"{BASE}/{upload_id}"
    assert [(f["position"], f["filename"], f["size_bytes"]) for f in body["files"]] == [
        (0, "GK Cep 2021-11-06 (V).csv", len(content)),
        (1, "few.csv", 8),
    ]
    assert body["files"][0]["sha256"] == hashlib.sha256(content).hexdigest()
    # The client's name is metadata: the bytes lie under the uploads folder, named by the server.
    with service["catalogue"].connect("writer") as conn:
        names = conn.execute(
            "SELECT filename, stored_name FROM upload_input WHERE upload_id = %s ORDER BY position",
            (upload_id,),
        ).fetchall()
        job = conn.execute(
            "SELECT id, state, files_total, observer_id FROM ingest_job WHERE upload_id = %s",
            (upload_id,),
        ).fetchone()
    assert [n[0] for n in names] == ["GK Cep 2021-11-06 (V).csv", "few.csv"]
    for _, stored in names:
        assert stored.startswith(f"{upload_id}/") and stored.endswith(".csv")
    root = service["home"] / "uploads"
    assert (root / names[0][1]).read_bytes() == content
    assert job[0] == body["job_id"] and job[1:3] == ("queued", 2)
    status = httpx.get(service["url"] + body["status_url"], headers=headers("alice")).json()
    assert status["state"] == "queued" and status["client"] == "api"
    assert status["job"]["state"] == "queued"
    assert (status["job"]["files_done"], status["job"]["files_total"]) == (0, 2)
    assert [(f["filename"], f["status"]) for f in status["files"]] == [
        ("GK Cep 2021-11-06 (V).csv", None),
        ("few.csv", None),
    ]
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
    r = httpx.post(
        service["url"] + BASE,
        data={"client": "notebook"},
        files={"other": b"x"},
        headers=headers("alice"),
    )
    assert r.status_code == 400 and "no files" in r.json()["message"]


def test_a_cookie_session_must_echo_the_xsrf_token(service):
    url = service["url"] + BASE
    cookies = {"stand-in-cookie": "tok-alice", "_xsrf": "abc"}
    r = httpx.post(url, files={"files": ("a.csv", b"x")}, cookies=cookies)
    assert r.status_code == 403 and "XSRF" in r.json()["message"]
    assert httpx.get(url, cookies=cookies).status_code == 200  # reading needs no token


def test_the_endpoints_are_in_the_openapi_document(service):
    schema = httpx.get(service["url"] + "/services/api/api/openapi.json").json()
    assert {BASE, f"{BASE}/{{upload_id}}", f"{BASE}/{{upload_id}}/report"} <= set(schema["paths"])
    post = schema["paths"][BASE]["post"]
    assert "multipart/form-data" in post["requestBody"]["content"]
    assert {"202", "401", "413", "429"} <= set(post["responses"])
    assert uploads_dir() == service["home"] / "uploads"


def test_the_owner_sees_the_upload_log_others_only_counts(service):
    r = send(service, "alice", [("night.csv", b"x"), ("secret-y.csv", b"y")])
    assert r.status_code == 202
    upload_id = r.json()["upload_id"]
    page = service["url"] + "/services/api/observers/alice"
    html = {"Accept": "text/html"}
    own = httpx.get(page, headers={**html, **headers("alice")})
    assert own.status_code == 200 and "id='upload-log'" in own.text
    # The owner's log lists the upload, still queued, and the names of its files waiting.
    assert f"id='upload-{upload_id}'" in own.text and "secret-y.csv" in own.text
    assert "state-queued'>queued</span>" in own.text and "2 files (0 of 2 done)" in own.text
    public = httpx.get(page, headers=html)
    assert "id='upload-log'" not in public.text and "id='upload-totals'" in public.text
    assert "secret-y.csv" not in public.text
    other = httpx.get(page, headers={**html, **headers("bob")})
    assert "id='upload-log'" not in other.text and "secret-y.csv" not in other.text
    totals = httpx.get(page).json()["totals"]
    uploads = count(
        service,
        "SELECT count(*) FROM upload u JOIN observer o ON o.id ="
        " u.observer_id WHERE o.username = 'Alice'",
    )
    assert totals == {
        "uploads": uploads,
        "files": 0,
        "stored": 0,
        "duplicates": 0,
        "rejected": 0,
        "fluxes": 0,
    }


def test_a_body_declared_far_too_large_is_refused_unread(service):
    host, port = service["url"].removeprefix("http://").split(":")
    request = (
        f"POST {BASE} HTTP/1.1\r\nHost: {host}\r\nAuthorization: token tok-alice\r\n"
        "Content-Type: multipart/form-data; boundary=x\r\n"
        f"Content-Length: {10**12}\r\n\r\n"
    )
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
        "http://127.0.0.1:8003/services/api/"
    )
    hub = {"JUPYTERHUB_PUBLIC_HUB_URL": "https://aphos.example/hub/"}
    assert api_url_from_environment(hub) == "https://aphos.example/services/api/"
    with pytest.raises(UploadError, match="APHOS_API_URL"):
        api_url_from_environment({"JUPYTERHUB_API_URL": "http://127.0.0.1:8081/hub/api"})


@pytest.mark.slow
def test_schemathesis_over_the_whole_service_finds_no_server_error(service, tmp_path):
    """The api service's own document (REST API and uploads), called as a signed-in observer."""
    schemathesis = Path(sys.executable).parent / "st"
    done = subprocess.run(
        [
            str(schemathesis),
            "run",
            service["url"] + "/services/api/api/openapi.json",
            "--url",
            service["url"],
            "--header",
            "Authorization: token tok-dan",
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance,"
            "content_type_conformance,strict_json",
            "--max-examples",
            "10",
            "--seed",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
        env=schemathesis_env(),
    )
    assert done.returncode == 0, done.stdout[-4000:]


def multipart(filename: bytes, content: bytes) -> tuple[bytes, dict[str, str]]:
    """A one-file multipart body with ``filename`` sent byte for byte (no client encoding)."""
    disposition = b'Content-Disposition: form-data; name="files"; filename="' + filename + b'"'
    body = (
        b"--B0undary\r\n"
        + disposition
        + b"\r\nContent-Type: text/csv\r\n\r\n"
        + content
        + b"\r\n--B0undary--\r\n"
    )
    return body, {"Content-Type": "multipart/form-data; boundary=B0undary", **headers("erin")}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (b"a" * 5000 + b".csv", "file name is too long (at most 255 characters)"),
        (b"a" * 300 + b".csv", "is 304 characters long (at most 255)"),
        (b"night\x00.csv", "holds a control character"),
        (b"\x1b[31mred.csv", "holds a control character"),
        (b"night\t.csv", "holds a control character"),
        (b"night\r.csv", "multipart/form-data body is malformed"),
        (b"night/01.csv", "holds a path separator"),
        (b"..\\..\\night.csv", "holds a path separator"),
        (b"../../x", "holds a path separator"),
        (b"..", "is not a file's name"),
    ],
)
def test_odd_file_names_are_refused_400_storing_nothing(service, name, message):
    before = (stored_files(service), count(service, "SELECT count(*) FROM upload_input"))
    body, sent_headers = multipart(name, b"x;y\n")
    r = httpx.post(service["url"] + BASE, content=body, headers=sent_headers, timeout=60)
    assert r.status_code == 400 and message in r.json()["message"], r.text
    assert (stored_files(service), count(service, "SELECT count(*) FROM upload_input")) == before


def test_an_interrupted_upload_leaves_no_file_behind(service):
    before = stored_files(service)
    host, port = service["url"].removeprefix("http://").split(":")
    body, sent_headers = multipart(b"night.csv", b"x" * 2**20)
    head = "".join(f"{k}: {v}\r\n" for k, v in sent_headers.items())
    request = (
        f"POST {BASE} HTTP/1.1\r\nHost: {host}\r\n{head}Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(request + body[: len(body) // 2])
        deadline = time.monotonic() + 10
        while (partial := set(stored_files(service)) - set(before)) == set():
            assert time.monotonic() < deadline, "the upload never started writing"
            time.sleep(0.02)
    # The client is gone: the half-written file goes at once, not at the next restart.
    # The file goes first, then its folder: wait for both (a look between the two is not a leak).
    closed = time.monotonic()
    while stored_files(service) != before or any(p.parent.exists() for p in partial):
        assert time.monotonic() - closed < 2, f"{partial} or its folder still on disk"
        time.sleep(0.02)


@pytest.mark.serial
def test_a_stalled_upload_answers_408_and_leaves_no_file_behind(service):
    uploads_before = count(service, "SELECT count(*) FROM upload")
    before = stored_files(service)
    # A second api on the same catalogue and folder, with a short idle timeout.
    with (
        environment(APHOS_UPLOAD_IDLE_TIMEOUT="2"),
        serve_api(service["catalogue"], service["home"]) as url,
    ):
        host, port = url.removeprefix("http://").split(":")
        body, sent_headers = multipart(b"night.csv", b"x" * 2**20)
        head = "".join(f"{k}: {v}\r\n" for k, v in sent_headers.items())
        request = (
            f"POST {BASE} HTTP/1.1\r\nHost: {host}\r\n{head}Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        with socket.create_connection((host, int(port)), timeout=15) as s:
            s.sendall(request + body[: len(body) // 2])
            sent = time.monotonic()
            deadline = sent + 10
            while (partial := set(stored_files(service)) - set(before)) == set():
                assert time.monotonic() < deadline, "the upload never started writing"
                time.sleep(0.02)
            # The client stalls, connected: the answer comes, then the server closes.
            reply = b""
            while chunk := s.recv(65536):
                reply += chunk
            waited = time.monotonic() - sent
            on_disk = stored_files(service)
        assert 1.9 < waited < 6, waited
        status, _, payload = reply.decode().partition("\r\n\r\n")
        assert status.startswith("HTTP/1.1 408"), status
        error = json.loads(payload)
        assert set(error) == {"id", "message"}
        assert error["message"] == "the upload stalled: no data for 2 s; nothing was stored"
        # Removed before the answer was sent, folder included.
        assert on_disk == before and all(not p.parent.exists() for p in partial)
        assert count(service, "SELECT count(*) FROM upload") == uploads_before
        whole = [("files", ("whole.csv", b"x" * 2**20))]
        r = httpx.post(url + BASE, files=whole, headers=headers("erin"), timeout=60)
        assert r.status_code == 202, r.text
    assert count(service, "SELECT count(*) FROM upload") == uploads_before + 1


def test_user_strings_are_escaped_in_every_page_with_a_csp(service):
    url, script = service["url"], "<script>alert('profile')</script>"
    r = httpx.put(
        url + "/services/api/observers/Erin", json={"description": script}, headers=headers("erin")
    )
    assert r.status_code == 200, r.text
    lines = fixture_path("few_lines_incorrect.csv").read_bytes().split(b"\n")
    header = next(i for i, line in enumerate(lines) if line.startswith(b"Name;"))
    row = lines[header + 3].split(b";")
    row[1] = b"<script>alert('row')</script>"  # the X column: the reason quotes the value
    lines[header + 3] = b";".join(row)
    evil = "<img src=x onerror=alert(1)>.csv"
    r = send(service, "erin", [(evil, b"\n".join(lines))])
    assert r.status_code == 202, r.text
    upload_id = r.json()["upload_id"]
    write_report(service, upload_id)

    html = {"Accept": "text/html", **headers("erin")}
    pages = {
        "profile": httpx.get(url + "/services/api/observers/Erin", headers=html),
        "form": httpx.get(url + "/services/api/profile", headers=html),
        "report": httpx.get(f"{url}{BASE}/{upload_id}/report?format=html", headers=html),
    }
    for what, page in pages.items():
        assert page.status_code == 200, what
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "object-src 'none'" in policy, what
        assert page.headers["x-content-type-options"] == "nosniff"
        assert "<script>alert(" not in page.text and "<img src=x" not in page.text, what
    assert "&lt;script&gt;alert(&#x27;profile&#x27;)&lt;/script&gt;" in pages["profile"].text
    assert "&lt;script&gt;alert(&#x27;profile&#x27;)&lt;/script&gt;" in pages["form"].text
    assert "&lt;img src=x onerror=alert(1)&gt;.csv" in pages["report"].text
    assert "X: \"&lt;script&gt;alert('row')&lt;/script&gt;\" is not" in pages["report"].text
    docs = httpx.get(url + "/services/api/api/docs")
    assert "'sha256-" in docs.headers["content-security-policy"]


def write_report(service, upload_id: int) -> None:
    """Store the upload's file and record a report as the job notebook shows it; its HTML.

    The outcome table is made by the same call as in ``aphos_lib/jobs/ingest_sips.ipynb``.
    """
    import nbformat

    from aphos_lib.ingest import ingest_file
    from aphos_lib.jobs.storage import stored_path
    from aphos_lib.jobs.upload import outcome_table, outcomes

    with service["catalogue"].connect("writer") as conn:
        observer, name, stored = conn.execute(
            "SELECT u.observer_id, i.filename, i.stored_name FROM upload u JOIN upload_input i"
            " ON i.upload_id = u.id WHERE u.id = %s",
            (upload_id,),
        ).fetchone()
        conn.commit()
        ingest_file(
            conn,
            stored_path(stored),
            observer_id=observer,
            upload_id=upload_id,
            position=0,
            name=name,
        )
        table = outcome_table(outcomes(conn, upload_id)).to_html()
        cell = nbformat.v4.new_code_cell(
            "outcome_table(outcomes)",
            outputs=[
                nbformat.v4.new_output("execute_result", {"text/html": table}, execution_count=1)
            ],
        )
        relative = f"reports/{upload_id}/job.ipynb"
        path = service["home"] / relative
        path.parent.mkdir(parents=True)
        nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)
        conn.execute(
            "UPDATE ingest_job SET report_path = %s WHERE upload_id = %s", (relative, upload_id)
        )
        conn.commit()
