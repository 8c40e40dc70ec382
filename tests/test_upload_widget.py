"""Uploads end to end without a hub: the notebook client and the widget against the api
service, with a real worker (papermill job notebooks) storing into a real catalogue.

Expected outcomes are those of ../shared/fixtures/sips/original/README.md (as in
tests/test_ingest.py).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from upload_service import environment, serve_api

from aphos_lib.uploads.client import UploadClient
from aphos_lib.widgets.upload import UploadWidget

from conftest import FIXTURE_OUTCOMES, FIXTURES, make_home

pytestmark = [pytest.mark.catalogue, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]

EXPECTED = FIXTURE_OUTCOMES


@pytest.fixture(scope="module")
def platform(embedded_server) -> Iterator[dict]:
    home = make_home("aphos-upload-widget-")
    catalogue, dbname = embedded_server.clone()
    worker = None
    # The worker is the process the hub's worker service runs; its job kernels read the
    # database login from the environment.
    env = {"APHOS_HOME": str(home), "APHOS_DATABASE_URL": catalogue.conninfo("writer"),
           "APHOS_DATABASE_URL_WRITER": catalogue.conninfo("writer"),
           "APHOS_DATABASE_URL_READER": catalogue.conninfo("reader")}  # fmt: skip
    try:
        with (
            environment(APHOS_HOME=str(home), APHOS_UPLOADS_DIR=None),
            serve_api(catalogue, home) as url,
        ):
            worker = subprocess.Popen(
                [sys.executable, "-m", "aphos_lib.jobs.runner"], cwd=REPO,
                env={**os.environ, **env}, stdout=open(home / "worker.log", "wb"),  # noqa: SIM115
                stderr=subprocess.STDOUT,
            )  # fmt: skip
            yield {"url": url, "catalogue": catalogue, "home": home}
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        catalogue.dispose()
        embedded_server.drop(dbname)
        shutil.rmtree(home, ignore_errors=True)


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
        4, 0, 2, 2671 + 1 + 178 + 66)  # fmt: skip
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
    assert widget.send_button.disabled and "aphos-upload-send" in widget.send_button._dom_classes
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
        panel.report.value)  # fmt: skip
    classes = {name: w._dom_classes for name, w in [
        ("panel", panel), ("progress", panel.progress), ("outcomes", panel.table),
        ("report", panel.report), ("state", panel.state)]}  # fmt: skip
    assert all(f"aphos-upload-{name}" in c for name, c in classes.items()), classes


def test_the_widget_says_why_an_upload_was_refused(platform):
    widget = UploadWidget(client(platform, "nameless"))
    assert widget.send([("a.csv", b"x")]) is None
    assert "choose a username first" in widget.message.value and widget.uploads.children == ()
