"""Uploads through the job queue: throughput of 2 workers, and one file's latency.

Everything runs against a freshly initialised embedded PostgreSQL 18 with its normal, durable
settings (fsync on, a commit per file), each measurement in its own database:

- **baseline**: the same files through ``aphos_lib.ingest.ingest_files`` in this process
  (no queue, no notebook): what storing them costs by itself.
- **throughput**: ``--files`` demo files (``aphos_lib.demo``), received as the api receives
  them (under server-generated names, ``upload_input`` rows) in uploads of
  ``--files-per-upload`` files of one observer each, all queued at once, run by ``--workers``
  worker processes (``python -m aphos_lib.jobs.runner``, papermill and the job notebook):
  fluxes per second from the first job queued to the last one ended.
- **latency**: tests/data/sips/correct_file.csv (2,671 rows), queued by a
  new observer each run (a re-upload would be a duplicate and store nothing), until its
  fluxes are visible to the read-only role; the median over ``--runs``, against the same
  file stored directly with ``ingest_file`` (the baseline of the latency); and again with no
  warm kernel (``APHOS_JOB_WARM_KERNEL=0``, ``APHOS_JOB_KERNEL_JOBS=1``: each job starts its
  kernel when it comes), which shows what starting a kernel costs.

The workers are idle and their next kernel warm before each latency run, as between uploads
in use (a kernel runs up to 20 jobs, reset between them: ``APHOS_JOB_KERNEL_JOBS``).
bench/upload_latency.py measures latency through the whole hub (HTTP included).

    python bench/uploads.py [--files 100] [--workers 2] [--runs 7] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import psycopg

from aphos_lib.db.bootstrap import embedded_catalogue
from aphos_lib.db.catalogue import Catalogue
from aphos_lib.db.embedded import EmbeddedPostgres
from aphos_lib.demo import generate_demo_data
from aphos_lib.ingest import ingest_file, ingest_files, start_upload
from aphos_lib.jobs import queue
from aphos_lib.jobs.storage import new_stored_name
from aphos_lib.observers import ensure_local_observer

REPO = Path(__file__).resolve().parents[1]
FILE = REPO / "tests" / "data" / "sips" / "correct_file.csv"


def fresh(home: Path, superuser: str, name: str) -> Catalogue:
    with psycopg.connect(superuser, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    return embedded_catalogue(home, dbname=name)


def receive(conn: psycopg.Connection, home: Path, observer: str, paths: list[Path]) -> int:
    """Store files and their upload_input rows as the api does; the upload's id (not queued)."""
    with conn.transaction():
        observer_id = ensure_local_observer(conn, observer)
    upload_id = start_upload(conn, observer_id, "api")
    with conn.transaction():
        for position, path in enumerate(paths):
            stored = new_stored_name(upload_id)
            target = home / "uploads" / stored
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            conn.execute(
                "INSERT INTO upload_input (upload_id, position, filename, stored_name,"
                " size_bytes, sha256) VALUES (%s, %s, %s, %s, %s, '\\x00')",
                (upload_id, position, path.name, stored, path.stat().st_size),
            )
    return upload_id


