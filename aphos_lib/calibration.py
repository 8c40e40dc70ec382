"""Calibrated photometry from the stored photometric solutions.

Each image keeps its photometric solution per aperture (``image_solution``, migration 0019,
fitted by :mod:`aphos_lib.photometric_solution`): the ingest fits a file's as it stores it,
:func:`solve_stored_images` fits those of images stored before (the migration runs it).
:func:`solutions_of` reads them for a light curve's images.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import psycopg
import pyarrow as pa

from aphos_lib.photometric_solution import PhotometricSolution, image_solutions
from aphos_lib.queries import solutions as statements

__all__ = ["solutions_of", "solve_stored_images", "store_solutions"]

_BATCH = 200  # images asked for at a time


def store_solutions(
    conn: psycopg.Connection, image_id: int, solutions: dict[int, PhotometricSolution]
) -> None:
    """Store an image's solutions (in the caller's transaction); nothing when it has none."""
    if solutions:
        statements.insert(image_id, {a: s.to_dict() for a, s in solutions.items()}).run(conn)


def solve_stored_images(conn: psycopg.Connection) -> int:
    """Fit and store the solutions of every image that has none yet (from its stored rows and
    its stars' catalogue magnitudes and colours); the number of images fitted.

    In the caller's transaction; the images keep their ids' order.
    """
    solved, after = 0, 0
    while True:
        batch = statements.images_without(after, _BATCH).rows(conn)
        if not batch:
            return solved
        for image_id, apertures in batch:
            row = statements.image_rows(image_id).one(conn)
            if row is not None and row[0] is not None:
                store_solutions(conn, image_id, image_solutions(_rows(row, apertures), apertures))
                solved += 1
            after = image_id


def _rows(row: tuple, apertures: int) -> pa.Table:
    """An image's stored matched rows (:func:`statements.image_rows`) in the canonical columns
    :func:`image_solutions` reads."""
    mag, bv, flux, dev, saturated, ap, ap_dev, ap_saturated = row
    columns = {
        "catalog_mag": np.array(mag, dtype=float),
        "catalog_bv": np.array(bv, dtype=float),
        "ap_auto": np.array(flux, dtype=float),
        "ap_auto_dev": np.array(dev, dtype=float),
        "ap_auto_saturated": np.array(saturated, dtype=bool),
    }
    if apertures:
        values = _split(ap, float, apertures)
        deviations = _split(ap_dev, float, apertures)
        flags = _split(ap_saturated, lambda v: v == "t", apertures, fill=0.0)
        for k in range(apertures):
            columns[f"ap{k + 1}"] = values[:, k]
            columns[f"ap{k + 1}_dev"] = deviations[:, k]
            columns[f"ap{k + 1}_saturated"] = flags[:, k].astype(bool)
    return pa.table(columns)


def _split(texts: Sequence[str | None], parse, apertures: int, fill: float = np.nan) -> np.ndarray:
    """Comma-separated values per row into a (rows, apertures) array (``fill`` where a row has
    none)."""
    out = np.full((len(texts), apertures), fill)
    for i, text in enumerate(texts):
        if text:
            values = [parse(v) for v in text.split(",")][:apertures]
            out[i, : len(values)] = values
    return out


def solutions_of(
    conn: psycopg.Connection, image_ids: Sequence[int]
) -> dict[tuple[int, int], PhotometricSolution]:
    """The stored solutions of these images, keyed by (image id, aperture)."""
    return {
        (int(r[0]), int(r[1])): PhotometricSolution(*r[2:])
        for r in statements.of_images(image_ids).rows(conn)
    }
