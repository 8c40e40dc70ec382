"""The ingest job queue: one ``ingest_job`` row per upload, claimed by the workers.

A worker finds its :func:`candidate` (queued, or running with a stale heartbeat: its worker
died) with ``FOR UPDATE SKIP LOCKED``, so two workers never take one job, and :func:`take`
claims it. While the row names the worker at the attempt it made (:data:`OWNED`) the job is the
worker's: its :func:`heartbeat`, :func:`requeue` and :func:`lock_owned` change nothing once
another worker took it over. :func:`close` ends a job and :func:`close_upload` its upload.

Examples
--------
>>> q = candidate(heartbeat_timeout=30.0)
>>> q.text().split()[-4:]
['FOR', 'UPDATE', 'SKIP', 'LOCKED']
>>> q.params
(30.0,)
"""

from __future__ import annotations

from aphos_lib.queries.query import Query

__all__ = [
    "JOB_COLUMNS",
    "OWNED",
    "candidate",
    "close",
    "close_upload",
    "depth",
    "enqueue",
    "heartbeat",
    "in_flight",
    "lock_owned",
    "notify",
    "requeue",
    "take",
]

#: The columns :func:`take` returns, in the order of ``aphos_lib.jobs.queue.Job``'s fields.
JOB_COLUMNS = "id, upload_id, observer_id, attempts, max_attempts, worker, files_total"
#: The job is still this worker's at this attempt: parameters job id, worker, attempt.
OWNED = "id = %s AND worker = %s AND attempts = %s AND state = 'running'"


def enqueue(upload_id: int) -> Query:
    """Queue the upload's job (its observer's, with as many files as the upload received);
    its id, or no row when there is no such upload.

    Examples
    --------
    >>> enqueue(9).params
    (9,)
    """
    statement = """
        INSERT INTO ingest_job (upload_id, observer_id, files_total)
        SELECT u.id, u.observer_id,
               (SELECT count(*) FROM upload_input i WHERE i.upload_id = u.id)
        FROM upload u WHERE u.id = %s
        RETURNING id
        """
    return Query(statement, (upload_id,))


def notify(channel: str, job_id: int) -> Query:
    """Tell the workers listening on ``channel`` that the job is waiting (delivered at
    commit).

    Examples
    --------
    >>> notify("aphos_ingest_job", 7).params
    ('aphos_ingest_job', '7')
    """
    return Query("SELECT pg_notify(%s, %s)", (channel, str(job_id)))


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


def candidate(heartbeat_timeout: float) -> Query:
    """The oldest job a worker may claim, locked: queued, or running without a heartbeat for
    ``heartbeat_timeout`` seconds. One row ``(id, attempts, max_attempts, worker)`` or none.

    Examples
    --------
    >>> "heartbeat_at < clock_timestamp() - make_interval(secs => %s)" in candidate(60).text()
    True
    """
    return Query(_CANDIDATE, (heartbeat_timeout,))


_TAKE = f"""
                UPDATE ingest_job SET state = 'running', attempts = attempts + 1, worker = %s,
                    heartbeat_at = clock_timestamp(),
                    started_at = coalesce(started_at, clock_timestamp())
                WHERE id = %s
                RETURNING {JOB_COLUMNS}
                """


def take(job_id: int, worker: str) -> Query:
    """Make the locked :func:`candidate` this worker's next attempt; its :data:`JOB_COLUMNS`.

    Examples
    --------
    >>> take(7, "host:12").params
    ('host:12', 7)
    """
    return Query(_TAKE, (worker, job_id))


_HEARTBEAT = (
    f"UPDATE ingest_job SET heartbeat_at = clock_timestamp(),"
    f" files_done = coalesce(%s, files_done) WHERE {OWNED}"
)


def heartbeat(job_id: int, worker: str, attempt: int, files_done: int | None) -> Query:
    """The worker is alive (with ``files_done`` when not None); changes no row when the job is
    no longer this worker's attempt.

    Examples
    --------
    >>> heartbeat(7, "host:12", 2, None).params
    (None, 7, 'host:12', 2)
    """
    return Query(_HEARTBEAT, (files_done, job_id, worker, attempt))


def lock_owned(job_id: int, worker: str, attempt: int) -> Query:
    """Lock the job while it is still this worker's attempt; no row when it is not.

    Examples
    --------
    >>> lock_owned(7, "host:12", 2).text().endswith("FOR UPDATE")
    True
    """
    return Query(f"SELECT 1 FROM ingest_job WHERE {OWNED} FOR UPDATE", (job_id, worker, attempt))


_REQUEUE = (
    f"UPDATE ingest_job SET state = 'queued', worker = NULL, heartbeat_at = NULL,"
    f" error = %s, report_path = coalesce(%s, report_path) WHERE {OWNED}"
)


def requeue(job_id: int, worker: str, attempt: int, error: str, report_path: str | None) -> Query:
    """Queue the job again after this worker's failed attempt; changes no row when the job is
    no longer this worker's.

    Examples
    --------
    >>> requeue(7, "host:12", 1, "boom", None).params
    ('boom', None, 7, 'host:12', 1)
    """
    return Query(_REQUEUE, (error, report_path, job_id, worker, attempt))


def close(job_id: int, state: str, error: str | None, report_path: str | None) -> Query:
    """End the job as ``done`` or ``failed``; its upload's id.

    Examples
    --------
    >>> close(7, "failed", "boom", None).params
    ('failed', 'boom', None, 7)
    """
    return Query(
        "UPDATE ingest_job SET state = %s, error = %s, report_path = coalesce(%s, report_path),"
        " finished_at = clock_timestamp() WHERE id = %s RETURNING upload_id",
        (state, error, report_path, job_id),
    )


def close_upload(upload_id: int) -> Query:
    """End the job's upload: ``stored`` when every file is in the catalogue (stored now or
    before), ``partial`` when some are, else ``failed``.

    Examples
    --------
    >>> close_upload(9).params
    (9, 9)
    """
    statement = """
        UPDATE upload u SET finished_at = clock_timestamp(), state = CASE
            WHEN f.ok = j.files_total AND j.files_total > 0 THEN 'stored'
            WHEN f.ok > 0 THEN 'partial' ELSE 'failed' END
        FROM ingest_job j,
             (SELECT count(*) FILTER (WHERE status IN ('stored', 'duplicate')) AS ok
              FROM upload_file WHERE upload_id = %s) f
        WHERE u.id = %s AND j.upload_id = u.id
        """
    return Query(statement, (upload_id, upload_id))


def in_flight(observer_id: int) -> Query:
    """How many of the observer's jobs are queued or running.

    Examples
    --------
    >>> in_flight(3).params
    (3,)
    """
    return Query(
        "SELECT count(*) FROM ingest_job WHERE observer_id = %s AND state IN ('queued', 'running')",
        (observer_id,),
    )


def depth() -> Query:
    """One row: the numbers of queued and of running jobs.

    Examples
    --------
    >>> "FILTER (WHERE state = 'queued')" in depth().text()
    True
    """
    return Query(
        "SELECT count(*) FILTER (WHERE state = 'queued'),"
        " count(*) FILTER (WHERE state = 'running') FROM ingest_job"
        " WHERE state IN ('queued', 'running')"
    )
