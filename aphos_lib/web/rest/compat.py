"""The original APhoS REST API, path for path, so its Python client works against us.

Paths, parameters, JSON field names and status codes follow the original's OpenAPI document
(version 2.0.1) and its client ``aphos-openapi`` 2.5.3 (see ``docs/original-aphos.md``).
Where the original was wrong, the answer keeps its shape but not the fault:

- a cone is a cone (the original returned a box around it, up to 1.7 radii away);
- a search does not silently drop objects fainter than 15 mag or without a magnitude (the
  original always applied ``minMag=0, maxMag=15`` defaults);
- ``name`` matches a part of the name, regardless of case (the original matched it whole);
- a saturated or unknown value is not 0 (the original's, which looks like a measurement):
  ``"saturated"`` where the schema wants text, ``null`` where it wants a number, and the strings
  ``"-Infinity"`` (saturated) or ``"NaN"`` as a comparison's magnitude (which the client types
  as number or string). The original client itself, which needs numbers there, gets the
  original's ``NaN`` and ``-Infinity`` tokens instead (see :mod:`aphos_lib.web.rest.jsonout`);
- ``fluxesCount`` is always the object's number of fluxes (the original counted the
  2,000 it returned from ``search``).

The caps stay: 100 objects per search, 2,000 fluxes per object. The paged ``/api/v2`` has
none.
"""

# No "from __future__ import annotations": FastAPI reads the endpoint signatures.
import datetime as dt
import json
import math
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response

from aphos_lib import queries
from aphos_lib.coordinates import AngleParseError, format_dec, format_ra, parse_dec, parse_ra
from aphos_lib.observers import ObserverNotFound, get_observer
from aphos_lib.photometry import differential_photometry
from aphos_lib.search import CatalogObject, ObjectNotFound, catalogs, get_object, search_objects
from aphos_lib.web.deps import CurrentUsername, HeavyReader, Reader
from aphos_lib.web.models.compat import ComparisonObject, SpaceObject, SpaceObjectWithFluxes, User
from aphos_lib.web.rest.errors import ERROR_RESPONSES
from aphos_lib.web.rest.jsonout import (
    OriginalClientJSONResponse,
    StrictJSONResponse,
    is_original_client,
)

__all__ = ["router"]

ALL_CATALOGUES = "All catalogues"
DEFAULT_CATALOG = "UCAC4"
KNOWN_CATALOGS = ("UCAC4", "USNO-B1.0")
SEARCH_CAP = 100
FLUX_CAP = 2000
COORDINATES_HELP = (
    'Coordinates value not correct, use: {"rightAsc":"21:41:55.291",'
    '"declination":"71:18:41.12","radius":0.05}'
)

router = APIRouter(
    tags=["original APhoS API"],
    default_response_class=StrictJSONResponse,
    responses=ERROR_RESPONSES,
)


CatalogParam = Annotated[str, Query(description="'UCAC4', 'USNO-B1.0' or 'All catalogues'")]


def _answer(request: Request, content) -> JSONResponse:
    """Standard JSON, or the original's dialect for the original client."""
    if is_original_client(request):
        return OriginalClientJSONResponse(content)
    return StrictJSONResponse(content)


def _number(value) -> float:
    """A float for the wire; unknown (None) as NaN."""
    return math.nan if value is None else float(value)


def _text_flux(value, saturated: bool) -> str:
    """A flux as the original's FluxData sent it: number text, or ``saturated``."""
    if saturated:
        return "saturated"
    return "NaN" if value is None or math.isnan(value) else repr(float(value))


def space_object(obj: CatalogObject) -> dict:
    """The original's ``SpaceObject``."""
    return {
        "id": obj.catalog_id,
        "catalog": obj.catalog,
        "name": obj.name or "",
        "rightAsc": format_ra(obj.ra_deg, "hms"),
        "declination": format_dec(obj.dec_deg, "symbols"),
        # The client rejects null: an unknown magnitude is 0.0, as in the original.
        "magnitude": 0.0 if obj.mag is None else float(obj.mag),
        "fluxesCount": int(obj.n_fluxes),
    }


