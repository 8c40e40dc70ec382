"""The ingest worker end to end: real PostgreSQL, real worker processes, real papermill.

Uploads are made as the api makes them (files under server-generated names, ``upload_input``
rows, :func:`aphos_lib.jobs.queue.enqueue`), then worker processes
(``python -m aphos_lib.jobs.runner``) run them; the expected outcomes are the fixtures' README.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from aphos_lib.db.catalogue import Catalogue
from aphos_lib.ingest import start_upload
from aphos_lib.jobs import queue
from aphos_lib.observers import ensure_local_observer
from aphos_lib.uploads.storage import new_stored_name

from conftest import fixture_path, make_home

pytestmark = [pytest.mark.catalogue, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
# The fixtures' README: (status, fluxes, matched, unmatched, lines of the rejected rows).
EXPECTED = {
    "correct_file.csv": ("stored", 2671, 2013, 658, []),
    "correct_file_missing_scheme.csv": ("stored", 1, 1, 0, []),
    "correct_file_shorter_header.csv": ("stored", 178, 178, 0, []),
    "few_lines_incorrect.csv": ("stored", 66, 66, 0, [32, 35]),
    "incorrect_missing_initial_info.csv": ("rejected", 0, 0, 0, []),
    "scheme_missing.csv": ("rejected", 0, 0, 0, []),
}


@pytest.fixture
def home() -> Path:
    return make_home("aphos-worker-test-")


def worker_env(catalogue: Catalogue, home: Path, **settings: str) -> dict[str, str]:
    """A worker's environment as the hub gives it: the writer login only, and APHOS_HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("APHOS_")}
    writer = catalogue.conninfo("writer")
    env.update(APHOS_HOME=str(home), APHOS_DATABASE_URL=writer, APHOS_DATABASE_URL_WRITER=writer,
               APHOS_DATABASE_URL_READER=catalogue.conninfo("reader"), **settings)  # fmt: skip
    return env


def start_worker(catalogue: Catalogue, home: Path, **settings: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "aphos_lib.jobs.runner"],
        env=worker_env(catalogue, home, **settings), cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def stop_worker(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out or ""


def upload(conn: psycopg.Connection, home: Path, paths: list[Path], observer: str = "novak",
           ) -> tuple[int, int]:  # fmt: skip
    """Receive files as the api does and queue the job: (upload id, job id)."""
    os.environ["APHOS_HOME"] = str(home)  # stored_name is relative to $APHOS_HOME/uploads
    with conn.transaction():
        observer_id = ensure_local_observer(conn, observer)
    upload_id = start_upload(conn, observer_id, "api")
    with conn.transaction():
        for position, path in enumerate(paths):
            stored = new_stored_name(upload_id)
            target = home / "uploads" / stored
            target.parent.mkdir(parents=True, exist_ok=True)
            data = path.read_bytes()
            target.write_bytes(data)
            conn.execute(
                "INSERT INTO upload_input (upload_id, position, filename, stored_name,"
                " size_bytes, sha256) VALUES (%s, %s, %s, %s, %s, sha256(%s))",
                (upload_id, position, path.name, stored, len(data), data),
            )
        job_id = queue.enqueue(conn, upload_id)
    return upload_id, job_id


def wait_for_jobs(conn: psycopg.Connection, job_ids: list[int], timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = conn.execute(
            "SELECT count(*) FROM ingest_job WHERE id = ANY(%s) AND state IN ('queued', 'running')",
            (job_ids,),
        ).fetchone()[0]
        conn.rollback()
        if pending == 0:
            return
        time.sleep(0.1)
    raise AssertionError(f"jobs {job_ids} did not end within {timeout} s")


def job_state(conn: psycopg.Connection, job_id: int) -> tuple:
    row = conn.execute(
        "SELECT state, attempts, files_done, files_total, error, report_path FROM ingest_job"
        " WHERE id = %s", (job_id,)).fetchone()  # fmt: skip
    conn.rollback()
    return row


def test_a_batch_of_the_fixture_files_ends_with_the_documented_outcomes(catalogue, writer, home):
    paths = [fixture_path(n) for n in EXPECTED]
    worker = start_worker(catalogue, home)
    try:
        upload_id, job_id = upload(writer, home, paths)
        wait_for_jobs(writer, [job_id])
        state, attempts, done, total, error, report = job_state(writer, job_id)
        assert (state, attempts, done, total, error) == ("done", 1, 6, 6, None)
        recorded = writer.execute(
            "SELECT position, filename, status, fluxes, matched, unmatched, rejected_rows,"
            " error FROM upload_file WHERE upload_id = %s ORDER BY position", (upload_id,)
        ).fetchall()  # fmt: skip
        assert [(r[1], r[2], r[3], r[4], r[5], [x["line"] for x in r[6]]) for r in recorded] == [
            (name, *expected) for name, expected in EXPECTED.items()]  # fmt: skip
        assert [r[7] is not None for r in recorded] == [False] * 4 + [True] * 2
        per_image = dict(writer.execute(
            "SELECT i.filename, count(f.*) FROM image i JOIN flux f ON f.image_id = i.id"
            " GROUP BY i.filename").fetchall())  # fmt: skip
        assert per_image == {n: e[1] for n, e in EXPECTED.items() if e[0] == "stored"}
        assert writer.execute("SELECT state FROM upload WHERE id = %s", (upload_id,)).fetchone() \
            == ("partial",)  # fmt: skip
        # The executed notebook is the job's report: it shows each file's outcome.
        assert report == f"reports/{upload_id}/job-{job_id}-attempt-1.ipynb"
        executed = json.loads((home / report).read_text())
        shown = "".join(
            "".join(o.get("data", {}).get("text/html", ""))
            for c in executed["cells"] for o in c.get("outputs", [])
        )  # fmt: skip
        assert shown.count("line 32: ") == 1 and shown.count("line 35: ") == 1
        assert "scheme_missing.csv: no table header row was found (a line naming the columns" \
            in shown  # fmt: skip
        assert "DATABASE_URL" not in json.dumps(executed) and "password" not in json.dumps(
            executed)  # fmt: skip

        # The same files again: nothing new is stored, each is reported as a duplicate.
        writer.rollback()
        again, again_job = upload(writer, home, paths)
        wait_for_jobs(writer, [again_job])
        statuses = [
            s
            for (s,) in writer.execute(
                "SELECT status FROM upload_file WHERE upload_id = %s ORDER BY position", (again,)
            )
        ]
        assert statuses == ["duplicate"] * 4 + ["rejected"] * 2
        assert writer.execute("SELECT count(*) FROM flux").fetchone()[0] == 2671 + 1 + 178 + 66
        assert writer.execute("SELECT count(*) FROM image").fetchone()[0] == 4
    finally:
        print(stop_worker(worker))
