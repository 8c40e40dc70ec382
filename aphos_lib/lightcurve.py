"""A light curve: differential magnitudes image by image, with their provenance.

Made by :func:`aphos_lib.photometry.differential_photometry` (``archive.lightcurve(...)``).
It converts to pandas, astropy ``Table`` and ``TimeSeries``, folds and bins (each giving a
light curve again), finds periods (astropy Lomb-Scargle), plots itself (drawn by
:mod:`aphos_lib.plotting`) and writes the downloads: CSV and TXT (exposure middle, JD, HJD,
magnitude, deviation, with an optional metadata block) and the AAVSO Extended File Format.
"""

from __future__ import annotations

import csv
import html
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from aphos_lib.barycentric import GEOCENTRE_BOUND_S
from aphos_lib.coordinates import format_dec, format_ra
from aphos_lib.search import CatalogObject

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["AAVSO_FILTERS", "LightCurve", "Periodogram"]

TIME_COLUMNS = ("jd", "hjd", "bjd_tdb")
# What a bin averages besides magnitudes: the times of its images. A bin keeps a label column
# when all of its images share the value (a night bin is one night and one observer).
_BIN_TIMES = ("time_utc", "jd", "hjd", "bjd_tdb")
_BIN_LABELS = ("night", "observer", "filter")
_OVERLAP_DAYS = 30 / 1440  # observer_offsets without a period: others' points this close
# Filters the AAVSO accepts, and how SIPS headers commonly name them.
#: What a calibrated curve's downloads say its comparison is.
CALIBRATED = (
    "none: calibrated magnitudes, each image's photometric solution over its catalogued stars"
)

AAVSO_FILTERS = {
    "U",
    "B",
    "V",
    "R",
    "I",
    "J",
    "H",
    "K",
    "TG",
    "TB",
    "TR",
    "CV",
    "CR",
    "SZ",
    "SU",
    "SG",
    "SR",
    "SI",
    "STU",
    "STV",
    "STB",
    "STY",
    "STHBW",
    "STHBN",
    "MA",
    "MB",
    "MI",
    "ZS",
    "Y",
    "HA",
    "HAC",
    "O",
}
_FILTER_ALIASES = {
    "RC": "R",
    "IC": "I",
    "C": "CV",
    "CLEAR": "CV",
    "L": "CV",
    "LUM": "CV",
    "NONE": "CV",
    "G": "TG",
    "GREEN": "TG",
}


def _describe(obj: CatalogObject) -> str:
    name = f" ({obj.name})" if obj.name else ""
    # The star's other catalogues' names: its curve holds their fluxes too.
    others = [i for i in obj.identifiers if i != f"{obj.catalog} {obj.catalog_id}"]
    if others:
        name += f", also {', '.join(others)}"
    mag = "unknown" if obj.mag is None else f"{obj.mag:.2f}"
    return (
        f"{obj.catalog} {obj.catalog_id}{name}, RA {format_ra(obj.ra_deg, 'space')} "
        f"({obj.ra_deg:.6f} deg), Dec {format_dec(obj.dec_deg, 'space')} "
        f"({obj.dec_deg:+.6f} deg), catalogue magnitude {mag}"
    )


@dataclass
class Periodogram:
    """A periodogram of a light curve: Lomb-Scargle, or the ``method`` that made it.

    ``best_period`` (days) is the strongest peak, refined on a fine grid around it;
    ``false_alarm_probability`` is astropy's (Baluev) estimate for that peak. For an
    eclipsing binary with two similar eclipses the true period is usually twice the
    strongest peak. With ``method="pdm"`` ``power`` is Stellingwerf's theta and the best
    period its minimum; with ``"bls"`` the box least squares log likelihood (see
    :mod:`aphos_lib.period_search`); both have no false alarm probability (NaN).
    """

    frequency: np.ndarray  # 1/day
    power: np.ndarray
    best_period: float
    best_power: float
    false_alarm_probability: float
    nterms: int
    method: str = "lombscargle"

    @property
    def period(self) -> np.ndarray:
        """The grid as periods (days)."""
        return 1.0 / self.frequency

    def to_pandas(self) -> pd.DataFrame:
        """The periodogram as columns ``frequency_per_day``, ``period_d``, ``power``."""
        return pd.DataFrame(
            {"frequency_per_day": self.frequency, "period_d": self.period, "power": self.power}
        )

    def plot(self, ax: Axes | None = None, *, mark=None, **style) -> Axes:
        """Power against period (log scale), drawn by :func:`aphos_lib.plotting.plot_periodogram`.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Where to draw; a new figure when not given.
        mark : float or list of float, optional
            Periods (days) to mark with a dashed line, e.g. ``[p.best_period, 2 * p.best_period]``.
        **style
            Passed to matplotlib's ``Axes.plot`` (``color=``, ``linewidth=``, ``label=`` ...).

        Returns
        -------
        matplotlib.axes.Axes

        Examples
        --------
        >>> t = 2459525.0 + np.arange(300) / 100
        >>> curve = LightCurve(pd.DataFrame(
        ...     {"hjd": t, "magnitude": np.sin(2 * np.pi * t / 0.7), "deviation": 0.01}))
        >>> periodogram = curve.periodogram(max_period=2)
        >>> ax = periodogram.plot(mark=periodogram.best_period, color="black")
        >>> ax.get_xlabel(), ax.get_xscale()
        ('period (d)', 'log')
        """
        from aphos_lib.plotting import plot_periodogram

        return plot_periodogram(self, ax=ax, mark=mark, **style)


