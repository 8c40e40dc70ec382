"""Comparison stars chosen automatically: the constant stars around a variable that are most like
it, AAVSO-style.

The variability statistics every star keeps (:mod:`aphos_lib.variability`) say which stars of
the field are constant: measured often, scattering no more than the field's noise at their
magnitude (:mod:`aphos_lib.variable_finder`), and not known variables. Among them the ones
nearest the variable in magnitude and colour (a comparison of the same brightness and colour
cancels the sky's and the camera's colour terms and shares the noise), then on the sky, are
the comparison ensemble, and the next one the check star.

>>> from aphos_lib import connect                                  # doctest: +SKIP
>>> picked = choose_comparisons(connect().conn, "UCAC4:805-031770")  # doctest: +SKIP
>>> picked.comparisons, picked.check                                 # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import psycopg

from aphos_lib.search import resolve_object
from aphos_lib.variable_finder import find_variables

__all__ = [
    "FIELD_RADIUS_DEG",
    "MAX_EXCESS",
    "AutoComparisons",
    "NoComparisonStars",
    "choose_comparisons",
]

#: How far from the variable comparison stars are looked for (degrees): a CCD field.
FIELD_RADIUS_DEG = 0.25
#: A comparison scatters at most this much more than the field's noise at its magnitude.
MAX_EXCESS = 1.25
# What a magnitude of difference weighs against a colour difference and a distance: a star
# 0.1 mag bluer counts as 0.5 mag fainter; 10' away as 0.1 mag.
_COLOUR_WEIGHT = 5.0
_DISTANCE_WEIGHT_PER_DEG = 0.6


class NoComparisonStars(ValueError):
    """No constant star around the variable is measured often enough to compare with."""


@dataclass(frozen=True)
class AutoComparisons:
    """The comparison stars and the check star chosen for a variable.

    Attributes
    ----------
    comparisons : list of str
        ``CATALOG:ID`` of each comparison (best first).
    check : str or None
        ``CATALOG:ID`` of the check star.
    candidates : pandas.DataFrame
        The constant stars considered, best first, with ``score``: the finder's columns and
        the star's difference from the variable in magnitude, colour and position.
    """

    comparisons: list[str]
    check: str | None
    candidates: pd.DataFrame


def choose_comparisons(
    conn: psycopg.Connection,
    variable,
    *,
    n: int = 5,
    filter: str | None = None,
    radius_deg: float = FIELD_RADIUS_DEG,
) -> AutoComparisons:
    """The ``n`` constant stars most like ``variable`` around it, and a check star.

    Parameters
    ----------
    conn : psycopg.Connection
    variable : str, tuple or CatalogObject
        The variable star.
    n : int
        How many comparison stars (an ensemble when more than one).
    filter : str, optional
        The filter whose statistics say which stars are constant (default: the field's most
        observed).
    radius_deg : float
        How far from the variable to look.

    Returns
    -------
    AutoComparisons

    Raises
    ------
    NoComparisonStars
        When the field has no constant star measured often enough.
    """
    var = resolve_object(conn, variable)
    found = find_variables(conn, ra=var.ra_deg, dec=var.dec_deg, radius=radius_deg, filter=filter)
    frame = found.frame
    own = (
        frame["star"] == var.star
        if var.star is not None
        else frame["label"] == f"{var.catalog} {var.catalog_id}"
    )
    typical_n = float(frame["n"].median()) if len(frame) else 0.0
    constant = (
        ~own
        & ~frame["known_variable"]
        & (frame["excess"] <= MAX_EXCESS)
        & (frame["n"] >= 0.5 * typical_n)
        & np.isfinite(frame["mag"])
    )
    candidates = frame[constant].copy()
    if not len(candidates):
        raise NoComparisonStars(
            f"no constant star within {radius_deg * 60:g}' of {var.label} is measured often "
            "enough to compare with: choose the comparison yourself"
        )
    target_mag = var.mag if var.mag is not None else float(frame.loc[own, "mag"].median())
    colour = np.where(pd.isna(candidates["bv"]), np.nan, candidates["bv"].astype(float))
    dcolour = np.abs(colour - var.bv) if var.bv is not None else np.zeros(len(candidates))
    distance = _separation(var.ra_deg, var.dec_deg, candidates["ra_deg"], candidates["dec_deg"])
    candidates["delta_mag"] = candidates["mag"] - target_mag
    candidates["delta_bv"] = dcolour
    candidates["distance_deg"] = distance
    candidates["score"] = (
        np.abs(candidates["delta_mag"])
        + _COLOUR_WEIGHT * np.nan_to_num(dcolour, nan=0.3)  # unknown colour: a poor match
        + _DISTANCE_WEIGHT_PER_DEG * distance
    )
    candidates = candidates.sort_values("score", kind="stable").reset_index(drop=True)
    refs = [label.replace(" ", ":", 1) for label in candidates["label"]]
    return AutoComparisons(
        comparisons=refs[:n],
        check=refs[n] if len(refs) > n else None,
        candidates=candidates,
    )


def _separation(ra, dec, ras, decs) -> np.ndarray:
    """Great-circle distances in degrees (haversine)."""
    ra, dec = np.radians(ra), np.radians(dec)
    ras, decs = np.radians(np.asarray(ras, float)), np.radians(np.asarray(decs, float))
    h = np.sin((decs - dec) / 2) ** 2 + np.cos(dec) * np.cos(decs) * np.sin((ras - ra) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.minimum(h, 1.0))))
