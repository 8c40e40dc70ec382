"""The light curve and the phase plot of the object page (bqplot).

Magnitudes against HJD, the magnitude axis inverted (brighter is up), one colour and legend
entry per observer, error bars that can be switched off, zoom and pan with the mouse (wheel
and drag: bqplot's ``PanZoom``) and a button that resets the view. The phase plot folds the
same magnitudes on a period (typed, or found with the Lomb-Scargle periodogram) from an epoch,
two cycles wide.

Error bars are one ``Lines`` mark per observer whose segments are separated by NaN (bqplot
leaves a gap at a non-finite value), so 5,000 bars are one SVG path, not 5,000. The points
are bqplot's SVG ``Scatter`` (each point a ``path.dot``) or, with ``gl=True``, bqplot-gl's
WebGL ``ScatterGL``; ``bench/dashboard.py`` measures both.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import pandas as pd
from bqplot import Axis, Figure, LinearScale, Lines, PanZoom, Scatter

from aphos_lib.lightcurve import LightCurve

__all__ = ["COLOURS", "LightCurvePlot", "PhasePlot", "error_segments", "observer_groups"]

# d3's category10: distinct, and the colours observers know from the original plots.
COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf"]  # fmt: skip


def observer_groups(data: pd.DataFrame, x: np.ndarray) -> dict[str, tuple]:
    """The points with a magnitude, by observer: ``{observer: (x, magnitude, deviation)}``.

    Parameters
    ----------
    data : pandas.DataFrame
        A light curve's rows (``observer``, ``magnitude``, ``deviation``).
    x : numpy.ndarray
        The abscissa of each row (HJD, phase).
    """
    magnitude = data["magnitude"].to_numpy(dtype=float)
    usable = np.isfinite(magnitude) & np.isfinite(x)
    observer = data["observer"].to_numpy(dtype=object)
    deviation = data["deviation"].to_numpy(dtype=float)
    return {
        name: (x[usable & (observer == name)], magnitude[usable & (observer == name)],
               deviation[usable & (observer == name)])
        for name in sorted(set(observer[usable]))
    }  # fmt: skip


def error_segments(x: np.ndarray, y: np.ndarray, dy: np.ndarray) -> tuple[np.ndarray, ...]:
    """One polyline of vertical bars ``y - dy .. y + dy``, separated by NaN gaps.

    Examples
    --------
    >>> ex, ey = error_segments(np.array([1.0]), np.array([5.0]), np.array([0.5]))
    >>> ex.tolist(), ey.tolist()
    ([1.0, 1.0, nan], [4.5, 5.5, nan])
    """
    known = np.isfinite(dy)
    x, y, dy = x[known], y[known], dy[known]
    ex = np.column_stack([x, x, np.full_like(x, np.nan)]).ravel()
    ey = np.column_stack([y - dy, y + dy, np.full_like(y, np.nan)]).ravel()
    return ex, ey


def _padded(values: list[np.ndarray], fraction: float = 0.03) -> tuple[float, float]:
    values = [v[np.isfinite(v)] for v in values if len(v)]
    if not values:
        return 0.0, 1.0
    low = float(min(v.min() for v in values))
    high = float(max(v.max() for v in values))
    pad = (high - low) * fraction or 0.05
    return low - pad, high + pad


class _ObserverFigure:
    """A bqplot figure of magnitudes with one scatter and one error-bar mark per observer."""

    def __init__(self, x_label: str, *, gl: bool, css: str, title: str = ""):
        self.gl = gl
        self.x_scale, self.y_scale = LinearScale(), LinearScale(reverse=True)
        self.x_axis = Axis(scale=self.x_scale, label=x_label, tick_format=".2f", grid_lines="solid")
        self.y_axis = Axis(scale=self.y_scale, side="left", label="Δ magnitude",
                           tick_format=".2f", grid_lines="solid")  # fmt: skip
        self.figure = Figure(marks=[], axes=[self.x_axis, self.y_axis], title=title,
                             legend_location="top-right", animation_duration=0,
                             fig_margin={"top": 40, "bottom": 50, "left": 60, "right": 20},
                             layout={"width": "100%", "height": "420px"})  # fmt: skip
        self.figure.add_class(css)
        self.figure.interaction = PanZoom(scales={"x": [self.x_scale], "y": [self.y_scale]})
        self.show_errors = True
        self.view: tuple[tuple[float, float], tuple[float, float]] = ((0, 1), (0, 1))
        self.points = 0
        self.marks: dict[str, tuple] = {}

    def _scatter(self, name: str, colour: str):
        if self.gl:
            from bqplot_gl import ScatterGL

            mark = ScatterGL
        else:
            mark = Scatter
        return mark(x=np.zeros(0), y=np.zeros(0), scales={"x": self.x_scale, "y": self.y_scale},
                    colors=[colour], default_size=24, stroke=None, labels=[name],
                    display_legend=True)  # fmt: skip

    def draw(self, groups: dict[str, tuple], colours: dict[str, str],
             x_range: tuple[float, float] | None = None) -> None:  # fmt: skip
        """Show ``groups`` (see :func:`observer_groups`), each in its observer's colour."""
        marks = []
        for name, (x, y, dy) in groups.items():
            # Marks are kept per observer and given new data: a redraw sends arrays, not new
            # widget models.
            if name not in self.marks:
                bars = Lines(x=np.zeros(0), y=np.zeros(0), colors=[colours[name]],
                             stroke_width=1, opacities=[0.6], visible=self.show_errors,
                             scales={"x": self.x_scale, "y": self.y_scale})  # fmt: skip
                self.marks[name] = (bars, self._scatter(name, colours[name]))
            bars, scatter = self.marks[name]
            ex, ey = error_segments(x, y, dy)
            with bars.hold_sync():
                bars.x, bars.y = ex, ey
            with scatter.hold_sync():
                scatter.x, scatter.y = x, y
            marks += [bars, scatter]
        self.points = sum(len(g[0]) for g in groups.values())
        xs = [g[0] for g in groups.values()]
        lows = [g[1] - np.nan_to_num(g[2]) for g in groups.values()]
        highs = [g[1] + np.nan_to_num(g[2]) for g in groups.values()]
        self.view = (x_range or _padded(xs), _padded(lows + highs))
        with self.figure.hold_sync():
            if self.figure.marks != marks:
                self.figure.marks = marks
            self.reset()

    def reset(self) -> None:
        """Back to the whole curve after zooming and panning."""
        for scale, (low, high) in zip((self.x_scale, self.y_scale), self.view, strict=True):
            with scale.hold_sync():  # PanZoom syncs the browser's scales back to here
                scale.min, scale.max = low, high

    def set_errors(self, show: bool) -> None:
        """Show or hide the error bars."""
        self.show_errors = show
        for mark in self.figure.marks:
            if isinstance(mark, Lines):
                mark.visible = show


