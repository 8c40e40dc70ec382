"""Downloads of the object page: TXT, CSV, CSV with metadata and the AAVSO report.

Each download is a link whose ``href`` is a ``data:`` URI holding the file: the page needs
no file server (Voila has none for a kernel's output), the browser saves exactly the bytes
:class:`~aphos_lib.lightcurve.LightCurve` wrote, and the links are rebuilt whenever the
light curve changes. An AAVSO report is one observer's and needs their AAVSO observer code,
so its link appears once a code is typed.

In a kernel the files are written just after the page (or its redraw) went out: the three
texts of a 5,000-image curve take about 0.15 s, which every opening and every aperture change
used to wait for. Meanwhile the panel says it is preparing them.
"""

from __future__ import annotations

import asyncio
import base64
import html
import re
from collections.abc import Callable

import ipywidgets as widgets

from aphos_lib.lightcurve import LightCurve

__all__ = ["FORMATS", "Downloads", "data_uri", "download_texts", "file_stem", "observer_choices"]

# (key, label, file suffix, MIME type)
FORMATS = [
    ("txt", "TXT", ".txt", "text/plain"),
    ("csv", "CSV", ".csv", "text/csv"),
    ("csv_metadata", "CSV with metadata", "-metadata.csv", "text/csv"),
    ("aavso", "AAVSO", "-aavso.txt", "text/plain"),
]


def file_stem(curve: LightCurve) -> str:
    """The downloads' file name without suffix: ``UCAC4_805-031770-vs-UCAC4_803-032417``.

    Examples
    --------
    >>> from aphos_lib.search import CatalogObject
    >>> star = CatalogObject(1, "UCAC4", "805-031770", None, 0.0, 0.0, None, None, None, 0)
    >>> file_stem(LightCurve(None, {"variable": star, "comparisons": [star]}))
    'UCAC4_805-031770-vs-UCAC4_805-031770'
    """
    var = curve.variable.label
    cmp = "+".join(c.label for c in curve.meta["comparisons"])
    return re.sub(r"[^A-Za-z0-9.+-]+", "_", f"{var}-vs-{cmp}")


def download_texts(
    curve: LightCurve, *, obscode: str = "", observer: str | None = None, filter: str = ""
) -> dict[str, str]:
    """The text of each download for ``curve``: what the links hold.

    ``aavso`` is present only when an observer code is given; when the AAVSO format cannot
    be written (no filter known, several observers and none chosen) its value is the reason,
    prefixed with ``"error: "``.
    """
    texts = {"txt": curve.to_txt(), "csv": curve.to_csv(),
             "csv_metadata": curve.to_csv(metadata=True)}  # fmt: skip
    several = len(set(curve.data["observer"])) > 1
    if obscode.strip() and several and not observer:
        texts["aavso"] = "error: choose whose report it is (one observer's images)"
    elif obscode.strip():
        try:
            texts["aavso"] = curve.to_aavso(obscode=obscode.strip(), observer=observer or None,
                                            filter=filter.strip() or None)  # fmt: skip
        except ValueError as error:
            texts["aavso"] = f"error: {error}"
    return texts


def observer_choices(observers, current: str) -> tuple[list[tuple[str, str]], str]:
    """The AAVSO observer dropdown's options and value for a curve with these ``observers``.

    A report is one observer's: with one observer they are the only choice (and chosen);
    with several (or none) a blank "choose" entry comes first and stays chosen until the
    user picks someone. The current choice is kept when still offered.

    Examples
    --------
    >>> observer_choices(["novak"], "")
    ([('novak', 'novak')], 'novak')
    >>> observer_choices(["novak", "svoboda"], "svoboda")
    ([('', ''), ('novak', 'novak'), ('svoboda', 'svoboda')], 'svoboda')
    >>> observer_choices([], "novak")
    ([('', '')], '')
    """
    observers = sorted(set(observers))
    options = [] if len(observers) == 1 else [("", "")]
    options += [(o, o) for o in observers]
    values = [v for _, v in options]
    return options, current if current in values else values[0]


# Seconds after a change before the files are written: long enough for the kernel to send the
# page or the redraw first.
PREPARE_DELAY_S = 0.05


