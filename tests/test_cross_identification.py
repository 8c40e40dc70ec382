"""Cross-identification (issue 22): one star under all its catalogues' names, APhoS sources for
the rows SIPS matched to nothing, and how each link was made."""

from __future__ import annotations

import json

import numpy as np
import pytest

import aphos_lib
from aphos_lib.cross_identification import (
    LinkRules,
    SkyObjects,
    decide_links,
    identify,
    relink_all,
)
from aphos_lib.ingest import ingest_files

from conftest import fixture_path
from sips_copies import jittered, usno_copy

ARCSEC = 1 / 3600


def sky(*objects) -> SkyObjects:
    """(id, catalogue, ra, dec, mag) tuples, none linked."""
    ids, cats, ra, dec, mag = zip(*objects, strict=True)
    return SkyObjects(
        np.array(ids),
        np.array(cats, dtype=object),
        np.array(ra, dtype=float),
        np.array(dec, dtype=float),
        np.array([np.nan if m is None else m for m in mag], dtype=float),
        np.full(len(ids), -1),
    )


def groups(decision) -> list[set[int]]:
    by_star: dict[int, set[int]] = {}
    for obj, star in zip(decision.object_id.tolist(), decision.star.tolist(), strict=True):
        by_star.setdefault(star, set()).add(obj)
    return sorted(by_star.values(), key=min)


def test_catalogues_of_one_star_join_and_a_neighbour_4_arcsec_away_stays_apart():
    objects = sky(
        (1, "UCAC4", 10.0, 20.0, 12.0),
        (2, "USNO-B1.0", 10.0 + 0.6 * ARCSEC, 20.0 + 0.2 * ARCSEC, 12.4),
        (3, "UCAC4", 10.0, 20.0 + 4 * ARCSEC, 12.1),
        (4, "USNO-B1.0", 10.0 + 0.3 * ARCSEC, 20.0 + 4.1 * ARCSEC, 12.2),
    )
    decision = decide_links(objects, np.ones(4, bool), LinkRules())
    assert groups(decision) == [{1, 2}, {3, 4}]
    assert decision.new_stars == 2
    link = dict(zip(decision.object_id.tolist(), decision.reason, strict=True))
    assert link == {
        1: "no counterpart",
        2: "catalogue positions",
        3: "no counterpart",
        4: "catalogue positions",
    }
    expected = objects_separation(objects, 0, 1)
    assert decision.separation_arcsec[1] == pytest.approx(expected, abs=1e-6)
    assert decision.mag_diff[1] == pytest.approx(0.4)


def objects_separation(objects: SkyObjects, a: int, b: int) -> float:
    from astropy.coordinates import SkyCoord

    pa = SkyCoord(objects.ra_deg[a], objects.dec_deg[a], unit="deg")
    pb = SkyCoord(objects.ra_deg[b], objects.dec_deg[b], unit="deg")
    return float(pa.separation(pb).arcsec)


def test_a_close_pair_of_different_brightness_stays_two_stars_and_one_catalogue_never_twice():
    objects = sky(
        (1, "UCAC4", 50.0, -30.0, 11.0),
        (2, "USNO-B1.0", 50.0, -30.0 + 0.8 * ARCSEC, 14.0),  # 3 mag fainter: another star
        (3, "UCAC4", 50.0 + 0.5 * ARCSEC / np.cos(np.radians(30)), -30.0, 11.2),  # same catalogue
    )
    decision = decide_links(objects, np.ones(3, bool), LinkRules())
    assert groups(decision) == [{1}, {2}, {3}]


def test_one_to_one_the_nearer_of_two_candidates_wins():
    objects = sky(
        (1, "UCAC4", 100.0, 10.0, 12.0),
        (2, "USNO-B1.0", 100.0, 10.0 + 0.4 * ARCSEC, 12.1),
        (3, "USNO-B1.0", 100.0, 10.0 - 1.2 * ARCSEC, 12.0),
    )
    assert groups(decide_links(objects, np.ones(3, bool), LinkRules())) == [{1, 2}, {3}]


