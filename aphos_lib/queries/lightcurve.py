"""The statements of the light-curve read (:mod:`aphos_lib.light_curve_read`).

A light curve is read in three steps, each one statement:

1. :func:`records`: every star's measurements as binary records, from its sealed chunks
   (migration 0015) and the index entries after them; a star measured in numbered apertures
   on some night is read by :func:`measurements` instead (its records with the apertures'
   values as ``cube`` points), and every aperture's lists, when asked for, by
   :func:`aperture_lists` (one row per measurement);
2. :func:`filters` and :func:`images`: the images common to the stars, by id, with the
   conditions on observers and upload time (:func:`image_conditions`);
3. :func:`observers`: the few observers of those images, with their sites.

The rules applied to what they return (the night, the JD, one source per star and image) are
in :mod:`aphos_lib.light_curve_rules`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from psycopg import sql

from aphos_lib.queries.params import Int8Array
from aphos_lib.queries.query import Query

__all__ = [
    "APERTURE_VALUES",
    "FILTER_CODE",
    "StarRead",
    "aperture_lists",
    "filters",
    "image_conditions",
    "images",
    "measurements",
    "observers",
    "records",
]

# A star's numbered aperture k, as the coordinates of a point, each with its numpy type
# (flags are exact in float8).
APERTURE_VALUES = [
    ("flux_{k}", "coalesce(f.ap[{k}], 'NaN')", np.float64),
    ("flux_dev_{k}", "coalesce(f.ap_dev[{k}], 'NaN')", np.float64),
    ("saturated_{k}", "coalesce(f.ap_saturated[{k}], false)::int", np.bool_),
]
# An image's last field: its filter as its position in the list of filters (0: none).
FILTER_CODE = (
    "_filter_code",
    "int2send(coalesce(array_position(%(filters)s::text[], i.filter), 0)::int2)",
    ">i2",
)


@dataclass(frozen=True)
class StarRead:
    """What to read of one star.

    Parameters
    ----------
    object_id : int
        The catalogue object.
    limit : int
        Read at most this many measurements (one more tells the caller the budget is passed).
    points : list of list of str
        Groups of aperture-value expressions (:data:`APERTURE_VALUES`), each group read as one
        ``cube`` point per measurement (at most 100 coordinates each).
    """

    object_id: int
    limit: int
    points: Sequence[Sequence[str]] = ()


# A star's measurements in image order, at most {limit}: an index-only scan of
# flux_object_image_idx. With numbered apertures the rows are read whole (their arrays).
_STAR_ROWS = """(SELECT count(*) AS n,
           string_agg(int8send(f.image_id) || f.light_curve_record, ''::bytea) AS records
           {points}
    FROM (SELECT image_id, light_curve_record {arrays} FROM flux
          WHERE object_id = {id} ORDER BY image_id LIMIT {limit}) f) {alias}"""

# The stars' sealed chunks (migration 0015), each a row, then per star one row of what
# follows its last chunk: rows, not one aggregate, so that the server copies no chunk again.
# A chunk's records are sent only when the curve is within its limit up to the chunk's end: a
# curve too long to read costs its chunks' counts, not their megabytes.
_RECORDS = """
    SELECT c.object_id, c.through_image_id, c.n,
           CASE WHEN c.n_through <= %(limit)s THEN c.records END
    FROM light_curve_chunk c
    WHERE c.object_id = ANY(%(ids)s)
    UNION ALL
    SELECT s.id, NULL, t.n, t.records
    FROM unnest(%(ids)s::int8[]) AS s(id)
    CROSS JOIN LATERAL (
        SELECT count(*)::int AS n,
               coalesce(string_agg(int8send(f.image_id) || f.light_curve_record, ''::bytea),
                        ''::bytea) AS records
        FROM (SELECT image_id, light_curve_record FROM flux
              WHERE object_id = s.id
                AND image_id > coalesce((SELECT max(c.through_image_id) FROM light_curve_chunk c
                                         WHERE c.object_id = s.id), 0)
              ORDER BY image_id LIMIT %(limit)s) f) t
