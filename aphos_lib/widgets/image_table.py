"""The object page's table: one row per image, paged, every aperture on demand.

Paged HTML rather than a canvas grid: 50 rows are cheap to send and draw however long the
curve is, the uploader's name is a real link to their profile, and each cell can be read
(and tested) in the page. Rows carry ``data-image-id``, ``data-night`` and
``data-observer``; cells carry the column's key as their class. A click (or Enter) on a row
chooses that image and its night: their rows are marked here and their points ringed in the
light curve (the page's ``on_choose``). "All apertures" lists, under each image, the flux of
every aperture of the variable, the comparison star(s) and the check star, as the original
APhoS's "show" did; the chosen aperture's cell is marked. Each image's photometric solution
in the variable's aperture (zero point, the fit's RMS and stars) shows how good it was.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable

import ipywidgets as widgets
import numpy as np
import pandas as pd

from aphos_lib.coordinates import format_dec, format_ra
from aphos_lib.lightcurve import LightCurve
from aphos_lib.photometry import ensemble_flux
from aphos_lib.widgets.pickable_html import PickableHTML
from aphos_lib.widgets.urls import page_link

__all__ = ["COLUMNS", "SOLUTION_COLUMNS", "ImageTable", "aperture_html", "table_html"]

# (key, heading); an ensemble's "Cmp" columns are its members' sums.
COLUMNS = [
    ("time", "Exposure middle (UTC)"),
    ("night", "Night"),
    ("ra", "RA"),
    ("dec", "Dec"),
    ("var_ap_auto", "Var ApAuto"),
    ("var_aperture", "Var ap."),
    ("var_flux", "Var flux"),
    ("cmp_ap_auto", "Cmp ApAuto"),
    ("cmp_aperture", "Cmp ap."),
    ("cmp_flux", "Cmp flux"),
    ("magnitude", "Magnitude"),
    ("deviation", "Deviation"),
    ("uploader", "Uploader"),
]
# The photometric solution of each image in the variable's aperture: its quality at a glance.
SOLUTION_COLUMNS = [
    ("zero_point", "Zero point"),
    ("solution_rms", "Fit RMS"),
    ("solution_stars", "Fit stars"),
]
_STYLE = (
    "<style>.aphos-images table{border-collapse:collapse;font-size:12px;width:100%}"
    ".aphos-images th,.aphos-images td{padding:2px 6px;border-bottom:1px solid #ddd;"
    "text-align:right;white-space:nowrap}.aphos-images th{background:#f3f3f3}"
    ".aphos-images td.uploader,.aphos-images td.night,.aphos-images td.time{text-align:left}"
    ".aphos-images tr.saturated{color:#a33;background:#fff4f4}"
    ".aphos-images a{color:#1a5fb4;text-decoration:underline}"
    ".aphos-images tr[data-pick]{cursor:pointer}"
    ".aphos-images tr[data-pick]:focus{outline:2px solid #1a5fb4;outline-offset:-2px}"
    ".aphos-images tr.chosen-night td{background:#fff3b0}"
    ".aphos-images tr.chosen-image td{background:#ffd966;font-weight:bold}"
    ".aphos-images tr.aphos-aperture-row>td{background:#fafafa;padding:2px 6px 8px 24px}"
    ".aphos-images table.aphos-aperture-table{width:auto;font-size:11px}"
    ".aphos-images table.aphos-aperture-table th{background:#eee}"
    ".aphos-images .aphos-aperture-table td.chosen{outline:1px solid #1a5fb4;"
    "background:#e8f0fb}.aphos-images .aphos-aperture-table td.saturated{color:#a33}"
    ".aphos-images .aphos-aperture-scroll{overflow-x:auto;max-width:1180px}</style>"
)


def _number(value: float, digits: int) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _aperture(value: int) -> str:
    return "auto" if value == 0 else f"Ap{value}"


def _columns(data: pd.DataFrame, solutions: bool = False) -> list[tuple[str, str]]:
    """The table's columns for these rows: a check star adds its magnitude, the images'
    solutions their quality."""
    columns = list(COLUMNS)
    if "check_magnitude" in data:
        columns.insert(-1, ("check_magnitude", "Check mag."))
    if solutions:
        columns[-1:-1] = SOLUTION_COLUMNS
    return columns


def _comparison_ap_auto(data: pd.DataFrame) -> np.ndarray:
    """The comparison's ApAuto flux; an ensemble's is its members' sum, as its flux is."""
    if "cmp_ap_auto" in data:
        return data["cmp_ap_auto"].to_numpy(dtype=float)
    members = sorted(c for c in data.columns if re.fullmatch(r"cmp\d+_ap_auto", c))
    return ensemble_flux([data[c] for c in members], [data[c] for c in members])[0]


