"""Catalogue objects: the searches, one object by its catalogue id, the catalogues' names, and
the ingest's lookups and inserts of stars.

A search returns stars (migration 0017: the catalogue objects that are one object on the
sky), one row each with every identifier, read from ``star`` alone: its maintained position,
names, magnitudes, catalogues and flux count. A search by any member's catalogue id finds
its star. A search's filters (:class:`ObjectFilter`) give the page's statement
(:func:`search`) and the count of every match (:func:`count`). How a cone is found fast:
positions are indexed as points (RA, Dec) in an SP-GiST quad-tree (migrations 0003, 0017);
the cone's bounding boxes in (RA, Dec)
(:func:`cone_boxes`) are found in it, two boxes when the cone crosses RA 0/360 and the whole RA
range when it reaches a pole, and the exact great-circle distance trims the boxes to the cone.

>>> q = search(ObjectFilter(cone=(359.5, 10.0, 2.0)), limit=10, offset=0)
>>> "point(s.ra_deg, s.dec_deg) <@ box(" in q.text()
True
>>> q.params["ra"], q.params["r"], q.params["limit"]
(359.5, 2.0, 10)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from psycopg import sql

from aphos_lib.queries.query import Query

__all__ = [
    "ORDERS",
    "ObjectFilter",
    "by_catalog_id",
    "catalogs",
    "cone_boxes",
    "count",
    "ids_of",
    "in_box",
    "insert_stars",
    "reserve_ids",
    "search",
    "sources_in",
]

# Great-circle distance in degrees (haversine: accurate at small separations).
_DISTANCE = """
    2 * asind(least(1, sqrt(
        power(sind((s.dec_deg - {dec}) / 2), 2)
        + cosd(s.dec_deg) * cosd({dec}) * power(sind((s.ra_deg - {ra}) / 2), 2))))