"""


def records(object_ids: Sequence[int], *, limit: int) -> Query:
    """The light-curve records of these objects, at most ``limit`` each (more: too many).

    Rows of object id, the chunk's last image id (None for the rows after the last chunk),
    the number of records and the records: the image id (int8) and the flux's light-curve
    record (:data:`aphos_lib.db.light_curve_records.FLUX_FIELDS`), in image order. An
    object's records are its chunks' in the order of their last image, then the rest. A
    chunk that ends past ``limit`` records comes with its count and None for its records.

    Examples
    --------
    >>> records([7, 9], limit=1001).params
    {'ids': [7, 9], 'limit': 1001}
    """
    ids = sorted({int(i) for i in object_ids})
    return Query(_RECORDS, {"ids": ids, "limit": int(limit)}, binary=True)


def measurements(stars: Sequence[StarRead]) -> Query:
    """Every star's measurements, in one row: per star its count, its records and its points.

    Each star's records are the image id (int8) and the flux's light-curve record
    (:data:`aphos_lib.db.light_curve_records.FLUX_FIELDS`), concatenated in image order, read
    from its rows with their numbered apertures' points (the stars that need none are read
    by :func:`records`, from their chunks).

    Examples
    --------
    >>> q = measurements([StarRead(7, 1001), StarRead(9, 1001)])
    >>> text = q.text()
    >>> "WHERE object_id = 7 ORDER BY image_id LIMIT 1001" in text, " CROSS JOIN " in text
    (True, True)
    """
    subqueries = []
    for k, star in enumerate(stars):
        points = "".join(
            f", array_send(array_agg(cube(ARRAY[{', '.join(group)}]::float8[]))) AS p{j}"
            for j, group in enumerate(star.points)
        )
        subqueries.append(
            sql.SQL(
                _STAR_ROWS.format(
                    alias=f"s{k}",
                    id=int(star.object_id),
                    limit=int(star.limit),
                    arrays=", ap, ap_dev, ap_saturated" if star.points else "",
                    points=points,
                )
            )
        )
    statement = sql.SQL("SELECT * FROM {}").format(sql.SQL(" CROSS JOIN ").join(subqueries))
    return Query(statement, binary=True)


def aperture_lists(object_id: int, *, limit: int) -> Query:
    """One star's measurements with every aperture's fluxes, deviations and saturations.

    One row per measurement in image order (the order of :func:`measurements`' records):
    image id, position, and the three lists.

    Examples
    --------
    >>> aperture_lists(7, limit=11).params
    (7, 11)
    """
    return Query(
        "SELECT image_id, ra_deg, dec_deg, ap, ap_dev, ap_saturated FROM flux "
        "WHERE object_id = %s ORDER BY image_id LIMIT %s",
        (int(object_id), int(limit)),
        binary=True,
    )


# Distinct filters by skipping through image_filter_idx: one probe per filter.
_FILTERS = """
    WITH RECURSIVE f(filter) AS (
        (SELECT filter FROM image WHERE filter IS NOT NULL ORDER BY filter LIMIT 1)
        UNION ALL
        SELECT (SELECT i.filter FROM image i WHERE i.filter > f.filter ORDER BY i.filter LIMIT 1)
        FROM f WHERE f.filter IS NOT NULL
    )
    SELECT filter FROM f WHERE filter IS NOT NULL
"""


def filters() -> Query:
    """Every filter name images carry, in order (one index probe per filter)."""
    return Query(_FILTERS)


# The common images, found by one index scan for the sorted list of ids (the server skips
# between them; 5,000 images in about 4 ms, against 8-12 for a join probing each id).
_IMAGES = """
    SELECT string_agg(i.light_curve_record || {filter_code}, ''::bytea)
    FROM image i
    WHERE i.id = ANY(%(image_ids)s::int8[]) AND {where}
"""


def image_conditions(
    observers: list[str] | None, exclude_observers: list[str] | None, as_of: dt.datetime | None
) -> tuple[list[sql.Composable], dict]:
    """The conditions on an image ``i`` (observers kept or left out, ``as_of``), with values.

    Usernames are compared in lower case; give them lower-cased.

    Examples
    --------
    >>> where, params = image_conditions(["novak"], None, None)
    >>> params
    {'observers': ['novak']}
    """
    params: dict = {}
    where = []
    if observers is not None:
        params["observers"] = observers
        where.append(
            sql.SQL(
                "i.observer_id IN (SELECT id FROM observer "
                "WHERE lower(username) = ANY(%(observers)s))"
            )
        )
    if exclude_observers:
        params["exclude"] = exclude_observers
        where.append(
            sql.SQL(
                "i.observer_id NOT IN (SELECT id FROM observer "
                "WHERE lower(username) = ANY(%(exclude)s))"
            )
        )
    if as_of is not None:
        params["as_of"] = as_of
        where.append(sql.SQL("i.created_at <= %(as_of)s"))
    return where, params


def images(
    image_ids: Sequence[int], filter_names: list[str], where: list[sql.Composable], params: dict
) -> Query:
    """The records of these images that meet ``where``, concatenated (one ``bytea``).

    Each is the image's light-curve record
    (:data:`aphos_lib.db.light_curve_records.IMAGE_FIELDS`) and its filter's code
    (:data:`FILTER_CODE`: its position in ``filter_names``, 0 for none).

    Examples
    --------
    >>> q = images([3, 5], ["V"], *image_conditions(None, ["svoboda"], None))
    >>> len(q.params["image_ids"].data), q.params["exclude"]  # the ids in binary: 20 + 2 * 12
    (44, ['svoboda'])
    """
    statement = sql.SQL(_IMAGES).format(
        filter_code=sql.SQL(FILTER_CODE[1]),
        where=sql.SQL(" AND ").join(where or [sql.SQL("true")]),
    )
    values = {**params, "filters": filter_names, "image_ids": Int8Array(image_ids)}
    return Query(statement, values, binary=True)


def observers(observer_ids: Sequence[int]) -> Query:
    """Id, username and site (longitude, latitude, height; NaN when unknown) of these observers.

    Examples
    --------
    >>> observers([1, 2]).params
    ([1, 2],)
    """
    return Query(
        "SELECT id, username, coalesce(longitude_deg, 'NaN'), coalesce(latitude_deg, 'NaN'), "
        "coalesce(height_m, 'NaN') FROM observer WHERE id = ANY(%s)",
        (list(observer_ids),),
    )
