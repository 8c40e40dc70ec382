"""When a field can be observed from a site: Sun, field altitude, airmass and moonlight.

Low-precision formulas (the Astronomical Almanac's Sun, good to 0.01 deg; GMST from the JD),
vectorised over time, because the schedule evaluates them on a grid for every night and the
generator for every image. Minutes of error in twilight do not matter here; the HJD written
to the files is computed with astropy elsewhere.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "UNIX_EPOCH_JD",
    "airmass",
    "altitude_deg",
    "jd_from_unix_ms",
    "moon_illumination",
    "sun_position_deg",
]

UNIX_EPOCH_JD = 2440587.5
J2000_JD = 2451545.0
SYNODIC_MONTH_D = 29.530589
NEW_MOON_JD = 2459464.5361  # 2021-09-07 00:52 UTC


def jd_from_unix_ms(ms) -> np.ndarray:
    """Julian date (UTC) of integer milliseconds since 1970-01-01T00:00 UTC."""
    return UNIX_EPOCH_JD + np.asarray(ms, dtype=np.int64) / 86_400_000.0


def sun_position_deg(jd) -> tuple[np.ndarray, np.ndarray]:
    """Apparent RA and Dec of the Sun in degrees (Astronomical Almanac low-precision)."""
    n = np.asarray(jd, dtype=float) - J2000_JD
    mean_longitude = np.radians(280.460 + 0.9856474 * n)
    anomaly = np.radians(357.528 + 0.9856003 * n)
    ecliptic_longitude = (
        mean_longitude
        + np.radians(1.915) * np.sin(anomaly)
        + np.radians(0.020) * np.sin(2 * anomaly)
    )
    obliquity = np.radians(23.439 - 4e-7 * n)
    ra = np.arctan2(np.cos(obliquity) * np.sin(ecliptic_longitude), np.cos(ecliptic_longitude))
    dec = np.arcsin(np.sin(obliquity) * np.sin(ecliptic_longitude))
    return np.mod(np.degrees(ra), 360.0), np.degrees(dec)


def _local_sidereal_deg(jd, longitude_deg: float) -> np.ndarray:
    gmst_hours = 18.697374558 + 24.06570982441908 * (np.asarray(jd, dtype=float) - J2000_JD)
    return np.mod(gmst_hours * 15.0 + longitude_deg, 360.0)


def altitude_deg(jd, ra_deg, dec_deg, longitude_deg: float, latitude_deg: float) -> np.ndarray:
    """Altitude above the horizon, in degrees (no refraction), of a position at times ``jd``."""
    hour_angle = np.radians(_local_sidereal_deg(jd, longitude_deg) - np.asarray(ra_deg))
    lat, dec = np.radians(latitude_deg), np.radians(dec_deg)
    sin_alt = np.sin(lat) * np.sin(dec) + np.cos(lat) * np.cos(dec) * np.cos(hour_angle)
    return np.degrees(np.arcsin(np.clip(sin_alt, -1.0, 1.0)))


def airmass(altitude) -> np.ndarray:
    """Relative airmass (Pickering 2002), finite down to the horizon."""
    h = np.asarray(altitude, dtype=float)
    return 1.0 / np.sin(np.radians(h + 244.0 / (165.0 + 47.0 * np.abs(h) ** 1.1)))


def moon_illumination(jd) -> np.ndarray:
    """Illuminated fraction of the Moon from the mean synodic month (good to about a day)."""
    age = np.mod(np.asarray(jd, dtype=float) - NEW_MOON_JD, SYNODIC_MONTH_D) / SYNODIC_MONTH_D
    return 0.5 * (1.0 - np.cos(2.0 * np.pi * age))
