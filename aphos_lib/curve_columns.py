"""What every light curve's columns get after the read, whatever its magnitudes.

- :func:`add_times`: the HJD where the SIPS header had none (``hjd_computed``), and
  ``bjd_tdb`` (``bjd_at_site``) for the variable's position, at the observer's site when
  their profile gives it;
- :func:`take_rows`: the rows a filter keeps, column by column;
- :func:`lower_names`: observers' usernames as a curve compares them.

Differential curves (:mod:`aphos_lib.photometry`) and calibrated ones
(:mod:`aphos_lib.calibrated_photometry`) both finish their read with them.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from aphos_lib.barycentric import bjd_tdb
from aphos_lib.search import CatalogObject

__all__ = ["add_times", "lower_names", "take_rows"]


def lower_names(values: Iterable[str] | None) -> list[str] | None:
    """Usernames in lower case (one name or a list; None stays None)."""
    if values is None:
        return None
    if isinstance(values, str):
        values = [values]
    return [v.lower() for v in values]


def take_rows(column, keep: np.ndarray):
    """The rows of a column (array, list or DatetimeIndex) where ``keep`` is set."""
    if isinstance(column, list):
        return [v for v, k in zip(column, keep, strict=True) if k]
    return column[keep]


def add_times(frame: dict, var: CatalogObject) -> dict:
    """The columns of :func:`aphos_lib.light_curve_read.read_columns` with the HJD filled in
    where the header had none (``hjd_computed``), and ``bjd_tdb`` and ``bjd_at_site`` for the
    variable's position."""
    _fill_missing_hjd(frame, var)
    return _with_bjd_tdb(frame, var)


def _fill_missing_hjd(frame: dict, var: CatalogObject) -> None:
    """HJD for images whose SIPS header had none, computed with astropy's ephemeris.

    HJD = JD + (r . n) / c, with r the Earth's position relative to the Sun and n the
    direction to the variable: the light travel time from the Earth's centre (the site is not
    known; it changes the result by at most 21 ms). ``hjd_computed`` marks these rows.
    Computed directly rather than with ``Time.light_travel_time``, which reads the Earth
    rotation tables (seconds) that do not matter at the Earth's centre.
    """
    missing = ~np.isfinite(frame["hjd"])
    frame["hjd_computed"] = missing
    if not missing.any():
        return
    import astropy.constants as const
    import astropy.units as u
    from astropy.coordinates import get_body_barycentric
    from astropy.time import Time

    jd = frame["jd"][missing]
    tdb = Time(jd, format="jd", scale="utc").tdb
    earth = (get_body_barycentric("earth", tdb) - get_body_barycentric("sun", tdb)).xyz
    ra, dec = np.radians(var.ra_deg), np.radians(var.dec_deg)
    towards = np.array([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)])
    delay_s = (towards @ earth.to_value(u.m)) / const.c.to_value(u.m / u.s)
    hjd = frame["hjd"].copy()
    hjd[missing] = jd + delay_s / 86400.0
    frame["hjd"] = hjd


def _with_bjd_tdb(frame: dict, var: CatalogObject) -> dict:
    """Add ``bjd_tdb`` (after ``hjd``) for the variable's position, and ``bjd_at_site``.

    At each observer's site when their profile gives its longitude and latitude, else at the
    Earth's centre (``bjd_at_site`` False: within
    :data:`aphos_lib.barycentric.GEOCENTRE_BOUND_S`, 21.3 ms).
    """
    sites = frame.pop("_site")
    at_site = np.isfinite(sites[:, 0]) & np.isfinite(sites[:, 1])
    bjd = bjd_tdb(
        frame["jd"],
        var.ra_deg,
        var.dec_deg,
        longitude_deg=sites[:, 0],
        latitude_deg=sites[:, 1],
        height_m=sites[:, 2],
    )
    out = {}
    for name, column in frame.items():
        out[name] = column
        if name == "hjd":
            out["bjd_tdb"] = bjd
    out["bjd_at_site"] = at_site
    return out
