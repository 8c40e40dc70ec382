"""Uploads: the files an observer sent, their inputs and each file's recorded outcome."""

from __future__ import annotations

from collections.abc import Iterable

from aphos_lib.queries.query import Query

__all__ = ["existing", "file_outcomes", "inputs", "recorded_positions"]


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
