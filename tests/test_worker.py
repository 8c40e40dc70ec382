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
from collections import Counter
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest
from sqlalchemy.engine import make_url

from aphos_lib.db.catalogue import Catalogue
from aphos_lib.ingest import start_upload
from aphos_lib.jobs import queue
from aphos_lib.jobs.storage import new_stored_name
from aphos_lib.observers import ensure_local_observer

from conftest import FIXTURE_OUTCOMES, fixture_path, free_port, make_home

pytestmark = [pytest.mark.catalogue, pytest.mark.slow]
# The worker's process behaviour (threads, kernels, restarts, stopping) is the same on any
# PostgreSQL: these run on the embedded one only; the queue's SQL runs on both.
EMBEDDED_ONLY = pytest.mark.parametrize("server", ["embedded"], indirect=True)

REPO = Path(__file__).resolve().parents[1]
EXPECTED = FIXTURE_OUTCOMES


@pytest.fixture
def home() -> Path:
    return make_home("aphos-worker-test-")


def worker_env(catalogue: Catalogue, home: Path, **settings: str) -> dict[str, str]:
    """A worker's environment as the hub gives it: the writer login only, and APHOS_HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("APHOS_")}
    writer = catalogue.conninfo("writer")
    env.update(
        APHOS_HOME=str(home),
        APHOS_DATABASE_URL=writer,
        APHOS_DATABASE_URL_WRITER=writer,
        APHOS_DATABASE_URL_READER=catalogue.conninfo("reader"),
        **settings,
    )
    return env


def start_worker(catalogue: Catalogue, home: Path, **settings: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "aphos_lib.jobs.runner"],
        env=worker_env(catalogue, home, **settings),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop_worker(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out or ""


def upload(
    conn: psycopg.Connection,
    home: Path,
    paths: list[Path],
    observer: str = "novak",
    names: list[str] | None = None,
) -> tuple[int, int]:
    """Receive files as the api does and queue the job: (upload id, job id).

    ``names``: the client's filenames, by default the paths' names.
    """
    names = names or [p.name for p in paths]
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
                (upload_id, position, names[position], stored, len(data), data),
            )
        job_id = queue.enqueue(conn, upload_id)
    return upload_id, job_id


def wait_for_jobs(conn: psycopg.Connection, job_ids: list[int], timeout: float = 120) -> None:
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
    states = conn.execute(
        "SELECT id, state, attempts, worker, files_done, error FROM ingest_job ORDER BY id"
    ).fetchall()
    raise AssertionError(f"jobs {job_ids} did not end within {timeout} s: {states}")


def job_state(conn: psycopg.Connection, job_id: int) -> tuple:
    row = conn.execute(
        "SELECT state, attempts, files_done, files_total, error, report_path FROM ingest_job"
        " WHERE id = %s",
        (job_id,),
    ).fetchone()
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
            " error FROM upload_file WHERE upload_id = %s ORDER BY position",
            (upload_id,),
        ).fetchall()
        assert [(r[1], r[2], r[3], r[4], r[5], [x["line"] for x in r[6]]) for r in recorded] == [
            (name, *expected) for name, expected in EXPECTED.items()
        ]
        assert [r[7] is not None for r in recorded] == [False] * 4 + [True] * 2
        per_image = dict(
            writer.execute(
                "SELECT i.filename, count(f.*) FROM image i JOIN flux f ON f.image_id = i.id"
                " GROUP BY i.filename"
            ).fetchall()
        )
        assert per_image == {n: e[1] for n, e in EXPECTED.items() if e[0] == "stored"}
        assert writer.execute(
            "SELECT state FROM upload WHERE id = %s", (upload_id,)
        ).fetchone() == ("partial",)
        # The executed notebook is the job's report: it shows each file's outcome.
        assert report == f"reports/{upload_id}/job-{job_id}-attempt-1.ipynb"
        executed = json.loads((home / report).read_text())
        shown = "".join(
            "".join(o.get("data", {}).get("text/html", ""))
            for c in executed["cells"]
            for o in c.get("outputs", [])
        )
        assert shown.count("line 32: ") == 1 and shown.count("line 35: ") == 1
        assert (
            "scheme_missing.csv: no table header row was found (a line naming the columns" in shown
        )
        assert "DATABASE_URL" not in json.dumps(executed) and "password" not in json.dumps(executed)

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


def test_a_client_filename_that_looks_like_code_is_only_a_name(catalogue, writer, home):
    name = 'x"; import os; os._exit(3) #\\\'\n"""\u00e9.csv'
    worker = start_worker(catalogue, home)
    try:
        upload_id, job_id = upload(
            writer, home, [fixture_path("correct_file_missing_scheme.csv")], names=[name]
        )
        wait_for_jobs(writer, [job_id])
    finally:
        stop_worker(worker)
    assert job_state(writer, job_id)[:3] == ("done", 1, 1)
    assert writer.execute("SELECT filename, status, fluxes FROM upload_file").fetchall() == [
        (name, "stored", 1)
    ]


