"""Uploads: the files an observer sent, their inputs and each file's recorded outcome."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from aphos_lib.queries.query import Query

__all__ = [
    "add",
    "add_inputs",
    "existing",
    "file_outcomes",
    "inputs",
    "lock_observer",
    "new_id",
    "recorded_positions",
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