"""
# A search reads stars (migration 0017): one row each, with its leading identifier's object,
# in the order of aphos_lib.search.COLUMNS (a cone adds the distance).
_STAR_COLUMNS = (
    "s.primary_object_id, s.catalog, s.catalog_id, s.name, s.ra_deg, s.dec_deg, s.mag, s.bv,"
    " s.jk, s.flux_count, s.id, s.identifiers"
)
# One object by its catalogue id: its own position and magnitudes, its star's name, fluxes
# and identifiers (itself alone until its file's fold has linked it).
_OBJECT_COLUMNS = (
    "o.id, o.catalog, o.catalog_id, coalesce(s.name, o.name), o.ra_deg, o.dec_deg, o.mag, o.bv,"
    " o.jk, coalesce(s.flux_count, o.flux_count), s.id,"
    " coalesce(s.identifiers, ARRAY[o.catalog || ' ' || o.catalog_id])"
)
_OBJECT_FROM = "catalog_object o LEFT JOIN star s ON s.id = o.star_id"
# Orders a search may ask for (``order="mag"``, ``"-mag"`` for descending); the leading
# catalogue and id break ties so pages never overlap. Stars without a magnitude or name last.
ORDERS = {
    "mag": "s.mag",
    "name": "s.name",
    "catalog": "s.catalog",
    "catalog_id": "s.catalog_id",
    "ra": "s.ra_deg",
    "dec": "s.dec_deg",
    "n_fluxes": "s.flux_count",
    "distance": "distance_deg",
}


@dataclass(frozen=True)
class ObjectFilter:
    """What a search asks of the objects, already parsed; every filter given must hold.

    Parameters
    ----------
    cone : (float, float, float), optional
        Centre RA and Dec and radius, in degrees (ICRS).
    name : str, optional
        Case-insensitive substring of the name (``%`` and ``_`` in it are literal).
    min_mag, max_mag : float, optional
        Catalogue magnitude range, inclusive.
    catalog : str, optional
        Catalogue name as stored (the caller has matched its case).
    catalog_id : str, optional
        Catalogue id, exact; a trailing ``*`` makes it a prefix (``"805-03*"``).
    """

    cone: tuple[float, float, float] | None = None
    name: str | None = None
    min_mag: float | None = None
    max_mag: float | None = None
    catalog: str | None = None
    catalog_id: str | None = None


def cone_boxes(ra: float, dec: float, radius: float) -> list[tuple[float, float, float, float]]:
    """The (RA, Dec) boxes, in degrees, that together hold every point of a cone.

    A cone of radius r around declination d spans RA +- asin(sin r / cos d); it takes the
    whole RA range when it reaches a pole, and two boxes when it crosses RA 0/360.

    Examples
    --------
    >>> [tuple(round(v, 6) for v in box) for box in cone_boxes(359.0, 0.0, 2.0)]
    [(357.0, -2.0, 360.0, 2.0), (0.0, -2.0, 1.0, 2.0)]
    """
    margin = 1e-9  # the exact distance decides; the boxes only need to hold the cone
    low, high = max(dec - radius - margin, -90.0), min(dec + radius + margin, 90.0)
    reach = math.sin(math.radians(radius)) / math.cos(math.radians(dec))
    if high >= 90.0 or low <= -90.0 or reach >= 1.0:
        return [(0.0, low, 360.0, high)]
    half = math.degrees(math.asin(reach)) + margin
    west, east = ra - half, ra + half
    if west < 0:
        return [(west + 360.0, low, 360.0, high), (0.0, low, east, high)]
    if east > 360:
        return [(west, low, 360.0, high), (0.0, low, east - 360.0, high)]
    return [(west, low, east, high)]


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _conditions(where: ObjectFilter) -> tuple[list[sql.Composable], dict[str, Any]]:
    """The WHERE clause's conditions (to be joined by AND) and their parameters."""
    conditions: list[sql.Composable] = []
    params: dict[str, Any] = {}
    if where.cone is not None:
        params["ra"], params["dec"], params["r"] = where.cone
        conditions.append(
            sql.SQL("({})").format(
                sql.SQL(" OR ").join(
                    sql.SQL(
                        "point(s.ra_deg, s.dec_deg) <@ box(point({}, {}), point({}, {}))"
                    ).format(*map(sql.Literal, box))
                    for box in cone_boxes(*where.cone)
                )
            )
        )
        conditions.append(sql.SQL(_DISTANCE.format(ra="%(ra)s", dec="%(dec)s") + " <= %(r)s"))
    if where.name:
        params["name"] = f"%{_like_escape(where.name.strip())}%"
        conditions.append(sql.SQL("s.names ILIKE %(name)s"))
    if where.min_mag is not None:
        params["min_mag"] = float(where.min_mag)
        conditions.append(sql.SQL("s.mag >= %(min_mag)s"))
    if where.max_mag is not None:
        params["max_mag"] = float(where.max_mag)
        conditions.append(sql.SQL("s.mag <= %(max_mag)s"))
    if where.catalog:
        params["catalog"] = where.catalog
        conditions.append(sql.SQL("s.catalogs @> ARRAY[%(catalog)s]::text[]"))
    if where.catalog_id:
        # Any member's id finds its star (of the catalogue asked for, when one is).
        wanted = where.catalog_id.strip()
        member = "m.catalog_id = %(catalog_id)s"
        params["catalog_id"] = wanted
        if wanted.endswith("*"):
            params["catalog_id"] = _like_escape(wanted.rstrip("*")) + "%"
            member = "m.catalog_id LIKE %(catalog_id)s"
        if where.catalog:
            member += " AND m.catalog = %(catalog)s"
        conditions.append(
            sql.SQL(f"s.id IN (SELECT m.star_id FROM catalog_object m WHERE {member})")
        )
    return conditions, params


