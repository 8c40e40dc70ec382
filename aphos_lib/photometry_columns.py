"""A light curve's rows as numpy columns, read as fixed-width binary records.

The common light curve (every night in one aperture per star: ApAuto by default) reads each
star's measurements once, from the index alone, and joins them on the image id here, with
numpy. The database never multiplies one star's rows by another's: a star measured several
times in one image (SIPS matched it to two sources, or a file's rows were stored repeated)
costs its own rows, never their product, and an ensemble of 50 stars is 51 index scans.

- each flux carries its light-curve values as a binary record
  (:mod:`aphos_lib.db.light_curve_records`, migration 0010), so a star's measurements come
  back as one ``bytea`` (``string_agg`` of the image id and the record), which numpy reads as
  one structured array without a Python object per value; evaluating the values one by one
  in SQL was most of the database's time;
- a star's numbered apertures (read from the table, not the index) come as ``cube`` points
  (contrib ``cube``, up to 100 numbers each) aggregated over the same rows, one per row;
- the images common to the stars are then read once each, by id (the image's record, its
  filter, and the conditions on observers and upload time).

The rest is done with numpy:

- a star measured twice in one image keeps the source nearest its catalogue position (the
  rule of the SQL query's ``DISTINCT ON`` in :mod:`aphos_lib.photometry`);
- a curve reads at most :data:`MAX_CURVE_SOURCES` measurements, shared among its stars, and
  stops with a clear error beyond them rather than exhausting the server;
- rows are ordered by exposure middle, then image id;
- the night is local noon to local noon at the observer's longitude (12:00 UTC when unknown);
- the JD of mid-exposure is the header's, else the UTC time's;
- observers and filters come back as small integer codes, named from two tiny queries.

:func:`aphos_lib.photometry.differential_photometry` uses this unless every aperture's lists
are asked for (``with_apertures``), which its SQL query returns; the apertures chosen night by
night are picked here from one column per aperture number used. The two reads give the same
frame, which the tests check.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from aphos_lib.aperture_choice import AUTO, ApertureChoice
from aphos_lib.db import light_curve_records as records
from aphos_lib.db.binary_copy import decode_points

__all__ = ["MAX_CURVE_SOURCES", "CurveTooLarge", "check_budget", "fetch_columns"]

# The measurements (one star in one image, repeats included) one light curve may read, shared
# evenly among its stars: 1,000,000 records are about 41 MB, what a 5,000-image curve of 200
# stars needs. Beyond it the read stops before building anything.
MAX_CURVE_SOURCES = 1_000_000

_US_PER_DAY = 86_400_000_000
_EPOCH_2000_US = 946_684_800_000_000  # PostgreSQL's timestamps count from 2000-01-01
_NOON_US = 43_200_000_000
_EPOCH_DATE = dt.date(1970, 1, 1)

# An image's last field: its filter as its position in the list of filters (0: none).
_FILTER_CODE = (
    "_filter_code",
    "int2send(coalesce(array_position(%(filters)s::text[], i.filter), 0)::int2)",
    ">i2",
)
# A star's numbered aperture k, as the coordinates of a point, each with its numpy type
# (flags are exact in float8).
_APERTURE = [
    ("flux_{k}", "coalesce(f.ap[{k}], 'NaN')", np.float64),
    ("flux_dev_{k}", "coalesce(f.ap_dev[{k}], 'NaN')", np.float64),
    ("saturated_{k}", "coalesce(f.ap_saturated[{k}], false)::int", np.bool_),
]
_CUBE_MAX_DIM = 100  # contrib cube's limit on a point's coordinates
# A star's measurements in image order, at most {limit} (one more shows the budget is
# exceeded): an index-only scan of flux_object_image_idx unless numbered apertures are read.
_STAR = """(SELECT count(*) AS n,
           string_agg(int8send(f.image_id) || f.light_curve_record, ''::bytea) AS records
           {points}
    FROM (SELECT image_id, light_curve_record {arrays} FROM flux
          WHERE object_id = {id} ORDER BY image_id LIMIT {limit}) f) {alias}"""
# The common images, each probed in image_light_curve_idx; OFFSET 0 keeps the planner from
# hashing the whole image table for what is a list of ids. The columns are those the records
# and the conditions read.
_IMAGES = """
    SELECT string_agg(i.light_curve_record || {filter_code}, ''::bytea)
    FROM unnest(%(image_ids)s::int8[]) AS u(id)
    CROSS JOIN LATERAL (SELECT light_curve_record, filter, observer_id, created_at FROM image
                        WHERE image.id = u.id OFFSET 0) i
    WHERE {where}
