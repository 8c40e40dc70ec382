"""Uploads: the files an observer sent, their inputs and each file's recorded outcome."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from aphos_lib.queries.query import Query

__all__ = [
    "add",
    "add_inputs",
    "count_of_observer",
    "existing",
    "file_outcomes",
    "files",
    "finish",
    "inputs",
    "lock_observer",
    "log_files",
    "log_page",
    "new_id",
    "recorded_positions",
    "report_path",
    "start",
    "state",
    "totals_of_observer",
]


def existing(upload_ids: Iterable[int]) -> Query:
    """Which of these upload ids exist.

    Examples
    --------
    >>> existing([5, 6]).params
    ([5, 6],)
    """
    return Query("SELECT id FROM upload WHERE id = ANY(%s)", (list(upload_ids),))


def inputs(upload_id: int) -> Query:
    """The upload's files as received: position, filename, stored_name, in upload order.

    Examples
    --------
    >>> inputs(5).params
    (5,)
    """
    return Query(
        "SELECT position, filename, stored_name FROM upload_input"
        " WHERE upload_id = %s ORDER BY position",
        (upload_id,),
    )


def recorded_positions(upload_id: int) -> Query:
    """Positions of the upload's files whose outcome is recorded.

    Examples
    --------
    >>> recorded_positions(5).params
    (5,)
    """
    return Query("SELECT position FROM upload_file WHERE upload_id = %s", (upload_id,))


def file_outcomes(upload_id: int) -> Query:
    """Each recorded file's outcome, in upload order: position, filename, status, fluxes,
    matched, unmatched, rejected_rows, rejected_count, error.

    Examples
    --------
    >>> file_outcomes(5).params
    (5,)
    """
    return Query(
        "SELECT position, filename, status, fluxes, matched, unmatched, rejected_rows,"
        " rejected_count, error FROM upload_file WHERE upload_id = %s ORDER BY position",
        (upload_id,),
    )


def new_id() -> Query:
    """A fresh upload id from the table's sequence, taken before the upload row exists.

    Examples
    --------
    >>> "nextval" in new_id().text()
    True
    """
    return Query("SELECT nextval(pg_get_serial_sequence('upload', 'id'))")


def lock_observer(observer_id: int) -> Query:
    """Lock the observer's row until the transaction ends: uploads sent at once queue here.

    Examples
    --------
    >>> lock_observer(3).text().endswith("FOR UPDATE")
    True
    """
    return Query("SELECT 1 FROM observer WHERE id = %s FOR UPDATE", (observer_id,))


def add(upload_id: int, observer_id: int, client: str) -> Query:
    """Record the upload, queued.

    Examples
    --------
    >>> add(9, 3, "web").params
    (9, 3, 'web')
    """
    return Query(
        "INSERT INTO upload (id, observer_id, client, state) VALUES (%s, %s, %s, 'queued')",
        (upload_id, observer_id, client),
    )


def start(observer_id: int, client: str) -> Query:
    """Record an upload that is stored as it arrives (``running``, the command line's); its
    id.

    Examples
    --------
    >>> start(3, "cli").params
    (3, 'cli')
    """
    return Query(
        "INSERT INTO upload (observer_id, client) VALUES (%s, %s) RETURNING id",
        (observer_id, client),
    )


def finish(upload_id: int, state: str) -> Query:
    """End an upload in ``state`` (``stored``, ``partial`` or ``failed``), now.

    Examples
    --------
    >>> finish(9, "partial").params
    ('partial', 9)
    """
    return Query(
        "UPDATE upload SET state = %s, finished_at = now() WHERE id = %s", (state, upload_id)
    )


def add_inputs(upload_id: int, files: Sequence[tuple[int, str, str, int, str]]) -> Query:
    """Record the upload's files as received: ``(position, filename, stored_name, size_bytes,
    sha256)`` each, in one batch.

    Examples
    --------
    >>> q = add_inputs(9, [(0, "a.csv", "9/ab.csv", 10, "00")])
    >>> q.many, q.params
    (True, [(9, 0, 'a.csv', '9/ab.csv', 10, '00')])
    """
    return Query(
        "INSERT INTO upload_input (upload_id, position, filename, stored_name,"
        " size_bytes, sha256) VALUES (%s, %s, %s, %s, %s, %s)",
        [(upload_id, *f) for f in files],
        many=True,
    )


def state(upload_id: int, observer_id: int) -> Query:
    """The observer's upload with its job: id, client, state, created_at, finished_at, then the
    job's id, state, files_done, files_total, attempts, error, started_at, finished_at and
    whether it has a report. No row when the observer has no such upload.

    Examples
    --------
    >>> state(9, 3).params
    (9, 3)
    """
    statement = """
        SELECT u.id, u.client, u.state, u.created_at, u.finished_at,
               j.id, j.state, j.files_done, j.files_total, j.attempts, j.error, j.started_at,
               j.finished_at, j.report_path IS NOT NULL
          FROM upload u LEFT JOIN ingest_job j ON j.upload_id = u.id
         WHERE u.id = %s AND u.observer_id = %s
    """
    return Query(statement, (upload_id, observer_id))


def files(upload_id: int) -> Query:
    """The files an upload received (``upload_input``) beside what became of them
    (``upload_file``), in upload order: uploads made on the command line have outcomes only,
    queued ones inputs only.

    Examples
    --------
    >>> files(9).params
    {'id': 9}
    """
    statement = """
        SELECT coalesce(i.position, f.position), coalesce(i.filename, f.filename), i.size_bytes,
               encode(coalesce(i.sha256, f.sha256), 'hex'), f.status, coalesce(f.fluxes, 0),
               coalesce(f.matched, 0), coalesce(f.unmatched, 0), coalesce(f.rejected_rows, '[]'),
               coalesce(f.rejected_count, 0), coalesce(f.warnings, '[]'),
               coalesce(f.warning_count, 0), f.error, coalesce(f.new_sources, 0)
          FROM (SELECT * FROM upload_input WHERE upload_id = %(id)s) i
          FULL JOIN (SELECT * FROM upload_file WHERE upload_id = %(id)s) f
            ON f.position = i.position
         ORDER BY 1
    """
    return Query(statement, {"id": upload_id})


def log_page(observer_id: int, limit: int, offset: int) -> Query:
    """A page of the observer's upload log, newest first: counts and messages per upload, the
    number of uploads in all as the last column.

    Examples
    --------
    >>> log_page(3, 50, 0).params
    (3, 50, 0)
    """
    statement = """
        SELECT u.id, u.created_at, u.finished_at, u.client, u.state, j.id, j.state,
               coalesce(j.files_done, f.files), greatest(coalesce(j.files_total, 0), f.files, i.n),
               f.stored, f.duplicates, f.rejected, f.fluxes, f.matched, f.unmatched,
               f.rejected_rows, array_remove(array_prepend(j.error, f.messages), NULL),
               j.report_path IS NOT NULL, j.error, count(*) OVER ()
          FROM upload u
          LEFT JOIN ingest_job j ON j.upload_id = u.id
          CROSS JOIN LATERAL (SELECT count(*) AS n FROM upload_input WHERE upload_id = u.id) i
          CROSS JOIN LATERAL (
                SELECT count(*) AS files,
                       count(*) FILTER (WHERE status = 'stored') AS stored,
                       count(*) FILTER (WHERE status = 'duplicate') AS duplicates,
                       count(*) FILTER (WHERE status = 'rejected') AS rejected,
                       coalesce(sum(fluxes), 0) AS fluxes, coalesce(sum(matched), 0) AS matched,
                       coalesce(sum(unmatched), 0) AS unmatched,
                       coalesce(sum(rejected_count), 0) AS rejected_rows,
                       coalesce(array_agg(filename || ': ' || error ORDER BY position)
                                FILTER (WHERE error IS NOT NULL), '{}') AS messages
                  FROM upload_file WHERE upload_id = u.id) f
         WHERE u.observer_id = %s
         ORDER BY u.created_at DESC, u.id DESC
         LIMIT %s OFFSET %s
    """
    return Query(statement, (observer_id, limit, offset))


def log_files(upload_ids: Iterable[int], rejected_rows: int) -> Query:
    """Each file of these uploads with its outcome and its first ``rejected_rows`` rejected
    rows (a file rejected row by row holds up to 1,000 of them: the log shows a few).

    Examples
    --------
    >>> log_files([9, 8], 10).params
    {'ids': [9, 8], 'rows': 10}
    """
    statement = """
        SELECT coalesce(i.upload_id, f.upload_id), coalesce(i.position, f.position),
               coalesce(i.filename, f.filename), f.status, coalesce(f.fluxes, 0),
               coalesce(f.matched, 0), coalesce(f.unmatched, 0),
               coalesce((SELECT jsonb_agg(r ORDER BY n) FROM jsonb_array_elements(f.rejected_rows)
                           WITH ORDINALITY AS e(r, n) WHERE n <= %(rows)s), '[]'),
               coalesce(f.rejected_count, 0), f.error, coalesce(f.new_sources, 0)
          FROM (SELECT * FROM upload_input WHERE upload_id = ANY(%(ids)s)) i
          FULL JOIN (SELECT * FROM upload_file WHERE upload_id = ANY(%(ids)s)) f
            ON f.upload_id = i.upload_id AND f.position = i.position
         ORDER BY 1, 2
    """
    return Query(statement, {"ids": list(upload_ids), "rows": rejected_rows})


def count_of_observer(observer_id: int) -> Query:
    """How many uploads the observer has.

    Examples
    --------
    >>> count_of_observer(3).params
    (3,)
    """
    return Query("SELECT count(*) FROM upload WHERE observer_id = %s", (observer_id,))


def totals_of_observer(observer_id: int) -> Query:
    """One row: the observer's uploads, files, stored, duplicate and rejected files, fluxes.

    Examples
    --------
    >>> totals_of_observer(3).params
    (3,)
    """
    statement = """
            SELECT count(DISTINCT u.id), count(f.id),
                   count(f.id) FILTER (WHERE f.status = 'stored'),
                   count(f.id) FILTER (WHERE f.status = 'duplicate'),
                   count(f.id) FILTER (WHERE f.status = 'rejected'), coalesce(sum(f.fluxes), 0)
              FROM upload u LEFT JOIN upload_file f ON f.upload_id = u.id
             WHERE u.observer_id = %s

    """
    return Query(statement, (observer_id,))


def report_path(upload_id: int, observer_id: int) -> Query:
    """The report path recorded for the job of the observer's upload (relative to
    ``$APHOS_HOME``).

    Examples
    --------
    >>> report_path(9, 3).params
    (9, 3)
    """
    return Query(
        "SELECT j.report_path FROM ingest_job j JOIN upload u ON u.id = j.upload_id"
        " WHERE u.id = %s AND u.observer_id = %s",
        (upload_id, observer_id),
    )
