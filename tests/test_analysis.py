"""aphos_lib.analysis and aphos_lib.plotting: synthetic data with known answers, then the demo."""

from __future__ import annotations

import datetime as dt
import inspect

import matplotlib
import numpy as np
import pandas as pd
import pytest

from aphos_lib import analysis
from aphos_lib.archive import Archive
from aphos_lib.lightcurve import LightCurve
from aphos_lib.photometry import differential_photometry
from aphos_lib.search import search_objects

matplotlib.use("Agg")

GK_CEP, GK_CMP = "UCAC4:805-031770", "UCAC4:803-032417"
RR1, RR1_CMP = "UCAC4:619-010308", "UCAC4:618-010125"
EK_CEP = "UCAC4:799-031271"


def synthetic_curve(t, magnitude, observer, deviation=None) -> LightCurve:
    n = len(t)
    data = pd.DataFrame(
        {
            "image_id": np.arange(n),
            "jd": t,
            "hjd": t,
            "observer": observer,
            "night": [dt.date(2021, 11, 1)] * n,
            "magnitude": magnitude,
            "deviation": np.full(n, np.nan) if deviation is None else deviation,
        }
    )
    return LightCurve(data, {"variable": None, "comparisons": []})


# --- pure functions on synthetic data ----------------------------------------------------


def test_ensemble_scatter_recovers_each_stars_noise_through_clouds():
    rng = np.random.default_rng(1)
    images = 400
    noise = np.array([0.005, 0.01, 0.02, 0.005, 0.01, 0.008, 0.006, 0.012, 0.007, 0.015])
    clouds = rng.uniform(0, 1.5, images)[:, None]  # the same for every star of an image
    mags = rng.uniform(9, 10, len(noise)) + clouds + rng.normal(0, noise, (images, len(noise)))
    flux = 10 ** (-0.4 * (mags - 20))
    flux[3, 2] = np.nan  # a star missing from an image
    flux[7, :] = np.nan  # an image without any star
    table = analysis.ensemble_scatter(flux, deviation=flux * noise / 1.0857)
    assert table.images.tolist() == [images - 1] * 2 + [images - 2] + [images - 1] * 7
    # The others' zero point adds a little of their noise: within 20% of the truth.
    np.testing.assert_allclose(table.scatter_mag, noise, rtol=0.2)
    np.testing.assert_allclose(table.robust_scatter_mag, noise, rtol=0.3)  # less efficient
    np.testing.assert_allclose(table.expected_mag, noise, rtol=1e-3)
    assert table.scatter_mag.idxmax() == 2 and table.scatter_mag.idxmin() in (0, 3)


def test_ensemble_scatter_singles_out_a_variable_star():
    rng = np.random.default_rng(2)
    mags = 10 + rng.normal(0, 0.01, (100, 6))
    mags[:, 4] += 0.3 * np.sin(np.linspace(0, 20, 100))
    table = analysis.ensemble_scatter(10 ** (-0.4 * mags))
    assert table.scatter_mag.idxmax() == 4 and table.scatter_mag[4] > 0.15
    # Left out of the others' zero point, it does not spill into their scatter.
    np.testing.assert_allclose(table.drop(index=4).scatter_mag, 0.01, rtol=0.25)
    assert table.expected_mag.isna().all()
    with pytest.raises(ValueError, match="at least one other"):
        analysis.ensemble_scatter(np.ones((5, 1)))
    with pytest.raises(ValueError, match="2-D"):
        analysis.ensemble_scatter(np.ones(5))


