"""APhoS sources: the rows SIPS matched to no catalogue star, as objects of their own.

A SIPS export keeps every star it measured; those it could not match to the observer's
catalogue (a faint star, a nova, a star missing from the catalogue) have no catalogue id. The
ingest gives each such row a source (:func:`assign_sources`, in the file's transaction, before
its objects are resolved): the nearest source already known within the matching radius of its
measured position, else a new one at that position, designated IAU-style
``APHOS Jhhmmss.ss+ddmmss.s`` (:func:`designation`). Sources are catalogue objects of the
catalogue ``APHOS``, so every search, light curve and cross-identification treats them as
stars; one that a catalogue object later coincides with joins its star
(:mod:`aphos_lib.cross_identification`).

The matching radius follows each image's astrometric scatter: three times the median offset
of its matched rows from their catalogue positions, at least
:data:`SOURCE_RADIUS_ARCSEC` (2") and at most :data:`MAX_SOURCE_RADIUS_ARCSEC` (6").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from scipy.spatial import cKDTree

from aphos_lib.coordinates import unit_vectors, vector_separation_arcsec
from aphos_lib.cross_identification import APHOS_CATALOG
from aphos_lib.queries import objects

__all__ = [
    "MAX_SOURCE_RADIUS_ARCSEC",
    "SOURCE_RADIUS_ARCSEC",
    "SourceCache",
    "assign_sources",
    "designation",
    "match_radius_arcsec",
]

SOURCE_RADIUS_ARCSEC = 2.0
MAX_SOURCE_RADIUS_ARCSEC = 6.0
_AREA_MARGIN_DEG = 10 / 3600  # sources a little outside the image's unmatched rows
_AREA_MAX_SIDE_DEG = 10.0
_READ_MARGIN_DEG = 0.1  # a read from the catalogue covers this much more on each side


def designation(ra_deg: float, dec_deg: float) -> str:
    """The IAU-style designation of a position (truncated, never rounded, as the IAU asks),
    without the ``APHOS`` prefix.

    Examples
    --------
    >>> designation(326.4804167, 71.3107222)
    'J214555.30+711838.5'
    >>> designation(0.0001, -0.5)
    'J000000.02-003000.0'
    """
    ra_s = (ra_deg % 360.0) / 15.0 * 3600.0
    hours, rest = divmod(math.floor(ra_s * 100 + 1e-6), 360000)
    minutes, centi = divmod(rest, 6000)
    sign = "-" if dec_deg < 0 else "+"
    dec_as = abs(dec_deg) * 3600.0
    degrees, rest = divmod(math.floor(dec_as * 10 + 1e-6), 36000)
    arcmin, deci = divmod(rest, 600)
    return (
        f"J{hours:02d}{minutes:02d}{centi // 100:02d}.{centi % 100:02d}"
        f"{sign}{degrees:02d}{arcmin:02d}{deci // 10:02d}.{deci % 10:d}"
    )


@dataclass
class SourceCache:
    """The sources a batch of files has met: their designations and positions, and the sky
    areas read from the catalogue (a night of one field reads its sources once)."""

    ids: list[str] = field(default_factory=list)
    ra_deg: np.ndarray = field(default_factory=lambda: np.empty(0))
    dec_deg: np.ndarray = field(default_factory=lambda: np.empty(0))
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    _tree: cKDTree | None = None

    def add(self, ids: list[str], ra_deg: np.ndarray, dec_deg: np.ndarray) -> None:
        """Remember sources (those a file creates at once: a later file of the batch that
        finds them borrows them while that file's transaction is open)."""
        known = set(self.ids)
        keep = [k for k, i in enumerate(ids) if i not in known]
        if keep:
            self.ids += [ids[k] for k in keep]
            self.ra_deg = np.concatenate([self.ra_deg, np.asarray(ra_deg, float)[keep]])
            self.dec_deg = np.concatenate([self.dec_deg, np.asarray(dec_deg, float)[keep]])
            self._tree = None

    def holds_area(self, box: tuple[float, float, float, float]) -> bool:
        """Whether an area read before covers ``box`` (west, south, east, north)."""
        return any(
            b[0] <= box[0] and b[1] <= box[1] and b[2] >= box[2] and b[3] >= box[3]
            for b in self.boxes
        )

    def nearest(self, ra_deg: np.ndarray, dec_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each position's nearest known source (index, -1: none known) and its separation
        in arcseconds."""
        if not self.ids:
            return np.full(len(ra_deg), -1), np.full(len(ra_deg), np.inf)
        if self._tree is None:
            self._tree = cKDTree(unit_vectors(self.ra_deg, self.dec_deg))
        chord, at = self._tree.query(unit_vectors(ra_deg, dec_deg))
        return np.asarray(at), vector_separation_arcsec(np.asarray(chord))


def match_radius_arcsec(rows: pa.Table, matched_mask: np.ndarray) -> float:
    """The radius within which an unmatched row is a known source: three times the median
    offset of the image's matched rows from their catalogue positions, within 2" to 6".

    Examples
    --------
    >>> t = pa.table({"ra_deg": [10.0, 10.0], "dec_deg": [20.0, 20.0],
    ...               "catalog_ra_deg": [10.0, None], "catalog_dec_deg": [20.0 + 1 / 3600, None]})
    >>> round(match_radius_arcsec(t, np.array([True, False])), 6)
    3.0
    """
    if not matched_mask.any() or "catalog_ra_deg" not in rows.column_names:
        return SOURCE_RADIUS_ARCSEC
    ra, dec, cra, cdec = (
        _floats(rows[c])[matched_mask]
        for c in ("ra_deg", "dec_deg", "catalog_ra_deg", "catalog_dec_deg")
    )
    known = np.isfinite(ra) & np.isfinite(dec) & np.isfinite(cra) & np.isfinite(cdec)
    if not known.any():
        return SOURCE_RADIUS_ARCSEC
    offset = vector_separation_arcsec(
        np.linalg.norm(
            unit_vectors(ra[known], dec[known]) - unit_vectors(cra[known], cdec[known]), axis=1
        )
    )
    return float(np.clip(3 * np.median(offset), SOURCE_RADIUS_ARCSEC, MAX_SOURCE_RADIUS_ARCSEC))


def _floats(column: pa.ChunkedArray) -> np.ndarray:
    """A column as floats, NaN where it is null."""
    return pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)


def _area(ra: np.ndarray, dec: np.ndarray) -> list[tuple[float, float, float, float]]:
    """The boxes to read sources from: one around the rows, or one per row when they span
    more than one field's area or cross RA 0/360."""
    west, east = float(ra.min()), float(ra.max())
    south, north = float(dec.min()), float(dec.max())
    widest = math.cos(math.radians(min(abs(south), abs(north)))) if south * north > 0 else 1.0
    m = _AREA_MARGIN_DEG
    if (
        east - west <= 180
        and (east - west) * widest <= _AREA_MAX_SIDE_DEG
        and north - south <= _AREA_MAX_SIDE_DEG
        and west - m / widest >= 0
        and east + m / widest < 360
        and abs(south) < 89
        and abs(north) < 89
    ):
        return [(west - m / widest, south - m, east + m / widest, north + m)]
    reach = MAX_SOURCE_RADIUS_ARCSEC / 3600
    return [b for r, d in zip(ra, dec, strict=True) for b in objects.cone_boxes(r, d, reach)]


def _read(conn: psycopg.Connection, cache: SourceCache, boxes: list) -> None:
    ids, ra, dec = objects.sources_in(boxes).one(conn)
    cache.add(
        ids.split("\n") if ids else [], np.asarray(ra or [], float), np.asarray(dec or [], float)
    )


def assign_sources(
    conn: psycopg.Connection, rows: pa.Table, matched_mask: np.ndarray, cache: SourceCache
) -> tuple[pa.Table, np.ndarray, int]:
    """Give each row SIPS matched to no catalogue star its APhoS source.

    Parameters
    ----------
    conn : psycopg.Connection
        In the file's transaction (sources are read; new ones are inserted with the file's
        other new objects).
    rows : pyarrow.Table
        The file's rows to store (canonical frame).
    matched_mask : numpy.ndarray of bool
        Rows SIPS matched to a catalogue star.
    cache : SourceCache
        The batch's sources; the file's new ones are added to it.

    Returns
    -------
    rows : pyarrow.Table
        With ``catalog`` ``APHOS`` and ``catalog_id`` the designation on the unmatched rows
        that have a measured position.
    objects_mask : numpy.ndarray of bool
        The rows that now have a catalogue object.
    new : int
        How many sources the file creates.
    """
    ra, dec = _floats(rows["ra_deg"]), _floats(rows["dec_deg"])
    todo = np.flatnonzero(~matched_mask & np.isfinite(ra) & np.isfinite(dec))
    if not len(todo):
        return rows, matched_mask, 0
    boxes = _area(ra[todo], dec[todo])
    if len(boxes) != 1 or not cache.holds_area(boxes[0]):
        if len(boxes) == 1:
            # A wider read, so that the batch's later images of the field (pointed a little
            # apart) find their sources in the cache.
            west, south, east, north = boxes[0]
            widen = _READ_MARGIN_DEG / max(math.cos(math.radians(max(abs(south), abs(north)))), 0.1)
            boxes = [
                (
                    max(west - widen, 0.0),
                    max(south - _READ_MARGIN_DEG, -90.0),
                    min(east + widen, 360.0),
                    min(north + _READ_MARGIN_DEG, 90.0),
                )
            ]
            cache.boxes.append(boxes[0])
        _read(conn, cache, boxes)
    radius = match_radius_arcsec(rows, matched_mask)
    at, separation = cache.nearest(ra[todo], dec[todo])
    close = separation <= radius
    # One image measures a source once: of two rows nearest one source, the nearer is it.
    key = np.where(close, at, -1)
    order = np.lexsort((separation, key))
    first = np.ones(len(todo), dtype=bool)
    taken = key[order]
    first[order[1:]] = (taken[1:] != taken[:-1]) | ~close[order[1:]]
    known = close & first
    names = np.empty(len(todo), dtype=object)
    names[known] = [cache.ids[k] for k in at[known]]
    fresh = np.flatnonzero(~known)
    new_names = [designation(r, d) for r, d in zip(ra[todo[fresh]], dec[todo[fresh]], strict=True)]
    names[fresh] = new_names
    cache.add(new_names, ra[todo[fresh]], dec[todo[fresh]])
    assigned = np.zeros(rows.num_rows, dtype=bool)
    assigned[todo] = True
    assigned_array = pa.array(assigned)
    replaced = {
        "catalog": pc.if_else(assigned_array, APHOS_CATALOG, rows["catalog"]),
        "catalog_id": pc.replace_with_mask(
            rows["catalog_id"].combine_chunks(), assigned_array, pa.array(names, pa.string())
        ),
    }
    # A second source of a catalogue star keeps the star's catalogue values: not its own.
    for name in ("catalog_ra_deg", "catalog_dec_deg", "catalog_mag", "catalog_bv", "catalog_jk"):
        if name in rows.column_names:
            column = rows[name]
            replaced[name] = pc.if_else(assigned_array, pa.scalar(None, column.type), column)
    for name, column in replaced.items():
        rows = rows.set_column(rows.schema.get_field_index(name), name, column)
    mask = matched_mask.copy()
    mask[todo] = True
    return rows, mask, len(set(new_names))