def _ordering(order: str | None, cone: bool) -> sql.Composable:
    if not order:
        if cone:
            return sql.SQL("distance_deg, s.catalog, s.catalog_id")
        return sql.SQL("s.catalog, s.catalog_id")
    key, descending = order.lstrip("-"), order.startswith("-")
    if key not in ORDERS or (key == "distance" and not cone):
        raise ValueError(
            f"cannot sort by {order!r}: use one of {', '.join(ORDERS)}"
            " (distance only for a cone), with '-' for descending"
        )
    direction = "DESC NULLS LAST" if descending else "ASC NULLS LAST"
    return sql.SQL(f"{ORDERS[key]} {direction}, s.catalog, s.catalog_id")


def search(
    where: ObjectFilter,
    *,
    limit: int,
    offset: int,
    order: str | None = None,
    counted: bool = False,
) -> Query:
    """One page of the objects that match ``where``.

    Columns: id, catalogue, catalogue id, name, RA, Dec, magnitude, B-V, J-K, number of
    fluxes, star, identifiers, for a cone the distance from its centre in degrees, and when
    ``counted`` the number of stars that match in all (the same on every row: for a cone,
    whose matches are all read to sort them anyway, cheaper than a second statement).
    Ordered by ``order`` (a key of :data:`ORDERS`, ``-`` first for descending, objects
    without the value last), by default by distance for a cone, else by catalogue and id.

    Raises
    ------
    ValueError
        When ``order`` names no known order (or the distance without a cone).

    Examples
    --------
    >>> q = search(ObjectFilter(min_mag=10.0), limit=5, offset=0, order="-mag")
    >>> "ORDER BY s.mag DESC NULLS LAST, s.catalog, s.catalog_id" in q.text()
    True
    >>> q.params
    {'min_mag': 10.0, 'limit': 5, 'offset': 0}
    """
    conditions, params = _conditions(where)
    cone = where.cone is not None
    ordering = _ordering(order, cone)
    condition = sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("true")
    columns = sql.SQL(_STAR_COLUMNS)
    if cone:
        columns = sql.SQL("{}, {} AS distance_deg").format(
            columns, sql.SQL(_DISTANCE.format(ra="%(ra)s", dec="%(dec)s"))
        )
    if counted:
        columns = sql.SQL("{}, count(*) OVER () AS matches").format(columns)
    params.update(limit=limit, offset=offset)
    statement = sql.SQL(
        "SELECT {} FROM star s WHERE {} ORDER BY {} LIMIT %(limit)s OFFSET %(offset)s"
    ).format(columns, condition, ordering)
    return Query(statement, params, binary=True)


def count(where: ObjectFilter) -> Query:
    """How many stars match ``where``: the maintained total when nothing is filtered.

    Examples
    --------
    >>> count(ObjectFilter()).text()
    'SELECT stars FROM catalogue_totals'
    >>> count(ObjectFilter(catalog="UCAC4")).text()
    'SELECT count(*) FROM star s WHERE s.catalogs @> ARRAY[%(catalog)s]::text[]'
    """
    conditions, params = _conditions(where)
    if not conditions:
        return Query("SELECT stars FROM catalogue_totals")
    statement = sql.SQL("SELECT count(*) FROM star s WHERE {}").format(
        sql.SQL(" AND ").join(conditions)
    )
    return Query(statement, params)


def by_catalog_id(catalog: str, catalog_id: str) -> Query:
    """The object with this catalogue (exactly as stored) and id, with :func:`search`'s
    columns (no distance); no row when there is none.

    Examples
    --------
    >>> by_catalog_id("UCAC4", "805-031770").params
    ('UCAC4', '805-031770')
    """
    return Query(
        f"SELECT {_OBJECT_COLUMNS} FROM {_OBJECT_FROM} WHERE o.catalog = %s AND o.catalog_id = %s",
        (catalog, catalog_id),
    )


