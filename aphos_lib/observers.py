"""Observers: who uploaded what, identified by a stable id and a public username."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import psycopg

from aphos_lib import queries

__all__ = [
    "InvalidUsername",
    "Observer",
    "ObserverNotFound",
    "ensure_local_observer",
    "get_observer",
    "validate_username",
]

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
    row = queries.observers.add_local(username).one(conn)
    if row is None:
        row = queries.observers.id_of(username).one(conn)
    return row[0]


class ObserverNotFound(LookupError):
    """No observer with that username."""


@dataclass(frozen=True)
class Observer:
    """An observer's public profile and what they contributed.

    ``first_night``/``last_night`` are the UTC exposure middles of their first and last
    images (None before their first upload).
    """

    username: str
    description: str
    created_at: dt.datetime
    longitude_deg: float | None
    images: int
    fluxes: int
    uploads: int
    first_image: dt.datetime | None
    last_image: dt.datetime | None


def get_observer(conn: psycopg.Connection, username: str) -> Observer:
    """The observer with this username (any case) and their totals.

    Raises
    ------
    ObserverNotFound
        When nobody has that username.
    """
    row = queries.observers.contributions(username).one(conn)
    if row is None:
        raise ObserverNotFound(f"no observer named {username!r}")
    return Observer(*row[:4], int(row[4]), int(row[5]), int(row[6]), row[7], row[8])
