"""Observers: who uploaded how many images, and when."""

from __future__ import annotations

from aphos_lib.queries.query import Query

__all__ = ["by_images", "upload_span"]


def by_images(limit: int) -> Query:
    """Usernames with their image counts, most images first (then by name), at most ``limit``.

    Examples
    --------
    >>> by_images(limit=3).params
    (3,)
    """
    return Query(
        "SELECT o.username, count(i.id) FROM observer o LEFT JOIN image i"
        " ON i.observer_id = o.id GROUP BY o.id ORDER BY count(i.id) DESC, lower(o.username)"
        " LIMIT %s",
        (limit,),
    )


def upload_span(username: str) -> Query:
    """The first and last upload time of ``username`` (any case); NULLs before any upload.

    Examples
    --------
    >>> upload_span("Novak").params
    ('Novak',)
    """
    return Query(
        "SELECT min(u.created_at), max(u.created_at) FROM upload u JOIN observer o "
        "ON o.id = u.observer_id WHERE lower(o.username) = lower(%s)",
        (username,),
    )
