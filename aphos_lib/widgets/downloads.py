"""Downloads of the object page: TXT, CSV, CSV with metadata and the AAVSO report.

Each download is a link (:class:`DownloadLinks`); a click asks the kernel for the file, which
writes it from the current light curve with :class:`~aphos_lib.lightcurve.LightCurve` and sends
its bytes back, and the browser saves exactly those bytes. The page needs no file server (Voila
has none for a kernel's output). The files used to be written at every redraw into the links
as ``data:`` URIs: 1.8 MB of widget state for a 5,000-image curve, sent to every browser that
opened the page whether it downloaded or not. An AAVSO report is one observer's and needs
their AAVSO observer code, so its link appears once a code is typed.
"""

from __future__ import annotations

import html
import re

import anywidget
import ipywidgets as widgets
import traitlets

from aphos_lib.lightcurve import LightCurve

__all__ = [
    "FORMATS",
    "DownloadLinks",
    "Downloads",
    "download_text",
    "file_stem",
    "observer_choices",
]

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


def download_text(
    curve: LightCurve,
    key: str,
    *,
    obscode: str = "",
    observer: str | None = None,
    filter: str = "",
) -> str | None:
    """The text of the download ``key`` (one of :data:`FORMATS`) for ``curve``.

    ``aavso`` is None until an observer code is given; when the AAVSO format cannot be written
    (no filter known, several observers and none chosen) it is the reason, prefixed with
    ``"error: "``.
    """
    if key == "txt":
        return curve.to_txt()
    if key == "csv":
        return curve.to_csv()
    if key == "csv_metadata":
        return curve.to_csv(metadata=True)
    if key != "aavso":
        raise ValueError(f"no download {key!r}")
    if not obscode.strip():
        return None
    if not observer and len(set(curve.data["observer"])) > 1:
        return "error: choose whose report it is (one observer's images)"
    try:
        return curve.to_aavso(
            obscode=obscode.strip(), observer=observer or None, filter=filter.strip() or None
        )
    except ValueError as error:
        return f"error: {error}"


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


_ESM = r"""
function render({ model, el }) {
  const draw = () => { el.innerHTML = model.get("value"); };
  el.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-download]");
    if (!link || !el.contains(link)) return;
    event.preventDefault();
    link.classList.add("aphos-download-busy");
    model.send({ download: link.dataset.download });
  });
  model.on("msg:custom", (message, buffers) => {
    for (const link of el.querySelectorAll(".aphos-download-busy")) {
      link.classList.remove("aphos-download-busy");
    }
    if (!message.name) return;
    // Saved from a Blob of the kernel's bytes, within the click's user activation.
    const blob = new Blob([buffers[0]], { type: message.mime + ";charset=utf-8" });
    const url = URL.createObjectURL(blob);
    const save = document.createElement("a");
    save.href = url;
    save.download = message.name;
    document.body.appendChild(save);
    save.click();
    save.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  });
  model.on("change:value", draw);
  draw();
}
export default { render };
"""


class DownloadLinks(anywidget.AnyWidget):
    """Links (``value``, HTML) whose ``a[data-download]`` ask ``writer`` for a file when clicked.

    ``writer(key)`` returns ``(file name, MIME type, text)``, or None when that file cannot be
    written now; the browser saves the text under that name.

    Examples
    --------
    >>> links = DownloadLinks(lambda key: ("a.txt", "text/plain", "a\\n"))
    >>> links.value = '<a data-download="txt" href="#">TXT</a>'
    """

    _esm = _ESM
    value = traitlets.Unicode("").tag(sync=True)

    def __init__(self, writer, **kwargs):
        super().__init__(**kwargs)
        self.writer = writer
        self.on_msg(self._on_message)

    def _on_message(self, _widget, content: dict, _buffers) -> None:
        key = content.get("download") if isinstance(content, dict) else None
        written = self.writer(key) if key in {k for k, *_ in FORMATS} else None
        if written is None:
            self.send({})  # the link stops saying it is busy
            return
        name, mime, text = written
        self.send({"name": name, "mime": mime}, buffers=[text.encode("utf-8")])


class Downloads(widgets.VBox):
    """The download links for the page's current light curve, and the AAVSO fields."""

    def __init__(self):
        self.links = DownloadLinks(self.file).add_class("aphos-downloads")
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
        self._quiet = False  # set while show() itself changes the observer dropdown
        for field in (self.obscode, self.observer, self.filter):
            field.observe(lambda _: self._quiet or self.show(self.curve), "value")
        aavso = widgets.HBox([self.obscode, self.observer, self.filter])
        super().__init__([self.links, aavso])
        self.add_class("aphos-download-panel")

    def text(self, key: str) -> str | None:
        """The download ``key``'s text for the current curve and AAVSO fields (see
        :func:`download_text`); None without a curve."""
        if self.curve is None:
            return None
        return download_text(
            self.curve,
            key,
            obscode=self.obscode.value,
            observer=self.observer.value,
            filter=self.filter.value,
        )

    def file(self, key: str) -> tuple[str, str, str] | None:
        """``(file name, MIME type, text)`` of the download ``key`` as a click saves it, or
        None when it cannot be written now."""
        text = self.text(key)
        if text is None or text.startswith("error: "):
            return None
        _, _, suffix, mime = next(f for f in FORMATS if f[0] == key)
        return file_stem(self.curve) + suffix, mime, text

    def show(self, curve: LightCurve | None) -> None:
        """Rebuild the links for ``curve``; the files are written when a link is clicked."""
        self.curve = curve
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
        stem = file_stem(curve)
        aavso = self.text("aavso")  # only once a code is typed: a report is checked as written
        items = []
        for key, label, suffix, _ in FORMATS:
            if key == "aavso" and aavso is None:
                items.append(
                    f'<span class="aphos-download-{key} aphos-download-off">{label}: '
                    "type your AAVSO observer code below</span>"
                )
            elif key == "aavso" and aavso.startswith("error: "):
                items.append(
                    f'<span class="aphos-download-{key} aphos-download-off">{label}: '
                    f"{html.escape(aavso[7:])}</span>"
                )
            else:
                items.append(
                    f'<a class="aphos-download aphos-download-{key}" href="#" '
                    f'data-download="{key}" download="{html.escape(stem + suffix)}">'
                    f"{label}</a>"
                )
        self.links.value = "<b>Download:</b> " + " &middot; ".join(items)
