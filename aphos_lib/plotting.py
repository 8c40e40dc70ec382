"""Quick matplotlib figures of light curves, folded curves and periodograms.

Each function draws on ``ax`` (a new figure when none is given), passes its keyword
arguments on to matplotlib as styling, and returns the axes. Magnitudes grow downwards, as
astronomers plot them. Matplotlib is imported on first use, so ``aphos_lib`` works without
it; in a notebook the figures show inline, and anywhere without a display (CI, a batch job)
matplotlib's default non-interactive backend draws them.

The light curve's own methods call these: ``curve.plot()``, ``curve.plot_phase(0.936)``,
``curve.periodogram().plot()``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "plot_aperture_scatter",
    "plot_lightcurve",
    "plot_o_c",
    "plot_periodogram",
    "plot_phase",
    "plot_variability",
]

# How points look unless the caller's styling says otherwise.
_POINTS = {"fmt": "o", "markersize": 3, "elinewidth": 0.8}


def _axes(ax, title: str | None = None):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(8, 4), layout="constrained")
    if title:
        ax.set_title(title)
    return ax


def _title(curve) -> str:
    var = curve.meta.get("variable")
    name = (var.name or var.label) if var is not None else "light curve"
    return f"{name} against {curve.comparison_label}" if curve.meta.get("comparisons") else name


def _by_group(data, by: str | None):
    if by is None or by not in data:
        yield None, data
        return
    yield from data.groupby(by, sort=True)


def _errorbars(ax, x, group, label, style):
    y = group["magnitude"].to_numpy(dtype=float)
    err = group["deviation"].to_numpy(dtype=float)
    err = np.where(np.isfinite(err), err, 0.0)  # unknown deviations: a point without a bar
    ax.errorbar(x, y, yerr=err, label=label, **{**_POINTS, **style})


def _label(key, label: str | None):
    """A group's legend entry: its value, after the caller's ``label=`` when one is given."""
    if label is None:
        return key
    return label if key is None else f"{label} ({key})"


def _legend(ax, data, by: str | None, label: str | None) -> None:
    if len(data) and (label is not None or (by is not None and by in data)):
        ax.legend(fontsize="small")


def plot_lightcurve(curve, ax=None, time: str = "hjd", by: str | None = "observer", **style):
    """The magnitudes against time, one colour per observer (``by=None``: one colour).

    Parameters
    ----------
    curve : LightCurve
    ax : matplotlib.axes.Axes, optional
    time : str
        The time column: ``"hjd"`` or ``"jd"``.
    by : str or None
        A column whose values get a colour and a legend entry each.
    **style
        Passed to ``Axes.errorbar``; a ``label=`` is put before each group's value.
    """
    if time not in curve.data:
        raise ValueError(f"the curve has no {time!r} column to plot against")
    label = style.pop("label", None)
    ax = _axes(ax, _title(curve))
    data = curve.data[np.isfinite(curve.data["magnitude"].to_numpy(dtype=float))]
    for key, group in _by_group(data, by):
        _errorbars(ax, group[time].to_numpy(dtype=float), group, _label(key, label), style)
    ax.set_xlabel(time.upper())
    ax.set_ylabel("differential magnitude")
    if not ax.yaxis_inverted():
        ax.invert_yaxis()
    _legend(ax, data, by, label)
    return ax


def plot_phase(curve, ax=None, cycles: int = 2, by: str | None = "observer", **style):
    """A folded curve (from :meth:`LightCurve.fold`) against phase, ``cycles`` times over.

    Parameters
    ----------
    curve : LightCurve
        Folded: it has a ``phase`` column and ``meta["period"]``.
    cycles : int
        How many cycles to draw (2 shows an eclipse at phase 0 whole).
    **style
        Passed to ``Axes.errorbar``; a ``label=`` is put before each group's value.
    """
    if "phase" not in curve.data:
        raise ValueError("plot_phase needs a folded curve: curve.fold(period)")
    label = style.pop("label", None)
    period = curve.meta.get("period")
    title = _title(curve) + (f", P = {period:.5f} d" if period else "")
    ax = _axes(ax, title)
    data = curve.data[np.isfinite(curve.data["magnitude"].to_numpy(dtype=float))]
    for key, group in _by_group(data, by):
        phase = group["phase"].to_numpy(dtype=float)
        x = np.concatenate([phase + k for k in range(cycles)])
        _errorbars(ax, x, pd.concat([group] * cycles), _label(key, label), style)
    ax.set_xlabel("phase")
    ax.set_ylabel("differential magnitude")
    ax.set_xlim(0, cycles)
    if not ax.yaxis_inverted():
        ax.invert_yaxis()
    _legend(ax, data, by, label)
    return ax


def plot_o_c(timings, ax=None, **style):
    """The O-C diagram: each timing's O-C (minutes) against its cycle, with its error.

    Primary minima are filled circles, secondaries open ones, maxima squares; a quadratic
    ephemeris is drawn as its parabola relative to the linear part.

    Parameters
    ----------
    timings : aphos_lib.minima.Timings
        With ``cycle`` and ``o_c_d`` (from ``LightCurve.o_c``, or ``minima`` with an
        ephemeris).
    **style
        Passed to ``Axes.errorbar``.
    """
    table = timings.table
    if "o_c_d" not in table:
        raise ValueError("these timings have no O-C: give an ephemeris or use LightCurve.o_c")
    ephemeris = timings.ephemeris
    ax = _axes(ax, f"O-C of {timings.star}" + (f": {ephemeris}" if ephemeris else ""))
    minutes = 1440.0
    for kind, marker, fill in (
        ("primary", "o", True),
        ("secondary", "o", False),
        ("maximum", "s", True),
    ):
        rows = table[table["type"] == kind]
        if not len(rows):
            continue
        # Against the linear part of a quadratic ephemeris, so the parabola shows.
        linear_o_c = (
            rows["o_c_d"] + (ephemeris.quadratic if ephemeris else 0.0) * rows["cycle"] ** 2
        )
        ax.errorbar(
            rows["cycle"],
            linear_o_c * minutes,
            yerr=rows["error_d"] * minutes,
            **{
                "fmt": marker,
                "markersize": 4,
                "linewidth": 0.8,
                "label": kind,
                "markerfacecolor": None if fill else "none",
                **style,
            },
        )
    if ephemeris is not None and ephemeris.quadratic and len(table):
        cycles = np.linspace(table["cycle"].min(), table["cycle"].max(), 200)
        ax.plot(cycles, ephemeris.quadratic * cycles**2 * minutes, color="tab:red", linewidth=0.8)
    ax.axhline(0.0, color="grey", linewidth=0.6)
    ax.set_xlabel("cycle")
    ax.set_ylabel("O-C (min)")
    if len(table):
        ax.legend(fontsize="small")
    return ax


_PERIODOGRAM_TITLES = {
    "pdm": ("Phase dispersion minimisation (lower is better)", "theta"),
    "bls": ("Box least squares", "log likelihood"),
}


def plot_periodogram(periodogram, ax=None, mark=None, **style):
    """Power (or PDM's theta) against period (log scale), with vertical lines at ``mark``.

    Parameters
    ----------
    periodogram : Periodogram
        From :meth:`LightCurve.periodogram` (or an :mod:`aphos_lib.period_search` result);
        its ``method`` names the title and the y axis.
    mark : float or list of float, optional
        Periods to mark (days), e.g. the best period and twice it.
    **style
        Passed to ``Axes.plot`` (``color=``, ``linewidth=``, ``label=`` ...).
    """
    method = getattr(periodogram, "method", "lombscargle")
    engine = " by nifty-ls" if method == "nifty" else ""
    title, ylabel = _PERIODOGRAM_TITLES.get(
        method, (f"Lomb-Scargle periodogram{engine} (nterms={periodogram.nterms})", "power")
    )
    ax = _axes(ax, title)
    order = np.argsort(periodogram.period)
    ax.plot(periodogram.period[order], periodogram.power[order], **{"linewidth": 0.8, **style})
    if "label" in style:
        ax.legend(fontsize="small")
    ax.set_xscale("log")
    ax.set_xlabel("period (d)")
    ax.set_ylabel(ylabel)
    marks = [] if mark is None else np.atleast_1d(mark)
    for period in marks:
        ax.axvline(float(period), color="tab:red", linestyle="--", linewidth=0.8)
        ax.annotate(
            f"{float(period):.4f} d",
            (float(period), ax.get_ylim()[1]),
            rotation=90,
            va="top",
            ha="right",
            fontsize="small",
        )
    return ax


def plot_aperture_scatter(scatter, ax=None):
    """The check star's scatter per aperture, one line per night and observer.

    Parameters
    ----------
    scatter : pandas.DataFrame
        From :func:`aphos_lib.analysis.aperture_scatter`; aperture 0 is ApAuto.
    """
    ax = _axes(ax, "check star scatter by aperture (0 = ApAuto)")
    for (night, observer), group in scatter.groupby(["night", "observer"], sort=True):
        group = group[np.isfinite(group["check_std"].to_numpy(dtype=float))]
        if len(group):
            ax.plot(
                group["aperture"],
                group["check_std"],
                marker=".",
                linewidth=0.6,
                label=f"{night} {observer}",
            )
    ax.set_xlabel("aperture")
    ax.set_ylabel("check star std (mag)")
    ax.set_yscale("log")
    return ax


def plot_variability(found, ax=None, marked: int = 10, **style):
    """A field's stars: scatter against mean calibrated magnitude (log scale), the field's
    noise curve dashed, the ``marked`` best candidates and the known variables labelled.

    ``found`` is a :class:`aphos_lib.variable_finder.VariableCandidates`
    (``found.plot()``).
    """
    frame = found.frame
    ax = _axes(ax, f"Variability, filter {found.filter or '(none)'}: {len(frame)} stars")
    points = {"s": 12, "color": "#1f77b4", "alpha": 0.7, "label": "stars"} | style
    ax.scatter(frame["mag"], frame["std"], **points)
    best = frame[(frame["rank"] <= marked) | frame["known_variable"]]
    ax.scatter(best["mag"], best["std"], s=30, color="#ff7f0e", label=f"top {marked}, known")
    for row in best.itertuples(index=False):
        ax.annotate(
            row.name or row.label, (row.mag, row.std), fontsize=8, xytext=(3, 3),
            textcoords="offset points",
        )  # fmt: skip
    if len(found.curve):
        ax.plot(found.curve["mag"], found.curve["expected_std"], "--", color="#5e6670",
                label="field noise")  # fmt: skip
    ax.set_yscale("log")
    ax.set_xlabel("mean calibrated magnitude")
    ax.set_ylabel("scatter (mag)")
    ax.legend(loc="upper left", fontsize=8)
    return ax
