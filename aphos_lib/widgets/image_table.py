"""The object page's table: one row per image, paged.

Paged HTML rather than a canvas grid: 50 rows are cheap to send and draw however long the
curve is, the uploader's name is a real link to their profile, and each cell can be read
(and tested) in the page. Rows carry ``data-image-id`` and ``data-night``; cells carry the
column's key as their class.
"""

from __future__ import annotations

import html
import math
import re

import ipywidgets as widgets
import numpy as np
import pandas as pd

from aphos_lib.coordinates import format_dec, format_ra
from aphos_lib.lightcurve import LightCurve
from aphos_lib.photometry import ensemble_flux
from aphos_lib.widgets.urls import page_link

__all__ = ["COLUMNS", "ImageTable", "table_html"]

# (key, heading); an ensemble's "Cmp" columns are its members' sums.
COLUMNS = [
    ("time", "Exposure middle (UTC)"), ("night", "Night"), ("ra", "RA"), ("dec", "Dec"),
    ("var_ap_auto", "Var ApAuto"), ("var_aperture", "Var ap."), ("var_flux", "Var flux"),
    ("cmp_ap_auto", "Cmp ApAuto"), ("cmp_aperture", "Cmp ap."), ("cmp_flux", "Cmp flux"),
    ("magnitude", "Magnitude"), ("deviation", "Deviation"), ("uploader", "Uploader"),
]  # fmt: skip
_STYLE = (
    "<style>.aphos-images table{border-collapse:collapse;font-size:12px;width:100%}"
    ".aphos-images th,.aphos-images td{padding:2px 6px;border-bottom:1px solid #ddd;"
    "text-align:right;white-space:nowrap}.aphos-images th{background:#f3f3f3}"
    ".aphos-images td.uploader,.aphos-images td.night,.aphos-images td.time{text-align:left}"
    ".aphos-images tr.saturated{color:#a33;background:#fff4f4}"
    ".aphos-images a{color:#1a5fb4;text-decoration:underline}</style>"
)


def _number(value: float, digits: int) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _aperture(value: int) -> str:
    return "auto" if value == 0 else f"Ap{value}"


def _columns(data: pd.DataFrame) -> list[tuple[str, str]]:
    """The table's columns for these rows: a check star adds its magnitude."""
    columns = list(COLUMNS)
    if "check_magnitude" in data:
        columns.insert(-1, ("check_magnitude", "Check mag."))
    return columns


def _comparison_ap_auto(data: pd.DataFrame) -> np.ndarray:
    """The comparison's ApAuto flux; an ensemble's is its members' sum, as its flux is."""
    if "cmp_ap_auto" in data:
        return data["cmp_ap_auto"].to_numpy(dtype=float)
    members = sorted(c for c in data.columns if re.fullmatch(r"cmp\d+_ap_auto", c))
    return ensemble_flux([data[c] for c in members], [data[c] for c in members])[0]


def table_html(data: pd.DataFrame) -> str:
    """The rows of ``data`` (a light curve's) as an HTML table."""
    columns = _columns(data)
    head = "".join(f'<th class="{key}">{html.escape(title)}</th>' for key, title in columns)
    cmp_ap_auto = _comparison_ap_auto(data)
    rows = []
    for k, r in enumerate(data.itertuples(index=False)):
        username = str(r.observer)
        link = page_link("profile.ipynb", {"username": username})
        saturated = bool(r.saturated)
        magnitude = "saturated" if saturated else _number(r.magnitude, 4)
        cells = {
            "time": r.time_utc.strftime("%Y-%m-%d %H:%M:%S"), "night": r.night.isoformat(),
            "ra": format_ra(r.var_ra_deg, "colon", 2), "dec": format_dec(r.var_dec_deg, "colon", 1),
            "var_ap_auto": _number(r.var_ap_auto, 1), "var_aperture": _aperture(r.var_aperture),
            "var_flux": _number(r.var_flux, 1), "cmp_ap_auto": _number(cmp_ap_auto[k], 1),
            "cmp_aperture": _aperture(r.cmp_aperture), "cmp_flux": _number(r.cmp_flux, 1),
            "magnitude": magnitude, "deviation": _number(r.deviation, 4),
            "check_magnitude": _number(getattr(r, "check_magnitude", math.nan), 4),
        }  # fmt: skip
        tds = "".join(f'<td class="{key}">{html.escape(cells[key])}</td>'
                      for key, _ in columns[:-1])  # fmt: skip
        tds += (f'<td class="uploader"><a class="aphos-profile-link" href="{html.escape(link)}"'
                f' target="_top">{html.escape(username)}</a></td>')  # fmt: skip
        css = ' class="saturated"' if saturated else ""
        rows.append(f'<tr{css} data-image-id="{int(r.image_id)}" '
                    f'data-night="{r.night.isoformat()}">{tds}</tr>')  # fmt: skip
    return f"{_STYLE}<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


class ImageTable(widgets.VBox):
    """The light curve's images, ``page_size`` rows a page, with first/previous/next/last."""

    def __init__(self, page_size: int = 50):
        self.page_size = page_size
        self.page = 0
        self.data = pd.DataFrame()
        self.table = widgets.HTML().add_class("aphos-images")
        self.where = widgets.HTML().add_class("aphos-table-position")
        self.buttons = {
            name: widgets.Button(description=label, tooltip=name, layout={"width": "4em"})
            .add_class(f"aphos-page-{name}")
            for name, label in [("first", "«"), ("previous", "‹"), ("next", "›"), ("last", "»")]
        }  # fmt: skip
        moves = {"first": lambda: 0, "previous": lambda: self.page - 1,
                 "next": lambda: self.page + 1, "last": lambda: self.pages - 1}  # fmt: skip
        for name, button in self.buttons.items():
            button.on_click(lambda _, move=moves[name]: self.go(move()))
        pager = widgets.HBox([*self.buttons.values(), self.where],
                             layout={"align_items": "center"})  # fmt: skip
        super().__init__([pager, self.table])
        self.add_class("aphos-image-table")

    @property
    def pages(self) -> int:
        """How many pages the rows fill (at least one)."""
        return max(1, math.ceil(len(self.data) / self.page_size))

    def show(self, curve: LightCurve) -> None:
        """Show ``curve``'s rows, staying on the current page when it still exists."""
        self.data = curve.data
        self.go(min(self.page, self.pages - 1))

    def go(self, page: int) -> None:
        """Show page ``page`` (0-based, clamped)."""
        self.page = int(np.clip(page, 0, self.pages - 1))
        start = self.page * self.page_size
        rows = self.data.iloc[start : start + self.page_size]
        n = len(self.data)
        self.where.value = (f'<span data-rows="{n}">Images {start + 1 if n else 0:,}–'
                            f"{start + len(rows):,} of {n:,} (page {self.page + 1} of "
                            f"{self.pages})</span>")  # fmt: skip
        self.table.value = table_html(rows) if n else "<p>No images.</p>"
        self.buttons["first"].disabled = self.buttons["previous"].disabled = self.page == 0
        self.buttons["next"].disabled = self.buttons["last"].disabled = (
            self.page == self.pages - 1)  # fmt: skip
