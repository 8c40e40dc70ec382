"""Photometric solutions (migration 0019): each image's zero point and colour term per aperture.

:mod:`aphos_lib.photometric_solution` fits them; the ingest stores an image's with the image
(:func:`insert`), the migration fits the images stored before it from their rows
(:func:`image_rows`), and calibrated light curves and the image table read them (:func:`of_images`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aphos_lib.queries.query import Query

__all__ = [
    "COLUMNS",
    "ROW_FIELDS",
    "at_rows",
    "image_rows",
    "images_without",
    "insert",
    "of_images",
]

#: The stored values of a solution, in the order of :class:`PhotometricSolution`'s fields.
COLUMNS = (
    "zero_point",
    "zero_point_err",
    "colour_term",
    "colour_term_err",
    "colour_ref",
    "covariance",
    "rms",
    "n_stars",
    "n_clipped",
    "mag_min",
    "mag_max",
    "colour_min",
    "colour_max",
)
_TYPES = (
    "float8",
    "float8",
    "float8",
    "float8",
    "float8",
    "float8",
    "float8",
    "int4",
    "int4",
    "float8",
    "float8",
    "float8",
    "float8",
)


def insert(image_id: int, solutions: Mapping[int, Mapping[str, object]]) -> Query:
    """Store an image's solutions, keyed by aperture (0: ``ApAuto``, k: ``Ap<k>``): one
    statement whatever their number (arrays, one per column).

    Examples
    --------
    >>> q = insert(7, {0: dict.fromkeys(COLUMNS, 1.0)})
    >>> q.params[:2]
    (7, [0])
    """
    apertures = sorted(solutions)
    arrays = tuple([solutions[a][c] for a in apertures] for c in COLUMNS)
    unnest = ", ".join(f"%s::{t}[]" for t in _TYPES)
    return Query(
        f"INSERT INTO image_solution (image_id, aperture, {', '.join(COLUMNS)})"
        f" SELECT %s, a.* FROM unnest(%s::int2[], {unnest}) AS a",
        (int(image_id), apertures, *arrays),
    )


def of_images(image_ids: Sequence[int]) -> Query:
    """The solutions of these images: rows of image id, aperture, then :data:`COLUMNS`.

    Examples
    --------
    >>> of_images([3, 1]).params
    ([3, 1],)
    """
    return Query(
        f"SELECT image_id, aperture, {', '.join(COLUMNS)} FROM image_solution"
        " WHERE image_id = ANY(%s::int8[]) ORDER BY image_id, aperture",
        ([int(i) for i in image_ids],),
    )


#: What :func:`at_rows` returns, one float64 array each (NaN: none), in this order.
ROW_FIELDS = (
    "zero_point",
    "zero_point_err",
    "colour_term",
    "colour_term_err",
    "colour_ref",
    "covariance",
    "rms",
    "n_stars",
    "colour_min",
    "colour_max",
)


def at_rows(image_ids: Sequence[int], apertures: Sequence[int]) -> Query:
    """The solution of each (image, aperture) pair, in the pairs' order, as one row of
    big-endian float64 bytes per field of :data:`ROW_FIELDS` (NaN where the image has no
    solution in that aperture): numpy reads 5,000 rows without a Python object per value.

    Examples
    --------
    >>> at_rows([3, 4], [0, 2]).params
    ([3, 4], [0, 2])
    """
    fields = ", ".join(
        f"coalesce(string_agg(float8send(coalesce(s.{f}::float8, 'NaN')), ''"
        f" ORDER BY k.ord), ''::bytea)"
        for f in ROW_FIELDS
    )
    return Query(
        f"SELECT {fields} FROM unnest(%s::int8[], %s::int2[]) WITH ORDINALITY"
        " AS k (image_id, aperture, ord)"
        " LEFT JOIN image_solution s ON s.image_id = k.image_id AND s.aperture = k.aperture",
        ([int(i) for i in image_ids], [int(a) for a in apertures]),
        binary=True,
    )


def images_without(after: int, limit: int) -> Query:
    """Up to ``limit`` ids of images after ``after`` that have no solution yet, with their
    numbers of apertures.

    Examples
    --------
    >>> images_without(0, 100).params
    (0, 100)
    """
    return Query(
        "SELECT i.id, i.apertures FROM image i WHERE i.id > %s AND NOT EXISTS"
        " (SELECT 1 FROM image_solution s WHERE s.image_id = i.id) ORDER BY i.id LIMIT %s",
        (int(after), int(limit)),
    )


def image_rows(image_id: int) -> Query:
    """An image's rows SIPS matched to a catalogue star, as arrays in one row: the stars'
    catalogue magnitudes and B-V, ApAuto's flux, deviation and saturation, and the numbered
    apertures' (one array per row, in line order).

    Examples
    --------
    >>> image_rows(5).params
    (5,)
    """
    return Query(
        """
    SELECT array_agg(coalesce(o.mag, 'NaN') ORDER BY f.line),
           array_agg(coalesce(o.bv, 'NaN') ORDER BY f.line),
           array_agg(coalesce(f.ap_auto, 'NaN') ORDER BY f.line),
           array_agg(coalesce(f.ap_auto_dev, 'NaN') ORDER BY f.line),
           array_agg(f.ap_auto_saturated ORDER BY f.line),
           array_agg(array_to_string(f.ap, ',', 'NaN') ORDER BY f.line),
           array_agg(array_to_string(f.ap_dev, ',', 'NaN') ORDER BY f.line),
           array_agg(array_to_string(f.ap_saturated, ',', 'f') ORDER BY f.line)
    FROM flux f JOIN catalog_object o ON o.id = f.object_id
    WHERE f.image_id = %s AND o.catalog <> 'APHOS'
""",
        (int(image_id),),
        binary=True,
    )
