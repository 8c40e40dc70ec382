"""Ephemerides of periodic stars: cycle numbers, O-C and ephemerides fitted to timings.

An ephemeris predicts the times of one kind of event (the primary minima of an eclipsing
binary, the maxima of a pulsating star): ``T(E) = epoch + period * E (+ quadratic * E^2)``.
Secondary minima fall at half-integer cycles (a circular orbit). :func:`fit_ephemeris` fits
one to observed times by weighted least squares, counting cycles itself, and, given no
period, finds it from the timings alone.

Examples
--------
>>> eph = Ephemeris(epoch=2459525.3, period=0.936)
>>> float(eph.cycle(2459525.3 + 10 * 0.936 + 0.002)), round(float(eph.o_c(2459534.662)), 4)
(10.0, 0.002)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Ephemeris", "EphemerisError", "fit_ephemeris"]


class EphemerisError(ValueError):
    """The timings do not determine an ephemeris (too few, or no consistent period)."""


@dataclass(frozen=True)
class Ephemeris:
    """``T(E) = epoch + period * E + quadratic * E^2``, with the fit's standard errors.

    Attributes
    ----------
    epoch : float
        Time of cycle 0 (days; BJD_TDB for APhoS's timings).
    period : float
        Days.
    quadratic : float
        ``Q`` of a period that changes: ``dP/dE = 2 Q``, ``dP/dt = 2 Q / P``.
    epoch_error, period_error, quadratic_error : float
        Standard errors (NaN for an ephemeris given, not fitted).
    n : int
        Timings fitted (0 for one given).
    chi2_dof : float
        Reduced chi-square of the fit (NaN when given).
    """

    epoch: float
    period: float
    quadratic: float = 0.0
    epoch_error: float = math.nan
    period_error: float = math.nan
    quadratic_error: float = math.nan
    n: int = 0
    chi2_dof: float = math.nan

    def __post_init__(self):
        if not self.period > 0:
            raise EphemerisError(f"period {self.period} must be positive")

    def predict(self, cycle) -> np.ndarray:
        """The predicted times of ``cycle`` (integers for primaries, +0.5 for secondaries)."""
        e = np.asarray(cycle, dtype=float)
        return self.epoch + self.period * e + self.quadratic * e * e

    def cycle(self, time, half: bool = True) -> np.ndarray:
        """The nearest cycle of each time: to 0.5 for eclipsing binaries, else to 1."""
        e = (np.asarray(time, dtype=float) - self.epoch) / self.period
        if self.quadratic:  # one Newton step is ample for any real dP/dt
            e = e - (self.predict(e) - np.asarray(time, dtype=float)) / (
                self.period + 2 * self.quadratic * e
            )
        return np.round(e * 2) / 2 if half else np.round(e)

    def o_c(self, time, cycle=None) -> np.ndarray:
        """Observed minus calculated, in days, at the given (or nearest) cycles."""
        if cycle is None:
            cycle = self.cycle(time)
        return np.asarray(time, dtype=float) - self.predict(cycle)

    @property
    def period_change(self) -> float:
        """``dP/dt`` (days per day, dimensionless) of a quadratic ephemeris."""
        return 2 * self.quadratic / self.period

    def __str__(self) -> str:
        def value(x, err, digits):
            return f"{x:.{digits}f}" + ("" if math.isnan(err) else f" +- {err:.{digits}f}")

        epoch = value(self.epoch, self.epoch_error, 5)
        text = f"{epoch} + {value(self.period, self.period_error, 7)} * E"
        if self.quadratic:
            text += f" + {self.quadratic:.3e} * E^2"
        return text


def _weighted_fit(cycles, times, errors, quadratic: bool):
    """Weighted least squares of the times on the cycles: (params, covariance, chi2)."""
    columns = [np.ones_like(cycles), cycles] + ([cycles**2] if quadratic else [])
    design = np.stack(columns, axis=1)
    w = 1.0 / errors
    params, *_ = np.linalg.lstsq(design * w[:, None], times * w, rcond=None)
    residual = (times - design @ params) * w
    chi2 = float(residual @ residual)
    covariance = np.linalg.inv((design * w[:, None]).T @ (design * w[:, None]))
    return params, covariance, chi2


def _count_cycles(times, errors, kinds, epoch, period, quadratic):
    """Cycle numbers assigned outwards from ``epoch``, refitting as the span grows."""
    order = np.argsort(np.abs(times - epoch))
    half = np.where(kinds == "secondary", 0.5, 0.0)
    params = np.array([epoch, period] + ([0.0] if quadratic else []))
    n = len(times)
    taken = min(n, 3)
    while True:
        chosen = order[:taken]
        e = np.round((times[chosen] - params[0]) / params[1] - half[chosen]) + half[chosen]
        if len(chosen) >= 2 and np.ptp(e) > 0:
            fit_quadratic = quadratic and len(np.unique(e)) >= 4
            fitted, _, _ = _weighted_fit(e, times[chosen], errors[chosen], fit_quadratic)
            params = np.array(list(fitted) + ([0.0] if quadratic and not fit_quadratic else []))
        if taken == n:
            break
        taken = min(n, taken * 2)
    e = (times - params[0]) / params[1]
    if quadratic:
        e = e - (params[0] + params[1] * e + params[2] * e * e - times) / (
            params[1] + 2 * params[2] * e
        )
    return np.round(e - half) + half


def _find_period(times, errors, kinds, min_period):
    """A period from the timings alone, and each timing's type from its cycle's parity.

    Minima of an eclipsing binary come every half period, so the timings are first fitted
    as ``T0 + h n`` with ``n`` whole: trial steps ``h = gap / k`` from the closest two
    distinct timings, each fitted with its cycles counted, the longest that fits as well as
    the best kept (a divisor fits too, by skipping cycles). When the timings typed secondary
    by their depth fall mostly on one parity of ``n``, the period is ``2 h`` and the types
    follow the parity (a minimum mistyped by its depth is put right); otherwise ``h``.
    """
    order = np.sort(times)
    tolerance = max(10 * float(np.max(errors)), 0.01)
    gaps = np.diff(order)
    gaps = gaps[gaps > tolerance]
    if not len(gaps):
        raise EphemerisError("all the timings fall together: no period can be found from them")
    gap = float(gaps.min())
    trials = gap / np.arange(1, max(int(gap / (min_period / 2)), 1) + 1)
    plain = np.full(len(times), "primary")
    epoch = float(times[np.argmin(np.abs(times - np.median(times)))])
    results = []
    for step in trials:
        cycles = _count_cycles(times, errors, plain, epoch, float(step), False)
        if np.ptp(cycles) == 0:
            continue
        params, _, chi2 = _weighted_fit(cycles, times, errors, False)
        results.append((chi2 / max(len(times) - 2, 1), float(params[1]), float(params[0]), cycles))
    if not results:
        raise EphemerisError("the timings span less than one cycle")
    best = min(r[0] for r in results)
    _, step, epoch, cycles = max(
        (r for r in results if r[0] <= 1.5 * best + 1.0), key=lambda r: r[1]
    )
    secondary = kinds == "secondary"
    if not secondary.any() or secondary.all():
        return step, epoch, np.full(len(times), "primary")
    odd = (np.round(cycles) % 2).astype(bool)
    # The parity that holds most of the secondaries is the secondaries'.
    agree = max(np.mean(odd == secondary), np.mean(odd != secondary))
    if agree < 0.75:
        return step, epoch, np.full(len(times), "primary")
    secondary_odd = np.mean(odd == secondary) >= 0.5
    new_kinds = np.where(odd == secondary_odd, "secondary", "primary")
    primaries = times[new_kinds == "primary"]
    epoch = float(primaries[np.argmin(np.abs(primaries - np.median(times)))])
    return 2 * step, epoch, new_kinds


def fit_ephemeris(
    times,
    errors,
    kinds=None,
    *,
    period: float | None = None,
    epoch: float | None = None,
    quadratic: bool = False,
    min_period: float = 0.1,
) -> Ephemeris:
    """An ephemeris fitted to timings by weighted least squares, cycles counted on the way.

    Parameters
    ----------
    times, errors : array_like
        The timings and their standard errors (days).
    kinds : array_like of str, optional
        ``"primary"`` or ``"secondary"`` per timing (secondaries sit at half cycles); all
        primaries when not given.
    period : float, optional
        A first period. Without one it is found from the timings (:func:`_find_period`),
        and the types follow the cycles: an eclipsing binary whose secondaries are not seen,
        or whose minima are equal, gets half its period.
    epoch : float, optional
        Cycle 0; the timing nearest the middle of the span when not given.
    quadratic : bool
        Also fit ``Q E^2`` (a changing period; needs four distinct cycles).
    min_period : float
        The shortest period tried when none is given.

    Returns
    -------
    Ephemeris
        With standard errors scaled up by sqrt(chi2_dof) when the scatter exceeds the
        timings' errors; ``ephemeris.cycle(times)`` gives each timing's cycle.

    Examples
    --------
    >>> true = Ephemeris(2459525.3, 0.936)
    >>> e = np.array([0, 3, 7.5, 40, 41, 90, 311.5])
    >>> eph = fit_ephemeris(true.predict(e), np.full(7, 1e-4),
    ...                     np.where(e % 1, "secondary", "primary"))
    >>> round(eph.period, 6), eph.n
    (0.936, 7)
    """
    times = np.asarray(times, dtype=float)
    errors = np.asarray(errors, dtype=float)
    kinds = np.full(len(times), "primary") if kinds is None else np.asarray(kinds).astype(str)
    usable = np.isfinite(times) & np.isfinite(errors) & (errors > 0)
    times, errors, kinds = times[usable], errors[usable], kinds[usable]
    if len(times) < 2 + quadratic:
        raise EphemerisError(
            f"{len(times)} timings: an ephemeris needs at least {2 + quadratic} with errors"
        )
    if period is None:
        period, found_epoch, kinds = _find_period(times, errors, kinds, min_period)
        epoch = found_epoch if epoch is None else epoch
    if epoch is None:
        primaries = times[kinds != "secondary"] if np.any(kinds != "secondary") else times
        epoch = float(primaries[np.argmin(np.abs(primaries - np.median(times)))])
    results = []
    for trial in [period]:
        cycles = _count_cycles(times, errors, kinds, epoch, trial, quadratic)
        if np.ptp(cycles) == 0:
            continue
        fit_quadratic = quadratic and len(np.unique(cycles)) >= 4
        params, covariance, chi2 = _weighted_fit(cycles, times, errors, fit_quadratic)
        dof = max(len(times) - len(params), 1)
        results.append((trial, params, covariance, chi2 / dof, cycles))
    if not results:
        raise EphemerisError("the timings span less than one cycle")
    _, params, covariance, chi2_dof, _ = results[0]
    scale = math.sqrt(max(chi2_dof, 1.0))
    errors_fit = np.sqrt(np.diag(covariance)) * scale
    return Ephemeris(
        epoch=float(params[0]),
        period=float(params[1]),
        quadratic=float(params[2]) if len(params) > 2 else 0.0,
        epoch_error=float(errors_fit[0]),
        period_error=float(errors_fit[1]),
        quadratic_error=float(errors_fit[2]) if len(params) > 2 else math.nan,
        n=len(times),
        chi2_dof=float(chi2_dof),
    )
