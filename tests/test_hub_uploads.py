"""Uploads through the real hub: sign-in by the stand-in Google, the api service behind the
proxy, the hub's worker service (its worker processes run the job notebooks) storing into a
real catalogue.
"""

from __future__ import annotations

import ast
import shutil
import time
from collections.abc import Iterator

import httpx
import pytest

from aphos_lib.uploads.client import UploadClient, UploadError

from conftest import FIXTURE_OUTCOMES, FIXTURES, make_home
from hub_harness import (
    GoogleStandIn,
    RunningHub,
    execute,
    free_port_block,
    sign_in_with_token,
)

pytestmark = [pytest.mark.hub, pytest.mark.slow]

ACCOUNTS = {
    "alice": {"id": "2001", "email": "alice@example.org", "verified_email": True},
    "bob": {"id": "2002", "email": "bob@example.org", "verified_email": True},
}
EXPECTED = FIXTURE_OUTCOMES


@pytest.fixture(scope="module")
def platform(embedded_server) -> Iterator[dict]:
    home = make_home("aphos-hub-uploads-")
    catalogue, dbname = embedded_server.clone()
    standin = GoogleStandIn(ACCOUNTS)
    hub = None
    try:
        db = {
            "APHOS_DATABASE_URL": catalogue.conninfo("owner"),
            "APHOS_DATABASE_URL_WRITER": catalogue.conninfo("writer"),
            "APHOS_DATABASE_URL_READER": catalogue.conninfo("reader"),
        }
        env = {
            **standin.environment(),
            **db,
            "APHOS_HOME": str(home),
            "APHOS_PORT": str(free_port_block()),
            "APHOS_GOOGLE_ALLOWED_EMAILS": "alice@example.org,bob@example.org",
        }
        hub = RunningHub(env, home / "hub.log")
        hub.wait_ready()
        yield {"url": hub.url, "hub": hub, "catalogue": catalogue, "home": home}
    finally:
        if hub is not None:
            hub.interrupt()
        standin.close()
        catalogue.dispose()
        embedded_server.drop(dbname)
        shutil.rmtree(home, ignore_errors=True)


def signed_in(platform, account: str, username: str) -> tuple[httpx.Client, str]:
    """Sign in (choosing a username the first time); the client and a hub token."""
    client, token = sign_in_with_token(
        platform["url"], account, ACCOUNTS[account]["id"], username, "uploads"
    )
    return client, token


def test_uploads_through_the_hub_end_with_the_fixture_outcomes(platform):
    api = platform["url"] + "/services/api/"
    r = httpx.post(api + "api/v2/uploads", files={"files": ("a.csv", b"x")})
    assert r.status_code == 401 and set(r.json()) == {"id", "message"}
    browser, token = signed_in(platform, "alice", "Alice")
    alice = UploadClient(api, token)
    sent = alice.send(sorted(FIXTURES.glob("*.csv")))
    status = sent.wait(timeout=300)
    assert status["job"]["state"] == "done", (status["job"], platform["hub"].tail())
    got = {
        f["filename"]: (
            f["status"],
            f["fluxes"],
            f["matched"],
            f["unmatched"],
            [r["line"] for r in f["rejected_rows"]],
        )
        for f in status["files"]
    }
    assert got == EXPECTED
    assert (status["job"]["files_done"], status["job"]["files_total"]) == (6, 6)
    table = sent.outcomes()
    assert dict(zip(table["filename"], table["fluxes"], strict=True)) == {
        name: expected[1] for name, expected in EXPECTED.items()
    }
    # A re-upload stores nothing new.
    again = alice.send([FIXTURES / "correct_file.csv"]).wait(timeout=300)
    assert [(f["status"], f["fluxes"]) for f in again["files"]] == [("duplicate", 0)]
    # A 21 MB file through the proxy is refused whole, nothing recorded.
    before = alice.uploads()["total"]
    big = httpx.post(
        api + "api/v2/uploads",
        files={"files": ("big.csv", b"x" * (21 * 2**20))},
        headers={"Authorization": f"token {token}"},
        timeout=120,
    )
    assert big.status_code == 413 and set(big.json()) == {"id", "message"}
    assert alice.uploads()["total"] == before
    # Bob sees none of it: Alice's upload answers him as a missing one does.
    _, bob_token = signed_in(platform, "bob", "Bob")
    with pytest.raises(UploadError) as refused:
        UploadClient(api, bob_token).status(sent.id)
    assert refused.value.status == 404
    assert UploadClient(api, bob_token).uploads()["total"] == 0
    # Alice's browser (hub cookie) reads her log and the report; a write needs the XSRF echo.
    assert browser.get(f"/services/api/api/v2/uploads/{sent.id}").json()["id"] == sent.id
    report = browser.get(f"/services/api/api/v2/uploads/{sent.id}/report?format=html")
    assert report.status_code == 200 and "few_lines_incorrect.csv" in report.text
    r = browser.post("/services/api/api/v2/uploads", files={"files": ("a.csv", b"x")})
    assert r.status_code == 403
    page = browser.get("/services/api/observers/Alice", headers={"Accept": "text/html"})
    assert "id='upload-log'" in page.text and "class='upload-report'" in page.text


KERNEL_CODE = """
import aphos_lib
sent = aphos_lib.upload([{path!r}], wait=True, timeout=240)
table = sent.outcomes()
print("OUTCOME", table[["filename", "status", "fluxes", "matched", "unmatched"]]
      .to_dict("records"))
"""


def test_a_workspace_notebook_uploads_with_the_kernels_own_token(platform):
    url = platform["url"]
    _, token = signed_in(platform, "bob", "Bob")
    name, headers = "google-2002", {"Authorization": f"token {token}"}
    r = httpx.post(f"{url}/hub/api/users/{name}/server", headers=headers, timeout=60)
    assert r.status_code in (201, 202), r.text
    deadline = time.monotonic() + 120
    while (
        not httpx.get(f"{url}/hub/api/users/{name}", headers=headers)
        .json()["servers"]
        .get("", {})
        .get("ready")
    ):
        assert time.monotonic() < deadline, platform["hub"].tail()
        time.sleep(1)
    try:
        out = execute(
            url,
            name,
            token,
            KERNEL_CODE.format(path=str(FIXTURES / "correct_file.csv")),
            timeout=300,
        )
        line = next((x for x in out.splitlines() if x.startswith("OUTCOME ")), None)
        assert line is not None, out
        assert ast.literal_eval(line.removeprefix("OUTCOME ")) == [
            {
                "filename": "correct_file.csv",
                "status": "stored",
                "fluxes": 2671,
                "matched": 1987,
                "unmatched": 684,
            }
        ]
        log = UploadClient(platform["url"] + "/services/api/", token).uploads()
        assert log["total"] == 1 and log["uploads"][0]["client"] == "notebook"
        # The upload page runs in the observer's own server (JupyterLab's Voila), where the
        # kernel holds their token; home and profile pages link to it through the api
        # service's entry (/services/api/upload), which asks for a username first.
        page = httpx.get(
            f"{url}/user/{name}/voila/render/dashboards/upload.ipynb", headers=headers, timeout=120
        )
        assert page.status_code == 200, page.text[-2000:]
        assert "Upload photometry" in page.text and "widget-view+json" in page.text
        assert "Traceback" not in page.text and "There was an error" not in page.text
    finally:
        httpx.delete(f"{url}/hub/api/users/{name}/server", headers=headers, timeout=60)
