"""A bqplot figure of magnitudes by observer: the light curve's and the phase plot's.

One scatter and one error-bar mark per observer in the observer's colour, the magnitude axis
inverted (brighter is up), zoom and pan with the mouse (bqplot's ``PanZoom``) or, in its
place, a tooltip per point on hover (bqplot's PanZoom covers the marks and takes their hover
away, bqplot issue #1352: the mouse does one or the other), and rings around the points of a
chosen night. The abscissa is a number
(HJD, phase) or a time: calendar dates on a ``DateScale`` (UTC), whose tick labels follow the
zoom (dates for the whole curve, hours within a night).

Error bars are one ``Lines`` mark per observer whose segments are separated by a NaN
magnitude (bqplot leaves a gap where ``y`` is not finite), so 5,000 bars are one SVG path,
not 5,000. The points are bqplot's SVG ``Scatter`` (each point a ``path.dot``) or, with
``gl=True``, bqplot-gl's WebGL ``ScatterGL`` (which has no hover: no tooltip there).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from bqplot import Axis, DateScale, Figure, LinearScale, Lines, PanZoom, Scatter, Tooltip
from bqplot_gl import ScatterGL
from bqscales.traits import Date

__all__ = [
    "COLOURS",
    "ObserverFigure",
    "UTCDateScale",
    "colours_for",
    "error_segments",
    "observer_masks",
    "tick_format",
]

# d3's category10: distinct, and the colours observers know from the original plots.
COLOURS = [
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
]
_MS_PER_DAY = 86_400_000.0
# The tooltip is a bqplot Tooltip showing each point's ``names`` entry: drawn by the browser
# on hover, no round trip to the kernel. Its lines are separated by newlines.
_TOOLTIP_STYLE = {"opacity": 0.95, "white-space": "pre", "font-size": "12px"}


def _utc_to_json(value: dt.datetime | None, _widget) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _utc_from_json(value: str | None, _widget) -> dt.datetime | None:
    if not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)


class UTCDateScale(DateScale):
    """bqplot's ``DateScale`` whose view (``min``, ``max``) goes both ways as UTC.

    bqscales 0.3 writes the view without a zone (a browser reads it as its local time) and
    cannot read back the browser's ``...Z``: the view PanZoom set never reached the kernel
    (``ValueError: unconverted data remains: Z`` in the kernel), so "Reset view" after a
    zoom sent nothing and the labels could not follow the zoom. Naive datetimes here are UTC.
    """

    min = Date(default_value=None, allow_none=True).tag(
        sync=True, to_json=_utc_to_json, from_json=_utc_from_json
    )
    max = Date(default_value=None, allow_none=True).tag(
        sync=True, to_json=_utc_to_json, from_json=_utc_from_json
    )


def colours_for(observers) -> dict[str, str]:
    """A stable colour per observer (sorted names, category10 in turn).

    Examples
    --------
    >>> colours_for(["svoboda", "novak"])
    {'novak': '#1f77b4', 'svoboda': '#ff7f0e'}
    """
    return {name: COLOURS[k % len(COLOURS)] for k, name in enumerate(sorted(observers))}


def observer_masks(data: pd.DataFrame, x: np.ndarray) -> dict[str, np.ndarray]:
    """The rows with a magnitude and an abscissa, by observer: ``{observer: boolean mask}``.

    Parameters
    ----------
    data : pandas.DataFrame
        A light curve's rows (``observer``, ``magnitude``).
    x : numpy.ndarray
        The abscissa of each row (a time, a phase).
    """
    magnitude = data["magnitude"].to_numpy(dtype=float)
    usable = np.isfinite(magnitude) & np.isfinite(x)
    observer = data["observer"].to_numpy(dtype=object)
    return {name: usable & (observer == name) for name in sorted(set(observer[usable]))}


def error_segments(x: np.ndarray, y: np.ndarray, dy: np.ndarray) -> tuple[np.ndarray, ...]:
    """One polyline of vertical bars ``y - dy .. y + dy``, separated by NaN magnitudes.

    The separator repeats the bar's abscissa: a time axis cannot hold a NaN, and bqplot
    leaves the gap where the magnitude is not finite.

    Examples
    --------
    >>> ex, ey = error_segments(np.array([1.0]), np.array([5.0]), np.array([0.5]))
    >>> ex.tolist(), ey.tolist()
    ([1.0, 1.0, 1.0], [4.5, 5.5, nan])
    """
    known = np.isfinite(dy)
    x, y, dy = x[known], y[known], dy[known]
    ex = np.column_stack([x, x, x]).ravel()
    ey = np.column_stack([y - dy, y + dy, np.full_like(y, np.nan)]).ravel()
    return ex, ey


def tick_format(kind: str, span: float) -> str:
    """The abscissa's tick format for a view ``span`` wide (days; for ``"number"``, units).

    Dates for a view of weeks, dates and hours within days; HJD with more decimals as the
    view narrows.

    Examples
    --------
    >>> tick_format("date", 120.0), tick_format("date", 2.0)
    ('%Y-%m-%d', '%m-%d %H:%M')
    >>> tick_format("number", 300.0), tick_format("number", 0.3)
    ('.1f', '.4f')
    """
    if kind == "date":
        return "%Y-%m-%d" if span > 8 else "%m-%d %H:%M"
    return ".1f" if span > 20 else ".2f" if span > 2 else ".4f"


def _padded(values: list[np.ndarray], fraction: float = 0.03) -> tuple[float, float] | None:
    values = [v[np.isfinite(v)] for v in values if len(v)]
    values = [v for v in values if len(v)]
    if not values:
        return None
    low = float(min(v.min() for v in values))
    high = float(max(v.max() for v in values))
    pad = (high - low) * fraction or 0.05
    return low - pad, high + pad


def _as_time(ms: np.ndarray) -> np.ndarray:
    """Milliseconds since 1970 as ``datetime64[ms]`` (what a DateScale's marks take)."""
    return np.round(np.asarray(ms, dtype=float)).astype(np.int64).astype("datetime64[ms]")


def _as_datetime(ms: float) -> dt.datetime:
    """A naive UTC datetime, as bqplot's Date traits send them (``...Z``)."""
    return dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=round(ms))


