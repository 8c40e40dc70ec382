"""Uploads end to end without a hub: the notebook client and the widget against the api
service, with a real worker (papermill job notebooks) storing into a real catalogue.

Expected outcomes are those of tests/data/sips/README.md (as in
tests/test_ingest.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from upload_service import api_and_worker

from aphos_lib.uploads.client import UploadClient
from aphos_lib.widgets.upload import UploadWidget

from conftest import FIXTURE_OUTCOMES, FIXTURES

pytestmark = [pytest.mark.catalogue, pytest.mark.slow]

EXPECTED = FIXTURE_OUTCOMES


@pytest.fixture(scope="module")
def platform(embedded_server) -> Iterator[dict]:
    with api_and_worker(embedded_server, "aphos-upload-widget-") as (url, catalogue, home):
        yield {"url": url, "catalogue": catalogue, "home": home}


def client(platform, who: str = "alice") -> UploadClient:
    return UploadClient(platform["url"] + "/services/api/", f"tok-{who}")


def worker_log(platform) -> str:
    return (platform["home"] / "worker.log").read_text(errors="replace")[-4000:]


def flux_total(platform) -> int:
    with platform["catalogue"].connect("reader") as conn:
        return conn.execute("SELECT count(*) FROM flux").fetchone()[0]


def test_a_batch_of_the_fixture_files_ends_with_their_exact_outcomes(platform):
    sent = client(platform).send(sorted(FIXTURES.glob("*.csv")))
    status = sent.wait(timeout=300)
    assert status["job"]["state"] == "done", (status["job"], worker_log(platform))
    assert (status["job"]["files_done"], status["job"]["files_total"]) == (6, 6)
    assert status["state"] == "partial" and status["client"] == "notebook"
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
    errors = {f["filename"]: f["error"] for f in status["files"] if f["error"]}
    assert set(errors) == {"incorrect_missing_initial_info.csv", "scheme_missing.csv"}
    few = next(f for f in status["files"] if f["filename"] == "few_lines_incorrect.csv")
    assert all(r["reason"] for r in few["rejected_rows"])
    table = sent.outcomes()
    assert list(table["fluxes"]) == [EXPECTED[n][1] for n in table["filename"]]
    assert list(table.index) == list(range(6)) and not table["duplicate"].any()
    assert flux_total(platform) == 2671 + 1 + 178 + 66
    # The job's executed notebook is its report, for its owner only.
    report = json.loads(client(platform).report(sent.id))
    assert report["metadata"]["kernelspec"]["name"] == "python3" and report["cells"]
    assert "few_lines_incorrect.csv" in json.dumps(report)
    html = client(platform).report(sent.id, format="html").decode()
    assert "<html" in html and "few_lines_incorrect.csv" in html
    log = client(platform).uploads()
    entry = next(u for u in log["uploads"] if u["id"] == sent.id)
    assert (entry["stored"], entry["duplicates"], entry["rejected"], entry["fluxes"]) == (
        4,
        0,
        2,
        2671 + 1 + 178 + 66,
    )
    assert entry["matched"] == 1987 + 1 + 178 + 66 and entry["rejected_rows"] == 2
    assert len(entry["messages"]) == 2 and entry["has_report"] is True


def test_a_re_upload_stores_nothing_new(platform):
    path = FIXTURES / "correct_file.csv"
    first = client(platform, "bob").send([path]).wait(timeout=300)
    assert [f["status"] for f in first["files"]] == ["stored"], first["job"]
    before = flux_total(platform)
    again = client(platform, "bob").send([path]).wait(timeout=300)
    assert [(f["status"], f["fluxes"]) for f in again["files"]] == [("duplicate", 0)]
    assert again["state"] == "stored" and flux_total(platform) == before


def test_the_widget_follows_an_upload_to_its_outcome_table(platform):
    widget = UploadWidget(client(platform, "carol"), interval=0.2)
    html = widget.sender.view.outputs[0]["data"]["text/html"]
    assert "aphos-upload-picker" in html and 'aphos-upload-send"\n   disabled>' in html
    files = [(p.name, p.read_bytes()) for p in sorted(FIXTURES.glob("*.csv"))]
    panel = widget.send(files)
    assert panel is not None and widget.uploads.children == (panel,)
    assert "you may close this page" in widget.message.value
    status = panel.wait(timeout=300)
    assert status["job"]["state"] == "done"
    assert (panel.progress.value, panel.progress.max) == (6, 6)
    assert panel.progress.description == "6 / 6" and panel.progress.bar_style == "success"
    html = panel.table.value
    assert html.count("<tr class='aphos-upload-file") == 6
    assert html.count("aphos-upload-rejected") == 2 and html.count("aphos-upload-stored") == 4
    assert "<td>2,671</td><td>1,987</td><td>684</td>" in html
    assert "line 32:" in html and "line 35:" in html
    assert "4 stored (2,916 fluxes), 2 rejected" in panel.state.value
    assert panel.report.layout.display is None
    assert f"/services/api/api/v2/uploads/{panel.upload.id}/report?format=html" in (
        panel.report.value
    )
    classes = {
        name: w._dom_classes
        for name, w in [
            ("panel", panel),
            ("progress", panel.progress),
            ("outcomes", panel.table),
            ("report", panel.report),
            ("state", panel.state),
        ]
    }
    assert all(f"aphos-upload-{name}" in c for name, c in classes.items()), classes


def test_the_widget_says_why_an_upload_was_refused(platform):
    widget = UploadWidget(client(platform, "nameless"))
    assert widget.send([("a.csv", b"x")]) is None
    assert "choose a username first" in widget.message.value and widget.uploads.children == ()


def test_an_upload_the_browser_sent_is_followed_from_the_bridge(platform):
    # What the page's script does after its POST: it writes the answer into the hidden Text.
    widget = UploadWidget(client(platform, "dan"), interval=0.2, api_url="/aphos/services/api/")
    html = widget.sender.view.outputs[0]["data"]["text/html"]
    assert 'data-api="/aphos/services/api/"' in html and "<script>" in html
    assert widget.sender.bridge.layout.display == "none"
    sent = client(platform, "dan").send([FIXTURES / "few_lines_incorrect.csv"], client="page")
    widget.sender.bridge.value = "not the script's message"
    assert widget.panels == []
    widget.sender.bridge.value = json.dumps(
        {"upload_id": sent.id, "job_id": sent.job_id, "files": 1}
    )
    assert len(widget.panels) == 1 and widget.panels[0].upload.id == sent.id
    status = widget.panels[0].wait(timeout=300)
    assert status["job"]["state"] == "done" and status["client"] == "page"
    assert "aphos-upload-stored" in widget.panels[0].table.value
    assert f"Upload {sent.id} sent" in widget.message.value


def test_the_page_session_gives_the_browser_its_xsrf_token_and_username(platform):
    # The upload page's script signs its POST with the hub cookie and this XSRF token.
    url = platform["url"]
    session = f"{url}/services/api/api/v2/uploads/session"
    assert httpx.get(session).status_code == 401
    with httpx.Client(base_url=url, cookies={"stand-in-cookie": "tok-erin"}) as browser:
        answer = browser.get(session)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["username"] == "Erin" and (body["max_files"], body["max_bytes"]) == (
            500,
            20 * 2**20,
        )
        assert body["upload_url"] == "/services/api/api/v2/uploads"
        assert answer.headers["cache-control"] == "no-store"
        assert browser.cookies["_xsrf"] == body["xsrf"]
        files = {
            "files": (
                "few_lines_incorrect.csv",
                (FIXTURES / "few_lines_incorrect.csv").read_bytes(),
            )
        }
        refused = browser.post(body["upload_url"], files=files, data={"client": "page"})
        assert refused.status_code == 403  # no XSRF echo
        sent = browser.post(
            body["upload_url"],
            files=files,
            data={"client": "page"},
            headers={"X-XSRFToken": body["xsrf"]},
        )
        assert sent.status_code == 202, sent.text
    with httpx.Client(base_url=url, cookies={"stand-in-cookie": "tok-nameless"}) as browser:
        body = browser.get(session).json()
        assert body["username"] is None and body["profile_url"] == "/services/api/profile"
