"""Period search beside Lomb-Scargle: PDM, BLS and nifty-ls (aphos_lib.period_search).

Estimator tests over many noisy trials of the demo's eclipsing-binary model, observed from
one site: nights at random (half of them clear), each a session of 2-7 hours at a 7-17
minute cadence, over a season of months. A period is recovered when the best frequency is
within one step of the trial grid (1 / (10 * span)) of the truth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aphos_lib import period_search
from aphos_lib.demo.variables import eclipsing_magnitude
from aphos_lib.lightcurve import LightCurve

START = 2459500.0


def season(rng, nights: int) -> np.ndarray:
    """Times of one observer's season: clear nights at random, sessions of 2-7 hours."""
    times = []
    for night in range(nights):
        if rng.random() < 0.5:
            continue  # clouds
        start = night + 0.3 + rng.uniform(0, 0.15)
        length = rng.uniform(0.08, 0.3)
        count = max(3, int(length / rng.uniform(0.005, 0.012)))
        times.append(start + np.sort(rng.uniform(0, length, count)))
    return START + np.concatenate(times)


def gk_cep_like(t, period, rng):
    """Beta Lyr-like minima of 0.3 and 0.2 mag (the demo's GK Cep), 0.015 mag noise."""
    return eclipsing_magnitude(
        t, mag_max=8.42, period_d=period, epoch_hjd=START + rng.uniform(0, period),
        depth_primary=0.30, depth_secondary=0.20, eclipse_sigma_phase=0.08,
        ellipsoidal_amplitude=0.04,
    ) + rng.normal(0, 0.015, len(t))  # fmt: skip


def ek_cep_like(t, period, rng):
    """An Algol: a narrow 0.65 mag primary, 0.08 mag secondary (the demo's EK Cep)."""
    return eclipsing_magnitude(
        t, mag_max=8.70, period_d=period, epoch_hjd=START + rng.uniform(0, period),
        depth_primary=0.65, depth_secondary=0.08, eclipse_sigma_phase=0.012,
    ) + rng.normal(0, 0.015, len(t))  # fmt: skip


def recovered(found, period: float) -> bool:
    return abs(1 / found.best_period - 1 / period) <= found.frequency[1] - found.frequency[0]


def test_pdm_recovers_a_beta_lyrae_binary_in_95_percent_of_trials():
    # Lomb-Scargle's strongest peak is half this orbit; PDM's minimum is the orbit itself.
    rng = np.random.default_rng(11)
    trials, hits = 100, 0
    for _ in range(trials):
        t = season(rng, 120)
        period = rng.uniform(0.4, 2.5)
        found = period_search.search(
            t, gk_cep_like(t, period, rng), method="pdm", min_period=0.25, max_period=8
        )
        hits += recovered(found, period)
    print(f"PDM recovered {hits}/{trials} beta Lyr-like periods within the grid step")
    assert hits / trials >= 0.95


def test_bls_recovers_an_algol_in_85_percent_of_trials():
    # Short of the 95% PDM reaches (measured 53/60 with this seed, 5 of the 7 misses half
    # the orbit): a box at half the period holds the primary and the few points seen at the
    # shallow secondary, which lower its likelihood too little to beat the noise.
    rng = np.random.default_rng(12)
    trials, hits, halves = 60, 0, 0
    for _ in range(trials):
        t = season(rng, 180)
        period = rng.uniform(1.5, 5.0)
        found = period_search.search(
            t, ek_cep_like(t, period, rng), None, method="bls", min_period=0.25, max_period=8
        )
        hits += recovered(found, period)
        halves += abs(found.best_period * 2 / period - 1) < 0.01
    print(f"BLS recovered {hits}/{trials} Algol periods within the grid step, {halves} halves")
    assert hits / trials >= 0.85


def brute_theta(t, y, frequency, bins, covers):
    """Stellingwerf's theta written out bin by bin, the oracle for the vectorised one."""
    out = []
    for f in frequency:
        phase = np.mod(t * f, 1)
        pooled, dof = 0.0, 0
        for cover in range(covers):
            shifted = np.mod(phase - cover / (bins * covers), 1)
            for j in range(bins):
                inside = y[(shifted >= j / bins) & (shifted < (j + 1) / bins)]
                if len(inside) > 1:
                    pooled += ((inside - inside.mean()) ** 2).sum()
                    dof += len(inside) - 1
        out.append((pooled / dof) / np.var(y, ddof=1))
    return np.array(out)


