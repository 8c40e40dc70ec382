"""A light curve's rows as numpy columns, read as one binary string of fixed-width records.

The common light curve (every night in one aperture per star: ApAuto by default) is a join of
each star's index-only flux scan on the image id. Returning 5,000 such rows as Python tuples
cost more than the query, and so did ``DISTINCT ON``, the sort and the night arithmetic in
SQL. Here the database only joins, and concatenates each row's records into one ``bytea``
(``string_agg``), which numpy reads as one structured array, without a Python object per value:

- each image and each flux carries its light-curve values as a binary record, a generated
  column (:mod:`aphos_lib.db.light_curve_records`), so a row is the image's record, each
  star's, and the filter's code: no expression per value. Evaluating the values one by one
  (coalesce, cast, then ``array_send``, which calls the element type's send function per
  element) was most of the database's time: 5,000 images took 12.9 ms that way at 30
  million fluxes, 6.4 ms as records;
- a star's numbered apertures (read from the table, not the index) come as ``cube`` points
  (contrib ``cube``, up to 100 numbers each) aggregated in the same order, one point per row.

The rest is done with numpy:

- a star measured twice in one image (SIPS matched it to two sources) keeps the source
  nearest its catalogue position;
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
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from aphos_lib.db import light_curve_records as records
from aphos_lib.db.binary_copy import decode_points

if TYPE_CHECKING:
    from aphos_lib.photometry import ApertureChoice

AUTO = 0  # ApAuto's aperture number, as in aphos_lib.photometry

__all__ = ["fetch_columns"]

_US_PER_DAY = 86_400_000_000
_EPOCH_2000_US = 946_684_800_000_000  # PostgreSQL's timestamps count from 2000-01-01
_NOON_US = 43_200_000_000
_EPOCH_DATE = dt.date(1970, 1, 1)

# A row's last field: the image's filter as its position in the list of filters (0: none).
_FILTER_CODE = ("_filter_code", "int2send(coalesce(array_position(%(filters)s::text[], "
                "i.filter), 0)::int2)", ">i2")  # fmt: skip
# A star's numbered aperture k, as the coordinates of a point, each with its numpy type
# (flags are exact in float8).
_APERTURE = [
    ("flux_{k}", "coalesce({s}.ap[{k}], 'NaN')", np.float64),
    ("flux_dev_{k}", "coalesce({s}.ap_dev[{k}], 'NaN')", np.float64),
    ("saturated_{k}", "coalesce({s}.ap_saturated[{k}], false)::int", np.bool_),
]
_CUBE_MAX_DIM = 100  # contrib cube's limit on a point's coordinates
# Each row's image, probed in image_light_curve_idx. OFFSET 0 keeps the planner from making
# it a join it may hash: its estimate of two stars' common images is poor (550 for 5,000),
# and it then hashed the whole image table, a cost that grows with the archive while the
# probes grow with the curve (5,000 images at 30 million fluxes: 11.0 ms hashed against 8.0 ms
# probed, alternating). The columns are those the records and the conditions read.
_IMAGE = """(SELECT light_curve_record, filter, observer_id, created_at FROM image
             WHERE image.id = v.image_id OFFSET 0)"""

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
        (``optional``: a LEFT JOIN; where it is missing its values are NaN and not saturated).
        The star's aperture on each night follows its ``ApertureChoice``.
    where : list of sql.Composable
        Conditions on the image ``i`` and its observer id (observers, ``as_of``).
    params : dict
        The conditions' parameters.
    """
    filters = [r[0] for r in conn.execute(_FILTERS).fetchall()]
    record = ["i.light_curve_record"]
    for alias, _, _, optional in stars:
        # Aliases are ours (v, c0, c1, k), never user input.
        record.append(f"coalesce({alias}.light_curve_record, %(missing_flux)s)" if optional
                      else f"{alias}.light_curve_record")  # fmt: skip
    record.append(_FILTER_CODE[1])
    row = np.dtype(records.dtype([alias for alias, *_ in stars]).descr
                   + [(_FILTER_CODE[0], _FILTER_CODE[2])])  # fmt: skip
    columns = _aperture_columns(stars)
    points = [columns[k : k + _CUBE_MAX_DIM] for k in range(0, len(columns), _CUBE_MAX_DIM)]
    aggregates = [f"string_agg({' || '.join(record)}, ''::bytea)"] + [
        f"array_send(array_agg(cube(ARRAY[{', '.join(e for _, e, _ in p)}]::float8[])))"
        for p in points
    ]
    query = sql.SQL(
        "SELECT {aggregates} FROM flux v {joins} CROSS JOIN LATERAL {image} i "
        "WHERE v.object_id = {v_id} AND {where}"
    ).format(
        image=sql.SQL(_IMAGE),
        aggregates=sql.SQL(", ").join(sql.SQL(a) for a in aggregates),
        joins=sql.SQL(" ").join(_joins(stars)),
        v_id=sql.Literal(stars[0][1].id),
        where=sql.SQL(" AND ").join(where or [sql.SQL("true")]),
    )
    params = {**params, "filters": filters, "missing_flux": records.MISSING_FLUX}
    result = conn.cursor(binary=True).execute(query, params).fetchone()
    rows = np.frombuffer(result[0] or b"", dtype=row)
    data = {name: rows[name].astype(rows.dtype[name].newbyteorder("="))
            for name in row.names}  # fmt: skip
    for raw, point in zip(result[1:], points, strict=True):
        coordinates = decode_points(raw, len(point))
        data.update((name, coordinates[:, k].astype(kind))
                    for k, (name, _, kind) in enumerate(point))  # fmt: skip
    data = _nearest_sources(data, stars)
    order = np.lexsort((data["image_id"], data["_time_us"]))
    data = {name: column[order] for name, column in data.items()}
    return _frame(conn, data, stars, filters)


