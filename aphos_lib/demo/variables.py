"""Light-curve models of the demo's variable stars: V magnitude as a function of HJD.

Pure functions on numpy arrays, one per kind of variability, and :func:`model_magnitude`,
which applies the model a star's manifest entry names. The manifest stores each model's
keyword arguments, so a test or a notebook recomputes exactly what the generator used.

Phase 0 is the primary minimum for eclipsing binaries and maximum light for pulsating stars,
as in the GCVS.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = [
    "MODELS",
    "eclipsing_magnitude",
    "model_magnitude",
    "multiperiodic_magnitude",
    "phase",
    "rrab_magnitude",
]


def phase(hjd, period_d: float, epoch_hjd: float) -> np.ndarray:
    """Phase in [0, 1) of the times ``hjd`` for the ephemeris ``epoch_hjd + E * period_d``."""
    return np.mod((np.asarray(hjd, dtype=float) - epoch_hjd) / period_d, 1.0)


def _dip(ph: np.ndarray, centre: float, sigma: float) -> np.ndarray:
    # Distance in phase taken the short way round, so an eclipse at phase 0 is whole.
    d = np.mod(ph - centre + 0.5, 1.0) - 0.5
    return np.exp(-0.5 * (d / sigma) ** 2)


def eclipsing_magnitude(
    hjd,
    *,
    mag_max: float,
    period_d: float,
    epoch_hjd: float,
    depth_primary: float,
    depth_secondary: float,
    eclipse_sigma_phase: float,
    ellipsoidal_amplitude: float = 0.0,
    secondary_phase: float = 0.5,
) -> np.ndarray:
    """An eclipsing binary: Gaussian-shaped eclipses on an ellipsoidal variation.

    Parameters
    ----------
    hjd : array_like
        Heliocentric Julian dates.
    mag_max : float
        Magnitude at quadrature without the eclipses (the Gaussian wings of broad eclipses
        dim quadrature by a few millimagnitudes).
    period_d, epoch_hjd : float
        Orbital period in days and the HJD of a primary minimum.
    depth_primary, depth_secondary : float
        Depth of the minima below maximum light, in magnitudes.
    eclipse_sigma_phase : float
        Gaussian sigma of each eclipse in phase units.
    ellipsoidal_amplitude : float
        Full amplitude of the ellipsoidal variation (faintest at conjunctions); it is part
        of the depths, not added to them.
    secondary_phase : float
        Phase of the secondary minimum (0.5 for a circular orbit).

    Returns
    -------
    numpy.ndarray
        V magnitudes.

    Examples
    --------
    >>> m = eclipsing_magnitude([0.0, 0.25, 0.5], mag_max=8.42, period_d=1.0, epoch_hjd=0.0,
    ...     depth_primary=0.3, depth_secondary=0.2, eclipse_sigma_phase=0.08,
    ...     ellipsoidal_amplitude=0.04)
    >>> [round(float(v), 3) for v in m]
    [8.72, 8.423, 8.62]
    """
    ph = phase(hjd, period_d, epoch_hjd)
    ellipsoidal = ellipsoidal_amplitude * 0.5 * (1.0 + np.cos(4.0 * np.pi * ph))
    # The ellipsoidal term already dims the star at conjunction; the eclipses add the rest.
    primary = (depth_primary - ellipsoidal_amplitude) * _dip(ph, 0.0, eclipse_sigma_phase)
    ellipsoidal_at_secondary = (
        ellipsoidal_amplitude * 0.5 * (1.0 + np.cos(4.0 * np.pi * secondary_phase))
    )
    secondary = (depth_secondary - ellipsoidal_at_secondary) * _dip(
        ph, secondary_phase, eclipse_sigma_phase
    )
    return mag_max + ellipsoidal + primary + secondary


@lru_cache(maxsize=8)
def _sawtooth_template(harmonics: int) -> tuple[float, float, float]:
    """Offset and range that put maximum light at phase 0 and scale the shape to [0, 1]."""
    grid = np.linspace(0.0, 1.0, 20001)
    raw = _raw_sawtooth(grid, harmonics)
    return float(grid[np.argmin(raw)]), float(raw.min()), float(np.ptp(raw))


def _raw_sawtooth(ph: np.ndarray, harmonics: int) -> np.ndarray:
    # The Fourier series of a sawtooth (amplitudes 1/k, so R21 = 0.5 and R31 = 0.33 as in
    # RRab stars) with Lanczos sigma factors, which round the corners without Gibbs wiggles.
    # In magnitudes: a steep rise to maximum, then a slow linear decline.
    k = np.arange(1, harmonics + 1)
    weights = np.sinc(k / (harmonics + 1)) / k
    return -np.sin(2.0 * np.pi * np.multiply.outer(ph, k)) @ weights


def rrab_magnitude(
    hjd,
    *,
    mag_max: float,
    amplitude: float,
    period_d: float,
    epoch_hjd: float,
    harmonics: int = 6,
) -> np.ndarray:
    """A fundamental-mode RR Lyrae star: a rounded sawtooth from a Fourier series.

    Parameters
    ----------
    hjd : array_like
        Heliocentric Julian dates.
    mag_max : float
        Magnitude at maximum light.
    amplitude : float
        Full amplitude (minimum minus maximum), in magnitudes.
    period_d, epoch_hjd : float
        Pulsation period in days and the HJD of a maximum.
    harmonics : int
        Number of Fourier terms; about 6 gives the rise time of 0.15 in phase of RRab stars.

    Returns
    -------
    numpy.ndarray
        V magnitudes.

    Examples
    --------
    >>> m = rrab_magnitude([0.0, 0.45], mag_max=10.1, amplitude=0.8, period_d=0.9,
    ...     epoch_hjd=0.0)
    >>> round(float(m[0]), 3), bool(10.5 < m[1] < 10.9)
    (10.1, True)
    """
    offset, low, span = _sawtooth_template(harmonics)
    ph = phase(hjd, period_d, epoch_hjd)
    shape = (_raw_sawtooth(np.mod(ph + offset, 1.0), harmonics) - low) / span
    return mag_max + amplitude * shape


def multiperiodic_magnitude(
    hjd,
    *,
    mag_mean: float,
    periods_d: list[float],
    semi_amplitudes: list[float],
    epoch_hjd: float,
) -> np.ndarray:
    """A multiperiodic pulsator (delta Scuti star): a sum of sinusoids.

    Parameters
    ----------
    hjd : array_like
        Heliocentric Julian dates.
    mag_mean : float
        Mean magnitude.
    periods_d, semi_amplitudes : list of float
        One period (days) and semi-amplitude (magnitudes) per pulsation mode.
    epoch_hjd : float
        An HJD at which every mode is at its maximum light.

    Returns
    -------
    numpy.ndarray
        V magnitudes.

    Examples
    --------
    >>> m = multiperiodic_magnitude([0.0], mag_mean=9.6, periods_d=[0.1, 0.08],
    ...     semi_amplitudes=[0.03, 0.01], epoch_hjd=0.0)
    >>> round(float(m[0]), 3)
    9.56
    """
    t = np.asarray(hjd, dtype=float) - epoch_hjd
    mag = np.full(t.shape, float(mag_mean))
    for period, semi_amplitude in zip(periods_d, semi_amplitudes, strict=True):
        mag -= semi_amplitude * np.cos(2.0 * np.pi * t / period)
    return mag


MODELS = {
    "eclipsing": eclipsing_magnitude,
    "rrab": rrab_magnitude,
    "multiperiodic": multiperiodic_magnitude,
}


def model_magnitude(catalog_mag: float, variability: Mapping[str, Any] | None, hjd) -> np.ndarray:
    """V magnitude of a star at the times ``hjd``, as the demo generator simulates it.

    Parameters
    ----------
    catalog_mag : float
        The star's catalogue magnitude: its magnitude when it is constant.
    variability : mapping or None
        None for a constant star, else ``{"model": name, **keyword arguments}`` with a name
        from :data:`MODELS`.
    hjd : array_like
        Heliocentric Julian dates.

    Returns
    -------
    numpy.ndarray
        V magnitudes, one per time.

    Examples
    --------
    >>> model_magnitude(9.5, None, [1.0, 2.0]).tolist()
    [9.5, 9.5]
    """
    t = np.asarray(hjd, dtype=float)
    if variability is None:
        return np.full(t.shape, float(catalog_mag))
    params = dict(variability)
    return MODELS[params.pop("model")](t, **params)