def _flux_cell(flux, deviation, saturated, chosen: bool) -> str:
    """One aperture's flux as a cell: ``12345.6 ± 12.3``, saturated marked."""
    classes = [c for c, on in (("chosen", chosen), ("saturated", bool(saturated))) if on]
    css = f' class="{" ".join(classes)}"' if classes else ""
    text = _number(_float(flux), 1)
    if text and math.isfinite(_float(deviation)):
        text += f" ± {_float(deviation):.1f}"
    if saturated:
        text += " sat."
    return f"<td{css}>{html.escape(text or '–')}</td>"


def _float(value) -> float:
    return math.nan if value is None else float(value)


def _stars(columns, meta: dict) -> list[tuple[str, str, str]]:
    """(role, label, column prefix) of each star whose aperture lists are in ``columns``."""
    comparisons = meta.get("comparisons") or []
    stars = [("Variable", meta["variable"].label if meta.get("variable") else "", "var")]
    if "cmp_ap" in columns:
        stars.append(("Comparison", comparisons[0].label if comparisons else "", "cmp"))
    else:
        for k, star in enumerate(comparisons, start=1):
            stars.append((f"Comparison {k}", star.label, f"cmp{k}"))
    if "check_ap" in columns:
        stars.append(("Check", meta["check"].label if meta.get("check") else "", "check"))
    return [s for s in stars if f"{s[2]}_ap" in columns]


def aperture_html(row: pd.Series, meta: dict, chosen: dict[str, int]) -> str:
    """Every aperture of every star of one image, as a small table (a star per line).

    Parameters
    ----------
    row : pandas.Series
        The image's row of a light curve read ``with_apertures`` (``var_ap``, ``var_ap_dev``,
        ``var_ap_saturated``, ``var_ap_auto``... and the same for ``cmp``/``cmpN``/``check``).
    meta : dict
        That light curve's metadata (the stars' labels).
    chosen : dict
        The aperture the curve uses for each column prefix (0: ApAuto), marked in the table.
    """
    stars = _stars(set(row.index), meta)
    count = max((len(row[f"{p}_ap"] or []) for _, _, p in stars), default=0)
    head = "".join(
        ["<th>Star</th><th>ApAuto</th>"] + [f"<th>Ap{k}</th>" for k in range(1, count + 1)]
    )
    lines = []
    for role, label, prefix in stars:
        fluxes = list(row[f"{prefix}_ap"] or [])
        deviations = list(row[f"{prefix}_ap_dev"] or [])
        saturated = list(row[f"{prefix}_ap_saturated"] or [])
        aperture = chosen.get("cmp" if prefix.startswith("cmp") else prefix, -1)
        cells = [
            _flux_cell(
                row[f"{prefix}_ap_auto"],
                row[f"{prefix}_ap_auto_dev"],
                row[f"{prefix}_ap_auto_saturated"],
                aperture == 0,
            )
        ]
        for k in range(count):
            flux = fluxes[k] if k < len(fluxes) else None
            dev = deviations[k] if k < len(deviations) else None
            sat = bool(saturated[k]) if k < len(saturated) and saturated[k] else False
            cells.append(_flux_cell(flux, dev, sat, aperture == k + 1))
        lines.append(
            f'<tr class="aphos-aperture-star-{prefix}"><th>{html.escape(role)} '
            f"<small>{html.escape(label)}</small></th>{''.join(cells)}</tr>"
        )
    return (
        f'<div class="aphos-aperture-scroll"><table class="aphos-aperture-table">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table></div>"
    )


