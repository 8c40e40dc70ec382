"""HTML whose table rows can be picked with the mouse or the keyboard.

:class:`PickableHTML` shows ``value`` as ``ipywidgets.HTML`` does (the kernel writes the
markup, every user-supplied string escaped), and reports a pick of a row that carries
``data-pick``: a click anywhere in the row but on a link, or Enter or Space on the row (rows
are in the Tab order). ``picked`` comes back as that row's ``data-*`` attributes (a dict of
strings) with a ``serial`` that changes with every pick, so picking the same row twice is two
changes.

>>> table = PickableHTML(value='<table><tr data-pick data-image-id="7"><td>x</td></tr></table>')
>>> table.observe(lambda change: print(change["new"]), "picked")  # doctest: +SKIP
"""

from __future__ import annotations

import anywidget
import traitlets

__all__ = ["PickableHTML"]

_ESM = r"""
function render({ model, el }) {
  const rows = () => Array.from(el.querySelectorAll("tr[data-pick]"));
  const draw = () => {
    // A pick redraws the rows: the keyboard's place is kept (the same row, by position).
    const focused = rows().indexOf(document.activeElement);
    el.innerHTML = model.get("value");
    const drawn = rows();
    for (const row of drawn) row.tabIndex = 0;
    if (focused >= 0 && drawn[focused]) drawn[focused].focus({ preventScroll: true });
  };
  let serial = 0;
  const pick = (row) => {
    serial += 1;
    model.set("picked", { ...row.dataset, serial: String(serial) });
    model.save_changes();
  };
  el.addEventListener("click", (event) => {
    const row = event.target.closest("tr[data-pick]");
    if (row && el.contains(row) && !event.target.closest("a, button, input")) pick(row);
  });
  el.addEventListener("keydown", (event) => {
    const row = event.target.closest("tr[data-pick]");
    if (row && event.target === row && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      pick(row);
    }
  });
  model.on("change:value", draw);
  draw();
}
export default { render };
"""


class PickableHTML(anywidget.AnyWidget):
    """HTML (``value``) whose ``tr[data-pick]`` rows report a pick in ``picked``."""

    _esm = _ESM
    value = traitlets.Unicode("").tag(sync=True)
    picked = traitlets.Dict({}).tag(sync=True)