def by_catalog_ids(pairs: list[tuple[str, str]]) -> Query:
    """The objects with these (catalogue, id) pairs, each row ending with the pair's position
    in ``pairs`` (from 1); no row for a pair the archive does not hold.

    Examples
    --------
    >>> by_catalog_ids([("UCAC4", "805-031770"), ("UCAC4", "803-032417")]).params
    (['UCAC4', 'UCAC4'], ['805-031770', '803-032417'])
    """
    return Query(
        f"SELECT {_OBJECT_COLUMNS}, r.k FROM unnest(%s::text[], %s::text[]) "
        "WITH ORDINALITY AS r(catalog, catalog_id, k) "
        "JOIN catalog_object o ON o.catalog = r.catalog AND o.catalog_id = r.catalog_id "
        "LEFT JOIN star s ON s.id = o.star_id",
        ([c for c, _ in pairs], [i for _, i in pairs]),
    )


def catalogs() -> Query:
    """The catalogues the archive holds objects of, sorted, one row each.

    Read by skipping through the (catalogue, id) index, one probe per catalogue, so it stays
    instant with any number of objects.

    Examples
    --------
    >>> "WITH RECURSIVE" in catalogs().text()
    True
    """
    return Query(
        """
        WITH RECURSIVE c(catalog) AS (
            (SELECT catalog FROM catalog_object ORDER BY catalog LIMIT 1)
            UNION ALL
            SELECT (SELECT o.catalog FROM catalog_object o WHERE o.catalog > c.catalog
                    ORDER BY o.catalog LIMIT 1)
            FROM c WHERE c.catalog IS NOT NULL
        )
        SELECT catalog FROM c WHERE catalog IS NOT NULL
        """
    )


# The ingest's statements. Stars are named by keys, "catalogue<TAB>id", and sent and returned
# as one text value each (keys and values one per line, ids comma-separated), which the
# server splits: psycopg quotes array elements one by one in Python, which cost more than the
# whole COPY of the fluxes, and numpy parses the returned ids much faster than Python rows.

# A key's catalogue is what precedes its first tab, the catalogue id all that follows.
_CATALOG = "split_part(k.key, E'\\t', 1)"
_CATALOG_ID = "substr(k.key, strpos(k.key, E'\\t') + 1)"


def ids_of(keys: str) -> Query:
    """One row, one value: the stored id of each of ``keys`` (newline-separated), comma-
    separated in the same order, -1 for a key no object has.

    Examples
    --------
    >>> ids_of("UCAC4\\t805-031770\\nUCAC4\\t805-031771").params
    ('UCAC4\\t805-031770\\nUCAC4\\t805-031771',)
    """
    return Query(
        f"""
    SELECT string_agg(coalesce(o.id, -1)::text, ',' ORDER BY k.ord)
    FROM unnest(string_to_array(%s, E'\\n')) WITH ORDINALITY AS k(key, ord)
    LEFT JOIN catalog_object o ON o.catalog = {_CATALOG} AND o.catalog_id = {_CATALOG_ID}
""",
        (keys,),
    )


def reserve_ids(n: int) -> Query:
    """One row, one value: ``n`` ids from the object sequence (comma-separated), which no
    other object will get.

    Examples
    --------
    >>> reserve_ids(3).params
    (3,)
    """
    return Query(
        """
    SELECT string_agg(nextval(s)::text, ',')
    FROM (SELECT pg_get_serial_sequence('catalog_object', 'id')::regclass AS s) AS q,
         generate_series(1, %s)
""",
        (n,),
    )


