"""What became of an observer's uploads: state, progress, per-file outcomes, the upload log.

Every function takes the observer's id and sees only that observer's uploads, so an upload of
someone else reads exactly as a missing one. Answers are JSON-ready (times as ISO 8601
strings, hashes as hex); the api service sends them as they are and the pages show them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg

from aphos_lib import queries
from aphos_lib.settings import aphos_home

__all__ = ["LOG_REJECTED_ROWS", "list_uploads", "report_file", "upload_status", "upload_totals"]

#: How many of a file's rejected rows the upload log lists (with how many there are in all).
LOG_REJECTED_ROWS = 10

_FILE_KEYS = (
    "position",
    "filename",
    "size_bytes",
    "sha256",
    "status",
    "fluxes",
    "matched",
    "unmatched",
    "rejected_rows",
    "rejected_count",
    "warnings",
    "warning_count",
    "error",
    "new_sources",
)

_LOG_FILE_KEYS = (
    "position",
    "filename",
    "status",
    "fluxes",
    "matched",
    "unmatched",
    "rejected_rows",
    "rejected_count",
    "error",
    "new_sources",
)

_LOG_KEYS = (
    "id",
    "created_at",
    "finished_at",
    "client",
    "state",
    "job_id",
    "job_state",
    "files_done",
    "files_total",
    "stored",
    "duplicates",
    "rejected",
    "fluxes",
    "matched",
    "unmatched",
    "rejected_rows",
    "messages",
    "has_report",
    "job_error",
)


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def upload_status(conn: psycopg.Connection, observer_id: int, upload_id: int) -> dict | None:
    """One upload of the observer: its state, its job's progress and each file's outcome.

    Parameters
    ----------
    conn : psycopg.Connection
        As the writer role (the reader cannot see jobs).
    observer_id, upload_id : int

    Returns
    -------
    dict or None
        None when the observer has no such upload. Files are in the order they were sent;
        a file's ``status`` is None until its job has stored or rejected it. Its
        ``rejected_rows`` and ``warnings`` are the first 1,000 of ``rejected_count`` and
        ``warning_count``.
    """
    row = queries.uploads.state(upload_id, observer_id).one(conn)
    if row is None:
        return None
    (
        uid,
        client,
        state,
        created,
        finished,
        job_id,
        job_state,
        done,
        total,
        attempts,
        error,
        started,
        ended,
        has_report,
    ) = row
    files = [dict(zip(_FILE_KEYS, r, strict=True)) for r in queries.uploads.files(uid).rows(conn)]
    job = None
    if job_id is not None:
        job = {
            "id": job_id,
            "state": job_state,
            "files_done": done,
            "files_total": total,
            "attempts": attempts,
            "error": error,
            "started_at": _iso(started),
            "finished_at": _iso(ended),
            "has_report": has_report,
        }
    return {
        "id": uid,
        "client": client,
        "state": state,
        "created_at": _iso(created),
        "finished_at": _iso(finished),
        "job": job,
        "files": files,
    }


def list_uploads(
    conn: psycopg.Connection,
    observer_id: int,
    *,
    limit: int = 50,
    offset: int = 0,
    files: bool = False,
) -> tuple[int, list[dict]]:
    """The observer's upload log, newest first: counts and messages per upload.

    Parameters
    ----------
    conn : psycopg.Connection
        As the writer role.
    observer_id : int
    limit, offset : int
        The page of the log.
    files : bool
        Also list each upload's files (``files``: position, filename, status, fluxes, matched,
        unmatched, new_sources, rejected_count, error and the first :data:`LOG_REJECTED_ROWS`
        ``rejected_rows`` as ``{line, reason}``), in the order they were sent; a file's
        ``status`` is None until its job has stored or rejected it.

    Returns
    -------
    (int, list of dict)
        The number of uploads the observer has, and the page asked for. ``messages`` holds
        the job's error, if any, and each rejected file's ``filename: reason``;
        ``job_error`` the job's error alone.
    """
    rows = queries.uploads.log_page(observer_id, limit, offset).rows(conn)
    total = rows[0][-1] if rows else _count(conn, observer_id)
    entries = []
    for r in rows:
        entry = dict(zip(_LOG_KEYS, r[:-1], strict=True))
        entry["created_at"], entry["finished_at"] = (
            _iso(entry["created_at"]),
            _iso(entry["finished_at"]),
        )
        entries.append(entry)
    if files:
        by_upload: dict[int, list[dict]] = {e["id"]: [] for e in entries}
        rows = queries.uploads.log_files(by_upload, LOG_REJECTED_ROWS).rows(conn)
        for upload_id, *values in rows:
            by_upload[upload_id].append(dict(zip(_LOG_FILE_KEYS, values, strict=True)))
        for entry in entries:
            entry["files"] = by_upload[entry["id"]]
    return total, entries


def _count(conn: psycopg.Connection, observer_id: int) -> int:
    return queries.uploads.count_of_observer(observer_id).value(conn)


def upload_totals(conn: psycopg.Connection, observer_id: int) -> dict[str, int]:
    """What anyone may know of an observer's uploads: counts only."""
    row = queries.uploads.totals_of_observer(observer_id).one(conn)
    keys = ("uploads", "files", "stored", "duplicates", "rejected", "fluxes")
    return dict(zip(keys, (int(v) for v in row), strict=True))


def report_file(conn: psycopg.Connection, observer_id: int, upload_id: int) -> Path | None:
    """The executed notebook of the observer's upload's job, when it has one.

    The worker records it relative to ``$APHOS_HOME``; a recorded path that would lead out of
    that folder is not served.
    """
    row = queries.uploads.report_path(upload_id, observer_id).one(conn)
    if row is None or not row[0]:
        return None
    home = aphos_home().resolve()
    path = (home / row[0]).resolve()
    if not path.is_relative_to(home) or not path.is_file():
        return None
    return path
