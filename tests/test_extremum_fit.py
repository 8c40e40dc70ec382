"""Times of one extremum (aphos_lib.extremum_fit): exact on clean curves, honest errors on noisy.

The truth is the model's own extremum; the noisy tests draw many independent curves and count
how often the true time lies within 3 (and 1) reported errors, the coverage a reader of a
minima database relies on.
"""

import numpy as np
import pytest

from aphos_lib.demo.variables import eclipsing_magnitude, rrab_magnitude
from aphos_lib.extremum_fit import (
    SegmentError,
    kwee_van_woerden,
    polynomial_extremum,
    symmetric_polynomial,
)

TRIALS = 500


def _eclipse(t, centre, depth=0.3, sigma=0.03):
    return 10.0 + depth * np.exp(-0.5 * ((t - centre) / sigma) ** 2)


def _uneven(rng, n, half):
    """Times drawn at random over [-half, half]: uneven, with close pairs and gaps."""
    return np.sort(rng.uniform(-half, half, n))


@pytest.mark.parametrize("method", [kwee_van_woerden, symmetric_polynomial])
def test_a_noise_free_symmetric_eclipse_sampled_unevenly_is_timed_to_1e_5_d(method):
    rng = np.random.default_rng(7)
    worst = 0.0
    for _ in range(40):
        truth = 2459525.3 + rng.uniform(-0.004, 0.004)
        t = truth + _uneven(rng, int(rng.integers(40, 120)), 0.09)
        # Two shapes: a Gaussian eclipse and a flatter, eclipse-like even polynomial dip.
        m = (
            _eclipse(t, truth)
            if rng.random() < 0.5
            else 10.0 + 0.25 * np.cos(np.clip((t - truth) / 0.1, -1, 1) * np.pi / 2) ** 2
        )
        worst = max(worst, abs(method(t, m).time - truth))
    print(f"{method.__name__}: worst error on 40 clean eclipses {worst:.2e} d")
    assert worst < 1e-5


def _coverage(method, make_curve, seed, **kwargs):
    rng = np.random.default_rng(seed)
    within1 = within3 = 0
    ratios = []
    for _ in range(TRIALS):
        t, m, truth = make_curve(rng)
        result = method(t, m, **kwargs)
        z = abs(result.time - truth) / result.error_d
        ratios.append(z)
        within1 += z <= 1
        within3 += z <= 3
    return within1 / TRIALS, within3 / TRIALS, float(np.median(ratios))


def _noisy_eclipse(rng):
    truth = 2459600.5 + rng.uniform(-0.01, 0.01)
    t = truth + _uneven(rng, int(rng.integers(30, 90)), 0.08)
    m = _eclipse(t, truth) + rng.normal(0, 0.015, len(t))
    return t, m, truth


@pytest.mark.parametrize("method", [kwee_van_woerden, symmetric_polynomial])
def test_the_true_minimum_lies_within_3_errors_in_95_percent_of_500_noisy_eclipses(method):
    one, three, median_z = _coverage(method, _noisy_eclipse, seed=11)
    print(
        f"{method.__name__}: true time within 1 error {one:.1%}, within 3 errors {three:.1%}, "
        f"median |error|/reported {median_z:.2f} (0.67 for honest errors)"
    )
    assert three >= 0.95
    # Errors that are honest, not merely generous: about 68% within one error.
    assert 0.55 <= one <= 0.85


def test_the_two_methods_agree_within_their_errors():
    rng = np.random.default_rng(5)
    agree = 0
    for _ in range(TRIALS):
        t, m, _ = _noisy_eclipse(rng)
        a, b = kwee_van_woerden(t, m), symmetric_polynomial(t, m)
        agree += abs(a.time - b.time) <= 3 * np.hypot(a.error_d, b.error_d)
    print(
        f"KvW and the symmetric polynomial agree within 3 combined errors in {agree / TRIALS:.1%}"
    )
    assert agree / TRIALS >= 0.95


def test_an_rr_lyrae_maximum_is_timed_by_the_polynomial_with_honest_errors():
    period = 0.5665
    params = dict(mag_max=10.15, amplitude=0.8, period_d=period, epoch_hjd=0.0)
    grid = np.linspace(-0.2, 0.2, 400001) * period
    truth0 = grid[np.argmin(rrab_magnitude(grid, **params))]  # the model's own maximum

    def curve(rng):
        shift = rng.uniform(-0.005, 0.005)
        t = np.sort(rng.uniform(-0.08, 0.08, int(rng.integers(30, 80)))) * period + shift
        m = rrab_magnitude(t - shift, **params) + rng.normal(0, 0.01, len(t))
        return t, m, truth0 + shift

    clean_t = np.linspace(-0.08, 0.08, 60) * period
    clean = polynomial_extremum(clean_t, rrab_magnitude(clean_t, **params))
    print(f"clean RRab maximum: timed {clean.time - truth0:+.2e} d from the model's")
    assert abs(clean.time - truth0) < 2e-4
    one, three, median_z = _coverage(polynomial_extremum, curve, seed=3)
    print(f"RRab maxima: within 1 error {one:.1%}, within 3 errors {three:.1%}")
    assert three >= 0.95


def test_a_segment_without_both_branches_is_refused_with_a_reason():
    t = np.linspace(0, 0.1, 40)
    descending_only = _eclipse(t, 0.2)
    with pytest.raises(SegmentError, match="edge"):
        kwee_van_woerden(t, descending_only)
    with pytest.raises(SegmentError, match="at least 7"):
        symmetric_polynomial(t[:4], descending_only[:4])


def test_the_eclipsing_model_of_the_demo_is_timed_at_its_epoch():
    t = 2459525.3 + np.linspace(-0.09, 0.09, 80)
    m = eclipsing_magnitude(
        t,
        mag_max=8.42,
        period_d=0.936,
        epoch_hjd=2459525.3,
        depth_primary=0.3,
        depth_secondary=0.2,
        eclipse_sigma_phase=0.08,
        ellipsoidal_amplitude=0.04,
    )
    assert abs(kwee_van_woerden(t, m).time - 2459525.3) < 1e-5
    assert abs(symmetric_polynomial(t, m).time - 2459525.3) < 1e-5
