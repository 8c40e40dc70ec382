"""The variable-star finder on the demo: every field's variables at the top of its ranking."""

from __future__ import annotations

import shutil

import pytest
from astropy.coordinates import SkyCoord

from aphos_lib.variable_finder import MAX_RADIUS_DEG, find_variables


def _field_radius(manifest, field) -> float:
    """Degrees from the field's centre to its farthest catalogue star."""
    stars = [s for s in manifest.stars if s.field == field.name]
    centre = SkyCoord(field.centre_ra_deg, field.centre_dec_deg, unit="deg")
    far = SkyCoord([s.ra_deg for s in stars], [s.dec_deg for s in stars], unit="deg")
    return min(float(centre.separation(far).deg.max()) + 0.01, MAX_RADIUS_DEG)


def test_each_demo_fields_variables_rank_in_its_top_five(demo_catalogue, demo_files):
    _, manifest = demo_files
    with demo_catalogue.connect("reader") as conn:
        for info in manifest.fields:
            found = find_variables(
                conn,
                ra=info.centre_ra_deg,
                dec=info.centre_dec_deg,
                radius=_field_radius(manifest, info),
            )
            variables = {
                f"UCAC4 {s.catalog_id}"
                for s in manifest.stars
                if s.field == info.name and s.kind != "constant"
            }
            ranks = dict(zip(found.frame["label"], found.frame["rank"], strict=True))
            print(info.name, found.filter, len(found), {v: ranks.get(v) for v in variables})
            assert found.filter == "V" and len(found) >= 100
            assert variables and all(ranks.get(v, 10**6) <= 5 for v in variables), ranks
            top = found.frame.set_index("label").loc[sorted(variables)]
            assert (top["n"] >= 20).all()
            # GCVS names are marked known (GK Cep, EK Cep); the synthetic "DEMO RR1" is not.
            assert top["known_variable"].tolist() == [info.name == "gk_cep"] * len(top)


def test_a_field_without_statistics_or_too_wide_says_so(demo_catalogue):
    with demo_catalogue.connect("reader") as conn:
        empty = find_variables(conn, ra=120.0, dec=-45.0, radius="10arcmin")
        assert len(empty) == 0 and empty.filter is None and empty.filters == []
        with pytest.raises(ValueError, match="at most 2 degrees"):
            find_variables(conn, ra=120.0, dec=-45.0, radius=3)
        with pytest.raises(ValueError, match="a position and a radius"):
            find_variables(conn, ra=120.0, dec=-45.0)


@pytest.fixture(scope="module")
def injected_demo(embedded_server):
    """Another seed's demo, six ordinary stars of each field made variable; read only."""
    from aphos_lib.demo.load import load_demo
    from aphos_lib.demo.manifest import DemoManifest

    from conftest import make_home

    directory = make_home("aphos-injected-")
    cat, name = embedded_server.clone()
    try:
        assert load_demo(cat, seed=2, images=300, injected=6, directory=directory) == 0
        yield cat, DemoManifest.load(directory)
    finally:
        cat.dispose()
        embedded_server.drop(name)
        shutil.rmtree(directory, ignore_errors=True)


def _peak_to_peak(star) -> float:
    v = star.variability
    return v["amplitude"] if v["model"] == "rrab" else v["depth_primary"]


def test_injected_variables_above_five_times_the_noise_rank_in_their_fields_top_ten(
    injected_demo,
):
    """Recovery of the injected variables by amplitude over the field's noise at their
    magnitude: every one above 5x in its field's top 10; the rate by amplitude reported."""
    catalogue, manifest = injected_demo
    found_by_ratio = []
    with catalogue.connect("reader") as conn:
        for info in manifest.fields:
            found = find_variables(
                conn,
                ra=info.centre_ra_deg,
                dec=info.centre_dec_deg,
                radius=_field_radius(manifest, info),
            )
            rows = found.frame.set_index("label")
            for star in manifest.stars:
                if star.field != info.name or star.kind != "injected":
                    continue
                row = rows.loc[f"UCAC4 {star.catalog_id}"]
                ratio = _peak_to_peak(star) / row["expected_std"]
                found_by_ratio.append((ratio, int(row["rank"]), info.name, star.catalog_id))
    found_by_ratio.sort()
    for ratio, rank, field, star_id in found_by_ratio:
        print(f"{field} {star_id}: amplitude / noise {ratio:6.1f}, rank {rank}")
    for low, high in ((0, 2), (2, 5), (5, 10), (10, 1e9)):
        ranks = [rank for ratio, rank, *_ in found_by_ratio if low <= ratio < high]
        if ranks:
            top = sum(r <= 10 for r in ranks)
            print(f"amplitude {low}-{high:g}x noise: {top} of {len(ranks)} in the top 10")
    strong = [rank for ratio, rank, *_ in found_by_ratio if ratio > 5]
    assert len(found_by_ratio) == 18 and len(strong) >= 6
    assert all(rank <= 10 for rank in strong), found_by_ratio
