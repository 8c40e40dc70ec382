"""The light curve and the phase plot of the object page (bqplot).

The light curve: magnitudes against calendar dates (UTC; HJD as an option of the time axis),
the magnitude axis inverted (brighter is up), one colour and legend entry per observer,
error bars that can be switched off, zoom and pan with the mouse (wheel and drag) and a
button that resets the view, or instead ("Point details") each point's HJD, magnitude,
error, observer and night on hover (SVG points only: bqplot-gl's have no hover),
rings around the points of a night chosen in the image table, and the figure saved as a PNG.
When no point has a magnitude the figure is hidden (the page says what to do instead).

The phase plot folds the same magnitudes on a period (typed, or found with the Lomb-Scargle
periodogram) from an epoch, two cycles wide. Both are
:class:`~aphos_lib.widgets.plot_figure.ObserverFigure`.
"""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np
import pandas as pd
from bqplot import Figure

from aphos_lib.lightcurve import LightCurve
from aphos_lib.widgets.downloads import file_stem
from aphos_lib.widgets.plot_figure import ObserverFigure, colours_for, observer_masks

__all__ = [
    "TIME_LABELS",
    "LightCurvePlot",
    "PhasePlot",
    "colours_for",
    "observer_groups",
    "point_names",
]

# The light curve's time axes: (value, button label, axis label, scale kind).
TIME_LABELS = {"date": ("Date (UTC)", "Date (UTC)", "date"), "hjd": ("HJD", "HJD", "number")}


def observer_groups(data: pd.DataFrame, x: np.ndarray) -> dict[str, tuple]:
    """The points with a magnitude, by observer: ``{observer: (x, magnitude, deviation)}``.

    Parameters
    ----------
    data : pandas.DataFrame
        A light curve's rows (``observer``, ``magnitude``, ``deviation``).
    x : numpy.ndarray
        The abscissa of each row (a time, a phase).
    """
    magnitude = data["magnitude"].to_numpy(dtype=float)
    deviation = data["deviation"].to_numpy(dtype=float)
    return {
        name: (x[mask], magnitude[mask], deviation[mask])
        for name, mask in observer_masks(data, x).items()
    }


def point_names(data: pd.DataFrame) -> list[str]:
    """Each row's hover text: UTC time, HJD, magnitude and error, observer and night.

    Examples
    --------
    >>> frame = pd.DataFrame({"time_utc": pd.to_datetime(["2021-11-06 21:03:12"], utc=True),
    ...     "hjd": [2459525.378123], "magnitude": [0.41234], "deviation": [float("nan")],
    ...     "observer": ["novak"], "night": [pd.Timestamp("2021-11-06").date()]})
    >>> print(point_names(frame)[0])
    2021-11-06 21:03:12 UTC
    HJD 2459525.37812
    Δm 0.4123 ± unknown
    novak, night 2021-11-06
    """
    times = data["time_utc"].dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(dtype=object)
    rows = zip(
        times,
        data["hjd"].to_numpy(dtype=float),
        data["magnitude"].to_numpy(dtype=float),
        data["deviation"].to_numpy(dtype=float),
        data["observer"].to_numpy(dtype=object),
        data["night"].to_numpy(dtype=object),
        strict=True,
    )
    return [
        f"{t} UTC\nHJD {hjd:.5f}\nΔm {m:.4f} ± "
        f"{'unknown' if not np.isfinite(e) else f'{e:.4f}'}\n{o}, night {n}"
        for t, hjd, m, e, o, n in rows
    ]


def _time_ms(data: pd.DataFrame) -> np.ndarray:
    """Each row's UTC time in milliseconds since 1970 (a DateScale's unit)."""
    return data["time_utc"].to_numpy(dtype="datetime64[ms]").astype(np.int64).astype(float)


