"""Observers: who uploaded how many images, and when."""

from __future__ import annotations

from aphos_lib.queries.query import Query

__all__ = [
    "add_local",
    "by_hub_user",
    "by_images",
    "by_username",
    "claim_local",
    "contributions",
    "id_of",
    "save",
    "save_site",
    "set_site",
    "upload_span",
    "upload_summaries",
]

# An observer's public profile: what the profile pages and the API show.
_PROFILE_COLUMNS = "id, username, description, created_at, longitude_deg, latitude_deg, height_m"
_PROFILE = f"SELECT {_PROFILE_COLUMNS} FROM observer"


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


def by_hub_user(hub_user: str) -> Query:
    """The profile row (id, username, description, created_at, longitude_deg, latitude_deg,
    height_m) of a signed-in hub user.

    Examples
    --------
    >>> by_hub_user("google:1234").params
    ('google:1234',)
    """
    return Query(f"{_PROFILE} WHERE hub_user = %s", (hub_user,))


def by_username(username: str) -> Query:
    """The profile row of ``username`` (any case).

    Examples
    --------
    >>> "lower(username) = lower(%s)" in by_username("Novak").text()
    True
    """
    return Query(f"{_PROFILE} WHERE lower(username) = lower(%s)", (username,))


def save(username: str, provider: str, subject: str, hub_user: str, description: str) -> Query:
    """Create the observer of (provider, subject), or change its username, description and hub
    user; returns the profile row. A username another observer has raises UniqueViolation.

    Examples
    --------
    >>> save("novak", "google", "1234", "google:1234", "").params[:2]
    ('novak', 'google')
    """
    return Query(
        f"""
        INSERT INTO observer (username, provider, subject, hub_user, description)
        VALUES (%s, %s, %s, %s, %s)
        ON CONFLICT (provider, subject) DO UPDATE
           SET username = EXCLUDED.username, description = EXCLUDED.description,
               hub_user = EXCLUDED.hub_user
        RETURNING {_PROFILE_COLUMNS}
        """,
        (username, provider, subject, hub_user, description),
    )


def claim_local(subject: str, hub_user: str, username: str) -> Query:
    """Give a local observer without a sign-in (a demo observer) to the hub user of the same
    name.

    Examples
    --------
    >>> claim_local("novak", "local:novak", "novak").params
    ('novak', 'local:novak', 'novak')
    """
    return Query(
        "UPDATE observer SET subject = %s, hub_user = %s WHERE provider = 'local' "
        "AND subject IS NULL AND hub_user IS NULL AND lower(username) = lower(%s)",
        (subject, hub_user, username),
    )


def upload_summaries(observer_id: int, limit: int) -> Query:
    """An observer's latest uploads, newest first: id, created_at, state, files, stored, fluxes.

    Examples
    --------
    >>> upload_summaries(3, limit=100).params
    (3, 100)
    """
    return Query(
        """
        SELECT u.id, u.created_at, u.state, count(f.id) AS files,
               count(f.id) FILTER (WHERE f.status = 'stored') AS stored,
               coalesce(sum(f.fluxes), 0) AS fluxes
          FROM upload u LEFT JOIN upload_file f ON f.upload_id = u.id
         WHERE u.observer_id = %s
         GROUP BY u.id ORDER BY u.created_at DESC, u.id DESC LIMIT %s
        """,
        (observer_id, limit),
    )


def add_local(username: str) -> Query:
    """Create the local observer ``username`` (command line, demo); its id, or no row when
    the name (in any case) exists.

    Examples
    --------
    >>> add_local("novak").params
    ('novak',)
    """
    return Query(
        "INSERT INTO observer (username, provider) VALUES (%s, 'local') "
        "ON CONFLICT (lower(username)) DO NOTHING RETURNING id",
        (username,),
    )


def id_of(username: str) -> Query:
    """The id of ``username`` (any case).

    Examples
    --------
    >>> id_of("Novak").params
    ('Novak',)
    """
    return Query("SELECT id FROM observer WHERE lower(username) = lower(%s)", (username,))


def contributions(username: str) -> Query:
    """One row for ``username`` (any case): id, username, description, created_at, longitude,
    latitude, height, then
    images, fluxes, uploads, first and last exposure middle.

    Examples
    --------
    >>> contributions(" novak ").params
    ('novak',)
    """
    return Query(
        """
        SELECT o.id, o.username, o.description, o.created_at, o.longitude_deg, o.latitude_deg,
               o.height_m, count(i.id), coalesce(sum(i.flux_count), 0),
               (SELECT count(*) FROM upload u WHERE u.observer_id = o.id),
               min(i.exposure_mid), max(i.exposure_mid)
        FROM observer o LEFT JOIN image i ON i.observer_id = o.id
        WHERE lower(o.username) = lower(%s)
        GROUP BY o.id
        """,
        (username.strip(),),
    )


def set_site(
    username: str,
    longitude_deg: float | None,
    latitude_deg: float | None = None,
    height_m: float | None = None,
) -> Query:
    """Set the observer's site: longitude (degrees east: their nights run from local noon),
    latitude and height (with the longitude, where BJD_TDB is computed); None clears one.

    Examples
    --------
    >>> set_site("novak", 16.6, 49.2, 300.0).params
    (16.6, 49.2, 300.0, 'novak')
    """
    return Query(
        "UPDATE observer SET longitude_deg = %s, latitude_deg = %s, height_m = %s "
        "WHERE lower(username) = lower(%s)",
        (longitude_deg, latitude_deg, height_m, username),
    )


def save_site(
    observer_id: int,
    longitude_deg: float | None,
    latitude_deg: float | None,
    height_m: float | None,
) -> Query:
    """Set the site of the observer ``observer_id`` (None clears a value); returns the profile
    row. Values out of range break the table's checks (CheckViolation).

    Examples
    --------
    >>> save_site(7, 16.58, None, 300.0).params
    (16.58, None, 300.0, 7)
    """
    return Query(
        "UPDATE observer SET longitude_deg = %s, latitude_deg = %s, height_m = %s "
        f"WHERE id = %s RETURNING {_PROFILE_COLUMNS}",
        (longitude_deg, latitude_deg, height_m, observer_id),
    )
