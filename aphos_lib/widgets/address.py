"""The address bar as the page's state: what a page shows is in its address as it changes.

:class:`AddressBar` is an invisible widget; each time the page sets ``query`` (the part of
the address after ``?``), the browser replaces the address in place (``history.replaceState``:
no reload, no new entry in the back button's history), so copying the address at any moment
reproduces the view. The page reads the address once at start
(:func:`aphos_lib.widgets.urls.query_params`) and writes it from then on.
"""

from __future__ import annotations

import anywidget
import traitlets

__all__ = ["AddressBar"]

_ESM = r"""
function render({ model, el }) {
  el.style.display = "none";
  const write = () => {
    const query = model.get("query");
    const address = window.location.pathname + (query ? "?" + query : "") + window.location.hash;
    if (address !== window.location.pathname + window.location.search + window.location.hash) {
      window.history.replaceState(window.history.state, "", address);
    }
  };
  model.on("change:query", write);
  write();
}
export default { render };
"""


class AddressBar(anywidget.AnyWidget):
    """Keeps the page's address in step with ``query`` (a URL-encoded query string).

    Examples
    --------
    >>> bar = AddressBar(query="name=GK+Cep")
    >>> bar.query = "name=GK+Cep&sort=mag"  # the browser's address follows
    """

    _esm = _ESM
    query = traitlets.Unicode("").tag(sync=True)
