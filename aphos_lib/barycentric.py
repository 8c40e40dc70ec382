"""Barycentric Julian dates in TDB (BJD_TDB) of a star, at an observer's site or the geocentre.

``BJD_TDB = JD_TDB + n . (r_earth + r_site) / c``: the time in Barycentric Dynamical Time
plus the light travel time (Roemer delay) between the observer and the Solar System's
barycentre along the direction ``n`` to the star (Eastman, Siverd & Gaudi 2010). The terms:

- ``JD_TDB``: TT from UTC with astropy's ``Time`` (leap seconds), TDB - TT from a short
  series (:func:`tdb_minus_tt_s`, within 10 microseconds);
- ``r_earth``, the Earth's barycentric position, from ERFA's ``epv00`` (the ephemeris of
  astropy's ``"builtin"``, a few km from JPL's: tens of microseconds), evaluated at knots two
  days apart that are kept, and interpolated;
- ``r_site``, the site's position relative to the geocentre in the celestial frame: the WGS84
  site rotated by the Earth rotation angle (UT1 taken as UTC: under 2 microseconds) and by
  precession-nutation (evaluated once per 30 days: under a microsecond).

The Shapiro delay (at most 0.1 ms near the Sun's limb, microseconds elsewhere) is left out.
Without a site the Earth's centre is used: the result is then off by at most the Earth's
radius over c, :data:`GEOCENTRE_BOUND_S` (21.3 ms).

Computed directly rather than with ``Time.light_travel_time``, which reads the Earth
orientation tables (and would fetch them from the network).
"""

from __future__ import annotations

import math
from functools import lru_cache

import erfa
import numpy as np

__all__ = ["GEOCENTRE_BOUND_S", "bjd_minus_jd_s", "bjd_tdb", "tdb_minus_tt_s"]

_C = 299_792_458.0  # m/s
_AU = 149_597_870_700.0  # m
_EQUATORIAL_RADIUS_M = 6_378_137.0  # WGS84
# The most the geocentre's light time can differ from a site's on the Earth's surface.
GEOCENTRE_BOUND_S = _EQUATORIAL_RADIUS_M / _C


# TDB - TT, seconds: the series of USNO Circular 179 (Kaplan 2005, eq. 2.6), within about
# 10 microseconds of the full Fairhead-Bretagnon series from 1600 to 2200. Terms: amplitude,
# frequency (rad per Julian century), phase; the last one is multiplied by T.
_TDB_TERMS = np.array(
    [
        (0.001657, 628.3076, 6.2401),
        (0.000022, 575.3385, 4.2970),
        (0.000014, 1256.6152, 6.1969),
        (0.000005, 606.9777, 4.0212),
        (0.000005, 52.9691, 0.4444),
        (0.000002, 21.3299, 5.5431),
    ]
)
_TDB_T_TERM = (0.000010, 628.3076, 4.2490)
_J2000 = 2451545.0
# The Earth's barycentric position is interpolated between knots this many days apart (cubic
# Hermite on ERFA's position and velocity: a few microseconds of light time), and the knots
# are kept: the ephemeris never changes, and ERFA's series costs 30 microseconds a date.
_KNOT_DAYS = 2.0
_BLOCK_KNOTS = 64
_PRECESSION_DAYS = 30.0  # the celestial pole moves 4" in 30 days: 0.4 microseconds at a site


def tdb_minus_tt_s(jd_tt) -> np.ndarray:
    """TDB - TT in seconds at the TT Julian dates ``jd_tt`` (within about 10 microseconds).

    Examples
    --------
    >>> round(float(tdb_minus_tt_s(2451545.0)) * 1e3, 3)  # ms at J2000.0
    -0.096
    """
    t = (np.asarray(jd_tt, dtype=float) - _J2000) / 36525.0
    amplitude, frequency, phase = _TDB_TERMS.T
    out = np.sin(np.multiply.outer(t, frequency) + phase) @ amplitude
    a, f, p = _TDB_T_TERM
    return out + a * t * np.sin(f * t + p)


