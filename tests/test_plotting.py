"""curve.plot(), curve.plot_phase() and periodogram.plot(): what the figures hold.

The methods are drawn by aphos_lib.plotting's functions; these tests read the rendered axes
back: how many points, against what, labelled how, magnitudes growing downwards.
"""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_rgba
from test_lightcurve_binning import EPOCH, PERIOD, two_observers

from aphos_lib import plotting
from aphos_lib.lightcurve import LightCurve

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def points(ax) -> tuple[np.ndarray, np.ndarray]:
    """Every plotted point (the errorbar series' markers), x and y."""
    lines = [container.lines[0] for container in ax.containers]
    return (
        np.concatenate([line.get_xdata() for line in lines]),
        np.concatenate([line.get_ydata() for line in lines]),
    )


def legend(ax) -> list[str]:
    return [text.get_text() for text in ax.get_legend().get_texts()]


@pytest.fixture
def curve() -> LightCurve:
    curve = two_observers()
    curve.data.loc[[3, 10], "magnitude"] = np.nan  # no magnitude (saturated): not drawn
    return curve


def test_plot_draws_every_magnitude_against_time_downwards(curve):
    ax = curve.plot()
    x, y = points(ax)
    usable = curve.data[np.isfinite(curve.data.magnitude)]
    assert len(x) == len(usable) == len(curve) - 2
    assert sorted(x) == sorted(usable.hjd) and sorted(y) == sorted(usable.magnitude)
    assert ax.get_xlabel() == "HJD" and ax.get_ylabel() == "differential magnitude"
    assert ax.yaxis_inverted() and legend(ax) == ["ann", "bob"]
    assert ax.get_title() == "light curve"
    jd = curve.plot(time="jd", by=None)
    assert jd.get_xlabel() == "JD" and sorted(points(jd)[0]) == sorted(usable.jd)
    assert len(jd.containers) == 1 and jd.get_legend() is None


def test_plot_is_plotting_plot_lightcurve(curve):
    mine, theirs = curve.plot(), plotting.plot_lightcurve(curve)
    for a, b in zip(points(mine), points(theirs), strict=True):
        np.testing.assert_array_equal(a, b)
    assert legend(mine) == legend(theirs) and mine.get_title() == theirs.get_title()


def test_plot_draws_on_the_given_axes_with_the_given_style(curve):
    _, given = plt.subplots()
    ax = curve.plot(ax=given, by=None, color="black", markersize=7, label="GK Cep")
    assert ax is given and len(ax.containers) == 1
    line = ax.containers[0].lines[0]
    assert to_rgba(line.get_color()) == to_rgba("black") and line.get_markersize() == 7
    assert legend(ax) == ["GK Cep"]
    # A second curve on the same axes: both there, the magnitude axis still downwards.
    curve.bin("night").plot(ax=ax, label="nightly")
    assert len(ax.containers) == 3 and ax.yaxis_inverted()
    assert legend(ax) == ["GK Cep", "nightly (ann)", "nightly (bob)"]


def test_plot_phase_folds_on_a_period_or_draws_a_folded_curve(curve):
    ax = curve.plot_phase(PERIOD, epoch=EPOCH, cycles=3)
    x, _ = points(ax)
    usable = curve.data[np.isfinite(curve.data.magnitude)]
    assert len(x) == 3 * len(usable)  # each image once a cycle
    phase = np.mod((usable.hjd.to_numpy() - EPOCH) / PERIOD, 1.0)
    np.testing.assert_allclose(np.sort(x), np.sort(np.concatenate([phase + k for k in range(3)])))
    assert ax.get_xlim() == (0, 3) and ax.get_xlabel() == "phase" and ax.yaxis_inverted()
    assert ax.get_title() == "light curve, P = 0.70000 d" and legend(ax) == ["ann", "bob"]
    folded = curve.fold(PERIOD, epoch=EPOCH).plot_phase()
    np.testing.assert_allclose(np.sort(points(folded)[0]), np.sort([*phase, *(phase + 1)]))
    theirs = plotting.plot_phase(curve.fold(PERIOD, epoch=EPOCH))
    np.testing.assert_array_equal(points(folded)[1], points(theirs)[1])
    with pytest.raises(ValueError, match="folded"):
        curve.plot_phase()


def test_binned_curves_plot_their_bins(curve):
    nightly = curve.bin("night")
    x, y = points(nightly.plot())
    assert len(x) == len(nightly) == 8
    np.testing.assert_allclose(np.sort(y), np.sort(nightly.data.magnitude))
    cycle = curve.fold(PERIOD, epoch=EPOCH).bin(0.05)
    ax = cycle.plot_phase(color="red")
    x, _ = points(ax)
    assert len(x) == 2 * len(cycle) == 40 and ax.get_legend() is None  # one series: no legend
    with pytest.raises(ValueError, match="no 'hjd' column"):
        cycle.plot()


def test_periodogram_plot_draws_the_power_and_marks_periods(curve):
    periodogram = curve.periodogram(max_period=2)
    ax = periodogram.plot(mark=[periodogram.best_period, 2 * periodogram.best_period])
    power = ax.lines[0]
    assert len(power.get_xdata()) == len(periodogram.frequency)
    np.testing.assert_allclose(np.sort(power.get_xdata()), np.sort(periodogram.period))
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "period (d)"
    assert [line.get_xdata()[0] for line in ax.lines[1:]] == pytest.approx(
        [periodogram.best_period, 2 * periodogram.best_period]
    )
    assert periodogram.best_period == pytest.approx(PERIOD, rel=0.02)
    _, given = plt.subplots()
    styled = periodogram.plot(ax=given, color="green", linewidth=2, label="ann and bob")
    assert styled is given and styled.lines[0].get_linewidth() == 2
    assert to_rgba(styled.lines[0].get_color()) == to_rgba("green")
    assert legend(styled) == ["ann and bob"]
