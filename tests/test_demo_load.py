"""What ``make demo`` does: the demo data set goes into the catalogue once, every row of it."""

from __future__ import annotations

import pytest

from aphos_lib.demo import DemoManifest
from aphos_lib.demo.load import load_demo
from aphos_lib.io.repeats import find_sources
from aphos_lib.io.sips import read_sips
from aphos_lib.stats import catalogue_stats

pytestmark = pytest.mark.catalogue


def test_demo_data_is_loaded_whole_and_only_once(catalogue, tmp_path, capsys):
    assert load_demo(catalogue, seed=3, images=12, directory=tmp_path) == 0
    manifest = DemoManifest.load(tmp_path)
    with catalogue.connect("reader") as conn:
        stats = catalogue_stats(conn)
        per_observer = dict(
            conn.execute(
                "SELECT o.username, count(*) FROM image i JOIN observer o ON o.id = i.observer_id"
                " GROUP BY o.username"
            ).fetchall()
        )
        gk_cep = conn.execute(
            "SELECT count(*) FROM flux f JOIN catalog_object o ON o.id = f.object_id"
            " WHERE o.catalog_id = '805-031770'"
        ).fetchone()[0]
    assert stats["images"] == 12
    # Every row, less the few of a close pair of stars (under a pixel apart) that a file is
    # one source of (aphos_lib.io.repeats).
    repeats = sum(
        len(find_sources(read_sips(tmp_path / f.path).rows).repeats) for f in manifest.files
    )
    assert stats["fluxes"] == sum(f.rows for f in manifest.files) - repeats
    expected = {}
    for f in manifest.files:
        expected[f.observer] = expected.get(f.observer, 0) + 1
    assert per_observer == expected
    assert gk_cep == sum(1 for f in manifest.files if f.field == "gk_cep")
    assert "the catalogue holds" in capsys.readouterr().out

    assert load_demo(catalogue, seed=3, images=12, directory=tmp_path) == 0
    assert "already holds data" in capsys.readouterr().out
    with catalogue.connect("reader") as conn:
        assert catalogue_stats(conn) == stats
