"""Calibrated light curves and the variability statistics kept for every star, on the demo:
against the generator's truth, each other, the CLI and /api/v2."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_lightcurve import _cli
from test_rest_v2 import v2

import aphos_lib
from aphos_lib.variability import rebuild_variability

from conftest import fixture_path

pytestmark = [pytest.mark.catalogue]
GK_CEP = "UCAC4:805-031770"


def test_gk_cep_by_five_observers_lines_up_with_no_comparison_star(demo_catalogue, demo_files):
    """The calibrated curve against the generator's light curve of GK Cep: each observer's
    median offset within 0.02 mag, the errors the curve states holding the truth."""
    _, manifest = demo_files
    with aphos_lib.connect(demo_catalogue.conninfo("reader")) as archive:
        curve = archive.lightcurve(GK_CEP)
    data = curve.data
    assert curve.meta["calibrated"] and curve.comparison_label == "calibrated"
    assert sorted(set(data.observer)) == sorted(o.username for o in manifest.observers)
    truth = manifest.model_magnitude("805-031770", data.hjd.to_numpy())
    residual = data.magnitude.to_numpy() - truth
    offsets = {o: float(np.median(residual[data.observer == o])) for o in set(data.observer)}
    print("GK Cep calibrated, offset per observer:", {o: round(v, 4) for o, v in offsets.items()})
    assert max(abs(v) for v in offsets.values()) < 0.02
    known = np.isfinite(data.deviation.to_numpy())
    pulls = np.abs(residual[known]) / data.deviation.to_numpy()[known]
    assert known.sum() >= 50 and np.mean(pulls <= 2) >= 0.9


def test_constant_stars_calibrated_means_are_their_catalogue_magnitudes(demo_catalogue, demo_files):
    """Every constant star's weighted mean calibrated V (kept by the fold) against its
    catalogue V, the generator's truth; the distribution reported."""
    _, manifest = demo_files
    truth = {s.catalog_id: s.catalog_mag for s in manifest.stars if s.kind == "constant"}
    with demo_catalogue.connect("reader") as conn:
        rows = conn.execute(
            "SELECT o.catalog_id, v.mean_mag, v.std_mag, v.n FROM object_variability v"
            " JOIN catalog_object o ON o.id = v.object_id"
            " WHERE o.catalog = 'UCAC4' AND v.filter = 'V' AND v.n >= 20"
        ).fetchall()
    diff = np.array([mean - truth[c] for c, mean, _, _ in rows if c in truth])
    pull = np.array(
        [(mean - truth[c]) / (std / np.sqrt(n)) for c, mean, std, n in rows if c in truth]
    )
    print(
        f"{len(diff)} constant stars: calibrated mean - catalogue V: median {np.median(diff):+.4f},"
        f" |diff| 68% {np.percentile(np.abs(diff), 68):.4f}, 95% "
        f"{np.percentile(np.abs(diff), 95):.4f}, max {np.abs(diff).max():.4f};"
        f" |pull| 95% {np.percentile(np.abs(pull), 95):.2f}"
    )
    assert len(diff) >= 300
    assert abs(np.median(diff)) < 0.005 and np.percentile(np.abs(diff), 95) < 0.02


def test_the_kept_statistics_are_those_of_the_calibrated_curve(demo_catalogue):
    """What the fold kept for GK Cep (calibrated at ingest) and its curve (calibrated when
    read) from the same fluxes and solutions: the same points and mean."""
    with aphos_lib.connect(demo_catalogue.conninfo("reader")) as archive:
        curve = archive.lightcurve(GK_CEP)
        ((n, mean, std),) = archive.conn.execute(
            "SELECT v.n, v.mean_mag, v.std_mag FROM object_variability v"
            " JOIN catalog_object o ON o.id = v.object_id"
            " WHERE o.catalog = 'UCAC4' AND o.catalog_id = '805-031770' AND v.filter = 'V'"
        ).fetchall()
    in_v = curve.data["filter"].to_numpy() == "V"
    m = curve.data.magnitude.to_numpy()[in_v]
    assert in_v.sum() < len(in_v)  # other filters' images have statistics of their own
    assert n == np.isfinite(m).sum()
    assert mean == pytest.approx(np.nanmean(m), abs=0.01)  # weighted there, not here
    assert std == pytest.approx(np.nanstd(m, ddof=1), rel=0.2)


