"""The upload log on the observer's profile and a job's report, in Chromium at 1,280 x 800.

The api service with a stand-in for the hub's token check (tests/upload_service.py) and a
real worker (papermill job notebooks): a night whose files are stored, rejected whole, and
rejected row by row, one of them named with a ``<script>``. What an observer sees: each
upload in a collapsible entry, each file's outcome and counts, its rejected rows' lines and
reasons, nothing wider than the window, and the job's report without its code.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from upload_service import BASE, api_and_worker, headers

from aphos_lib.theme import NAVIGATION
from aphos_lib.uploads.status import LOG_REJECTED_ROWS

from browser.browser_harness import screenshot
from conftest import fixture_path

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.catalogue]

# A file's own name holds no "/": an unclosed tag is what a name can carry.
EVIL = "<script>alert('name')<b>night.csv"


def thrice() -> bytes:
    """correct_file.csv with its table three times: every row after the first table is a
    repeat, rejected row by row (5,342 rows: the log lists the first few and the count)."""
    data = fixture_path("correct_file.csv").read_bytes()
    head, _, body = data.partition(b"\r\nName;")
    table_header, _, rows = body.partition(b"\r\n")
    return head + b"\r\nName;" + table_header + b"\r\n" + rows * 3


def wait_done(url: str, upload_id: int, home) -> dict:
    deadline = time.monotonic() + 300
    while True:
        status = httpx.get(f"{url}{BASE}/{upload_id}", headers=headers("erin")).json()
        if status["job"]["state"] in ("done", "failed"):
            return status
        assert time.monotonic() < deadline, (home / "worker.log").read_text()[-3000:]
        time.sleep(0.5)


@pytest.fixture(scope="module")
def uploads(embedded_server) -> Iterator[dict]:
    with api_and_worker(embedded_server, "aphos-upload-log-") as (url, _, home):
        sent = []
        for files in (
            [("few_lines_incorrect.csv", fixture_path("few_lines_incorrect.csv").read_bytes())],
            [
                (EVIL, thrice()),
                ("scheme_missing.csv", fixture_path("scheme_missing.csv").read_bytes()),
            ],
        ):
            r = httpx.post(
                url + BASE,
                files=[("files", f) for f in files],
                headers=headers("erin"),
                timeout=120,
            )
            assert r.status_code == 202, r.text
            sent.append(wait_done(url, r.json()["upload_id"], home))
        yield {"url": url, "older": sent[0], "night": sent[1]}


@pytest.fixture
def erin(page) -> object:
    """The page, signed in as Erin (her hub token on every request, as the stand-in takes)."""
    page.context.set_extra_http_headers(headers("erin"))
    return page


def no_horizontal_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, f"the page is {width} px wide at 1,280"


def assert_header(page, current: str | None) -> None:
    header = page.locator("header.aphos-header")
    assert header.count() == 1 and header.locator(".aphos-brand").inner_text().startswith("APhoS")
    labels = header.locator(".aphos-nav a").all_inner_texts()
    assert labels[: len(NAVIGATION)] == [label for _, label, _ in NAVIGATION]
    assert header.locator(".aphos-sign-out").inner_text() == "Sign out"
    if current:
        assert (
            header.locator("[aria-current='page']").inner_text()
            == dict((k, label) for k, label, _ in NAVIGATION)[current]
        )
    # Links look like links: coloured and underlined, in the content as in the header.
    link = page.locator("main a").first
    style = link.evaluate(
        "a => [getComputedStyle(a).color, getComputedStyle(a).textDecorationLine]"
    )
    assert style == ["rgb(26, 95, 180)", "underline"]
    brand = page.locator("header .aphos-nav-search").evaluate("a => getComputedStyle(a).color")
    assert brand == "rgb(255, 255, 255)"  # white on the header's dark band


def test_the_profile_lists_each_upload_with_its_files_and_rejected_rows(erin, uploads):
    page = erin
    page.goto(uploads["url"] + "/services/api/profile")
    assert_header(page, "profile")
    night, older = uploads["night"], uploads["older"]
    entries = page.locator("#upload-log details.upload")
    assert entries.count() == 2
    newest = page.locator(f"#upload-{night['id']}")
    assert newest.get_attribute("open") is not None  # the newest is open, the others closed
    summary = newest.locator("summary").inner_text()
    assert "2 files: 1 stored, 0 duplicates, 1 rejected" in summary
    assert "5,342 rows rejected" in summary and "UTC" in summary
    # Each file: its name once, its outcome and counts; its error without the name again.
    rows = newest.locator("tr.file")
    assert rows.count() == 2
    evil_row = rows.nth(0)
    cells = evil_row.locator("td").all_inner_texts()
    # Its 684 unmatched rows founded 684 APhoS sources (the first file of the field here).
    assert cells == ["1", EVIL, "stored", "2,671", "1,987", "684", "684", "5,342"]
    rejected = newest.locator("tr.file-detail").first.locator("ul.rejected-rows li")
    assert rejected.count() == LOG_REJECTED_ROWS + 1
    assert rejected.nth(0).inner_text() == "line 2,696: duplicate of line 25"
    assert rejected.last.inner_text() == f"and {5342 - LOG_REJECTED_ROWS:,} more rows rejected"
    missing = newest.locator("tr.file-detail .file-error").inner_text()
    assert missing.startswith("no table header row was found") and "scheme_missing" not in missing
    assert page.locator("main").inner_text().count("scheme_missing.csv") == 1
    # The name with a script is text; no script ran or was added.
    assert page.locator("main script").count() == 0 and page.aphos_errors == []
    no_horizontal_scroll(page)
    screenshot(page, "profile-upload-log")
    # The older upload opens on a click on its summary.
    closed = page.locator(f"#upload-{older['id']}")
    assert closed.get_attribute("open") is None and not closed.locator("table").is_visible()
    closed.locator("summary").click()
    assert closed.locator("table.upload-files").is_visible()
    assert closed.locator("tr.file td.outcome").inner_text() == "stored"
    lines = closed.locator("ul.rejected-rows li").all_inner_texts()
    assert lines and all(line.startswith("line ") and ": " in line for line in lines)
    no_horizontal_scroll(page)


def test_the_own_public_page_shows_the_log_others_only_counts(erin, uploads, browser):
    page = erin
    page.goto(uploads["url"] + "/services/api/observers/Erin")
    assert_header(page, "profile")
    assert page.locator("#upload-log details.upload").count() == 2
    assert page.locator("#upload-totals").inner_text().startswith("2 uploads, 3 files")
    no_horizontal_scroll(page)
    screenshot(page, "profile-own-public")
    visitor = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        visitor.goto(uploads["url"] + "/services/api/observers/Erin")
        assert visitor.locator("#upload-log").count() == 0
        assert visitor.locator("#uploads tr").count() == 3  # a heading and two uploads
        assert visitor.locator(".aphos-sign-in").inner_text() == "Sign in"
        assert EVIL not in visitor.locator("body").inner_text()
        screenshot(visitor, "profile-public")
    finally:
        visitor.close()


def test_the_job_report_reads_without_code_cells(erin, uploads):
    page = erin
    page.goto(uploads["url"] + "/services/api/profile")
    with page.expect_navigation():
        page.locator(f"#upload-{uploads['night']['id']} a.upload-report").click()
    assert "report?format=html" in page.url
    assert_header(page, None)
    text = page.locator("main").inner_text()
    assert "Outcome of each file" in text and "Storing the files" in text  # the markdown
    for code in ("import", "run_job(", "outcome_table(", "upload_id = ", "files = ["):
        assert code not in text, f"the report shows code: {code!r}"
    assert page.locator(".input, .jp-InputArea, .input_prompt, .prompt").count() == 0
    # The outcome table, with the name that holds a script as text.
    table = page.locator(".aphos-report table")
    assert EVIL in table.inner_text() and "line 2696: duplicate of line 25" in table.inner_text()
    assert page.locator("main script").count() == 0 and page.aphos_errors == []
    no_horizontal_scroll(page)
    screenshot(page, "upload-report")
    page.locator(".report-back a").click()
    page.wait_for_selector("#upload-log")
