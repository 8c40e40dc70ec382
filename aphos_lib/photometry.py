"""Differential photometry: a variable star against a comparison star (or an ensemble).

One row per image in which the variable and every comparison star were measured. For each
row the aperture is chosen per night and per star (ApAuto unless asked otherwise), and

    m = -2.5 log10(F_var / F_cmp)
    sigma_m = 2.5 / ln(10) * sqrt((s_var / F_var)^2 + (s_cmp / F_cmp)^2)

An ensemble comparison sums its stars' fluxes and adds their deviations in quadrature. A
magnitude is only given when both fluxes are positive numbers and neither is saturated; its
deviation only when both deviations are known. A night is one observer's session from local
noon to local noon (the observer's longitude when known, else 12:00 UTC), named by the date
on which it began.

The stars' measurements are read by :mod:`aphos_lib.light_curve_read` (which applies the rules
of :mod:`aphos_lib.light_curve_rules`: the night, the JD, one source per star and image); the
magnitudes are computed here with numpy.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import psycopg

from aphos_lib.aperture_choice import AUTO, ApertureChoice
from aphos_lib.curve_columns import add_times, lower_names, take_rows
from aphos_lib.light_curve_read import StarSpec, read_columns
from aphos_lib.search import resolve_objects

__all__ = [
    "AUTO",
    "ApertureChoice",
    "differential_magnitude",
    "differential_photometry",
    "ensemble_flux",
    "narrow_rows",
]

_POGSON = 2.5 / math.log(10)


def differential_magnitude(
    var_flux, var_dev, cmp_flux, cmp_dev, saturated=None
) -> tuple[np.ndarray, np.ndarray]:
    """Magnitudes and deviations of a variable against a comparison, element by element.

    NaN where a flux is missing, not positive or saturated (magnitude and deviation), or
    where a deviation is unknown (deviation only).

    Examples
    --------
    >>> m, s = differential_magnitude([1000.0], [10.0], [4000.0], [20.0])
    >>> round(float(m[0]), 4), round(float(s[0]), 5)
    (1.5051, 0.01214)
    """
    fv, sv = np.asarray(var_flux, float), np.asarray(var_dev, float)
    fc, sc = np.asarray(cmp_flux, float), np.asarray(cmp_dev, float)
    usable = (fv > 0) & (fc > 0)  # NaN compares False: missing fluxes drop out here too
    if saturated is not None:
        usable &= ~np.asarray(saturated, bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        magnitude = np.where(usable, -2.5 * np.log10(fv / fc), np.nan)
        deviation = np.where(usable, _POGSON * np.hypot(sv / fv, sc / fc), np.nan)
    return magnitude, deviation


def ensemble_flux(fluxes: Sequence, deviations: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """The summed flux of comparison stars and its deviation (quadrature sum).

    Missing anywhere stays missing: a sum with a star left out is not comparable with the
    sums of other images.
    """
    flux = np.sum(np.asarray(fluxes, float), axis=0)
    deviation = np.sqrt(np.sum(np.asarray(deviations, float) ** 2, axis=0))
    return flux, deviation


_STAR_FIELDS = [
    "ra_deg",
    "dec_deg",
    "ap_auto",
    "ap_auto_dev",
    "ap_auto_saturated",
    "aperture",
    "flux",
    "flux_dev",
    "saturated",
]


def differential_photometry(
    conn: psycopg.Connection,
    variable,
    comparison=None,
    *,
    check=None,
    aperture="auto",
    comparison_aperture="auto",
    check_aperture=None,
    include_saturated: bool = False,
    observers: Iterable[str] | None = None,
    exclude_observers: Iterable[str] | None = None,
    as_of: dt.datetime | str | None = None,
    with_apertures: bool = False,
):
    """The light curve of ``variable`` against ``comparison``, one row per image.

    Parameters
    ----------
    conn : psycopg.Connection
        A connection to the catalogue (the read-only role is enough).
    variable : str, tuple or CatalogObject
        The variable star: ``"UCAC4:805-031770"``, ``("UCAC4", "805-031770")`` or an object.
    comparison : object, list of objects or ``"auto"``, optional
        The comparison star, or several (an ensemble: fluxes summed). None: no comparison,
        calibrated magnitudes (:func:`aphos_lib.calibrated_photometry.calibrated_photometry`;
        no check star, no aperture lists). ``"auto"``: the five
        constant stars of the field most like the variable in magnitude and colour
        (:func:`aphos_lib.auto_comparison.choose_comparisons`), and the next one as the check
        star unless one is given; ``meta["auto_comparisons"]`` lists the candidates.
    check : object, optional
        A check star, measured against the same comparison: its scatter shows how good each
        night is.
    aperture, comparison_aperture : str, int or mapping
        The aperture of the variable and of the comparison: ``"auto"`` (ApAuto, the
        default), a number 1..N, or ``{night: aperture}`` with nights as dates or
        ``"YYYY-MM-DD"`` (see :class:`ApertureChoice`).
    check_aperture : optional
        The check star's aperture; the variable's when not given.
    include_saturated : bool
        Also return the rows where a star is saturated (they never get a magnitude).
    observers, exclude_observers : list of str, optional
        Keep only these observers / leave these out (usernames, any case).
    as_of : datetime or ISO string, optional
        Only data uploaded by then, so that an analysis can be repeated later exactly.
    with_apertures : bool
        Also return every aperture's flux, deviation and saturation of each star as lists.

    Returns
    -------
    aphos_lib.lightcurve.LightCurve
    """
    from aphos_lib.lightcurve import LightCurve

    if comparison is None:
        from aphos_lib.calibrated_photometry import calibrated_photometry

        if check is not None or with_apertures:
            raise ValueError("a check star and every aperture's lists need a comparison star")
        return calibrated_photometry(
            conn,
            variable,
            aperture=aperture,
            include_saturated=include_saturated,
            observers=observers,
            exclude_observers=exclude_observers,
            as_of=as_of,
        )
    auto = None
    if isinstance(comparison, str) and comparison.strip().lower() == "auto":
        from aphos_lib.auto_comparison import choose_comparisons

        auto = choose_comparisons(conn, variable)
        comparison = auto.comparisons
        if check is None:
            check = auto.check
    members = _as_list(comparison)
    var, *comparisons = resolve_objects(
        conn, [variable, *members, *([] if check is None else [check])]
    )
    chk = comparisons.pop() if check is not None else None
    choices = {
        "var": ApertureChoice.parse(aperture),
        "cmp": ApertureChoice.parse(comparison_aperture),
        "chk": ApertureChoice.parse(aperture if check_aperture is None else check_aperture),
    }
    if isinstance(as_of, str):
        as_of = dt.datetime.fromisoformat(as_of)
    if as_of is not None and as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware (e.g. 2026-11-24T12:00:00+00:00)")

    stars = [StarSpec("v", var, choices["var"])]
    stars += [StarSpec(f"c{k}", c, choices["cmp"]) for k, c in enumerate(comparisons)]
    if chk is not None:
        stars.append(StarSpec("k", chk, choices["chk"], optional=True))
    frame = read_columns(
        conn,
        stars,
        observers=lower_names(observers),
        exclude_observers=lower_names(exclude_observers),
        as_of=as_of,
        with_apertures=with_apertures,
    )
    frame = add_times(frame, var)
    frame = _magnitudes(frame, len(comparisons), chk is not None)
    if not include_saturated and frame["saturated"].any():
        keep = ~frame["saturated"]
        frame = {name: take_rows(column, keep) for name, column in frame.items()}
    frame = pd.DataFrame(frame)  # built once: every column added before costs a copy
    meta = {
        "variable": var,
        "comparisons": comparisons,
        "check": chk,
        "aperture": choices["var"],
        "comparison_aperture": choices["cmp"],
        "check_aperture": choices["chk"],
        "include_saturated": include_saturated,
        "observers": lower_names(observers),
        "exclude_observers": lower_names(exclude_observers),
        "as_of": as_of,
        "queried_at": dt.datetime.now(dt.UTC),
    }
    if auto is not None:
        meta["auto_comparisons"] = auto.candidates
    return LightCurve(frame, meta)


def narrow_rows(
    curve, *, include_saturated: bool = False, exclude_observers: Iterable[str] | None = None
):
    """``curve`` as :func:`differential_photometry` would have read it with these row filters.

    A page that first reads a curve with its saturated rows and every observer (to know all
    the observers and nights) gets its opening view from that read, not from a second query.

    Parameters
    ----------
    curve : aphos_lib.lightcurve.LightCurve
        Read with ``include_saturated=True`` and no observer left out.
    include_saturated : bool
        Keep the rows where a star is saturated.
    exclude_observers : list of str, optional
        Leave these observers' rows out (usernames, any case).

    Returns
    -------
    aphos_lib.lightcurve.LightCurve
        The kept rows, numbered from 0, with the meta of such a read.

    Raises
    ------
    ValueError
        When ``curve`` was itself read without saturated rows or without some observers.
    """
    from aphos_lib.lightcurve import LightCurve

    if not curve.meta["include_saturated"] or curve.meta["exclude_observers"]:
        raise ValueError("narrow a curve read with its saturated rows and every observer")
    excluded = lower_names(exclude_observers) or []
    keep = ~curve.data["observer"].str.lower().isin(excluded)
    if not include_saturated:
        keep &= ~curve.data["saturated"]
    meta = {
        **curve.meta,
        "include_saturated": include_saturated,
        "exclude_observers": lower_names(exclude_observers),
    }
    return LightCurve(curve.data[keep.to_numpy()].reset_index(drop=True), meta)


def _as_list(value) -> list:
    if isinstance(value, list):
        if not value:
            raise ValueError("an ensemble needs at least one comparison star")
        return value
    return [value]


def _magnitudes(frame: dict, n_comparisons: int, has_check: bool) -> dict:
    """Add the comparison's (ensemble) columns, magnitude, deviation and the saturated flag."""
    cmp_aliases = [f"c{k}" for k in range(n_comparisons)]
    flux, dev = ensemble_flux(
        [frame[f"{a}_flux"] for a in cmp_aliases], [frame[f"{a}_flux_dev"] for a in cmp_aliases]
    )
    cmp_saturated = np.logical_or.reduce([frame[f"{a}_saturated"] for a in cmp_aliases])
    renames = _renames(n_comparisons)
    frame = {renames.get(name, name): column for name, column in frame.items()}
    frame["cmp_flux"], frame["cmp_flux_dev"], frame["cmp_saturated"] = flux, dev, cmp_saturated
    if n_comparisons > 1:  # the members share one aperture choice
        frame["cmp_aperture"] = frame["cmp1_aperture"]
    saturated = frame["var_saturated"] | cmp_saturated
    frame["magnitude"], frame["deviation"] = differential_magnitude(
        frame["var_flux"], frame["var_flux_dev"], flux, dev, saturated
    )
    frame["saturated"] = saturated
    frame = {name: column for name, column in frame.items() if not name.startswith("_")}
    if has_check:
        frame["check_magnitude"], frame["check_deviation"] = differential_magnitude(
            frame["check_flux"],
            frame["check_flux_dev"],
            flux,
            dev,
            frame["check_saturated"] | cmp_saturated,
        )
    return frame


def _renames(n_comparisons: int) -> dict[str, str]:
    """Column prefixes users read: var_, cmp_ (one comparison) or cmp1_.. (ensemble), check_."""
    renames = {}
    fields = _STAR_FIELDS + ["ap", "ap_dev", "ap_saturated"]
    for f in fields:
        renames[f"v_{f}"] = f"var_{f}"
        renames[f"k_{f}"] = f"check_{f}"
        for k in range(n_comparisons):
            prefix = "cmp" if n_comparisons == 1 else f"cmp{k + 1}"
            renames[f"c{k}_{f}"] = f"{prefix}_{f}"
    if n_comparisons == 1:
        # A single comparison's flux columns are the ensemble's: computed once, named once.
        for f in ("flux", "flux_dev", "saturated"):
            renames[f"c0_{f}"] = f"_c0_{f}"
    return renames
