"""The object page's timing panel: times of minimum (or maximum) and the O-C diagram.

Computed on request (a button), not at every redraw: timing a 5,000-image curve takes a few
hundred milliseconds. It times the page's current light curve (its apertures, observers and
saturated choice) with :meth:`~aphos_lib.lightcurve.LightCurve.o_c`: against the ephemeris
typed in, or one fitted to the timings. It shows each timing in a table (BJD_TDB, error,
type, method, points, observer, night, cycle, O-C), the O-C diagram, and each extremum's
points with its time, drawn by matplotlib into PNG images.
"""

from __future__ import annotations

import html
import io
import math

import ipywidgets as widgets

from aphos_lib.ephemeris import EphemerisError
from aphos_lib.lightcurve import LightCurve

__all__ = ["MAX_FITS_SHOWN", "TimingPanel", "timings_table_html"]

MAX_FITS_SHOWN = 12  # extrema drawn with their points; the table lists all
_TABLE_STYLE = (
    "<style>.aphos-timings{border-collapse:collapse;margin:0.5em 0}"
    ".aphos-timings th,.aphos-timings td{padding:2px 10px;text-align:right;"
    "border-bottom:1px solid #ddd}.aphos-timings th{background:#f3f4f6}</style>"
)


def _minutes(value) -> str:
    return (
        ""
        if value is None or (isinstance(value, float) and math.isnan(value))
        else (f"{value * 1440:.2f}")
    )