def _object(conn, catalog: str, catalog_id: str, what: str = "SpaceObject") -> CatalogObject:
    try:
        return get_object(conn, catalog or DEFAULT_CATALOG, catalog_id)
    except ObjectNotFound:
        raise HTTPException(404, f"{what} not found") from None


@router.get("/api/catalogs", summary="The catalogues objects can be searched in")
def get_catalogs(conn: Reader) -> list[str]:
    extra = [c for c in catalogs(conn) if c not in KNOWN_CATALOGS]
    return [ALL_CATALOGUES, *KNOWN_CATALOGS, *extra]


def _cone(coordinates: str) -> dict:
    try:
        value = json.loads(coordinates)
        radius = float(value["radius"])
        ra, dec = parse_ra(value["rightAsc"]), parse_dec(value["declination"])
    except (ValueError, KeyError, TypeError, AngleParseError):
        raise HTTPException(400, COORDINATES_HELP) from None
    if not 0 < radius <= 180:
        raise HTTPException(400, COORDINATES_HELP)
    return {"ra": ra, "dec": dec, "radius": radius}


@router.get(
    "/api/space-objects/search-by-params",
    summary="Objects matching every given filter (at most 100)",
    response_model=list[SpaceObject],
)
def find_space_objects_by_params(
    conn: Reader,
    request: Request,
    objectId: str | None = None,  # noqa: N803 - the original's parameter names
    catalog: CatalogParam = ALL_CATALOGUES,
    name: str | None = None,
    coordinates: Annotated[str | None, Query(description=COORDINATES_HELP[33:])] = None,
    minMag: Annotated[float | None, Query(ge=0)] = None,  # noqa: N803
    maxMag: Annotated[float | None, Query(le=20)] = None,  # noqa: N803
) -> Response:
    filters: dict = {}
    if coordinates:
        filters.update(_cone(coordinates))
    try:
        result = search_objects(
            conn,
            **filters,
            name=name or None,
            min_mag=minMag,
            max_mag=maxMag,
            catalog=None if not catalog or catalog == ALL_CATALOGUES else catalog,
            catalog_id=objectId or None,
            limit=SEARCH_CAP,
        )
    except ValueError as exc:
        raise HTTPException(400, f"{exc} Illegal argument exception") from None
    return _answer(request, [space_object(o) for o in result.objects()])


def _flux(row) -> dict:
    ra, dec, user, auto, auto_sat, ap, ap_sat, auto_dev, ap_dev, begin, end = row
    return {
        "rightAsc": format_ra(ra, "hms"),
        "declination": format_dec(dec, "symbols"),
        "addedBy": user,
        "apAuto": math.nan if auto_sat else _number(auto),
        "apertures": [math.nan if s else _number(v) for v, s in zip(ap, ap_sat, strict=True)],
        "photo": {"exposureBegin": begin.isoformat(), "exposureEnd": end.isoformat()},
        "apAutoDev": _number(auto_dev),
        "apertureDevs": [_number(v) for v in ap_dev],
    }


@router.get(
    "/api/space-objects/search",
    summary="One object with its fluxes (at most 2,000)",
    response_model=SpaceObjectWithFluxes,
)
def get_space_object_by_id(
    conn: Reader,
    request: Request,
    spaceObjectId: str,  # noqa: N803
    catalog: CatalogParam = DEFAULT_CATALOG,
) -> Response:
    obj = _object(conn, catalog, spaceObjectId)
    rows = queries.fluxes.as_original_api(obj.id, limit=FLUX_CAP).rows(conn)
    return _answer(request, {**space_object(obj), "fluxes": [_flux(r) for r in rows]})


