"""An upload as the catalogue records it: the upload, its files and its job, created together.

The api service writes the files to disk first (under a reserved upload id), then calls
:func:`record_upload`: the ``upload`` row, one ``upload_input`` row per file and the queued
``ingest_job`` are committed in one transaction, or none of them are.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from aphos_lib import queries
from aphos_lib.jobs.queue import enqueue, in_flight
from aphos_lib.uploads.receive import ReceivedFile

__all__ = ["TooManyInFlight", "check_in_flight", "record_upload", "reserve_upload_id"]


class TooManyInFlight(RuntimeError):
    """The observer already has the most jobs allowed queued or running."""


def reserve_upload_id(conn: psycopg.Connection) -> int:
    """A fresh upload id, taken before the upload exists so its files can be named by it."""
    return queries.uploads.new_id().value(conn)


def check_in_flight(conn: psycopg.Connection, observer_id: int, limit: int) -> None:
    """Raise :class:`TooManyInFlight` when the observer has ``limit`` jobs not ended."""
    busy = in_flight(conn, observer_id)
    if busy >= limit:
        raise TooManyInFlight(
            f"you have {busy} uploads waiting or being stored (at most {limit}): "
            "wait for one to finish and send again"
        )


def record_upload(
    conn: psycopg.Connection,
    upload_id: int,
    observer_id: int,
    files: Sequence[ReceivedFile],
    *,
    client: str = "api",
    max_in_flight: int = 4,
) -> int:
    """Create the upload, its files and its queued job in one transaction; return the job id.

    Parameters
    ----------
    conn : psycopg.Connection
        A connection as the writer role, not inside a transaction.
    upload_id : int
        From :func:`reserve_upload_id`.
    observer_id : int
        The observer sending the files.
    files : sequence of ReceivedFile
        The files, already on disk.
    client : str
        What sent them (``api``, ``notebook``, ``widget``), recorded with the upload.
    max_in_flight : int
        The most jobs the observer may have queued or running, this one included.

    Raises
    ------
    TooManyInFlight
        Nothing is recorded then.
    """
    with conn.transaction():
        # Locking the observer's row makes two uploads sent at once count each other.
        queries.uploads.lock_observer(observer_id).one(conn)
        check_in_flight(conn, observer_id, max_in_flight)
        queries.uploads.add(upload_id, observer_id, client).run(conn)
        received = [(f.position, f.filename, f.stored_name, f.size_bytes, f.sha256) for f in files]
        queries.uploads.add_inputs(upload_id, received).run(conn)
        return enqueue(conn, upload_id)