class LightCurvePlot(widgets.VBox):
    """Magnitudes against time, coloured by observer, with zoom, pan, reset, error bars,
    the time axis (dates or HJD), a night's points ringed and a PNG of the figure.

    Parameters
    ----------
    gl : bool
        Draw the points with WebGL (bqplot-gl) instead of SVG (which alone has a tooltip).
    time_axis : str
        ``"date"`` (calendar dates, UTC) or ``"hjd"``.
    """

    def __init__(self, *, gl: bool = False, time_axis: str = "date"):
        label, _, kind = TIME_LABELS[time_axis]
        self.plot = ObserverFigure(
            label, kind=kind, gl=gl, css="aphos-lightcurve", title="Light curve"
        )
        self.reset_button = widgets.Button(
            description="Reset view",
            icon="refresh",
            tooltip="Show the whole curve again after zooming or panning",
        ).add_class("aphos-reset")
        self.errors = widgets.Checkbox(
            value=True, description="Error bars", indent=False, layout={"width": "9em"}
        ).add_class("aphos-errors")
        self.time_axis = widgets.ToggleButtons(
            options=[(TIME_LABELS[k][1], k) for k in TIME_LABELS],
            value=time_axis,
            tooltips=["Calendar dates and times (UTC)", "Heliocentric Julian Date"],
            style={"button_width": "8.5em"},
        ).add_class("aphos-time-axis")
        self.mouse = widgets.ToggleButtons(
            options=[("Zoom & pan", "zoom"), ("Point details", "details")],
            value="zoom",
            tooltips=[
                "Wheel to zoom, drag to pan",
                "Hover a point for its time, HJD, magnitude, error, observer and night",
            ],
            style={"button_width": "8em"},
            layout={"display": "none"} if gl else {},
        ).add_class("aphos-mouse-mode")
        self.mouse.observe(lambda change: self.plot.set_zoom(change["new"] == "zoom"), "value")
        self.save_button = widgets.Button(
            description="Save PNG",
            icon="download",
            tooltip="Save the light curve as you see it, as a PNG image",
        ).add_class("aphos-save-png")
        self.count = widgets.HTML().add_class("aphos-point-count")
        self.version = 0
        self.data = pd.DataFrame()
        self.curve: LightCurve | None = None
        self.colours: dict[str, str] = {}
        self.chosen: tuple | None = None  # (night, observer, image id) ringed
        self.reset_button.on_click(lambda _: self.plot.reset())
        self.save_button.on_click(lambda _: self.save_png())
        self.errors.observe(lambda change: self.plot.set_errors(change["new"]), "value")
        self.time_axis.observe(lambda change: self._set_time_axis(change["new"]), "value")
        self.tools = widgets.HBox(
            [self.mouse, self.reset_button, self.errors, self.time_axis, self.save_button],
            layout={"align_items": "center", "flex_flow": "row wrap"},
        )
        super().__init__([self.plot.figure, self.tools, self.count])
        self.add_class("aphos-lightcurve-panel")

    @property
    def figure(self) -> Figure:
        return self.plot.figure

    def _x(self, data: pd.DataFrame) -> np.ndarray:
        if self.time_axis.value == "hjd":
            return data["hjd"].to_numpy(dtype=float)
        return _time_ms(data)

    def show(self, curve: LightCurve, colours: dict[str, str]) -> None:
        """Draw ``curve``'s magnitudes (hidden when none has one)."""
        self.curve, self.data, self.colours = curve, curve.data, colours
        self._draw()
        points = self.plot.points
        # Nothing to look at: no empty 0-1 grid (the page's message says what to do).
        display = None if points else "none"
        self.plot.figure.layout.display = self.tools.layout.display = display
        self.version += 1
        # data-version changes with every redraw, after the marks got their data: a browser
        # (test or benchmark) waits for it, whether the points are SVG or WebGL.
        noun = "point" if points == 1 else "points"
        data = self.data
        self.count.value = (
            f'<span data-points="{points}" data-version="{self.version}">{points:,} {noun} '
            f"with a magnitude{'' if points == len(data) else f' of {len(data):,} images'}"
            "</span>"
        )

    def _draw(self) -> None:
        data = self.data
        x = self._x(data)
        masks = observer_masks(data, x) if len(data) else {}
        magnitude = data["magnitude"].to_numpy(dtype=float) if len(data) else np.zeros(0)
        deviation = data["deviation"].to_numpy(dtype=float) if len(data) else np.zeros(0)
        groups = {name: (x[m], magnitude[m], deviation[m]) for name, m in masks.items()}
        names = None
        if not self.plot.gl and masks:
            every = np.asarray(point_names(data), dtype=object)
            names = {name: every[m].tolist() for name, m in masks.items()}
        self.plot.draw(groups, self.colours, names=names)
        self.choose(*(self.chosen or (None, None, None)))

    def choose(self, night, observer: str | None, image_id: int | None = None) -> None:
        """Ring one observer's night's points (and the chosen image's); None clears.

        Parameters
        ----------
        night : datetime.date or str or None
            The night, as the table names it (``YYYY-MM-DD``).
        observer : str or None
            Whose night it is (a night is one observer's session).
        image_id : int, optional
            One image of that night, ringed larger.
        """
        data = self.data
        self.chosen = None if night is None else (str(night), observer, image_id)
        if self.chosen is None or not len(data):
            self.plot.ring(0, [], [])
            self.plot.ring(1, [], [])
            return
        x = self._x(data)
        magnitude = data["magnitude"].to_numpy(dtype=float)
        usable = np.isfinite(x) & np.isfinite(magnitude)
        nights = np.array([str(n) for n in data["night"]], dtype=object)
        mask = (
            usable & (nights == str(night)) & (data["observer"].to_numpy(dtype=object) == observer)
        )
        self.plot.ring(0, x[mask], magnitude[mask], f"night {night} ({observer})")
        image = usable & (data["image_id"].to_numpy() == (image_id or -1))
        self.plot.ring(1, x[image], magnitude[image])

    def _set_time_axis(self, axis: str) -> None:
        label, _, kind = TIME_LABELS[axis]
        self.plot.set_abscissa(label, kind)
        self.plot.set_errors(self.errors.value)
        self._draw()

    def png_name(self) -> str:
        """The PNG's file name: the downloads' stem and ``-lightcurve.png``."""
        stem = file_stem(self.curve) if self.curve is not None else "aphos"
        return f"{stem}-lightcurve.png"

    def save_png(self) -> None:
        """Have the browser save the figure as a PNG (bqplot draws it there)."""
        self.plot.figure.save_png(self.png_name())