def test_best_apertures_picks_the_least_scatter_that_every_observer_of_the_night_has():
    rows = [
        # night 1: novak alone; aperture 2 best
        ("2021-11-01", "novak", 0, 8, 0.030),
        ("2021-11-01", "novak", 1, 8, 0.020),
        ("2021-11-01", "novak", 2, 8, 0.010),
        # night 2: two observers; 3 is best for smith but kowalski has no aperture 3
        ("2021-11-02", "smith", 0, 5, 0.020),
        ("2021-11-02", "smith", 1, 5, 0.015),
        ("2021-11-02", "smith", 3, 5, 0.001),
        ("2021-11-02", "kowalski", 0, 5, 0.010),
        ("2021-11-02", "kowalski", 1, 5, 0.030),
        ("2021-11-02", "kowalski", 3, 0, np.nan),
        # night 3: two images only: luck, not a measurement
        ("2021-11-03", "novak", 0, 2, 0.010),
        ("2021-11-03", "novak", 1, 2, 0.0001),
        # night 4: ApAuto best
        ("2021-11-04", "novak", 0, 6, 0.004),
        ("2021-11-04", "novak", 1, 6, 0.005),
    ]
    table = pd.DataFrame(rows, columns=["night", "observer", "aperture", "images", "check_std"])
    assert analysis.best_apertures(table) == {
        "2021-11-01": 2,
        "2021-11-02": "auto",
        "2021-11-04": "auto",
    }
    assert analysis.best_apertures(table, min_images=2)["2021-11-03"] == 1


def test_resolve_period_doubles_the_peak_of_unequal_eclipses_only():
    rng = np.random.default_rng(3)
    t = np.sort(rng.uniform(0, 60, 300))
    phase = np.mod(t / 0.8, 1)
    # Two eclipses a cycle, 0.3 and 0.2 mag deep: the strongest peak is at 0.4 d.
    eclipses = (
        0.3 * np.exp(-0.5 * (phase / 0.05) ** 2)
        + 0.3 * np.exp(-0.5 * ((phase - 1) / 0.05) ** 2)
        + 0.2 * np.exp(-0.5 * ((phase - 0.5) / 0.05) ** 2)
    )
    binary = synthetic_curve(t, eclipses + rng.normal(0, 0.01, len(t)), "a")
    peak = binary.periodogram(max_period=5).best_period
    assert peak == pytest.approx(0.4, rel=1e-3)
    choice = analysis.resolve_period(binary, peak)
    assert choice.doubled and choice.period == pytest.approx(0.8, rel=1e-3)
    assert choice.p_value < 1e-10 and choice.rms_double < choice.rms_single
    assert "twice the peak" in str(choice)
    # A sine wave's halves are the same: its peak is its period.
    sine = synthetic_curve(t, 0.2 * np.sin(2 * np.pi * t / 0.5) + rng.normal(0, 0.01, len(t)), "a")
    choice = analysis.resolve_period(sine, sine.periodogram(max_period=5).best_period)
    assert not choice.doubled and choice.period == pytest.approx(0.5, rel=1e-3)
    with pytest.raises(ValueError, match="too few"):
        analysis.resolve_period(synthetic_curve(t[:10], eclipses[:10], "a"), 0.4)


def test_observer_offsets_recover_injected_offsets_and_combining_removes_them():
    rng = np.random.default_rng(4)
    t = np.sort(rng.uniform(0, 40, 240))
    who = np.array(["ann", "bob", "cyd"])[rng.integers(0, 3, len(t))]
    who[:80] = "bob"  # bob has the most images: the reference
    truth = {"ann": 0.05, "bob": 0.0, "cyd": -0.12}
    model = 0.4 * np.sin(2 * np.pi * t / 0.6) + 0.1 * np.cos(4 * np.pi * t / 0.6)
    mags = model + np.vectorize(truth.get)(who) + rng.normal(0, 0.01, len(t))
    curve = synthetic_curve(t, mags, who)
    offsets = analysis.observer_offsets(curve, 0.6)
    assert offsets.observer.tolist() == ["ann", "bob", "cyd"]
    got = dict(zip(offsets.observer, offsets.offset_mag, strict=True))
    for name, offset in truth.items():
        error = offsets.set_index("observer").offset_error_mag[name]
        assert abs(got[name] - offset) < max(4 * error, 1e-12)
    assert offsets.offset_error_mag.between(0, 0.005).all()
    np.testing.assert_allclose(offsets.residual_std_mag, 0.01, rtol=0.3)
    combined = analysis.combine_observers(curve, offsets)
    again = analysis.observer_offsets(combined, 0.6)
    np.testing.assert_allclose(again.offset_mag, 0, atol=1e-9)
    assert combined.meta["observer_offsets"] == got
    assert (combined.data.offset_mag == combined.data.observer.map(got)).all()
    relative = analysis.observer_offsets(curve, 0.6, reference="ann")
    assert relative.set_index("observer").offset_mag["ann"] == 0
    with pytest.raises(ValueError, match="no offset for observer"):
        analysis.combine_observers(curve, {"ann": 0.0})
    with pytest.raises(ValueError, match="no magnitudes"):
        analysis.observer_offsets(curve, 0.6, reference="dan")


