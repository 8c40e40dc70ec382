"""The bodies of the service's own endpoints: health, profiles, published notebooks."""

# No "from __future__ import annotations": pydantic reads the annotations at runtime.
import datetime as dt

from pydantic import Field

from aphos_lib.web.models import Body

__all__ = [
    "Health",
    "Profile",
    "ProfileUpload",
    "Published",
    "PublishedNotebook",
    "SavedProfile",
    "Totals",
]


class Health(Body):
    """The service and its database answer."""

    status: str
    service: str
    database: str


class ProfileUpload(Body):
    """One of an observer's uploads, as anyone may see it."""

    id: int
    created_at: dt.datetime
    state: str
    files: int
    stored: int
    fluxes: int


class Totals(Body):
    """What anyone may know of an observer's uploads as a whole: counts only."""

    uploads: int
    files: int
    stored: int
    duplicates: int
    rejected: int
    fluxes: int


class Profile(Body):
    """An observer's public profile with their latest uploads; its site (null: not given)
    is where their light curves' BJD_TDB is computed (else at the Earth's centre)."""

    username: str
    description: str
    created_at: dt.datetime
    longitude_deg: float | None = Field(description="the site: degrees east (west negative)")
    latitude_deg: float | None = Field(description="degrees north (south negative)")
    height_m: float | None = Field(description="metres above sea level")
    uploads: list[ProfileUpload]
    totals: Totals


class SavedProfile(Body):
    """A profile as it was saved: its uploads and totals are not read again (GET the profile
    for them)."""

    username: str
    description: str
    created_at: dt.datetime
    longitude_deg: float | None = Field(description="the site: degrees east (west negative)")
    latitude_deg: float | None = Field(description="degrees north (south negative)")
    height_m: float | None = Field(description="metres above sea level")
    uploads: list[ProfileUpload] = Field(description="empty")
    totals: dict[str, int] = Field(description="empty")


class PublishedNotebook(Body):
    """A notebook in the published area."""

    username: str
    name: str
    bytes: int
    modified: float = Field(description="POSIX time")


class Published(Body):
    """Where a notebook was published."""

    username: str
    name: str
    url: str