def _night(night: dt.date, var_aperture: int, cmp_aperture: int) -> dict:
    def name(k: int) -> str:
        return "auto" if k == 0 else str(k - 1)  # the client counts apertures from 0

    return {
        "firstDateOfTheNight": night.strftime("%d-%m-%Y"),
        "secondDateOfTheNight": (night + dt.timedelta(days=1)).strftime("%d-%m-%Y"),
        "apToBeUsed": name(var_aperture),
        "cmpApToBeUsed": name(cmp_aperture),
    }


def _flux_data(row, original_client: bool) -> dict:
    """One image of a comparison, as the original's ``FluxData``."""
    saturated = bool(row.saturated)
    magnitude = -math.inf if saturated else _number(row.magnitude)
    if not original_client and not math.isfinite(magnitude):
        magnitude = "-Infinity" if saturated else "NaN"  # the client reads any text as -inf
    return {
        "rightAsc": format_ra(row.var_ra_deg, "hms"),
        "dec": format_dec(row.var_dec_deg, "symbols"),
        "apAuto": _text_flux(row.var_ap_auto, row.var_ap_auto_saturated),
        "apAutoDev": _number(row.var_ap_auto_dev),
        "apertures": [
            _text_flux(v, s) for v, s in zip(row.var_ap, row.var_ap_saturated, strict=True)
        ],
        "apertureDevs": [_number(v) for v in row.var_ap_dev],
        "magnitude": magnitude,
        # null for a saturated row, as the original; NaN when a deviation is unknown, for the
        # original client (its GraphData rounds every unsaturated row's deviation, so null
        # would break it); null for everyone else.
        "deviation": None if saturated else float(row.deviation),
        "username": row.observer,
        "night": _night(row.night, int(row.var_aperture), int(row.cmp_aperture)),
        "expMiddle": row.time_utc.strftime("%Y-%m-%d %H:%M:%S"),
        "cmpApAuto": _text_flux(row.cmp_ap_auto, row.cmp_ap_auto_saturated),
        "cmpApAutoDev": _number(row.cmp_ap_auto_dev),
        "cmpApertures": [
            _text_flux(v, s) for v, s in zip(row.cmp_ap, row.cmp_ap_saturated, strict=True)
        ],
        "cmpApertureDevs": [_number(v) for v in row.cmp_ap_dev],
    }


@router.get(
    "/api/space-objects/comparison",
    summary="A variable against a comparison star, image by image",
    response_model=ComparisonObject,
)
def get_comparison_by_identificators(
    conn: HeavyReader,
    request: Request,
    originalId: str,  # noqa: N803
    referenceId: str,  # noqa: N803
    originalCat: CatalogParam = DEFAULT_CATALOG,  # noqa: N803
    referenceCat: CatalogParam = DEFAULT_CATALOG,  # noqa: N803
) -> Response:
    variable = _object(conn, originalCat, originalId, "Original object")
    comparison = _object(conn, referenceCat, referenceId, "Reference object")
    curve = differential_photometry(
        conn, variable, comparison, include_saturated=True, with_apertures=True
    )
    original = is_original_client(request)
    return _answer(
        request,
        {
            "variable": space_object(variable),
            "comparison": space_object(comparison),
            "data": [_flux_data(r, original) for r in curve.data.itertuples(index=False)],
        },
    )


def _user(conn, username: str) -> dict:
    try:
        observer = get_observer(conn, username)
    except ObserverNotFound:
        raise HTTPException(404, "User not found") from None
    return {"username": observer.username, "description": observer.description or None}


@router.get(
    "/api/users/current", summary="The signed-in observer, or null", response_model=User | None
)
def get_current_user(request: Request, username: CurrentUsername) -> Response:
    # Signed in by hub token or cookie (nobody when the service has no sign-in). The reader
    # is only asked when someone is: a visitor's call needs no connection.
    if username is None:
        return StrictJSONResponse(None)
    with request.app.state.reader_pool.connection() as conn:
        return StrictJSONResponse(_user(conn, username))


@router.get("/api/users/{name}", summary="An observer's public profile", response_model=User)
def get_user_by_username(conn: Reader, name: str) -> Response:
    return StrictJSONResponse(_user(conn, name))
