"""The variable-star finder page: a field's stars, their scatter against their magnitude, the
candidates ranked.

``variables.ipynb?ra=21+41+55.3&dec=%2B71+18+38.6&radius=20arcmin[&filter=V]`` ranks the
field's stars with :func:`aphos_lib.variable_finder.find_variables`: a plot of each star's
scatter against its mean calibrated magnitude (log scale), the field's noise curve through
it, known variables and the ten best candidates marked, a tooltip per star; clicking a star
gives the link to its light curve. Below, the candidates as a table, each with the link to its
light curve against comparison stars chosen automatically (``comparison=auto``:
:mod:`aphos_lib.auto_comparison`). The address holds the field as it changes.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
from bqplot import Axis, Figure, LinearScale, Lines, LogScale, Scatter, Tooltip

from aphos_lib.coordinates import AngleParseError
from aphos_lib.variable_finder import VariableCandidates, find_variables
from aphos_lib.widgets.address import AddressBar
from aphos_lib.widgets.connection import reader
from aphos_lib.widgets.failsafe import failsafe_page
from aphos_lib.widgets.urls import first, page_link, query_params

__all__ = ["FieldRequest", "VariablesPage", "candidate_rows", "variables_page"]

#: Candidates the table lists.
TABLE_ROWS = 25
#: Candidates marked in the plot.
MARKED = 10
_COLOURS = {"star": "#1f77b4", "candidate": "#ff7f0e", "known": "#d62728"}
STYLE = """<style>
.aphos-variables { max-width: 1200px; }
.aphos-variables .aphos-error { color: #c01c28; }
.aphos-candidates { border-collapse: collapse; font-size: 14px; width: 100%; }
.aphos-candidates th, .aphos-candidates td { padding: 3px 8px; border-bottom: 1px solid #dee2e6;
  text-align: right; white-space: nowrap; }
.aphos-candidates th:nth-child(2), .aphos-candidates td:nth-child(2),
.aphos-candidates th:nth-child(3), .aphos-candidates td:nth-child(3) { text-align: left; }
.aphos-candidates a { color: #1a5fb4; text-decoration: underline; }
</style>"""


@dataclass(frozen=True)
class FieldRequest:
    """The field the page ranks, as its address gives it.

    Examples
    --------
    >>> r = FieldRequest.from_params({"ra": ["21 41 55.3"], "dec": ["+71 18 38.6"]})
    >>> r.radius, r.ready(), r.query()
    ('20arcmin', True, 'ra=21+41+55.3&dec=%2B71+18+38.6&radius=20arcmin')
    """

    ra: str = ""
    dec: str = ""
    radius: str = "20arcmin"
    filter: str | None = None

    @classmethod
    def from_params(cls, params: dict[str, list[str]]) -> FieldRequest:
        return cls(
            ra=first(params, "ra", "") or "",
            dec=first(params, "dec", "") or "",
            radius=first(params, "radius", "20arcmin") or "20arcmin",
            filter=first(params, "filter"),
        )

    def ready(self) -> bool:
        """Whether the address names a field."""
        return bool(self.ra and self.dec and self.radius)

    def query(self) -> str:
        """The address's query string for this field."""
        params = {"ra": self.ra, "dec": self.dec, "radius": self.radius, "filter": self.filter}
        return page_link("variables.ipynb", params).partition("?")[2]


def _number(value, digits: int) -> str:
    return "" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def light_curve_link(label: str) -> str:
    """The object page of a star (``CATALOG ID``) against automatically chosen comparisons.

    Examples
    --------
    >>> light_curve_link("UCAC4 805-031770")
    'object.ipynb?variable=UCAC4:805-031770&comparison=auto'
    """
    ref = label.replace(" ", ":", 1)
    return page_link("object.ipynb", {"variable": ref, "comparison": "auto"})


def candidate_rows(found: VariableCandidates, limit: int = TABLE_ROWS) -> str:
    """The table of the best ``limit`` candidates as HTML (every value escaped)."""
    head = (
        "<tr><th>Rank</th><th>Star</th><th>Name</th><th>Mag</th><th>Points</th>"
        "<th>Scatter</th><th>Expected</th><th>Excess</th><th>&chi;&sup2;/dof</th>"
        "<th>&eta;</th><th>Stetson J</th><th>Amplitude</th></tr>"
    )
    rows = []
    for r in found.frame.head(limit).itertuples(index=False):
        name = html.escape(r.name or "") + (" <b>(known)</b>" if r.known_variable else "")
        link = html.escape(light_curve_link(r.label))
        rows.append(
            f"<tr><td>{r.rank}</td>"
            f'<td><a href="{link}" target="_top">{html.escape(r.label)}</a></td>'
            f"<td>{name}</td><td>{_number(r.mag, 3)}</td><td>{r.n}</td>"
            f"<td>{_number(r.std, 4)}</td><td>{_number(r.expected_std, 4)}</td>"
            f"<td>{_number(r.excess, 2)}</td><td>{_number(r.chi2_dof, 1)}</td>"
            f"<td>{_number(r.eta, 2)}</td><td>{_number(r.stetson_j, 2)}</td>"
            f"<td>{_number(r.amplitude, 3)}</td></tr>"
        )
    return f"<table class='aphos-candidates'>{head}{''.join(rows)}</table>"


class VariablesPage(widgets.VBox):
    """The finder page's widgets and what they do.

    Parameters
    ----------
    conn : psycopg.Connection
        A reader connection, kept while the page is open.
    request : FieldRequest
        The field to rank at opening.
    """

    def __init__(self, conn, request: FieldRequest):
        self.conn = conn
        self.request = request
        self.found: VariableCandidates | None = None

        def text(name, description, value, placeholder):
            return widgets.Text(
                value=value,
                description=description,
                placeholder=placeholder,
                continuous_update=False,
                layout={"width": "20em"},
                style={"description_width": "5em"},
            ).add_class(f"aphos-{name}")

        self.ra = text("ra", "RA", request.ra, "21 41 55.3")
        self.dec = text("dec", "Dec", request.dec, "+71 18 38.6")
        self.radius = text("radius", "Radius", request.radius, "20arcmin (at most 2 deg)")
        self.filter = widgets.Dropdown(
            options=[("most observed", "")] + ([(request.filter,) * 2] if request.filter else []),
            value=request.filter or "",
            description="Filter",
            style={"description_width": "5em"},
            layout={"width": "16em"},
        ).add_class("aphos-filter")
        self.button = widgets.Button(
            description="Find variables", button_style="primary", icon="search"
        ).add_class("aphos-find")
        self.status = widgets.HTML("").add_class("aphos-status")
        self.chosen = widgets.HTML("").add_class("aphos-chosen")
        self.table = widgets.HTML("").add_class("aphos-candidate-table")
        self.address = AddressBar()

        x, y = LinearScale(), LogScale()
        self.x_scale, self.y_scale = x, y
        self.points = Scatter(
            x=[], y=[], scales={"x": x, "y": y}, colors=[_COLOURS["star"]],
            default_size=24, stroke="white", display_names=False,
            tooltip=Tooltip(fields=["name"], show_labels=False),
            interactions={"hover": "tooltip"},
        )  # fmt: skip
        self.curve = Lines(
            x=[], y=[], scales={"x": x, "y": y}, colors=["#5e6670"], line_style="dashed"
        )
        self.figure = Figure(
            marks=[self.curve, self.points],
            axes=[
                Axis(scale=x, label="mean calibrated magnitude"),
                Axis(scale=y, side="left", label="scatter (mag)", tick_format=".3f"),
            ],
            title="Scatter against magnitude: the dashed line is the field's noise",
            layout={"width": "100%", "height": "420px"},
            fig_margin={"top": 40, "bottom": 50, "left": 70, "right": 20},
        ).add_class("aphos-variables-plot")
        self.points.on_element_click(self._select)
        self.button.on_click(lambda _: self.run())

        form = widgets.VBox(
            [
                widgets.HTML(
                    "Rank the stars of a field by how much more they scatter than a constant "
                    "star of their brightness there. RA in hours (<code>21 41 55.3</code>) or "
                    "degrees; radius with a unit (<code>20arcmin</code>)."
                ),
                widgets.HBox([self.ra, self.dec]),
                widgets.HBox([self.radius, self.filter]),
                widgets.HBox([self.button, self.status], layout={"align_items": "center"}),
            ]
        ).add_class("aphos-variables-form")
        super().__init__(
            [
                widgets.HTML(STYLE),
                self.address,
                form,
                self.figure,
                self.chosen,
                widgets.HTML("<h3>Candidates</h3>"),
                self.table,
            ]
        )
        self.add_class("aphos-variables")
        if request.ready():
            self.run()
        else:
            self.status.value = "Give a field's centre and radius, then Find variables."
            self._show([])

    def _form(self) -> FieldRequest:
        return FieldRequest(
            ra=self.ra.value.replace("\x00", "").strip(),
            dec=self.dec.value.replace("\x00", "").strip(),
            radius=self.radius.value.replace("\x00", "").strip() or "20arcmin",
            filter=self.filter.value or None,
        )

    def run(self) -> None:
        """Rank the field the form names and show it."""
        self.request = request = self._form()
        self.address.query = request.query()
        self.chosen.value = ""
        try:
            self.found = find_variables(
                self.conn,
                ra=request.ra,
                dec=request.dec,
                radius=request.radius,
                filter=request.filter,
            )
        except (ValueError, AngleParseError) as error:
            self.found = None
            self.status.value = f'<span class="aphos-error">{html.escape(str(error))}</span>'
            self._show([])
            return
        found = self.found
        options = [("most observed", "")] + [(f or "(no filter)", f) for f in found.filters]
        if request.filter and request.filter not in found.filters:
            options.append((request.filter, request.filter))
        self.filter.options = options
        self.filter.value = request.filter or ""
        if not len(found):
            self.status.value = html.escape(
                "No star in this field has enough calibrated points yet"
                + (f" in filter {request.filter}" if request.filter else "")
                + ": widen the field, or upload more images of it."
            )
            self._show([])
            return
        others = [f or "(no filter)" for f in found.filters if f != found.filter]
        self.status.value = html.escape(
            f"{len(found)} stars ranked in filter {found.filter or '(no filter)'}"
            + (f" (also observed in {', '.join(others)}: choose it above)" if others else "")
            + "; click a star for its light curve."
        )
        self._show(found.frame.to_dict("records"))

    def _show(self, rows: list[dict]) -> None:
        """Draw the stars and the noise curve, and list the candidates."""
        with self.points.hold_sync(), self.curve.hold_sync():
            self.points.x = np.array([r["mag"] for r in rows], dtype=float)
            self.points.y = np.array([max(r["std"], 1e-4) for r in rows], dtype=float)
            self.points.colors = [
                _COLOURS["known"] if r["known_variable"]
                else _COLOURS["candidate"] if r["rank"] <= MARKED
                else _COLOURS["star"]
                for r in rows
            ] or [_COLOURS["star"]]  # fmt: skip
            self.points.names = [
                f"#{r['rank']} {r['label']}" + (f" ({r['name']})" if r["name"] else "")
                + f"\n{r['mag']:.2f} mag, scatter {r['std']:.4f}, excess {r['excess']:.1f}"
                for r in rows
            ]  # fmt: skip
            if rows:  # a margin around the stars: none sits on the frame
                mags = self.points.x
                low, high = float(np.min(mags)), float(np.max(mags))
                pad = max(0.1, 0.03 * (high - low))
                self.x_scale.min, self.x_scale.max = low - pad, high + pad
                scatter = self.points.y
                self.y_scale.min = float(np.min(scatter)) / 1.2
                self.y_scale.max = float(np.max(scatter)) * 1.2
            curve = self.found.curve if self.found is not None and rows else None
            self.curve.x = [] if curve is None else curve["mag"].to_numpy()
            self.curve.y = [] if curve is None else curve["expected_std"].to_numpy()
        self.table.value = candidate_rows(self.found) if rows else ""

    def _select(self, _mark, event: dict) -> None:
        """A star was clicked: the link to its light curve."""
        index = event.get("data", {}).get("index")
        if self.found is None or index is None or not 0 <= int(index) < len(self.found):
            self.chosen.value = ""
            return
        row = self.found.frame.iloc[int(index)]
        link = html.escape(light_curve_link(row["label"]))
        name = f" ({html.escape(row['name'])})" if row["name"] else ""
        self.chosen.value = (
            f"<b>#{row['rank']} {html.escape(row['label'])}</b>{name}: "
            f"{row['mag']:.3f} mag, {row['n']} points, scatter {row['std']:.4f} mag, "
            f"{row['excess']:.1f} times the field's noise. "
            f'<a class="aphos-light-curve-link" href="{link}" target="_top">'
            "Open its light curve</a>"
        )


@failsafe_page("variables.ipynb")
def variables_page(query_string: str | None = None, conn=None) -> widgets.Widget:
    """The finder page for an address (one line in ``variables.ipynb``); never raises."""
    request = FieldRequest.from_params(query_params(query_string))
    if conn is None:
        conn = reader()
    return VariablesPage(conn, request)
