"""The variable-star finder: the stars of a field ranked by how much more they scatter than a
constant star of their brightness does there.

Every star's variability statistics are kept as images arrive (:mod:`aphos_lib.variability`);
the finder reads a cone's, in one filter, and fits the field's noise curve: the scatter of
its stars against their mean calibrated magnitude, as the median of ``log10(std)`` in bins of
equal numbers of stars, linear in ``log10(std)`` between the bins' median magnitudes (flat
beyond them). The
median ignores the few variables, so the curve is what constant stars show at that
brightness, whatever the observers' cameras and nights did. A star's ``excess`` is its weighted
standard deviation over that expected scatter; the stars are ranked by it. With fewer than
:data:`MIN_CURVE_STARS` stars the expected scatter is each star's own error (``err_rms``).

Known variables (a name in the GCVS style: ``GK Cep``, ``V1143 Cyg``, ``DY Peg``) are marked.

>>> from aphos_lib import connect                                   # doctest: +SKIP
>>> found = find_variables(connect().conn, ra="21 41 55", dec="+71 18 40", radius="20arcmin")
... # doctest: +SKIP
>>> found.frame[["rank", "label", "mag", "excess"]].head()          # doctest: +SKIP
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import psycopg

from aphos_lib.coordinates import parse_radius, sky_position
from aphos_lib.queries import objects as object_statements
from aphos_lib.queries import variability as statements

__all__ = [
    "MAX_RADIUS_DEG",
    "MIN_CURVE_STARS",
    "MIN_POINTS",
    "VariableCandidates",
    "find_variables",
    "is_known_variable",
    "noise_curve",
]

#: Stars with fewer points in the filter are not ranked.
MIN_POINTS = 10
#: A field needs this many ranked stars for its noise curve.
MIN_CURVE_STARS = 15
#: The widest field the finder reads (degrees): a few CCD fields.
MAX_RADIUS_DEG = 2.0
_STARS_PER_BIN = 20
# GCVS names: one or two letters, or V and a number, then a constellation's abbreviation.
_GCVS = re.compile(r"^(?:[A-Z]{1,2}|V\d{3,4})\s+[A-Z][a-z]{2}$")


def is_known_variable(name: str | None) -> bool:
    """Whether a star's name is a GCVS-style variable-star designation.

    Examples
    --------
    >>> [is_known_variable(n) for n in ("GK Cep", "V1143 Cyg", "HD 12345", None, "Vega")]
    [True, True, False, False, False]
    """
    return isinstance(name, str) and _GCVS.match(name.strip()) is not None


@dataclass
class VariableCandidates:
    """A field's stars ranked by their excess scatter.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per ranked star, best candidate first: ``rank``, ``star``, ``label`` (its
        leading identifier), ``identifiers``, ``name``, ``ra_deg``, ``dec_deg``,
        ``catalog_mag``, ``bv``, ``filter``, ``n``, ``mag`` (weighted mean calibrated
        magnitude), ``std``, ``expected_std``, ``excess``, ``chi2_dof``, ``robust_std``,
        ``eta``, ``stetson_j``, ``amplitude``, ``err_rms``, ``first_jd``, ``last_jd``,
        ``known_variable``.
    filter : str or None
        The filter ranked (None: the field has no statistics).
    filters : list of str
        Every filter the field's stars have statistics in.
    curve : pandas.DataFrame
        The field's noise curve: ``mag`` and ``expected_std`` at the bins' centres.
    centre : (float, float)
        RA and Dec (degrees).
    radius : float
        Degrees.
    """

    frame: pd.DataFrame
    filter: str | None
    filters: list[str]
    curve: pd.DataFrame
    centre: tuple[float, float]
    radius: float
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.frame)

    def ref(self, rank: int = 1) -> str:
        """The ``CATALOG:ID`` of the star at ``rank`` (1: the best candidate), as
        ``archive.lightcurve`` takes it."""
        row = self.frame[self.frame["rank"] == rank]
        if not len(row):
            raise IndexError(f"no star at rank {rank} ({len(self.frame)} ranked)")
        return row["label"].iloc[0].replace(" ", ":", 1)

    def plot(self, ax=None, marked: int = 10, **style):
        """Scatter against magnitude with the field's noise curve
        (:func:`aphos_lib.plotting.plot_variability`)."""
        from aphos_lib.plotting import plot_variability

        return plot_variability(self, ax, marked, **style)

    def _repr_html_(self) -> str:
        return self.frame.head(20)._repr_html_()

    def records(self, limit: int | None = None) -> list[dict]:
        """The first ``limit`` rows as JSON-ready dicts (NaN as None)."""
        rows = self.frame if limit is None else self.frame.head(limit)
        out = []
        for row in rows.to_dict("records"):
            out.append(
                {
                    k: (None if isinstance(v, float) and not np.isfinite(v) else _plain(v))
                    for k, v in row.items()
                }
            )
        return out


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    return value


def noise_curve(mag: np.ndarray, std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The field's expected scatter at each bin's median magnitude: the median of
    ``log10(std)`` over bins of about 20 stars (at least 3 bins' worth of stars needed).

    Examples
    --------
    >>> mag = np.linspace(9, 15, 100)
    >>> std = 0.002 * 10 ** (0.2 * (mag - 9))
    >>> std[10] = 1.0                                   # a variable: the median ignores it
    >>> x, y = noise_curve(mag, std)
    >>> inside = (mag >= x[0]) & (mag <= x[-1]) & (std < 1.0)
    >>> expected = 10 ** np.interp(mag, x, np.log10(y))    # linear in log scatter
    >>> bool(np.allclose(expected[inside], std[inside], rtol=0.02, atol=0))
    True
    """
    order = np.argsort(mag)
    mag, log_std = mag[order], np.log10(std[order])
    bins = max(3, len(mag) // _STARS_PER_BIN)
    edges = np.linspace(0, len(mag), bins + 1).astype(int)
    x = np.array([np.median(mag[a:b]) for a, b in zip(edges[:-1], edges[1:], strict=True)])
    y = np.array([np.median(log_std[a:b]) for a, b in zip(edges[:-1], edges[1:], strict=True)])
    return x, 10**y


def find_variables(
    conn: psycopg.Connection,
    *,
    ra=None,
    dec=None,
    radius=None,
    coord=None,
    filter: str | None = None,
    min_points: int = MIN_POINTS,
) -> VariableCandidates:
    """Rank the stars of a cone by their scatter over the field's noise at their magnitude.

    Parameters
    ----------
    conn : psycopg.Connection
        A connection to the catalogue (the read-only role is enough).
    ra, dec, coord, radius
        The field, as for :func:`aphos_lib.search.search_objects`; at most
        :data:`MAX_RADIUS_DEG`.
    filter : str, optional
        The filter to rank in (``""``: images without a filter); by default the one with the
        most points in the field.
    min_points : int
        Stars with fewer points in the filter are left out.

    Returns
    -------
    VariableCandidates

    Raises
    ------
    ValueError
        Without a field, or one wider than :data:`MAX_RADIUS_DEG`.
    """
    if radius is None or (ra is None and dec is None and coord is None):
        raise ValueError("the finder needs a field: a position and a radius")
    ra_deg, dec_deg = sky_position(ra, dec, coord)
    radius_deg = parse_radius(radius)
    if radius_deg > MAX_RADIUS_DEG:
        raise ValueError(f"the finder reads fields of at most {MAX_RADIUS_DEG:g} degrees radius")
    boxes = object_statements.cone_boxes(ra_deg, dec_deg, radius_deg)
    rows = statements.field(boxes, ra_deg, dec_deg, radius_deg, filter).rows(conn)
    frame = pd.DataFrame(rows, columns=list(statements.FIELD_COLUMNS))
    filters = sorted(set(frame["filter"]))
    chosen = filter
    if chosen is None and len(frame):
        chosen = str(frame.groupby("filter")["n"].sum().idxmax())
    frame = frame[(frame["filter"] == chosen) & (frame["n"] >= min_points)]
    frame = frame[np.isfinite(frame["std_mag"].astype(float))].copy()
    frame = frame.rename(columns={"mean_mag": "mag", "std_mag": "std"})
    mag, std = frame["mag"].to_numpy(float), frame["std"].to_numpy(float)
    err = frame["err_rms"].to_numpy(float)
    usable = std > 0
    if usable.sum() >= MIN_CURVE_STARS:
        x, y = noise_curve(mag[usable], std[usable])
        expected = 10 ** np.interp(mag, x, np.log10(y))
    else:
        x, y = np.empty(0), np.empty(0)
        expected = err
    frame["expected_std"] = expected
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["excess"] = std / expected
    frame["name"] = pd.Series(  # None, never NaN, where a star has no name
        [n if isinstance(n, str) else None for n in frame["name"]], index=frame.index, dtype=object
    )
    frame["known_variable"] = [is_known_variable(n) for n in frame["name"]]
    frame["label"] = frame["catalog"] + " " + frame["catalog_id"]
    frame = frame.sort_values(["excess", "n"], ascending=[False, False], kind="stable")
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    columns = [
        "rank", "star", "label", "identifiers", "name", "ra_deg", "dec_deg", "catalog_mag",
        "bv", "filter", "n", "mag", "std", "expected_std", "excess", "chi2_dof", "robust_std",
        "eta", "stetson_j", "amplitude", "err_rms", "first_jd", "last_jd", "known_variable",
    ]  # fmt: skip
    return VariableCandidates(
        frame=frame[columns].reset_index(drop=True),
        filter=chosen,
        filters=filters,
        curve=pd.DataFrame({"mag": x, "expected_std": y}),
        centre=(ra_deg, dec_deg),
        radius=radius_deg,
    )
