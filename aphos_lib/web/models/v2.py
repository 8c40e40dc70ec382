"""The bodies of ``/api/v2``: snake_case fields, unknown numbers as ``null``."""

# No "from __future__ import annotations": pydantic reads the annotations at runtime.
import datetime as dt

from pydantic import Field

from aphos_lib.web.models import Body

__all__ = [
    "FluxRow",
    "FluxesPage",
    "LightCurve",
    "LightCurveRow",
    "Object",
    "ObjectsPage",
    "Observer",
]


class Object(Body):
    """A catalogue object."""

    catalog: str
    catalog_id: str
    name: str | None
    ra_deg: float
    dec_deg: float
    mag: float | None
    bv: float | None
    jk: float | None
    n_fluxes: int
    distance_deg: float | None = Field(
        None, description="from the cone's centre; only in a cone search"
    )


class ObjectsPage(Body):
    """A page of a search, with the number of matches in all."""

    total: int
    limit: int
    offset: int
    objects: list[Object]


class FluxRow(Body):
    """One measurement of an object."""

    image_id: int
    time_utc: dt.datetime
    jd: float | None
    hjd: float | None
    observer: str
    line: int
    ra_deg: float | None
    dec_deg: float | None
    ap_auto: float | None
    ap_auto_dev: float | None
    ap_auto_saturated: bool | None
    ap: list[float | None]
    ap_dev: list[float | None]
    ap_saturated: list[bool | None]


class FluxesPage(Body):
    """A page of an object's fluxes in time order."""

    object: Object
    total: int
    limit: int
    offset: int
    fluxes: list[FluxRow]


class LightCurveRow(Body):
    """One image of a differential light curve."""

    image_id: int
    time_utc: dt.datetime
    jd: float | None
    hjd: float | None
    night: dt.date
    observer: str
    filter: str | None
    magnitude: float | None
    deviation: float | None
    saturated: bool
    var_aperture: int = Field(description="0 is ApAuto")
    var_flux: float | None
    var_flux_dev: float | None
    cmp_aperture: int
    cmp_flux: float | None
    cmp_flux_dev: float | None
    check_magnitude: float | None = Field(None, description="only with a check star")
    check_deviation: float | None = Field(None, description="only with a check star")


class LightCurve(Body):
    """Differential photometry of a variable against one or several comparison stars."""

    variable: Object
    comparisons: list[Object]
    check: Object | None
    as_of: dt.datetime | None
    rows: list[LightCurveRow]


class Observer(Body):
    """An observer's public profile and totals."""

    username: str
    description: str | None
    created_at: dt.datetime
    images: int
    fluxes: int
    uploads: int
    first_image: dt.datetime | None
    last_image: dt.datetime | None