def start_workers(
    catalogue: Catalogue, home: Path, count: int, warm: bool = True
) -> list[subprocess.Popen]:
    writer = catalogue.conninfo("writer")
    env = {k: v for k, v in os.environ.items() if not k.startswith("APHOS_")}
    if not warm:  # no kernel started ahead, none kept from the job before
        env.update(APHOS_JOB_WARM_KERNEL="0", APHOS_JOB_KERNEL_JOBS="1")
    env.update(
        APHOS_HOME=str(home),
        APHOS_DATABASE_URL=writer,
        APHOS_DATABASE_URL_WRITER=writer,
        APHOS_DATABASE_URL_READER=catalogue.conninfo("reader"),
    )
    return [
        subprocess.Popen(
            [sys.executable, "-m", "aphos_lib.jobs.runner"],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


def wait_idle_and_warm(workers: list[subprocess.Popen], seconds: float = 60) -> None:
    """Until each worker's next kernel is up (a child process) and the machine has settled."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not all(_children(w.pid) for w in workers):
        time.sleep(0.1)
    time.sleep(3)  # the kernel imports the catalogue code after it starts


def _children(pid: int) -> list[int]:
    try:
        return [p.pid for p in psutil.Process(pid).children()]
    except psutil.NoSuchProcess:
        return []


def wait_jobs(conn: psycopg.Connection, job_ids: list[int], timeout: float = 1800) -> None:
    deadline = time.monotonic() + timeout
    while True:
        states = conn.execute(
            "SELECT state, error FROM ingest_job WHERE id = ANY(%s)", (job_ids,)
        ).fetchall()
        conn.rollback()
        if all(s in ("done", "failed") for s, _ in states):
            failed = [e for s, e in states if s == "failed"]
            assert not failed, failed
            return
        assert time.monotonic() < deadline, "the jobs did not end"
        time.sleep(0.02)


def throughput(
    catalogue: Catalogue, home: Path, uploads: list[tuple[str, list[Path]]], workers: int
) -> tuple[float, int, float]:
    """(fluxes per second, fluxes, seconds) through the queue and ``workers`` processes."""
    procs = start_workers(catalogue, home, workers)
    try:
        with catalogue.connect("writer") as conn:
            received = [receive(conn, home, observer, paths) for observer, paths in uploads]
            wait_idle_and_warm(procs)
            started = time.perf_counter()
            with conn.transaction():
                jobs = [queue.enqueue(conn, u) for u in received]
            wait_jobs(conn, jobs)
            elapsed = time.perf_counter() - started
            fluxes = conn.execute("SELECT count(*) FROM flux").fetchone()[0]
    finally:
        stop(procs)
    return fluxes / elapsed, fluxes, elapsed


def latency(catalogue: Catalogue, home: Path, runs: int, warm: bool = True) -> list[float]:
    """Seconds from the job's commit to its fluxes being visible to the reader, per run.

    ``warm=False``: the workers start each job's kernel when the job comes (papermill's
    own way), to show what the warm kernel saves.
    """
    procs = start_workers(catalogue, home, 2, warm)
    seconds = []
    try:
        with catalogue.connect("writer") as conn, catalogue.connect("reader") as reader:
            reader.autocommit = True
            for run in range(runs):
                upload_id = receive(conn, home, f"latency{run}{warm}", [FILE])
                if warm:
                    wait_idle_and_warm(procs)
                else:
                    time.sleep(2)
                with conn.transaction():
                    queue.enqueue(conn, upload_id)
                started = time.perf_counter()
                seen = "SELECT 1 FROM image WHERE upload_id = %s"
                while not reader.execute(seen, (upload_id,)).fetchone():
                    time.sleep(0.005)
                seconds.append(time.perf_counter() - started)
                wait_jobs(conn, [j for (j,) in conn.execute("SELECT id FROM ingest_job")])
    finally:
        stop(procs)
    return seconds


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=100, help="demo files")
    parser.add_argument("--files-per-upload", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=7, help="latency runs (median)")
    parser.add_argument("--cold-runs", type=int, default=3, help="latency runs with no warm kernel")
    parser.add_argument(
        "--field-stars",
        type=int,
        default=0,
        help="catalogue stars per field (0: make demo's light fields; 2500: "
        "images as large as real SIPS exports)",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="aphos-bench-uploads-", dir="/tmp"))
    work.chmod(0o755)
    home = work / "home"
    home.mkdir()
    home.chmod(0o755)
    os.environ["APHOS_HOME"] = str(home)  # where receive() stores files, as the api would
    try:
        manifest = generate_demo_data(
            work / "files", seed=1, images=args.files, field_stars=args.field_stars or None
        )
        by_observer: dict[str, list[Path]] = {}
        for f in manifest.files:
            by_observer.setdefault(f.observer, []).append(work / "files" / f.path)
        uploads = [
            (o, ps[k : k + args.files_per_upload])
            for o, ps in by_observer.items()
            for k in range(0, len(ps), args.files_per_upload)
        ]
        rows = sum(f.rows for f in manifest.files)
        server = EmbeddedPostgres(home)
        status = server.start()
        superuser = server.superuser_dsn()
        print(
            f"{args.files} demo files, {rows:,} fluxes, in {len(uploads)} uploads; "
            f"{args.workers} workers; embedded PostgreSQL {status.version}, durable"
        )

        base = fresh(home, superuser, "bench_baseline")
        started = time.perf_counter()
        for observer, paths in by_observer.items():
            ingest_files(base, paths, observer=observer)
        base_rate = rows / (time.perf_counter() - started)
        with base.connect("writer") as conn:
            with conn.transaction():
                oid = ensure_local_observer(conn, "direct")
            direct = []
            for k in range(args.runs):
                data = FILE.read_bytes().replace(b"16:27:45.652", f"16:27:{k:02d}.652".encode())
                started = time.perf_counter()
                ingest_file(conn, data, observer_id=oid, name=FILE.name)
                direct.append(time.perf_counter() - started)
        base.dispose()

        rate, fluxes, elapsed = throughput(
            fresh(home, superuser, "bench_jobs"), home, uploads, args.workers
        )
        assert fluxes == rows, (fluxes, rows)
        seconds = latency(fresh(home, superuser, "bench_latency"), home, args.runs)
        cold = latency(
            fresh(home, superuser, "bench_latency_cold"), home, args.cold_runs, warm=False
        )

        print(f"baseline: ingest_files in one process   {base_rate:>10,.0f} fluxes/s")
        print(
            f"queue + {args.workers} workers (papermill)      {rate:>10,.0f} fluxes/s"
            f"   ({fluxes:,} fluxes in {elapsed:.1f} s; {rate / base_rate:.2f}x baseline)"
        )
        med, med_direct = statistics.median(seconds), statistics.median(direct)
        print(
            f"latency, job queued to searchable, correct_file.csv: median {med:.2f} s"
            f" (runs: {', '.join(f'{s:.2f}' for s in seconds)}); target < 5 s"
        )
        cold_runs = ", ".join(f"{s:.2f}" for s in cold)
        print(
            f"latency with no warm kernel (each job starts its own): median"
            f" {statistics.median(cold):.2f} s (runs: {cold_runs})"
        )
        print(
            f"baseline latency, ingest_file directly: median {med_direct:.2f} s;"
            f" queue + notebook / direct = {med / med_direct:.1f}x"
        )
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "files": args.files,
                        "fluxes": rows,
                        "workers": args.workers,
                        "throughput_fluxes_per_s": rate,
                        "baseline_fluxes_per_s": base_rate,
                        "latency_s": seconds,
                        "cold_kernel_latency_s": cold,
                        "direct_latency_s": direct,
                    },
                    indent=2,
                )
            )
    finally:
        EmbeddedPostgres(home).stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