class LightCurve:
    """Differential magnitudes of a variable star, one row per image.

    Attributes
    ----------
    data : pandas.DataFrame
        One row per image, in time order: ``time_utc`` (exposure middle, UTC), ``jd``,
        ``hjd`` (from the SIPS header), ``night``, ``observer``, ``filter``, each star's
        ApAuto and the chosen aperture's flux (``var_``, ``cmp_`` for the comparison or
        ensemble sum, ``cmp1_``.. for ensemble members, ``check_``), ``var_aperture``/
        ``cmp_aperture`` (0 means ApAuto), ``magnitude``, ``deviation``, ``saturated`` and
        with a check star ``check_magnitude`` and ``check_deviation``. A folded curve adds
        ``phase``; a binned one has a row per bin instead (see :meth:`bin`).
    meta : dict
        What the curve was made from: ``variable``, ``comparisons``, ``check`` (catalogue
        objects), the aperture choices, observer filters, ``as_of`` and ``queried_at``; a
        folded curve's ``period``, ``epoch`` and ``fold_time``; a binned curve's ``binned``.

    Examples
    --------
    The archive makes light curves (``archive.lightcurve(variable, comparison)``); any frame
    with a time column and magnitudes is one too:

    >>> import numpy as np
    >>> import pandas as pd
    >>> from aphos_lib import LightCurve
    >>> t = 2459525.0 + np.arange(300) / 100
    >>> curve = LightCurve(pd.DataFrame(
    ...     {"hjd": t, "magnitude": np.sin(2 * np.pi * t / 0.7), "deviation": 0.01}))
    >>> curve
    <LightCurve of ?: 300 images>
    >>> curve.fold(0.7).bin(0.1)
    <LightCurve of ?: 10 bins of 0.1 in phase>
    """

    def __init__(self, data: pd.DataFrame, meta: dict[str, Any] | None = None):
        self.data = data
        self.meta = {} if meta is None else meta

    def __len__(self) -> int:
        return len(self.data)

    def __repr__(self) -> str:
        var = self.meta.get("variable")
        name = var.label if var else "?"
        binned = self.meta.get("binned")
        if binned:
            return f"<LightCurve of {name}: {len(self)} bins {_describe_bins(binned)}>"
        return f"<LightCurve of {name}: {len(self)} images>"

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(repr(self))}</p>" + self.data.head(20).to_html(index=False)

    @property
    def variable(self) -> CatalogObject:
        """The variable star."""
        return self.meta["variable"]

    @property
    def comparison_label(self) -> str:
        """The comparison as ``CATALOG:ID``, ensemble members joined with ``+``
        (``calibrated`` for a calibrated curve)."""
        return "+".join(c.label for c in self.meta["comparisons"]) or "calibrated"

    def _with(self, data: pd.DataFrame, **meta) -> LightCurve:
        return LightCurve(data, {**self.meta, **meta})

    # --- conversions ---------------------------------------------------------------------

    def to_pandas(self) -> pd.DataFrame:
        """The rows as a DataFrame (a copy)."""
        return self.data.copy()

    def to_table(self):
        """The rows as an astropy Table with units; the metadata in ``meta``."""
        import astropy.units as u
        from astropy.table import Table

        frame = self.data.drop(
            columns=[
                c
                for c in self.data.columns
                if self.data[c].dtype == object and c not in ("observer", "filter")
            ]
        )
        table = Table.from_pandas(frame)
        if "time_utc" in self.data:  # a curve binned in phase has no times
            times = self.data["time_utc"].dt.strftime("%Y-%m-%dT%H:%M:%S.%f")
            table["time_utc"] = times.to_numpy()
        if "night" in self.data:
            table["night"] = [n.isoformat() for n in self.data["night"]]
        for column in table.colnames:
            if column in ("magnitude", "deviation", "check_magnitude", "check_deviation"):
                table[column].unit = u.mag
            elif column in TIME_COLUMNS:
                table[column].unit = u.day
            elif column.endswith(("_ra_deg", "_dec_deg")):
                table[column].unit = u.deg
        table.meta.update(self._metadata())
        return table

    def to_timeseries(self, time: str = "jd"):
        """An astropy ``TimeSeries`` on the exposure middles (``time="jd"``, UTC) or on
        the heliocentric dates (``time="hjd"``, TDB as SIPS computes them)."""
        from astropy.time import Time
        from astropy.timeseries import TimeSeries

        scale = "utc" if time == "jd" else "tdb"
        series = TimeSeries(time=Time(self.data[time].to_numpy(), format="jd", scale=scale))
        table = self.to_table()
        for column in table.colnames:
            if column != "time":
                series[column] = table[column]
        series.meta.update(table.meta)
        return series

    # --- analysis ------------------------------------------------------------------------

    def _usable(self) -> pd.DataFrame:
        return self.data[np.isfinite(self.data["magnitude"].to_numpy())]

    def _times(self, time: str) -> np.ndarray:
        if time in self.data:
            return self.data[time].to_numpy(dtype=float)
        if time == "phase":
            raise ValueError("only a folded curve has phases: curve.fold(period) first")
        binned = " (it is binned in phase: bin it in time instead)" if "phase" in self.data else ""
        raise ValueError(f"this curve has no {time!r} column{binned}")

    def observer_offsets(
        self, period: float | None = None, *, time: str = "hjd", bins: int = 50
    ) -> pd.DataFrame:
        """How far each observer's magnitudes sit from everyone else's: the residual offset
        of each observer's curve (a calibrated curve's should be near 0).

        Each observer's points are compared with the other observers' only, so an offset
        is never measured against itself. With ``period``, in phase: against the median of
        the others' magnitudes in the same one of ``bins`` phase bins. Without, in time:
        against the median of the others' points within 30 minutes (overlapping sessions).

        Parameters
        ----------
        period : float, optional
            Days; a variable's period lines its cycles up.
        time : str
            The time column (``"hjd"``, ``"jd"`` or ``"bjd_tdb"``).
        bins : int
            Phase bins, with a period.

        Returns
        -------
        pandas.DataFrame
            Per observer: ``observer``, ``offset`` (median residual, mag; NaN without
            overlap), ``n`` (points compared) and ``points``.

        Examples
        --------
        >>> t = np.tile(2459525.0 + np.arange(100) / 50, 2)
        >>> m = np.sin(2 * np.pi * t / 0.7) + np.repeat([0.0, 0.05], 100)
        >>> curve = LightCurve(pd.DataFrame({"hjd": t, "magnitude": m,
        ...                                  "observer": np.repeat(["a", "b"], 100)}))
        >>> curve.observer_offsets(0.7).round(3).to_dict("list")["offset"]
        [-0.05, 0.05]
        """
        data = self._usable()
        t = data[time].to_numpy(dtype=float)
        m = data["magnitude"].to_numpy(dtype=float)
        who = data["observer"].to_numpy()
        if period is not None:
            if not period > 0:
                raise ValueError(f"period {period} must be positive")
            cell = np.floor(np.mod(t / period, 1.0) * bins).astype(int)
        rows = []
        for observer in sorted(set(who)):
            mine, others = who == observer, who != observer
            residuals = []
            if period is not None:
                reference = pd.Series(m[others]).groupby(cell[others]).median()
                at = reference.reindex(cell[mine]).to_numpy()
                residuals = (m[mine] - at)[np.isfinite(at)]
            elif others.any():
                order = np.argsort(t[others])
                t_other, m_other = t[others][order], m[others][order]
                low = np.searchsorted(t_other, t[mine] - _OVERLAP_DAYS)
                high = np.searchsorted(t_other, t[mine] + _OVERLAP_DAYS)
                residuals = [
                    value - np.median(m_other[a:b])
                    for value, a, b in zip(m[mine], low, high, strict=True)
                    if b > a
                ]
            residuals = np.asarray(residuals, dtype=float)
            rows.append(
                {
                    "observer": observer,
                    "offset": float(np.median(residuals)) if len(residuals) else np.nan,
                    "n": len(residuals),
                    "points": int(mine.sum()),
                }
            )
        return pd.DataFrame(rows, columns=["observer", "offset", "n", "points"])

    def fold(self, period: float, epoch: float | None = None, time: str = "hjd") -> LightCurve:
        """Fold on ``period``, adding a ``phase`` column in [0, 1) and sorting by it.

        Parameters
        ----------
        period : float
            Days.
        epoch : float, optional
            The Julian date of phase 0; the first image's when not given.
        time : str
            The time column to fold: ``"hjd"`` or ``"jd"``.

        Returns
        -------
        LightCurve
            The same rows with ``phase``; ``meta`` gets ``period``, ``epoch`` and
            ``fold_time``. A binned curve folds too: ``curve.bin("night").fold(period)``.

        Examples
        --------
        >>> t = 2459525.0 + np.arange(300) / 100
        >>> curve = LightCurve(pd.DataFrame({"hjd": t, "magnitude": np.sin(2 * np.pi * t / 0.7)}))
        >>> folded = curve.fold(0.7, epoch=2459525.0)
        >>> folded.meta["period"], float(folded.data.phase.min()), bool(folded.data.phase.max() < 1)
        (0.7, 0.0, True)
        """
        if not period > 0:
            raise ValueError(f"period {period} must be positive")
        t = self._times(time)
        if epoch is None:
            epoch = float(np.nanmin(t)) if len(t) else 0.0
        data = self.data.copy()
        data["phase"] = np.mod((t - epoch) / period, 1.0)
        data = data.sort_values("phase", kind="stable").reset_index(drop=True)
        return self._with(data, period=period, epoch=epoch, fold_time=time)

    def bin(self, width: float | str = "night", time: str | None = None) -> LightCurve:
        """Average the magnitudes per night and observer, or in bins of ``width``.

        Each bin's magnitude is the mean weighted by 1/deviation^2 (plain mean when a
        deviation is unknown) and its deviation the error of that mean (for a plain mean
        the standard deviation over sqrt(n)).

        Parameters
        ----------
        width : ``"night"`` or float
            ``"night"``: one bin per night and observer. A number: bins of that width along
            ``time``, in days from the first image (or in cycles, from phase 0, for phase).
        time : ``"hjd"``, ``"jd"`` or ``"phase"``, optional
            What to bin along. By default the phase for a folded curve binned by ``width``
            (the mean light curve over the cycle), else ``"hjd"``.

        Returns
        -------
        LightCurve
            One row per bin, in order of ``time``: the mean of the bin's times (``time_utc``,
            ``jd``, ``hjd``, or ``phase``), ``magnitude``, ``deviation``, ``n`` (images in the
            bin), and ``night``, ``observer``, ``filter`` where each bin has one value.
            ``meta["binned"]`` says how it was binned. A folded curve binned in time stays
            folded: each bin's phase is that of its mean time.

        Examples
        --------
        >>> t = 2459525.0 + np.arange(300) / 100
        >>> curve = LightCurve(pd.DataFrame(
        ...     {"hjd": t, "magnitude": np.sin(2 * np.pi * t / 0.7), "deviation": 0.01}))
        >>> hourly = curve.bin(1 / 24)
        >>> len(hourly), int(hourly.data.n.sum()), hourly.meta["binned"]
        (72, 300, {'width': 0.041666666666666664, 'time': 'hjd'})
        >>> mean_cycle = curve.fold(0.7).bin(0.05)
        >>> list(mean_cycle.data.columns)
        ['phase', 'magnitude', 'deviation', 'n']
        """
        folded = "phase" in self.data
        if time is None:
            time = "phase" if folded and width != "night" else self.meta.get("fold_time", "hjd")
        self._times(time)  # a clear error when the curve lacks the column
        rows = self._usable()
        if width == "night":
            if time == "phase":
                raise ValueError('night bins are in time: bin("night", time="hjd")')
            if not {"night", "observer"} <= set(rows.columns):
                raise ValueError("night bins need the curve's night and observer columns")
            keys = rows["night"].astype(str) + "|" + rows["observer"].astype(str)
        elif isinstance(width, str) or not float(width) > 0:
            raise ValueError(f"width {width!r} must be 'night' or a positive number")
        else:
            width = float(width)
            t = rows[time].to_numpy(dtype=float)
            # Phase bins start at phase 0; time bins at the first image, as they always have.
            start = 0.0 if time == "phase" or not len(t) else np.nanmin(t)
            keys = np.floor((t - start) / width)
        averaged = [time] if time == "phase" else [c for c in _BIN_TIMES if c in rows]
        groups = rows.groupby(keys, sort=True)
        labels = [
            c
            for c in _BIN_LABELS
            if c in rows and time != "phase" and groups[c].nunique(dropna=False).max() <= 1
        ]
        out = []
        for _, group in groups:
            m, s = group["magnitude"].to_numpy(), group["deviation"].to_numpy()
            if np.all(np.isfinite(s) & (s > 0)):
                w = 1 / s**2
                mean, error = np.sum(w * m) / np.sum(w), 1 / math.sqrt(np.sum(w))
            else:
                mean = float(np.mean(m))
                error = float(np.std(m, ddof=1) / math.sqrt(len(m))) if len(m) > 1 else np.nan
            # Binning a binned curve counts the images, not the bins.
            count = int(group["n"].sum()) if "n" in group else len(group)
            out.append(
                {c: group[c].mean() for c in averaged}
                | {c: group[c].iloc[0] for c in labels}
                | {"magnitude": mean, "deviation": error, "n": count}
            )
        columns = [*averaged, *labels, "magnitude", "deviation", "n"]
        data = pd.DataFrame(out, columns=columns).astype({"n": "int64"})
        data = data.sort_values(time, kind="stable").reset_index(drop=True)
        binned = self._with(data, binned={"width": width, "time": time})
        if folded and time != "phase" and "period" in self.meta:
            meta = self.meta
            return binned.fold(meta["period"], meta.get("epoch"), meta.get("fold_time", time))
        return binned

    def periodogram(
        self,
        min_period: float | None = None,
        max_period: float | None = None,
        samples_per_peak: int = 10,
        nterms: int = 1,
        time: str = "hjd",
        method: str = "lombscargle",
    ) -> Periodogram:
        """Periodogram of the magnitudes: Lomb-Scargle (astropy) weighted by deviations.

        Parameters
        ----------
        min_period, max_period : float, optional
            The period range in days (default 0.05 d to half the time span, at most 100 d).
        samples_per_peak : int
            Grid density; the best peak is refined on a grid 100 times finer.
        nterms : int
            Fourier terms of the model (2 separates the two eclipses of a binary).
        method : {"lombscargle", "nifty", "pdm", "bls"}
            ``"nifty"``: the same Lomb-Scargle computed by nifty-ls when it is installed
            (faster, more accurate), astropy's otherwise. ``"pdm"``: phase dispersion
            minimisation, the true period of an eclipsing binary with unequal minima.
            ``"bls"``: box least squares, for narrow eclipses. See
            :mod:`aphos_lib.period_search`.

        Examples
        --------
        >>> t = 2459525.0 + np.sort(np.random.default_rng(3).uniform(0, 40, 400))
        >>> m = 0.3 * np.exp(-0.5 * ((np.mod(t / 1.37, 1) - 0.5) / 0.04) ** 2)
        >>> curve = LightCurve(pd.DataFrame({"hjd": t, "magnitude": m, "deviation": 0.01}))
        >>> round(curve.periodogram(max_period=5, method="pdm").best_period, 3)
        1.37
        """
        from aphos_lib import period_search

        if method not in period_search.METHODS:
            raise ValueError(f"method {method!r} is not one of {period_search.METHODS}")
        self._times(time)  # a clear error for a curve binned in phase
        rows = self._usable()
        if len(rows) < 3:
            raise ValueError(
                f"a periodogram needs at least 3 magnitudes, this curve has {len(rows)}"
            )
        t, y = rows[time].to_numpy(), rows["magnitude"].to_numpy()
        dy = rows["deviation"].to_numpy()
        dy = dy if np.all(np.isfinite(dy) & (dy > 0)) else None
        span = float(t.max() - t.min())
        if span <= 0:
            raise ValueError("a periodogram needs images taken at different times")
        min_period = min_period or 0.05
        max_period = max_period or min(max(span / 2, min_period * 2), 100.0)
        bounds = dict(min_period=min_period, max_period=max_period)
        if method in ("pdm", "bls"):
            found = period_search.search(
                t, y, dy, method=method, samples_per_peak=samples_per_peak, **bounds
            )
            fap = np.nan
        else:
            found, fap = period_search.lomb_scargle(
                t,
                y,
                dy,
                samples_per_peak=samples_per_peak,
                nterms=nterms,
                nifty=method == "nifty",
                **bounds,
            )
        return Periodogram(
            found.frequency,
            found.power,
            found.best_period,
            found.best_power,
            fap,
            found.nterms,
            found.method,
        )

    def _timing_time(self, time: str | None) -> str:
        if time is not None:
            self._times(time)
            return time
        for name in ("bjd_tdb", "hjd", "jd"):
            if name in self.data and self.data[name].notna().any():
                return name
        raise ValueError("this curve has no times (bjd_tdb, hjd or jd) to time extrema on")

    def _timings(self, maximum: bool, epoch, period, window: float, time: str | None):
        """Extrema, against the ephemeris ``epoch``, ``period`` when both are given."""
        from aphos_lib.ephemeris import Ephemeris
        from aphos_lib.minima import Timings, extrema, o_c_table

        if "phase" in self.data and "time_utc" not in self.data:
            raise ValueError("a curve binned in phase has no times: time the unbinned curve")
        given = None
        if epoch is not None and period is not None:
            given = Ephemeris(epoch=float(epoch), period=float(period))
        table = extrema(
            self.data,
            time=self._timing_time(time),
            maximum=maximum,
            ephemeris=given,
            window=window,
        )
        if given is not None:
            table, _ = o_c_table(table, epoch=epoch, period=period)
        var = self.meta.get("variable")
        return Timings(table, given, var.label if var else "?")

    def minima(
        self,
        epoch: float | None = None,
        period: float | None = None,
        *,
        window: float = 0.06,
        time: str | None = None,
    ):
        """Times of minimum, night by night, by Kwee-van Woerden with a second method's check.

        Each night of each observer in each filter is searched for segments that cover a
        minimum: found from the data (both branches reaching half its depth), or with an
        ephemeris around the predicted primary and secondary minima. Each is timed by
        Kwee-van Woerden (``method``), and by a symmetric polynomial with bootstrap errors
        (``check_time``, ``check_error_d``) as a cross-check (:mod:`aphos_lib.minima`).

        Parameters
        ----------
        epoch, period : float, optional
            An ephemeris (a primary minimum's time, in the curve's time scale, and the
            period in days): look around its predictions, type each minimum by its cycle and
            give its ``cycle`` and ``o_c_d``.
        window : float
            With an ephemeris, half a segment's length in periods.
        time : str, optional
            The time column: ``bjd_tdb`` (the default when present), ``hjd`` or ``jd``.

        Returns
        -------
        aphos_lib.minima.Timings
            ``.table`` one row per minimum (time, error_d, time_scale, type, method, n,
            points before and after, depth, the check, observer, night, filter);
            ``.to_csv()`` in the columns minima databases take; ``.plot()`` the O-C diagram.

        Examples
        --------
        >>> from aphos_lib.demo.variables import eclipsing_magnitude
        >>> t = 2459525.0 + np.arange(0, 0.4, 0.003)
        >>> m = eclipsing_magnitude(t, mag_max=8.4, period_d=0.936, epoch_hjd=2459525.2,
        ...     depth_primary=0.3, depth_secondary=0.2, eclipse_sigma_phase=0.05)
        >>> timings = LightCurve(pd.DataFrame({"hjd": t, "magnitude": m})).minima()
        >>> round(float(timings.table.time[0]), 4), timings.table.type[0]
        (2459525.2, 'primary')
        """
        return self._timings(False, epoch, period, window, time)

    def maxima(
        self,
        epoch: float | None = None,
        period: float | None = None,
        *,
        window: float = 0.08,
        time: str | None = None,
    ):
        """Times of maximum light of a pulsating star, night by night.

        As :meth:`minima`, but each maximum is timed by a polynomial fit with bootstrap
        errors (maxima of RR Lyrae stars are not symmetric), checked by Kwee-van Woerden.
        ``epoch`` is then the time of a maximum.
        """
        return self._timings(True, epoch, period, window, time)

    def o_c(
        self,
        epoch: float | None = None,
        period: float | None = None,
        *,
        quadratic: bool = False,
        maxima: bool = False,
        window: float = 0.06,
        time: str | None = None,
    ):
        """The O-C diagram: every minimum (or maximum) against a given or fitted ephemeris.

        Parameters
        ----------
        epoch, period : float, optional
            With both, O-C against this ephemeris. With none or one of them, an ephemeris
            is fitted to the timings by weighted least squares (``period`` a first guess,
            ``epoch`` cycle 0); without a period it is found from the timings.
        quadratic : bool
            Fit ``T0 + P E + Q E^2`` (a changing period, ``dP/dt = 2Q/P``).
        maxima : bool
            Time maxima (pulsating stars) instead of minima.
        window : float
            With an ephemeris, half a segment's length in periods.
        time : str, optional
            The time column (``bjd_tdb`` by default).

        Returns
        -------
        aphos_lib.minima.Timings
            With ``cycle`` and ``o_c_d`` per timing and ``ephemeris`` (fitted: with errors
            and its reduced chi-square, the improved ephemeris).
        """
        from aphos_lib.minima import Timings, o_c_table

        if epoch is not None and period is not None and not quadratic:
            return self._timings(maxima, epoch, period, window, time)
        found = self._timings(maxima, None, None, window, time)
        table, ephemeris = o_c_table(found.table, epoch=epoch, period=period, quadratic=quadratic)
        return Timings(table, ephemeris, found.star)

    def night_summary(self) -> pd.DataFrame:
        """Per night and observer: images, apertures used, and the check star's scatter.

        ``check_std`` (standard deviation of the check star's magnitudes that night) is the
        measure of a night's quality; it is NaN without a check star.
        """
        data = self.data
        rows = []
        for (night, observer), g in data.groupby(["night", "observer"], sort=True):
            check = g["check_magnitude"] if "check_magnitude" in g else pd.Series(dtype=float)
            check = check[np.isfinite(check)]
            row = {
                "night": night,
                "observer": observer,
                "images": len(g),
                "magnitudes": int(np.isfinite(g["magnitude"]).sum()),
                "var_aperture": int(g["var_aperture"].iloc[0]),
            }
            if "cmp_aperture" in g:  # a differential curve (a calibrated one has none)
                row["cmp_aperture"] = int(g["cmp_aperture"].iloc[0])
            row["magnitude_std"] = float(g["magnitude"].std())
            row["check_std"] = float(check.std()) if len(check) > 1 else np.nan
            rows.append(row)
        return pd.DataFrame(rows)

    # --- plots ---------------------------------------------------------------------------

    def plot(
        self, ax: Axes | None = None, *, time: str = "hjd", by: str | None = "observer", **style
    ) -> Axes:
        """Magnitudes against time, one colour per observer, magnitudes growing downwards.

        Drawn by :func:`aphos_lib.plotting.plot_lightcurve`.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
            Where to draw; a new figure when not given.
        time : str
            The time column: ``"hjd"`` or ``"jd"``.
        by : str or None
            A column whose values get a colour and a legend entry each (``None``: one colour).
        **style
            Passed to matplotlib's ``Axes.errorbar`` (``color=``, ``markersize=``,
            ``fmt=``, ``alpha=``, ``label=`` ...).

        Returns
        -------
        matplotlib.axes.Axes

        Examples
        --------
        >>> t = 2459525.0 + np.arange(300) / 100
        >>> curve = LightCurve(pd.DataFrame(
        ...     {"hjd": t, "magnitude": np.sin(2 * np.pi * t / 0.7), "deviation": 0.01}))
        >>> ax = curve.plot(color="black", markersize=2)
        >>> ax.get_ylabel(), bool(ax.yaxis_inverted())
        ('differential magnitude', True)
        """
        from aphos_lib.plotting import plot_lightcurve

        return plot_lightcurve(self, ax=ax, time=time, by=by, **style)

    def plot_phase(
        self,
        period: float | None = None,
        epoch: float | None = None,
        *,
        ax: Axes | None = None,
        cycles: int = 2,
        by: str | None = "observer",
        time: str = "hjd",
        **style,
    ) -> Axes:
        """Magnitudes against phase, ``cycles`` times over, of this folded curve or folded on
        ``period``.

        Drawn by :func:`aphos_lib.plotting.plot_phase`.

        Parameters
        ----------
        period : float, optional
            Fold on this period (days) first; needed unless the curve is folded already.
        epoch : float, optional
            The Julian date of phase 0 when folding (see :meth:`fold`).
        ax : matplotlib.axes.Axes, optional
            Where to draw; a new figure when not given.
        cycles : int
            How many cycles to draw (2 shows an eclipse at phase 0 whole).
        by : str or None
            A column whose values get a colour and a legend entry each (``None``: one colour).
        time : str
            The time column to fold on when ``period`` is given.
        **style
            Passed to matplotlib's ``Axes.errorbar``.

        Returns
        -------
        matplotlib.axes.Axes

        Examples
        --------
        >>> t = 2459525.0 + np.arange(300) / 100
        >>> curve = LightCurve(pd.DataFrame(
        ...     {"hjd": t, "magnitude": np.sin(2 * np.pi * t / 0.7), "deviation": 0.01}))
        >>> ax = curve.plot_phase(0.7)
        >>> tuple(map(float, ax.get_xlim())), ax.get_title()
        ((0.0, 2.0), 'light curve, P = 0.70000 d')
        >>> ax = curve.fold(0.7).bin(0.05).plot_phase(ax=ax, color="red")
        """
        from aphos_lib.plotting import plot_phase

        curve = self if period is None else self.fold(period, epoch, time)
        return plot_phase(curve, ax=ax, cycles=cycles, by=by, **style)

    # --- downloads -----------------------------------------------------------------------

    def _metadata(self) -> dict[str, Any]:
        meta = self.meta
        out = {
            "variable": _describe(meta["variable"]),
            "comparison": " + ".join(_describe(c) for c in meta["comparisons"]) or CALIBRATED,
        }
        if meta.get("check") is not None:
            out["check"] = _describe(meta["check"])
        out["variable_aperture"] = meta["aperture"].describe()
        if meta.get("comparison_aperture") is not None:
            out["comparison_aperture"] = meta["comparison_aperture"].describe()
        out["saturated_rows"] = "shown" if meta["include_saturated"] else "hidden"
        if meta.get("observers") is not None:
            out["observers"] = ", ".join(meta["observers"])
        if meta.get("exclude_observers"):
            out["excluded_observers"] = ", ".join(meta["exclude_observers"])
        as_of = meta.get("as_of")
        out["as_of"] = as_of.isoformat() if as_of else "not pinned"
        out["queried_at"] = meta["queried_at"].isoformat(timespec="seconds")
        if meta.get("binned"):
            out["binned"] = _describe_bins(meta["binned"])
            out["bins"] = len(self.data)
            out["images"] = int(self.data["n"].sum())
        else:
            out["images"] = len(self.data)
        out["magnitudes"] = int(np.isfinite(self.data["magnitude"]).sum())
        if "bjd_at_site" in self.data:
            at_site = int(self.data["bjd_at_site"].sum())
            out["bjd_tdb"] = (
                f"for the variable's position: at the observer's site for {at_site} rows, "
                f"at the Earth's centre (within {GEOCENTRE_BOUND_S * 1e3:.1f} ms) for "
                f"{len(self.data) - at_site}"
            )
        if "period" in meta:
            out["period_d"] = meta["period"]
            out["epoch"] = meta["epoch"]
        return out

    def _download_rows(self, missing: str) -> list[list[str]]:
        rows = self._usable()
        # The original's "Exposure middle" format (seconds), here always in UTC.
        times = rows["time_utc"].dt.strftime("%Y-%m-%d %H:%M:%S")
        bjd = rows["bjd_tdb"] if "bjd_tdb" in rows else None
        out = [
            [
                t,
                f"{m:.4f}",
                missing if math.isnan(d) else f"{d:.4f}",
                f"{jd:.6f}",
                missing if math.isnan(hjd) else f"{hjd:.6f}",
            ]
            for t, m, d, jd, hjd in zip(
                times, rows["magnitude"], rows["deviation"], rows["jd"], rows["hjd"], strict=True
            )
        ]
        if bjd is not None:
            for row, value in zip(out, bjd, strict=True):
                row.append(missing if math.isnan(value) else f"{value:.6f}")
        return out

    def _metadata_rows(self) -> list[list[str]]:
        """The original APhoS's metadata block, then what this archive adds."""
        var, comparisons = self.meta["variable"], self.meta["comparisons"]
        rows = [
            ["Catalog ID", f"{var.catalog} {var.catalog_id}"],
            ["Catalog Right Ascension", format_ra(var.ra_deg)],
            ["Catalog Declination", format_dec(var.dec_deg)],
            ["Catalog Magnitude", _magnitude(var.mag)],
        ]
        for k, ref in enumerate(comparisons):
            label = "Reference" if len(comparisons) == 1 else f"Reference {k + 1}"
            rows += [
                [f"{label} catalog ID", f"{ref.catalog} {ref.catalog_id}"],
                [f"{label} catalog Right Ascension", format_ra(ref.ra_deg)],
                [f"{label} catalog Declination", format_dec(ref.dec_deg)],
                [f"{label} catalog Magnitude", _magnitude(ref.mag)],
            ]
        extra = self._metadata()
        for key in ("variable", "comparison"):
            extra.pop(key)
        if len(var.identifiers) > 1:  # one star under several catalogues' names
            rows.insert(1, ["Identifiers", ", ".join(var.identifiers)])
        rows += [[key.replace("_", " ").capitalize(), str(value)] for key, value in extra.items()]
        return rows

    def _reference_magnitude(self) -> float:
        """The comparison's catalogue magnitude (an ensemble's: of its summed fluxes)."""
        mags = [c.mag for c in self.meta["comparisons"]]
        if not mags or any(m is None for m in mags):
            raise ValueError(
                "a standardised report needs the comparison's catalogue magnitude: "
                + ", ".join(c.label for c in self.meta["comparisons"] if c.mag is None)
                + " has none"
            )
        return float(-2.5 * np.log10(np.sum(10 ** (-0.4 * np.asarray(mags, dtype=float)))))

    def _download(self, delimiter: str, missing: str, metadata: bool) -> str:
        if "time_utc" not in self.data:
            raise ValueError("a curve binned in phase has no times to download")
        text = io.StringIO()
        writer = csv.writer(text, delimiter=delimiter, lineterminator="\n")
        if metadata:
            writer.writerows(self._metadata_rows())
        header = ["Exposure middle", "Magnitude", "Deviation", "JD", "HJD"]
        writer.writerow(header + (["BJD_TDB"] if "bjd_tdb" in self.data else []))
        writer.writerows(self._download_rows(missing))
        return text.getvalue()

    def to_csv(self, path: str | Path | None = None, metadata: bool = False) -> str:
        """Write (or return) the original APhoS's CSV download, plus JD, HJD and BJD_TDB.

        Semicolon-separated: ``Exposure middle;Magnitude;Deviation;JD;HJD;BJD_TDB`` (exposure
        middle in UTC; BJD_TDB for the variable, see ``Bjd tdb`` in the metadata), one row
        per image with a magnitude; an unknown deviation is empty, never 0.
        With ``metadata=True`` it starts, as the original's did, with ``key;value`` rows
        naming both stars (catalogue id, RA, Dec, catalogue magnitude), followed by the
        apertures, observer filters, ``As of`` and the query time.
        """
        return _written(self._download(";", "", metadata), path)

    def to_txt(self, path: str | Path | None = None, metadata: bool = False) -> str:
        """Write (or return) the same as :meth:`to_csv`, space-separated (values that hold a
        space are quoted, as in the original); an unknown deviation is ``nan``."""
        return _written(self._download(" ", "nan", metadata), path)

    def to_aavso(
        self,
        path: str | Path | None = None,
        *,
        obscode: str,
        observer: str | None = None,
        star_name: str | None = None,
        filter: str | None = None,
        date: str = "HJD",
        chart: str = "na",
        software: str = "APhoS aphos_lib",
        standardised: bool = False,
    ) -> str:
        """Write (or return) the AAVSO Extended File Format: differential (``MTYPE=DIF``, the
        comparison's instrumental magnitude as ``CMAG``), or for a calibrated curve standard
        (``MTYPE=STD``, ``CNAME=ENSEMBLE``, ``CMAG=na``, ``TRANS=YES`` where a colour term
        applied to the star's catalogue colour).

        With ``standardised=True`` a differential curve is reported standardised with its
        comparison's catalogue magnitude (``MAG = (v - c) + C``, ``MTYPE=STD``; an ensemble's
        ``C`` is the magnitude of its members' summed catalogue fluxes), the catalogue value
        in the notes as ``CREFMAG``. ``CMAG`` and ``KMAG`` stay the instrumental magnitudes,
        as the AAVSO asks (it derives K-C from them), and ``TRANS=NO``: no colour
        transformation is applied.

        Parameters
        ----------
        obscode : str
            The observer's AAVSO observer code.
        observer : str, optional
            Whose images to report (an AAVSO report is one observer's); needed when the
            curve holds several observers.
        star_name : str, optional
            The AAVSO name of the variable (default: its name, else ``CATALOG ID``).
        filter : str, optional
            AAVSO filter code; by default read from the images' SIPS ``Filter`` header.
        date : ``"HJD"`` or ``"JD"``
            The date type, stated in the ``#DATE`` line (the format takes JD, HJD or EXCEL:
            not BJD_TDB, which the CSV and TXT downloads carry).
        chart : str
            The AAVSO chart id of the comparison sequence, ``na`` when none.
        """
        if date not in ("HJD", "JD"):
            raise ValueError("date must be 'HJD' or 'JD'")
        if not obscode or any(c in obscode for c in ",#\n"):
            raise ValueError(f"obscode {obscode!r} is not an AAVSO observer code")
        rows = self._usable()
        observers = sorted(set(rows["observer"]))
        if observer is None:
            if len(observers) > 1:
                raise ValueError(
                    f"an AAVSO report holds one observer's data; this curve has "
                    f"{', '.join(observers)}: pass observer="
                )
        else:
            rows = rows[rows["observer"].str.lower() == observer.lower()]
        var = self.meta["variable"]
        calibrated = bool(self.meta.get("calibrated"))
        reference = self._reference_magnitude() if standardised and not calibrated else None
        name = _aavso_field(star_name or var.name or f"{var.catalog} {var.catalog_id}", 30)
        # A calibrated magnitude is standardised against every catalogued star of its image:
        # AAVSO's ensemble (CNAME ENSEMBLE, CMAG na, MTYPE STD).
        cname = (
            "ENSEMBLE"
            if calibrated
            else _aavso_field(
                " + ".join(f"{c.catalog} {c.catalog_id}" for c in self.meta["comparisons"]), 30
            )
        )
        check = self.meta.get("check")
        kname = _aavso_field(f"{check.catalog} {check.catalog_id}", 30) if check else "na"
        time_column = "hjd" if date == "HJD" else "jd"
        out = io.StringIO()
        out.write(
            f"#TYPE=EXTENDED\n#OBSCODE={obscode}\n#SOFTWARE={software}\n#DELIM=,\n"
            f"#DATE={date}\n#OBSTYPE=CCD\n"
        )
        out.write(
            "#NAME,DATE,MAG,MERR,FILT,TRANS,MTYPE,CNAME,CMAG,KNAME,KMAG,AMASS,GROUP,CHART,NOTES\n"
        )
        writer = csv.writer(out, lineterminator="\n")
        for row in rows.itertuples(index=False):
            when = getattr(row, time_column)
            if not np.isfinite(when):
                raise ValueError(f"image {row.image_id} has no {date} in its header: use date='JD'")
            kmag = _instrumental(getattr(row, "check_flux", np.nan)) if check else "na"
            if calibrated:
                # TRANS YES only where a colour term took the star's colour to the catalogue's
                # system; the zero point alone is not a transformation.
                trans, mtype, cmag = ("YES" if row.transformed else "NO"), "STD", "na"
                notes = (
                    f"APhoS image {row.image_id}; ensemble of {int(row.solution_stars)} stars,"
                    f" zero point error {row.zero_point_err:.3f}"
                )
            elif reference is not None:
                trans, mtype, cmag = "NO", "STD", _instrumental(row.cmp_flux)
                notes = f"APhoS image {row.image_id}; CREFMAG={reference:.3f}"
            else:
                trans, mtype, cmag = "NO", "DIF", _instrumental(row.cmp_flux)
                notes = f"APhoS image {row.image_id}"
            magnitude = row.magnitude + (reference or 0.0)
            writer.writerow(
                [
                    name,
                    f"{when:.5f}",
                    f"{magnitude:.3f}",
                    "na" if not np.isfinite(row.deviation) else f"{row.deviation:.3f}",
                    _aavso_filter(filter or row.filter),
                    trans,
                    mtype,
                    cname,
                    cmag,
                    kname,
                    kmag,
                    "na",
                    "na",
                    chart,
                    notes,
                ]
            )
        return _written(out.getvalue(), path)