class ObserverFigure:
    """A bqplot figure of magnitudes with one scatter and one error-bar mark per observer.

    Parameters
    ----------
    x_label : str
        The abscissa's label.
    kind : str
        ``"number"`` (a ``LinearScale``) or ``"date"`` (a ``DateScale``; the abscissae given
        to :meth:`draw` are then milliseconds since 1970, UTC).
    gl : bool
        WebGL points (bqplot-gl) instead of SVG.
    css : str
        A class of the figure, for the page's tests and styles.
    title : str
        The figure's title.
    x_format : str, optional
        A fixed tick format of the abscissa; by default it follows the zoom
        (:func:`tick_format`).
    """

    def __init__(
        self,
        x_label: str,
        *,
        kind: str = "number",
        gl: bool,
        css: str,
        title: str = "",
        x_format: str | None = None,
    ):
        self.gl = gl
        self.x_format = x_format
        self.y_scale = LinearScale(reverse=True)
        self.y_axis = Axis(
            scale=self.y_scale,
            side="left",
            label="Δ magnitude",
            tick_format=".2f",
            grid_lines="solid",
        )
        self.figure = Figure(
            marks=[],
            axes=[self.y_axis],
            title=title,
            legend_location="top-right",
            animation_duration=0,
            fig_margin={"top": 40, "bottom": 50, "left": 60, "right": 20},
            layout={"width": "100%", "height": "420px"},
        )
        self.figure.add_class(css)
        self.tooltip = Tooltip(fields=["name"], show_labels=False)
        self.show_errors = True
        self.view: tuple[tuple[float, float], tuple[float, float]] = ((0, 1), (0, 1))
        self.points = 0
        self.marks: dict[str, tuple] = {}
        # Rings around the chosen night's points, and a larger one around the chosen image.
        self.rings: list[Scatter] = []
        self.zoom = True  # the mouse zooms and pans; False: it shows each point's tooltip
        self.set_abscissa(x_label, kind)

    def set_abscissa(self, label: str, kind: str) -> None:
        """Put a new abscissa (scale and axis) under the figure; :meth:`draw` again after."""
        self.kind = kind
        self.x_scale = UTCDateScale() if kind == "date" else LinearScale()
        self.x_axis = Axis(
            scale=self.x_scale,
            label=label,
            grid_lines="solid",
            tick_format=self.x_format or tick_format(kind, 1e9),
        )
        # PanZoom syncs the browser's view back to these scales: follow it with the labels.
        self.x_scale.observe(lambda _: self._follow_zoom(), ["min", "max"])
        for bars, scatter in self.marks.values():
            bars.close()
            scatter.close()
        for ring in self.rings:
            ring.close()
        self.marks = {}
        self.rings = [self._ring("black", 80), self._ring("#d00", 220)]
        self.panzoom = PanZoom(scales={"x": [self.x_scale], "y": [self.y_scale]})
        with self.figure.hold_sync():
            self.figure.axes = [self.x_axis, self.y_axis]
            self.figure.interaction = self.panzoom if self.zoom else None

    def set_zoom(self, zoom: bool) -> None:
        """The mouse zooms and pans (True), or shows each point's tooltip on hover."""
        self.zoom = zoom
        self.figure.interaction = self.panzoom if zoom else None

    def _ring(self, colour: str, size: int) -> Scatter:
        return Scatter(
            x=self._x(np.zeros(0)),
            y=np.zeros(0),
            colors=[colour],
            fill=False,
            stroke=colour,
            stroke_width=2,
            default_size=size,
            labels=[""],
            display_legend=False,
            enable_hover=False,
            scales={"x": self.x_scale, "y": self.y_scale},
        )

    def _x(self, x: np.ndarray) -> np.ndarray:
        return _as_time(x) if self.kind == "date" else x

    def _scatter(self, name: str, colour: str):
        if self.gl:
            return ScatterGL(
                x=self._x(np.zeros(0)),
                y=np.zeros(0),
                colors=[colour],
                default_size=24,
                stroke=None,
                labels=[name],
                display_legend=True,
                scales={"x": self.x_scale, "y": self.y_scale},
            )
        return Scatter(
            x=self._x(np.zeros(0)),
            y=np.zeros(0),
            colors=[colour],
            default_size=24,
            stroke=None,
            labels=[name],
            display_legend=True,
            display_names=False,
            tooltip=self.tooltip,
            tooltip_style=_TOOLTIP_STYLE,
            scales={"x": self.x_scale, "y": self.y_scale},
        )

    def draw(
        self,
        groups: dict[str, tuple],
        colours: dict[str, str],
        x_range: tuple[float, float] | None = None,
        names: dict[str, list[str]] | None = None,
    ) -> None:
        """Show ``groups`` (``{observer: (x, magnitude, deviation)}``) in their colours.

        ``names`` gives each point's tooltip (SVG points only), by observer.
        """
        marks = list(self.rings)
        for name, (x, y, dy) in groups.items():
            # Marks are kept per observer and given new data: a redraw sends arrays, not new
            # widget models.
            if name not in self.marks:
                bars = Lines(
                    x=self._x(np.zeros(0)),
                    y=np.zeros(0),
                    colors=[colours[name]],
                    stroke_width=1,
                    opacities=[0.6],
                    visible=self.show_errors,
                    scales={"x": self.x_scale, "y": self.y_scale},
                )
                self.marks[name] = (bars, self._scatter(name, colours[name]))
            bars, scatter = self.marks[name]
            ex, ey = error_segments(x, y, dy)
            with bars.hold_sync():
                bars.x, bars.y = self._x(ex), ey
            with scatter.hold_sync():
                scatter.x, scatter.y = self._x(x), y
                if names is not None and not self.gl:
                    scatter.names = names[name]
            marks += [bars, scatter]
        self.points = sum(len(g[0]) for g in groups.values())
        xs = [g[0] for g in groups.values()]
        lows = [g[1] - np.nan_to_num(g[2]) for g in groups.values()]
        highs = [g[1] + np.nan_to_num(g[2]) for g in groups.values()]
        x_view = (
            x_range or _padded(xs) or ((0.0, _MS_PER_DAY) if self.kind == "date" else (0.0, 1.0))
        )
        self.view = (x_view, _padded(lows + highs) or (0.0, 1.0))
        with self.figure.hold_sync():
            if self.figure.marks != marks:
                self.figure.marks = marks
            self.reset()

    def ring(self, which: int, x: np.ndarray, y: np.ndarray, label: str = "") -> None:
        """Ring these points: ``which`` 0 for a night's, 1 for one image's; empty to clear."""
        ring = self.rings[which]
        with ring.hold_sync():
            ring.x, ring.y = self._x(np.asarray(x, dtype=float)), np.asarray(y, dtype=float)
            ring.labels = [label]
            ring.display_legend = bool(label) and len(x) > 0

    def reset(self) -> None:
        """Back to the whole curve after zooming and panning."""
        (x_low, x_high), (y_low, y_high) = self.view
        if self.kind == "date":
            x_low, x_high = _as_datetime(x_low), _as_datetime(x_high)
        for scale, low, high in ((self.x_scale, x_low, x_high), (self.y_scale, y_low, y_high)):
            with scale.hold_sync():
                scale.min, scale.max = low, high
            # Sent even when unchanged here: the browser's view may be one PanZoom set and
            # has not synced back yet.
            scale.send_state(["min", "max"])

    def x_span(self) -> float:
        """The abscissa's visible span: days for dates, else the axis's units."""
        low, high = self.x_scale.min, self.x_scale.max
        if low is None or high is None:
            return float("inf")
        if self.kind == "date":
            return (high - low).total_seconds() / 86400
        return float(high - low)

    def _follow_zoom(self) -> None:
        fmt = self.x_format or tick_format(self.kind, abs(self.x_span()))
        if self.x_axis.tick_format != fmt:
            self.x_axis.tick_format = fmt

    def set_errors(self, show: bool) -> None:
        """Show or hide the error bars."""
        self.show_errors = show
        for bars, _ in self.marks.values():
            bars.visible = show
