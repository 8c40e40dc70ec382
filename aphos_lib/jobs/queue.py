"""The ingest job queue, in PostgreSQL only (no other broker).

One ``ingest_job`` row per upload. A worker claims the oldest job it can lock with
``FOR UPDATE SKIP LOCKED``, so two workers never take the same job; it refreshes
``heartbeat_at`` while it works. A running job whose heartbeat is older than the timeout
belongs to a dead worker and is taken over. Each claim counts one attempt; a job that has
used ``max_attempts`` is failed instead of claimed again.

:func:`enqueue` notifies :data:`CHANNEL` (delivered when the caller commits), so idle
workers that ``LISTEN`` wake at once instead of polling. All functions take a psycopg
connection as the writer role.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from aphos_lib import queries

__all__ = [
    "CHANNEL",
    "Job",
    "claim",
    "enqueue",
    "finish",
    "heartbeat",
    "in_flight",
    "queue_depth",
    "retry",
]

CHANNEL = "aphos_ingest_job"


@dataclass(frozen=True)
class Job:
    """One claim of an ingest job: the job and the attempt this worker is making.

    A worker owns the job while the row still names it as ``worker`` at this ``attempt``;
    after a takeover its heartbeats and results are refused. The fields are in the order of
    :data:`aphos_lib.queries.jobs.JOB_COLUMNS`.
    """

    id: int
    upload_id: int
    observer_id: int
    attempt: int
    max_attempts: int
    worker: str
    files_total: int


def enqueue(conn: psycopg.Connection, upload_id: int) -> int:
    """Queue the ingest job of an upload, in the caller's transaction.

    The job's observer is the upload's, and ``files_total`` is the number of files the
    upload received (its ``upload_input`` rows), so insert those first. Workers are notified
    when the caller commits.

    Parameters
    ----------
    conn : psycopg.Connection
        A connection as the writer role; nothing is committed here.
    upload_id : int
        The upload, which must exist and have no job yet.

    Returns
    -------
    int
        The job's id.

    Raises
    ------
    LookupError
        When there is no such upload.
    psycopg.errors.UniqueViolation
        When the upload already has a job.
    """
    job_id = queries.jobs.enqueue(upload_id).value(conn)
    if job_id is None:
        raise LookupError(f"no upload {upload_id}")
    queries.jobs.notify(CHANNEL, job_id).run(conn)
    return job_id


def claim(conn: psycopg.Connection, worker_name: str, *, heartbeat_timeout: float) -> Job | None:
    """Take the oldest job that is queued or whose worker stopped heartbeating, and commit.

    A job that has already used its ``max_attempts`` is marked failed (with its upload) and
    the next one is tried.

    Parameters
    ----------
    conn : psycopg.Connection
        A connection as the writer role, not inside a transaction.
    worker_name : str
        This worker, unique among the running workers (e.g. ``host:pid``).
    heartbeat_timeout : float
        Seconds without a heartbeat after which a running job counts as abandoned.

    Returns
    -------
    Job or None
        The claimed job, or None when there is nothing to do.
    """
    while True:
        with conn.transaction():
            # Locked rows belong to another claim in progress: skipped, not waited for.
            row = queries.jobs.candidate(heartbeat_timeout).one(conn)
            if row is None:
                return None
            job_id, attempts, max_attempts, previous = row
            if attempts >= max_attempts:
                why = (
                    f"gave up after {attempts} attempts: worker {previous} stopped "
                    "responding during the last one"
                )
                _close(conn, job_id, "failed", why, None)
                continue
            return Job(*queries.jobs.take(job_id, worker_name).one(conn))


def heartbeat(conn: psycopg.Connection, job: Job, files_done: int | None = None) -> bool:
    """Record that the worker is alive (and how many files are done), and commit.

    Parameters
    ----------
    conn : psycopg.Connection
        A connection as the writer role, not inside a transaction.
    job : Job
        The claim.
    files_done : int, optional
        Files finished so far; unchanged when None.

    Returns
    -------
    bool
        False when this worker no longer owns the job (it was taken over): stop working on it.
    """
    with conn.transaction():
        beat = queries.jobs.heartbeat(job.id, job.worker, job.attempt, files_done)
        return beat.run(conn) == 1


def finish(
    conn: psycopg.Connection,
    job: Job,
    state: str,
    error: str | None = None,
    report_path: str | None = None,
) -> bool:
    """End a job as ``done`` or ``failed``, with its upload, and commit.

    The upload's state follows its files' outcomes: ``stored`` when every file is in the
    catalogue (stored now or before), ``partial`` when some are, else ``failed``.

    Parameters
    ----------
    conn : psycopg.Connection
        A connection as the writer role, not inside a transaction.
    job : Job
        The claim.
    state : {'done', 'failed'}
        How the job ended.
    error : str, optional
        Why it failed, one line for the observer (never a traceback).
    report_path : str, optional
        The executed notebook, relative to ``$APHOS_HOME``.

    Returns
    -------
    bool
        False when this worker no longer owns the job; nothing is changed then.
    """
    if state not in ("done", "failed"):
        raise ValueError(f"a job ends done or failed, not {state!r}")
    with conn.transaction():
        if queries.jobs.lock_owned(job.id, job.worker, job.attempt).one(conn) is None:
            return False
        _close(conn, job.id, state, error, report_path)
        return True


def retry(conn: psycopg.Connection, job: Job, error: str, report_path: str | None = None) -> str:
    """Give a job back after a failed attempt: queued again, or failed at its last attempt.

    Returns
    -------
    str
        ``queued``, ``failed``, or ``lost`` when this worker no longer owns the job.
    """
    if job.attempt >= job.max_attempts:
        return "failed" if finish(conn, job, "failed", error, report_path) else "lost"
    with conn.transaction():
        requeue = queries.jobs.requeue(job.id, job.worker, job.attempt, error, report_path)
        changed = requeue.run(conn)
        if changed:
            queries.jobs.notify(CHANNEL, job.id).run(conn)
    return "queued" if changed else "lost"


def _close(
    conn: psycopg.Connection, job_id: int, state: str, error: str | None, report_path: str | None
) -> None:
    upload_id = queries.jobs.close(job_id, state, error, report_path).value(conn)
    queries.jobs.close_upload(upload_id).run(conn)


def in_flight(conn: psycopg.Connection, observer_id: int) -> int:
    """The observer's jobs not ended yet (queued or running), for the per-observer limit."""
    return queries.jobs.in_flight(observer_id).value(conn)


def queue_depth(conn: psycopg.Connection) -> tuple[int, int]:
    """The numbers of queued and running jobs, for the worker's health."""
    return queries.jobs.depth().one(conn)
