"""A table of results: sortable headings, rows picked by mouse or keyboard, as wide as the page.

:class:`ResultTable` draws an HTML table in the browser (an anywidget: a few lines of the
browser's own JavaScript), so that columns line up whatever the font, long cells end in an
ellipsis instead of running off the page, and every row and heading can be reached with the
keyboard: Tab to the table, the arrow keys (and Home, End) move between rows, Enter or Space
picks one; headings are buttons. Every cell is set as text, never as HTML, so a name an
observer gave a star cannot become markup.

The kernel keeps the state: ``rows`` and ``columns`` (with the sorted column's arrow) are set
from Python, ``selected`` comes back when a row is picked, and a click on a heading calls the
function given to :meth:`ResultTable.on_sort` with the column's key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import anywidget
import traitlets

__all__ = ["ResultTable", "table_columns"]

ARROWS = {False: " \u25b2", True: " \u25bc"}  # ascending, descending

_ESM = r"""
function render({ model, el }) {
  const wrap = document.createElement("div");
  wrap.className = "aphos-table-wrap";
  const table = document.createElement("table");
  table.className = "aphos-table";
  const head = table.createTHead();
  const body = table.createTBody();
  body.className = "aphos-table-body";
  wrap.appendChild(table);
  el.appendChild(wrap);

  const rowsOf = () => Array.from(body.querySelectorAll("tr.aphos-result-row"));
  const pick = (tr) => {
    model.set("selected", tr.dataset.ref);
    model.save_changes();
  };

  function drawHead() {
    head.replaceChildren();
    const tr = head.insertRow();
    for (const c of model.get("columns")) {
      const th = document.createElement("th");
      th.scope = "col";
      if (c.numeric) th.classList.add("aphos-numeric");
      th.style.width = c.width;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "aphos-sort-heading aphos-sort-" + c.heading.toLowerCase();
      if (c.numeric) button.classList.add("aphos-numeric");
      button.textContent = c.heading + (c.arrow || "");
      button.disabled = !c.enabled;
      if (c.arrow) {
        button.classList.add("aphos-sorted");
        th.setAttribute("aria-sort", c.arrow.includes("\u25bc") ? "descending" : "ascending");
      }
      button.title = c.enabled ? "sort by " + c.heading.toLowerCase() : "";
      button.addEventListener("click", () => model.send({ sort: c.key }));
      th.appendChild(button);
      tr.appendChild(th);
    }
  }

  function drawBody() {
    body.replaceChildren();
    const columns = model.get("columns");
    const selected = model.get("selected");
    for (const row of model.get("rows")) {
      const tr = body.insertRow();
      tr.className = "aphos-result-row";
      tr.dataset.ref = row.ref;
      tr.tabIndex = -1;
      row.cells.forEach((text, i) => {
        const td = tr.insertCell();
        td.textContent = text;
        td.title = text;
        if (columns[i]) td.classList.add("aphos-cell-" + columns[i].heading.toLowerCase());
        if (columns[i] && columns[i].numeric) td.classList.add("aphos-numeric");
      });
      tr.addEventListener("click", () => { tr.focus(); pick(tr); });
    }
    const rows = rowsOf();
    const current = rows.find((tr) => tr.dataset.ref === selected);
    // One row is in the Tab order: the picked one, else the first.
    if (rows.length) (current || rows[0]).tabIndex = 0;
    drawSelected();
  }

  function drawSelected() {
    const selected = model.get("selected");
    for (const tr of rowsOf()) {
      const on = tr.dataset.ref === selected;
      tr.classList.toggle("aphos-selected", on);
      tr.setAttribute("aria-selected", on ? "true" : "false");
    }
  }

  body.addEventListener("keydown", (event) => {
    const rows = rowsOf();
    const at = rows.indexOf(document.activeElement);
    if (at < 0) return;
    let to = at;
    if (event.key === "ArrowDown") to = Math.min(at + 1, rows.length - 1);
    else if (event.key === "ArrowUp") to = Math.max(at - 1, 0);
    else if (event.key === "Home") to = 0;
    else if (event.key === "End") to = rows.length - 1;
    else if (event.key === "Enter" || event.key === " ") { pick(rows[at]); }
    else return;
    event.preventDefault();
    if (to !== at) {
      rows[at].tabIndex = -1;
      rows[to].tabIndex = 0;
      rows[to].focus();
      rows[to].scrollIntoView({ block: "nearest" });
    }
  });

  table.setAttribute("role", "grid");
  model.on("change:columns", () => { drawHead(); drawBody(); });
  model.on("change:rows", drawBody);
  model.on("change:selected", drawSelected);
  drawHead();
  drawBody();
}
export default { render };
"""

_CSS = """
.aphos-table-wrap { max-width: 100%; max-height: 32em; overflow-y: auto;
  border: 1px solid #d0d7de; border-radius: 4px; }
.aphos-table { width: 100%; table-layout: fixed; border-collapse: collapse;
  font-size: 13px; font-variant-numeric: tabular-nums; }
.aphos-table th { position: sticky; top: 0; background: #f6f8fa; padding: 0;
  border-bottom: 1px solid #d0d7de; text-align: left; }
.aphos-table td { padding: 3px 8px; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; border-bottom: 1px solid #eaeef2; }
.aphos-table .aphos-numeric { text-align: right; }
.aphos-table .aphos-sort-heading { width: 100%; padding: 5px 8px; border: 0; margin: 0;
  background: none; font: inherit; font-weight: 600; text-align: inherit; cursor: pointer;
  color: inherit; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.aphos-table .aphos-sort-heading:hover:enabled { background: #e8eef7; }
.aphos-table .aphos-sort-heading:disabled { cursor: default; }
.aphos-table .aphos-sort-heading.aphos-sorted { color: #1a5fb4; }
.aphos-table tbody tr { cursor: pointer; }
.aphos-table tbody tr:hover { background: #f3f6fb; }
.aphos-table tbody tr.aphos-selected { background: #dbe7fb; }
.aphos-table tbody tr:focus { outline: 2px solid #1a5fb4; outline-offset: -2px; }
"""


def table_columns(
    columns: Sequence[tuple[str, str | None]],
    widths: dict[str, int],
    numeric: Sequence[str],
    sort: str,
    enabled: Callable[[str | None], bool],
) -> list[dict]:
    """The ``columns`` of a :class:`ResultTable`: each heading with its key, width (a share
    of the table, from ``widths`` in characters), alignment, arrow when sorted by it, and
    whether it can be clicked.

    Examples
    --------
    >>> cols = table_columns([("Name", "name"), ("Mag", "mag")], {"Name": 30, "Mag": 10},
    ...                      ["Mag"], "-mag", lambda key: key is not None)
    >>> [(c["heading"], c["width"], c["arrow"]) for c in cols]
    [('Name', '75.0%', ''), ('Mag', '25.0%', ' ▼')]
    """
    total = sum(widths[h] for h, _ in columns)
    sorted_key, descending = sort.lstrip("-"), sort.startswith("-")
    return [
        {
            "heading": heading,
            "key": key or "",
            "width": f"{100 * widths[heading] / total:.1f}%",
            "numeric": heading in numeric,
            "arrow": ARROWS[descending] if key and key == sorted_key else "",
            "enabled": bool(key) and enabled(key),
        }
        for heading, key in columns
    ]


class ResultTable(anywidget.AnyWidget):
    """The result table; set ``columns`` (:func:`table_columns`) and ``rows``.

    Attributes
    ----------
    rows : list of dict
        ``{"cells": [text, ...], "ref": "CATALOG:ID"}``, one per row, cells in column order.
    selected : str
        The ref of the picked row ("" for none); set by the browser, or from Python.
    """

    _esm = _ESM
    _css = _CSS
    columns = traitlets.List(traitlets.Dict()).tag(sync=True)
    rows = traitlets.List(traitlets.Dict()).tag(sync=True)
    selected = traitlets.Unicode("").tag(sync=True)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._on_sort: Callable[[str], None] | None = None
        self.on_msg(self._message)

    def on_sort(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(key)`` when a heading is clicked."""
        self._on_sort = callback

    def click_heading(self, key: str) -> None:
        """What a click on the heading of ``key`` does (for the page's own use and tests)."""
        column = next((c for c in self.columns if c["key"] == key), None)
        if column is not None and column["enabled"] and self._on_sort is not None:
            self._on_sort(key)

    def heading_text(self, heading: str) -> str:
        """A heading as shown, with its arrow when the table is sorted by it."""
        column = next(c for c in self.columns if c["heading"] == heading)
        return column["heading"] + column["arrow"]

    def _message(self, _widget, content, _buffers) -> None:
        if isinstance(content, dict) and isinstance(content.get("sort"), str):
            self.click_heading(content["sort"])
