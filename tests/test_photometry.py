"""Differential photometry against hand computation, astropy and the demo's known stars."""

from __future__ import annotations

import csv
import datetime as dt
import math
import time

import light_curve_oracle
import numpy as np
import pytest
from astropy.coordinates import EarthLocation, SkyCoord
from astropy.time import Time

from aphos_lib.aperture_choice import ApertureChoice
from aphos_lib.db import light_curve_records
from aphos_lib.ingest import ingest_files
from aphos_lib.light_curve_read import StarSpec, read_columns
from aphos_lib.photometry import differential_photometry
from aphos_lib.search import resolve_object

from conftest import fixture_path

pytestmark = pytest.mark.catalogue
GK_CEP, GK_CMP, GK_CHECK = "UCAC4:805-031770", "UCAC4:803-032417", "UCAC4:804-031083"
POGSON = 2.5 / math.log(10)


def sips_table(path) -> dict[str, dict[str, str]]:
    """The rows of a SIPS file by catalogue id, read with nothing but the csv module."""
    lines = path.read_bytes().decode("latin-1").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Name;"))
    rows = list(csv.reader(lines[start:], delimiter=";"))
    header = rows[0]
    return {
        r[header.index("CatalogId")]: dict(zip(header, r, strict=True))
        for r in rows[1:]
        if r[header.index("CatalogId")]
    }


@pytest.fixture
def reader(demo_catalogue):
    with demo_catalogue.connect("reader", autocommit=True) as conn:
        yield conn


def test_magnitudes_of_a_fixture_file_equal_hand_computation(catalogue):
    path = fixture_path("correct_file.csv")
    ingest_files(catalogue, [path], observer="novak")
    table = sips_table(path)
    var, cmp = table["777-044861"], table["779-040824"]
    with catalogue.connect("reader") as conn:
        auto = differential_photometry(conn, "UCAC4:777-044861", "UCAC4:779-040824")
        mixed = differential_photometry(
            conn, "UCAC4:777-044861", "UCAC4:779-040824", aperture=3, comparison_aperture="auto"
        )
    assert len(auto) == 1
    row = auto.data.iloc[0]
    assert row.magnitude == pytest.approx(
        -2.5 * math.log10(float(var["ApAuto"]) / float(cmp["ApAuto"])), abs=1e-12
    )
    assert math.isnan(row.deviation)  # this export has no deviation columns
    assert row.time_utc == dt.datetime(2021, 11, 6, 16, 28, 30, 652500, tzinfo=dt.UTC)
    assert row.jd == 2459525.18646589 and row.hjd == 2459525.18849643  # the header's
    assert str(row.night) == "2021-11-06"
    m = mixed.data.iloc[0]
    assert (m.var_aperture, m.cmp_aperture) == (3, 0)
    assert m.var_flux == float(var["Ap3"]) and m.var_ap_auto == float(var["ApAuto"])
    assert m.magnitude == pytest.approx(
        -2.5 * math.log10(float(var["Ap3"]) / float(cmp["ApAuto"])), abs=1e-12
    )


def test_saturated_rows_are_hidden_unless_asked_and_never_get_a_magnitude(catalogue):
    ingest_files(catalogue, [fixture_path("correct_file.csv")], observer="novak")
    with catalogue.connect("reader") as conn:
        # 807-030174 is saturated in every aperture of this image.
        hidden = differential_photometry(conn, "UCAC4:777-044861", "UCAC4:807-030174")
        shown = differential_photometry(
            conn, "UCAC4:777-044861", "UCAC4:807-030174", include_saturated=True
        )
    assert len(hidden) == 0
    assert len(shown) == 1 and bool(shown.data.saturated[0])
    assert math.isnan(shown.data.magnitude[0]) and math.isnan(shown.data.cmp_flux[0])


def test_deviations_equal_hand_computation_from_an_export_with_deviations(reader, demo_files):
    directory, manifest = demo_files
    info = next(f for f in manifest.files if f.observer == "svoboda" and f.field == "gk_cep")
    table = sips_table(directory / info.path)
    var, cmp = table["805-031770"], table["803-032417"]
    curve = differential_photometry(reader, GK_CEP, GK_CMP, observers=["svoboda"])
    row = curve.data[np.isclose(curve.data.jd, info.gjd, atol=1e-9, rtol=0)].iloc[0]
    fv, sv = float(var["ApAuto"]), float(var["ApAutoDev"])
    fc, sc = float(cmp["ApAuto"]), float(cmp["ApAutoDev"])
    assert row.magnitude == pytest.approx(-2.5 * math.log10(fv / fc), abs=1e-12)
    assert row.deviation == pytest.approx(
        POGSON * math.sqrt((sv / fv) ** 2 + (sc / fc) ** 2), rel=1e-12
    )


