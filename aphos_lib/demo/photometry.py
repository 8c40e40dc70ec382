"""Aperture photometry of one simulated CCD image: what SIPS would measure for each source.

A star of V magnitude m gives ``exposure * 10**(-0.4 (m - zero_point + k X + clouds))`` ADU
in total, the same atmospheric term for every star of the image, so that differential
photometry cancels it as it does in real data. The star image is a Moffat profile; each
aperture holds the fraction its radius encloses (the growth curve), plus noise:

- photon noise of the star and of the sky in the aperture, drawn for nested apertures as
  independent increments, so that neighbouring apertures are correlated as in real data;
- the error of the background level estimated from an annulus of :data:`SKY_PIXELS` pixels.

The deviation SIPS reports is the usual CCD equation,
``sqrt(F / gain + A s**2 + A**2 s**2 / n_sky)``, with ``s`` the noise of one sky pixel
(ADU) and ``A`` the aperture's area, i.e. the noise that was actually added.

An aperture is ``saturated`` when any pixel in it reached the saturation level: for a
bright star every aperture, for a star near a saturated one the apertures that reach the
bright star's saturated core, and, as SIPS does, every aperture that runs over the edge of
the chip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aphos_lib.demo.observers import Camera

__all__ = [
    "BETA",
    "SKY_PIXELS",
    "Conditions",
    "Measurement",
    "aperture_radii",
    "enclosed_fraction",
    "limiting_magnitude",
    "measure_sources",
    "peak_fraction",
    "total_flux",
]

BETA = 2.5  # Moffat exponent of a lens-and-CCD star image
SKY_PIXELS = 250  # pixels of the background annulus
DETECTION_SNR = 5.0  # peak pixel above the sky noise that SIPS's detection needs
PIXEL_RADIUS = 0.5642  # radius of the circle with the area of one pixel
ADU_RADIUS = 1.6925  # radius of the circle with the area of SIPS's 3x3 detection box


@dataclass(frozen=True)
class Conditions:
    """What the sky and the optics were like during one exposure."""

    exposure_s: float
    airmass: float
    clouds_mag: float  # extinction by clouds, grey, the same for every star
    fwhm_px: float
    sky_adu: float  # sky background per pixel in the exposure, bias excluded
    gradient: tuple[float, float]  # relative change of the sky across x and y
    auto_radius_px: float  # the aperture SIPS chose as ApAuto


@dataclass
class Measurement:
    """SIPS's measurements of ``n`` sources; flux columns are ApAuto then Ap1..ApN."""

    adu: np.ndarray  # (n,) int
    background: np.ndarray  # (n,)
    background_dev: np.ndarray  # (n,)
    flux: np.ndarray  # (n, 1 + N)
    flux_dev: np.ndarray  # (n, 1 + N)
    saturated: np.ndarray  # (n, 1 + N) bool
    detected: np.ndarray  # (n,) bool


def aperture_radii(n: int) -> np.ndarray:
    """Radii in pixels of the fixed apertures Ap1..ApN.

    The radii grow by 1.5 px from 1.8 px. With them, Ap1 holds about 80 % of ApAuto's flux
    and the apertures that the published SIPS file marks ``saturated`` near the chip's
    edge are exactly those that cross it, as in that file.
    """
    return 1.5 * np.arange(1, n + 1) + 0.3


def _alpha(fwhm_px) -> np.ndarray:
    return np.asarray(fwhm_px) / (2.0 * np.sqrt(2.0 ** (1.0 / BETA) - 1.0))


def enclosed_fraction(radius_px, fwhm_px) -> np.ndarray:
    """Fraction of a Moffat star image's flux inside ``radius_px`` (the growth curve).

    Examples
    --------
    >>> round(float(enclosed_fraction(4.5, 1.5)), 3)
    0.977
    """
    r = np.asarray(radius_px, dtype=float)
    return 1.0 - (1.0 + (r / _alpha(fwhm_px)) ** 2) ** (1.0 - BETA)


def peak_fraction(fwhm_px) -> np.ndarray:
    """Fraction of the flux in the brightest pixel when the star sits on a pixel's centre."""
    return enclosed_fraction(PIXEL_RADIUS, fwhm_px)


def total_flux(mag, camera: Camera, conditions: Conditions) -> np.ndarray:
    """Total ADU of stars of V magnitude ``mag`` in the exposure."""
    extinction = camera.extinction * conditions.airmass + conditions.clouds_mag
    return conditions.exposure_s * 10.0 ** (
        -0.4 * (np.asarray(mag, dtype=float) - camera.zero_point + extinction)
    )


def _sky_pixel_variance(sky_adu, camera: Camera):
    return np.asarray(sky_adu) / camera.gain + (camera.read_noise_e / camera.gain) ** 2