class PhasePlot(widgets.VBox):
    """The curve folded on a period from an epoch, two cycles wide, with "find period"."""

    def __init__(self, *, gl: bool = False):
        self.gl = gl
        self._plot: ObserverFigure | None = None
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
        self.nterms = widgets.Dropdown(
            description="Terms",
            options=[1, 2, 3],
            value=2,
            tooltip="Fourier terms of the periodogram's model: 2 "
            "tells an eclipsing binary's two eclipses apart",
            layout={"width": "9em"},
            style={"description_width": "initial"},
        )
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
    def plot(self) -> ObserverFigure:
        """The phase figure, made when first needed (a period to fold on): an empty figure
        cost every object page about 0.3 s of its opening in Chromium (bench/dashboard.py)."""
        if self._plot is None:
            self._plot = ObserverFigure(
                "phase", gl=self.gl, css="aphos-phase", title="Phase plot", x_format=".2f"
            )
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
        self.message.value = (
            f"<small>Best period {periodogram.best_period:.6f} d (power "
            f"{periodogram.best_power:.3f}). With one term, an eclipsing "
            "binary's period is often twice this.</small>"
        )
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
        x = np.concatenate([phase, phase + 1])
        names = None
        if not self.gl:
            every = np.asarray(point_names(data), dtype=object)
            names = {name: every[mask].tolist() for name, mask in observer_masks(data, x).items()}
        self.plot.draw(observer_groups(data, x), self.colours, (0.0, 2.0), names=names)
