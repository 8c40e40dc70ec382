"""The three rules every light curve follows, as pure numpy functions.

- **The night** of an image is one observer's session from local noon to local noon, named by
  the date on which it began: local time is the observer's longitude at 4 minutes of time per
  degree (12:00 UTC when the longitude is unknown).
- **The Julian date** of an image is the SIPS header's JD of mid-exposure, or, for a header
  without one, the UTC time of mid-exposure as a JD.
- **One source per star and image**: when SIPS matched a star to two sources of one image (or
  a file's rows were stored twice), the source nearest the star's catalogue position is the
  star's measurement.

They are applied once, by the light-curve read (:mod:`aphos_lib.light_curve_read`), to
whatever the database returns; nothing else computes them.
"""

from __future__ import annotations

import numpy as np

__all__ = ["UNIX_EPOCH_JD", "julian_date", "nearest_source", "night"]

UNIX_EPOCH_JD = 2440587.5  # 1970-01-01T00:00:00 UTC
_US_PER_DAY = 86_400_000_000
_NOON_US = 43_200_000_000
_US_PER_DEGREE = 240_000_000  # 4 minutes of time per degree of longitude


def night(time_us, longitude_deg) -> np.ndarray:
    """The night of each exposure: the date (``datetime64[D]``) on which its session began.

    Parameters
    ----------
    time_us : array of int
        The middle of each exposure, in microseconds since 1970-01-01 UTC.
    longitude_deg : array of float or float
        The observer's longitude, east positive; NaN when unknown (then UTC is local time).

    Returns
    -------
    numpy.ndarray of datetime64[D]

    Examples
    --------
    16:28 UTC is 08:28 local time at 120 degrees west, before local noon: the night began the
    day before. At 60 degrees west it is 12:28, after noon: that night began the same day.

    >>> t = np.datetime64("2021-11-06T16:28:30", "us").astype(np.int64)
    >>> night([t, t, t], [-120.0, -60.0, np.nan]).astype(str).tolist()
    ['2021-11-05', '2021-11-06', '2021-11-06']
    """
    time_us = np.asarray(time_us, dtype=np.int64)
    longitude = np.nan_to_num(np.asarray(longitude_deg, dtype=float), nan=0.0)
    shift_us = np.rint(longitude * _US_PER_DEGREE).astype(np.int64) - _NOON_US
    return ((time_us + shift_us) // _US_PER_DAY).astype("datetime64[D]")


def julian_date(header_jd, time_us) -> np.ndarray:
    """The JD of mid-exposure: the header's where it gave one (not NaN), else the UTC time's.

    Parameters
    ----------
    header_jd : array of float
        The SIPS header's JD, NaN where the header had none.
    time_us : array of int
        The middle of each exposure, in microseconds since 1970-01-01 UTC.

    Examples
    --------
    >>> t = np.datetime64("2021-11-06T12:00:00", "us").astype(np.int64)
    >>> julian_date([2459525.1, np.nan], [t, t]).tolist()
    [2459525.1, 2459525.0]
    """
    header_jd = np.asarray(header_jd, dtype=float)
    from_time = np.asarray(time_us, dtype=np.int64) / _US_PER_DAY + UNIX_EPOCH_JD
    return np.where(np.isfinite(header_jd), header_jd, from_time)


def nearest_source(image_id, ra_deg, dec_deg, star_ra_deg: float, star_dec_deg: float):
    """The rows to keep: per image, the source nearest the star's catalogue position.

    Parameters
    ----------
    image_id : array of int
        Each measurement's image, in ascending order (repeats adjacent).
    ra_deg, dec_deg : array of float
        Each measurement's position.
    star_ra_deg, star_dec_deg : float
        The star's catalogue position.

    Returns
    -------
    numpy.ndarray of int
        Indexes of the kept rows, one per image, in image order. A tie keeps the first row.

    Examples
    --------
    Image 2 has two sources; the second lies on the star, the first 30 arcseconds east:

    >>> nearest_source([1, 2, 2, 3], [10.0, 10 + 30 / 3600, 10.0, 10.0],
    ...                [50.0, 50.0, 50.0, 50.0], 10.0, 50.0).tolist()
    [0, 2, 3]
    """
    ids = np.asarray(image_id)
    if (ids[1:] > ids[:-1]).all():  # the usual case: one source per image
        return np.arange(len(ids))
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    ra0, dec0 = np.radians(star_ra_deg), np.radians(star_dec_deg)
    closeness = np.sin(dec) * np.sin(dec0) + np.cos(dec) * np.cos(dec0) * np.cos(ra - ra0)
    order = np.lexsort((-closeness, ids))
    first = np.ones(len(ids), dtype=bool)
    first[1:] = ids[order][1:] != ids[order][:-1]
    return order[first]
