"""Calibrated photometry: one star's magnitudes on the catalogue's scale, with no comparison star.

Each image keeps its photometric solution per aperture (:mod:`aphos_lib.photometric_solution`,
fitted over every catalogued star it measured). A star's calibrated magnitude in an image is

    m = -2.5 log10(F) + ZP + T (B-V - c0)

with its catalogue B-V (the reference colour ``c0`` when it has none), and its error the
flux's and the solution's at that colour (zero point, colour term and their covariance), so
curves of one star by several observers in one filter line up without offsets. Computed from
the stored solutions when read, never stored. ``transformed`` marks rows where a colour term
was applied to a known colour (the magnitude is on the catalogue's standard system).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd
import psycopg

from aphos_lib.aperture_choice import ApertureChoice
from aphos_lib.curve_columns import add_times, lower_names, take_rows
from aphos_lib.light_curve_read import StarSpec, read_columns
from aphos_lib.photometric_solution import calibrated_magnitudes, instrumental_magnitudes
from aphos_lib.queries import solutions as statements
from aphos_lib.search import resolve_objects

__all__ = ["calibrated_photometry", "solutions_at"]


def solutions_at(conn: psycopg.Connection, image_ids, apertures) -> dict[str, np.ndarray]:
    """The stored solution of each (image, aperture) pair as float arrays named as
    :data:`aphos_lib.queries.solutions.ROW_FIELDS` (NaN where there is none)."""
    row = statements.at_rows(image_ids, apertures).one(conn)
    return {
        name: np.frombuffer(raw or b"", dtype=">f8").astype(float)
        for name, raw in zip(statements.ROW_FIELDS, row, strict=True)
    }


def calibrated_photometry(
    conn: psycopg.Connection,
    star,
    *,
    aperture="auto",
    include_saturated: bool = False,
    observers: Iterable[str] | None = None,
    exclude_observers: Iterable[str] | None = None,
    as_of: dt.datetime | str | None = None,
):
    """The calibrated light curve of ``star``, one row per image that measured it.

    Parameters
    ----------
    conn : psycopg.Connection
        A connection to the catalogue (the read-only role is enough).
    star : str, tuple or CatalogObject
        ``"UCAC4:805-031770"``, ``("UCAC4", "805-031770")`` or an object.
    aperture : str, int or mapping
        ``"auto"`` (ApAuto), a number 1..N, or ``{night: aperture}``.
    include_saturated : bool
        Also the rows where the star is saturated (without a magnitude).
    observers, exclude_observers : list of str, optional
        Keep only these observers, or leave these out.
    as_of : datetime or ISO string, optional
        Only data uploaded by then.

    Returns
    -------
    aphos_lib.lightcurve.LightCurve
        Columns as a differential curve's for the variable (``var_``), then ``zero_point``,
        ``zero_point_err``, ``colour_term``, ``solution_stars`` and ``solution_rms`` of each
        image's solution, ``transformed``, ``magnitude`` and ``deviation``; its meta has
        ``calibrated`` True and no comparisons. Images without a solution in the aperture
        have no magnitude.
    """
    from aphos_lib.lightcurve import LightCurve

    (var,) = resolve_objects(conn, [star])
    choice = ApertureChoice.parse(aperture)
    if isinstance(as_of, str):
        as_of = dt.datetime.fromisoformat(as_of)
    if as_of is not None and as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware (e.g. 2026-11-24T12:00:00+00:00)")
    keep_observers = lower_names(observers)
    leave_out = lower_names(exclude_observers)
    frame = read_columns(
        conn,
        [StarSpec("v", var, choice)],
        observers=keep_observers,
        exclude_observers=leave_out,
        as_of=as_of,
    )
    frame = add_times(frame, var)
    frame = {(f"var_{k[2:]}" if k.startswith("v_") else k): v for k, v in frame.items()}
    solution = solutions_at(conn, frame["image_id"], frame["var_aperture"])
    inst, inst_err = instrumental_magnitudes(frame["var_flux"], frame["var_flux_dev"])
    colour = np.full(len(inst), np.nan if var.bv is None else float(var.bv))
    magnitude, deviation = calibrated_magnitudes(
        inst,
        inst_err,
        colour,
        **{k: v for k, v in solution.items() if k not in ("rms", "n_stars")},
    )
    saturated = np.asarray(frame["var_saturated"], dtype=bool)
    magnitude = np.where(saturated, np.nan, magnitude)
    deviation = np.where(np.isfinite(magnitude), deviation, np.nan)
    frame.update(
        zero_point=solution["zero_point"],
        zero_point_err=solution["zero_point_err"],
        colour_term=solution["colour_term"],
        solution_stars=solution["n_stars"],
        solution_rms=solution["rms"],
        transformed=np.isfinite(solution["colour_term"]) & np.isfinite(colour),
        magnitude=magnitude,
        deviation=deviation,
        saturated=saturated,
    )
    if not include_saturated and saturated.any():
        frame = {name: take_rows(column, ~saturated) for name, column in frame.items()}
    meta = {
        "variable": var,
        "comparisons": [],
        "check": None,
        "calibrated": True,
        "aperture": choice,
        "comparison_aperture": None,
        "check_aperture": None,
        "include_saturated": include_saturated,
        "observers": keep_observers,
        "exclude_observers": leave_out,
        "as_of": as_of,
        "queried_at": dt.datetime.now(dt.UTC),
    }
    return LightCurve(pd.DataFrame(frame), meta)