def table_html(
    data: pd.DataFrame,
    *,
    chosen: tuple | None = None,
    apertures: pd.DataFrame | None = None,
    meta: dict | None = None,
    solutions: dict[str, np.ndarray] | None = None,
) -> str:
    """The rows of ``data`` (a light curve's) as an HTML table.

    Parameters
    ----------
    data : pandas.DataFrame
        The rows to show.
    chosen : (str, str, int), optional
        The chosen night, its observer and image: their rows are marked.
    apertures : pandas.DataFrame, optional
        The same images read ``with_apertures``, indexed by image id: each row is followed by
        its :func:`aperture_html`.
    meta : dict, optional
        The light curve's metadata (with ``apertures``: the stars' labels).
    solutions : dict of arrays, optional
        Each row's image's photometric solution in the variable's aperture
        (:func:`aphos_lib.calibrated_photometry.solutions_at`): zero point and its error, the
        fit's RMS and stars, in columns of their own.
    """
    columns = _columns(data, solutions is not None)
    head = "".join(f'<th class="{key}">{html.escape(title)}</th>' for key, title in columns)
    cmp_ap_auto = _comparison_ap_auto(data)
    rows = []
    for k, r in enumerate(data.itertuples(index=False)):
        username = str(r.observer)
        link = page_link("profile.ipynb", {"username": username})
        saturated = bool(r.saturated)
        magnitude = "saturated" if saturated else _number(r.magnitude, 4)
        cells = {
            "time": r.time_utc.strftime("%Y-%m-%d %H:%M:%S"),
            "night": r.night.isoformat(),
            "ra": format_ra(r.var_ra_deg, "colon", 2),
            "dec": format_dec(r.var_dec_deg, "colon", 1),
            "var_ap_auto": _number(r.var_ap_auto, 1),
            "var_aperture": _aperture(r.var_aperture),
            "var_flux": _number(r.var_flux, 1),
            "cmp_ap_auto": _number(cmp_ap_auto[k], 1),
            "cmp_aperture": _aperture(r.cmp_aperture),
            "cmp_flux": _number(r.cmp_flux, 1),
            "magnitude": magnitude,
            "deviation": _number(r.deviation, 4),
            "check_magnitude": _number(getattr(r, "check_magnitude", math.nan), 4),
        }
        if solutions is not None:
            zero_point = float(solutions["zero_point"][k])
            cells["zero_point"] = (
                f"{zero_point:.3f} ± {float(solutions['zero_point_err'][k]):.3f}"
                if math.isfinite(zero_point)
                else "none"
            )
            cells["solution_rms"] = _number(float(solutions["rms"][k]), 3)
            stars = float(solutions["n_stars"][k])
            cells["solution_stars"] = f"{stars:.0f}" if math.isfinite(stars) else ""
        tds = "".join(
            f'<td class="{key}">{html.escape(cells[key])}</td>' for key, _ in columns[:-1]
        )
        tds += (
            f'<td class="uploader"><a class="aphos-profile-link" href="{html.escape(link)}"'
            f' target="_top">{html.escape(username)}</a></td>'
        )
        classes = ["saturated"] if saturated else []
        if chosen and chosen[0] == r.night.isoformat() and chosen[1] == username:
            classes.append("chosen-image" if chosen[2] == int(r.image_id) else "chosen-night")
        css = f' class="{" ".join(classes)}"' if classes else ""
        rows.append(
            f'<tr{css} data-pick data-image-id="{int(r.image_id)}" '
            f'data-night="{r.night.isoformat()}" data-observer="{html.escape(username)}"'
            f">{tds}</tr>"
        )
        if apertures is not None and int(r.image_id) in apertures.index:
            used = {
                "var": int(r.var_aperture),
                "cmp": int(r.cmp_aperture),
                "check": int(getattr(r, "check_aperture", -1)),
            }
            inner = aperture_html(apertures.loc[int(r.image_id)], meta or {}, used)
            rows.append(
                f'<tr class="aphos-aperture-row" data-aperture-of="{int(r.image_id)}">'
                f'<td colspan="{len(columns)}">{inner}</td></tr>'
            )
    return f"{_STYLE}<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


