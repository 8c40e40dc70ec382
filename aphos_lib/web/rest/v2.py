"""The versioned API, ``/api/v2``: paged, uncapped, and everything ``aphos_lib`` can do.

- ``GET /api/v2/catalogs``
- ``GET /api/v2/objects``: search (cone, name, magnitude, catalogue, id), paged, with total;
- ``GET /api/v2/objects/{catalog}/{catalog_id}``: one object;
- ``GET /api/v2/objects/{catalog}/{catalog_id}/fluxes``: its fluxes, paged, ``as_of``;
- ``GET /api/v2/lightcurve``: differential photometry with per-night apertures, ensembles,
  a check star, observer filters and ``as_of``, as JSON (with BJD_TDB) or as the CSV, TXT
  and AAVSO downloads;
- ``GET /api/v2/minima``: the same light curve's times of minimum (or maximum), with O-C
  against a given or fitted ephemeris;
- ``GET /api/v2/variables``: a field's stars ranked by their excess scatter (the variable
  finder);
- ``GET /api/v2/observers/{username}``: a public profile with totals.

Every answer is computed by ``aphos_lib``; this module only translates HTTP to calls.
"""

# No "from __future__ import annotations": FastAPI reads the endpoint signatures.
import datetime as dt
import math
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import PlainTextResponse, Response

from aphos_lib import queries
from aphos_lib.coordinates import AngleParseError
from aphos_lib.ephemeris import EphemerisError
from aphos_lib.light_curve_rules import julian_date
from aphos_lib.observers import ObserverNotFound, get_observer
from aphos_lib.photometry import differential_photometry
from aphos_lib.search import ObjectNotFound, catalogs, get_object, search_objects
from aphos_lib.variable_finder import MIN_POINTS, find_variables
from aphos_lib.web.deps import HeavyReader, Reader
from aphos_lib.web.models.v2 import (
    FluxesPage,
    LightCurve,
    Minima,
    Object,
    ObjectsPage,
    Observer,
    VariablesPage,
)
from aphos_lib.web.rest.errors import ERROR_RESPONSES
from aphos_lib.web.rest.jsonout import StrictJSONResponse

__all__ = ["router"]

router = APIRouter(
    prefix="/api/v2",
    tags=["APhoS API v2"],
    default_response_class=StrictJSONResponse,
    responses=ERROR_RESPONSES,
)
MAX_PAGE = 10_000


Limit = Annotated[int, Query(ge=0, le=MAX_PAGE, description="page size")]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]
AsOf = Annotated[
    dt.datetime | None, Query(description="only data uploaded by then (ISO 8601 with a zone)")
]


