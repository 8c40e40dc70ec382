"""Observer profiles: the public username and description, and what each observer uploaded.

The api service calls these with the writer role; they take a psycopg connection so the
tests run them on a real catalogue without a hub.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

from aphos_lib.observers import InvalidUsername, validate_username
from aphos_lib.uploads.status import upload_totals
from aphos_lib.web.identity import parse_hub_name

__all__ = ["Profile", "UsernameTaken", "profile_by_hub_user", "public_profile", "save_profile"]

MAX_DESCRIPTION = 2000


class UsernameTaken(ValueError):
    """Another observer already has this username (compared without case)."""


@dataclass
class Profile:
    """An observer as anyone may see them, with their uploads (newest first)."""

    id: int
    username: str
    description: str
    created_at: object
    uploads: list[dict] = field(default_factory=list)
    # What anyone may know of the uploads as a whole: counts only (see upload_totals).
    totals: dict[str, int] = field(default_factory=dict)


def profile_by_hub_user(conn: psycopg.Connection, hub_user: str) -> Profile | None:
    """The profile of a signed-in hub user, or None before they chose a username."""
    row = conn.execute(
        "SELECT id, username, description, created_at FROM observer WHERE hub_user = %s",
        (hub_user,),
    ).fetchone()
    return Profile(*row) if row else None


def save_profile(
    conn: psycopg.Connection, hub_user: str, username: str, description: str = ""
) -> Profile:
    """Create or change the profile of ``hub_user``; only ever that user's own row.

    Raises
    ------
    InvalidUsername
        The name breaks the rules of :func:`aphos_lib.observers.validate_username`.
    UsernameTaken
        Another observer has the name, in any case.
    """
    validate_username(username)
    description = description.strip()
    if len(description) > MAX_DESCRIPTION:
        raise InvalidUsername(f"the description is limited to {MAX_DESCRIPTION} characters")
    provider, subject = parse_hub_name(hub_user)
    try:
        with conn.transaction():
            if provider == "local":
                _claim_local_observer(conn, hub_user, subject, username)
            row = conn.execute(
                """
                INSERT INTO observer (username, provider, subject, hub_user, description)
                VALUES (%s, %s, %s, %s, %s)
                ON CONFLICT (provider, subject) DO UPDATE
                   SET username = EXCLUDED.username, description = EXCLUDED.description,
                       hub_user = EXCLUDED.hub_user
                RETURNING id, username, description, created_at
                """,
                (username, provider, subject, hub_user, description),
            ).fetchone()
    except psycopg.errors.UniqueViolation as e:
        raise UsernameTaken(f"the username {username!r} is taken") from e
    return Profile(*row)


def _claim_local_observer(
    conn: psycopg.Connection, hub_user: str, subject: str, username: str
) -> None:
    # A local sign-in under the name of an observer made on the command line (the demo's
    # observers, `aphos ingest --observer`) becomes that observer, so the demo's uploads
    # have an owner who can sign in. Google identities never take over an existing row.
    if username.lower() != subject.lower():
        return
    conn.execute(
        "UPDATE observer SET subject = %s, hub_user = %s WHERE provider = 'local' "
        "AND subject IS NULL AND hub_user IS NULL AND lower(username) = lower(%s)",
        (subject, hub_user, username),
    )


def public_profile(conn: psycopg.Connection, username: str, *, limit: int = 100) -> Profile | None:
    """An observer's public profile by username (any case), with their latest uploads."""
    row = conn.execute(
        "SELECT id, username, description, created_at FROM observer "
        "WHERE lower(username) = lower(%s)",
        (username,),
    ).fetchone()
    if row is None:
        return None
    profile = Profile(*row)
    cur = conn.execute(
        """
        SELECT u.id, u.created_at, u.state, count(f.id) AS files,
               count(f.id) FILTER (WHERE f.status = 'stored') AS stored,
               coalesce(sum(f.fluxes), 0) AS fluxes
          FROM upload u LEFT JOIN upload_file f ON f.upload_id = u.id
         WHERE u.observer_id = %s
         GROUP BY u.id ORDER BY u.created_at DESC, u.id DESC LIMIT %s
        """,
        (profile.id, limit),
    )
    names = [d.name for d in cur.description]
    profile.uploads = [dict(zip(names, r, strict=True)) for r in cur]
    profile.totals = upload_totals(conn, profile.id)
    return profile
