"""The original APhoS API's response bodies, under the names of its OpenAPI document (2.0.1).

Field names are the original's, camelCase, for its client (``aphos-openapi``). Where our
answer is "unknown" (a saturated or missing value) it is ``null`` for every client but the
original one, which gets the original's ``NaN`` or ``-Infinity`` tokens in the same places
(:mod:`aphos_lib.web.rest.jsonout`).
"""

# No "from __future__ import annotations": pydantic reads the annotations at runtime.
import datetime as dt

from pydantic import Field

from aphos_lib.web.models import Body

__all__ = [
    "ComparisonObject",
    "Flux",
    "FluxData",
    "Night",
    "PhotoProperties",
    "SpaceObject",
    "SpaceObjectWithFluxes",
    "User",
]


class SpaceObject(Body):
    """A catalogue object."""

    id: str = Field(description="the catalogue's id, e.g. 805-031770")
    catalog: str
    name: str = Field(description='"" when it has none')
    rightAsc: str = Field(description="e.g. 21h30m59.150s")  # noqa: N815 - the original's names
    declination: str = Field(description="e.g. +70°49'23.58\"")
    magnitude: float = Field(description="the catalogue's; 0.0 when unknown, as the original")
    fluxesCount: int = Field(description="every flux of the object")  # noqa: N815


class PhotoProperties(Body):
    """When the image was exposed."""

    exposureBegin: dt.datetime  # noqa: N815
    exposureEnd: dt.datetime  # noqa: N815


class Flux(Body):
    """One measurement of the object."""

    rightAsc: str  # noqa: N815
    declination: str
    addedBy: str = Field(description="the observer's username")  # noqa: N815
    apAuto: float | None = Field(description="null when saturated or unknown")  # noqa: N815
    apertures: list[float | None]
    photo: PhotoProperties
    apAutoDev: float | None  # noqa: N815
    apertureDevs: list[float | None]  # noqa: N815


class SpaceObjectWithFluxes(SpaceObject):
    """A catalogue object with its fluxes (at most 2,000)."""

    fluxes: list[Flux]


class Night(Body):
    """The night an image belongs to and the apertures used in it."""

    firstDateOfTheNight: str = Field(description="dd-mm-yyyy")  # noqa: N815
    secondDateOfTheNight: str  # noqa: N815
    apToBeUsed: str = Field(description='"auto" or the aperture counted from 0')  # noqa: N815
    cmpApToBeUsed: str  # noqa: N815


class FluxData(Body):
    """One image of a variable against a comparison star."""

    rightAsc: str  # noqa: N815
    dec: str
    apAuto: str = Field(description='the flux as text, "saturated" or "NaN"')  # noqa: N815
    apAutoDev: float | None  # noqa: N815
    apertures: list[str]
    apertureDevs: list[float | None]  # noqa: N815
    magnitude: float | str = Field(
        description='a number, or "-Infinity" (saturated) or "NaN" (unknown)'
    )
    deviation: float | None
    username: str
    night: Night
    expMiddle: str = Field(description="yyyy-mm-dd hh:mm:ss, UTC")  # noqa: N815
    cmpApAuto: str  # noqa: N815
    cmpApAutoDev: float | None  # noqa: N815
    cmpApertures: list[str]  # noqa: N815
    cmpApertureDevs: list[float | None]  # noqa: N815


class ComparisonObject(Body):
    """A variable against a comparison star, image by image."""

    variable: SpaceObject
    comparison: SpaceObject
    data: list[FluxData]


class User(Body):
    """An observer's public profile."""

    username: str
    description: str | None