class ImageTable(widgets.VBox):
    """The light curve's images, ``page_size`` rows a page, with first/previous/next/last.

    Parameters
    ----------
    page_size : int
        Rows per page.
    apertures : callable, optional
        Returns the current light curve read ``with_apertures`` (every aperture's fluxes),
        called when "All apertures" is ticked; without it there is no such switch.
    on_choose : callable, optional
        Called with ``(night, observer, image_id)`` when a row is chosen, and with
        ``(None, None, None)`` when the chosen row is clicked again.
    solutions : callable, optional
        Given the shown rows' image ids and the variable's apertures, their photometric
        solutions (:func:`aphos_lib.calibrated_photometry.solutions_at`): read for one page
        at a time, shown in columns of their own.
    """

    def __init__(
        self,
        page_size: int = 50,
        *,
        apertures: Callable[[], LightCurve] | None = None,
        on_choose: Callable[[str | None, str | None, int | None], None] | None = None,
        solutions: Callable[[np.ndarray, np.ndarray], dict] | None = None,
    ):
        self.page_size = page_size
        self.page = 0
        self.data = pd.DataFrame()
        self.chosen: tuple | None = None
        self.load_apertures = apertures
        self.load_solutions = solutions
        self.on_choose = on_choose
        self._apertures: LightCurve | None = None  # read for the current rows, when asked
        self.table = PickableHTML().add_class("aphos-images")
        self.table.observe(self._picked, "picked")
        self.where = widgets.HTML().add_class("aphos-table-position")
        self.buttons = {
            name: widgets.Button(
                description=label, tooltip=name, layout={"width": "4em"}
            ).add_class(f"aphos-page-{name}")
            for name, label in [("first", "«"), ("previous", "‹"), ("next", "›"), ("last", "»")]
        }
        moves = {
            "first": lambda: 0,
            "previous": lambda: self.page - 1,
            "next": lambda: self.page + 1,
            "last": lambda: self.pages - 1,
        }
        for name, button in self.buttons.items():
            button.on_click(lambda _, move=moves[name]: self.go(move()))
        self.all_apertures = widgets.Checkbox(
            value=False,
            description="All apertures",
            indent=False,
            layout={"width": "auto"},
            tooltip="Under each image, the flux of every aperture of every star",
        ).add_class("aphos-all-apertures")
        self.all_apertures.observe(lambda _: self.go(self.page), "value")
        hint = widgets.HTML("<small>Click a row to mark its night in the light curve.</small>")
        tools = [*self.buttons.values(), self.where]
        if apertures is not None:
            tools.append(self.all_apertures)
        pager = widgets.HBox(
            [*tools, hint], layout={"align_items": "center", "flex_flow": "row wrap"}
        )
        super().__init__([pager, self.table])
        self.add_class("aphos-image-table")

    @property
    def pages(self) -> int:
        """How many pages the rows fill (at least one)."""
        return max(1, math.ceil(len(self.data) / self.page_size))

    def show(self, curve: LightCurve) -> None:
        """Show ``curve``'s rows, staying on the current page when it still exists."""
        self.data = curve.data
        self._apertures = None  # the choices changed: read again when shown
        if self.chosen and not (self.data["image_id"] == self.chosen[2]).any():
            self.chosen = None
        self.go(min(self.page, self.pages - 1))

    def choose(self, night: str | None, observer: str | None, image_id: int | None) -> None:
        """Mark this image's night and the image (None: no mark) and tell the page."""
        self.chosen = None if night is None else (str(night), observer, image_id)
        self.go(self.page)
        if self.on_choose is not None:
            self.on_choose(night, observer, image_id)

    def _picked(self, change) -> None:
        row = change["new"]
        if "imageId" not in row:
            return
        image_id = int(row["imageId"])
        if self.chosen and self.chosen[2] == image_id:
            self.choose(None, None, None)  # a second click clears the mark
        else:
            self.choose(row.get("night"), row.get("observer"), image_id)

    def _aperture_rows(self) -> tuple[pd.DataFrame | None, dict]:
        if not (self.all_apertures.value and self.load_apertures and len(self.data)):
            return None, {}
        if self._apertures is None:
            self._apertures = self.load_apertures()
        frame = self._apertures.data.drop_duplicates("image_id").set_index("image_id")
        return frame, self._apertures.meta

    def go(self, page: int) -> None:
        """Show page ``page`` (0-based, clamped)."""
        self.page = int(np.clip(page, 0, self.pages - 1))
        start = self.page * self.page_size
        rows = self.data.iloc[start : start + self.page_size]
        n = len(self.data)
        apertures, meta = self._aperture_rows()
        solutions = None
        if self.load_solutions is not None and len(rows):
            solutions = self.load_solutions(
                rows["image_id"].to_numpy(), rows["var_aperture"].to_numpy()
            )
        # The rows first, then the position: the browser applies messages in order, so once
        # "page k" shows, page k's rows are already there (what a reader, or a test, waits on).
        self.table.value = (
            table_html(
                rows, chosen=self.chosen, apertures=apertures, meta=meta, solutions=solutions
            )
            if n
            else "<p>No images.</p>"
        )
        self.where.value = (
            f'<span data-rows="{n}">Images {start + 1 if n else 0:,}–'
            f"{start + len(rows):,} of {n:,} (page {self.page + 1} of "
            f"{self.pages})</span>"
        )
        self.buttons["first"].disabled = self.buttons["previous"].disabled = self.page == 0
        self.buttons["next"].disabled = self.buttons["last"].disabled = self.page == self.pages - 1
