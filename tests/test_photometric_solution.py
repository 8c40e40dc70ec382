"""The photometric solution's fit: the true zero point and colour term are inside its error bars
as often as they say, over many noisy fields with variables, blends and missing colours."""

from __future__ import annotations

import numpy as np
import pytest

from aphos_lib.photometric_solution import (
    MIN_STARS,
    fit_solution,
    instrumental_magnitudes,
)

TRIALS = 400


def _field(rng: np.random.Generator, *, n: int = 600, deviations: bool = True):
    """A simulated image: catalogue V and B-V, instrumental magnitudes through a zero point and
    colour term, the photon noise growing to the faint end, 3% variables and blends far off."""
    v = rng.uniform(8.5, 14.5, n)
    bv = rng.normal(0.8, 0.35, n)
    zp, term = rng.uniform(18.0, 22.0), rng.uniform(-0.15, 0.15)
    noise = 0.004 + 0.02 * 10 ** (0.4 * (v - 13.0))  # mag
    cat_error = rng.normal(0.0, 0.03, n)  # the catalogue's own error
    inst = v + cat_error - zp - term * (bv - 0.8) + rng.normal(0.0, 1.0, n) * noise
    odd = rng.random(n) < 0.03
    inst[odd] += rng.choice([-1, 1], odd.sum()) * rng.uniform(0.2, 1.5, odd.sum())
    bv[rng.random(n) < 0.1] = np.nan  # no colour in the catalogue
    err = noise if deviations else np.full(n, np.nan)
    return v, inst, err, bv, zp, term


@pytest.mark.parametrize("deviations", [True, False])
def test_the_true_zero_point_and_colour_term_are_covered_as_often_as_the_errors_say(deviations):
    rng = np.random.default_rng(20261207)
    inside_zp = inside_term = 0
    for _ in range(TRIALS):
        v, inst, err, bv, zp, term = _field(rng, deviations=deviations)
        s = fit_solution(v, inst, err, bv)
        at_ref = zp + term * (s.colour_ref - 0.8)  # the truth at the fit's reference colour
        inside_zp += abs(s.zero_point - at_ref) <= 2 * s.zero_point_err
        inside_term += abs(s.colour_term - term) <= 2 * s.colour_term_err
        assert abs(s.zero_point - at_ref) < 0.01 and abs(s.colour_term - term) < 0.02
        assert s.n_clipped > 0  # variables and blends far off were left out
    # 2-sigma intervals hold the truth 95% of the time: between 90% and 99.5% of 400 trials.
    assert 0.90 <= inside_zp / TRIALS <= 0.995, inside_zp
    assert 0.90 <= inside_term / TRIALS <= 0.995, inside_term


def test_calibrated_magnitudes_of_constant_stars_scatter_as_their_errors():
    rng = np.random.default_rng(5)
    pulls = []
    for _ in range(50):
        v, inst, err, bv, _, _ = _field(rng)
        s = fit_solution(v, inst, err, bv)
        mag, mag_err = s.calibrate(inst, err, bv)
        constant = np.abs(mag - v) < 0.15  # the variables aside
        # The catalogue's own 0.03 mag is part of the difference to the catalogue value.
        pulls.append((mag - v)[constant] / np.hypot(mag_err, 0.03)[constant])
    pulls = np.concatenate(pulls)
    assert abs(np.median(pulls)) < 0.05
    assert 0.9 < np.std(pulls) < 1.1


def test_narrow_colours_fit_the_zero_point_alone_and_too_few_stars_give_none():
    rng = np.random.default_rng(3)
    v, inst, err, _, zp, _ = _field(rng)
    s = fit_solution(v, inst, err, np.full(v.size, 0.6))  # every star the same colour
    assert s.colour_term is None and s.colour_ref is None and s.covariance == 0
    assert abs(s.zero_point - zp) < 0.02
    assert fit_solution(v[: MIN_STARS - 1], inst[: MIN_STARS - 1]) is None
    # Saturated rows never enter.
    usable = np.ones(v.size, dtype=bool)
    usable[: v.size - 3] = False
    assert fit_solution(v, inst, err, usable=usable) is None


def test_instrumental_magnitudes_of_fluxes_that_are_not_positive_are_nan():
    mag, err = instrumental_magnitudes([0.0, -1.0, 10.0], [1.0, 1.0, 1.0])
    assert np.isnan(mag[:2]).all() and np.isnan(err[:2]).all()
    assert mag[2] == pytest.approx(-2.5) and err[2] == pytest.approx(0.10857, rel=1e-4)
