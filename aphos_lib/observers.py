"""Observers: who uploaded what, identified by a stable id and a public username."""

from __future__ import annotations

import re

import psycopg

__all__ = ["InvalidUsername", "ensure_local_observer", "validate_username"]

_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{1,31}$")


class InvalidUsername(ValueError):
    """A username that may not be used; the message says why."""


def validate_username(name: str) -> str:
    """Check a public username: 2-32 characters, a letter first, then letters, digits, ``_.-``.

    Returns
    -------
    str
        The name as given (uniqueness is case-insensitive but the spelling is kept).

    Examples
    --------
    >>> validate_username("novak")
    'novak'
    """
    if not _USERNAME.match(name):
        raise InvalidUsername(
            f"username {name!r} must be 2-32 characters: a letter, then letters, digits, "
            "'_', '.' or '-'"
        )
    return name


def ensure_local_observer(conn: psycopg.Connection, username: str) -> int:
    """The id of the local observer ``username``, created when it does not exist.

    Local observers are the ones created from the command line (provider ``local``). The
    lookup is case-insensitive, like the uniqueness of usernames; concurrent callers get the
    same observer.
    """
    validate_username(username)
    row = conn.execute(
        "INSERT INTO observer (username, provider) VALUES (%s, 'local') "
        "ON CONFLICT (lower(username)) DO NOTHING RETURNING id",
        (username,),
    ).fetchone()
    if row is None:
        row = conn.execute(
            "SELECT id FROM observer WHERE lower(username) = lower(%s)", (username,)
        ).fetchone()
    return row[0]