def test_cli_and_api_give_the_calibrated_curve_and_the_finder(demo_catalogue, api_url):
    out = _cli(demo_catalogue, "lightcurve", GK_CEP, "--format", "json")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(rows) >= 50 and all(8.0 < r["magnitude"] < 9.2 for r in rows)
    out = _cli(
        demo_catalogue, "variables", "--ra", "21 41 55.3", "--dec", "+71 18 38.6",
        "--radius", "1.5", "--limit", "3", "--json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    top = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["rank"] for r in top] == [1, 2, 3]
    assert top[0]["identifiers"][0] == "UCAC4 805-031770" and top[0]["known_variable"]
    assert top[0]["excess"] > 5 and top[0]["n"] >= 50
    status, page = v2(api_url, "variables", ra="21 41 55.3", dec="+71 18 38.6", radius="1.5")
    assert status == 200 and page["filter"] == "V" and page["total"] >= 100
    assert page["stars"][0]["identifiers"] == top[0]["identifiers"]
    status, refused = v2(api_url, "variables", ra="0", dec="0", radius="5")
    assert status == 400 and "at most 2 degrees" in json.dumps(refused)
    csv = _cli(demo_catalogue, "lightcurve", GK_CEP, "--format", "aavso", "--obscode", "XYZ",
               "--aavso-observer", "novak")  # fmt: skip
    assert csv.returncode == 0, csv.stderr
    first = csv.stdout.splitlines()[7].split(",")
    assert first[5:9] == ["YES", "STD", "ENSEMBLE", "na"]


def test_rebuilding_gives_the_statistics_the_ingest_kept(catalogue):
    """Two real SIPS exports stored one after the other, then every state rebuilt from the
    stored images and solutions: the same statistics."""
    from aphos_lib.ingest import ingest_files

    paths = [fixture_path("correct_file.csv"), fixture_path("correct_file_shorter_header.csv")]
    assert [o.status for o in ingest_files(catalogue, paths, observer="novak")] == ["stored"] * 2
    columns = "object_id, filter, n, mean_mag, std_mag, chi2_dof, eta, robust_std, amplitude"
    query = f"SELECT {columns} FROM object_variability ORDER BY object_id, filter"
    with catalogue.connect("writer") as conn:
        kept = conn.execute(query).fetchall()
        with conn.transaction():
            rebuild_variability(conn)
        rebuilt = conn.execute(query).fetchall()
    assert len(kept) >= 1000 and len(rebuilt) == len(kept)
    assert sum(r[2] for r in kept) >= 2000
    for a, b in zip(kept, rebuilt, strict=True):
        assert a[:3] == b[:3]
        nan = [np.nan if v is None else v for v in a[3:]]
        assert [np.nan if v is None else v for v in b[3:]] == pytest.approx(
            nan, rel=1e-9, nan_ok=True
        )


def test_each_observers_residual_offset_is_reported_and_small(demo_catalogue, demo_files):
    """GK Cep's calibrated curve, folded on its period: every observer within 0.02 mag of the
    others, and each offset within 0.01 of what the truth says it is."""
    _, manifest = demo_files
    with aphos_lib.connect(demo_catalogue.conninfo("reader")) as archive:
        curve = archive.lightcurve(GK_CEP)
    offsets = curve.observer_offsets(period=0.936).set_index("observer")
    truth = manifest.model_magnitude("805-031770", curve.data.hjd.to_numpy())
    residual = curve.data.magnitude.to_numpy() - truth
    print(offsets.round(4).to_string())
    assert set(offsets.index) == {o.username for o in manifest.observers}
    assert (offsets["n"] >= 5).all() and (offsets["offset"].abs() < 0.02).all()
    for observer, row in offsets.iterrows():
        own = float(np.median(residual[curve.data.observer == observer]))
        others = float(np.median(residual[curve.data.observer != observer]))
        assert row["offset"] == pytest.approx(own - others, abs=0.01)


def test_automatic_comparisons_are_constant_stars_like_the_variable(demo_catalogue, demo_files):
    _, manifest = demo_files
    kinds = {f"UCAC4:{s.catalog_id}": s for s in manifest.stars}
    with aphos_lib.connect(demo_catalogue.conninfo("reader")) as archive:
        curve = archive.lightcurve(GK_CEP, "auto")
    picked = [c.label for c in curve.meta["comparisons"]]
    check = curve.meta["check"].label
    print("auto:", picked, "check", check)
    print(curve.meta["auto_comparisons"].head(8)[["label", "mag", "excess", "score"]])
    assert len(picked) == 5 and check not in picked and GK_CEP not in picked + [check]
    assert all(kinds[ref].kind == "constant" for ref in [*picked, check])
    # The ensemble's magnitudes follow the truth: GK Cep minus the sum of its comparisons.
    hjd = curve.data.hjd.to_numpy()
    flux = sum(10 ** (-0.4 * manifest.model_magnitude(ref.split(":")[1], hjd)) for ref in picked)
    truth = manifest.model_magnitude("805-031770", hjd) + 2.5 * np.log10(flux)
    residual = curve.data.magnitude.to_numpy() - truth
    assert np.nanstd(residual) < 0.02 and abs(np.nanmedian(residual)) < 0.02


def test_a_standardised_aavso_report_adds_the_comparisons_catalogue_magnitude(
    demo_catalogue, demo_files
):
    """MTYPE STD: MAG = (v - c) + C, which for GK Cep against a constant comparison is its
    true V; CMAG stays instrumental (the AAVSO's rule), CREFMAG in the notes."""
    _, manifest = demo_files
    with aphos_lib.connect(demo_catalogue.conninfo("reader")) as archive:
        curve = archive.lightcurve(GK_CEP, "UCAC4:803-032417", observers=["novak"])
    report = curve.to_aavso(obscode="XYZ", standardised=True).splitlines()
    rows = [line.split(",") for line in report if not line.startswith("#")]
    comparison = curve.meta["comparisons"][0].mag
    assert len(rows) == len(curve.data) and all(r[6] == "STD" and r[5] == "NO" for r in rows)
    assert all(f"CREFMAG={comparison:.3f}" in r[14] for r in rows)
    mags = np.array([float(r[2]) for r in rows])
    assert mags == pytest.approx(curve.data.magnitude.to_numpy() + comparison, abs=6e-4)
    truth = manifest.model_magnitude("805-031770", curve.data.hjd.to_numpy())
    assert abs(np.median(mags - truth)) < 0.02
    instrumental = [float(r[8]) for r in rows]
    assert all(-30 < v < 0 for v in instrumental)  # -2.5 log10(flux): not the catalogue's
