"""Times of minimum and maximum of a light curve, night by night, and their O-C.

A light curve is cut into groups of one night, one observer and one filter. In each, the
segments that cover an extremum are found from the data (a smoothed curve's peaks, kept when
both branches reach half the peak's depth) or, given an ephemeris, around the predicted
times; each segment is timed by Kwee-van Woerden and cross-checked by a symmetric polynomial
fit with bootstrap errors (minima), or by a polynomial fit with bootstrap errors and KvW as
the check (maxima, which are often asymmetric). :func:`extrema` returns one row per extremum.

Rows carry what minima databases take: the time and its error, the time scale, the type
(primary or secondary), the method, the filter and the observer, and how well the segment
covers the extremum (points before and after it). The error is the larger of the method's own
(``formal_error_d``: KvW's formula) and the cross-check's bootstrap error: on real nights,
with one branch covered better than the other, KvW's formula alone puts the true time
outside 3 errors about one time in eight.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from aphos_lib.ephemeris import Ephemeris, EphemerisError, fit_ephemeris
from aphos_lib.extremum_fit import (
    ExtremumTime,
    SegmentError,
    kwee_van_woerden,
    polynomial_extremum,
    symmetric_polynomial,
)

__all__ = ["EXPORT_COLUMNS", "EXTREMUM_COLUMNS", "Timings", "extrema", "find_segments", "o_c_table"]

EXTREMUM_COLUMNS = (
    "time",
    "error_d",
    "formal_error_d",
    "time_scale",
    "kind",
    "type",
    "method",
    "n",
    "n_before",
    "n_after",
    "depth_mag",
    "check_time",
    "check_error_d",
    "check_method",
    "observer",
    "night",
    "filter",
)
_MIN_GROUP = 12  # points of a night below which no extremum is looked for
_MIN_BRANCH = 3  # points each side of the extremum
# A minimum counts as covered when its shallower branch falls this fraction of the deeper
# one's depth: "both branches to half the depth", less the smoothing's rounding of the peak.
_BRANCH_DEPTH = 0.4
# A pulsating star's maximum: a steep rise and a decline several times slower, so that a
# night holds much less of the decline: a fifth of the rise is enough.
_MAXIMUM_BRANCH_DEPTH = 0.2
_SECONDARY_DEPTH = 0.8  # a minimum shallower than this fraction of the deepest: secondary


def _noise(m: np.ndarray) -> float:
    """Point-to-point scatter: the MAD of successive differences, as one point's sigma."""
    if len(m) < 3:
        return math.nan
    d = np.diff(m)
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / math.sqrt(2))


def _smooth(m: np.ndarray, width: int) -> np.ndarray:
    return pd.Series(m).rolling(width, center=True, min_periods=1).median().to_numpy()