def insert_stars(
    ids: str, keys: str, names: str, ra: str, dec: str, mag: str, bv: str, jk: str
) -> Query:
    """Insert new stars with their reserved ids; one row, one value: the ids it stored,
    comma-separated (NULL for none).

    ``ids`` are comma-separated, the other values one per line in the same order (an empty
    line: no name, magnitude or colour). The rows go in (catalogue, id) order, so concurrent
    ingests that share new stars wait for each other instead of deadlocking; a star another
    ingest stored first (or is storing: the INSERT then waits for its commit) is skipped.

    Examples
    --------
    >>> insert_stars("7", "UCAC4\\t805-031770", "", "1.0", "2.0", "", "", "").params[:3]
    ('7', 'UCAC4\\t805-031770', '')
    """
    return Query(
        f"""
    WITH inserted AS (
        INSERT INTO catalog_object (id, catalog, catalog_id, name, ra_deg, dec_deg, mag, bv, jk,
                                    star_id)
        SELECT x::bigint, {_CATALOG}, {_CATALOG_ID}, nullif(n, ''), r::float8, d::float8,
               nullif(m, '')::float8, nullif(b, '')::float8, nullif(j, '')::float8, x::bigint
        FROM unnest(string_to_array(%s, ','), string_to_array(%s, E'\\n'),
                    string_to_array(%s, E'\\n'), string_to_array(%s, E'\\n'),
                    string_to_array(%s, E'\\n'), string_to_array(%s, E'\\n'),
                    string_to_array(%s, E'\\n'), string_to_array(%s, E'\\n'))
             AS k(x, key, n, r, d, m, b, j)
        ORDER BY 2, 3
        ON CONFLICT (catalog, catalog_id) DO NOTHING
        RETURNING id, catalog, catalog_id, name, ra_deg, dec_deg, mag, bv, jk
    ), founded AS (
        -- Each new object founds its own star (migration 0017), which the fold's linking
        -- may merge into a star near it.
        INSERT INTO star (id, primary_object_id, catalog, catalog_id, ra_deg, dec_deg, name, mag,
                          bv, jk, identifiers, catalogs, names)
        SELECT id, id, catalog, catalog_id, ra_deg, dec_deg, name, mag, bv, jk,
               ARRAY[catalog || ' ' || catalog_id], ARRAY[catalog], name
        FROM inserted
    ), pending AS (
        INSERT INTO link_pending (object_ids) SELECT array_agg(id) FROM inserted
        HAVING count(*) > 0
    )
    SELECT string_agg(id::text, ',') FROM inserted
""",
        (ids, keys, names, ra, dec, mag, bv, jk),
    )


def in_box(west: float, south: float, east: float, north: float) -> Query:
    """One row: the keys of every object in the box (degrees), one per line, and their ids
    comma-separated in the same order (both NULL for none). One index range of the position
    index.

    Examples
    --------
    >>> in_box(10.0, 20.0, 11.0, 21.0).params
    (10.0, 20.0, 11.0, 21.0)
    """
    return Query(
        """
    SELECT string_agg(catalog || E'\t' || catalog_id, E'\n'), string_agg(id::text, ',')
    FROM catalog_object
    WHERE point(ra_deg, dec_deg) <@ box(point(%s, %s), point(%s, %s))
""",
        (west, south, east, north),
    )


def sources_in(boxes: list[tuple[float, float, float, float]]) -> Query:
    """One row: the designations of the APhoS sources (catalogue ``APHOS``) in any of these
    (west, south, east, north) boxes, one per line, and their RA and Dec arrays (all NULL for
    none). One index range of the position index per box.

    Examples
    --------
    >>> sources_in([(10.0, 20.0, 11.0, 21.0)]).params
    ([10.0], [20.0], [11.0], [21.0])
    """
    columns = list(zip(*boxes, strict=True)) if boxes else [(), (), (), ()]
    return Query(
        """
    SELECT string_agg(o.catalog_id, E'\\n' ORDER BY o.id), array_agg(o.ra_deg ORDER BY o.id),
           array_agg(o.dec_deg ORDER BY o.id)
    FROM catalog_object o
    WHERE o.catalog = 'APHOS' AND o.id IN (
        SELECT c.id
        FROM unnest(%s::float8[], %s::float8[], %s::float8[], %s::float8[]) AS b(w, s, e, n)
        CROSS JOIN LATERAL (
            SELECT c.id FROM catalog_object c
            WHERE point(c.ra_deg, c.dec_deg) <@ box(point(b.w, b.s), point(b.e, b.n))) c)
""",
        tuple([float(v) for v in c] for c in columns),
    )
