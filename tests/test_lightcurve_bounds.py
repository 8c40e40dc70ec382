"""Light curves whatever the catalogue holds: one source per star and image, bounded, fast.

A file whose rows repeat stored up to 76 copies of one star in one image; an ensemble curve
then multiplied the copies (a 5-star ensemble failed with "string buffer exceeds 1073741823
bytes", 6 stars ran past the timeout). The read must take one source per star and image
(the nearest to the star's catalogue position), stop with a clear error beyond its budget,
and answer a 50-star ensemble in well under a second.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest

from aphos_lib import light_curve_read
from aphos_lib.db import light_curve_records
from aphos_lib.ingest import ingest_files
from aphos_lib.photometry import differential_photometry

pytestmark = pytest.mark.catalogue
GK_CEP = "UCAC4:805-031770"
COPIES = 38  # the file: its table rows 38 times


def _stars_with(conn, variable: str, n: int) -> list[str]:
    """The ``n`` unsaturated stars measured in the most of the variable's images."""
    catalog, catalog_id = variable.split(":")
    rows = conn.execute(
        "WITH v AS (SELECT f.image_id, f.object_id FROM flux f JOIN catalog_object o "
        "ON o.id = f.object_id WHERE o.catalog = %s AND o.catalog_id = %s) "
        "SELECT o.catalog || ':' || o.catalog_id FROM flux f JOIN catalog_object o "
        "ON o.id = f.object_id WHERE f.image_id IN (SELECT image_id FROM v) "
        "AND f.object_id <> (SELECT min(object_id) FROM v) "
        "GROUP BY o.id HAVING NOT bool_or(f.ap_auto_saturated) "
        "ORDER BY count(*) DESC, o.id LIMIT %s",
        (catalog, catalog_id, n),
    ).fetchall()
    assert len(rows) == n
    return [r[0] for r in rows]


def _repeat_rows(conn, copies: int) -> None:
    """Store every flux ``copies`` times in its image, as the repeated file was stored."""
    conn.execute(
        "INSERT INTO flux (image_id, line, object_id, name, x, y, adu, ra_deg, dec_deg, "
        "background, background_dev, ap_auto, ap_auto_dev, ap_auto_saturated, ap, ap_dev, "
        "ap_saturated, light_curve_record) "
        "SELECT image_id, line + k * 1000000, object_id, name, x, y, adu, ra_deg, dec_deg, "
        "background, background_dev, ap_auto, ap_auto_dev, ap_auto_saturated, ap, ap_dev, "
        "ap_saturated, light_curve_record FROM flux CROSS JOIN generate_series(1, %s) k",
        (copies - 1,),
    )


def test_repeated_rows_give_one_point_per_image_and_the_same_values(catalogue, demo_files):
    directory, manifest = demo_files
    files = [directory / f.path for f in manifest.files if f.field == "gk_cep"][:12]
    ingest_files(catalogue, files, observer="novak")
    with catalogue.connect("reader", autocommit=True) as conn:
        members = _stars_with(conn, GK_CEP, 51)
        before = {n: differential_photometry(conn, GK_CEP, members[:n]).data for n in (5, 50)}
        general = differential_photometry(conn, GK_CEP, members[:5], with_apertures=True).data
    with catalogue.connect("owner") as conn:
        _repeat_rows(conn, COPIES)
        conn.commit()
        copies = conn.execute(
            "SELECT max(n) FROM (SELECT count(*) AS n FROM flux WHERE object_id IS NOT NULL "
            "GROUP BY image_id, object_id) c"
        ).fetchone()[0]
        assert copies == COPIES
    with catalogue.connect("reader", autocommit=True) as conn:
        for n, expected in before.items():
            after = differential_photometry(conn, GK_CEP, members[:n]).data
            assert len(after) == len(expected) == len(files)
            assert after.image_id.is_unique
            columns = ["image_id", "magnitude", "deviation", "var_flux", "cmp_flux"]
            assert after[columns].equals(expected[columns]), n
        # The general query (every aperture's lists) keeps one source too.
        again = differential_photometry(conn, GK_CEP, members[:5], with_apertures=True).data
        assert again[["image_id", "magnitude"]].equals(general[["image_id", "magnitude"]])


def test_a_curve_beyond_its_budget_stops_with_a_clear_message(catalogue, monkeypatch):
    from conftest import fixture_path

    ingest_files(catalogue, [fixture_path("correct_file.csv")], observer="novak")
    with catalogue.connect("owner") as conn:
        _repeat_rows(conn, 10)
        conn.commit()
    monkeypatch.setattr(light_curve_read, "MAX_CURVE_SOURCES", 15)
    with catalogue.connect("reader", autocommit=True) as conn:
        # 2 stars, 10 sources each: within 15 per star... but not within 15 in all.
        with pytest.raises(ValueError) as error:
            differential_photometry(conn, "UCAC4:777-044861", "UCAC4:779-040824")
    assert str(error.value) == (
        "this light curve would read more than 15 measurements (2 stars, at most 7 each): "
        "use fewer comparison stars"
    )
    assert light_curve_records.MISSING_FLUX  # the records module is the read's wire format


@pytest.mark.serial
@pytest.mark.parametrize("n", [1, 15, 50])
def test_an_ensemble_of_up_to_50_stars_answers_within_a_second(demo_catalogue, n, capsys):
    with demo_catalogue.connect("reader", autocommit=True) as conn:
        members = _stars_with(conn, GK_CEP, n)
        comparison = members if n > 1 else members[0]
        times = []
        for _ in range(7):
            start = time.perf_counter()
            curve = differential_photometry(conn, GK_CEP, comparison)
            times.append(time.perf_counter() - start)
    median = statistics.median(times)
    with capsys.disabled():
        print(f"\n{n}-comparison ensemble, {len(curve)} images: median {median * 1000:.1f} ms")
    assert len(curve) > 50 and np.isfinite(curve.data.magnitude).all()
    assert median < 1.0