def test_hjd_is_the_header_value_or_computed_with_astropy_when_the_header_has_none(
    reader, demo_files
):
    _, manifest = demo_files
    curve = differential_photometry(reader, GK_CEP, GK_CMP)
    by_jd = {round(f.gjd, 8): f for f in manifest.files}
    header_rows = curve.data[~curve.data.hjd_computed]
    computed = curve.data[curve.data.hjd_computed]
    assert len(header_rows) > 50 and len(computed) > 10  # dvorak's short headers have no HJD
    for row in header_rows.itertuples():
        assert row.hjd == by_jd[round(row.jd, 8)].hjd
    # Oracle: astropy at the observer's site, to the star (ours is from the Earth's centre).
    site = manifest.observer("dvorak")
    location = EarthLocation.from_geodetic(site.longitude_deg, site.latitude_deg, site.elevation_m)
    times = Time(computed.jd.to_numpy(), format="jd", scale="utc", location=location)
    star = SkyCoord(322.746458333, 70.823216667, unit="deg")
    expected = (times + times.light_travel_time(star, kind="heliocentric")).jd
    np.testing.assert_allclose(computed.hjd, expected, rtol=0, atol=0.025 / 86400)


def test_the_light_curve_follows_the_demo_stars_models(reader, demo_files):
    _, manifest = demo_files
    curve = differential_photometry(reader, GK_CEP, GK_CMP)
    hjd = curve.data.hjd.to_numpy()
    # Each observer's camera measures V through its own colour term.
    terms = np.array([manifest.colour_term(o) for o in curve.data.observer])
    model = manifest.measured_magnitude("805-031770", hjd, terms) - manifest.measured_magnitude(
        "803-032417", hjd, terms
    )
    residual = curve.data.magnitude.to_numpy() - model
    assert abs(np.median(residual)) < 0.01
    assert np.median(np.abs(residual - np.median(residual))) < 0.02


@pytest.mark.parametrize(
    ("variable", "comparison", "true_period", "factor", "nterms"),
    [
        (GK_CEP, GK_CMP, 0.936, 2, 1),  # two eclipses a period: the strongest peak is P/2
        (GK_CEP, GK_CMP, 0.936, 1, 2),
        ("UCAC4:619-010308", "UCAC4:618-010125", 0.5667, 1, 1),
    ],
)
def test_the_periodogram_recovers_the_demo_periods_to_a_thousandth(
    reader, variable, comparison, true_period, factor, nterms
):
    curve = differential_photometry(reader, variable, comparison)
    periodogram = curve.periodogram(max_period=5, nterms=nterms)
    assert factor * periodogram.best_period == pytest.approx(true_period, rel=1e-3)
    if nterms == 1:
        assert periodogram.false_alarm_probability < 1e-10


def test_folding_puts_the_primary_eclipse_at_phase_zero(reader):
    curve = differential_photometry(reader, GK_CEP, GK_CMP).fold(0.936, epoch=2459525.3)
    phase, mag = curve.data.phase.to_numpy(), curve.data.magnitude.to_numpy()
    assert np.all((phase >= 0) & (phase < 1)) and np.all(np.diff(phase) >= 0)
    # The faintest points (largest magnitude) lie within 0.1 in phase of the primary minimum.
    faintest = phase[np.argsort(mag)[-5:]]
    assert np.all(np.minimum(faintest, 1 - faintest) < 0.1)


def test_apertures_are_chosen_per_night_and_per_star(reader):
    auto = differential_photometry(
        reader, GK_CEP, GK_CMP, include_saturated=True, with_apertures=True
    )
    night = auto.data.night.iloc[0]
    curve = differential_photometry(
        reader,
        GK_CEP,
        GK_CMP,
        include_saturated=True,
        with_apertures=True,
        aperture={night.isoformat(): 4},
        comparison_aperture={"default": 2, night: "auto"},
    )
    on_night = curve.data.night == night
    assert set(curve.data.var_aperture[on_night]) == {4}
    assert set(curve.data.var_aperture[~on_night]) == {0}
    assert set(curve.data.cmp_aperture[on_night]) == {0}
    assert set(curve.data.cmp_aperture[~on_night]) == {2}
    for row in curve.data.itertuples():
        assert row.var_flux == (row.var_ap[3] if row.night == night else row.var_ap_auto)
        assert row.cmp_flux == (row.cmp_ap_auto if row.night == night else row.cmp_ap[1])


