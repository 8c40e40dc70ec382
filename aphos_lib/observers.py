"""Observers: who uploaded what, identified by a stable id and a public username."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field

import psycopg

from aphos_lib import queries

__all__ = [
    "SITE_FIELDS",
    "Contributions",
    "InvalidSite",
    "InvalidUsername",
    "Observer",
    "ObserverNotFound",
    "ensure_local_observer",
    "get_observer",
    "site_note",
    "site_text",
    "validate_site",
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


class InvalidSite(ValueError):
    """A site value that may not be saved; the message says which and why."""


# An observer's site: (field, what it is, lowest, highest). The ranges are the observer
# table's checks (migrations 0001 and 0014).
SITE_FIELDS = (
    ("longitude_deg", "longitude in degrees east (west negative)", -180.0, 180.0),
    ("latitude_deg", "latitude in degrees north (south negative)", -90.0, 90.0),
    ("height_m", "height above sea level in metres", -500.0, 10000.0),
)
_SITE_RANGES = {name: (what, low, high) for name, what, low, high in SITE_FIELDS}


def validate_site(values: dict[str, object]) -> dict[str, float | None]:
    """Check site values as a form or a JSON body gives them: numbers, or their text.

    Only the fields given are checked and returned; an empty text or None clears a field.

    Raises
    ------
    InvalidSite
        A field that is unknown, not a number, not finite or out of its range.

    Examples
    --------
    >>> validate_site({"longitude_deg": " 16.58 ", "height_m": "", "latitude_deg": 49})
    {'longitude_deg': 16.58, 'height_m': None, 'latitude_deg': 49.0}
    >>> validate_site({"latitude_deg": "91"})
    Traceback (most recent call last):
    ...
    aphos_lib.observers.InvalidSite: the latitude in degrees north (south negative) must be \
between -90 and 90, not 91
    """
    out: dict[str, float | None] = {}
    for name, value in values.items():
        if name not in _SITE_RANGES:
            raise InvalidSite(f"unknown site field {name!r}")
        what, low, high = _SITE_RANGES[name]
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "":
            out[name] = None
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise InvalidSite(f"the {what} must be a number")
        try:
            number = float(value)
        except (ValueError, OverflowError):  # OverflowError: an integer beyond any float
            raise InvalidSite(f"the {what} must be a number, not {str(value)[:40]!r}") from None
        if not (math.isfinite(number) and low <= number <= high):
            raise InvalidSite(
                f"the {what} must be between {low:g} and {high:g}, not {str(value)[:40]}"
            )
        out[name] = number
    return out


def site_text(
    longitude_deg: float | None, latitude_deg: float | None, height_m: float | None
) -> str:
    """The site as a line of text, e.g. ``16.5833° E, 49.2° N, 300 m``; "" when unknown.

    Examples
    --------
    >>> site_text(-70.7366, -30.2407, 2715.0)
    '70.7366° W, 30.2407° S, 2715 m'
    >>> site_text(None, None, None)
    ''
    """
    parts = []
    if longitude_deg is not None:
        parts.append(f"{abs(longitude_deg):.6g}° {'W' if longitude_deg < 0 else 'E'}")
    if latitude_deg is not None:
        parts.append(f"{abs(latitude_deg):.6g}° {'S' if latitude_deg < 0 else 'N'}")
    if height_m is not None:
        parts.append(f"{height_m:.6g} m")
    return ", ".join(parts)


def site_note(longitude_deg: float | None, latitude_deg: float | None) -> str:
    """What the site changes in this observer's light curves, in a sentence or two.

    Examples
    --------
    >>> site_note(16.58, 49.2)[:45]
    'The BJD_TDB of light curves from this observe'
    """
    if longitude_deg is not None and latitude_deg is not None:
        where = "at this site"
    else:
        where = "at the Earth's centre until a longitude and a latitude are given"
    nights = (
        "local noon at this longitude" if longitude_deg is not None else "12:00 UTC (no longitude)"
    )
    return (
        f"The BJD_TDB of light curves from this observer's images is computed {where} "
        "(at the Earth's centre it is within 21.3 ms of the site's); their nights run from "
        f"{nights}."
    )


class ObserverNotFound(LookupError):
    """No observer with that username."""


@dataclass(frozen=True)
class Contributions:
    """What an observer stored: images, their fluxes, uploads, and the UTC exposure middles
    of their first and last images (None before their first upload)."""

    images: int
    fluxes: int
    uploads: int
    first_image: dt.datetime | None
    last_image: dt.datetime | None


@dataclass(frozen=True)
class Observer:
    """An observer as anyone may see them: the one model of an observer everywhere (the
    library, the API, the pages, the signed-in observer of a request).

    The first seven fields are the ``observer`` row's public columns, in the order the query
    layer returns them; the rest are filled by the functions that read them:
    :func:`get_observer` (``contributions``) and
    :func:`aphos_lib.web.profiles.public_profile` (``recent_uploads``, ``upload_totals``).
    It is never changed once made: one with more known is a new one
    (:func:`dataclasses.replace`).
    """

    id: int
    username: str
    description: str
    created_at: dt.datetime
    # The site (None: not given), where light curves' BJD_TDB is computed.
    longitude_deg: float | None = None
    latitude_deg: float | None = None
    height_m: float | None = None
    contributions: Contributions | None = None
    # The latest uploads, newest first, and what anyone may know of them all (counts only).
    recent_uploads: list[dict] = field(default_factory=list)
    upload_totals: dict[str, int] = field(default_factory=dict)

    def _contributed(self) -> Contributions:
        if self.contributions is None:
            raise ValueError(f"{self.username}'s contributions were not read: get_observer()")
        return self.contributions

    @property
    def images(self) -> int:
        """Images stored."""
        return self._contributed().images

    @property
    def fluxes(self) -> int:
        """Fluxes (table rows) of those images."""
        return self._contributed().fluxes

    @property
    def uploads(self) -> int:
        """Uploads sent."""
        return self._contributed().uploads

    @property
    def first_image(self) -> dt.datetime | None:
        """The UTC exposure middle of the first image (None before the first upload)."""
        return self._contributed().first_image

    @property
    def last_image(self) -> dt.datetime | None:
        """The UTC exposure middle of the last image (None before the first upload)."""
        return self._contributed().last_image


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
    images, fluxes, uploads, first, last = row[7:]
    return Observer(*row[:7], Contributions(int(images), int(fluxes), int(uploads), first, last))