def find_segments(
    t, m, *, maximum: bool = False, ephemeris: Ephemeris | None = None, window: float = 0.06
) -> list[tuple[np.ndarray, float]]:
    """The segments of one night's curve that cover an extremum.

    Parameters
    ----------
    t, m : array_like
        Times (days, sorted) and magnitudes of one night of one observer in one filter.
    maximum : bool
        Look for maxima of light instead of minima.
    ephemeris : Ephemeris, optional
        Look around its predicted times (and, for minima, the half cycles) only.
    window : float
        With an ephemeris, half the segment's length in units of the period.

    Returns
    -------
    list of (indices, depth)
        The points of each segment (symmetric about the extremum, both branches reaching
        half its depth) and its depth in magnitudes.

    Examples
    --------
    >>> t = np.linspace(0, 0.3, 120)
    >>> m = 10 + 0.3 * np.exp(-0.5 * ((t - 0.14) / 0.03) ** 2)
    >>> [(len(i), round(d, 2)) for i, d in find_segments(t, m)]
    [(41, 0.29)]
    """
    t = np.asarray(t, dtype=float)
    m = np.asarray(m, dtype=float)
    if len(t) < _MIN_GROUP:
        return []
    sign = -1.0 if maximum else 1.0
    y = sign * m  # an extremum is a peak of y
    width = max(5, (len(t) // 12) | 1)
    smooth = _smooth(y, width)
    noise = _noise(m)
    if ephemeris is not None:
        return _predicted_segments(t, y, smooth, ephemeris, window, maximum)
    from scipy.signal import find_peaks

    least = max(5 * noise / math.sqrt(width), 0.01)
    peaks, _ = find_peaks(smooth, prominence=least)
    candidates = []
    for peak in peaks:
        # How far the curve falls on each side within the night: a minimum is covered when
        # the shallower side falls at least half as far as the deeper (both branches to
        # half the depth); one caught at the start or end of a night is not.
        drop_left = smooth[peak] - smooth[:peak].min() if peak else 0.0
        drop_right = smooth[peak] - smooth[peak + 1 :].min() if peak < len(t) - 1 else 0.0
        shallow, deep = sorted((drop_left, drop_right))
        if (
            shallow < least
            or shallow < (_MAXIMUM_BRANCH_DEPTH if maximum else _BRANCH_DEPTH) * deep
        ):
            continue
        level = smooth[peak] - shallow / 2
        left = np.nonzero(smooth[:peak] < level)[0]
        right = np.nonzero(smooth[peak + 1 :] < level)[0]
        half = min(t[peak] - t[left[-1]], t[peak + 1 + right[0]] - t[peak])
        segment = _symmetric(t, t[peak], 1.5 * half)
        if segment is not None:
            candidates.append((segment, float(deep), float(shallow)))
    # Noise can split one minimum into several peaks: of overlapping segments, the deepest.
    segments: list[tuple[np.ndarray, float]] = []
    for segment, deep, _shallow in sorted(candidates, key=lambda c: -c[2]):
        span = (t[segment[0]], t[segment[-1]])
        if all(span[1] < t[s[0]] or span[0] > t[s[-1]] for s, _ in segments):
            segments.append((segment, deep))
    return sorted(segments, key=lambda c: c[0][0])


def _symmetric(t: np.ndarray, centre: float, half: float) -> np.ndarray | None:
    """Points within ``half`` of ``centre``, trimmed to what both sides cover."""
    half = min(half, centre - t[0], t[-1] - centre)
    if half <= 0:
        return None
    inside = np.nonzero(np.abs(t - centre) <= half)[0]
    before = int(np.sum(t[inside] < centre))
    if before < _MIN_BRANCH or len(inside) - before < _MIN_BRANCH:
        return None
    return inside


def _predicted_segments(t, y, smooth, ephemeris, window, maximum):
    step = 1.0 if maximum else 0.5
    first = math.ceil(float(ephemeris.cycle(t[0], half=False)) - 1)
    last = math.floor(float(ephemeris.cycle(t[-1], half=False)) + 1)
    segments = []
    for cycle in np.arange(first, last + 1, step):
        centre = float(ephemeris.predict(cycle))
        segment = _symmetric(t, centre, window * ephemeris.period)
        if segment is None:
            continue
        depth = float(smooth[segment].max() - min(smooth[segment[0]], smooth[segment[-1]]))
        segments.append((segment, depth))
    return segments


_NO_CHECK = ExtremumTime(math.nan, math.nan, "", 0)


def _time_segment(t, m, maximum: bool) -> tuple[ExtremumTime, ExtremumTime]:
    """Time one segment: the method and its cross-check.

    A segment one method cannot time (too few points in a minimum's core for KvW to
    reflect; a maximum too asymmetric for it) is timed by the other alone, without a check.
    """
    if maximum:
        main, second = (
            lambda: polynomial_extremum(t, m, maximum=True),
            lambda: kwee_van_woerden(t, m, maximum=True),
        )
    else:
        main, second = (lambda: kwee_van_woerden(t, m), lambda: symmetric_polynomial(t, m))
    try:
        first = main()
    except SegmentError:
        return second(), _NO_CHECK
    try:
        return first, second()
    except SegmentError:
        return first, _NO_CHECK


def extrema(
    frame: pd.DataFrame,
    *,
    time: str = "bjd_tdb",
    maximum: bool = False,
    ephemeris: Ephemeris | None = None,
    window: float = 0.06,
) -> pd.DataFrame:
    """Every extremum a light curve covers, one row each (:data:`EXTREMUM_COLUMNS`).

    Parameters
    ----------
    frame : pandas.DataFrame
        Light-curve rows: ``time``, ``magnitude`` and, when present, ``night``,
        ``observer``, ``filter`` (each group of the three is searched on its own) and
        ``saturated`` (those rows are left out).
    time : str
        The time column; its name is the rows' ``time_scale``.
    maximum : bool
        Maxima of light (pulsating stars) instead of minima (eclipsing binaries).
    ephemeris : Ephemeris, optional
        Look only around its predicted times; types then follow the cycle.
    window : float
        With an ephemeris, half a segment's length in periods.

    Returns
    -------
    pandas.DataFrame
        Sorted by time. The segment is re-centred on the first timing and timed again, so
        that it is symmetric about the extremum KvW assumes.

    Examples
    --------
    >>> t = 2459525.0 + np.linspace(0, 0.3, 120)
    >>> rows = pd.DataFrame({"hjd": t,
    ...     "magnitude": 10 + 0.3 * np.exp(-0.5 * ((t - 2459525.14) / 0.03) ** 2)})
    >>> table = extrema(rows, time="hjd")
    >>> round(float(table.time.iloc[0]), 5), table.type.iloc[0]
    (2459525.14, 'primary')
    """
    if time not in frame:
        raise ValueError(f"the light curve has no {time!r} column")
    usable = np.isfinite(frame[time].to_numpy(float)) & np.isfinite(
        frame["magnitude"].to_numpy(float)
    )
    if "saturated" in frame:
        usable &= ~frame["saturated"].fillna(False).to_numpy(bool)
    data = frame[usable]
    keys = [k for k in ("night", "observer", "filter") if k in data]
    groups = data.groupby(keys, sort=True, dropna=False) if keys else [((), data)]
    rows = []
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        labels = dict(zip(keys, key, strict=True))
        group = group.sort_values(time, kind="stable")
        t = group[time].to_numpy(float)
        m = group["magnitude"].to_numpy(float)
        for segment, depth in find_segments(
            t, m, maximum=maximum, ephemeris=ephemeris, window=window
        ):
            row = _timed(t, m, segment, depth, maximum)
            if row is not None:
                row.update(
                    time_scale=time,
                    kind="maximum" if maximum else "minimum",
                    observer=labels.get("observer"),
                    night=labels.get("night"),
                    filter=labels.get("filter"),
                )
                rows.append(row)
    table = pd.DataFrame(rows, columns=list(EXTREMUM_COLUMNS))
    table = table.sort_values("time", kind="stable").reset_index(drop=True)
    table["type"] = _types(table, ephemeris, maximum)
    return table


def _timed(t, m, segment, depth, maximum) -> dict | None:
    """Time a segment, re-centre it on the result, time it again."""
    try:
        first, _ = _time_segment(t[segment], m[segment], maximum)
        half = (t[segment[-1]] - t[segment[0]]) / 2
        centred = _symmetric(t, first.time, half)
        if centred is None:
            return None
        timing, check = _time_segment(t[centred], m[centred], maximum)
    except SegmentError:
        return None
    if not (t[centred[0]] < timing.time < t[centred[-1]]):
        return None
    before = int(np.sum(t[centred] < timing.time))
    return {
        "time": timing.time,
        # KvW's formal error understates the scatter when the branches are unequally
        # covered (Mikulasek et al. 2013); the bootstrap of the check does not assume it.
        "error_d": float(np.nanmax([timing.error_d, check.error_d])),
        "formal_error_d": timing.error_d,
        "method": timing.method,
        "n": timing.n,
        "n_before": before,
        "n_after": timing.n - before,
        "depth_mag": depth,
        "check_time": check.time,
        "check_error_d": check.error_d,
        "check_method": check.method or None,
    }


def _types(table: pd.DataFrame, ephemeris: Ephemeris | None, maximum: bool) -> list:
    if maximum:
        return ["maximum"] * len(table)
    if ephemeris is not None:
        cycles = ephemeris.cycle(table["time"].to_numpy(float))
        return ["secondary" if c % 1 else "primary" for c in cycles]
    # From the depth: in each filter, clearly shallower than the deepest is a secondary.
    out = []
    deepest = table.groupby(table["filter"].fillna(""))["depth_mag"].transform("max")
    for depth, top in zip(table["depth_mag"], deepest, strict=True):
        out.append("secondary" if depth < _SECONDARY_DEPTH * top else "primary")
    return out


def o_c_table(
    table: pd.DataFrame,
    *,
    epoch: float | None = None,
    period: float | None = None,
    quadratic: bool = False,
) -> tuple[pd.DataFrame, Ephemeris]:
    """Cycle numbers and O-C of timed extrema, against a given or a fitted ephemeris.

    Parameters
    ----------
    table : pandas.DataFrame
        Rows of :func:`extrema`.
    epoch, period : float, optional
        The ephemeris to compare with. With both, it is used as given (and the types follow
        its cycles); otherwise one is fitted to the timings, from ``period`` as a first
        guess when given (``epoch`` fixes cycle 0).
    quadratic : bool
        Fit a quadratic ephemeris (a changing period).

    Returns
    -------
    (pandas.DataFrame, Ephemeris)
        The table with ``cycle`` and ``o_c_d`` (and ``type`` following the cycles), and the
        ephemeris: the fitted one carries its errors and reduced chi-square.
    """
    out = table.copy()
    if epoch is not None and period is not None and not quadratic:
        ephemeris = Ephemeris(epoch=float(epoch), period=float(period))
    else:
        kinds = out["type"].where(out["type"] == "secondary", "primary").to_numpy()
        try:
            ephemeris = fit_ephemeris(
                out["time"].to_numpy(float),
                out["error_d"].to_numpy(float),
                kinds,
                period=period,
                epoch=epoch,
                quadratic=quadratic,
            )
        except EphemerisError:
            raise
    half = (out["kind"] != "maximum").to_numpy() if len(out) else np.array([], bool)
    cycles = np.where(
        half,
        ephemeris.cycle(out["time"].to_numpy(float), half=True),
        ephemeris.cycle(out["time"].to_numpy(float), half=False),
    )
    out["cycle"] = cycles
    out["o_c_d"] = ephemeris.o_c(out["time"].to_numpy(float), cycles)
    if len(out) and half.any():
        out.loc[half, "type"] = np.where(cycles[half] % 1, "secondary", "primary")
    return out, ephemeris


# The columns minima databases take (the Czech O-C gateway, BAV, ETD): time, error, scale,
# type, filter, method, observer; then the cycle and O-C when an ephemeris is known.
EXPORT_COLUMNS = (
    ("time", "{:.6f}"),
    ("error_d", "{:.6f}"),
    ("time_scale", "{}"),
    ("type", "{}"),
    ("filter", "{}"),
    ("method", "{}"),
    ("observer", "{}"),
    ("night", "{}"),
    ("n", "{}"),
    ("cycle", "{:g}"),
    ("o_c_d", "{:.6f}"),
)
_SCALE_NAMES = {"bjd_tdb": "BJD_TDB", "hjd": "HJD", "jd": "JD_UTC"}


class Timings:
    """Times of minimum (or maximum) of one star, with the ephemeris they were compared to.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per extremum (:data:`EXTREMUM_COLUMNS`), plus ``cycle`` and ``o_c_d`` when
        there is an ephemeris.
    ephemeris : Ephemeris or None
        Given by the observer or fitted (then with its errors).
    star : str
        Whose timings these are.
    """

    def __init__(self, table: pd.DataFrame, ephemeris: Ephemeris | None, star: str = "?"):
        self.table = table
        self.ephemeris = ephemeris
        self.star = star

    def __len__(self) -> int:
        return len(self.table)

    def __repr__(self) -> str:
        kind = "maxima" if len(self.table) and self.table["kind"].iloc[0] == "maximum" else "minima"
        text = f"<Timings of {self.star}: {len(self)} {kind}"
        return text + (f", ephemeris {self.ephemeris}>" if self.ephemeris else ">")

    def _repr_html_(self) -> str:
        import html

        return f"<p>{html.escape(repr(self))}</p>" + self.table.to_html(index=False)

    def plot(self, ax=None, **style):
        """The O-C diagram (drawn by :func:`aphos_lib.plotting.plot_o_c`)."""
        from aphos_lib.plotting import plot_o_c

        return plot_o_c(self, ax=ax, **style)

    def _rows(self, missing: str) -> list[list[str]]:
        rows = []
        for record in self.table.to_dict("records"):
            row = []
            for name, form in EXPORT_COLUMNS:
                value = record.get(name)
                if name == "time_scale":
                    value = _SCALE_NAMES.get(value, value)
                elif name == "night" and value is not None and not pd.isna(value):
                    value = str(value)
                if value is None or (isinstance(value, float) and math.isnan(value)):
                    row.append(missing)
                else:
                    row.append(form.format(value))
            rows.append(row)
        return rows

    def _write(self, delimiter: str, missing: str, path) -> str:
        import csv
        import io
        from pathlib import Path

        text = io.StringIO()
        writer = csv.writer(text, delimiter=delimiter, lineterminator="\n")
        if self.ephemeris is not None:
            writer.writerow([f"# {self.star}: ephemeris {self.ephemeris}"])
        writer.writerow([name for name, _ in EXPORT_COLUMNS])
        writer.writerows(self._rows(missing))
        out = text.getvalue()
        if path is not None:
            Path(path).write_text(out, encoding="utf-8")
        return out

    def to_csv(self, path=None) -> str:
        """Write (or return) the timings as CSV in the columns minima databases take.

        ``time,error_d,time_scale,type,filter,method,observer,night,n,cycle,o_c_d`` (empty
        when unknown), after a ``#`` line with the ephemeris when there is one.
        """
        return self._write(",", "", path)

    def to_txt(self, path=None) -> str:
        """The same as :meth:`to_csv`, space-separated, ``nan`` when unknown."""
        return self._write(" ", "nan", path)
