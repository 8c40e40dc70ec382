"""The searches' statements as built, looked at without running them (aphos_lib.queries.objects),
and the plan PostgreSQL makes of a cone's."""

from __future__ import annotations

import json
import re

import pytest
from psycopg import sql

from aphos_lib.queries import objects
from aphos_lib.queries.objects import ObjectFilter

BOX = re.compile(r"point\(s\.ra_deg, s\.dec_deg\) <@ box\(point\(([^)]*)\), point\(([^)]*)\)\)")


def boxes_in(text: str) -> list[tuple[float, float, float, float]]:
    """The (west, south, east, north) boxes a statement's cone condition names."""
    return [
        tuple(float(v) for v in (*low.split(", "), *high.split(", ")))
        for low, high in BOX.findall(text)
    ]


def test_a_cone_asks_the_position_index_for_its_box_and_trims_it_by_the_distance():
    q = objects.search(ObjectFilter(cone=(322.75, 70.82, 0.5)), limit=10, offset=20)
    text = q.text()
    # The boxes are in the statement as constants, the centre and radius as parameters.
    (box,) = boxes_in(text)
    assert box == pytest.approx(objects.cone_boxes(322.75, 70.82, 0.5)[0], abs=1e-12)
    assert box[1] == pytest.approx(70.32) and box[3] == pytest.approx(71.32)
    assert q.params == {"ra": 322.75, "dec": 70.82, "r": 0.5, "limit": 10, "offset": 20}
    where = text[text.index(" WHERE ") : text.index(" ORDER BY ")]
    assert where.count("%(ra)s") == 1 and where.count("%(dec)s") == 2
    assert where.rstrip().endswith("<= %(r)s")
    assert "AS distance_deg" in text
    assert text.endswith(
        "ORDER BY distance_deg, s.catalog, s.catalog_id LIMIT %(limit)s OFFSET %(offset)s"
    )


def test_a_cone_across_ra_zero_asks_for_two_boxes_and_one_at_a_pole_for_every_ra():
    across = boxes_in(
        objects.search(ObjectFilter(cone=(359.5, 10.0, 2.0)), limit=1, offset=0).text()
    )
    assert len(across) == 2
    assert across[0][2] == 360.0 and across[1][0] == 0.0
    polar = boxes_in(objects.search(ObjectFilter(cone=(10.0, 89.0, 2.0)), limit=1, offset=0).text())
    assert len(polar) == 1 and (polar[0][0], polar[0][2], polar[0][3]) == (0.0, 360.0, 90.0)


def test_filters_join_with_and_escape_wildcards_and_a_star_makes_a_prefix():
    where = ObjectFilter(name=" a_b% ", min_mag=3, max_mag=9, catalog="UCAC4", catalog_id="805-03*")
    q = objects.search(where, limit=5, offset=0, order="-mag")
    assert q.params == {
        "name": "%a\\_b\\%%",
        "min_mag": 3.0,
        "max_mag": 9.0,
        "catalog": "UCAC4",
        "catalog_id": "805-03%",
        "limit": 5,
        "offset": 0,
    }
    # Stars: their members' names, magnitude and catalogues; any member's id finds its star.
    condition = (
        "s.names ILIKE %(name)s AND s.mag >= %(min_mag)s AND s.mag <= %(max_mag)s"
        " AND s.catalogs @> ARRAY[%(catalog)s]::text[] AND s.id IN (SELECT m.star_id FROM"
        " catalog_object m WHERE m.catalog_id LIKE %(catalog_id)s AND m.catalog = %(catalog)s)"
    )
    assert q.text() == (
        "SELECT s.primary_object_id, s.catalog, s.catalog_id, s.name, s.ra_deg, s.dec_deg,"
        " s.mag, s.bv, s.jk, s.flux_count, s.id, s.identifiers"
        f" FROM star s WHERE {condition}"
        " ORDER BY s.mag DESC NULLS LAST, s.catalog, s.catalog_id"
        " LIMIT %(limit)s OFFSET %(offset)s"
    )
    # The count has the page's condition and parameters, without the page.
    count = objects.count(where)
    assert count.text() == f"SELECT count(*) FROM star s WHERE {condition}"
    assert count.params == {k: v for k, v in q.params.items() if k not in ("limit", "offset")}
    exact = objects.search(ObjectFilter(catalog_id=" 805-031770 "), limit=1, offset=0)
    assert "m.catalog_id = %(catalog_id)s" in exact.text()
    assert exact.params["catalog_id"] == "805-031770"


