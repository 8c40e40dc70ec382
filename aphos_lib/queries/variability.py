"""Variability (migration 0020): each object's running statistics per filter, and the finder's
read of a field.

A file's transaction leaves its calibrated points in ``variability_pending`` (:func:`pend`);
the batch's fold takes them (:func:`take_pending`), reads the states of their objects
(:func:`states`) and writes them back merged (:func:`stage`, :func:`copy_staged`,
:func:`merge_staged`: a binary COPY, not a statement with 14 lists of 2,000 values). The
variable finder reads a cone's stars with their statistics (:func:`field`). The migration
rebuilds every state from the stored images (:func:`image_points`).
"""

from __future__ import annotations

from collections.abc import Sequence

from aphos_lib.queries.query import Query

__all__ = [
    "COLUMNS",
    "FIELD_COLUMNS",
    "FILTER_SEPARATOR",
    "clear",
    "copy_staged",
    "field",
    "image_points",
    "images_in_time_order",
    "merge_staged",
    "pend",
    "stage",
    "states",
    "take_pending",
]

#: The statistics columns of ``object_variability``, in the order
#: :data:`aphos_lib.variability.STATISTICS` gives them.
_STATISTICS = (
    ("n", "int4"),
    ("mean_mag", "float8"),
    ("std_mag", "float8"),
    ("err_rms", "float8"),
    ("chi2_dof", "float8"),
    ("robust_std", "float8"),
    ("eta", "float8"),
    ("stetson_j", "float8"),
    ("amplitude", "float8"),
    ("first_jd", "float8"),
    ("last_jd", "float8"),
)


def pend(filter: str, jd: float, object_ids: bytes, magnitudes: bytes, errors: bytes) -> Query:
    """Leave an image's calibrated points for the batch's fold (in the file's transaction):
    its filter and time, then its objects' ids, magnitudes and errors as little-endian int64
    and float32 bytes.

    Examples
    --------
    >>> pend("V", 2460000.5, b"", b"", b"").params[:2]
    ('V', 2460000.5)
    """
    return Query(
        "INSERT INTO variability_pending (filter, jd, object_ids, magnitudes, errors)"
        " VALUES (%s, %s, %s, %s, %s)",
        (filter, float(jd), object_ids, magnitudes, errors),
    )


def take_pending() -> Query:
    """Every image's pending points, taken (in the fold's transaction): rows of filter, JD,
    object ids, magnitudes, errors.

    Examples
    --------
    >>> take_pending().text().split()[:3]
    ['DELETE', 'FROM', 'variability_pending']
    """
    return Query(
        "DELETE FROM variability_pending RETURNING filter, jd, object_ids, magnitudes, errors",
        binary=True,
    )


#: Separates the filters of :func:`states` (no filter's name holds it).
FILTER_SEPARATOR = "\x1f"


def states(object_ids: Sequence[int], filters: Sequence[str], empty: bytes) -> Query:
    """The stored states of these (object, filter) pairs, in their order, as one row: the
    states' bytes end to end (``empty`` for a pair without one) and an array of their first
    JDs (NaN: none). The pairs go as two text parameters: 2,000 of them cost nothing to send
    and come back without a Python object per row.

    Examples
    --------
    >>> states([3, 4], ["V", "R"], b"").params[1]
    '3,4'
    """
    return Query(
        "SELECT coalesce(string_agg(coalesce(v.state, %s), ''::bytea ORDER BY k.ord),"
        " ''::bytea), coalesce(array_agg(coalesce(v.first_jd, 'NaN') ORDER BY k.ord),"
        " ARRAY[]::float8[])"
        " FROM unnest(string_to_array(%s, ',')::int8[], string_to_array(%s, E'\\x1f'))"
        " WITH ORDINALITY AS k (object_id, filter, ord)"
        " LEFT JOIN object_variability v ON v.object_id = k.object_id AND v.filter = k.filter",
        (
            empty,
            ",".join(str(int(i)) for i in object_ids),
            FILTER_SEPARATOR.join(filters),
        ),
        binary=True,
    )


#: The columns of ``object_variability`` a batch writes, in the order of its COPY stream.
COLUMNS = ("object_id", "filter", "state", *(name for name, _ in _STATISTICS))


def stage() -> list[Query]:
    """An empty session table for a batch's new states (the fold's transaction empties it
    at commit; a rebuild's batches empty it before each).

    Examples
    --------
    >>> [q.text().split()[0] for q in stage()]
    ['CREATE', 'TRUNCATE']
    """
    return [
        Query(
            "CREATE TEMP TABLE IF NOT EXISTS variability_batch"
            " (LIKE object_variability) ON COMMIT DELETE ROWS"
        ),
        Query("TRUNCATE variability_batch"),
    ]


def copy_staged() -> Query:
    """The binary COPY of a batch's states into the session table, columns :data:`COLUMNS`.

    Examples
    --------
    >>> copy_staged().text().startswith("COPY variability_batch (object_id, filter, state")
    True
    """
    return Query(f"COPY variability_batch ({', '.join(COLUMNS)}) FROM STDIN (FORMAT binary)")