def test_observers_can_be_kept_or_left_out(reader):
    everyone = differential_photometry(reader, GK_CEP, GK_CMP)
    per_observer = everyone.data.observer.value_counts().to_dict()
    assert len(per_observer) >= 3
    only = differential_photometry(reader, GK_CEP, GK_CMP, observers=["NOVAK"])
    assert set(only.data.observer) == {"novak"} and len(only) == per_observer["novak"]
    without = differential_photometry(reader, GK_CEP, GK_CMP, exclude_observers=["novak"])
    assert "novak" not in set(without.data.observer)
    assert len(without) == len(everyone) - per_observer["novak"]


def test_an_ensemble_sums_its_stars_and_a_check_star_is_measured_against_it(reader):
    members = [GK_CMP, GK_CHECK]
    ensemble = differential_photometry(reader, GK_CEP, members, check="UCAC4:805-031804")
    single = differential_photometry(reader, GK_CEP, GK_CMP)
    data = ensemble.data
    assert len(data) > 100
    np.testing.assert_array_equal(data.cmp_flux, data.cmp1_flux + data.cmp2_flux)
    np.testing.assert_allclose(data.cmp_flux_dev, np.hypot(data.cmp1_flux_dev, data.cmp2_flux_dev))
    np.testing.assert_allclose(data.magnitude, -2.5 * np.log10(data.var_flux / data.cmp_flux))
    np.testing.assert_allclose(
        data.check_magnitude, -2.5 * np.log10(data.check_flux / data.cmp_flux)
    )
    # The check star is constant: its scatter is photon noise, far below the variable's range.
    assert np.nanstd(data.check_magnitude) < 0.05 < np.nanstd(data.magnitude)
    summary = ensemble.night_summary()
    assert summary.images.sum() == len(data) and summary.check_std.notna().any()
    # The single-star curve is the same images where both stars were measured.
    assert set(data.image_id) <= set(single.data.image_id)


