"""Where a star falls on the chip: the tangent-plane (gnomonic) projection of a CCD image.

A wide-field image of a few degrees is described well enough by a TAN projection around
the plate centre, a pixel scale and a rotation; that is all a plate solution in SIPS gives
(``CenterRA``, ``CenterDec``, ``PixelScaleX/Y``) besides the rotation, which SIPS does not
export. All functions work on numpy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Pointing", "angular_separation_deg", "deproject", "project"]


def angular_separation_deg(ra_deg, dec_deg, ra0_deg, dec0_deg) -> np.ndarray:
    """Great-circle distance in degrees (haversine form, exact also for small angles)."""
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    ra0, dec0 = np.radians(ra0_deg), np.radians(dec0_deg)
    h = np.sin((dec - dec0) / 2) ** 2 + np.cos(dec) * np.cos(dec0) * np.sin((ra - ra0) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0))))


def project(ra_deg, dec_deg, ra0_deg: float, dec0_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Standard coordinates (xi towards east, eta towards north), in degrees.

    Points more than 90 deg from the centre have no projection; they come back as NaN.
    """
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    ra0, dec0 = np.radians(ra0_deg), np.radians(dec0_deg)
    cos_c = np.sin(dec0) * np.sin(dec) + np.cos(dec0) * np.cos(dec) * np.cos(ra - ra0)
    with np.errstate(divide="ignore", invalid="ignore"):
        xi = np.cos(dec) * np.sin(ra - ra0) / cos_c
        eta = (np.cos(dec0) * np.sin(dec) - np.sin(dec0) * np.cos(dec) * np.cos(ra - ra0)) / cos_c
    behind = cos_c <= 0
    return np.degrees(np.where(behind, np.nan, xi)), np.degrees(np.where(behind, np.nan, eta))


def deproject(xi_deg, eta_deg, ra0_deg: float, dec0_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`project`: RA in [0, 360) and Dec, in degrees."""
    xi, eta = np.radians(xi_deg), np.radians(eta_deg)
    ra0, dec0 = np.radians(ra0_deg), np.radians(dec0_deg)
    denom = np.cos(dec0) - eta * np.sin(dec0)
    ra = ra0 + np.arctan2(xi, denom)
    dec = np.arctan2(np.sin(dec0) + eta * np.cos(dec0), np.hypot(xi, denom))
    return np.mod(np.degrees(ra), 360.0), np.degrees(dec)


@dataclass(frozen=True)
class Pointing:
    """A plate solution: centre, scale, rotation and the chip's size in pixels.

    Pixel coordinates are SIPS's: x along the 768-pixel width, y along the 512-pixel depth,
    both from 0 at the first pixel's centre.
    """

    ra_deg: float
    dec_deg: float
    scale_arcsec: float
    rotation_deg: float
    width: int
    height: int

    def sky_to_pixel(self, ra_deg, dec_deg) -> tuple[np.ndarray, np.ndarray]:
        xi, eta = project(ra_deg, dec_deg, self.ra_deg, self.dec_deg)
        c, s = np.cos(np.radians(self.rotation_deg)), np.sin(np.radians(self.rotation_deg))
        per_pixel = self.scale_arcsec / 3600.0
        x = (c * xi - s * eta) / per_pixel + (self.width - 1) / 2
        y = (s * xi + c * eta) / per_pixel + (self.height - 1) / 2
        return x, y

    def pixel_to_sky(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        per_pixel = self.scale_arcsec / 3600.0
        u = (np.asarray(x) - (self.width - 1) / 2) * per_pixel
        v = (np.asarray(y) - (self.height - 1) / 2) * per_pixel
        c, s = np.cos(np.radians(self.rotation_deg)), np.sin(np.radians(self.rotation_deg))
        return deproject(c * u + s * v, -s * u + c * v, self.ra_deg, self.dec_deg)

    def inside(self, x, y) -> np.ndarray:
        """Whether a position lies on the chip (a star centred off it is not measured)."""
        return (x >= 0) & (x <= self.width - 1) & (y >= 0) & (y <= self.height - 1)