def _finite(value):
    """JSON numbers: NaN (unknown) as null."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


def _julian_dates(rows) -> np.ndarray:
    """Each flux row's JD of mid-exposure, by the light curves' rule (header's, else UTC's)."""
    header = np.array([np.nan if r[2] is None else r[2] for r in rows], dtype=float)
    time_us = np.array([(r[1] - _EPOCH) // _MICROSECOND for r in rows], dtype=np.int64)
    return julian_date(header, time_us)


def _bad_request(exc: Exception) -> HTTPException:
    return HTTPException(400, str(exc))


@router.get("/catalogs", summary="Catalogues the archive holds objects of")
def list_catalogs(conn: Reader) -> list[str]:
    return catalogs(conn)


def _object_json(obj) -> dict:
    return {
        "catalog": obj.catalog,
        "catalog_id": obj.catalog_id,
        "name": obj.name,
        "ra_deg": obj.ra_deg,
        "dec_deg": obj.dec_deg,
        "mag": _finite(obj.mag),
        "bv": _finite(obj.bv),
        "jk": _finite(obj.jk),
        "n_fluxes": obj.n_fluxes,
        "star": obj.star,
        "identifiers": list(obj.identifiers),
    }


@router.get(
    "/objects",
    summary="Search objects; paged, with the total number of matches",
    response_model=ObjectsPage,
)
def find_objects(
    conn: Reader,
    ra: Annotated[str | None, Query(description="'21 41 55.3' (hours) or degrees")] = None,
    dec: Annotated[str | None, Query(description="'+71 18 38.6' or degrees")] = None,
    radius: Annotated[str | None, Query(description="degrees, or '3arcmin', '20arcsec'")] = None,
    name: str | None = None,
    min_mag: float | None = None,
    max_mag: float | None = None,
    catalog: str | None = None,
    catalog_id: Annotated[str | None, Query(description="exact; ends with * for a prefix")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Response:
    try:
        result = search_objects(
            conn,
            ra=ra,
            dec=dec,
            radius=radius,
            name=name,
            min_mag=min_mag,
            max_mag=max_mag,
            catalog=catalog,
            catalog_id=catalog_id,
            limit=limit,
            offset=offset,
        )
    except (ValueError, AngleParseError) as exc:
        raise _bad_request(exc) from None
    objects = [_object_json(o) for o in result.objects()]
    if "distance_deg" in result.frame:
        for item, distance in zip(objects, result.frame.distance_deg, strict=True):
            item["distance_deg"] = float(distance)
    page = {"total": result.total, "limit": limit, "offset": offset, "objects": objects}
    if result.resolved is not None:  # the name is no stored object's: a cone around it
        page["resolved"] = result.resolved.to_dict()
    return StrictJSONResponse(page)


_VARIABLE_FIELDS = (
    "rank", "star", "identifiers", "name", "ra_deg", "dec_deg", "filter", "mag", "n", "std",
    "expected_std", "excess", "chi2_dof", "robust_std", "eta", "stetson_j", "amplitude",
    "known_variable",
)  # fmt: skip


@router.get(
    "/variables",
    summary="A field's stars ranked by how much more than the noise they scatter",
    response_model=VariablesPage,
)
def variables(
    conn: Reader,
    ra: Annotated[str, Query(description="'21 41 55.3' (hours) or degrees")],
    dec: Annotated[str, Query(description="'+71 18 38.6' or degrees")],
    radius: Annotated[str, Query(description="degrees, or '20arcmin'; at most 2 degrees")],
    filter: Annotated[str | None, Query(description="default: the most observed")] = None,
    min_points: Annotated[int, Query(ge=2, le=100_000)] = MIN_POINTS,
    limit: Limit = 100,
) -> Response:
    try:
        found = find_variables(
            conn, ra=ra, dec=dec, radius=radius, filter=filter, min_points=min_points
        )
    except (ValueError, AngleParseError) as exc:
        raise _bad_request(exc) from None
    stars = [{f: record[f] for f in _VARIABLE_FIELDS} for record in found.records(limit)]
    return StrictJSONResponse(
        {
            "ra_deg": found.centre[0],
            "dec_deg": found.centre[1],
            "radius_deg": found.radius,
            "filter": found.filter,
            "filters": found.filters,
            "total": len(found),
            "stars": stars,
        }
    )


def _get(conn, catalog: str, catalog_id: str):
    try:
        return get_object(conn, catalog, catalog_id)
    except ObjectNotFound as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/objects/{catalog}/{catalog_id}", summary="One object", response_model=Object)
def read_object(conn: Reader, catalog: str, catalog_id: str) -> Response:
    return StrictJSONResponse(_object_json(_get(conn, catalog, catalog_id)))


@router.get(
    "/objects/{catalog}/{catalog_id}/fluxes",
    summary="An object's fluxes in time order; paged",
    response_model=FluxesPage,
)
def read_fluxes(
    conn: Reader,
    catalog: str,
    catalog_id: str,
    limit: Limit = 1000,
    offset: Offset = 0,
    as_of: AsOf = None,
) -> Response:
    obj = _get(conn, catalog, catalog_id)
    rows = queries.fluxes.of_object(obj.id, limit=limit, offset=offset, as_of=as_of).rows(conn)
    if as_of is None:
        total = obj.n_fluxes
    else:
        total = queries.fluxes.count_as_of(obj.id, as_of).value(conn)
    jd = _julian_dates(rows)
    fluxes = [
        {
            "image_id": r[0],
            "time_utc": r[1].isoformat(),
            "jd": float(jd[k]),
            "hjd": _finite(r[3]),
            "observer": r[4],
            "line": r[5],
            "ra_deg": r[6],
            "dec_deg": r[7],
            "ap_auto": _finite(r[8]),
            "ap_auto_dev": _finite(r[9]),
            "ap_auto_saturated": r[10],
            "ap": [_finite(v) for v in r[11]],
            "ap_dev": [_finite(v) for v in r[12]],
            "ap_saturated": r[13],
        }
        for k, r in enumerate(rows)
    ]
    return StrictJSONResponse(
        {
            "object": _object_json(obj),
            "total": total,
            "limit": limit,
            "offset": offset,
            "fluxes": fluxes,
        }
    )


def _apertures(default: str, per_night: list[str]) -> dict | str:
    """``auto``/``N`` plus ``YYYY-MM-DD:N`` items into an aperture choice."""
    if not per_night:
        return default
    choice: dict = {"default": default}
    for item in per_night:
        night, sep, aperture = item.partition(":")
        if not sep:
            raise HTTPException(400, f"night aperture {item!r} must look like 2021-11-06:3")
        choice[night] = aperture
    return choice


_ROW_FIELDS = (
    "image_id",
    "time_utc",
    "jd",
    "hjd",
    "bjd_tdb",
    "bjd_at_site",
    "night",
    "observer",
    "filter",
    "magnitude",
    "deviation",
    "saturated",
    "var_aperture",
    "var_flux",
    "var_flux_dev",
    "cmp_aperture",
    "cmp_flux",
    "cmp_flux_dev",
)
_MEDIA = {"csv": "text/csv", "txt": "text/plain", "aavso": "text/plain"}


@router.get(
    "/lightcurve",
    summary="Differential photometry of a variable star",
    response_model=LightCurve,
    responses={200: {"content": {"text/csv": {}, "text/plain": {}}}},
)
def lightcurve(
    conn: HeavyReader,
    variable: Annotated[str, Query(description="CATALOG:ID, e.g. UCAC4:805-031770")],
    comparison: Annotated[list[str], Query(description="CATALOG:ID; repeat for an ensemble")],
    check: str | None = None,
    aperture: Annotated[str, Query(description="auto or N (1..N)")] = "auto",
    comparison_aperture: str = "auto",
    night_aperture: Annotated[list[str], Query(description="YYYY-MM-DD:N, variable")] = (),
    night_comparison_aperture: Annotated[list[str], Query(description="YYYY-MM-DD:N")] = (),
    include_saturated: bool = False,
    observer: Annotated[list[str], Query(description="keep only these observers")] = (),
    exclude_observer: Annotated[list[str], Query()] = (),
    as_of: AsOf = None,
    format: Literal["json", "csv", "txt", "aavso"] = "json",  # noqa: A002 - the API's name
    metadata: bool = False,
    obscode: str | None = None,
    aavso_observer: str | None = None,
) -> Response:
    if as_of is not None and as_of.tzinfo is None:
        raise HTTPException(400, "as_of needs a time zone, e.g. 2026-11-24T12:00:00Z")
    try:
        curve = differential_photometry(
            conn,
            variable,
            comparison if len(comparison) > 1 else comparison[0],
            check=check,
            aperture=_apertures(aperture, list(night_aperture)),
            comparison_aperture=_apertures(comparison_aperture, list(night_comparison_aperture)),
            include_saturated=include_saturated,
            observers=list(observer) or None,
            exclude_observers=list(exclude_observer),
            as_of=as_of,
        )
        if format == "csv":
            body = curve.to_csv(metadata=metadata)
        elif format == "txt":
            body = curve.to_txt(metadata=metadata)
        elif format == "aavso":
            if not obscode:
                raise ValueError("format=aavso needs obscode (the AAVSO observer code)")
            body = curve.to_aavso(obscode=obscode, observer=aavso_observer)
    except ObjectNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except (ValueError, TypeError, AngleParseError) as exc:
        raise _bad_request(exc) from None
    if format != "json":
        return PlainTextResponse(body, media_type=_MEDIA[format])
    data = curve.data
    rows = []
    for row in data.itertuples(index=False):
        item = {f: getattr(row, f) for f in _ROW_FIELDS}
        item["time_utc"], item["night"] = row.time_utc.isoformat(), row.night.isoformat()
        for key in (
            "jd",
            "hjd",
            "bjd_tdb",
            "magnitude",
            "deviation",
            "var_flux",
            "var_flux_dev",
            "cmp_flux",
            "cmp_flux_dev",
        ):
            item[key] = _finite(item[key])
        item["saturated"] = bool(item["saturated"])
        item["bjd_at_site"] = bool(item["bjd_at_site"])
        for key in ("image_id", "var_aperture", "cmp_aperture"):
            item[key] = int(item[key])
        if "check_magnitude" in data:
            item["check_magnitude"] = _finite(row.check_magnitude)
            item["check_deviation"] = _finite(row.check_deviation)
        rows.append(item)
    meta = curve.meta
    return StrictJSONResponse(
        {
            "variable": _object_json(meta["variable"]),
            "comparisons": [_object_json(c) for c in meta["comparisons"]],
            "check": _object_json(meta["check"]) if meta["check"] is not None else None,
            "as_of": as_of.isoformat() if as_of else None,
            "rows": rows,
        }
    )


# An ephemeris the API takes: a full BJD_TDB (a reduced one would silently give cycles of
# another era) and a period whose predicted extrema over a night stay a few hundred.
MIN_PERIOD_D, MAX_PERIOD_D = 0.005, 100_000.0
MIN_EPOCH, MAX_EPOCH = 2_000_000.0, 3_000_000.0
_TIMING_FIELDS = (
    "error_d",
    "kind",
    "type",
    "method",
    "n",
    "n_before",
    "n_after",
    "observer",
    "night",
    "filter",
)


def _json_value(value):
    """A table's value as JSON: numpy scalars as Python ones, NaN and NA as None."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _ephemeris_json(e) -> dict | None:
    if e is None:
        return None
    return {
        "epoch": e.epoch,
        "period": e.period,
        "quadratic": e.quadratic,
        "epoch_error": _finite(e.epoch_error),
        "period_error": _finite(e.period_error),
        "quadratic_error": _finite(e.quadratic_error),
        "n": int(e.n),
        "chi2_dof": _finite(e.chi2_dof),
        "fitted": e.n > 0,
    }