def limiting_magnitude(camera: Camera, conditions: Conditions) -> float:
    """Magnitude of a star whose peak pixel is at the detection threshold."""
    sigma = float(np.sqrt(_sky_pixel_variance(conditions.sky_adu, camera)))
    flux = DETECTION_SNR * sigma / (0.75 * float(peak_fraction(conditions.fwhm_px)))
    return float(-2.5 * np.log10(flux / float(total_flux(0.0, camera, conditions))))


def measure_sources(
    rng: np.random.Generator,
    mag: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    *,
    camera: Camera,
    conditions: Conditions,
    radii: np.ndarray,
    width: int,
    height: int,
) -> Measurement:
    """Simulate SIPS's measurement of sources of magnitude ``mag`` at pixels ``x``, ``y``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the noise.
    mag : numpy.ndarray
        True V magnitudes at the time of the exposure.
    x, y : numpy.ndarray
        Pixel positions of the sources on the chip.
    camera : Camera
        Detector and optics.
    conditions : Conditions
        Exposure time, airmass, clouds, seeing and sky of this exposure.
    radii : numpy.ndarray
        Radii of Ap1..ApN in pixels (:func:`aperture_radii`).
    width, height : int
        Size of the chip in pixels.

    Returns
    -------
    Measurement
        One row per source; ``detected`` says which ones SIPS would have found.
    """
    n = mag.size
    flux_total = total_flux(mag, camera, conditions)
    gx, gy = conditions.gradient
    sky = conditions.sky_adu * (1.0 + gx * (x / width - 0.5) + gy * (y / height - 0.5))
    sky_var = _sky_pixel_variance(sky, camera)
    background_dev = np.sqrt(sky_var / SKY_PIXELS)
    # What SIPS writes as Back is the annulus's mean, which misses the true level by BackDev.
    background_error = rng.normal(0.0, 1.0, n) * background_dev
    background = camera.bias_adu + sky + background_error

    all_radii = np.concatenate([[conditions.auto_radius_px], radii])
    area = np.pi * all_radii**2
    true_flux = flux_total[:, None] * enclosed_fraction(all_radii, conditions.fwhm_px)[None, :]
    variance = true_flux / camera.gain + area[None, :] * sky_var[:, None]
    # The larger of two nested apertures holds the smaller one's pixels and a ring of new
    # ones: the noise of the ring is independent, the rest is shared.
    order = np.argsort(all_radii, kind="stable")
    increments = np.diff(variance[:, order], axis=1, prepend=0.0)
    noise_sorted = np.cumsum(rng.normal(0.0, 1.0, (n, all_radii.size)) * np.sqrt(increments), 1)
    noise = np.empty_like(noise_sorted)
    noise[:, order] = noise_sorted
    flux = true_flux + noise - area[None, :] * background_error[:, None]
    flux_dev = np.sqrt(
        np.maximum(flux, 0.0) / camera.gain
        + area[None, :] * sky_var[:, None] * (1.0 + area[None, :] / SKY_PIXELS)
    )

    # Where the star sits within its pixel decides how much of its light the brightest
    # pixel gets: a star on a pixel corner spreads it over four.
    centring = rng.uniform(0.55, 1.0, n)
    peak = flux_total * peak_fraction(conditions.fwhm_px) * centring
    level = camera.saturation_adu - camera.bias_adu - sky
    own = peak >= level
    saturated = np.repeat(own[:, None], all_radii.size, axis=1)
    if own.any():
        # Radius of the saturated core of each saturated star (Moffat profile above `level`).
        alpha = float(_alpha(conditions.fwhm_px))
        core = alpha * np.sqrt(np.maximum((peak[own] / level[own]) ** (1.0 / BETA) - 1.0, 0.0))
        distance = np.hypot(x[:, None] - x[own][None, :], y[:, None] - y[own][None, :])
        reach = distance - core[None, :]
        reach[np.flatnonzero(own), np.arange(int(own.sum()))] = np.inf  # not its own core
        saturated |= all_radii[None, :] >= reach.min(axis=1)[:, None]
    # Distance to the chip's border (pixel centres at 0 .. width - 1); the published file's
    # saturated apertures of stars at x = 8.91, y = 6.83 and y = 505.06 fit this.
    edge = np.minimum(np.minimum(x, width - 1 - x), np.minimum(y, height - 1 - y)) + 0.5
    saturated |= all_radii[None, :] > edge[:, None]

    detected = peak / np.sqrt(sky_var) + rng.normal(0.0, 1.0, n) > DETECTION_SNR
    box = flux_total * enclosed_fraction(ADU_RADIUS, conditions.fwhm_px)
    adu = np.rint(box + rng.normal(0.0, 1.0, n) * np.sqrt(box / camera.gain + 9.0 * sky_var))
    return Measurement(
        adu=np.maximum(adu, 1.0).astype(np.int64),
        background=background,
        background_dev=background_dev * rng.uniform(0.95, 1.05, n),
        flux=flux,
        flux_dev=flux_dev,
        saturated=saturated,
        detected=detected | own,
    )
