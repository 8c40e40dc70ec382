"""Variability statistics kept incrementally: the same as computed from every point at once."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from aphos_lib.variability import (
    PAIR_DAYS,
    SUMMARY_SIZE,
    empty_states,
    merge_states,
    statistics,
)


def direct(t, m, s) -> dict:
    """Every statistic from all the points of one object, by its definition."""
    order = np.argsort(t, kind="stable")
    t, m, s = t[order], m[order], s[order]
    n = len(m)
    w = 1 / s**2
    mean = np.sum(w * m) / np.sum(w)
    chi2 = np.sum(w * (m - mean) ** 2)
    d = np.sqrt(n / (n - 1)) * (m - mean) / s
    close = np.diff(t) <= PAIR_DAYS
    p = (d[1:] * d[:-1])[close]
    q05, q25, q75, q95 = np.percentile(m, [5, 25, 75, 95], method="hazen")
    return {
        "n": n,
        "mean_mag": mean,
        "std_mag": np.sqrt(chi2 / np.sum(w) * n / (n - 1)),
        "err_rms": np.sqrt(np.mean(s**2)),
        "chi2_dof": chi2 / (n - 1),
        "eta": np.mean(np.diff(m) ** 2) / np.var(m, ddof=1),
        "stetson_j": np.mean(np.sign(p) * np.sqrt(np.abs(p))) if len(p) else np.nan,
        "robust_std": (q75 - q25) / 1.349,
        "amplitude": q95 - q05,
    }


def nights(rng, n_nights: int, per_night: int, start: float = 2460000.3):
    """Times of ``n_nights`` nights of ``per_night`` exposures two minutes apart."""
    return np.concatenate(
        [start + k * 1.7 + np.arange(per_night) * 2 / 1440 for k in range(n_nights)]
    )


def one_object(states_in, t, m, s, batches):
    """Feed one object's points in these batches (index arrays) and return its statistics."""
    states = states_in
    for b in batches:
        order = np.argsort(t[b], kind="stable")
        states = merge_states(states, np.zeros(len(b), int), t[b][order], m[b][order], s[b][order])
    return {k: float(v[0]) for k, v in statistics(states).items()}


EXACT = ("n", "mean_mag", "std_mag", "err_rms", "chi2_dof", "eta")


def test_one_batch_of_many_objects_matches_the_definitions():
    rng = np.random.default_rng(5)
    sizes = [17, 3, 64, 65, 200, 1, 2]  # a small one after others: its quantiles its own
    group = np.repeat(np.arange(len(sizes)), sizes)
    t = np.concatenate([nights(rng, 1, k) for k in sizes])
    s = rng.uniform(0.005, 0.05, len(t))
    m = 11 + group * 0.5 + s * rng.standard_normal(len(t))
    # A variable among them: an eclipse in the 200-point one.
    big = group == 4
    m[big] += 0.4 * np.exp(-(((t[big] - t[big].mean()) / 0.05) ** 2))
    stats = statistics(merge_states(empty_states(len(sizes)), group, t, m, s))
    for g, size in enumerate(sizes):
        if size < 2:
            assert stats["n"][g] == 1 and np.isnan(stats["chi2_dof"][g])
            continue
        want = direct(t[group == g], m[group == g], s[group == g])
        for name in (*EXACT, "stetson_j"):
            assert stats[name][g] == pytest.approx(want[name], rel=1e-9, abs=1e-12), name
        if size <= SUMMARY_SIZE:  # every point kept (as float32: 1e-6 mag at 14 mag)
            for name in ("robust_std", "amplitude"):
                assert stats[name][g] == pytest.approx(want[name], abs=4e-6), name


def test_nights_arriving_in_order_give_the_same_statistics_as_all_at_once():
    rng = np.random.default_rng(11)
    t = nights(rng, 30, 60)
    s = rng.uniform(0.008, 0.03, len(t))
    m = 12.3 + s * rng.standard_normal(len(t))
    night = np.repeat(np.arange(30), 60)
    batches = [np.flatnonzero((night >= k) & (night < k + 3)) for k in range(0, 30, 3)]
    got = one_object(empty_states(1), t, m, s, batches)
    want = direct(t, m, s)
    for name in EXACT:
        assert got[name] == pytest.approx(want[name], rel=1e-9), name
    # J's pairs use the mean when they arrived: the first nights' mean differs from the
    # final one by its error (about 0.01 / sqrt(180) mag here), J by a few hundredths.
    assert got["stetson_j"] == pytest.approx(want["stetson_j"], abs=0.03)
    # 1,800 points in a 64-value summary: quantiles within a few percent of rank.
    assert got["robust_std"] == pytest.approx(want["robust_std"], rel=0.04)
    assert got["amplitude"] == pytest.approx(want["amplitude"], rel=0.04)


def test_a_late_night_keeps_every_sum_exact_and_eta_close():
    rng = np.random.default_rng(3)
    t = nights(rng, 10, 40)
    s = np.full(len(t), 0.01)
    m = 10 + 0.2 * np.sin(2 * np.pi * t / 0.3) + s * rng.standard_normal(len(t))
    night = np.repeat(np.arange(10), 40)
    # Night 4 is uploaded last: its points come before the stored latest point.
    batches = [np.flatnonzero(night == k) for k in (0, 1, 2, 3, 5, 6, 7, 8, 9, 4)]
    got = one_object(empty_states(1), t, m, s, batches)
    want = direct(t, m, s)
    for name in ("n", "mean_mag", "std_mag", "err_rms", "chi2_dof"):
        assert got[name] == pytest.approx(want[name], rel=1e-9), name
    # Eta: the late night's own differences count, its joins to nights 3 and 5 do not (night
    # 3 joins night 5 instead): exactly the mean square of those differences.
    by_night = [m[night == k] for k in range(10)]
    squares = [np.diff(points) ** 2 for points in by_night]
    arrived = [0, 1, 2, 3, 5, 6, 7, 8, 9]
    squares += [[(by_night[b][0] - by_night[a][-1]) ** 2] for a, b in itertools.pairwise(arrived)]
    expected = np.mean(np.concatenate(squares)) / np.var(m, ddof=1)
    assert got["eta"] == pytest.approx(expected, rel=1e-9)
    assert got["eta"] != pytest.approx(want["eta"], rel=0.05)  # the join matters here


@pytest.mark.parametrize("seed", range(20))
def test_summary_quantiles_track_the_points_over_many_batches(seed):
    """Coverage: over 20 stars of 2,000 points in 40 batches, the summary's robust scatter and
    amplitude stay within 5% of the exact ones."""
    rng = np.random.default_rng(seed)
    n = 2000
    t = np.sort(rng.uniform(0, 400, n))
    s = np.full(n, 0.02)
    m = 14 + s * rng.standard_normal(n)
    got = one_object(empty_states(1), t, m, s, np.array_split(np.arange(n), 40))
    want = direct(t, m, s)
    assert got["robust_std"] == pytest.approx(want["robust_std"], rel=0.05)
    assert got["amplitude"] == pytest.approx(want["amplitude"], rel=0.05)
