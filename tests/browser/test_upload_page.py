"""The upload page in Chromium: a night's files sent by the browser, stored by the worker.

The page is served by a Voila on ``dashboards/workspace/`` as an observer's own server serves
it (its kernel holds the observer's token); the api service (real application, catalogue,
queue and worker; only the hub's token check stood in for, tests/upload_service.py) is on
the same origin behind the platform's proxy, as the hub puts it. The browser carries the
api service's sign-in cookie, as after the hub's OAuth flow.

Demo files: ``aphos_lib.demo.generate_demo_data`` with ``field_stars=2500``, as large as real
SIPS exports (most 1,500 to 2,700 rows, about 0.5 MB each).
"""

from __future__ import annotations

import json
import re
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from upload_service import environment, running_worker, serve_api

from aphos_lib.demo import generate_demo_data
from aphos_lib.uploads.client import UploadClient

from browser.browser_harness import ARTIFACTS, DASHBOARDS, open_dashboard, screenshot
from browser.conftest import _voila, _wait_for
from browser.same_origin import same_origin
from conftest import FIXTURES, make_home

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.catalogue]

NIGHT_FILES = 60
STORED_WITHIN_S = 600
OLD_LIMIT = 9 * 2**20  # where FileUpload's websocket message broke the page


@pytest.fixture(scope="module")
def platform(embedded_server) -> Iterator[dict]:
    """The api service, a worker and the workspace Voila (Alice's kernel) on one origin."""
    home = make_home("aphos-upload-page-")
    catalogue, dbname = embedded_server.clone()
    try:
        with (
            environment(APHOS_HOME=str(home), APHOS_UPLOADS_DIR=None),
            serve_api(catalogue, home) as api_url,
            running_worker(catalogue, home),
            # The kernel follows uploads as the observer whose server it is.
            environment(APHOS_API_URL=api_url + "/services/api/", JUPYTERHUB_API_TOKEN="tok-alice"),
            _voila(catalogue, _workspace_voila, ARTIFACTS / "voila-upload.log") as (voila, process),
            same_origin(voila, {"/services/api": api_url}, ARTIFACTS / "proxy.log") as url,
        ):
            # Until Voila listens: before, the proxy answers "503: Proxy Target Missing" (the
            # first test of the module used to get it).
            log = ARTIFACTS / "voila-upload.log"
            _wait_for(lambda: _listening(voila), f"Voila at {voila}", process, log, timeout=60)
            yield {"url": url, "api": api_url, "home": home}
    finally:
        catalogue.dispose()
        embedded_server.drop(dbname)
        shutil.rmtree(home, ignore_errors=True)