@pytest.mark.parametrize("bins, covers", [(10, 1), (10, 2), (7, 3)])
def test_pdm_theta_is_stellingwerfs(bins, covers):
    rng = np.random.default_rng(3)
    t = np.sort(rng.uniform(0, 50, 300))
    y = np.sin(2 * np.pi * t / 1.3) + rng.normal(0, 0.2, 300)
    frequency = np.linspace(0.1, 3, 37)
    fast = period_search.pdm_theta(START + t, y, frequency, bins=bins, covers=covers)
    slow = brute_theta(t - t.min(), y, frequency, bins, covers)  # phase 0 at the first time
    # Points exactly on a bin edge may fall either side; with random times none do.
    np.testing.assert_allclose(fast, slow, rtol=1e-9)


def curve(t, y, dy=0.015):
    return LightCurve(pd.DataFrame({"hjd": t, "magnitude": y, "deviation": dy}))


def test_nifty_ls_gives_astropys_power_on_the_same_grid():
    pytest.importorskip("nifty_ls", reason="nifty-ls is not installed (pip install aphos[fast])")
    from astropy.timeseries import LombScargle

    rng = np.random.default_rng(4)
    t = season(rng, 120)
    y = gk_cep_like(t, 0.936, rng)
    dy = np.full(len(t), 0.015)
    for nterms, exact, nifty in [(1, "cython", "fastnifty"), (2, "chi2", "fastnifty_chi2")]:
        ls = LombScargle(t, y, dy, nterms=nterms)
        frequency = ls.autofrequency(
            minimum_frequency=1 / 8, maximum_frequency=1 / 0.25, samples_per_peak=10
        )
        reference = ls.power(frequency, method=exact)
        fast = ls.power(frequency, method="fast" if nterms == 1 else "fastchi2")
        niftys = ls.power(frequency, method=nifty, assume_regular_frequency=True)
        scale = reference.max()
        print(
            f"nterms={nterms}: max |nifty - exact| / max power "
            f"{np.abs(niftys - reference).max() / scale:.1e}, astropy fast "
            f"{np.abs(fast - reference).max() / scale:.1e}"
        )
        np.testing.assert_allclose(niftys, reference, rtol=1e-6, atol=1e-6 * scale)
    # Through the light curve: the same grid and the same refined best period.
    c = curve(t, y)
    default, through = c.periodogram(max_period=8), c.periodogram(max_period=8, method="nifty")
    assert through.method == "nifty"
    np.testing.assert_array_equal(through.frequency, default.frequency)
    assert through.best_period == pytest.approx(default.best_period, rel=1e-9)


def test_nifty_falls_back_to_astropys_fast_method(monkeypatch):
    rng = np.random.default_rng(5)
    t = season(rng, 60)
    c = curve(t, gk_cep_like(t, 0.936, rng))
    monkeypatch.setattr(period_search, "nifty_available", lambda: False)
    fallback, default = c.periodogram(method="nifty"), c.periodogram()
    assert fallback.method == default.method == "lombscargle"
    np.testing.assert_array_equal(fallback.power, default.power)
    assert fallback.best_period == default.best_period


def test_pdm_and_bls_periodograms_plot_with_their_own_titles():
    rng = np.random.default_rng(6)
    t = season(rng, 60)
    c = curve(t, ek_cep_like(t, 2.2, rng))
    pdm = c.periodogram(max_period=5, method="pdm")
    assert pdm.best_power <= np.nanmin(pdm.power)  # refined: the grid's minimum or lower
    assert np.isnan(pdm.false_alarm_probability)
    ax = pdm.plot(mark=pdm.best_period)
    assert ax.get_title().startswith("Phase dispersion") and ax.get_ylabel() == "theta"
    bls = c.periodogram(max_period=5, method="bls")
    assert bls.plot().get_title() == "Box least squares"
    assert bls.to_pandas().columns.tolist() == ["frequency_per_day", "period_d", "power"]


def test_an_unknown_method_is_refused():
    t = START + np.arange(10.0)
    with pytest.raises(ValueError, match="not one of"):
        curve(t, np.sin(t)).periodogram(method="wavelet")