def test_fingerprint_changes_with_the_data_and_nothing_else():
    t = np.linspace(0, 1, 20)
    curve = synthetic_curve(t, np.sin(t), "ann")
    same = LightCurve(curve.data.copy(), {**curve.meta, "queried_at": dt.datetime.now(dt.UTC)})
    assert analysis.fingerprint(curve) == analysis.fingerprint(same)
    changed = curve.data.copy()
    changed.loc[5, "magnitude"] += 1e-12
    assert analysis.fingerprint(LightCurve(changed, curve.meta)) != analysis.fingerprint(curve)
    assert len(analysis.fingerprint(curve)) == 16


def test_plots_draw_headless_with_magnitudes_downwards():
    from aphos_lib import plotting

    t = np.linspace(0, 3, 60)
    curve = synthetic_curve(
        t, 0.3 * np.sin(2 * np.pi * t / 0.7), ["ann", "bob"] * 30, deviation=np.full(60, 0.01)
    )
    ax = plotting.plot_lightcurve(curve)
    assert ax.yaxis_inverted() and len(ax.get_legend().get_texts()) == 2
    ax = plotting.plot_phase(curve.fold(0.7), cycles=2)
    assert ax.yaxis_inverted() and ax.get_xlim() == (0, 2)
    with pytest.raises(ValueError, match="folded"):
        plotting.plot_phase(curve)
    periodogram = curve.periodogram(max_period=2)
    ax = plotting.plot_periodogram(periodogram, mark=[periodogram.best_period])
    assert ax.get_xscale() == "log"
    scatter = pd.DataFrame(
        {
            "night": ["2021-11-01"] * 3,
            "observer": ["ann"] * 3,
            "aperture": [0, 1, 2],
            "images": [5] * 3,
            "check_std": [0.02, 0.01, np.nan],
        }
    )
    ax = plotting.plot_aperture_scatter(scatter)
    assert len(ax.lines) == 1 and len(ax.lines[0].get_xdata()) == 2
    import matplotlib.pyplot as plt

    plt.close("all")


# --- the demo catalogue ------------------------------------------------------------------


@pytest.fixture
def archive(demo_catalogue):
    with demo_catalogue.connect("reader", autocommit=True) as conn:
        yield Archive(conn)


@pytest.mark.catalogue
def test_ranking_puts_constant_stars_first_and_an_eclipsing_binary_last(archive):
    ranking = analysis.rank_comparison_stars(archive, GK_CEP, limit=8)
    assert len(ranking) == 8 and GK_CEP not in set(ranking.star)
    assert ranking["rank"].tolist() == list(range(1, 9))
    assert ranking.scatter_mag.is_monotonic_increasing
    assert (ranking.distance_deg <= 1.0).all() and ranking.mag.between(8.42 - 1.5, 8.42 + 1.5).all()
    # Constant stars scatter about as much as their photon noise says.
    assert (ranking.scatter_mag < 2.5 * ranking.expected_mag).all()
    suspects = analysis.rank_comparison_stars(
        archive, GK_CEP, candidates=ranking.star[:4].tolist() + [EK_CEP]
    )
    assert suspects.star.iloc[-1] == EK_CEP and suspects.name.iloc[-1] == "EK Cep"
    assert suspects.scatter_mag.iloc[-1] > 5 * suspects.scatter_mag.iloc[:-1].max()
    with pytest.raises(ValueError, match="at least 3 candidates"):
        analysis.rank_comparison_stars(archive, GK_CEP, candidates=[GK_CMP, GK_CEP, EK_CEP])