def test_a_high_proper_motion_star_is_linked_by_its_measured_positions():
    # Catalogue epochs 20 years apart: 6" between the catalogue positions, the fluxes agree.
    objects = sky((1, "UCAC4", 200.0, 45.0, 9.0), (2, "USNO-B1.0", 200.0, 45.0 + 6 * ARCSEC, 9.3))
    measured = {1: (200.0, 45.0 + 3 * ARCSEC), 2: (200.0, 45.0 + 3.4 * ARCSEC)}
    asked = []

    def positions(ids):
        asked.append(ids.tolist())
        return {i: measured[i] for i in ids.tolist()}

    decision = decide_links(objects, np.ones(2, bool), LinkRules(), positions)
    assert groups(decision) == [{1, 2}] and asked == [[1, 2]]
    assert decision.reason[1] == "measured positions"
    assert decision.separation_arcsec[1] == pytest.approx(0.4, abs=1e-3)
    # Without measured positions (or with ones that disagree) they stay apart.
    assert groups(decide_links(objects, np.ones(2, bool), LinkRules())) == [{1}, {2}]


def test_an_object_joins_an_existing_star_and_linked_objects_never_move():
    objects = sky(
        (1, "UCAC4", 10.0, 20.0, 12.0),
        (2, "GSC", 10.0, 20.0 + 0.3 * ARCSEC, 12.0),
        (3, "USNO-B1.0", 10.0, 20.0 + 0.2 * ARCSEC, 12.0),
    )
    objects.star[:2] = [7, 8]  # linked before, as two stars (e.g. by other rules)
    decision = decide_links(objects, objects.star < 0, LinkRules())
    assert decision.object_id.tolist() == [3] and decision.star.tolist() in ([7], [8])


@pytest.mark.catalogue
def test_one_star_under_two_catalogues_has_one_light_curve_with_every_flux(catalogue, tmp_path):
    text = fixture_path("correct_file.csv").read_bytes().decode("latin-1")
    usno = tmp_path / "usno.csv"
    usno.write_bytes(usno_copy(text).encode("latin-1"))
    (ucac,) = ingest_files(catalogue, [fixture_path("correct_file.csv")], observer="novak")
    (other,) = ingest_files(catalogue, [usno], observer="svoboda")
    assert (ucac.status, other.status, other.new_sources) == ("stored", "stored", 0)
    with catalogue.connect("reader") as conn:
        n_ucac, n_usno, multi, stars = conn.execute(
            "SELECT (SELECT count(*) FROM catalog_object WHERE catalog = 'UCAC4'),"
            " (SELECT count(*) FROM catalog_object WHERE catalog = 'USNO-B1.0'),"
            " (SELECT count(*) FROM star WHERE members = 2 AND catalogs @> '{UCAC4,USNO-B1.0}'),"
            " (SELECT count(*) FROM star)"
        ).fetchone()
        before = {
            tuple(r[0])
            for r in conn.execute(
                "SELECT array_agg(catalog || ' ' || catalog_id ORDER BY catalog, catalog_id)"
                " FROM catalog_object GROUP BY star_id"
            )
        }
    # Every UCAC4 star found its USNO-B1.0 counterpart (the magnitudes 0.3 apart), one to one.
    assert n_ucac == n_usno == multi > 1900
    assert stars == n_ucac + 684  # and each APhoS source is a star of its own
    with aphos_lib.connect(catalogue.conninfo("reader")) as archive:
        by_usno = archive.search(catalog_id="1805031770")
        assert by_usno.total == 1
        row = by_usno.frame.iloc[0]
        assert (row.catalog, row.catalog_id) == ("UCAC4", "805-031770")
        assert list(row.identifiers) == ["UCAC4 805-031770", "USNO-B1.0 1805031770"]
        assert row.n_fluxes == 2
        # A cone around it counts the star once.
        around = archive.search(ra=row.ra_deg, dec=row.dec_deg, radius="1arcsec")
        assert around.frame.identifiers.map(tuple).tolist().count(tuple(row.identifiers)) == 1
        comparison = conn_comparison(archive)
        for name in ("UCAC4:805-031770", "USNO-B1.0:1805031770"):
            curve = archive.lightcurve(name, comparison).to_pandas()
            assert sorted(curve.observer.unique()) == ["novak", "svoboda"] and len(curve) == 2
    with catalogue.connect("writer") as conn:  # every object was linked by its fold
        assert conn.execute("SELECT count(*) FROM link_pending").fetchone() == (0,)
    # Relinking from scratch gives the same stars.
    with catalogue.connect("writer") as conn, conn.transaction():
        relink_all(conn)
    with catalogue.connect("reader") as conn:
        after = {
            tuple(r[0])
            for r in conn.execute(
                "SELECT array_agg(catalog || ' ' || catalog_id ORDER BY catalog, catalog_id)"
                " FROM catalog_object GROUP BY star_id"
            )
        }
    assert after == before