def variants(directory: Path, name: str, count: int) -> list[Path]:
    """Copies of a fixture that differ only in their exposure start (so in SHA-256)."""
    data = fixture_path(name).read_bytes()
    paths = []
    for k in range(count):
        path = directory / f"{k:03d}-{name}"
        path.write_bytes(
            data.replace(
                b"ExposureBegin;2021-11-06T16:27:45.652",
                f"ExposureBegin;2021-11-06T16:{k // 60:02d}:{k % 60:02d}.652".encode(),
            )
        )
        paths.append(path)
    return paths


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (a worker's kernel)."""
    try:
        return [p.pid for p in psutil.Process(pid).children()]
    except psutil.NoSuchProcess:
        return []


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_at_outcome_row(watch: psycopg.Connection, dbname: str, worker: subprocess.Popen) -> None:
    """Wait until the worker's file transaction waits for the lock on upload_file (its
    fluxes are written by then); fail if the worker exits first."""
    deadline = time.monotonic() + 120
    while not watch.execute(
        "SELECT 1 FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'"
        " AND query LIKE '%%INSERT INTO upload_file%%'",
        (dbname,),
    ).fetchone():
        assert time.monotonic() < deadline, "the job never reached its outcome row"
        assert worker.poll() is None, worker.communicate()[0]
        time.sleep(0.05)


def test_a_worker_killed_mid_file_leaves_no_rows_and_the_job_completes_once_after_takeover(
    server, catalogue, writer, home
):
    fast = {"APHOS_JOB_HEARTBEAT_TIMEOUT": "2"}
    upload_id, job_id = upload(writer, home, [fixture_path("correct_file.csv")])
    dbname = make_url(catalogue.url("owner")).database
    # Pause the file's transaction deterministically: its fluxes are written when it reaches
    # the outcome row, which waits for this lock. Reads of upload_file are not blocked.
    with (
        catalogue.connect("owner") as gate,
        psycopg.connect(server.superuser, autocommit=True) as watch,
    ):
        gate.execute("LOCK TABLE upload_file IN EXCLUSIVE MODE")
        first = start_worker(catalogue, home, **fast)
        try:
            wait_at_outcome_row(watch, dbname, first)
            kernels = children(first.pid)
            assert kernels, "the worker runs its notebook in a kernel process"
            first.send_signal(signal.SIGKILL)
            first.wait()
            # The kernel notices that its worker is gone and exits (within about a second).
            deadline = time.monotonic() + 10
            while any(alive(k) for k in kernels):
                assert time.monotonic() < deadline, "the kernel outlived its killed worker"
                time.sleep(0.05)
        finally:
            stop_worker(first)
        gate.commit()  # the paused transaction may go on: its client is gone, so it aborts
        while watch.execute(
            "SELECT 1 FROM pg_stat_activity WHERE datname = %s"
            " AND query LIKE '%%INSERT INTO upload_file%%' AND state <> 'idle'",
            (dbname,),
        ).fetchone():
            time.sleep(0.05)
    counts = writer.execute(
        "SELECT (SELECT count(*) FROM image), (SELECT count(*) FROM flux),"
        " (SELECT count(*) FROM upload_file), (SELECT count(*) FROM catalog_object)"
    ).fetchone()
    assert counts == (0, 0, 0, 0)
    assert job_state(writer, job_id)[:3] == ("running", 1, 0)

    second = start_worker(catalogue, home, **fast)
    try:
        wait_for_jobs(writer, [job_id])
    finally:
        stop_worker(second)
    state, attempts, done, total, error, report = job_state(writer, job_id)
    assert (state, attempts, done, total, error) == ("done", 2, 1, 1, None)
    assert report == f"reports/{upload_id}/job-{job_id}-attempt-2.ipynb"
    rows = writer.execute(
        "SELECT position, status, fluxes, matched, unmatched FROM upload_file"
    ).fetchall()
    assert rows == [(0, "stored", 2671, 1987, 684)]
    assert writer.execute(
        "SELECT count(*), count(DISTINCT (image_id, line)) FROM flux"
    ).fetchone() == (2671, 2671)
    assert writer.execute("SELECT state FROM upload WHERE id = %s", (upload_id,)).fetchone() == (
        "stored",
    )


def test_two_workers_on_one_queue_never_run_a_job_twice(catalogue, writer, home, tmp_path):
    files = variants(tmp_path, "correct_file_shorter_header.csv", 24)
    workers = [start_worker(catalogue, home) for _ in range(2)]
    try:
        jobs = [upload(writer, home, files[k : k + 2])[1] for k in range(0, len(files), 2)]
        wait_for_jobs(writer, jobs)
    finally:
        logs = [stop_worker(w) for w in workers]
    ended = writer.execute(
        "SELECT state, attempts, files_done, count(*) FROM ingest_job"
        " GROUP BY state, attempts, files_done"
    ).fetchall()
    assert ended == [("done", 1, 2, 12)], (
        logs,
        writer.execute(
            "SELECT id, attempts, worker, error, report_path FROM ingest_job"
        ).fetchall(),
    )
    per_position = writer.execute(
        "SELECT upload_id, position, count(*) FROM upload_file GROUP BY upload_id, position"
    ).fetchall()
    assert len(per_position) == 24 and {c for _, _, c in per_position} == {1}
    assert writer.execute(
        "SELECT count(*), count(DISTINCT sha256), sum(flux_count) FROM image"
    ).fetchone() == (24, 24, 24 * 178)
    # One report per job: no attempt beyond the first ever started.
    reports = sorted(p.name for p in (home / "reports").rglob("*.ipynb"))
    assert reports == sorted(f"job-{j}-attempt-1.ipynb" for j in jobs)
    by_worker = Counter(w for (w,) in writer.execute("SELECT worker FROM ingest_job"))
    assert sum(by_worker.values()) == 12


@EMBEDDED_ONLY
def test_a_job_that_fails_is_retried_until_max_attempts_then_failed(catalogue, writer, home):
    upload_id, job_id = upload(writer, home, [fixture_path("few_lines_incorrect.csv")])
    # A stored name that leads out of the uploads folder: the job fails on every attempt.
    writer.execute(
        "UPDATE upload_input SET stored_name = '../../x' WHERE upload_id = %s", (upload_id,)
    )
    writer.commit()
    worker = start_worker(catalogue, home)
    try:
        wait_for_jobs(writer, [job_id])
    finally:
        stop_worker(worker)
    state, attempts, done, _, error, report = job_state(writer, job_id)
    assert (state, attempts, done) == ("failed", 3, 0)
    assert error == "ValueError: not an upload's stored name: '../../x'"
    assert report == f"reports/{upload_id}/job-{job_id}-attempt-3.ipynb"
    assert sorted(p.name for p in (home / "reports" / str(upload_id)).iterdir()) == [
        f"job-{job_id}-attempt-{n}.ipynb" for n in (1, 2, 3)
    ]
    assert writer.execute("SELECT state FROM upload WHERE id = %s", (upload_id,)).fetchone() == (
        "failed",
    )
    assert writer.execute("SELECT count(*) FROM image").fetchone() == (0,)


def health(url: str) -> dict:
    try:
        return httpx.get(url, timeout=10).json()
    except httpx.HTTPError:
        return {}


@EMBEDDED_ONLY
def test_the_worker_service_runs_n_workers_restarts_a_dead_one_and_stops_fast(
    catalogue, writer, home
):
    port = free_port()
    url = f"http://127.0.0.1:{port}/services/worker/health"
    env = worker_env(
        catalogue,
        home,
        APHOS_WORKERS="2",
        JUPYTERHUB_SERVICE_URL=f"http://127.0.0.1:{port}",
        JUPYTERHUB_SERVICE_PREFIX="/services/worker/",
    )
    log = (home / "worker-service.log").open("w")
    service = subprocess.Popen(
        [sys.executable, "-m", "aphos_lib.hub.worker"],
        env=env,
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while health(url).get("workers") != 2:
            assert time.monotonic() < deadline, "the worker service did not start its workers"
            assert service.poll() is None, (home / "worker-service.log").read_text()
            time.sleep(0.2)
        seen = health(url)
        assert (seen["status"], seen["database"], seen["workers_configured"]) == ("ok", "ok", 2)
        assert (seen["jobs_queued"], seen["jobs_running"], seen["worker_restarts"]) == (0, 0, 0)
        workers = children(service.pid)
        assert len(workers) == 2
        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while (seen := health(url)).get("worker_restarts") != 1 or seen["workers"] != 2:
            assert time.monotonic() < deadline, f"the dead worker was not replaced: {seen}"
            time.sleep(0.2)
        assert workers[1] in children(service.pid) and workers[0] not in children(service.pid)
        # The service's workers run jobs.
        upload_id, job_id = upload(writer, home, [fixture_path("few_lines_incorrect.csv")])
        wait_for_jobs(writer, [job_id], timeout=60)
        assert job_state(writer, job_id)[:3] == ("done", 1, 1)
        everyone = [service.pid, *children(service.pid)]
        started = time.monotonic()
        service.send_signal(signal.SIGTERM)
        service.wait(30)
        deadline = time.monotonic() + 10
        while any(alive(p) for p in everyone):
            assert time.monotonic() < deadline, "worker processes outlived their service"
            time.sleep(0.05)
        assert time.monotonic() - started < 10
    finally:
        if service.poll() is None:
            service.kill()
            service.wait()
        log.close()


@EMBEDDED_ONLY
def test_a_long_running_worker_leaks_no_threads_or_descriptors_per_job(catalogue, writer, home):
    worker = start_worker(catalogue, home)
    seen = []
    try:
        for _ in range(8):
            _, job_id = upload(writer, home, [fixture_path("correct_file_missing_scheme.csv")])
            wait_for_jobs(writer, [job_id], timeout=60)
            time.sleep(0.3)  # the next kernel is warming: let it settle
            seen.append(
                (
                    len(os.listdir(f"/proc/{worker.pid}/task")),
                    len(os.listdir(f"/proc/{worker.pid}/fd")),
                )
            )
    finally:
        stop_worker(worker)
    assert writer.execute("SELECT state, count(*) FROM ingest_job GROUP BY state").fetchall() == [
        ("done", 8)
    ]
    # A leak grows with each job (papermill leaves a client per job open: 3 threads and ~13
    # descriptors each, before the worker closed them); a steady worker stays level.
    threads, descriptors = seen[2]
    assert max(t for t, _ in seen[2:]) <= threads + 1, seen
    assert max(d for _, d in seen[2:]) <= descriptors + 4, seen


@EMBEDDED_ONLY
def test_a_kernel_runs_up_to_its_number_of_jobs_reset_between_them(catalogue, writer, home):
    worker = start_worker(catalogue, home, APHOS_JOB_KERNEL_JOBS="2")
    kernels, reports = [], []
    try:
        deadline = time.monotonic() + 60
        while not children(worker.pid):  # the warm kernel, started while idle
            assert time.monotonic() < deadline
            time.sleep(0.05)
        kernels.append(children(worker.pid))
        for observer in ("first", "second", "third"):
            _, job_id = upload(
                writer, home, [fixture_path("correct_file_missing_scheme.csv")], observer=observer
            )
            wait_for_jobs(writer, [job_id], timeout=60)
            reports.append(job_state(writer, job_id)[5])
            time.sleep(0.5)  # the kept kernel is reset in the background
            kernels.append(children(worker.pid))
    finally:
        stop_worker(worker)
    # Jobs 1 and 2 ran in the warm kernel; job 3 in the one that warmed during job 2.
    assert kernels[1] == kernels[0] and len(kernels[0]) == 1
    assert kernels[2] != kernels[1] and kernels[3] == kernels[2] and len(kernels[2]) == 1
    # Each report numbers its cells from 1, as from a fresh kernel, and finds nothing left
    # by the job before.
    counts = []
    for report in reports:
        cells = json.loads((home / report).read_text())["cells"]
        counts.append([c["execution_count"] for c in cells if c["cell_type"] == "code"])
        assert not any(
            o.get("output_type") == "error"
            for c in cells
            if c["cell_type"] == "code"
            for o in c["outputs"]
        )
    assert counts == [[1, 2, 3, 4, 5]] * 3
    assert writer.execute(
        "SELECT status, count(*) FROM upload_file GROUP BY status"
    ).fetchall() == [("stored", 3)]


@EMBEDDED_ONLY
def test_a_worker_stopped_mid_file_gives_the_job_back_and_exits_promptly(
    server, catalogue, writer, home
):
    upload_id, job_id = upload(writer, home, [fixture_path("correct_file.csv")])
    dbname = make_url(catalogue.url("owner")).database
    with (
        catalogue.connect("owner") as gate,
        psycopg.connect(server.superuser, autocommit=True) as watch,
    ):
        gate.execute("LOCK TABLE upload_file IN EXCLUSIVE MODE")  # pauses the file (see above)
        worker = start_worker(catalogue, home)
        try:
            wait_at_outcome_row(watch, dbname, worker)
            started = time.monotonic()
            worker.send_signal(signal.SIGTERM)
            log = worker.communicate(timeout=30)[0]
            stopped_in = time.monotonic() - started
        finally:
            stop_worker(worker)
        gate.commit()
    assert worker.returncode == 0, log
    assert stopped_in < 10, log
    state, attempts, done, _, error, _ = job_state(writer, job_id)
    assert (state, attempts, done, error) == (
        "queued",
        1,
        0,
        "the worker was stopped before the job ended",
    )
    second = start_worker(catalogue, home)
    try:
        wait_for_jobs(writer, [job_id])
    finally:
        stop_worker(second)
    assert job_state(writer, job_id)[:4] == ("done", 2, 1, 1)
    assert writer.execute("SELECT count(*) FROM flux").fetchone() == (2671,)
    assert writer.execute(
        "SELECT count(*) FROM upload_file WHERE upload_id = %s", (upload_id,)
    ).fetchone() == (1,)