def test_no_filter_pages_everything_by_catalogue_and_counts_nothing():
    q = objects.search(ObjectFilter(), limit=100, offset=0)
    assert " WHERE true ORDER BY s.catalog, s.catalog_id " in q.text()
    assert "distance" not in q.text()
    assert objects.count(ObjectFilter()).text() == "SELECT stars FROM catalogue_totals"


def test_a_bad_order_is_refused_while_building():
    with pytest.raises(ValueError, match="cannot sort by 'distance'"):
        objects.search(ObjectFilter(), limit=1, offset=0, order="distance")
    with pytest.raises(ValueError, match="cannot sort by 'colour'"):
        objects.search(ObjectFilter(cone=(0.0, 0.0, 1.0)), limit=1, offset=0, order="colour")
    by_distance = objects.search(
        ObjectFilter(cone=(0.0, 0.0, 1.0)), limit=1, offset=0, order="-distance"
    )
    assert "ORDER BY distance_deg DESC NULLS LAST, s.catalog, s.catalog_id" in by_distance.text()


def test_the_ingests_insert_names_every_value_and_keeps_the_first_stored_star():
    q = objects.insert_stars("7,8", "A\t1\nA\t2", "\n", "1.0\n2.0", "3.0\n4.0", "\n", "\n", "\n")
    assert q.text().count("%s") == len(q.params) == 8
    assert "ORDER BY 2, 3" in q.text()  # (catalogue, id) order: concurrent ingests never deadlock
    assert "ON CONFLICT (catalog, catalog_id) DO NOTHING" in q.text()
    assert objects.in_box(1.0, 2.0, 3.0, 4.0).params == (1.0, 2.0, 3.0, 4.0)


@pytest.mark.catalogue
def test_the_built_cone_is_read_through_the_position_index(demo_catalogue):
    """The index condition is one PostgreSQL can use: with sequential scans priced out, the plan
    of the built statement (and of the count) reads the stars' position index."""
    where = ObjectFilter(cone=(322.7464583, 70.8232167, 0.5))
    with demo_catalogue.connect("reader") as conn:
        conn.execute("SET LOCAL enable_seqscan = off")
        for q in (objects.search(where, limit=10, offset=0), objects.count(where)):
            explain = sql.SQL("EXPLAIN (FORMAT JSON) {}").format(q.statement)
            (plan,) = conn.execute(explain, q.params).fetchone()
            assert "star_position_idx" in json.dumps(plan), plan
        # And it finds what it is meant to: the demo field is there.
        assert 30 < objects.count(where).value(conn) < 400


@pytest.mark.catalogue
def test_catalogue_names_and_one_object_by_its_id(demo_catalogue):
    with demo_catalogue.connect("reader", autocommit=True) as conn:
        names = [r[0] for r in objects.catalogs().rows(conn)]
        assert names == sorted(names) and names
        catalog, catalog_id = conn.execute(
            "SELECT catalog, catalog_id FROM catalog_object ORDER BY id LIMIT 1"
        ).fetchone()
        row = objects.by_catalog_id(catalog, catalog_id).one(conn)
        assert row[1:3] == (catalog, catalog_id) and len(row) == 12
        assert objects.by_catalog_id(catalog.lower() + "x", catalog_id).one(conn) is None
