"""Period search on arrays: Lomb-Scargle, phase dispersion minimisation, box least squares.

Each method scores a grid of trial frequencies and returns a :class:`PeriodSearch`: the grid,
the score (``power``), the best period refined on a grid 100 times finer around the best
trial, and the method's name. :meth:`aphos_lib.LightCurve.periodogram` wraps them
(``method="lombscargle" | "nifty" | "pdm" | "bls"``); here they work on plain numpy arrays.

- ``lombscargle``: astropy's ``LombScargle``, its fast (Press & Rybicki) method on the grid.
- ``nifty``: the same periodogram through nifty-ls (a non-uniform FFT, accurate to ~1e-9),
  when it is installed (``pip install 'aphos[fast]'``); astropy's fast method otherwise.
- ``pdm``: Stellingwerf's (1978) phase dispersion minimisation, the binned theta statistic
  (pooled variance within phase bins over the total variance). Lower is better: the best
  period is the smallest theta. It finds the true period of an eclipsing binary with unequal
  minima, where Lomb-Scargle's strongest peak is half of it.
- ``bls``: astropy's ``BoxLeastSquares`` on the magnitudes turned upside down (eclipses are
  dips), with eclipse durations of 1.5% to 20% of the period, as eclipsing binaries have.
  It finds the period of the deeper eclipse: for two similar minima, half the orbit.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import numpy as np

__all__ = [
    "METHODS",
    "PeriodSearch",
    "bls_power",
    "frequency_grid",
    "lomb_scargle",
    "nifty_available",
    "pdm_theta",
    "search",
]

METHODS = ("lombscargle", "nifty", "pdm", "bls")
# Eclipse durations BLS tries, as fractions of the period: from a narrow Algol minimum
# (EK Cep's lasts ~3% of its orbit) to a broad beta Lyr-like one.
BLS_DURATIONS = (0.015, 0.025, 0.04, 0.06, 0.09, 0.13, 0.2)
# Elements (trial frequencies x points) per vectorised PDM step: 2 MB arrays stay in cache.
_PDM_CHUNK = 1 << 18


@dataclass
class PeriodSearch:
    """Scores of trial frequencies and the best period, from one method.

    ``power`` is Lomb-Scargle power, PDM's theta (lower is better) or BLS's log likelihood;
    ``best_period`` (days) is refined on a grid 100 times finer around the best trial.
    """

    frequency: np.ndarray  # 1/day
    power: np.ndarray
    best_period: float
    best_power: float
    method: str
    nterms: int = 1

    @property
    def period(self) -> np.ndarray:
        """The grid as periods (days)."""
        return 1.0 / self.frequency

    def plot(self, ax=None, *, mark=None, **style):
        """Score against period, drawn by :func:`aphos_lib.plotting.plot_periodogram`."""
        from aphos_lib.plotting import plot_periodogram

        return plot_periodogram(self, ax=ax, mark=mark, **style)


def nifty_available() -> bool:
    """Whether nifty-ls is installed (then ``method="nifty"`` uses it)."""
    return importlib.util.find_spec("nifty_ls") is not None


def frequency_grid(
    t, min_period: float, max_period: float, samples_per_peak: float = 10
) -> np.ndarray:
    """A regular grid from ``1/max_period`` to ``1/min_period``, astropy's spacing.

    The step is ``1 / (samples_per_peak * span)`` and the count rounded, as astropy's
    ``LombScargle.autofrequency`` makes them.

    Examples
    --------
    >>> f = frequency_grid([0.0, 10.0], min_period=0.5, max_period=5, samples_per_peak=10)
    >>> round(float(f[0]), 3), round(float(f[1] - f[0]), 3), round(float(f[-1]), 3)
    (0.2, 0.01, 2.0)
    """
    t = np.asarray(t, dtype=float)
    step = 1.0 / (samples_per_peak * float(np.ptp(t)))
    count = max(1 + int(np.round((1 / min_period - 1 / max_period) / step)), 2)
    return 1 / max_period + step * np.arange(count)


def pdm_theta(t, y, frequency, bins: int = 20, covers: int = 2) -> np.ndarray:
    """Stellingwerf's theta at each trial frequency: binned phase dispersion.

    The phases are cut into ``bins`` equal bins, ``covers`` times over with each cover
    shifted by ``1 / (bins * covers)``; theta is the
    pooled variance within the bins, ``sum((n_j - 1) s_j**2) / (sum(n_j) - M)``, over the
    variance of all points. Near 1 for no period, small at the true one.

    Parameters
    ----------
    t, y : array_like
        Times (days) and magnitudes, finite.
    frequency : array_like
        Trial frequencies (1/day).
    bins, covers : int
        Phase bins per cover and the number of covers. Stellingwerf's (10, 2) finds half
        the orbit of a beta Lyr binary (the steep eclipse branches within a bin scatter more
        than two overlaid minima); 20 bins find the orbit (see tests/test_periods.py).

    Returns
    -------
    numpy.ndarray
        Theta, one per frequency.

    Examples
    --------
    >>> t = np.sort(np.random.default_rng(0).uniform(0, 50, 400))
    >>> y = np.sin(2 * np.pi * t / 0.9)
    >>> theta = pdm_theta(t, y, [1 / 0.9, 1 / 0.7])
    >>> bool(theta[0] < 0.05 < 0.9 < theta[1])
    True
    """
    t = np.asarray(t, dtype=float)
    y = np.asarray(y, dtype=float)
    frequency = np.asarray(frequency, dtype=float)
    n = len(t)
    if n < 2 or bins < 2 or covers < 1:
        raise ValueError("PDM needs at least 2 points, 2 bins and 1 cover")
    t = t - t.min()  # phases from small numbers: no precision lost to the JD's 2.4 million
    y = y - y.mean()
    total = float(y @ y)
    if total == 0:
        return np.ones(len(frequency))
    fine = bins * covers  # narrow bins; a cover's bin is `covers` neighbouring narrow bins
    theta = np.empty(len(frequency))
    rows = max(1, _PDM_CHUNK // n)
    x = np.empty((rows, n))
    whole = np.empty((rows, n))
    index = np.empty((rows, n), dtype=np.intp)
    offset = (np.arange(rows) * fine)[:, None]
    weights = np.tile(y, rows)
    for start in range(0, len(frequency), rows):
        f = frequency[start : start + rows]
        m = len(f)
        xm, wm, im = x[:m], whole[:m], index[:m]
        np.multiply.outer(f, t, out=xm)
        np.floor(xm, out=wm)
        np.subtract(xm, wm, out=xm)  # phase in [0, 1)
        xm *= fine
        np.copyto(im, xm, casting="unsafe")
        np.minimum(im, fine - 1, out=im)  # a phase of 1 - 1e-17 times fine rounds to fine
        im += offset[:m]
        flat = im.ravel()
        count = np.bincount(flat, minlength=m * fine).reshape(m, fine).astype(float)
        sums = np.bincount(flat, weights=weights[: m * n], minlength=m * fine).reshape(m, fine)
        if covers > 1:
            count = sum(np.roll(count, -k, axis=1) for k in range(covers))
            sums = sum(np.roll(sums, -k, axis=1) for k in range(covers))
        occupied = count > 0
        between = np.divide(sums**2, count, out=np.zeros_like(sums), where=occupied).sum(axis=1)
        # Each point is in `covers` bins: the within-bin sum of squares over all of them.
        within = covers * total - between
        dof = covers * n - occupied.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            theta[start : start + m] = np.where(dof > 0, (within / dof) / (total / (n - 1)), np.nan)
    return theta


def bls_power(t, y, dy=None, frequency=None, durations=BLS_DURATIONS) -> np.ndarray:
    """Box least squares log likelihood at each trial frequency (astropy), for eclipses.

    ``y`` are magnitudes: BLS looks for dips, so it is given ``-y``. astropy tries the same
    durations (days) at every period and needs them shorter than the shortest; here the
    grid is cut into octaves of period, each tried with ``durations`` times its shortest
    period, so an eclipse lasts 1.5% to 20% of the orbit (by default) at every period.

    Examples
    --------
    >>> t = np.sort(np.random.default_rng(1).uniform(0, 60, 600))
    >>> y = 0.5 * (np.mod(t / 2.3, 1) < 0.05)  # 0.5 mag eclipses, 5% of a 2.3 d orbit
    >>> f = np.array([1 / 2.3, 1 / 1.9])
    >>> power = bls_power(t, y, None, f)
    >>> bool(power[0] > 10 * power[1])
    True
    """
    from astropy.timeseries import BoxLeastSquares

    t = np.asarray(t, dtype=float)
    y = np.asarray(y, dtype=float)
    frequency = np.asarray(frequency, dtype=float)
    model = BoxLeastSquares(t - t.min(), -(y - np.median(y)), dy)
    period = 1.0 / frequency
    power = np.empty(len(frequency))
    octave = np.floor(np.log2(period / period.min())).astype(int)
    for k in np.unique(octave):
        chosen = octave == k
        shortest = float(period[chosen].min())
        result = model.power(
            period[chosen], np.asarray(durations) * shortest, objective="likelihood"
        )
        power[chosen] = np.nan_to_num(np.asarray(result.power, dtype=float), nan=0.0)
    return power


def _refine(score, frequency: np.ndarray, best: int, lower_is_better: bool, span: float):
    """The best frequency on a grid 100 times finer within one step of the best trial."""
    step = frequency[1] - frequency[0] if len(frequency) > 1 else 1 / span
    fine = np.linspace(frequency[best] - step, frequency[best] + step, 201)
    fine = fine[fine > 0]
    values = score(fine)
    pick = int(np.nanargmin(values) if lower_is_better else np.nanargmax(values))
    return float(fine[pick]), float(values[pick])


def lomb_scargle(
    t,
    y,
    dy=None,
    *,
    min_period: float,
    max_period: float,
    samples_per_peak: float = 10,
    nterms: int = 1,
    nifty: bool = False,
):
    """Lomb-Scargle (astropy) on astropy's grid, refined around the peak, with its FAP.

    With ``nifty`` and nifty-ls installed, the grid is computed by nifty-ls (astropy's
    ``method="fastnifty"``, which importing nifty_ls registers); otherwise by astropy's fast
    method. The refinement and the false alarm probability (Baluev, single-term model only)
    are astropy's exact ones either way.

    Returns
    -------
    (PeriodSearch, float)
        The search and the false alarm probability of its best peak (NaN for nterms > 1).
    """
    from astropy.timeseries import LombScargle

    t = np.asarray(t, dtype=float)
    method, name = "auto", "lombscargle"
    if nifty and nifty_available():
        import nifty_ls  # noqa: F401  (registers fastnifty with astropy)

        method = "fastnifty" if nterms == 1 else "fastnifty_chi2"
        name = "nifty"
    ls = LombScargle(t, y, dy, nterms=nterms)
    frequency, power = ls.autopower(
        minimum_frequency=1 / max_period,
        maximum_frequency=1 / min_period,
        samples_per_peak=samples_per_peak,
        method=method,
    )
    best_frequency, best_power = _refine(
        ls.power, frequency, int(np.argmax(power)), False, float(np.ptp(t))
    )
    fap = np.nan
    if nterms == 1:  # astropy estimates it only for the single-term model
        fap = float(
            ls.false_alarm_probability(
                best_power, minimum_frequency=1 / max_period, maximum_frequency=1 / min_period
            )
        )
    found = PeriodSearch(frequency, power, 1 / best_frequency, best_power, name, nterms)
    return found, fap


def search(
    t,
    y,
    dy=None,
    *,
    method: str = "pdm",
    min_period: float,
    max_period: float,
    samples_per_peak: float = 10,
    bins: int = 20,
    covers: int = 2,
) -> PeriodSearch:
    """PDM or BLS over a regular grid from ``1/max_period`` to ``1/min_period``.

    Lomb-Scargle is :func:`lomb_scargle`. ``bins`` and ``covers`` are PDM's.

    Examples
    --------
    >>> t = np.sort(np.random.default_rng(2).uniform(0, 30, 500))
    >>> y = np.sin(2 * np.pi * t / 0.61)
    >>> found = search(t, y, method="pdm", min_period=0.2, max_period=5)
    >>> round(found.best_period, 3), found.method
    (0.61, 'pdm')
    """
    t = np.asarray(t, dtype=float)
    y = np.asarray(y, dtype=float)
    frequency = frequency_grid(t, min_period, max_period, samples_per_peak)
    if method == "pdm":

        def score(f):
            return pdm_theta(t, y, f, bins=bins, covers=covers)

        power = score(frequency)
        best = int(np.nanargmin(power))
    elif method == "bls":

        def score(f):
            return bls_power(t, y, dy, f)

        power = score(frequency)
        best = int(np.argmax(power))
    else:
        raise ValueError(f"method {method!r} is not one of 'pdm', 'bls'")
    best_frequency, best_power = _refine(score, frequency, best, method == "pdm", float(np.ptp(t)))
    return PeriodSearch(frequency, power, 1 / best_frequency, best_power, method)
