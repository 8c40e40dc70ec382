"""Observer profiles: the public username, description and site, and what each observer
uploaded.

The api service calls these with the writer role; they take a psycopg connection so the
tests run them on a real catalogue without a hub.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import psycopg

from aphos_lib import queries
from aphos_lib.observers import (
    SITE_FIELDS,
    InvalidUsername,
    Observer,
    validate_site,
    validate_username,
)
from aphos_lib.uploads.status import upload_totals
from aphos_lib.web.identity import parse_hub_name

__all__ = [
    "SITE_KEYS",
    "UsernameTaken",
    "profile_by_hub_user",
    "public_profile",
    "save_profile",
]

MAX_DESCRIPTION = 2000
SITE_KEYS = tuple(name for name, *_ in SITE_FIELDS)


class UsernameTaken(ValueError):
    """Another observer already has this username (compared without case)."""


def profile_by_hub_user(conn: psycopg.Connection, hub_user: str) -> Observer | None:
    """The profile of a signed-in hub user, or None before they chose a username."""
    row = queries.observers.by_hub_user(hub_user).one(conn)
    return Observer(*row) if row else None


def save_profile(
    conn: psycopg.Connection,
    hub_user: str,
    username: str,
    description: str = "",
    site: Mapping[str, object] | None = None,
) -> Observer:
    """Create or change the profile of ``hub_user``; only ever that user's own row.

    Parameters
    ----------
    site : mapping, optional
        Site fields to change (``longitude_deg``, ``latitude_deg``, ``height_m``), as
        numbers or their text; None or "" clears one. Fields not given keep their value.

    Raises
    ------
    InvalidUsername
        The name breaks the rules of :func:`aphos_lib.observers.validate_username`.
    InvalidSite
        A site value is not a number or out of range
        (:func:`aphos_lib.observers.validate_site`).
    UsernameTaken
        Another observer has the name, in any case.
    """
    validate_username(username)
    site = validate_site(dict(site or {}))
    description = description.strip()
    if len(description) > MAX_DESCRIPTION:
        raise InvalidUsername(f"the description is limited to {MAX_DESCRIPTION} characters")
    provider, subject = parse_hub_name(hub_user)
    try:
        with conn.transaction():
            if provider == "local":
                _claim_local_observer(conn, hub_user, subject, username)
            save = queries.observers.save(username, provider, subject, hub_user, description)
            row = save.one(conn)
            if site:
                saved = Observer(*row)
                values = {k: site.get(k, getattr(saved, k)) for k in SITE_KEYS}
                row = queries.observers.save_site(saved.id, **values).one(conn)
    except psycopg.errors.UniqueViolation as e:
        raise UsernameTaken(f"the username {username!r} is taken") from e
    return Observer(*row)


def _claim_local_observer(
    conn: psycopg.Connection, hub_user: str, subject: str, username: str
) -> None:
    # A local sign-in under the name of an observer made on the command line (the demo's
    # observers, `aphos ingest --observer`) becomes that observer, so the demo's uploads
    # have an owner who can sign in. Google identities never take over an existing row.
    if username.lower() != subject.lower():
        return
    queries.observers.claim_local(subject, hub_user, username).run(conn)


def public_profile(conn: psycopg.Connection, username: str, *, limit: int = 100) -> Observer | None:
    """An observer's public profile by username (any case), with their latest uploads."""
    row = queries.observers.by_username(username).one(conn)
    if row is None:
        return None
    observer = Observer(*row)
    return dataclasses.replace(
        observer,
        recent_uploads=queries.observers.upload_summaries(observer.id, limit).dicts(conn),
        upload_totals=upload_totals(conn, observer.id),
    )