def _aperture_columns(stars) -> list[tuple[str, str, type]]:
    """The numbered apertures' values of each star, as point coordinates."""
    columns = []
    for alias, _, choice, _ in stars:
        for k in _apertures_used(choice):
            columns += [(f"{alias}_{n.format(k=k)}", e.format(s=alias, k=k), w)
                        for n, e, w in _APERTURE]  # fmt: skip
    return columns


def _joins(stars) -> list[sql.Composable]:
    """Each star after the variable joined on the variable's image (a LEFT JOIN if optional)."""
    return [
        sql.SQL("{kind} flux {s} ON {s}.image_id = v.image_id AND {s}.object_id = {id}").format(
            kind=sql.SQL("LEFT JOIN" if optional else "JOIN"), s=sql.Identifier(alias),
            id=sql.Literal(obj.id))
        for alias, obj, _, optional in stars[1:]
    ]  # fmt: skip


def _apertures_used(choice: ApertureChoice) -> list[int]:
    """The numbered apertures (not ApAuto) a star is measured in on some night."""
    return sorted({int(choice.default), *(int(k) for k in choice.nights.values())} - {AUTO})


def _closeness(data: dict, alias: str, obj) -> np.ndarray:
    """cos of each source's distance from the star's catalogue position (1 is on it)."""
    ra, dec = np.radians(data[f"{alias}_ra_deg"]), np.radians(data[f"{alias}_dec_deg"])
    ra0, dec0 = np.radians(obj.ra_deg), np.radians(obj.dec_deg)
    close = np.sin(dec) * np.sin(dec0) + np.cos(dec) * np.cos(dec0) * np.cos(ra - ra0)
    return np.nan_to_num(close, nan=-2.0)  # a check star missing from the image: last


def _nearest_sources(data: dict, stars) -> dict:
    """One row per image: for each star, the source nearest its catalogue position."""
    ids = data["image_id"]
    # The usual case: no star matched twice in any image. The join usually returns the
    # images in id order, which shows that in one pass.
    if (ids[1:] > ids[:-1]).all() or len(np.unique(ids)) == len(ids):
        return data
    keys = [-_closeness(data, alias, obj) for alias, obj, _, _ in reversed(stars)]
    order = np.lexsort((*keys, ids))
    first = np.ones(len(ids), dtype=bool)
    first[1:] = ids[order][1:] != ids[order][:-1]
    keep = order[first]
    return {name: column[keep] for name, column in data.items()}


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