def _listening(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/", timeout=5):
            return True
    except urllib.error.HTTPError:
        return True  # an answer, whatever it says
    except (urllib.error.URLError, ConnectionError):
        return False


def _workspace_voila(port: int) -> list[str]:
    folder = str(DASHBOARDS / "workspace")
    return ["voila", folder, "--no-browser", "--Voila.ip=127.0.0.1", f"--Voila.port={port}"]


@pytest.fixture(scope="module")
def night(platform) -> list[Path]:
    """A night's worth of full-size demo exports, and 25 more (seed 2: over 9 MB together)."""
    out = platform["home"] / "demo"
    generate_demo_data(out / "night", seed=1, images=NIGHT_FILES, field_stars=2500)
    generate_demo_data(out / "other", seed=2, images=25, field_stars=2500)
    files = sorted((out / "night").rglob("*.csv"))
    # As in a real night, one export has damaged rows: its first two stars' X is not a number.
    # They are rejected with their lines, the rest of the file is stored.
    damaged = files[len(files) // 2]
    lines = damaged.read_bytes().split(b"\n")
    header = next(i for i, line in enumerate(lines) if line.startswith(b"Name;"))
    x = lines[header].split(b";").index(b"X")
    for k in (header + 1, header + 2):
        cells = lines[k].split(b";")
        cells[x] = b"12,3x"
        lines[k] = b";".join(cells)
    damaged.write_bytes(b"\n".join(lines))
    return files


def signed_in(page, platform, who: str) -> None:
    """The browser signed in to the api service as ``who`` (its cookie), at 1,280 x 800."""
    page.set_viewport_size({"width": 1280, "height": 800})
    page.context.add_cookies(
        [
            {
                "name": "stand-in-cookie",
                "value": f"tok-{who}",
                "url": platform["url"] + "/services/api/",
            }
        ]
    )


def open_upload_page(page, platform) -> None:
    open_dashboard(page, platform["url"], "upload", ready=".aphos-upload-picker")
    # The session read: the sender knows the username (the notice stays hidden) or says why.
    page.wait_for_function(
        "() => document.querySelector('.aphos-upload-sender')?.dataset.ready === '1'"
    )


def data_rows(path: Path) -> int:
    """The table's rows in a SIPS export: the lines after the ``Name;...`` header."""
    lines = path.read_bytes().splitlines()  # CRLF or LF, as each observer's SIPS writes
    header = next(
        i for i, line in enumerate(lines) if line.lstrip(b"\xef\xbb\xbf").startswith(b"Name;")
    )
    return sum(1 for line in lines[header + 1 :] if line.strip())


def send_and_wait_stored(page, files: list[Path]) -> tuple[int, float]:
    """Choose ``files``, click Send, wait until the page says the upload is finished: its id
    and the seconds from the click to all stored."""
    page.set_input_files(".aphos-upload-picker", [str(f) for f in files])
    page.wait_for_function(
        f"() => document.querySelector('.aphos-upload-chosen').textContent"
        f".startsWith('{len(files)} file(s)')"
    )
    assert page.locator(".aphos-upload-send").is_enabled()
    clicked = time.monotonic()
    page.click(".aphos-upload-send")
    page.wait_for_selector(
        ".aphos-upload-panel .aphos-upload-state:has-text('finished')",
        timeout=STORED_WITHIN_S * 1000,
    )
    took = time.monotonic() - clicked
    title = page.inner_text(".aphos-upload-panel .aphos-upload-title")
    return int(re.search(r"Upload (\d+)", title).group(1)), took


def rejected_cell(f: dict, listed: int = 20) -> str:
    """The rejected-rows cell of a file: the count, then its first rejected lines."""
    lines = [f"{f['rejected_count']:,}"]
    lines += [f"line {r['line']}: {r['reason']}" for r in f["rejected_rows"][:listed]]
    if f["rejected_count"] > listed:
        lines.append(f"{f['rejected_count'] - listed:,} more")
    return "\n".join(lines)


def page_outcomes(page) -> dict[str, list[str]]:
    """The outcome table in the page: file name -> its cells' text."""
    rows = page.locator(".aphos-upload-panel").first.locator("tr.aphos-upload-file")
    # textContent, not innerText: a file's rejected lines are in a closed <details>.
    cells = rows.evaluate_all(
        "rows => rows.map(r => Array.from(r.cells, c => Array.from("
        "c.querySelectorAll('summary, li')).map(e => e.textContent)"
        ".join('\\n') || c.textContent))"
    )
    return {row[0]: row[1:] for row in cells}


def test_a_night_of_60_files_is_sent_by_the_browser_and_stored(page, platform, night):
    signed_in(page, platform, "alice")
    open_upload_page(page, platform)
    assert page.locator(".aphos-upload-notice").is_hidden()
    assert page.locator(".aphos-upload-send").is_disabled()  # nothing chosen yet
    screenshot(page, "upload")
    total = sum(f.stat().st_size for f in night)
    assert len(night) == NIGHT_FILES and total > 3 * OLD_LIMIT
    upload_id, took = send_and_wait_stored(page, night)
    screenshot(page, "upload-night-stored")
    # The sending bar full, the storing bar at 60 / 60.
    assert page.inner_text(".aphos-upload-sending-text").startswith(f"{NIGHT_FILES} file(s)")
    assert page.locator(".aphos-upload-sending-bar").evaluate("b => b.value === b.max")
    assert f"{NIGHT_FILES} / {NIGHT_FILES}" in page.inner_text(".aphos-upload-progress")
    # Exactly the outcomes the api service records, and each file's rows all accounted for.
    status = UploadClient(platform["api"] + "/services/api/", "tok-alice").status(upload_id)
    assert status["client"] == "page" and status["job"]["state"] == "done"
    shown = page_outcomes(page)
    expected = {
        f["filename"]: [
            "stored",
            f"{f['fluxes']:,}",
            f"{f['matched']:,}",
            f"{f['unmatched']:,}",
            f"{f['new_sources']:,}",
            rejected_cell(f),
            "",
        ]
        for f in status["files"]
    }
    assert shown == expected
    assert [f["rejected_count"] for f in status["files"] if f["rejected_count"]] == [2]
    for path in night:
        f = next(f for f in status["files"] if f["filename"] == path.name)
        assert f["status"] == "stored" and f["fluxes"] + f["rejected_count"] == data_rows(path)
    fluxes = sum(f["fluxes"] for f in status["files"])
    assert f"{NIGHT_FILES} stored ({fluxes:,} fluxes)" in page.inner_text(".aphos-upload-state")
    assert not page.aphos_errors
    # The same outcomes on the observer's profile, in the upload log's newest entry.
    page.goto(platform["url"] + "/services/api/profile")
    entry = page.locator(f"#upload-{upload_id}")
    assert entry.get_attribute("open") is not None
    summary = entry.locator("summary").inner_text()
    assert f"{NIGHT_FILES} files: {NIGHT_FILES} stored, 0 duplicates, 0 rejected" in summary
    logged = entry.locator("tr.file").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells, c => c.textContent.trim()))"
    )
    assert {cells[1]: cells[2:] for cells in logged} == {
        f["filename"]: [
            "stored",
            f"{f['fluxes']:,}",
            f"{f['matched']:,}",
            f"{f['unmatched']:,}",
            f"{f['new_sources']:,}",
            f"{f['rejected_count']:,}",
        ]
        for f in status["files"]
    }
    screenshot(page, "profile-after-night")
    rows = sorted(data_rows(p) for p in night)
    (ARTIFACTS / "upload-night.json").write_text(
        json.dumps(
            {
                "files": len(night),
                "megabytes": round(total / 2**20, 1),
                "rows_median": rows[len(rows) // 2],
                "rows_min": rows[0],
                "rows_max": rows[-1],
                "fluxes": fluxes,
                "click_to_all_stored_s": round(took, 1),
            },
            indent=1,
        )
    )
    print(f"\n{len(night)} files, {total / 2**20:.1f} MB: Send to all stored in {took:.1f} s")


def test_files_adding_up_to_more_than_9_mb_are_sent_and_stored(page, platform, night):
    # The old page broke here: FileUpload's one websocket message above about 9 MB.
    files = sorted((night[0].parents[2] / "other").rglob("*.csv"))
    assert sum(f.stat().st_size for f in files) > OLD_LIMIT
    signed_in(page, platform, "alice")
    open_upload_page(page, platform)
    upload_id, _ = send_and_wait_stored(page, files)
    shown = page_outcomes(page)
    assert sorted(shown) == sorted(f.name for f in files)
    assert {cells[0] for cells in shown.values()} == {"stored"}
    assert not page.aphos_errors


def test_a_png_or_other_non_csv_is_refused_before_sending(page, platform, tmp_path):
    png = tmp_path / "sky.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    disguised = tmp_path / "photo.csv"  # a PNG with a SIPS name
    disguised.write_bytes(png.read_bytes())
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    signed_in(page, platform, "alice")
    open_upload_page(page, platform)
    page.set_input_files(
        ".aphos-upload-picker", [str(png), str(disguised), str(FIXTURES / "correct_file.csv")]
    )
    page.wait_for_selector(".aphos-upload-refused-file >> nth=1")
    refused = page.locator(".aphos-upload-refused-file").all_inner_texts()
    assert refused == [
        "sky.png is not a SIPS CSV export (SIPS exports are .csv text files): it will not be sent.",
        "photo.csv is not a SIPS CSV export: it is a PNG image, not text: it will not be sent.",
    ]
    assert page.inner_text(".aphos-upload-chosen").startswith("1 file(s), ")
    screenshot(page, "upload-refused")
    page.set_input_files(".aphos-upload-picker", [str(png)])
    page.wait_for_selector(".aphos-upload-chosen:has-text('No file to send')")
    assert page.locator(".aphos-upload-send").is_disabled()
    assert [u for u in posts if "/api/v2/uploads" in u] == []


def test_without_a_username_the_page_asks_for_one_first(page, platform):
    signed_in(page, platform, "nameless")
    open_upload_page(page, platform)
    notice = page.locator(".aphos-upload-notice")
    notice.wait_for(state="visible")
    assert "Before sending, choose your username" in notice.inner_text()
    link = page.locator(".aphos-upload-profile-link")
    assert link.get_attribute("href") == "/services/api/profile"
    page.set_input_files(".aphos-upload-picker", [str(FIXTURES / "correct_file.csv")])
    page.wait_for_selector(".aphos-upload-chosen:has-text('1 file(s)')")
    assert page.locator(".aphos-upload-send").is_disabled()
    screenshot(page, "upload-username")