def test_as_of_repeats_an_analysis_exactly_after_more_uploads(catalogue, demo_files):
    directory, manifest = demo_files
    gk = [directory / f.path for f in manifest.files if f.field == "gk_cep"]
    ingest_files(catalogue, gk[: len(gk) // 2], observer="novak")
    time.sleep(0.01)
    with catalogue.connect("reader") as conn:
        pinned = conn.execute("SELECT now()").fetchone()[0]
        first = differential_photometry(conn, GK_CEP, GK_CMP, as_of=pinned)
    ingest_files(catalogue, gk[len(gk) // 2 :], observer="svoboda")
    with catalogue.connect("reader") as conn:
        again = differential_photometry(conn, GK_CEP, GK_CMP, as_of=pinned)
        now = differential_photometry(conn, GK_CEP, GK_CMP)
    assert len(now) > len(first) > 0
    columns = ["image_id", "jd", "hjd", "magnitude", "deviation", "observer"]
    assert again.data[columns].equals(first.data[columns])


def test_a_night_runs_from_local_noon_to_local_noon(catalogue):
    ingest_files(catalogue, [fixture_path("correct_file.csv")], observer="novak")
    # The exposure middle is 2021-11-06 16:28:30 UTC: 08:28 local time at 120 deg W, before
    # local noon, so the night that began on the 5th; 12:28 at 60 deg W, the night of the 6th.
    cases = [
        (None, "2021-11-06"),
        (0.0, "2021-11-06"),
        (-60.0, "2021-11-06"),
        (-120.0, "2021-11-05"),
        (100.0, "2021-11-06"),
    ]
    with catalogue.connect("owner") as conn:
        for longitude, night in cases:
            with conn.transaction():
                conn.execute("UPDATE observer SET longitude_deg = %s", (longitude,))
            curve = differential_photometry(conn, "UCAC4:777-044861", "UCAC4:779-040824")
            assert str(curve.data.night[0]) == night, longitude


@pytest.mark.parametrize(
    "choice",
    [
        {},
        {"aperture": 2, "comparison_aperture": "auto", "check": GK_CHECK},
        {"comparison": [GK_CMP, GK_CHECK], "include_saturated": True},
        {"exclude_observers": ["svoboda"], "check": GK_CHECK, "check_aperture": 1},
        {"observers": ["novak", "svoboda"], "check": "UCAC4:805-031804"},
        {"aperture": "per-night", "comparison_aperture": "per-night"},
    ],
)
def test_the_light_curve_read_equals_an_independent_sql_read(reader, choice):
    """The one read (binary records, rules in numpy) against the rules written in plain SQL.

    Every column, with every aperture's lists and without them, and apertures chosen night by
    night; the public curve with and without the lists gives the same shared columns.
    """
    args = {"comparison": GK_CMP, **choice}
    comparison = args.pop("comparison")
    if args.get("aperture") == "per-night":
        nights = sorted(set(differential_photometry(reader, GK_CEP, comparison).data.night))
        args["aperture"] = {"default": "auto", nights[0]: 2, nights[-1]: 1}
        args["comparison_aperture"] = {"default": 3, nights[1]: "auto"}
    var_choice = ApertureChoice.parse(args.get("aperture", "auto"))
    stars = [StarSpec("v", resolve_object(reader, GK_CEP), var_choice)]
    members = comparison if isinstance(comparison, list) else [comparison]
    cmp_choice = ApertureChoice.parse(args.get("comparison_aperture", "auto"))
    stars += [
        StarSpec(f"c{k}", resolve_object(reader, c), cmp_choice) for k, c in enumerate(members)
    ]
    if "check" in args:
        chk_choice = ApertureChoice.parse(args.get("check_aperture", args.get("aperture", "auto")))
        stars.append(StarSpec("k", resolve_object(reader, args["check"]), chk_choice, True))
    rows = {"observers": args.get("observers"), "exclude_observers": args.get("exclude_observers")}
    expected = light_curve_oracle.read(reader, stars, **rows)
    with_lists = read_columns(reader, stars, with_apertures=True, **rows)
    without = read_columns(reader, stars, **rows)
    assert len(expected["image_id"]) > 50
    assert list(with_lists) == list(expected)
    assert list(without) == [
        c for c in expected if not c.endswith(("_ap", "_ap_dev", "_ap_saturated"))
    ]
    for name, column in expected.items():
        light_curve_oracle.assert_same_column(name, with_lists[name], column)
        if name in without:
            light_curve_oracle.assert_same_column(name, without[name], column)
    if isinstance(args.get("aperture"), dict):
        night = np.array(expected["night"])
        assert set(expected["v_aperture"][night == nights[0]]) == {2}
        assert set(expected["v_aperture"][night == nights[-1]]) == {1}
        assert set(expected["c0_aperture"][night == nights[1]]) == {0}
        assert set(expected["c0_aperture"][night == nights[0]]) == {3}
    public = differential_photometry(reader, GK_CEP, comparison, **args).data
    lists = differential_photometry(reader, GK_CEP, comparison, with_apertures=True, **args).data
    assert [c for c in lists.columns if c in public.columns] == list(public.columns)
    assert public.equals(lists[public.columns])


def test_a_star_matched_to_two_sources_keeps_the_nearest_in_both_reads(catalogue):
    path = fixture_path("correct_file.csv")
    ingest_files(catalogue, [path], observer="novak")
    with catalogue.connect() as conn:
        # A second source matched to the variable, 30" away: both reads must ignore it.
        conn.execute(
            "INSERT INTO flux (image_id, line, object_id, ra_deg, dec_deg, ap_auto, ap_auto_dev, "
            "ap_auto_saturated, ap, ap_dev, ap_saturated, light_curve_record) "
            f"SELECT q.*, {light_curve_records.FLUX_RECORD} FROM ("
            "SELECT image_id, 100000, object_id, ra_deg + 30.0 / 3600 AS ra_deg, dec_deg, "
            "ap_auto * 2 AS ap_auto, NULL::float8 AS ap_auto_dev, false AS ap_auto_saturated, "
            "ap, ap_dev, ap_saturated FROM flux WHERE object_id = "
            "(SELECT id FROM catalog_object WHERE catalog_id = '777-044861')) q"
        )
    table = sips_table(path)
    expected = -2.5 * math.log10(
        float(table["777-044861"]["ApAuto"]) / float(table["779-040824"]["ApAuto"])
    )
    with catalogue.connect("reader") as conn:
        columnar = differential_photometry(conn, "UCAC4:777-044861", "UCAC4:779-040824")
        general = differential_photometry(
            conn, "UCAC4:777-044861", "UCAC4:779-040824", with_apertures=True
        )
    assert len(columnar) == len(general) == 1
    assert columnar.data.magnitude[0] == pytest.approx(expected, abs=1e-12)
    assert general.data.magnitude[0] == pytest.approx(expected, abs=1e-12)
