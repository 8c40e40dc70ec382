"""An independent light-curve read for the tests: the rules written once more, in SQL.

The library reads a light curve as binary records and applies the night, JD and
nearest-source rules with numpy (aphos_lib.light_curve_read, aphos_lib.light_curve_rules).
This oracle states the same rules in plain SQL, one CTE per star (DISTINCT ON the image,
ordered by distance to the catalogue position), the night from local noon in SQL's own date
arithmetic and the JD from SQL's epoch, so a test can compare the two on any data.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from psycopg import sql

from aphos_lib.aperture_choice import AUTO, ApertureChoice

_STAR = """
    SELECT DISTINCT ON (image_id) image_id, ra_deg, dec_deg, ap_auto, ap_auto_dev,
           ap_auto_saturated, ap, ap_dev, ap_saturated
    FROM flux WHERE object_id = {id}
    ORDER BY image_id,
             sind(dec_deg) * sind({dec}) + cosd(dec_deg) * cosd({dec}) * cosd(ra_deg - {ra}) DESC
"""
_NIGHT = (
    "(timezone('UTC', i.exposure_mid)"
    " + make_interval(secs => coalesce(ob.longitude_deg, 0) * 240)"
    " - interval '12 hours')::date"
)
_JD = "coalesce(i.jd_mid, extract(epoch FROM i.exposure_mid) / 86400 + 2440587.5)"
STAR_FIELDS = [
    "ra_deg",
    "dec_deg",
    "ap_auto",
    "ap_auto_dev",
    "ap_auto_saturated",
    "aperture",
    "flux",
    "flux_dev",
    "saturated",
    "ap",
    "ap_dev",
    "ap_saturated",
]
IMAGE_FIELDS = [
    "image_id",
    "time_utc",
    "jd",
    "hjd",
    "night",
    "observer",
    "filter",
    "exposure_s",
    "_site",
]


def _aperture_sql(alias: str, choice: ApertureChoice) -> tuple[sql.Composable, sql.Composable]:
    s, k = sql.Identifier(alias), sql.Identifier(f"k_{alias}")
    nights = sorted(choice.nights)
    pick = sql.SQL(
        "CROSS JOIN LATERAL (SELECT coalesce((SELECT u.k FROM unnest({n}::date[], "
        "{a}::int[]) AS u(night, k) WHERE u.night = n.night), {d}) AS k) {k}"
    ).format(
        n=sql.Literal(nights),
        a=sql.Literal([int(choice.nights[n]) for n in nights]),
        d=sql.Literal(int(choice.default)),
        k=k,
    )
    columns = sql.SQL(
        "{s}.ra_deg, {s}.dec_deg, {s}.ap_auto, {s}.ap_auto_dev, {s}.ap_auto_saturated, {k}.k, "
        "CASE WHEN {k}.k = {auto} THEN {s}.ap_auto ELSE {s}.ap[{k}.k] END, "
        "CASE WHEN {k}.k = {auto} THEN {s}.ap_auto_dev ELSE {s}.ap_dev[{k}.k] END, "
        "CASE WHEN {k}.k = {auto} THEN {s}.ap_auto_saturated "
        "ELSE coalesce({s}.ap_saturated[{k}.k], false) END, {s}.ap, {s}.ap_dev, {s}.ap_saturated"
    ).format(s=s, k=k, auto=sql.Literal(AUTO))
    return columns, pick


def read(conn, stars, *, observers=None, exclude_observers=None, as_of=None) -> dict:
    """The columns of ``aphos_lib.light_curve_read.read_columns(..., with_apertures=True)``."""
    ctes, columns, laterals, joins, where = [], [], [], [], []
    for spec in stars:
        alias = sql.Identifier(spec.alias)
        body = _STAR.format(id=int(spec.star.id), ra=spec.star.ra_deg, dec=spec.star.dec_deg)
        ctes.append(sql.SQL("{} AS ({})").format(alias, sql.SQL(body)))
        cols, lateral = _aperture_sql(spec.alias, spec.aperture)
        columns.append(cols)
        laterals.append(lateral)
        if spec.alias != "v":
            kind = "LEFT JOIN" if spec.optional else "JOIN"
            joins.append(sql.SQL(f"{kind} {{a}} ON {{a}}.image_id = v.image_id").format(a=alias))
    if observers is not None:
        where.append(sql.SQL("lower(ob.username) = ANY({})").format(sql.Literal(observers)))
    if exclude_observers:
        where.append(
            sql.SQL("NOT lower(ob.username) = ANY({})").format(sql.Literal(exclude_observers))
        )
    if as_of is not None:
        where.append(sql.SQL("i.created_at <= {}").format(sql.Literal(as_of)))
    query = sql.SQL(
        "WITH {ctes} SELECT i.id, i.exposure_mid, {jd}, i.hjd, n.night, ob.username, i.filter, "
        "i.exposure_time_s, ARRAY[coalesce(ob.longitude_deg, 'NaN'), "
        "coalesce(ob.latitude_deg, 'NaN'), coalesce(ob.height_m, 'NaN')]::float8[], "
        "{columns} FROM v {joins} "
        "JOIN image i ON i.id = v.image_id JOIN observer ob ON ob.id = i.observer_id "
        "CROSS JOIN LATERAL (SELECT {night} AS night) n {laterals} "
        "WHERE {where} ORDER BY i.exposure_mid, i.id"
    ).format(
        ctes=sql.SQL(", ").join(ctes),
        jd=sql.SQL(_JD),
        columns=sql.SQL(", ").join(columns),
        joins=sql.SQL(" ").join(joins),
        night=sql.SQL(_NIGHT),
        laterals=sql.SQL(" ").join(laterals),
        where=sql.SQL(" AND ").join(where or [sql.SQL("true")]),
    )
    rows = conn.execute(query).fetchall()
    names = list(IMAGE_FIELDS)
    for spec in stars:
        names += [f"{spec.alias}_{f}" for f in STAR_FIELDS]
    values = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    data = {}
    for name, column in zip(names, values, strict=True):
        if name.endswith(("_ap", "_ap_dev", "_ap_saturated")) or name in ("observer", "filter"):
            data[name] = list(column)
        elif name.endswith("saturated"):  # NULL: an optional star not measured
            data[name] = np.array([bool(v) for v in column], dtype=bool)
        elif name in ("image_id",) or name.endswith("_aperture"):
            data[name] = np.array(column, dtype=np.int64)
        elif name == "time_utc":
            data[name] = pd.to_datetime(list(column), utc=True)
        elif name == "night":
            data[name] = list(column)
        elif name == "_site":  # each row's observer's longitude, latitude, height
            data[name] = np.array(list(column), dtype=float).reshape(-1, 3)
        else:
            data[name] = np.array([np.nan if v is None else float(v) for v in column])
    return data


def assert_same_column(name: str, actual, expected) -> None:
    if name == "jd":  # SQL numeric vs numpy epoch: one ULP
        np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-9)
    elif name in ("time_utc", "night", "observer", "filter") or name.endswith(
        ("_ap", "_ap_dev", "_ap_saturated")
    ):
        assert _missing_as_none(actual) == _missing_as_none(expected), name
    else:
        np.testing.assert_array_equal(actual, expected, err_msg=name)


def _missing_as_none(values) -> list:
    """Values as a list, a missing one (None or NaN, as pandas may hold it) as None."""
    return [None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in values]
