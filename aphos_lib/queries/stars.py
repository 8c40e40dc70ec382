"""Stars (migration 0017): the statements of cross-identification and of one star's members.

:mod:`aphos_lib.cross_identification` decides which catalogue objects are one star; these
statements read the objects it needs (the unlinked ones and their neighbourhoods, or all of
them), write its links and new stars, and rewrite the stars' search columns
(``refresh_stars``, migration 0017). :func:`members` and :func:`identification` read a star's
members for a light curve and for ``aphos identify``.

Positions and magnitudes come back as one binary row of arrays: numpy reads them without a
Python object per value.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from psycopg import sql

from aphos_lib.queries.query import Query

__all__ = [
    "OBJECT_FIELDS",
    "all_objects",
    "clear_links",
    "count_stars",
    "drop_stars",
    "identification",
    "insert_stars",
    "measured_positions",
    "members",
    "near",
    "refresh",
    "set_links",
    "stars_of",
    "take_pending",
]

# What the linking reads of each object, as arrays in one row (NULL magnitude: NaN; no star:
# -1): id, catalogue, RA, Dec, magnitude, star.
OBJECT_FIELDS = ("id", "catalog", "ra_deg", "dec_deg", "mag", "star_id")
_ARRAYS = """
    SELECT coalesce(array_agg(o.id ORDER BY o.id), ARRAY[]::int8[]),
           coalesce(array_agg(o.catalog ORDER BY o.id), ARRAY[]::text[]),
           coalesce(array_agg(o.ra_deg ORDER BY o.id), ARRAY[]::float8[]),
           coalesce(array_agg(o.dec_deg ORDER BY o.id), ARRAY[]::float8[]),
           coalesce(array_agg(coalesce(o.mag, 'NaN') ORDER BY o.id), ARRAY[]::float8[]),
           coalesce(array_agg(coalesce(o.star_id, -1) ORDER BY o.id), ARRAY[]::int8[])
