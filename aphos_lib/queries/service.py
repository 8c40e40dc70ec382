"""The database server itself: whether it answers, and its clock."""

from __future__ import annotations

from aphos_lib.queries.query import Query

__all__ = ["now", "ping"]


def ping() -> Query:
    """A statement that touches the catalogue's tables: it answers when they can be read.

    Examples
    --------
    >>> ping().text()
    'SELECT 1 FROM observer LIMIT 1'
    """
    return Query("SELECT 1 FROM observer LIMIT 1")


def now() -> Query:
    """The server's time at the start of the transaction (timezone-aware).

    Examples
    --------
    >>> now().text()
    'SELECT now()'
    """
    return Query("SELECT now()")