@lru_cache(maxsize=256)
def _earth_block(block: int) -> tuple[np.ndarray, np.ndarray]:
    """Barycentric position (m) and velocity (m/day) of the Earth at one block's knots."""
    days = (block * _BLOCK_KNOTS + np.arange(_BLOCK_KNOTS + 1)) * _KNOT_DAYS
    _, barycentric = erfa.epv00(_J2000 + days, 0.0)
    return barycentric["p"] * _AU, barycentric["v"] * _AU


# Dates spanning more blocks than this (a stray date decades away) are interpolated block by
# block, computing only the blocks used rather than every one between.
_MAX_SPANNED_BLOCKS = 64


def _earth_position_m(jd_tdb: np.ndarray) -> np.ndarray:
    """The Earth's barycentric position at TDB dates, (n, 3) metres, from cached knots."""
    x = (jd_tdb - _J2000) / _KNOT_DAYS
    knot = np.floor(x).astype(np.int64)
    u = (x - knot)[:, None]
    block_of = knot // _BLOCK_KNOTS
    first, last = int(block_of.min()), int(block_of.max())
    if last - first >= _MAX_SPANNED_BLOCKS:
        out = np.empty((len(knot), 3))
        for b in np.unique(block_of).tolist():
            here = block_of == b
            p, v = _earth_block(b)
            k = knot[here] - b * _BLOCK_KNOTS
            out[here] = _hermite(u[here], p[k], p[k + 1], v[k], v[k + 1])
        return out
    # The blocks from the first date's to the last's, end to end (a block's last knot is the
    # next one's first), so that every date finds its two knots by one index.
    blocks = [_earth_block(b) for b in range(first, last + 1)]
    p = np.concatenate([b[0][:-1] for b in blocks] + [blocks[-1][0][-1:]])
    v = np.concatenate([b[1][:-1] for b in blocks] + [blocks[-1][1][-1:]])
    k = knot - first * _BLOCK_KNOTS
    return _hermite(u, p[k], p[k + 1], v[k], v[k + 1])


def _hermite(u, p0, p1, v0, v1) -> np.ndarray:
    """Cubic Hermite interpolation on [0, 1] between knots ``_KNOT_DAYS`` apart."""
    h = _KNOT_DAYS
    u2, u3 = u * u, u * u * u
    return (
        (2 * u3 - 3 * u2 + 1) * p0
        + (u3 - 2 * u2 + u) * h * v0
        + (-2 * u3 + 3 * u2) * p1
        + (u3 - u2) * h * v1
    )


def _direction(ra_deg: float, dec_deg: float) -> np.ndarray:
    ra, dec = math.radians(ra_deg), math.radians(dec_deg)
    return np.array([math.cos(dec) * math.cos(ra), math.cos(dec) * math.sin(ra), math.sin(dec)])


@lru_cache(maxsize=1024)
def _celestial_to_intermediate(bin_30d: int) -> np.ndarray:
    return erfa.c2i06a((bin_30d + 0.5) * _PRECESSION_DAYS, 0.0)


def _site_gcrs_m(jd_utc: np.ndarray, site_itrs_m: np.ndarray) -> np.ndarray:
    """The sites' geocentric positions in the celestial frame (GCRS), metres, (n, 3).

    ``site_itrs_m`` is (n, 3): each time's site in the terrestrial frame.
    """
    # Celestial-to-intermediate matrix (IAU 2006/2000A) once per 30 days.
    bins, at = np.unique(np.floor(jd_utc / _PRECESSION_DAYS).astype(np.int64), return_inverse=True)
    c2i = np.stack([_celestial_to_intermediate(b) for b in bins.tolist()])  # (bins, 3, 3)
    era = erfa.era00(jd_utc, 0.0)  # UT1 ~ UTC
    cos, sin = np.cos(era), np.sin(era)
    # Terrestrial -> intermediate: rotate about z by -ERA (the Earth turns the site east).
    x, y, z = site_itrs_m.T
    intermediate = np.stack([cos * x - sin * y, sin * x + cos * y, z], axis=1)
    # Intermediate -> celestial is the transpose of c2i.
    return np.einsum("nji,nj->ni", c2i[at], intermediate)