def _soon(callback: Callable[[], None]) -> bool:
    """Run ``callback`` on the kernel's event loop shortly; False when no loop is running
    (a plain Python session or a test), where the caller runs it at once."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return False
    loop.call_later(PREPARE_DELAY_S, callback)
    return True


def data_uri(text: str, mime: str) -> str:
    """A ``data:`` URI holding ``text`` as UTF-8.

    Examples
    --------
    >>> data_uri("a;b\\n", "text/csv")
    'data:text/csv;charset=utf-8;base64,YTtiCg=='
    """
    encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return f"data:{mime};charset=utf-8;base64,{encoded}"


class Downloads(widgets.VBox):
    """The download links for the page's current light curve, and the AAVSO fields."""

    def __init__(self):
        self.links = widgets.HTML().add_class("aphos-downloads")
        self.obscode = widgets.Text(
            description="AAVSO code",
            placeholder="your observer code",
            layout={"width": "18em"},
            style={"description_width": "initial"},
        ).add_class("aphos-aavso-obscode")
        self.observer = widgets.Dropdown(
            description="Observer",
            options=[("", "")],
            layout={"width": "14em"},
            style={"description_width": "initial"},
        ).add_class("aphos-aavso-observer")
        self.filter = widgets.Text(
            description="Filter",
            placeholder="from the images",
            layout={"width": "14em"},
            style={"description_width": "initial"},
        ).add_class("aphos-aavso-filter")
        self.curve: LightCurve | None = None
        self.texts: dict[str, str] = {}
        self._wanted = 0  # the latest show(); an older scheduled preparation does nothing
        self._quiet = False  # set while show() itself changes the observer dropdown
        for field in (self.obscode, self.observer, self.filter):
            field.observe(lambda _: self._quiet or self.show(self.curve), "value")
        aavso = widgets.HBox([self.obscode, self.observer, self.filter])
        super().__init__([self.links, aavso])
        self.add_class("aphos-download-panel")

    def show(self, curve: LightCurve | None) -> None:
        """Rebuild the links for ``curve`` (in a kernel: just after this change is sent)."""
        self.curve = curve
        self._wanted += 1
        if curve is None:
            self.links.value = ""
            return
        options, value = observer_choices(curve.data["observer"], self.observer.value)
        if list(self.observer.options) != options or self.observer.value != value:
            # Not hold_trait_notifications(): it validates the new value against the old
            # options, so a curve of one observer (no blank entry) raised "Invalid
            # selection" and the page never opened. Options first (which may move the value),
            # then the value, quietly: this show() is already redrawing.
            self._quiet = True
            try:
                self.observer.options = options
                self.observer.value = value
            finally:
                self._quiet = False
        wanted = self._wanted
        if _soon(lambda: self._prepare(wanted)):
            self.links.value = ('<b>Download:</b> <span class="aphos-download-preparing">'
                                "preparing the files&hellip;</span>")  # fmt: skip
        else:
            self._prepare(wanted)

    def _prepare(self, wanted: int) -> None:
        """Write the files and their links, unless the curve changed since (then a newer
        preparation follows)."""
        curve = self.curve
        if wanted != self._wanted or curve is None:
            return
        self.texts = download_texts(
            curve, obscode=self.obscode.value, observer=self.observer.value,
            filter=self.filter.value,
        )  # fmt: skip
        stem = file_stem(curve)
        items = []
        for key, label, suffix, mime in FORMATS:
            text = self.texts.get(key)
            if text is None:
                items.append(f'<span class="aphos-download-{key} aphos-download-off">{label}: '
                             "type your AAVSO observer code below</span>")  # fmt: skip
            elif text.startswith("error: "):
                items.append(f'<span class="aphos-download-{key} aphos-download-off">{label}: '
                             f"{html.escape(text[7:])}</span>")  # fmt: skip
            else:
                items.append(f'<a class="aphos-download aphos-download-{key}" download="'
                             f'{html.escape(stem + suffix)}" href="{data_uri(text, mime)}">'
                             f"{label}</a>")  # fmt: skip
        self.links.value = "<b>Download:</b> " + " &middot; ".join(items)
