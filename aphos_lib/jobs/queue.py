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

_COLUMNS = "id, upload_id, observer_id, attempts, max_attempts, worker, files_total"


@dataclass(frozen=True)
class Job:
    """One claim of an ingest job: the job and the attempt this worker is making.

    A worker owns the job while the row still names it as ``worker`` at this ``attempt``;
    after a takeover its heartbeats and results are refused.
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
    row = conn.execute(
        """
        INSERT INTO ingest_job (upload_id, observer_id, files_total)
        SELECT u.id, u.observer_id,
               (SELECT count(*) FROM upload_input i WHERE i.upload_id = u.id)
        FROM upload u WHERE u.id = %s
        RETURNING id
        """,
        (upload_id,),
    ).fetchone()
    if row is None:
        raise LookupError(f"no upload {upload_id}")
    conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(row[0])))
    return row[0]


# The oldest job this worker may take: queued, or running with a stale heartbeat (its worker
# died). Locked rows belong to another claim in progress and are skipped, not waited for.
_CANDIDATE = """
    SELECT id, attempts, max_attempts, worker FROM ingest_job
    WHERE state = 'queued'
       OR (state = 'running'
           AND heartbeat_at < clock_timestamp() - make_interval(secs => %s))
    ORDER BY id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
"""


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
            row = conn.execute(_CANDIDATE, (heartbeat_timeout,)).fetchone()
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
            claimed = conn.execute(
                f"""
                UPDATE ingest_job SET state = 'running', attempts = attempts + 1, worker = %s,
                    heartbeat_at = clock_timestamp(),
                    started_at = coalesce(started_at, clock_timestamp())
                WHERE id = %s
                RETURNING {_COLUMNS}
                """,
                (worker_name, job_id),
            ).fetchone()
            return Job(*claimed)


def _owned(job: Job) -> tuple:
    return (job.id, job.worker, job.attempt)


_OWNED = "id = %s AND worker = %s AND attempts = %s AND state = 'running'"


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
        return (
            conn.execute(
                f"UPDATE ingest_job SET heartbeat_at = clock_timestamp(),"
                f" files_done = coalesce(%s, files_done) WHERE {_OWNED}",
                (files_done, *_owned(job)),
            ).rowcount
            == 1
        )


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
        owned = conn.execute(
            f"SELECT 1 FROM ingest_job WHERE {_OWNED} FOR UPDATE", _owned(job)
        ).fetchone()
        if owned is None:
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
        changed = conn.execute(
            f"UPDATE ingest_job SET state = 'queued', worker = NULL, heartbeat_at = NULL,"
            f" error = %s, report_path = coalesce(%s, report_path) WHERE {_OWNED}",
            (error, report_path, *_owned(job)),
        ).rowcount
        if changed:
            conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, str(job.id)))
    return "queued" if changed else "lost"


def _close(
    conn: psycopg.Connection, job_id: int, state: str, error: str | None, report_path: str | None
) -> None:
    upload_id = conn.execute(
        "UPDATE ingest_job SET state = %s, error = %s, report_path = coalesce(%s, report_path),"
        " finished_at = clock_timestamp() WHERE id = %s RETURNING upload_id",
        (state, error, report_path, job_id),
    ).fetchone()[0]
    conn.execute(
        """
        UPDATE upload u SET finished_at = clock_timestamp(), state = CASE
            WHEN f.ok = j.files_total AND j.files_total > 0 THEN 'stored'
            WHEN f.ok > 0 THEN 'partial' ELSE 'failed' END
        FROM ingest_job j,
             (SELECT count(*) FILTER (WHERE status IN ('stored', 'duplicate')) AS ok
              FROM upload_file WHERE upload_id = %s) f
        WHERE u.id = %s AND j.upload_id = u.id
        """,
        (upload_id, upload_id),
    )


def in_flight(conn: psycopg.Connection, observer_id: int) -> int:
    """The observer's jobs not ended yet (queued or running), for the per-observer limit."""
    return conn.execute(
        "SELECT count(*) FROM ingest_job WHERE observer_id = %s AND state IN ('queued', 'running')",
        (observer_id,),
    ).fetchone()[0]


def queue_depth(conn: psycopg.Connection) -> tuple[int, int]:
    """The numbers of queued and running jobs, for the worker's health."""
    return conn.execute(
        "SELECT count(*) FILTER (WHERE state = 'queued'),"
        " count(*) FILTER (WHERE state = 'running') FROM ingest_job"
        " WHERE state IN ('queued', 'running')"
    ).fetchone()
