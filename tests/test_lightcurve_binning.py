"""LightCurve.bin gives a light curve, and folding and binning compose in either order.

Synthetic curves with known answers first (no database), then the demo's GK Cep.
"""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pandas as pd
import pytest

from aphos_lib.lightcurve import LightCurve
from aphos_lib.photometry import differential_photometry

PERIOD, EPOCH = 0.7, 2459525.0
GK_CEP, GK_CMP = "UCAC4:805-031770", "UCAC4:803-032417"


def two_observers(deviation: float | None = 0.01) -> LightCurve:
    """Four nights of a 0.7 d sine, ann and bob taking turns image by image."""
    rng = np.random.default_rng(3)
    nights = [dt.date(2021, 11, d) for d in (1, 2, 3, 4)]
    t = np.concatenate([EPOCH + k + np.sort(rng.uniform(0, 0.3, 40)) for k in range(4)])
    n = len(t)
    data = pd.DataFrame(
        {
            "time_utc": pd.to_datetime(t - 2440587.5, unit="D", utc=True),
            "jd": t - 0.004,
            "hjd": t,
            "night": np.repeat(nights, 40),
            "observer": ["ann", "bob"] * (n // 2),
            "filter": "V",
            "magnitude": 0.3 * np.sin(2 * np.pi * (t - EPOCH) / PERIOD) + rng.normal(0, 0.01, n),
            "deviation": np.nan if deviation is None else rng.uniform(0.5, 2, n) * deviation,
        }
    )
    return LightCurve(data, {"variable": None, "comparisons": []})


def weighted(m: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    w = 1 / s**2
    return float(np.sum(w * m) / np.sum(w)), float(1 / np.sqrt(np.sum(w)))


def test_night_bins_are_a_light_curve_per_night_and_observer():
    curve = two_observers()
    binned = curve.bin("night")
    assert isinstance(binned, LightCurve) and len(binned) == 8  # 4 nights x 2 observers
    assert binned.meta["binned"] == {"width": "night", "time": "hjd"}
    assert list(binned.data.columns) == [
        *("time_utc", "jd", "hjd", "night", "observer", "filter"),
        *("magnitude", "deviation", "n"),
    ]
    assert binned.data.hjd.is_monotonic_increasing and binned.data.n.tolist() == [20] * 8
    assert repr(binned) == "<LightCurve of ?: 8 bins per night and observer>"
    for row in binned.data.itertuples():
        data = curve.data
        members = data[(data.night == row.night) & (data.observer == row.observer)]
        mean, error = weighted(members.magnitude.to_numpy(), members.deviation.to_numpy())
        assert row.magnitude == pytest.approx(mean, abs=1e-12)
        assert row.deviation == pytest.approx(error, abs=1e-12)
        assert row.hjd == pytest.approx(members.hjd.mean(), abs=1e-9)
        assert row.jd == pytest.approx(members.jd.mean(), abs=1e-9)
        assert abs(row.time_utc - members.time_utc.mean()) < pd.Timedelta(microseconds=1)
    assert curve.meta == {"variable": None, "comparisons": []}  # the original is unchanged


def test_unknown_deviations_give_the_plain_mean_and_its_standard_error():
    binned = two_observers(deviation=None).bin("night")
    curve = two_observers(deviation=None)
    first = curve.data[(curve.data.night == binned.data.night[0]) & (curve.data.observer == "ann")]
    row = binned.data.iloc[0]
    assert row.observer == "ann" and row.magnitude == pytest.approx(first.magnitude.mean())
    assert row.deviation == pytest.approx(first.magnitude.std(ddof=1) / np.sqrt(len(first)))


def test_time_bins_keep_a_label_only_where_each_bin_has_one_value():
    curve = two_observers()
    hourly = curve.bin(1 / 24)
    assert hourly.meta["binned"] == {"width": 1 / 24, "time": "hjd"}
    assert hourly.data.n.sum() == len(curve) and (hourly.data.n >= 1).all()
    # An hour holds images of both observers: the bins keep the night and filter only.
    assert {"night", "filter"} <= set(hourly.data) and "observer" not in hourly.data
    assert repr(hourly) == f"<LightCurve of ?: {len(hourly)} bins of 0.0416667 d in HJD>"
    start = curve.data.hjd.min()
    for row in hourly.data.itertuples():
        hour = np.floor((curve.data.hjd - start) * 24) == np.floor((row.hjd - start) * 24)
        assert row.n == hour.sum()
    one_image = curve.bin(1e-6)  # every image its own bin: the curve itself
    np.testing.assert_allclose(one_image.data.magnitude, curve.data.magnitude)
    assert "observer" in one_image.data


def test_a_folded_curve_bins_in_phase_into_the_mean_cycle():
    curve = two_observers()
    folded = curve.fold(PERIOD, epoch=EPOCH)
    cycle = folded.bin(0.05)
    assert cycle.meta["binned"] == {"width": 0.05, "time": "phase"}
    assert cycle.meta["period"] == PERIOD and cycle.meta["epoch"] == EPOCH
    assert list(cycle.data.columns) == ["phase", "magnitude", "deviation", "n"]
    assert cycle.data.n.sum() == len(curve) and cycle.data.phase.is_monotonic_increasing
    for row in cycle.data.itertuples():
        members = folded.data[np.floor(folded.data.phase / 0.05) == np.floor(row.phase / 0.05)]
        assert row.n == len(members)
        mean, _ = weighted(members.magnitude.to_numpy(), members.deviation.to_numpy())
        assert row.magnitude == pytest.approx(mean, abs=1e-12)
        # The mean cycle follows the sine it was drawn from.
        assert row.magnitude == pytest.approx(0.3 * np.sin(2 * np.pi * row.phase), abs=0.05)
    assert repr(cycle) == f"<LightCurve of ?: {len(cycle)} bins of 0.05 in phase>"
    # In time, on request: the same bins as the unfolded curve's, folded.
    in_time = folded.bin(1 / 24, time="hjd")
    assert sorted(in_time.data.hjd) == pytest.approx(list(curve.bin(1 / 24).data.hjd))


def test_night_bins_fold_and_folded_curves_bin_by_night_alike():
    curve = two_observers()
    then_fold = curve.bin("night").fold(PERIOD, epoch=EPOCH)
    fold_first = curve.fold(PERIOD, epoch=EPOCH).bin("night")
    pd.testing.assert_frame_equal(then_fold.data, fold_first.data)
    assert then_fold.meta == fold_first.meta
    assert then_fold.meta["binned"]["width"] == "night" and then_fold.meta["period"] == PERIOD
    # Each night's phase is that of its mean time, not the mean of its phases.
    expected = np.mod((then_fold.data.hjd - EPOCH) / PERIOD, 1.0)
    np.testing.assert_allclose(then_fold.data.phase, expected, atol=1e-12)
    assert then_fold.data.phase.is_monotonic_increasing


def test_binning_a_binned_curve_counts_images():
    curve = two_observers()
    per_night = curve.bin("night")
    daily = per_night.bin(1.0)
    assert daily.data.n.tolist() == [40] * 4 and daily.data.n.sum() == len(curve)
    # Weighted means of weighted means are the weighted mean of the images.
    whole = curve.bin(10.0).data.iloc[0]
    again = per_night.bin(10.0).data.iloc[0]
    assert again.magnitude == pytest.approx(whole.magnitude, abs=1e-12)
    assert again.deviation == pytest.approx(whole.deviation, abs=1e-12)


def test_binning_says_what_it_cannot_do():
    curve = two_observers()
    with pytest.raises(ValueError, match="fold"):
        curve.bin(0.1, time="phase")
    with pytest.raises(ValueError, match="positive"):
        curve.bin(0)
    with pytest.raises(ValueError, match="positive"):
        curve.bin("week")
    with pytest.raises(ValueError, match="night bins are in time"):
        curve.fold(PERIOD).bin("night", time="phase")
    bare = LightCurve(curve.data[["hjd", "magnitude", "deviation"]])
    with pytest.raises(ValueError, match="night and observer"):
        bare.bin("night")
    cycle = curve.fold(PERIOD).bin(0.1)
    with pytest.raises(ValueError, match="binned in phase"):
        cycle.periodogram()
    with pytest.raises(ValueError, match="binned in phase"):
        cycle.fold(PERIOD)
    with pytest.raises(ValueError, match="no times to download"):
        cycle.to_csv()


def test_an_empty_curve_bins_to_an_empty_curve():
    curve = two_observers()
    empty = LightCurve(curve.data.iloc[:0], curve.meta)
    assert len(empty.bin("night")) == 0 and len(empty.bin(0.1)) == 0


# --- the demo catalogue ------------------------------------------------------------------


@pytest.fixture
def gk_cep(demo_catalogue):
    with demo_catalogue.connect("reader", autocommit=True) as conn:
        return differential_photometry(conn, GK_CEP, GK_CMP)


@pytest.mark.catalogue
def test_a_binned_archive_curve_downloads_and_converts_with_its_binning(gk_cep):
    binned = gk_cep.bin("night")
    usable = int(np.isfinite(gk_cep.data.magnitude).sum())
    text = binned.to_csv(metadata=True)
    lines = text.splitlines()
    header = lines.index("Exposure middle;Magnitude;Deviation;JD;HJD;BJD_TDB")
    meta = dict(line.split(";", 1) for line in lines[:header])
    assert meta["Catalog ID"] == "UCAC4 805-031770"
    assert meta["Binned"] == "per night and observer"
    assert meta["Bins"] == str(len(binned)) and meta["Images"] == str(usable)
    table = pd.read_csv(io.StringIO(text), sep=";", skiprows=header)
    assert len(table) == len(binned) < usable
    np.testing.assert_allclose(table.HJD, binned.data.hjd, atol=5e-7)
    np.testing.assert_allclose(table.Magnitude, binned.data.magnitude, atol=5e-5)
    converted = binned.to_table()
    assert len(converted) == len(binned) and converted.meta["binned"] == "per night and observer"
    assert list(converted["night"]) == [n.isoformat() for n in binned.data.night]
    # Folded on GK Cep's period, the nights keep their observers and their images.
    folded = binned.fold(0.936, epoch=2459525.3)
    assert folded.data.n.sum() == usable and set(folded.data.observer) == set(gk_cep.data.observer)
