"""The variable-star finder on the demo: every field's variables at the top of its ranking."""

from __future__ import annotations

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
