"""The light-curve read: every star's measurements as numpy columns, joined on the image.

One read serves every light curve (one or many comparison stars, a check star, apertures
chosen night by night, every aperture's lists, observers kept or left out, ``as_of``). Its
statements are in :mod:`aphos_lib.queries.lightcurve`; the rules applied to what they return
(the night, the JD, one source per star and image) in :mod:`aphos_lib.light_curve_rules`.

- Each flux carries its light-curve values as a binary record
  (:mod:`aphos_lib.db.light_curve_records`, migration 0010), and the ingest seals each star's
  records into chunks (migration 0015), so a star's measurements come back as a few ``bytea``
  values (its chunks, then the index entries after the last one), which numpy reads as one
  structured array without a Python object per value; fields are converted only for the rows
  a curve keeps. The database never multiplies one star's rows by another's: a star measured
  several times in one image costs its own rows, never their product, and an ensemble of 50
  stars is one statement reading 50 stars' chunks.
- A star's numbered apertures used on some night come as ``cube`` points (contrib ``cube``,
  up to 100 numbers each) aggregated over the same rows; every aperture's lists, when asked
  for, as one row per measurement.
- The images common to the stars (counted over the stars' image ids) are then read by one
  index scan for their ids (the image's record, its filter, and the conditions on observers
  and upload time), and their few observers.
- A curve reads at most :data:`MAX_CURVE_SOURCES` measurements, shared among its stars, and
  stops with a clear error beyond them rather than exhausting the server.

Rows are ordered by exposure middle, then image id.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import psycopg

from aphos_lib.aperture_choice import AUTO, ApertureChoice
from aphos_lib.db import light_curve_records as records
from aphos_lib.db.binary_copy import decode_points
from aphos_lib.light_curve_rules import julian_date, nearest_source, night
from aphos_lib.queries import lightcurve as statements
from aphos_lib.queries import stars as star_statements

__all__ = ["MAX_CURVE_SOURCES", "CurveTooLarge", "StarSpec", "read_columns"]

# The measurements (one star in one image, repeats included) one light curve may read, shared
# evenly among its stars: 1,000,000 records are about 41 MB, what a 5,000-image curve of 200
# stars needs. Beyond it the read stops before building anything.
MAX_CURVE_SOURCES = 1_000_000

_EPOCH_2000_US = 946_684_800_000_000  # PostgreSQL's timestamps count from 2000-01-01
_EPOCH_DATE = dt.date(1970, 1, 1)
_CUBE_MAX_DIM = 100  # contrib cube's limit on a point's coordinates
_IMAGE_DTYPE = np.dtype(
    records.dtype([]).descr + [(statements.FILTER_CODE[0], statements.FILTER_CODE[2])]
)
_LISTS = ("ap", "ap_dev", "ap_saturated")


class CurveTooLarge(ValueError):
    """A light curve would read more measurements than :data:`MAX_CURVE_SOURCES`."""


@dataclass(frozen=True)
class StarSpec:
    """One star of a light curve and how it is read.

    Parameters
    ----------
    alias : str
        The prefix of its columns (``v`` for the variable first, then the others).
    star : object
        The catalogue object: ``id``, ``ra_deg`` and ``dec_deg``.
    aperture : ApertureChoice
        Its aperture on each night.
    optional : bool
        A check star: where it was not measured its values are NaN and not saturated, and the
        image stays; any other star must be measured in an image for the image to be read.
    """

    alias: str
    star: object
    aperture: ApertureChoice
    optional: bool = False


def read_columns(
    conn: psycopg.Connection,
    stars: Sequence[StarSpec],
    *,
    observers: list[str] | None = None,
    exclude_observers: list[str] | None = None,
    as_of: dt.datetime | None = None,
    with_apertures: bool = False,
) -> dict:
    """The light-curve columns of ``stars``, one row per image in which they were measured.

    Parameters
    ----------
    conn : psycopg.Connection
    stars : list of StarSpec
        The variable first, then the comparisons, then an optional check star.
    observers, exclude_observers : list of str, optional
        Keep only / leave out these observers (usernames in lower case).
    as_of : datetime, optional
        Only images uploaded by then.
    with_apertures : bool
        Also give each star's every aperture as lists (``{alias}_ap``, ``_ap_dev``,
        ``_ap_saturated``; None where an optional star was not measured).

    Returns
    -------
    dict
        Columns: ``image_id``, ``time_utc``, ``jd``, ``hjd``, ``night``, ``observer``,
        ``filter``, ``exposure_s``, then for each star ``{alias}_`` ``ra_deg``, ``dec_deg``,
        ``ap_auto``, ``ap_auto_dev``, ``ap_auto_saturated``, ``aperture`` (0: ApAuto),
        ``flux``, ``flux_dev``, ``saturated`` (in the night's aperture) and the lists;
        ``_site`` holds each row's observer's longitude, latitude and height (NaN unknown).

    Raises
    ------
    CurveTooLarge
        When a star has more measurements than its share of :data:`MAX_CURVE_SOURCES`.
    """
    limit = MAX_CURVE_SOURCES // len(stars)
    layouts = [_layout(spec) for spec in stars]
    members = _members(conn, stars)
    columns = _measurements(conn, stars, layouts, limit, members)

    # The images where every star that is not optional was measured.
    common = _common(
        [star.ids for star, spec in zip(columns, stars, strict=True) if not spec.optional]
    )
    filter_names = [row[0] for row in statements.filters().rows(conn)]
    where, params = statements.image_conditions(observers, exclude_observers, as_of)
    raw = statements.images(common, filter_names, where, params).value(conn)
    images = np.frombuffer(raw or b"", dtype=_IMAGE_DTYPE)
    images = images[np.lexsort((images["image_id"], images["_time_us"]))]
    data = _fields(images)
    for star, spec in zip(columns, stars, strict=True):
        data.update(_at_images(star, spec, data["image_id"]))
    if with_apertures:
        for spec in stars:
            data.update(_aperture_lists(conn, spec, members[spec.star.id], data["image_id"], limit))
    return _frame(conn, data, stars, filter_names, with_apertures)


@dataclass
class _Measured:
    """A star's measurements, one per image (the source nearest its catalogue position).

    ``ids`` are the images in ascending order, ``records`` the binary records as read
    (structured, big-endian: converted only for the rows a curve keeps), ``points`` the
    numbered apertures' values.
    """

    ids: np.ndarray
    records: np.ndarray
    points: dict


def _measurements(
    conn, stars: Sequence[StarSpec], layouts: list, limit: int, members: dict[int, list[int]]
) -> list[_Measured]:
    """Each star's measurements, one per image, over all its catalogue objects.

    Stars read in ApAuto alone come from their chunks and the rows after them, the others
    with their numbered apertures' points from their rows. A star of several objects (one
    star under several catalogues' ids) reads each, and keeps one source per image.
    """
    plain = [
        m
        for spec, (_, groups) in zip(stars, layouts, strict=True)
        if not groups
        for m in members[spec.star.id]
    ]
    parts: dict[int, list] = {}
    if plain:
        for object_id, through, n, raw in statements.records(plain, limit=limit + 1).rows(conn):
            parts.setdefault(object_id, []).append((through is None, through, n, raw))
    reads = [
        statements.StarRead(m, limit + 1, [[e for _, e, _ in group] for group in groups])
        for spec, (_, groups) in zip(stars, layouts, strict=True)
        if groups
        for m in members[spec.star.id]
    ]
    pointed = iter([])
    if reads:
        row = statements.measurements(reads).one(conn)
        pointed = iter(row)
    out = []
    for spec, (record, groups) in zip(stars, layouts, strict=True):
        ids = members[spec.star.id]
        if groups:
            count, raws, points = 0, [], [[] for _ in groups]
            for _ in ids:
                n, raw = next(pointed), next(pointed)
                count += n
                raws.append(raw or b"")
                for k in range(len(groups)):
                    points[k].append(next(pointed))
        else:
            # Each object's chunks by last image, then the rest.
            chunks = [sorted(parts.get(m, [])) for m in ids]
            count, points = sum(c[2] for one in chunks for c in one), []
        if count > limit:
            raise _too_large(len(stars))
        if not groups:  # after the check: chunks past the limit come without records
            raws = [b"".join(c[3] for c in one) for one in chunks]
        rows = np.frombuffer(b"".join(raws), dtype=record)
        values: dict[str, list] = {}
        for data, group in zip(points, groups, strict=True):
            decoded = [decode_points(d, len(group)) for d in data if d is not None]
            for k, (name, _, kind) in enumerate(group):
                values[name] = (
                    np.concatenate([c[:, k] for c in decoded]).astype(kind)
                    if decoded
                    else np.empty(0, dtype=kind)
                )
        if len(ids) > 1:  # the objects' measurements, merged in image order
            order = np.argsort(rows["image_id"].astype(np.int64), kind="stable")
            rows = rows[order]
            values = {name: v[order] for name, v in values.items()}
        out.append(_one_per_image(rows, values, spec))
    return out


def _members(conn, stars: Sequence[StarSpec]) -> dict[int, list[int]]:
    """Each star's catalogue objects, by the id of the object it was named by."""
    ids = sorted({int(spec.star.id) for spec in stars})
    found = {int(r[0]): [int(m) for m in r[2]] for r in star_statements.members(ids).rows(conn)}
    return {i: found.get(i, [i]) for i in ids}


def _common(image_ids: Sequence[np.ndarray]) -> np.ndarray:
    """The ids in every one of these sorted arrays of distinct ids.

    Counted in one ``bincount`` over the ids' range when it is not much wider than the ids
    (15 stars of 5,000 images: 0.3 ms against 1.5 ms for pairwise ``intersect1d``), else
    each array is searched for the candidates left.

    Examples
    --------
    >>> _common([np.array([1, 3, 5, 7]), np.array([3, 4, 5]), np.array([0, 3, 5, 9])])
    array([3, 5])
    """
    if any(not len(ids) for ids in image_ids):
        return np.empty(0, dtype=np.int64)
    low = min(int(ids[0]) for ids in image_ids)
    high = max(int(ids[-1]) for ids in image_ids)
    total = sum(len(ids) for ids in image_ids)
    if high - low <= 32 * total:
        counts = np.bincount(np.concatenate(image_ids) - low, minlength=high - low + 1)
        return np.flatnonzero(counts == len(image_ids)) + low
    common = min(image_ids, key=len)
    for ids in image_ids:
        at = np.minimum(np.searchsorted(ids, common), len(ids) - 1)
        common = common[ids[at] == common]
    return common


def _too_large(n_stars: int) -> CurveTooLarge:
    return CurveTooLarge(
        f"this light curve would read more than {MAX_CURVE_SOURCES} measurements "
        f"({n_stars} stars, at most {MAX_CURVE_SOURCES // n_stars} each): "
        "use fewer comparison stars"
    )


def _layout(spec: StarSpec) -> tuple[np.dtype, list[list[tuple]]]:
    """A star's record type (image id, then its flux record) and its aperture points."""
    alias = spec.alias
    record = np.dtype(
        [("image_id", ">i8")] + [(f"{alias}_{name}", kind) for name, _, kind in records.FLUX_FIELDS]
    )
    values = []
    for k in _apertures_used(spec.aperture):
        values += [
            (f"{alias}_{n.format(k=k)}", e.format(k=k), w) for n, e, w in statements.APERTURE_VALUES
        ]
    groups = [values[k : k + _CUBE_MAX_DIM] for k in range(0, len(values), _CUBE_MAX_DIM)]
    return record, groups


def _fields(rows: np.ndarray, skip: Sequence[str] = ()) -> dict:
    """A structured array's fields (but ``skip``) as native-endian columns."""
    return {
        name: rows[name].astype(rows.dtype[name].newbyteorder("="))
        for name in rows.dtype.names
        if name not in skip
    }


def _apertures_used(choice: ApertureChoice) -> list[int]:
    """The numbered apertures (not ApAuto) a star is measured in on some night."""
    return sorted({int(choice.default), *(int(k) for k in choice.nights.values())} - {AUTO})


def _one_per_image(rows: np.ndarray, points: dict, spec: StarSpec) -> _Measured:
    """The star's measurements, one per image (the source nearest its catalogue position)."""
    alias = spec.alias
    ids = rows["image_id"].astype(np.int64)
    keep = nearest_source(
        ids, rows[f"{alias}_ra_deg"], rows[f"{alias}_dec_deg"], spec.star.ra_deg, spec.star.dec_deg
    )
    if len(keep) == len(ids):
        return _Measured(ids, rows, points)
    return _Measured(ids[keep], rows[keep], {name: v[keep] for name, v in points.items()})


def _at_images(star: _Measured, spec: StarSpec, image_ids: np.ndarray) -> dict:
    """A star's columns at ``image_ids`` (in any order); an optional star missing: NaN."""
    at = np.searchsorted(star.ids, image_ids)
    found = None
    if spec.optional:  # else measured in each of them: they are common images
        found = np.zeros(len(image_ids), dtype=bool)
        if len(star.ids):
            at = np.minimum(at, len(star.ids) - 1)
            found = star.ids[at] == image_ids
        at = np.where(found, at, 0)
    if len(star.ids):
        out = _fields(star.records[at], skip=("image_id",))
        out.update({name: column[at] for name, column in star.points.items()})
    else:  # an optional star never measured
        empty = {**_fields(star.records[:0], skip=("image_id",)), **star.points}
        out = {name: np.zeros(len(image_ids), dtype=c.dtype) for name, c in empty.items()}
    if found is not None:
        for column in out.values():
            column[~found] = False if column.dtype == np.bool_ else np.nan
    return out


def _aperture_lists(
    conn, spec: StarSpec, object_ids: list[int], image_ids: np.ndarray, limit: int
) -> dict:
    """The star's every aperture at ``image_ids``, as lists (None where it was not measured).

    Read one row per measurement of each of its objects; the same source is kept as for its
    values.
    """
    rows = sorted(
        (r for m in object_ids for r in statements.aperture_lists(m, limit=limit + 1).rows(conn)),
        key=lambda r: r[0],
    )
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    keep = nearest_source(
        ids,
        np.array([r[1] for r in rows], dtype=float),
        np.array([r[2] for r in rows], dtype=float),
        spec.star.ra_deg,
        spec.star.dec_deg,
    )
    by_image = {int(ids[k]): rows[k] for k in keep}
    out = {}
    for j, name in enumerate(_LISTS):
        column = np.empty(len(image_ids), dtype=object)
        column[:] = [by_image[i][3 + j] if i in by_image else None for i in image_ids.tolist()]
        out[f"{spec.alias}_{name}"] = column
    return out


def _frame(conn, data: dict, stars, filter_names: list[str], with_apertures: bool) -> dict:
    """The columns users read, named and typed, the rules of night and JD applied."""
    observer_ids = np.unique(data["_observer_id"])
    by_id = {row[0]: row for row in statements.observers(observer_ids.tolist()).rows(conn)}
    index = np.searchsorted(observer_ids, data["_observer_id"])
    names = [by_id[i][1] for i in observer_ids.tolist()]
    sites = np.array([by_id[i][2:5] for i in observer_ids.tolist()], dtype=float).reshape(-1, 3)
    time_us = data["_time_us"] + _EPOCH_2000_US
    nights = night(time_us, sites[index, 0])

    frame = {
        "image_id": data["image_id"],
        "time_utc": pd.to_datetime(time_us, unit="us", utc=True),
        "jd": julian_date(data["jd"], time_us),
        "hjd": data["hjd"],
        "night": nights.astype(object),
        # Taken from the few distinct names: a list of 5,000 strings would be converted to
        # the DataFrame's string type one by one (0.3 ms a column).
        "observer": pd.Index(names).take(index).array,
        "filter": pd.Index([None, *filter_names]).take(data["_filter_code"]).array,
        "exposure_s": data["exposure_s"],
        # Each row's site (longitude, latitude, height; NaN unknown), for BJD_TDB.
        "_site": sites[index],
    }
    night_days = nights.astype(np.int64)
    for spec in stars:
        alias, choice = spec.alias, spec.aperture
        for name in ("ra_deg", "dec_deg", "ap_auto", "ap_auto_dev", "ap_auto_saturated"):
            frame[f"{alias}_{name}"] = data[f"{alias}_{name}"]
        aperture = np.full(len(time_us), int(choice.default), dtype=np.int64)
        for day, k in choice.nights.items():
            aperture[night_days == (day - _EPOCH_DATE).days] = int(k)
        frame[f"{alias}_aperture"] = aperture
        numbered = _apertures_used(choice)
        flux, flux_dev, saturated = (
            data[f"{alias}_{name}"].copy() if numbered else data[f"{alias}_{name}"]
            for name in ("ap_auto", "ap_auto_dev", "ap_auto_saturated")
        )
        for k in numbered:
            rows = aperture == k
            flux[rows] = data[f"{alias}_flux_{k}"][rows]
            flux_dev[rows] = data[f"{alias}_flux_dev_{k}"][rows]
            saturated[rows] = data[f"{alias}_saturated_{k}"][rows]
        frame[f"{alias}_flux"], frame[f"{alias}_flux_dev"] = flux, flux_dev
        frame[f"{alias}_saturated"] = saturated
        if with_apertures:
            for name in _LISTS:
                frame[f"{alias}_{name}"] = data[f"{alias}_{name}"]
    return frame
