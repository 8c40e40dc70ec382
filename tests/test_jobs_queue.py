"""The ingest job queue on real PostgreSQL: enqueue, claim, heartbeat, takeover, retries."""

from __future__ import annotations

import time

import psycopg
import pytest

from aphos_lib.db.catalogue import Catalogue
from aphos_lib.ingest import start_upload
from aphos_lib.jobs import queue
from aphos_lib.observers import ensure_local_observer

pytestmark = pytest.mark.catalogue


def new_upload(conn: psycopg.Connection, observer: str = "novak", files: int = 2) -> int:
    """An upload as the api leaves it: its files received under stored names, not yet queued."""
    with conn.transaction():
        observer_id = ensure_local_observer(conn, observer)
    upload_id = start_upload(conn, observer_id, "api")
    with conn.transaction():
        for k in range(files):
            conn.execute(
                "INSERT INTO upload_input (upload_id, position, filename, stored_name,"
                " size_bytes, sha256) VALUES (%s, %s, %s, %s, 1, '\\x00')",
                (upload_id, k, f"f{k}.csv", f"{upload_id}/{k}.csv"),
            )
    return upload_id


def job_row(conn: psycopg.Connection, job_id: int) -> tuple:
    return conn.execute(
        "SELECT state, attempts, worker, files_total, files_done, error FROM ingest_job"
        " WHERE id = %s",
        (job_id,),
    ).fetchone()


def test_enqueue_creates_a_queued_job_in_the_callers_transaction(writer):
    upload_id = new_upload(writer, files=3)
    with writer.transaction():
        job_id = queue.enqueue(writer, upload_id)
        observer_id = writer.execute(
            "SELECT observer_id FROM upload WHERE id = %s", (upload_id,)
        ).fetchone()[0]
        assert queue.in_flight(writer, observer_id) == 1
    assert job_row(writer, job_id) == ("queued", 0, None, 3, 0, None)
    with pytest.raises(LookupError):
        queue.enqueue(writer, upload_id + 1000)
    writer.rollback()
    # A rolled-back transaction leaves no job.
    other = new_upload(writer, "svoboda")
    with pytest.raises(RuntimeError), writer.transaction():
        queue.enqueue(writer, other)
        raise RuntimeError("the api failed after enqueueing")
    assert writer.execute("SELECT count(*) FROM ingest_job").fetchone()[0] == 1


def test_enqueue_notifies_listening_workers_on_commit(catalogue: Catalogue, writer):
    upload_id = new_upload(writer)
    with catalogue.connect("writer", autocommit=True) as listener:
        listener.execute(f"LISTEN {queue.CHANNEL}")
        with writer.transaction():
            job_id = queue.enqueue(writer, upload_id)
        notes = [n.payload for n in listener.notifies(timeout=5, stop_after=1)]
    assert notes == [str(job_id)]


def test_claim_takes_the_oldest_job_once_and_counts_an_attempt(catalogue: Catalogue, writer):
    with writer.transaction():
        first = queue.enqueue(writer, new_upload(writer))
        second = queue.enqueue(writer, new_upload(writer))
    with catalogue.connect("writer") as other:
        a = queue.claim(writer, "a", heartbeat_timeout=60)
        b = queue.claim(other, "b", heartbeat_timeout=60)
        assert queue.claim(other, "c", heartbeat_timeout=60) is None
    assert (a.id, a.attempt, a.worker, a.files_total) == (first, 1, "a", 2)
    assert (b.id, b.attempt, b.worker) == (second, 1, "b")
    assert job_row(writer, first)[:3] == ("running", 1, "a")
    assert queue.queue_depth(writer) == (0, 2)


def test_a_claim_in_progress_is_skipped_not_waited_for(catalogue: Catalogue, writer):
    with writer.transaction():
        first = queue.enqueue(writer, new_upload(writer))
        second = queue.enqueue(writer, new_upload(writer))
    with catalogue.connect("writer") as holder, holder.transaction():
        holder.execute("SELECT 1 FROM ingest_job WHERE id = %s FOR UPDATE", (first,))
        started = time.monotonic()
        job = queue.claim(writer, "b", heartbeat_timeout=60)
        assert time.monotonic() - started < 2
    assert job.id == second


def test_heartbeat_and_finish_only_for_the_owner_after_a_takeover(catalogue: Catalogue, writer):
    with writer.transaction():
        upload_id = new_upload(writer, files=1)
        job_id = queue.enqueue(writer, upload_id)
    dead = queue.claim(writer, "dead", heartbeat_timeout=60)
    assert queue.heartbeat(writer, dead, files_done=0)
    # Not stale yet: nobody else may take it.
    assert queue.claim(writer, "alive", heartbeat_timeout=60) is None
    time.sleep(0.3)
    alive = queue.claim(writer, "alive", heartbeat_timeout=0.2)
    assert (alive.id, alive.attempt) == (job_id, 2)
    assert not queue.heartbeat(writer, dead, files_done=1)
    assert not queue.finish(writer, dead, "done")
    assert queue.heartbeat(writer, alive, files_done=1)
    writer.execute(
        "INSERT INTO upload_file (upload_id, position, filename, status) VALUES (%s, 0, 'f', "
        "'duplicate')",
        (upload_id,),
    )
    writer.commit()
    assert queue.finish(writer, alive, "done", report_path="reports/x.ipynb")
    assert job_row(writer, job_id) == ("done", 2, "alive", 1, 1, None)
    state, finished = writer.execute(
        "SELECT state, finished_at IS NOT NULL FROM upload WHERE id = %s", (upload_id,)
    ).fetchone()
    assert (state, finished) == ("stored", True)
    assert queue.in_flight(writer, alive.observer_id) == 0


def test_retries_stop_at_max_attempts(writer):
    with writer.transaction():
        upload_id = new_upload(writer, files=1)
        job_id = queue.enqueue(writer, upload_id)
    states = []
    for k in range(3):
        job = queue.claim(writer, f"w{k}", heartbeat_timeout=60)
        assert job.attempt == k + 1
        states.append(queue.retry(writer, job, f"boom {k}"))
    assert states == ["queued", "queued", "failed"]
    assert queue.claim(writer, "w", heartbeat_timeout=60) is None
    assert job_row(writer, job_id) == ("failed", 3, "w2", 1, 0, "boom 2")
    assert writer.execute("SELECT state FROM upload WHERE id = %s", (upload_id,)).fetchone() == (
        "failed",
    )


def test_a_job_whose_workers_all_died_fails_at_max_attempts(writer):
    with writer.transaction():
        job_id = queue.enqueue(writer, new_upload(writer, files=1))
    for k in range(3):
        assert queue.claim(writer, f"w{k}", heartbeat_timeout=0).attempt == k + 1
    time.sleep(0.05)
    assert queue.claim(writer, "last", heartbeat_timeout=0) is None
    state, attempts, worker, _, _, error = job_row(writer, job_id)
    assert (state, attempts, worker) == ("failed", 3, "w2")
    assert error == "gave up after 3 attempts: worker w2 stopped responding during the last one"
