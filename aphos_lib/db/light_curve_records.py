"""The light-curve records: an image's, and a star's ApAuto values, as one binary record each.

``image.light_curve_record`` and ``flux.light_curve_record`` are generated columns (migration
0010) holding the values a light curve reads from each row in their binary wire format:
big-endian, fixed width, a missing float as NaN. A light curve concatenates one image record
and one record per star for each image, so numpy reads the whole curve as one structured
array (:func:`dtype`) and the database evaluates no expression per value.

The expressions here are the ones the migration created the columns with, for the models;
the migration keeps its own copy, as migrations do.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FLUX_FIELDS", "FLUX_RECORD", "IMAGE_FIELDS", "IMAGE_RECORD", "MISSING_FLUX", "dtype"]

# (name in the light-curve frame, the column's binary value, its numpy type)
IMAGE_FIELDS = [
    ("image_id", "int8send(id)", ">i8"),
    ("_time_us", "timestamptz_send(exposure_mid)", ">i8"),  # microseconds since 2000-01-01
    ("jd", "float8send(coalesce(jd_mid, 'NaN'))", ">f8"),
    ("hjd", "float8send(coalesce(hjd, 'NaN'))", ">f8"),
    ("_observer_id", "int8send(observer_id)", ">i8"),
    ("exposure_s", "float8send(coalesce(exposure_time_s, 'NaN'))", ">f8"),
]
FLUX_FIELDS = [
    ("ra_deg", "float8send(ra_deg)", ">f8"),
    ("dec_deg", "float8send(dec_deg)", ">f8"),
    ("ap_auto", "float8send(coalesce(ap_auto, 'NaN'))", ">f8"),
    ("ap_auto_dev", "float8send(coalesce(ap_auto_dev, 'NaN'))", ">f8"),
    ("ap_auto_saturated", "boolsend(ap_auto_saturated)", "?"),
]
IMAGE_RECORD = " || ".join(expr for _, expr, _ in IMAGE_FIELDS)
FLUX_RECORD = " || ".join(expr for _, expr, _ in FLUX_FIELDS)

# A star missing from an image (an optional check star): no position or flux, not saturated.
MISSING_FLUX = np.array([(np.nan, np.nan, np.nan, np.nan, False)],
                        dtype=[(n, t) for n, _, t in FLUX_FIELDS]).tobytes()  # fmt: skip


def dtype(stars: list[str]) -> np.dtype:
    """The numpy type of a light-curve row: the image record, then each star's flux record.

    Parameters
    ----------
    stars : list of str
        The stars' aliases, in the order their records follow the image's; a star's fields are
        named ``{alias}_{field}``.
    """
    fields = [(name, kind) for name, _, kind in IMAGE_FIELDS]
    for alias in stars:
        fields += [(f"{alias}_{name}", kind) for name, _, kind in FLUX_FIELDS]
    return np.dtype(fields)