def merge_staged() -> Query:
    """Write the staged states over the stored ones (new pairs inserted).

    Examples
    --------
    >>> "ON CONFLICT (object_id, filter) DO UPDATE" in merge_staged().text()
    True
    """
    columns = ", ".join(COLUMNS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[2:])
    return Query(
        f"INSERT INTO object_variability ({columns}) SELECT {columns} FROM variability_batch"
        f" ON CONFLICT (object_id, filter) DO UPDATE SET {updates}"
    )


#: What :func:`field` returns per row, in order.
FIELD_COLUMNS = (
    "star",
    "catalog",
    "catalog_id",
    "name",
    "ra_deg",
    "dec_deg",
    "catalog_mag",
    "bv",
    "identifiers",
    "filter",
    *(name for name, _ in _STATISTICS),
)
_DISTANCE = """
    2 * asind(least(1, sqrt(
        power(sind((s.dec_deg - %(dec)s) / 2), 2)
        + cosd(s.dec_deg) * cosd(%(dec)s) * power(sind((s.ra_deg - %(ra)s) / 2), 2))))
"""


def field(
    boxes: Sequence[tuple[float, float, float, float]],
    ra: float,
    dec: float,
    radius: float,
    filter: str | None,
) -> Query:
    """The stars within ``radius`` degrees of (``ra``, ``dec``) with their statistics, one row
    per star and filter (of a star with several members, the member with the most points),
    in the order of :data:`FIELD_COLUMNS`; ``boxes`` are the cone's
    (:func:`aphos_lib.queries.objects.cone_boxes`).

    Examples
    --------
    >>> q = field([(10.0, 20.0, 11.0, 21.0)], 10.5, 20.5, 0.5, "V")
    >>> q.params["filter"], q.params["r"]
    ('V', 0.5)
    """
    params: dict = {"ra": float(ra), "dec": float(dec), "r": float(radius), "filter": filter}
    inside = []
    for k, box in enumerate(boxes):
        inside.append(
            f"point(s.ra_deg, s.dec_deg) <@ box(point(%(w{k})s, %(s{k})s),"
            f" point(%(e{k})s, %(n{k})s))"
        )
        params.update({f"w{k}": box[0], f"s{k}": box[1], f"e{k}": box[2], f"n{k}": box[3]})
    stats = ", ".join(f"v.{name}" for name, _ in _STATISTICS)
    return Query(
        f"""
    SELECT DISTINCT ON (s.id, v.filter)
           s.id, s.catalog, s.catalog_id, s.name, s.ra_deg, s.dec_deg, s.mag, s.bv,
           s.identifiers, v.filter, {stats}
    FROM star s
    JOIN catalog_object o ON o.star_id = s.id
    JOIN object_variability v ON v.object_id = o.id
    WHERE ({" OR ".join(inside)})
      AND {_DISTANCE} <= %(r)s
      AND (%(filter)s::text IS NULL OR v.filter = %(filter)s::text)
    ORDER BY s.id, v.filter, v.n DESC
""",
        params,
    )


def images_in_time_order() -> Query:
    """Every image's id, by exposure middle (the rebuild's order).

    Examples
    --------
    >>> "ORDER BY exposure_mid" in images_in_time_order().text()
    True
    """
    return Query("SELECT id FROM image ORDER BY exposure_mid, id")


def clear() -> list[Query]:
    """Forget every state and pending point (before a rebuild).

    Examples
    --------
    >>> [q.text() for q in clear()]
    ['DELETE FROM object_variability', 'DELETE FROM variability_pending']
    """
    return [Query("DELETE FROM object_variability"), Query("DELETE FROM variability_pending")]


def image_points(image_id: int) -> Query:
    """What an image gives its objects' statistics, as one row: its filter, exposure begin and
    end, then arrays of its rows' object ids (-1: none), ApAuto fluxes, deviations (NaN
    unknown), saturation and catalogue B-V (NaN unknown).

    Examples
    --------
    >>> image_points(4).params
    (4,)
    """
    return Query(
        """
    SELECT i.filter, i.exposure_begin, i.exposure_end,
           array_agg(coalesce(f.object_id, -1) ORDER BY f.line),
           array_agg(coalesce(f.ap_auto, 'NaN') ORDER BY f.line),
           array_agg(coalesce(f.ap_auto_dev, 'NaN') ORDER BY f.line),
           array_agg(f.ap_auto_saturated ORDER BY f.line),
           array_agg(coalesce(o.bv, 'NaN') ORDER BY f.line)
    FROM image i JOIN flux f ON f.image_id = i.id
    LEFT JOIN catalog_object o ON o.id = f.object_id
    WHERE i.id = %s
    GROUP BY i.id
""",
        (int(image_id),),
        binary=True,
    )
