"""What one ingest job does: store its upload's files one by one, each exactly once.

The job's notebook (``aphos_lib/jobs/ingest_sips.ipynb``) calls :func:`run_upload`; tests call
it directly. Each file is one transaction that also records the file's ``upload_file`` row,
so a file is either wholly in the catalogue with its outcome, or not at all. A retry after a
crash therefore skips the positions already recorded and stores only the rest; the unique
(upload, position) key refuses a second outcome if two attempts ever overlap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import psycopg

from aphos_lib import queries
from aphos_lib.db.catalogue import Catalogue
from aphos_lib.ingest import FOLD_EVERY, ObjectCache, fold_flux_counts, ingest_file, ingest_parsed
from aphos_lib.io.sips import read_sips
from aphos_lib.jobs import queue
from aphos_lib.jobs.queue import Job
from aphos_lib.jobs.storage import stored_path

if TYPE_CHECKING:
    from pandas.io.formats.style import Styler

__all__ = ["JobLost", "OUTCOME_COLUMNS", "outcome_table", "outcomes", "run_job", "run_upload"]

OUTCOME_COLUMNS = (
    "position",
    "file",
    "status",
    "fluxes",
    "matched",
    "unmatched",
    "rejected_rows",
    "rejected_count",
    "error",
)
# The rejected rows the report's table shows of each file.
TABLE_ROWS = 20


class JobLost(RuntimeError):
    """This worker no longer owns the job (another took it over): it must stop."""


def run_upload(conn: psycopg.Connection, job: Job, files: Iterable[Mapping[str, Any]]) -> int:
    """Store each file of the job's upload not stored yet, recording progress after each.

    Parameters
    ----------
    conn : psycopg.Connection
        A connection as the writer role, not inside a transaction.
    job : Job
        This worker's claim of the job.
    files : iterable of mapping
        The upload's files: ``position``, ``filename`` (the client's name, reported only) and
        ``stored_name`` (where the api stored it, see :mod:`aphos_lib.jobs.storage`).

    Returns
    -------
    int
        How many files this attempt recorded (stored, duplicate or rejected); the files an
        earlier attempt recorded are skipped.

    Raises
    ------
    JobLost
        When another worker has taken the job over; the file in progress is not recorded.
    """
    recorded = _recorded_positions(conn, job.upload_id)
    known = ObjectCache()  # a night of one field asks the database once per star
    done = len(recorded)
    stored = 0
    for f in sorted(files, key=lambda f: f["position"]):
        if f["position"] in recorded:
            continue
        if not queue.heartbeat(conn, job, files_done=done):
            raise JobLost(f"job {job.id} was taken over by another worker")
        try:
            _store(conn, job, f, known)
        except psycopg.errors.UniqueViolation as exc:
            # Another attempt recorded this position meanwhile: that one counts, not ours.
            if exc.diag.constraint_name != "upload_file_upload_position_key":
                raise
            lost = f"job {job.id}: file {f['position']} was stored by another worker"
            raise JobLost(lost) from exc
        done += 1
        stored += 1
        if stored % FOLD_EVERY == 0:
            fold_flux_counts(conn)
    # The files' flux counts, left pending by each file's transaction; counts a lost attempt
    # left are folded by the next ingest.
    fold_flux_counts(conn)
    if not queue.heartbeat(conn, job, files_done=done):
        raise JobLost(f"job {job.id} was taken over by another worker")
    return stored


def _store(conn: psycopg.Connection, job: Job, f: Mapping[str, Any], known: ObjectCache) -> None:
    """One file in one transaction, with its outcome row."""
    path = stored_path(f["stored_name"])
    try:
        parsed = read_sips(path, name=f["filename"])
    except Exception:
        # Unreadable: ingest_file records the rejection with its reason (or raises what is
        # not a reason to reject the file).
        parsed = None
    if parsed is None:
        ingest_file(
            conn,
            path,
            observer_id=job.observer_id,
            upload_id=job.upload_id,
            position=f["position"],
            name=f["filename"],
            fold=False,
        )
    else:
        ingest_parsed(
            conn,
            parsed,
            observer_id=job.observer_id,
            upload_id=job.upload_id,
            position=f["position"],
            known_objects=known,
            fold=False,
        )


def _recorded_positions(conn: psycopg.Connection, upload_id: int) -> set[int]:
    with conn.transaction():
        return {p for (p,) in queries.uploads.recorded_positions(upload_id).rows(conn)}


def outcomes(conn: psycopg.Connection, upload_id: int) -> list[dict[str, Any]]:
    """Each file's recorded outcome, in upload order, as :data:`OUTCOME_COLUMNS` dicts.

    ``rejected_rows`` lists ``{line, reason}`` of the file's rows that were not stored (the
    first 1,000 of ``rejected_count``).
    """
    with conn.transaction():
        rows = queries.uploads.file_outcomes(upload_id).rows(conn)
    return [dict(zip(OUTCOME_COLUMNS, r, strict=True)) for r in rows]


def run_job(
    *,
    job_id: int,
    upload_id: int,
    observer_id: int,
    worker: str,
    attempt: int,
    files: list[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """The job notebook's one call: run the claimed job, return every file's outcome.

    Connects as the writer role named by the environment the worker gave the kernel, so no
    database login is ever written into the notebook (which the observer may read).
    """
    job = Job(job_id, upload_id, observer_id, attempt, attempt, worker, len(files))
    with Catalogue.from_environment(start=False).connect("writer") as conn:
        run_upload(conn, job, files)
        return outcomes(conn, upload_id)


def outcome_table(rows: list[dict[str, Any]]) -> Styler:
    """The per-file outcomes as a table to read: one row per file, its first
    :data:`TABLE_ROWS` rejected rows as text.

    A styled table, so that the report shows every reason and error in full (a plain
    DataFrame cuts long text at 50 characters). Every cell is HTML-escaped: file names and
    reasons come from the observer's files, and the report is shown as a page of the hub.
    """
    import pandas as pd  # only to show the table: the job itself does not wait for it

    table = pd.DataFrame(rows, columns=list(OUTCOME_COLUMNS)).set_index("position")
    table["rejected_rows"] = [
        "; ".join(
            [f"line {r['line']}: {r['reason']}" for r in rejected[:TABLE_ROWS]]
            + ([f"{count - TABLE_ROWS:,} more"] if count > TABLE_ROWS else [])
        )
        for rejected, count in zip(table["rejected_rows"], table["rejected_count"], strict=True)
    ]
    return table.style.format(na_rep="", escape="html")