def bjd_tdb(
    jd_utc,
    ra_deg: float,
    dec_deg: float,
    *,
    longitude_deg: float | None = None,
    latitude_deg: float | None = None,
    height_m: float | None = None,
) -> np.ndarray:
    """BJD_TDB of a star observed at ``jd_utc``, at a site or at the Earth's centre.

    Parameters
    ----------
    jd_utc : array_like
        Julian dates in UTC (the exposure middles).
    ra_deg, dec_deg : float
        The star's ICRS position, degrees.
    longitude_deg, latitude_deg : float or array_like, optional
        The site (east positive; WGS84), one for all times or one per time. Without both
        (or where either is NaN), the Earth's centre.
    height_m : float or array_like, optional
        The site's height above the ellipsoid (0 when not given or NaN).

    Returns
    -------
    numpy.ndarray
        BJD_TDB, days (a float64 Julian date resolves 40 microseconds); NaN where
        ``jd_utc`` is.

    Examples
    --------
    GK Cep from Brno, 2021-11-06 20:00 UTC: 69.2 s of TDB - UTC and 138 s of light time.

    >>> bjd = bjd_tdb([2459525.3333333], 315.3, 70.1, longitude_deg=16.58, latitude_deg=49.2,
    ...               height_m=300)
    >>> round(float(bjd[0]), 6)
    2459525.335735
    """
    jd = np.asarray(jd_utc, dtype=float)
    offset = bjd_minus_jd_s(
        jd,
        ra_deg,
        dec_deg,
        longitude_deg=longitude_deg,
        latitude_deg=latitude_deg,
        height_m=height_m,
    )
    return jd + offset / 86400.0


@lru_cache(maxsize=1)
def _leap_seconds_checked() -> None:
    """Bring ERFA's leap-second table up to date, once per process, as astropy does.

    astropy checks its table (and updates ERFA's) at its first UTC conversion, not at import:
    the conversions here call ERFA directly, so one astropy conversion goes first.
    """
    from astropy.time import Time

    Time(2451545.0, format="jd", scale="utc").tt  # noqa: B018  (the conversion is the point)


def bjd_minus_jd_s(
    jd_utc,
    ra_deg: float,
    dec_deg: float,
    *,
    longitude_deg: float | None = None,
    latitude_deg: float | None = None,
    height_m: float | None = None,
) -> np.ndarray:
    """BJD_TDB - JD_UTC in seconds: TDB - UTC plus the light travel time to the barycentre.

    The parameters are those of :func:`bjd_tdb`; the difference keeps the microseconds that
    a Julian date in one float64 cannot.

    Examples
    --------
    >>> s = bjd_minus_jd_s([2459525.3333333], 315.3, 70.1)
    >>> bool(69.18 - 500 < s[0] < 69.18 + 500)
    True
    """
    _leap_seconds_checked()
    jd = np.atleast_1d(np.asarray(jd_utc, dtype=float))
    out = np.full(jd.shape, np.nan)
    finite = np.isfinite(jd)
    if not finite.any():
        return out
    jd = jd[finite]
    # UTC -> TAI -> TT with ERFA, the dates split as (jd, 0): the second part then holds
    # exactly the seconds added.
    tt1, tt2 = erfa.taitt(*erfa.utctai(jd, np.zeros_like(jd)))
    tt_minus_utc_s = ((tt1 - jd) + tt2) * 86400.0
    tdb_minus_tt = tdb_minus_tt_s(tt1 + tt2)
    position_m = _earth_position_m(tt1 + (tt2 + tdb_minus_tt / 86400.0))
    if longitude_deg is not None and latitude_deg is not None:
        shape = np.shape(np.atleast_1d(jd_utc))
        longitude = np.broadcast_to(np.asarray(longitude_deg, dtype=float), shape)[finite]
        latitude = np.broadcast_to(np.asarray(latitude_deg, dtype=float), shape)[finite]
        height = np.broadcast_to(
            np.asarray(np.nan if height_m is None else height_m, dtype=float), shape
        )[finite]
        known = np.isfinite(longitude) & np.isfinite(latitude)
        if known.any():
            site = erfa.gd2gc(
                1,  # WGS84
                np.radians(longitude[known]),
                np.radians(latitude[known]),
                np.nan_to_num(height[known], nan=0.0),
            )
            position_m[known] += _site_gcrs_m(jd[known], site)
    delay_s = position_m @ _direction(ra_deg, dec_deg) / _C
    out[finite] = tt_minus_utc_s + tdb_minus_tt + delay_s
    return out