def timings_table_html(table) -> str:
    """The timings as an HTML table, every value escaped.

    Examples
    --------
    >>> import pandas as pd
    >>> row = {"time": 2459536.53, "error_d": 0.001, "type": "primary",
    ...        "method": "kwee-van-woerden", "n": 24, "observer": "<b>x</b>",
    ...        "night": "2021-11-17", "cycle": 12.0, "o_c_d": 0.0004}
    >>> text = timings_table_html(pd.DataFrame([row]))
    >>> "&lt;b&gt;x&lt;/b&gt;" in text, "2459536.53000" in text, "0.58" in text
    (True, True, True)
    """
    heads = ["BJD_TDB", "error (min)", "type", "method", "n", "observer", "night"]
    has_o_c = "o_c_d" in table
    if has_o_c:
        heads += ["cycle", "O-C (min)"]
    rows = []
    for record in table.to_dict("records"):
        cells = [
            f"{record['time']:.5f}",
            _minutes(record["error_d"]),
            record.get("type") or "",
            record.get("method") or "",
            str(record.get("n") or ""),
            record.get("observer") or "",
            str(record.get("night") or ""),
        ]
        if has_o_c:
            cells += [f"{record['cycle'] + 0.0:g}", _minutes(record["o_c_d"])]
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th>{html.escape(h)}</th>" for h in heads)
    return (
        _TABLE_STYLE
        + "<table class='aphos-timings'><thead><tr>"
        + head
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _png(figure) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def _fits_figure(curve: LightCurve, table, time: str):
    """Each extremum's night (its observer's points) with its time and error, in a grid."""
    import matplotlib.pyplot as plt

    shown = table.head(MAX_FITS_SHOWN)
    columns = min(4, max(len(shown), 1))
    rows = max(1, math.ceil(len(shown) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(3.0 * columns, 2.4 * rows), squeeze=False)
    data = curve.data
    for ax, record in zip(axes.flat, shown.to_dict("records"), strict=False):
        night = data[(data["night"] == record["night"]) & (data["observer"] == record["observer"])]
        hours = (night[time] - record["time"]) * 24
        ax.plot(hours, night["magnitude"], ".", markersize=3, color="tab:blue")
        ax.axvline(0.0, color="tab:red", linewidth=0.8)
        ax.axvspan(-record["error_d"] * 24, record["error_d"] * 24, color="tab:red", alpha=0.2)
        ax.invert_yaxis()
        ax.set_title(f"{record['night']} {record['observer']}", fontsize="small")
        ax.set_xlabel("hours from the time", fontsize="small")
        ax.tick_params(labelsize="x-small")
    for ax in list(axes.flat)[len(shown) :]:
        ax.axis("off")
    figure.tight_layout()
    return figure


class TimingPanel(widgets.VBox):
    """Times of minimum or maximum of the page's light curve, and their O-C diagram.

    Parameters
    ----------
    curve : callable
        Returns the page's current :class:`~aphos_lib.lightcurve.LightCurve`.

    Examples
    --------
    >>> panel = TimingPanel(lambda: LightCurve(__import__("pandas").DataFrame(
    ...     {"hjd": [2459525.0, 2459525.1], "magnitude": [0.0, 0.1]})))
    >>> panel.run()
    >>> "No minimum" in panel.result.value
    True
    """

    def __init__(self, curve):
        self._curve = curve
        self.kind = widgets.ToggleButtons(
            options=[("Minima", "minima"), ("Maxima", "maxima")], value="minima"
        ).add_class("aphos-timing-kind")
        self.epoch = widgets.FloatText(value=0.0, description="Epoch (BJD)", step=0.0001)
        self.period = widgets.FloatText(value=0.0, description="Period (d)", step=0.000001)
        self.button = widgets.Button(description="Time them", button_style="primary")
        self.button.add_class("aphos-timing-run")
        self.button.on_click(lambda _: self.run())
        self.result = widgets.HTML().add_class("aphos-timing-result")
        self.o_c_image = widgets.Image(format="png", layout={"max_width": "100%"})
        self.fits_image = widgets.Image(format="png", layout={"max_width": "100%"})
        self.csv = widgets.Textarea(layout={"width": "100%", "height": "8em"}, disabled=True)
        controls = widgets.HBox(
            [self.kind, self.epoch, self.period, self.button],
            layout={"flex_flow": "row wrap", "align_items": "center"},
        )
        note = widgets.HTML(
            "<p>Each night of each observer is searched for minima (maxima) it covers on both "
            "branches, timed in BJD_TDB by Kwee-van Woerden with a symmetric polynomial fit as "
            "the check (maxima: a polynomial fit, KvW the check). With an epoch and a period "
            "the O-C is against them; without, against an ephemeris fitted to the timings.</p>"
        )
        super().__init__([note, controls, self.result, self.o_c_image, self.fits_image])
        self.add_class("aphos-timing-panel")

    def run(self) -> None:
        """Time the current curve and show the table, the O-C diagram and the fits."""
        from aphos_lib.widgets.failsafe import failure_html, log_failure

        maxima = self.kind.value == "maxima"
        word = "maximum" if maxima else "minimum"
        self.o_c_image.value = b""
        self.fits_image.value = b""
        try:
            curve = self._curve()
            epoch = self.epoch.value or None
            period = self.period.value if self.period.value > 0 else None
            given = epoch is not None and period is not None
            try:
                timings = curve.o_c(epoch, period, maxima=maxima)
                ephemeris_note = (
                    f"O-C against {'the given' if given else 'a fitted'} ephemeris "
                    f"{timings.ephemeris}"
                )
            except EphemerisError as exc:
                timings = curve.maxima() if maxima else curve.minima()
                ephemeris_note = f"No O-C: {exc}."
            table = timings.table
            if not len(table):
                self.result.value = (
                    f"<p class='aphos-empty'>No {word} is covered on both branches by any "
                    "night of this curve: a timing needs a night's series through it.</p>"
                )
                return
            time = str(table["time_scale"].iloc[0])
            self.result.value = (
                f"<p>{len(table)} {'maxima' if maxima else 'minima'}; "
                f"{html.escape(ephemeris_note)}</p>" + timings_table_html(table)
            )
            if "o_c_d" in table:
                self.o_c_image.value = _png(timings.plot().figure)
            self.fits_image.value = _png(_fits_figure(curve, table, time))
        except Exception:  # the visitor gets a message; the log has the traceback
            self.result.value = failure_html(log_failure("object.ipynb timing"))
