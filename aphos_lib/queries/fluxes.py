"""One object's stored fluxes, in time order, as the REST API pages them."""

from __future__ import annotations

import datetime as dt

from aphos_lib.queries.query import Query

__all__ = ["as_original_api", "count_as_of", "of_object"]


def of_object(object_id: int, *, limit: int, offset: int, as_of: dt.datetime | None) -> Query:
    """Fluxes of ``object_id`` (every aperture, one row per stored measurement), oldest first.

    Columns: image id, exposure middle (UTC), the header's JD (None when it gave none: see
    :func:`aphos_lib.light_curve_rules.julian_date`), HJD, observer's username, line, RA, Dec,
    ApAuto flux, deviation and saturation, then every aperture's as arrays. ``as_of`` keeps
    images uploaded by then.

    Examples
    --------
    >>> q = of_object(7, limit=10, offset=20, as_of=None)
    >>> q.params["id"], q.params["limit"], q.params["offset"], q.binary
    (7, 10, 20, True)
    """
    statement = """
        SELECT i.id, i.exposure_mid, i.jd_mid, i.hjd, ob.username,
               f.line, f.ra_deg, f.dec_deg, f.ap_auto, f.ap_auto_dev, f.ap_auto_saturated, f.ap,
               f.ap_dev, f.ap_saturated
        FROM flux f JOIN image i ON i.id = f.image_id JOIN observer ob ON ob.id = i.observer_id
        WHERE f.object_id = %(id)s
          AND (%(as_of)s::timestamptz IS NULL OR i.created_at <= %(as_of)s)
        ORDER BY i.exposure_mid, i.id, f.line
        LIMIT %(limit)s OFFSET %(offset)s
    """
    params = {"id": object_id, "as_of": as_of, "limit": limit, "offset": offset}
    return Query(statement, params, binary=True)


def count_as_of(object_id: int, as_of: dt.datetime) -> Query:
    """How many fluxes of ``object_id`` are in images uploaded by ``as_of``.

    Examples
    --------
    >>> count_as_of(7, dt.datetime(2026, 1, 1, tzinfo=dt.UTC)).params[0]
    7
    """
    return Query(
        "SELECT count(*) FROM flux f JOIN image i ON i.id = f.image_id "
        "WHERE f.object_id = %s AND i.created_at <= %s",
        (object_id, as_of),
    )


def as_original_api(object_id: int, *, limit: int) -> Query:
    """Fluxes of ``object_id`` with the columns the original APhoS's API answered, oldest first.

    Columns: RA, Dec, observer's username, ApAuto flux and saturation, every aperture's fluxes
    and saturations, the deviations, exposure begin and end.

    Examples
    --------
    >>> as_original_api(7, limit=5).params
    (7, 5)
    """
    statement = """
        SELECT f.ra_deg, f.dec_deg, ob.username, f.ap_auto, f.ap_auto_saturated, f.ap,
               f.ap_saturated, f.ap_auto_dev, f.ap_dev, i.exposure_begin, i.exposure_end
        FROM flux f JOIN image i ON i.id = f.image_id JOIN observer ob ON ob.id = i.observer_id
        WHERE f.object_id = %s
        ORDER BY i.exposure_mid, i.id, f.line
        LIMIT %s
    """
    return Query(statement, (object_id, limit), binary=True)