"""

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


class CurveTooLarge(ValueError):
    """A light curve would read more measurements than :data:`MAX_CURVE_SOURCES`."""


def _per_star(n_stars: int) -> int:
    return MAX_CURVE_SOURCES // n_stars


def _too_large(n_stars: int) -> CurveTooLarge:
    return CurveTooLarge(
        f"this light curve would read more than {MAX_CURVE_SOURCES} measurements "
        f"({n_stars} stars, at most {_per_star(n_stars)} each): use fewer comparison stars"
    )


def check_budget(conn: psycopg.Connection, object_ids: list[int]) -> None:
    """Raise :class:`CurveTooLarge` when a star has more measurements than its share.

    For the general SQL query, which reads whole rows: counted from the index alone, each
    count stopping at the share.
    """
    limit = _per_star(len(object_ids))
    counts = sql.SQL(", ").join(
        sql.SQL("(SELECT count(*) FROM (SELECT FROM flux WHERE object_id = {} LIMIT {}) s)").format(
            sql.Literal(int(i)), sql.Literal(limit + 1)
        )
        for i in object_ids
    )
    if max(conn.execute(sql.SQL("SELECT {}").format(counts)).fetchone()) > limit:
        raise _too_large(len(object_ids))


def fetch_columns(
    conn: psycopg.Connection,
    stars: list[tuple[str, object, ApertureChoice, bool]],
    where: list[sql.Composable],
    params: dict,
) -> dict:
    """The light-curve columns of ``stars``: those ``photometry._frame`` gives.

    Parameters
    ----------
    conn : psycopg.Connection
    stars : list of (alias, CatalogObject, aperture, optional)
        The variable first (alias ``v``), then the comparisons, then an optional check star
        (``optional``: where it is missing its values are NaN and not saturated). The star's
        aperture on each night follows its ``ApertureChoice``.
    where : list of sql.Composable
        Conditions on the image ``i`` and its observer id (observers, ``as_of``).
    params : dict
        The conditions' parameters.

    Raises
    ------
    CurveTooLarge
        When a star has more measurements than its share of :data:`MAX_CURVE_SOURCES`.
    """
    limit = _per_star(len(stars))
    layouts = [_star_layout(alias, choice) for alias, _, choice, _ in stars]
    subqueries = [
        sql.SQL(
            _STAR.format(
                alias=alias,
                id=int(obj.id),
                limit=limit + 1,
                arrays=", ap, ap_dev, ap_saturated" if points else "",
                points="".join(_point_sql(k, p) for k, p in enumerate(points)),
            )
        )
        for (alias, obj, _, _), (_, points) in zip(stars, layouts, strict=True)
    ]
    query = sql.SQL("SELECT * FROM {}").format(sql.SQL(" CROSS JOIN ").join(subqueries))
    result = conn.cursor(binary=True).execute(query).fetchone()
    columns, at = [], 0
    for (alias, obj, _, _), (record, points) in zip(stars, layouts, strict=True):
        count, raw = result[at], result[at + 1]
        if count > limit:
            raise _too_large(len(stars))
        star = _columns(np.frombuffer(raw or b"", dtype=record))
        for data, point in zip(result[at + 2 : at + 2 + len(points)], points, strict=True):
            coordinates = decode_points(data, len(point))
            for k, (name, _, kind) in enumerate(point):
                star[name] = coordinates[:, k].astype(kind)
        columns.append(_nearest_source(star, alias, obj))
        at += 2 + len(points)

    # The images where every star that is not optional was measured.
    common = columns[0]["image_id"]
    for star, (_, _, _, optional) in zip(columns[1:], stars[1:], strict=True):
        if not optional:
            common = np.intersect1d(common, star["image_id"], assume_unique=True)
    filters = [r[0] for r in conn.execute(_FILTERS).fetchall()]
    image = np.dtype(records.dtype([]).descr + [(_FILTER_CODE[0], _FILTER_CODE[2])])
    query = sql.SQL(_IMAGES).format(
        filter_code=sql.SQL(_FILTER_CODE[1]),
        where=sql.SQL(" AND ").join(where or [sql.SQL("true")]),
    )
    params = {**params, "filters": filters, "image_ids": common.tolist()}
    raw = conn.cursor(binary=True).execute(query, params).fetchone()[0]
    data = _columns(np.frombuffer(raw or b"", dtype=image))
    for star, (alias, _, _, optional) in zip(columns, stars, strict=True):
        data.update(_at_images(star, alias, data["image_id"], optional))
    order = np.lexsort((data["image_id"], data["_time_us"]))
    data = {name: column[order] for name, column in data.items()}
    return _frame(conn, data, stars, filters)


def _star_layout(alias: str, choice: ApertureChoice) -> tuple[np.dtype, list[list[tuple]]]:
    """A star's record type (image id, then its flux record) and its aperture points."""
    record = np.dtype(
        [("image_id", ">i8")] + [(f"{alias}_{name}", kind) for name, _, kind in records.FLUX_FIELDS]
    )
    columns = []
    for k in _apertures_used(choice):
        columns += [(f"{alias}_{n.format(k=k)}", e.format(k=k), w) for n, e, w in _APERTURE]
    points = [columns[k : k + _CUBE_MAX_DIM] for k in range(0, len(columns), _CUBE_MAX_DIM)]
    return record, points


def _point_sql(k: int, point: list[tuple]) -> str:
    """A star's k-th group of aperture values, one ``cube`` point per row, aggregated."""
    coordinates = ", ".join(expr for _, expr, _ in point)
    return f", array_send(array_agg(cube(ARRAY[{coordinates}]::float8[]))) AS p{k}"