def colours_for(observers) -> dict[str, str]:
    """A stable colour per observer (sorted names, category10 in turn)."""
    return {name: COLOURS[k % len(COLOURS)] for k, name in enumerate(sorted(observers))}


class LightCurvePlot(widgets.VBox):
    """Magnitudes against HJD, coloured by observer, with zoom, pan, reset and error bars.

    Parameters
    ----------
    gl : bool
        Draw the points with WebGL (bqplot-gl) instead of SVG.
    """

    def __init__(self, *, gl: bool = False):
        self.plot = _ObserverFigure("HJD", gl=gl, css="aphos-lightcurve", title="Light curve")
        self.reset_button = widgets.Button(description="Reset view", icon="refresh",
                                           tooltip="Show the whole curve again after zooming "
                                           "or panning").add_class("aphos-reset")  # fmt: skip
        self.errors = widgets.Checkbox(
            value=True, description="Error bars", indent=False, layout={"width": "9em"}
        ).add_class("aphos-errors")
        self.count = widgets.HTML().add_class("aphos-point-count")
        self.version = 0
        self.reset_button.on_click(lambda _: self.plot.reset())
        self.errors.observe(lambda change: self.plot.set_errors(change["new"]), "value")
        hint = widgets.HTML("<small>Wheel to zoom, drag to pan.</small>")
        bar = widgets.HBox([self.reset_button, self.errors, self.count, hint],
                           layout={"align_items": "center"})  # fmt: skip
        super().__init__([self.plot.figure, bar])
        self.add_class("aphos-lightcurve-panel")

    @property
    def figure(self) -> Figure:
        return self.plot.figure

    def show(self, curve: LightCurve, colours: dict[str, str]) -> None:
        """Draw ``curve``'s magnitudes."""
        data = curve.data
        groups = observer_groups(data, data["hjd"].to_numpy(dtype=float))
        self.plot.draw(groups, colours)
        points = self.plot.points
        self.version += 1
        # data-version changes with every redraw, after the marks got their data: a browser
        # (test or benchmark) waits for it, whether the points are SVG or WebGL.
        noun = "point" if points == 1 else "points"
        self.count.value = (
            f'<span data-points="{points}" data-version="{self.version}">{points:,} {noun} '
            f"with a magnitude{'' if points == len(data) else f' of {len(data):,} images'}"
            "</span>"
        )