def conn_comparison(archive) -> str:
    """An unsaturated UCAC4 star measured in both images, by its UCAC4 id."""
    row = archive.conn.execute(
        "SELECT o.catalog_id FROM catalog_object o JOIN star s ON s.id = o.star_id"
        " JOIN catalog_object m ON m.star_id = s.id JOIN flux f ON f.object_id = m.id"
        " WHERE o.catalog = 'UCAC4' AND f.ap_auto IS NOT NULL AND o.mag BETWEEN 10 AND 11"
        " GROUP BY o.catalog_id HAVING count(*) = 2 ORDER BY o.catalog_id LIMIT 1"
    ).fetchone()
    return f"UCAC4:{row[0]}"


@pytest.mark.catalogue
def test_unmatched_rows_of_five_images_are_sources_with_five_fluxes(catalogue, tmp_path, capsys):
    text = fixture_path("correct_file.csv").read_bytes().decode("latin-1")
    outcomes = []
    for k, shift in enumerate([0.0, 0.4, -0.4, 0.8, -0.2]):
        path = tmp_path / f"copy{k}.csv"
        path.write_bytes(jittered(text, shift).encode("latin-1"))
        outcomes += ingest_files(catalogue, [path], observer=f"observer{k}")
    # The first file's 658 unmatched rows and 26 second sources are its sources; the shifted
    # copies by other observers add none.
    assert [o.new_sources for o in outcomes] == [684, 0, 0, 0, 0]
    with catalogue.connect("reader") as conn:
        counts = conn.execute(
            "SELECT flux_count, count(*) FROM object_totals WHERE catalog = 'APHOS'"
            " GROUP BY flux_count"
        ).fetchall()
        (source,) = conn.execute(
            "SELECT catalog_id FROM catalog_object WHERE catalog = 'APHOS' ORDER BY id LIMIT 1"
        ).fetchone()
    assert counts == [(5, 684)]
    with aphos_lib.connect(catalogue.conninfo("reader")) as archive:
        found = archive.search(catalog="APHOS", catalog_id=source)
        assert found.total == 1 and found.frame.iloc[0].n_fluxes == 5
        assert found.frame.iloc[0].identifiers == [f"APHOS {source}"]
        comparison = archive.conn.execute(
            "SELECT catalog_id FROM object_totals WHERE catalog = 'UCAC4' AND flux_count = 5"
            " AND mag BETWEEN 10 AND 11 ORDER BY id LIMIT 1"
        ).fetchone()[0]
        curve = archive.lightcurve(f"APHOS:{source}", f"UCAC4:{comparison}").to_pandas()
        assert len(curve) == 5
    # aphos identify shows the source's star and why it is alone.
    with catalogue.connect("reader") as conn:
        shown = json.loads(json.dumps(identify(conn, "APHOS", source)))
    assert shown["identifiers"] == [f"APHOS {source}"] and shown["n_fluxes"] == 5
    assert shown["members"][0]["link"]["reason"] == "founded the star"