def _timings_json(table, at_site: dict) -> list[dict]:
    """The rows of :class:`aphos_lib.minima.Timings`, each with its observer's ``at_site``."""
    out = []
    for record in table.to_dict("records"):
        item = {"bjd_tdb": float(record["time"])}
        item.update({f: _json_value(record.get(f)) for f in _TIMING_FIELDS})
        if item["night"] is not None:
            item["night"] = item["night"].isoformat()
        for key in ("n", "n_before", "n_after"):
            item[key] = int(item[key])
        item["error_d"] = _finite(item["error_d"])
        item["bjd_at_site"] = bool(at_site.get(record.get("observer"), False))
        for key in ("check_time", "check_error_d", "cycle", "o_c_d"):
            item[key] = _finite(record.get(key))
        out.append(item)
    return out


@router.get(
    "/minima",
    summary="Times of minimum (or maximum) of a light curve, with O-C",
    response_model=Minima,
)
def minima(
    conn: HeavyReader,
    variable: Annotated[str, Query(description="CATALOG:ID, e.g. UCAC4:805-031770")],
    comparison: Annotated[list[str], Query(description="CATALOG:ID; repeat for an ensemble")],
    aperture: Annotated[str, Query(description="auto or N (1..N)")] = "auto",
    comparison_aperture: str = "auto",
    night_aperture: Annotated[list[str], Query(description="YYYY-MM-DD:N, variable")] = (),
    night_comparison_aperture: Annotated[list[str], Query(description="YYYY-MM-DD:N")] = (),
    include_saturated: bool = False,
    observer: Annotated[list[str], Query(description="keep only these observers")] = (),
    exclude_observer: Annotated[list[str], Query()] = (),
    as_of: AsOf = None,
    epoch: Annotated[
        float | None,
        Query(
            ge=MIN_EPOCH,
            le=MAX_EPOCH,
            description="BJD_TDB of a primary minimum (of a maximum with maxima=true); "
            "needs period",
        ),
    ] = None,
    period: Annotated[
        float | None,
        Query(
            ge=MIN_PERIOD_D,
            le=MAX_PERIOD_D,
            description="days; with epoch: O-C against this ephemeris, alone: a first guess "
            "for the fit",
        ),
    ] = None,
    quadratic: Annotated[bool, Query(description="fit T0 + P E + Q E^2")] = False,
    maxima: Annotated[bool, Query(description="maxima of light (pulsating stars)")] = False,
) -> Response:
    if as_of is not None and as_of.tzinfo is None:
        raise HTTPException(400, "as_of needs a time zone, e.g. 2026-11-24T12:00:00Z")
    if epoch is not None and period is None:
        raise HTTPException(400, "epoch needs period (a period alone is a first guess for a fit)")
    message = None
    try:
        curve = differential_photometry(
            conn,
            variable,
            comparison if len(comparison) > 1 else comparison[0],
            aperture=_apertures(aperture, list(night_aperture)),
            comparison_aperture=_apertures(comparison_aperture, list(night_comparison_aperture)),
            include_saturated=include_saturated,
            observers=list(observer) or None,
            exclude_observers=list(exclude_observer),
            as_of=as_of,
        )
        try:
            timings = curve.o_c(epoch, period, quadratic=quadratic, maxima=maxima)
        except EphemerisError as exc:  # too few timings to fit one: list them without O-C
            timings = curve.maxima() if maxima else curve.minima()
            message = str(exc)
    except ObjectNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except (ValueError, TypeError, AngleParseError) as exc:
        raise _bad_request(exc) from None
    data = curve.data
    at_site = data.groupby("observer")["bjd_at_site"].all().to_dict() if len(data) else {}
    meta = curve.meta
    return StrictJSONResponse(
        {
            "variable": _object_json(meta["variable"]),
            "comparisons": [_object_json(c) for c in meta["comparisons"]],
            "as_of": as_of.isoformat() if as_of else None,
            "ephemeris": _ephemeris_json(timings.ephemeris),
            "ephemeris_message": message,
            "minima": _timings_json(timings.table, at_site),
        }
    )


@router.get(
    "/observers/{username}",
    summary="An observer's public profile and totals",
    response_model=Observer,
)
def read_observer(conn: Reader, username: str) -> Response:
    try:
        o = get_observer(conn, username)
    except ObserverNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return StrictJSONResponse(
        {
            "username": o.username,
            "description": o.description,
            "created_at": o.created_at.isoformat(),
            "longitude_deg": o.longitude_deg,
            "latitude_deg": o.latitude_deg,
            "height_m": o.height_m,
            "images": o.images,
            "fluxes": o.fluxes,
            "uploads": o.uploads,
            "first_image": o.first_image.isoformat() if o.first_image else None,
            "last_image": o.last_image.isoformat() if o.last_image else None,
        }
    )