def _columns(rows: np.ndarray) -> dict:
    """A structured array's fields as native-endian columns."""
    names = rows.dtype.names
    return {name: rows[name].astype(rows.dtype[name].newbyteorder("=")) for name in names}


def _apertures_used(choice: ApertureChoice) -> list[int]:
    """The numbered apertures (not ApAuto) a star is measured in on some night."""
    return sorted({int(choice.default), *(int(k) for k in choice.nights.values())} - {AUTO})


def _nearest_source(star: dict, alias: str, obj) -> dict:
    """One row per image: the source nearest the star's catalogue position."""
    ids = star["image_id"]
    if (ids[1:] > ids[:-1]).all():  # the usual case, read in image order: no repeats
        return star
    ra, dec = np.radians(star[f"{alias}_ra_deg"]), np.radians(star[f"{alias}_dec_deg"])
    ra0, dec0 = np.radians(obj.ra_deg), np.radians(obj.dec_deg)
    close = np.sin(dec) * np.sin(dec0) + np.cos(dec) * np.cos(dec0) * np.cos(ra - ra0)
    order = np.lexsort((-close, ids))
    first = np.ones(len(ids), dtype=bool)
    first[1:] = ids[order][1:] != ids[order][:-1]
    keep = order[first]
    return {name: column[keep] for name, column in star.items()}


def _at_images(star: dict, alias: str, image_ids: np.ndarray, optional: bool) -> dict:
    """A star's columns at ``image_ids`` (sorted by id); an optional star missing: NaN."""
    at = np.searchsorted(star["image_id"], image_ids)
    if not optional:  # measured in each of them: they are common images
        return {name: column[at] for name, column in star.items() if name != "image_id"}
    found = np.zeros(len(image_ids), dtype=bool)
    if len(star["image_id"]):
        at = np.minimum(at, len(star["image_id"]) - 1)
        found = star["image_id"][at] == image_ids
    out = {}
    for name, column in star.items():
        if name == "image_id":
            continue
        if column.dtype == np.bool_:
            out[name] = np.zeros(len(image_ids), dtype=bool)
        else:
            out[name] = np.full(len(image_ids), np.nan, dtype=column.dtype)
        out[name][found] = column[at[found]]
    return out


def _frame(conn, data: dict, stars, filters: list[str]) -> dict:
    observer_ids = np.unique(data["_observer_id"])
    observers = conn.execute(
        "SELECT id, username, coalesce(longitude_deg, 0) FROM observer WHERE id = ANY(%s)",
        (observer_ids.tolist(),),
    ).fetchall()
    index = np.searchsorted(observer_ids, data["_observer_id"])
    by_id = {r[0]: r for r in observers}
    names = [by_id[i][1] for i in observer_ids.tolist()]
    longitude = np.array([by_id[i][2] for i in observer_ids.tolist()], dtype=float)
    time_us = data["_time_us"] + _EPOCH_2000_US
    shift_us = np.rint(longitude[index] * 240e6).astype(np.int64) - _NOON_US
    night_days = (time_us + shift_us) // _US_PER_DAY
    jd = data["jd"]
    jd = np.where(np.isfinite(jd), jd, time_us / _US_PER_DAY + 2440587.5)

    frame = {
        "image_id": data["image_id"],
        "time_utc": pd.to_datetime(time_us, unit="us", utc=True),
        "jd": jd,
        "hjd": data["hjd"],
        "night": night_days.astype("datetime64[D]").astype(object),
        # Taken from the few distinct names: a list of 5,000 strings would be converted to
        # the DataFrame's string type one by one (0.3 ms a column).
        "observer": pd.Index(names).take(index).array,
        "filter": pd.Index([None, *filters]).take(data["_filter_code"]).array,
        "exposure_s": data["exposure_s"],
    }
    for alias, _, choice, _ in stars:
        for name in ("ra_deg", "dec_deg", "ap_auto", "ap_auto_dev", "ap_auto_saturated"):
            frame[f"{alias}_{name}"] = data[f"{alias}_{name}"]
        aperture = np.full(len(time_us), int(choice.default), dtype=np.int64)
        for night, k in choice.nights.items():
            aperture[night_days == (night - _EPOCH_DATE).days] = int(k)
        frame[f"{alias}_aperture"] = aperture
        flux = data[f"{alias}_ap_auto"].copy()
        flux_dev = data[f"{alias}_ap_auto_dev"].copy()
        saturated = data[f"{alias}_ap_auto_saturated"].copy()
        for k in _apertures_used(choice):
            rows = aperture == k
            flux[rows] = data[f"{alias}_flux_{k}"][rows]
            flux_dev[rows] = data[f"{alias}_flux_dev_{k}"][rows]
            saturated[rows] = data[f"{alias}_saturated_{k}"][rows]
        frame[f"{alias}_flux"], frame[f"{alias}_flux_dev"] = flux, flux_dev
        frame[f"{alias}_saturated"] = saturated
    return frame