@pytest.mark.catalogue
@pytest.mark.parametrize("ensemble", [False, True])
def test_aperture_scatter_equals_night_summary_in_each_fixed_aperture(archive, ensemble):
    comparison = [GK_CMP, "UCAC4:805-031759"] if ensemble else GK_CMP
    check = "UCAC4:803-031981"
    every = archive.lightcurve(GK_CEP, comparison, check=check, with_apertures=True)
    scatter = analysis.aperture_scatter(every)
    assert set(scatter.aperture) == set(range(13))  # ApAuto and dvorak's 12 apertures
    for aperture in (0, 1, 4):
        fixed = archive.lightcurve(
            GK_CEP, comparison, check=check, aperture=aperture, comparison_aperture=aperture
        ).night_summary()
        mine = scatter[scatter.aperture == aperture].reset_index(drop=True)
        assert [str(n) for n in fixed.night] == [str(n) for n in mine.night]
        np.testing.assert_allclose(mine.check_std, fixed.check_std, rtol=1e-9)
    choice = analysis.best_apertures(scatter)
    tuned = archive.lightcurve(
        GK_CEP, comparison, check=check, aperture=choice, comparison_aperture=choice
    ).night_summary()
    auto = archive.lightcurve(GK_CEP, comparison, check=check).night_summary()
    assert tuned.check_std.median() < auto.check_std.median()
    with pytest.raises(ValueError, match="with_apertures"):
        analysis.aperture_scatter(archive.lightcurve(GK_CEP, GK_CMP, check=check))


@pytest.mark.catalogue
def test_the_demo_periods_are_resolved_and_offsets_are_small(archive):
    binary = archive.lightcurve(GK_CEP, GK_CMP)
    choice = analysis.resolve_period(binary, binary.periodogram(max_period=5).best_period)
    assert choice.doubled and choice.period == pytest.approx(0.936, rel=1e-3)
    rr = archive.lightcurve(RR1, RR1_CMP)
    choice = analysis.resolve_period(rr, rr.periodogram(max_period=5, nterms=3).best_period)
    assert not choice.doubled and choice.period == pytest.approx(0.5667, rel=1e-3)
    # Everyone observes in V against the same comparison: offsets within 3 sigma of 0...
    offsets = analysis.observer_offsets(binary, 0.936)
    assert (
        len(offsets) == 5
        and (offsets.offset_mag.abs() < 3 * offsets.offset_error_mag + 1e-12).all()
    )
    # ... and one observer's magnitudes shifted by 0.05 mag come back as a 0.05 mag offset.
    shifted = binary.data.copy()
    shifted.loc[shifted.observer == "svoboda", "magnitude"] += 0.05
    moved = analysis.observer_offsets(LightCurve(shifted, binary.meta), 0.936)
    delta = moved.offset_mag - offsets.offset_mag
    assert delta[moved.observer == "svoboda"].item() == pytest.approx(0.05, abs=1e-9)


@pytest.mark.catalogue
def test_pin_as_of_uses_the_catalogues_clock_and_keeps_a_given_time(archive):
    pinned = analysis.pin_as_of(archive)
    assert pinned.tzinfo is not None and pinned.utcoffset() == dt.timedelta(0)
    assert abs(pinned - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    given = analysis.pin_as_of(archive, "2026-11-24T13:00:00+01:00")
    assert given == dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        analysis.pin_as_of(archive, "2026-11-24T12:00:00")
    curve = archive.lightcurve(GK_CEP, GK_CMP, as_of=pinned)
    assert analysis.fingerprint(curve) == analysis.fingerprint(
        archive.lightcurve(GK_CEP, GK_CMP, as_of=pinned)
    )


@pytest.mark.parametrize(
    "method, function",
    [(Archive.search, search_objects), (Archive.lightcurve, differential_photometry)],
)
def test_the_archives_calls_spell_out_the_librarys_parameters(method, function):
    """Shift-Tab on ``archive.search`` shows every filter, the same as the library's."""
    ours = list(inspect.signature(method).parameters.values())[1:]  # after self
    theirs = list(inspect.signature(function).parameters.values())[1:]  # after conn
    assert [(p.name, p.kind, p.default) for p in ours] == [
        (p.name, p.kind, p.default) for p in theirs
    ]