"""


def take_pending() -> Query:
    """The objects stored since the last fold, to link, as arrays: taken from
    ``link_pending`` (run in the fold's transaction).

    Examples
    --------
    >>> take_pending().text().split()[:4]
    ['WITH', 'taken', 'AS', '(DELETE']
    """
    # The ids as one array (an index scan by its keys), not a semi-join: with statistics that
    # say catalog_object is empty the planner ran the join as a nested loop over a scan of the
    # whole table per pending object (minutes for 80,000 in tests/test_ingest.py).
    return Query(
        "WITH taken AS (DELETE FROM link_pending RETURNING object_ids),"
        " ids AS (SELECT array_agg(i) AS ids FROM taken, unnest(taken.object_ids) AS i)"
        + _ARRAYS
        + " FROM catalog_object o WHERE o.id = ANY((SELECT ids FROM ids)::int8[])",
        binary=True,
    )


def drop_stars(star_ids: Sequence[int]) -> Query:
    """Delete these stars (their founders joined other stars).

    Examples
    --------
    >>> drop_stars([4]).params
    ([4],)
    """
    return Query("DELETE FROM star WHERE id = ANY(%s::int8[])", ([int(i) for i in star_ids],))


def all_objects() -> Query:
    """Every object, as arrays (``aphos stars relink`` and the migration).

    Examples
    --------
    >>> all_objects().text().strip().startswith("SELECT")
    True
    """
    return Query(_ARRAYS + " FROM catalog_object o", binary=True)


def near(boxes: Sequence[tuple[float, float, float, float]]) -> Query:
    """The objects in any of these (west, south, east, north) boxes, in degrees, as arrays.

    The boxes are literals OR-ed in one condition on the position index (a bitmap of index
    ranges, or one pass over the table): never a plan that scans the table once per box.

    Examples
    --------
    >>> "box(point(1.0, 2.0), point(1.1, 2.1))" in near([(1.0, 2.0, 1.1, 2.1)]).text()
    True
    """
    if not boxes:
        return Query(_ARRAYS + " FROM catalog_object o WHERE false", binary=True)
    condition = sql.SQL(" OR ").join(
        sql.SQL("point(o.ra_deg, o.dec_deg) <@ box(point({}, {}), point({}, {}))").format(
            *(sql.Literal(float(v)) for v in box)
        )
        for box in boxes
    )
    return Query(
        sql.SQL(_ARRAYS + " FROM catalog_object o WHERE {}").format(condition), binary=True
    )


def measured_positions(object_ids: Sequence[int], per_object: int = 25) -> Query:
    """Each object's mean measured position over its first ``per_object`` fluxes: rows of
    id, RA, Dec (degrees; the direction of the mean unit vector), number of fluxes used.

    Examples
    --------
    >>> measured_positions([3, 4]).params
    ([3, 4], 25)
    """
    return Query(
        """
    SELECT m.id, mod(degrees(atan2(m.y, m.x))::numeric + 360, 360)::float8,
           degrees(atan2(m.z, sqrt(m.x * m.x + m.y * m.y))), m.n
    FROM (SELECT s.id, avg(cosd(f.dec_deg) * cosd(f.ra_deg)) AS x,
                 avg(cosd(f.dec_deg) * sind(f.ra_deg)) AS y, avg(sind(f.dec_deg)) AS z,
                 count(*) AS n
          FROM unnest(%s::int8[]) AS s(id)
          CROSS JOIN LATERAL (
              SELECT ra_deg, dec_deg FROM flux
              WHERE object_id = s.id AND ra_deg IS NOT NULL AND dec_deg IS NOT NULL
              ORDER BY image_id LIMIT %s) f
          GROUP BY s.id) m
""",
        ([int(i) for i in object_ids], int(per_object)),
    )


def insert_stars(star_ids: Sequence[int], primary_ids: Sequence[int]) -> Query:
    """New stars with these ids, each as its leading object alone (``create_stars``,
    migration 0017); :func:`refresh` rewrites those that have other members.

    Examples
    --------
    >>> insert_stars([5], [17]).params
    ([17], '{"17": 5}')
    """
    mapping = {str(int(o)): int(s) for s, o in zip(star_ids, primary_ids, strict=True)}
    return Query(
        "SELECT create_stars(%s::int8[], %s::jsonb)",
        ([int(i) for i in primary_ids], json.dumps(mapping)),
    )


def set_links(
    object_ids: Sequence[int],
    star_ids: Sequence[int],
    reasons: Sequence[str],
    separations: Sequence[float | None],
    mag_diffs: Sequence[float | None],
    linked_to: Sequence[int | None],
) -> Query:
    """Put objects in their stars, with why (the reason, the separation in arcseconds and the
    magnitude difference to the member ``linked_to``): ``link_objects`` (migration 0017).

    Examples
    --------
    >>> set_links([1], [2], ["no counterpart"], [None], [None], [None]).params
    ([1], '{"1": [2, "no counterpart", null, null, null]}')
    """
    links = {
        str(int(o)): [int(s), r, sep, dm, None if t is None else int(t)]
        for o, s, r, sep, dm, t in zip(
            object_ids, star_ids, reasons, separations, mag_diffs, linked_to, strict=True
        )
    }
    return Query(
        "SELECT link_objects(%s::int8[], %s::jsonb)",
        ([int(i) for i in object_ids], json.dumps(links)),
    )


def refresh(star_ids: Sequence[int]) -> Query:
    """Rewrite these stars' search columns from their members (``refresh_stars``).

    Examples
    --------
    >>> refresh([3, 1, 3]).params
    ([1, 3],)
    """
    return Query("SELECT refresh_stars(%s::int8[])", (sorted({int(i) for i in star_ids}),))


def stars_of(object_ids: Sequence[int]) -> Query:
    """The stars of these objects, one row each.

    Examples
    --------
    >>> stars_of([4]).params
    ([4],)
    """
    return Query(
        "SELECT DISTINCT star_id FROM catalog_object WHERE id = ANY(%s::int8[])"
        " AND star_id IS NOT NULL",
        ([int(i) for i in object_ids],),
    )


def count_stars() -> Query:
    """Set the maintained number of stars (a search without filters reads it).

    Examples
    --------
    >>> "catalogue_totals" in count_stars().text()
    True
    """
    return Query("UPDATE catalogue_totals SET stars = (SELECT count(*) FROM star)")


def clear_links() -> list[Query]:
    """Forget every link and star (``aphos stars relink`` then links every object again).

    Examples
    --------
    >>> len(clear_links())
    4
    """
    return [
        # What lone stars keep for their objects goes to the objects (``object_totals``).
        Query(
            "UPDATE catalog_object o SET flux_count = s.flux_count,"
            " name = coalesce(o.name, s.name) FROM star s WHERE s.id = o.id AND s.members = 1"
        ),
        Query(
            "UPDATE catalog_object SET star_id = NULL, link_reason = NULL,"
            " link_separation_arcsec = NULL, link_mag_diff = NULL, linked_to = NULL"
            " WHERE star_id IS NOT NULL"
        ),
        Query("DELETE FROM star"),
        Query("DELETE FROM link_pending"),
    ]


def members(object_ids: Sequence[int]) -> Query:
    """For each of these objects, its star and the ids of the star's members (the object
    alone while it is not linked yet): rows of object id, star id, member ids.

    Examples
    --------
    >>> members([7]).params
    ([7],)
    """
    return Query(
        """
    SELECT o.id, o.star_id,
           CASE WHEN o.star_id IS NULL THEN ARRAY[o.id]
                ELSE ARRAY(SELECT m.id FROM catalog_object m WHERE m.star_id = o.star_id
                           ORDER BY m.id) END
    FROM catalog_object o WHERE o.id = ANY(%s::int8[])
""",
        ([int(i) for i in object_ids],),
    )


def identification(catalog: str, catalog_id: str) -> Query:
    """A star's every member, found by any one of them: rows of the star's id, position,
    name, number of fluxes, then each member's catalogue, id, name, position, magnitude,
    fluxes, how it was linked (reason, separation in arcseconds, magnitude difference, the
    member it was linked to as ``CATALOG ID``) and whether it is the one asked for.

    Examples
    --------
    >>> identification("UCAC4", "805-031770").params
    ('UCAC4', '805-031770')
    """
    return Query(
        """
    WITH asked AS (
        SELECT id, star_id FROM catalog_object WHERE catalog = %s AND catalog_id = %s)
    SELECT s.id, s.ra_deg, s.dec_deg, s.name, s.flux_count,
           m.catalog, m.catalog_id, t.name, m.ra_deg, m.dec_deg, m.mag, t.flux_count,
           m.link_reason, m.link_separation_arcsec, m.link_mag_diff,
           l.catalog || ' ' || l.catalog_id, m.id = a.id
    FROM asked a
    JOIN catalog_object m ON m.star_id = a.star_id OR m.id = a.id
    JOIN object_totals t ON t.id = m.id
    LEFT JOIN star s ON s.id = m.star_id
    LEFT JOIN catalog_object l ON l.id = m.linked_to
    ORDER BY m.catalog = 'APHOS', m.catalog <> 'UCAC4', m.catalog, m.id
""",
        (catalog, catalog_id),
    )