class PhasePlot(widgets.VBox):
    """The curve folded on a period from an epoch, two cycles wide, with "find period"."""

    def __init__(self, *, gl: bool = False):
        self.gl = gl
        self._plot: _ObserverFigure | None = None
        # 0 until a period is typed or found: folding on a made-up period shows nothing, and
        # a long curve's phase plot costs as much to draw as the light curve.
        self.period = widgets.BoundedFloatText(
            description="Period (d)",
            value=0.0,
            min=0.0,
            max=1e5,
            step=1e-4,
            layout={"width": "16em"},
        ).add_class("aphos-period")
        self.epoch = widgets.FloatText(
            description="Epoch (HJD)", value=0.0, layout={"width": "18em"}
        ).add_class("aphos-epoch")
        self.nterms = widgets.Dropdown(description="Terms", options=[1, 2, 3], value=2,
                                       tooltip="Fourier terms of the periodogram's model: 2 "
                                       "tells an eclipsing binary's two eclipses apart",
                                       layout={"width": "9em"},
                                       style={"description_width": "initial"})  # fmt: skip
        self.find = widgets.Button(
            description="Find period",
            icon="search",
            tooltip="Lomb-Scargle periodogram of the magnitudes (0.05 d to half the time span)",
        ).add_class("aphos-find-period")
        self.message = widgets.HTML().add_class("aphos-period-message")
        self.curve: LightCurve | None = None
        self.colours: dict[str, str] = {}
        self.find.on_click(lambda _: self.find_period())
        self.period.observe(lambda _: self.redraw(), "value")
        self.epoch.observe(lambda _: self.redraw(), "value")
        controls = widgets.HBox([self.period, self.epoch, self.nterms, self.find])
        super().__init__([controls, self.message])
        self.add_class("aphos-phase-panel")

    @property
    def plot(self) -> _ObserverFigure:
        """The phase figure, made when first needed (a period to fold on): an empty figure
        cost every object page about 0.3 s of its opening in Chromium (bench/dashboard.py)."""
        if self._plot is None:
            self._plot = _ObserverFigure("phase", gl=self.gl, css="aphos-phase",
                                         title="Phase plot")  # fmt: skip
            self._plot.view = ((0.0, 2.0), (-0.5, 0.5))
            self._plot.reset()
            self.children = (*self.children, self._plot.figure)
        return self._plot

    @property
    def figure(self) -> Figure:
        return self.plot.figure

    def show(self, curve: LightCurve, colours: dict[str, str]) -> None:
        """Fold and draw ``curve``; the epoch defaults to its first image's HJD."""
        self.curve, self.colours = curve, colours
        hjd = curve.data["hjd"].to_numpy(dtype=float)
        if self.epoch.value == 0.0 and np.isfinite(hjd).any():
            with self.epoch.hold_trait_notifications():
                self.epoch.value = round(float(np.nanmin(hjd)), 5)
        self.redraw()

    def find_period(self) -> None:
        """Fill the period field with the periodogram's best period."""
        if self.curve is None:
            return
        try:
            periodogram = self.curve.periodogram(nterms=self.nterms.value)
        except ValueError as error:
            self.message.value = f"<small>{error}</small>"
            return
        self.message.value = (f"<small>Best period {periodogram.best_period:.6f} d (power "
                              f"{periodogram.best_power:.3f}). With one term, an eclipsing "
                              "binary's period is often twice this.</small>")  # fmt: skip
        self.period.value = round(periodogram.best_period, 6)

    def redraw(self) -> None:
        """Fold again on the current period and epoch."""
        if self.curve is None or not len(self.curve) or not self.period.value > 0:
            if self._plot is not None and self._plot.figure.marks:
                self._plot.draw({}, {}, (0.0, 2.0))
            if self.curve is not None and not self.period.value > 0:
                self.message.value = (
                    "<small>Type a period, or find one with the periodogram.</small>"
                )
            return
        if self.message.value.startswith("<small>Type"):
            self.message.value = ""
        folded = self.curve.fold(self.period.value, epoch=self.epoch.value)
        data = pd.concat([folded.data, folded.data], ignore_index=True)
        phase = folded.data["phase"].to_numpy(dtype=float)
        self.plot.draw(observer_groups(data, np.concatenate([phase, phase + 1])), self.colours,
                       (0.0, 2.0))  # fmt: skip
