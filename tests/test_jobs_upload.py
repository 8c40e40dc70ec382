"""One ingest job's work without papermill: files stored once each, retries skip done files."""

from __future__ import annotations

import os
import time
from pathlib import Path

import psycopg
import pytest

from aphos_lib.ingest import start_upload
from aphos_lib.jobs import queue
from aphos_lib.jobs.storage import new_stored_name
from aphos_lib.jobs.upload import JobLost, outcome_table, outcomes, run_upload
from aphos_lib.observers import ensure_local_observer
from aphos_lib.uploads.status import list_uploads, upload_status
from aphos_lib.widgets.upload import outcome_html

from conftest import fixture_path, make_home

pytestmark = pytest.mark.catalogue

NAMES = ["correct_file_shorter_header.csv", "scheme_missing.csv", "few_lines_incorrect.csv"]


@pytest.fixture
def home(monkeypatch) -> Path:
    home = make_home("aphos-job-upload-")
    monkeypatch.setenv("APHOS_HOME", str(home))
    monkeypatch.delenv("APHOS_UPLOADS_DIR", raising=False)
    return home


def received(
    conn: psycopg.Connection,
    home: Path,
    names: list[str],
    contents: dict[str, bytes] | None = None,
) -> tuple[int, list[dict]]:
    """An upload with its files stored as the api stores them, and its job queued (fixture
    files, or the ``contents`` given for a name)."""
    contents = contents or {}
    with conn.transaction():
        observer_id = ensure_local_observer(conn, "novak")
    upload_id = start_upload(conn, observer_id, "api")
    files = []
    with conn.transaction():
        for position, name in enumerate(names):
            stored = new_stored_name(upload_id)
            (home / "uploads" / stored).parent.mkdir(parents=True, exist_ok=True)
            data = contents[name] if name in contents else fixture_path(name).read_bytes()
            (home / "uploads" / stored).write_bytes(data)
            conn.execute(
                "INSERT INTO upload_input (upload_id, position, filename, stored_name,"
                " size_bytes, sha256) VALUES (%s, %s, %s, %s, 1, '\\x00')",
                (upload_id, position, name, stored),
            )
            files.append({"position": position, "filename": name, "stored_name": stored})
        queue.enqueue(conn, upload_id)
    return upload_id, files


def test_a_job_stores_each_file_and_records_progress(writer, home):
    upload_id, files = received(writer, home, NAMES)
    job = queue.claim(writer, "w", heartbeat_timeout=60)
    assert run_upload(writer, job, files) == 3
    rows = outcomes(writer, upload_id)
    assert [(r["position"], r["file"], r["status"], r["fluxes"]) for r in rows] == [
        (0, NAMES[0], "stored", 178),
        (1, NAMES[1], "rejected", 0),
        (2, NAMES[2], "stored", 66),
    ]
    assert [x["line"] for x in rows[2]["rejected_rows"]] == [32, 35]
    assert writer.execute("SELECT files_done FROM ingest_job").fetchone() == (3,)
    table = outcome_table(rows).data
    assert list(table.index) == [0, 1, 2]
    assert table.loc[2, "rejected_rows"].startswith("line 32: ")
    assert "; line 35: " in table.loc[2, "rejected_rows"]
    assert table.loc[1, "error"].startswith("scheme_missing.csv: no table header row was found")


def test_a_file_of_many_repeated_rows_records_the_first_thousand_and_counts_them(writer, home):
    data = fixture_path("correct_file.csv").read_bytes()
    head, _, body = data.partition(b"\r\nName;")
    table_header, _, rows = body.partition(b"\r\n")
    thrice = head + b"\r\nName;" + table_header + b"\r\n" + rows * 3  # 2 x 2,671 repeats
    upload_id, files = received(writer, home, ["thrice.csv"], {"thrice.csv": thrice})
    job = queue.claim(writer, "w", heartbeat_timeout=60)
    assert run_upload(writer, job, files) == 1
    [row] = outcomes(writer, upload_id)
    assert (row["fluxes"], row["matched"], row["unmatched"], row["rejected_count"]) == (
        2671,
        1987,
        684,
        5342,
    )
    assert len(row["rejected_rows"]) == 1000
    assert row["rejected_rows"][0] == {"line": 2696, "reason": "duplicate of line 25"}
    text = outcome_table([row]).data.loc[0, "rejected_rows"]
    assert text.count("; ") == 20 and text.startswith("line 2696: duplicate of line 25; ")
    assert text.endswith("; line 2715: duplicate of line 44; 5,322 more")
    status = upload_status(writer, job.observer_id, upload_id)
    [f] = status["files"]
    assert (f["rejected_count"], len(f["rejected_rows"]), f["warning_count"]) == (5342, 1000, 26)
    # Its 684 unmatched rows (658 unmatched by SIPS, 26 second sources of a star) found as
    # many APhoS sources in an empty catalogue.
    assert f["new_sources"] == 684
    assert f["warnings"][0].startswith("line 2267: a second source matched to UCAC4 796-032365")
    html = outcome_html(status)
    assert "<summary>5,342</summary><ul>" in html and html.count("<li>") == 21
    assert "<li>5,322 more</li>" in html
    assert "<td>684</td><td>684</td><td class='aphos-upload-lines'>" in html
    [logged] = list_uploads(writer, job.observer_id, files=True)[1]
    assert logged["rejected_rows"] == 5342 and logged["files"][0]["new_sources"] == 684


def test_a_retry_skips_the_files_an_earlier_attempt_stored(writer, home):
    upload_id, files = received(writer, home, NAMES)
    first = queue.claim(writer, "first", heartbeat_timeout=60)
    # The first attempt stored file 0, then its worker died.
    assert run_upload(writer, first, files[:1]) == 1
    time.sleep(0.05)
    second = queue.claim(writer, "second", heartbeat_timeout=0.01)
    assert (second.id, second.attempt) == (first.id, 2)
    assert run_upload(writer, second, files) == 2
    assert [r["status"] for r in outcomes(writer, upload_id)] == ["stored", "rejected", "stored"]
    assert writer.execute("SELECT count(*), sum(flux_count) FROM image").fetchone() == (2, 244)


def test_a_worker_whose_job_was_taken_over_stops_before_its_next_file(writer, home):
    upload_id, files = received(writer, home, NAMES)
    stale = queue.claim(writer, "stale", heartbeat_timeout=60)
    time.sleep(0.05)
    assert queue.claim(writer, "other", heartbeat_timeout=0.01) is not None
    with pytest.raises(JobLost):
        run_upload(writer, stale, files)
    assert outcomes(writer, upload_id) == []
    assert writer.execute("SELECT count(*) FROM image").fetchone() == (0,)


def test_a_stored_name_outside_the_uploads_folder_is_refused(writer, home):
    _, files = received(writer, home, NAMES[:1])
    (home / "outside.csv").write_bytes(fixture_path(NAMES[0]).read_bytes())
    job = queue.claim(writer, "w", heartbeat_timeout=60)
    with pytest.raises(ValueError, match="not an upload's stored name"):
        run_upload(writer, job, [dict(files[0], stored_name="../outside.csv")])
    assert writer.execute("SELECT count(*) FROM image").fetchone() == (0,)
    assert os.path.exists(home / "outside.csv")
