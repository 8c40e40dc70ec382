"""The search page: a form, a paged result table sorted by clicking its headings, and picking
the stars to compare.

The form's state is a :class:`~aphos_lib.widgets.search_query.SearchQuery`, read from the
page's address at start and written back to it as it changes (:class:`AddressBar`), so the
address is always a link to what the page shows; the results come from
:func:`aphos_lib.search.search_objects` one page at a time, sorted in the database, in a
:class:`~aphos_lib.widgets.result_table.ResultTable`. Picking a variable and a comparison
from the results gives the link to the object page.
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from aphos_lib.search import ObjectNotFound, catalogs, resolve_object, search_objects
from aphos_lib.widgets.address import AddressBar
from aphos_lib.widgets.connection import reader
from aphos_lib.widgets.failsafe import failsafe_page
from aphos_lib.widgets.result_table import ResultTable, table_columns
from aphos_lib.widgets.search_query import (
    COLUMNS,
    PAGE_SIZE,
    SearchQuery,
    object_link,
    page_label,
    result_rows,
)
from aphos_lib.widgets.urls import query_params

__all__ = ["SearchPage", "next_sort", "row_cells", "search_page"]

# Each column's share of the table's width (in characters of its usual content).
WIDTHS = {
    "Name": 15,
    "Catalogue": 10,
    "Id": 17,  # a star known in several catalogues lists its other ids here (wrapped)
    "RA": 13,
    "Dec": 13,
    "Mag": 7,
    "Fluxes": 8,
    "Distance": 9,
}
NUMERIC = ("Mag", "Fluxes", "Distance")  # right-aligned
# A heading's first click sorts this way: the most measured objects first, the rest ascending.
FIRST_DESCENDING = {"n_fluxes"}
STYLE = """<style>
.aphos-error { color: #c01c28; }
.aphos-search a { color: #1a5fb4; text-decoration: underline; }
.aphos-search { max-width: 1200px; }
.aphos-search .aphos-table td.aphos-cell-id { white-space: normal; overflow-wrap: anywhere; }
</style>"""


def row_cells(row: dict[str, str]) -> list[str]:
    """One result's cells in the order of the table's columns.

    Examples
    --------
    >>> row_cells({"Name": "GK Cep", "Id": "805-031770", "Mag": "7.10"})
    ['GK Cep', '', '805-031770', '', '', '7.10', '', '']
    """
    return [row.get(heading, "") for heading, _ in COLUMNS]


def next_sort(current: str, key: str) -> str:
    """The order after clicking the heading that sorts by ``key`` when sorted by ``current``.

    A first click sorts ascending (most fluxes first for the flux count), a second reverses.

    Examples
    --------
    >>> next_sort("", "mag"), next_sort("mag", "mag"), next_sort("-mag", "mag")
    ('mag', '-mag', 'mag')
    >>> next_sort("mag", "n_fluxes")
    '-n_fluxes'
    """
    if current.lstrip("-") == key:
        return key if current.startswith("-") else f"-{key}"
    return f"-{key}" if key in FIRST_DESCENDING else key


def _error_label(name: str) -> widgets.HTML:
    return widgets.HTML("").add_class("aphos-error").add_class(f"aphos-error-{name}")


class SearchPage:
    """The search page's widgets and what they do (``SearchPage(conn).widget`` shows it).

    Parameters
    ----------
    conn : psycopg.Connection
        A reader connection, kept while the page is open (autocommit).
    query : SearchQuery, optional
        The starting state; default: read from the page's address (``$QUERY_STRING``).
    """

    def __init__(self, conn, query: SearchQuery | None = None) -> None:
        self.conn = conn
        self.query = query or SearchQuery.from_params(query_params())
        self.result = None
        self.rows: list[dict[str, str]] = []
        self._syncing = False
        self._names: dict[str, str | None] = {}
        q = self.query

        def text(name, description, value, placeholder, width="20em"):
            box = widgets.Text(
                value=value,
                description=description,
                placeholder=placeholder,
                continuous_update=False,
                layout={"width": width},
                style={"description_width": "6em"},
            )
            return box.add_class(f"aphos-{name.replace('_', '-')}")

        self.ra = text("ra", "RA", q.ra, "21 41 55.3")
        self.dec = text("dec", "Dec", q.dec, "+71 18 38.6")
        self.radius = text("radius", "Radius", q.radius or "", "5arcmin")
        self.name = text("name", "Name", q.name, "GK Cep")
        self.min_mag = text("min_mag", "Bright limit", q.min_mag, "mag", "12em")
        self.max_mag = text("max_mag", "Faint limit", q.max_mag, "mag", "12em")
        self.mag_slider = widgets.FloatRangeSlider(
            value=(0.0, 20.0),
            min=0.0,
            max=20.0,
            step=0.1,
            description="Magnitude",
            continuous_update=False,
            readout_format=".1f",
            layout={"width": "28em"},
            style={"description_width": "6em"},
        ).add_class("aphos-mag-slider")
        self._sync_slider_from_boxes()
        options = [("any", "")] + [(c, c) for c in catalogs(conn)]
        if q.catalog and q.catalog not in [v for _, v in options]:
            options.append((q.catalog, q.catalog))
        self.catalog = widgets.Dropdown(
            options=options,
            value=q.catalog,
            description="Catalogue",
            style={"description_width": "6em"},
            layout={"width": "16em"},
        ).add_class("aphos-catalog")
        self.catalog_id = text("id", "Id", q.id, "805-031770 or 805-03*", "18em")
        self.sort_order = q.sort
        self.table = ResultTable(layout={"display": "none"}).add_class("aphos-results")
        self.table.on_sort(self._sort_by)
        self.address = AddressBar()
        self.errors = {
            n: _error_label(n)
            for n in (
                "ra",
                "dec",
                "radius",
                "name",
                "min_mag",
                "max_mag",
                "id",
                "sort",
                "variable",
                "comparison",
                "check",
            )
        }
        self.search_button = widgets.Button(
            description="Search", button_style="primary", icon="search"
        ).add_class("aphos-search-button")
        self.status = widgets.HTML("").add_class("aphos-status")
        self.page_label = widgets.HTML("").add_class("aphos-page-label")
        self.prev = widgets.Button(
            description="Previous", icon="arrow-left", disabled=True
        ).add_class("aphos-prev")
        self.next = widgets.Button(description="Next", icon="arrow-right", disabled=True).add_class(
            "aphos-next"
        )
        self.pick_variable = widgets.Button(description="Use as variable", disabled=True).add_class(
            "aphos-pick-variable"
        )
        self.pick_comparison = widgets.Button(
            description="Add as comparison", disabled=True
        ).add_class("aphos-pick-comparison")
        self.pick_check = widgets.Button(description="Use as check", disabled=True).add_class(
            "aphos-pick-check"
        )
        self.clear_picks = widgets.Button(description="Clear picks").add_class("aphos-clear-picks")
        # What the pick buttons act on, as the kernel has it.
        self.selection = widgets.HTML("").add_class("aphos-selection")
        self.picks = widgets.HTML("").add_class("aphos-picks")
        self.share = widgets.HTML("").add_class("aphos-share-link")

        self.search_button.on_click(lambda _: self.run(offset=0))
        self.prev.on_click(lambda _: self.run(offset=max(self.query.offset - PAGE_SIZE, 0)))
        self.next.on_click(lambda _: self.run(offset=self.query.offset + PAGE_SIZE))
        self.mag_slider.observe(lambda _: self._sync_boxes_from_slider(), "value")
        for box in (self.min_mag, self.max_mag):
            box.observe(lambda _: self._sync_slider_from_boxes(), "value")
        self.table.observe(lambda _: self._enable_picks(), "selected")
        self.pick_variable.on_click(lambda _: self._pick("variable"))
        self.pick_comparison.on_click(lambda _: self._pick("comparison"))
        self.pick_check.on_click(lambda _: self._pick("check"))
        self.clear_picks.on_click(lambda _: self._pick("clear"))

        def row(*children):
            return widgets.HBox(list(children), layout={"align_items": "center"})

        form = widgets.VBox(
            [
                widgets.HTML(
                    "<b>Position</b> (RA in hours: <code>21 41 55.3</code>, "
                    "<code>21:41:55.3</code>, <code>21h41m55.3s</code>, or degrees; "
                    "radius with a unit: <code>3arcmin</code>, <code>20arcsec</code>)"
                ),
                row(self.ra, self.errors["ra"]),
                row(self.dec, self.errors["dec"]),
                row(self.radius, self.errors["radius"]),
                row(self.name, self.errors["name"]),
                row(self.mag_slider),
                row(self.min_mag, self.max_mag, self.errors["min_mag"], self.errors["max_mag"]),
                row(self.catalog, self.catalog_id, self.errors["id"]),
                row(self.errors["sort"]),
                row(self.search_button, self.status),
            ]
        ).add_class("aphos-search-form")
        results = widgets.VBox(
            [
                row(self.prev, self.next, self.page_label),
                self.table,
                row(
                    self.pick_variable,
                    self.pick_comparison,
                    self.pick_check,
                    self.clear_picks,
                    self.selection,
                ),
                row(self.errors["variable"], self.errors["comparison"], self.errors["check"]),
                self.picks,
                self.share,
            ]
        )
        self.widget = widgets.VBox([widgets.HTML(STYLE), self.address, form, results]).add_class(
            "aphos-search"
        )
        self._show_sort()
        if self.query.searching():
            self.run(offset=self.query.offset)
        else:
            self._show_picks()

    # --- the form ------------------------------------------------------------------------

    def form_query(self, offset: int) -> SearchQuery:
        """The query the form holds now, at ``offset``, keeping the picks."""

        def typed(box: widgets.Text) -> str:
            # No name or id holds a NUL, and PostgreSQL refuses one in any text it is sent
            # (a pasted one made the search fail); urls.query_params drops them likewise.
            return box.value.replace("\x00", "").strip()

        return self.query.with_changes(
            ra=typed(self.ra),
            dec=typed(self.dec),
            radius=typed(self.radius),
            name=typed(self.name),
            min_mag=typed(self.min_mag),
            max_mag=typed(self.max_mag),
            catalog=self.catalog.value,
            id=typed(self.catalog_id),
            sort=self.sort_order,
            offset=offset,
        )

    def _sync_boxes_from_slider(self) -> None:
        if self._syncing:
            return
        self._syncing = True
        low, high = self.mag_slider.value
        self.min_mag.value = "" if low <= self.mag_slider.min else f"{low:.1f}"
        self.max_mag.value = "" if high >= self.mag_slider.max else f"{high:.1f}"
        self._syncing = False

    def _sync_slider_from_boxes(self) -> None:
        if self._syncing:
            return
        self._syncing = True
        low, high = self.mag_slider.value
        try:
            low = float(self.min_mag.value) if self.min_mag.value.strip() else self.mag_slider.min
            high = float(self.max_mag.value) if self.max_mag.value.strip() else self.mag_slider.max
            clamp = lambda v: min(max(v, self.mag_slider.min), self.mag_slider.max)  # noqa: E731
            if clamp(low) <= clamp(high):
                self.mag_slider.value = (clamp(low), clamp(high))
        except ValueError:
            pass  # the search says what is wrong with the box
        self._syncing = False

    # --- sorting -------------------------------------------------------------------------

    def _sort_by(self, key: str) -> None:
        """A heading was clicked: sort by it (again: the other way) from the first page."""
        self.sort_order = next_sort(self.sort_order, key)
        self._show_sort()
        if self.result is not None:
            self.run(offset=0)

    def _show_sort(self) -> None:
        """Mark the sorted heading with its direction; distance sorts only a cone."""
        cone = bool(self.query.ra or self.query.dec)
        self.table.columns = table_columns(
            COLUMNS, WIDTHS, NUMERIC, self.sort_order, lambda key: key != "distance" or cone
        )

    # --- searching -----------------------------------------------------------------------

    def run(self, offset: int = 0) -> None:
        """Search with what the form holds and show the page at ``offset``."""
        query = self.form_query(offset)
        args, errors = query.validate()
        for name, label in self.errors.items():
            label.value = html.escape(errors.get(name, ""))
        self.query = query
        self._show_sort()
        if errors:
            self._clear_results()
            self.status.value = '<span class="aphos-error">Correct the fields marked.</span>'
            self._show_share()
            return
        try:
            self.result = search_objects(self.conn, **args)
        except ValueError as error:
            self._clear_results()
            self.status.value = f'<span class="aphos-error">{html.escape(str(error))}</span>'
            self._show_share()
            return
        self.status.value = ""
        self.rows = result_rows(self.result)
        self.table.selected = ""
        self.table.rows = [{"cells": row_cells(r), "ref": r["ref"]} for r in self.rows]
        self.table.layout.display = "" if self.rows else "none"
        self.page_label.value = html.escape(page_label(self.result))
        self.prev.disabled = offset == 0
        self.next.disabled = not self.result.has_more
        self._enable_picks()
        self._show_picks()
        if not self.rows:
            self.status.value = (
                "No objects match. Widen the cone, loosen the magnitude "
                "limits, or search by part of a name."
            )
        if self.result.resolved is not None:  # a name no stored object carries
            found = "the objects around it" if self.rows else "no object in the archive is near it"
            note = f"No stored name matches; {self.result.resolved}: {found}."
            self.status.value = html.escape(note)

    def _clear_results(self) -> None:
        """A search that cannot run shows no results: the previous ones would look like its."""
        self.result, self.rows = None, []
        self.table.selected = ""
        self.table.rows = []
        self.table.layout.display = "none"
        self.page_label.value = ""
        self.prev.disabled = self.next.disabled = True
        self._enable_picks()

    # --- picking -------------------------------------------------------------------------

    def _enable_picks(self) -> None:
        ref = self.table.selected or None
        for button in (self.pick_variable, self.pick_comparison, self.pick_check):
            button.disabled = ref is None
        self.selection.value = "" if ref is None else f"selected: {self._label(ref)}"

    def _pick(self, role: str) -> None:
        ref = self.table.selected or None
        q = self.query
        if role == "clear":
            self.query = q.with_changes(variable="", comparison=(), check="")
        elif ref is None:
            return
        elif role == "variable":
            self.query = q.with_changes(
                variable=ref, comparison=tuple(c for c in q.comparison if c != ref)
            )
        elif role == "comparison" and ref != q.variable and ref not in q.comparison:
            self.query = q.with_changes(comparison=(*q.comparison, ref))
        elif role == "check" and ref != q.variable:
            self.query = q.with_changes(check=ref)
        self._show_picks()

    def _label(self, ref: str) -> str:
        """``CATALOG:ID (name)``; picks from an address may lie outside the shown page."""
        for row in self.rows:
            if row["ref"] == ref:
                self._names[ref] = row["Name"]
        if ref not in self._names:
            try:
                self._names[ref] = resolve_object(self.conn, ref).name or ""
            except ObjectNotFound:
                self._names[ref] = None
            except ValueError:  # not CATALOG:ID; the form says so
                self._names[ref] = ""
        name = self._names[ref]
        if name is None:
            return f'{html.escape(ref)} <span class="aphos-error">(not in the catalogue)</span>'
        return html.escape(f"{ref} ({name})" if name else ref)

    def _show_picks(self) -> None:
        q = self.query
        lines = [
            f"<b>Variable:</b> {self._label(q.variable) if q.variable else '(pick one)'}",
            "<b>Comparison:</b> "
            + (", ".join(map(self._label, q.comparison)) or "(pick one or more)"),
        ]
        if q.check:
            lines.append(f"<b>Check:</b> {self._label(q.check)}")
        link = object_link(q.variable, q.comparison, q.check)
        if link:
            lines.append(
                f'<a class="aphos-object-link" href="{html.escape(link)}" '
                'target="_top">Open the light curve</a>'
            )
        self.picks.value = "<br>".join(lines)
        self._show_share()

    def _show_share(self) -> None:
        link = self.query.link()
        self.address.query = link.partition("?")[2]
        self.share.value = (
            f'Link to this search: <a class="aphos-search-link" '
            f'href="{html.escape(link)}" target="_top">{html.escape(link)}</a>'
        )


@failsafe_page("search.ipynb")
def search_page(conn=None) -> widgets.Widget:
    """The search page for the address it was opened at (one line in ``search.ipynb``).

    ``conn`` defaults to :func:`aphos_lib.widgets.connection.reader`. Never raises: a
    failure shows a short message, its traceback in the service's log
    (:func:`~aphos_lib.widgets.failsafe.failsafe_page`).
    """
    if conn is None:
        conn = reader()
    return SearchPage(conn).widget
