"""Searching the catalogue: cone, name, magnitude, catalogue and id, paging, totals."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import psycopg
import pytest
from astropy.coordinates import SkyCoord

from aphos_lib.coordinates import AngleParseError, parse_dec, parse_ra, parse_radius
from aphos_lib.search import ObjectNotFound, catalogs, get_object, search_objects

pytestmark = pytest.mark.catalogue


@pytest.fixture
def reader(demo_catalogue):
    with demo_catalogue.connect("reader", autocommit=True) as conn:
        yield conn


def all_objects(conn) -> dict[tuple[str, str], tuple[float, float, float | None, int]]:
    """Every star (by its leading identifier): position, magnitude, fluxes counted afresh."""
    rows = conn.execute(
        "SELECT s.catalog, s.catalog_id, s.ra_deg, s.dec_deg, s.mag, count(f.object_id)"
        " FROM star s JOIN catalog_object m ON m.star_id = s.id"
        " LEFT JOIN flux f ON f.object_id = m.id GROUP BY s.id"
    ).fetchall()
    return {(r[0], r[1]): r[2:] for r in rows}


def astropy_cone(objects, centre: SkyCoord, radius_deg: float) -> list[tuple[str, str]]:
    keys = list(objects)
    coords = SkyCoord([objects[k][0] for k in keys], [objects[k][1] for k in keys], unit="deg")
    sep = centre.separation(coords).deg
    inside = [(sep[i], keys[i]) for i in np.flatnonzero(sep <= radius_deg)]
    return [k for _, k in sorted(inside)]


@pytest.mark.parametrize(
    ("ra", "dec"),
    [
        ("21 30 59.15", "+70 49 23.58"),
        ("21:30:59.15", "70:49:23.58"),
        ("21h30m59.15s", "+70d49m23.58s"),
        ("322.7464583", "70.8232167"),
        (322.7464583, 70.8232167),
    ],
)
def test_a_cone_in_any_typed_form_finds_what_astropy_finds_in_distance_order(reader, ra, dec):
    objects = all_objects(reader)
    centre = SkyCoord(322.7464583, 70.8232167, unit="deg")
    expected = astropy_cone(objects, centre, 0.5)
    assert 30 < len(expected) < 400  # a real, busy field
    result = search_objects(reader, ra=ra, dec=dec, radius="30arcmin", limit=100_000)
    assert result.total == len(expected)
    assert list(zip(result.frame.catalog, result.frame.catalog_id, strict=True)) == expected
    separations = centre.separation(
        SkyCoord(result.frame.ra_deg, result.frame.dec_deg, unit="deg")
    ).deg
    # The typed forms round the centre differently by up to 0.1 mas.
    np.testing.assert_allclose(result.frame.distance_deg, separations, rtol=0, atol=1e-7)


def test_a_skycoord_and_radius_quantities_give_the_same_cone(reader):
    centre = SkyCoord("21h30m59.15s", "+70d49m23.58s")
    by_coord = search_objects(reader, coord=centre, radius=0.5 * u.deg, limit=100_000)
    by_arcsec = search_objects(
        reader, ra="21 30 59.15", dec="+70 49 23.58", radius="1800arcsec", limit=1000
    )
    assert by_coord.frame.catalog_id.tolist() == by_arcsec.frame.catalog_id.tolist()


def test_a_cone_across_ra_zero_finds_stars_on_both_sides(reader):
    objects = all_objects(reader)
    centre = SkyCoord(2.0, 45.0, unit="deg")
    expected = astropy_cone(objects, centre, 12.0)
    ras = [objects[k][0] for k in expected]
    assert min(ras) < 10 or max(ras) > 350  # the demo field at RA 351 deg is inside
    assert any(r > 350 for r in ras)
    result = search_objects(reader, ra=2.0, dec=45.0, radius=12, limit=100_000)
    assert list(zip(result.frame.catalog, result.frame.catalog_id, strict=True)) == expected


def test_name_is_a_case_insensitive_substring_and_wildcards_are_literal(reader):
    assert search_objects(reader, name="gk c").frame.name.tolist() == ["GK Cep"]
    assert sorted(search_objects(reader, name="DEMO").frame.name) == ["DEMO DS1", "DEMO RR1"]
    assert search_objects(reader, name="%").total == 0
    assert search_objects(reader, name="_K Cep").total == 0


def test_magnitude_range_total_and_pages_cover_every_match_once_in_id_order(reader):
    objects = all_objects(reader)
    expected = sorted(k for k, v in objects.items() if v[2] is not None and 10 <= v[2] <= 11.5)
    pages, offset = [], 0
    while True:
        page = search_objects(reader, min_mag=10, max_mag=11.5, limit=40, offset=offset)
        assert page.total == len(expected)
        pages += list(zip(page.frame.catalog, page.frame.catalog_id, strict=True))
        if not page.has_more:
            break
        offset += 40
    assert pages == expected and len(expected) > 80


def test_flux_counts_are_the_number_of_fluxes_of_each_object(reader):
    objects = all_objects(reader)
    result = search_objects(reader, limit=10_000)
    assert result.total == len(objects)
    assert {(r.catalog, r.catalog_id): r.n_fluxes for r in result.frame.itertuples()} == {
        k: v[3] for k, v in objects.items()
    }


def test_catalogue_id_exact_or_prefix_catalogue_in_any_case_and_combined_filters(reader):
    objects = all_objects(reader)
    exact = search_objects(reader, catalog="ucac4", catalog_id="805-031770")
    assert exact.frame.catalog_id.tolist() == ["805-031770"] and exact.total == 1
    prefix = search_objects(reader, catalog_id="805-03*", limit=100_000)
    assert prefix.frame.catalog_id.tolist() == sorted(
        k[1] for k in objects if k[1].startswith("805-03")
    )
    both = search_objects(
        reader,
        ra="21 30 59.15",
        dec="+70 49 23.58",
        radius=1.0,
        min_mag=8,
        max_mag=9,
        catalog_id="80*",
        limit=100_000,
    )
    assert len(both) and all(8 <= m <= 9 for m in both.frame.mag)
    assert all(c.startswith("80") for c in both.frame.catalog_id)
    assert catalogs(reader) == ["APHOS", "UCAC4"]  # the demo's unmatched rows: APhoS sources
    assert search_objects(reader, catalog="USNO-B1.0").total == 0


def test_unfiltered_first_page_and_the_astropy_table(reader):
    objects = all_objects(reader)
    page = search_objects(reader)
    assert page.total == len(objects) and len(page) == 100
    assert (
        list(zip(page.frame.catalog, page.frame.catalog_id, strict=True)) == sorted(objects)[:100]
    )
    table = page.to_table()
    assert table["ra_deg"].unit == u.deg and table["mag"].unit == u.mag
    assert table.meta["total"] == len(objects)


def test_object_lookup_and_clear_errors(reader):
    gk = get_object(reader, "UCAC4", "805-031770")
    assert gk.name == "GK Cep" and gk.ra_deg == pytest.approx(322.746458333)
    with pytest.raises(ObjectNotFound, match="UCAC4:000-000000"):
        get_object(reader, "UCAC4", "000-000000")
    with pytest.raises(ValueError, match="needs a radius"):
        search_objects(reader, ra=10, dec=10)
    with pytest.raises(AngleParseError, match="minutes 61"):
        search_objects(reader, ra="21 61 00", dec=10, radius=1)


def test_typed_coordinates_agree_with_astropy():
    coord = SkyCoord("21h41m55.3s", "-00d10m00s")
    assert parse_ra("21 41 55.3") == pytest.approx(coord.ra.deg, abs=1e-12)
    assert parse_ra("21h41m55.3s") == pytest.approx(coord.ra.deg, abs=1e-12)
    assert parse_dec("-00 10 00") == pytest.approx(coord.dec.deg, abs=1e-12)
    assert parse_ra("1.5h") == 22.5 and parse_ra("22.5") == 22.5
    assert parse_radius("3arcmin") == pytest.approx(0.05)
    assert parse_radius('20"') == pytest.approx(20 / 3600)
    assert parse_radius(2 * u.arcmin) == pytest.approx(2 / 60)
    for bad in ("-1", "400"):
        with pytest.raises(AngleParseError):
            parse_ra(bad)
    with pytest.raises(AngleParseError, match="radius"):
        parse_radius("3 parsecs")


def test_the_archive_connects_read_only_and_answers_in_one_line(demo_catalogue):
    import aphos_lib
    from aphos_lib.observers import ObserverNotFound

    with aphos_lib.connect(demo_catalogue.conninfo("reader")) as archive:
        assert archive.search(name="GK Cep").frame.catalog_id.tolist() == ["805-031770"]
        assert archive.object("UCAC4:805-031770").name == "GK Cep"
        assert archive.catalogs() == ["APHOS", "UCAC4"]
        novak = archive.observer("NOVAK")
        images = archive.conn.execute(
            "SELECT count(*), sum(flux_count) FROM image i JOIN observer o"
            " ON o.id = i.observer_id WHERE o.username = 'novak'"
        ).fetchone()
        assert (novak.username, novak.images, novak.fluxes) == ("novak", images[0], images[1])
        assert novak.uploads == 1 and novak.longitude_deg == pytest.approx(16.5833)
        with pytest.raises(ObserverNotFound):
            archive.observer("nobody")
        assert len(archive.lightcurve("UCAC4:805-031770", "UCAC4:803-032417")) > 100
        assert archive.stats()["images"] == 300
        with pytest.raises(psycopg.Error, match="read-only|permission denied"):
            archive.conn.execute("DELETE FROM flux")


CONES = [
    (359.5, 10.0, 2.0),
    (0.3, -45.0, 3.0),
    (120.0, 88.5, 2.0),
    (200.0, -89.0, 1.5),
    (10.0, 60.0, 30.0),
    (180.0, 0.0, 0.001),
]


@pytest.mark.parametrize(("ra", "dec", "radius"), CONES)
def test_cone_boxes_hold_every_point_of_the_cone(ra, dec, radius):
    from aphos_lib.search import cone_boxes

    # Points on the cone's edge (astropy's directional offsets) must lie in some box.
    centre = SkyCoord(ra, dec, unit="deg")
    edge = centre.directional_offset_by(np.linspace(0, 360, 721) * u.deg, radius * u.deg)
    boxes = cone_boxes(ra, dec, radius)
    for point in edge:
        assert any(w <= point.ra.deg <= e and s <= point.dec.deg <= n for w, s, e, n in boxes), (
            point.ra.deg,
            point.dec.deg,
        )


def test_order_by_magnitude_either_way_pages_without_overlap_and_names_bad_orders(reader):
    objects = all_objects(reader)
    with_mag = sorted((v[2], k) for k, v in objects.items() if v[2] is not None)
    pages = [search_objects(reader, order="-mag", limit=50, offset=o) for o in (0, 50)]
    shown = [(r.mag, (r.catalog, r.catalog_id)) for p in pages for r in p.frame.itertuples()]
    assert [m for m, _ in shown] == [m for m, _ in reversed(with_mag)][:100]
    assert len(set(k for _, k in shown)) == 100
    faint_last = search_objects(reader, order="mag", limit=len(objects))
    assert faint_last.frame.mag.dropna().is_monotonic_increasing
    cone = search_objects(
        reader, ra="21 30 59.15", dec="+70 49 23.58", radius=1.0, order="-distance", limit=1000
    )
    assert cone.frame.distance_deg.is_monotonic_decreasing
    with pytest.raises(ValueError, match="cannot sort by 'distance'"):
        search_objects(reader, order="distance")
    with pytest.raises(ValueError, match="cannot sort by 'colour'"):
        search_objects(reader, order="colour")


def test_columns_keep_their_types_whatever_the_page_holds(reader):
    """A page of stars without B-V still has a float B-V column (NaN), and an empty page
    has the same column types as a full one."""
    catalog, catalog_id = reader.execute(
        "SELECT catalog, catalog_id FROM catalog_object WHERE bv IS NULL ORDER BY id LIMIT 1"
    ).fetchone()
    lone = search_objects(reader, catalog=catalog, catalog_id=catalog_id).frame
    assert len(lone) == 1 and np.isnan(lone.bv.iloc[0])
    full = search_objects(reader, limit=20).frame
    empty = search_objects(reader, name="no star is called this").frame
    cone = search_objects(reader, ra=0.0, dec=-89.9, radius="1arcsec").frame
    assert len(empty) == len(cone) == 0
    assert lone.dtypes.to_dict() == full.dtypes.to_dict() == empty.dtypes.to_dict()
    assert full.bv.dtype == np.float64 and full.n_fluxes.dtype == np.int64
    assert str(full.catalog.dtype) == "str"
    assert cone.dtypes.to_dict() == {**full.dtypes.to_dict(), "distance_deg": np.float64}