def _describe_bins(binned: dict[str, Any]) -> str:
    """How a curve was binned, in words: ``per night and observer``, ``of 0.01 in phase``."""
    width, time = binned["width"], binned["time"]
    if width == "night":
        return "per night and observer"
    if time == "phase":
        return f"of {width:g} in phase"
    return f"of {width:g} d in {time.upper()}"


def _magnitude(mag: float | None) -> str:
    return "" if mag is None else f"{mag:.2f}"


def _aavso_field(text: str, limit: int) -> str:
    cleaned = text.replace(",", " ").strip()
    if len(cleaned) > limit:
        raise ValueError(f"{cleaned!r} is longer than the AAVSO limit of {limit} characters")
    return cleaned


def _aavso_filter(value: str | None) -> str:
    # An image without a Filter header reads as NaN in the frame's string column, not None.
    code = (value if isinstance(value, str) else "").strip().upper()
    code = _FILTER_ALIASES.get(code, code)
    if code not in AAVSO_FILTERS:
        raise ValueError(
            f"filter {value!r} is not an AAVSO filter code: pass filter= "
            "(e.g. 'V', 'CV' for unfiltered)"
        )
    return code


def _instrumental(flux: float) -> str:
    """An instrumental magnitude (-2.5 log10 of the flux), or ``na``."""
    if not (np.isfinite(flux) and flux > 0):
        return "na"
    return f"{-2.5 * math.log10(flux):.3f}"


def _written(text: str, path: str | Path | None) -> str:
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
    return text
