"""The object page: a variable star against its comparison, image by image.

``object.ipynb?variable=CAT:ID&comparison=CAT:ID[&comparison=...][&check=CAT:ID]...``
shows both stars, the per-image table, the aperture panel, the "show saturated" switch, the
observer filter, the light curve, the phase plot and the downloads. Every change recomputes
the curve with :func:`~aphos_lib.photometry.differential_photometry`
(:meth:`ObjectPage.options` is what it is called with) and redraws; nothing here computes a
magnitude.

The address is the state: every choice (observers left out, apertures night by night,
saturated shown, period and epoch, the time axis) is read from it when the page opens and
written back to it as it changes (:class:`~aphos_lib.widgets.address.AddressBar`), so
copying the address reproduces the view (:mod:`aphos_lib.widgets.object_query` spells it).

The page opens whatever the catalogue holds: one observer, one image, stars that share no
image, only saturated images, every observer excluded by the address. When the choices leave
nothing to plot, :func:`empty_state` says what to change; an unexpected failure shows a short
message and is logged (:mod:`aphos_lib.widgets.failsafe`).

>>> from aphos_lib.widgets.object_page import object_page
>>> object_page()        # in a Voila page: reads QUERY_STRING  # doctest: +SKIP
"""

from __future__ import annotations

import html
from dataclasses import replace

import ipywidgets as widgets
import psycopg
from psycopg.errors import QueryCanceled

from aphos_lib.auto_comparison import NoComparisonStars, choose_comparisons
from aphos_lib.calibrated_photometry import solutions_at
from aphos_lib.coordinates import format_dec, format_ra
from aphos_lib.light_curve_read import CurveTooLarge
from aphos_lib.lightcurve import LightCurve
from aphos_lib.photometry import differential_photometry, narrow_rows
from aphos_lib.search import CatalogObject, ObjectNotFound, resolve_object
from aphos_lib.widgets.address import AddressBar
from aphos_lib.widgets.apertures import AperturePanel, nights_of
from aphos_lib.widgets.connection import reader
from aphos_lib.widgets.downloads import Downloads
from aphos_lib.widgets.failsafe import failsafe_page, failure_html, log_failure
from aphos_lib.widgets.image_table import ImageTable
from aphos_lib.widgets.lightcurve_plot import LightCurvePlot, PhasePlot, colours_for
from aphos_lib.widgets.object_query import AUTO_COMPARISON, ObjectRequest, parse_request
from aphos_lib.widgets.timing_panel import TimingPanel
from aphos_lib.widgets.urls import page_link

__all__ = [
    "WEBGL_FROM",
    "NoCommonImage",
    "ObjectPage",
    "ObjectRequest",
    "empty_state",
    "message",
    "object_page",
    "parse_request",
]  # ObjectRequest, parse_request: from object_query

_EMPTY_STYLE = '"padding:0.5em 1em;border-left:4px solid #c99;background:#fff6f0;max-width:50em"'
# Above this many images the points are drawn with WebGL: SVG's one element per point made
# the page take seconds longer to open at 5,000 points (bench/dashboard.py).
WEBGL_FROM = 1000


class NoCommonImage(LookupError):
    """The variable and the comparison stars were never measured in the same image."""


def message(text: str, *, kind: str = "error", link: tuple[str, str] | None = None) -> widgets.HTML:
    """A page-wide message in place of the page (unknown object, no common images).

    Parameters
    ----------
    text : str
        What went wrong and what to do (plain text: it is escaped).
    kind : str
        ``aphos-message-<kind>`` class of the message.
    link : (str, str), optional
        The next step as (label, relative address); default: the search page.
    """
    label, href = link or ("Search the catalogue", "search.ipynb")
    action = (
        f'<p><a class="aphos-message-action" href="{html.escape(href)}" target="_top">'
        f"{html.escape(label)}</a></p>"
    )
    return widgets.HTML(
        f'<div class="aphos-message aphos-message-{kind}" style="padding:1em;'
        f'border:1px solid #c99;background:#fff6f0"><p>{html.escape(text)}</p>'
        f"{action}</div>"
    ).add_class("aphos-object-message")


def empty_state(*, images: int, points: int, observers_kept: int, saturated_hidden: int = 0) -> str:
    """What to do when the current choices leave nothing to plot ("" when there are points).

    Parameters
    ----------
    images : int
        Rows of the current curve (the table's).
    points : int
        Rows with a magnitude (the plot's).
    observers_kept : int
        Observers whose box is ticked.
    saturated_hidden : int
        Images hidden only because they are saturated (counted when ``images`` is 0).

    Examples
    --------
    >>> empty_state(images=0, points=0, observers_kept=1, saturated_hidden=3)
    "All 3 images are saturated: tick 'Show saturated' to list them (a saturated image has \
no magnitude)."
    >>> empty_state(images=5, points=5, observers_kept=1)
    ''
    """
    if points:
        return ""
    if observers_kept == 0:
        return "Every observer is left out: tick one or more observers above."
    if not images and saturated_hidden:
        n = "The image is" if saturated_hidden == 1 else f"All {saturated_hidden:,} images are"
        return (
            f"{n} saturated: tick 'Show saturated' to list them (a saturated image has no "
            "magnitude)."
        )
    if not images:
        return "No images with these choices: tick more observers or choose other apertures."
    return (
        f"None of these {images:,} images gives a magnitude (a star saturated, or without "
        "a flux in the chosen aperture): choose another aperture or comparison star."
    )


def _star_html(role: str, star: CatalogObject) -> str:
    name = f" ({html.escape(star.name)})" if star.name else ""
    others = [i for i in star.identifiers if i != f"{star.catalog} {star.catalog_id}"]
    if others:  # the star's names in other catalogues (its light curve reads them all)
        name += " = " + html.escape(", ".join(others))
    mag = "–" if star.mag is None else f"{star.mag:.2f}"
    bv = "" if star.bv is None else f", B−V {star.bv:.2f}"
    return (
        f'<tr class="aphos-star aphos-star-{role.split()[0].lower()}"><th style='
        f'"text-align:left;padding-right:1em">{role}</th><td class="label">'
        f"{html.escape(star.catalog)} {html.escape(star.catalog_id)}{name}</td>"
        f"<td>RA {format_ra(star.ra_deg)}</td><td>Dec {format_dec(star.dec_deg)}</td>"
        f"<td>{mag} mag{bv}</td><td>{star.n_fluxes:,} fluxes</td></tr>"
    )


class ObjectPage(widgets.VBox):
    """The object page's widgets for one variable and its comparison (or ensemble).

    Parameters
    ----------
    conn : psycopg.Connection
        A read-only connection to the catalogue, in autocommit.
    request : ObjectRequest
        The stars and the choices to start from (the page's address).
    gl : bool, optional
        Draw the points with WebGL (bqplot-gl) instead of SVG; by default as the address
        says (``webgl=1`` or ``0``), else WebGL for curves longer than :data:`WEBGL_FROM`.
    page_size : int
        Table rows per page.

    Raises
    ------
    aphos_lib.search.ObjectNotFound
        When a star is not in the catalogue.
    NoCommonImage
        When the stars have no image in common.
    """

    def __init__(
        self,
        conn: psycopg.Connection,
        request: ObjectRequest,
        *,
        gl: bool | None = None,
        page_size: int = 50,
    ):
        self.conn = conn
        self.request = request
        self.variable = resolve_object(conn, request.variable)
        self.comparisons = [resolve_object(conn, c) for c in request.comparisons]
        self.check = resolve_object(conn, request.check) if request.check else None
        # Everything once, to know every observer and night whatever the filters hide.
        everything = self._photometry(
            include_saturated=True,
            aperture=request.aperture,
            comparison_aperture=request.comparison_aperture,
        )
        if not len(everything):
            raise NoCommonImage(
                f"These stars share no image: {self.variable.label} and "
                f"{self._comparison_label()} were never measured in the same "
                "image. Choose another comparison star."
            )
        self.colours = colours_for(set(everything.data["observer"]))
        self.curve: LightCurve = everything
        self._opening: LightCurve | None = everything  # the first view is taken from it
        if gl is None:
            gl = request.webgl if request.webgl is not None else len(everything) > WEBGL_FROM

        self.apertures = AperturePanel(on_change=self.refresh)
        self.apertures.set_nights(nights_of(conn, everything))
        self.apertures.set_choices(request.aperture, request.comparison_aperture)
        self.saturated = widgets.Checkbox(
            value=request.saturated, description="Show saturated", indent=False
        ).add_class("aphos-saturated")
        excluded = {e.lower() for e in request.exclude}
        self.observers = {
            name: widgets.Checkbox(
                value=name.lower() not in excluded,
                description=name,
                indent=False,
                layout={"width": "auto"},
            )
            .add_class("aphos-observer")
            .add_class(f"aphos-observer-{name}")
            for name in sorted(self.colours)
        }
        for box in [self.saturated, *self.observers.values()]:
            box.observe(lambda _: self.refresh(), "value")
        self.plot = LightCurvePlot(gl=gl, time_axis=request.time_axis)
        self.table = ImageTable(
            page_size,
            apertures=self._with_apertures,
            on_choose=self.plot.choose,
            solutions=lambda ids, apertures: solutions_at(conn, ids, apertures),
        )
        self.phase = PhasePlot(gl=gl)
        if request.period:
            # The epoch first: a period draws the phase plot at once.
            self.phase.epoch.value = request.epoch or 0.0
            self.phase.period.value = request.period
        self.downloads = Downloads()
        self.timing = TimingPanel(lambda: self.curve)
        self.status = widgets.HTML().add_class("aphos-status")
        self.address = AddressBar()
        self.version = 0
        for control in (self.phase.period, self.phase.epoch, self.plot.time_axis):
            control.observe(lambda _: self.write_address(), "value")

        observers = widgets.HBox(
            [widgets.HTML("<b>Observers</b>&nbsp;"), *self.observers.values()],
            layout={"flex_flow": "row wrap", "align_items": "center"},
        )
        filters = widgets.VBox([self.apertures, widgets.HBox([self.saturated]), observers])
        super().__init__(
            [
                widgets.HTML(self._header()).add_class("aphos-object-header"),
                filters,
                self.status,
                self.plot,
                self.downloads,
                widgets.HTML("<h3>Images</h3>"),
                self.table,
                widgets.HTML("<h3>Phase</h3>"),
                self.phase,
                widgets.HTML("<h3>Times of minimum and O-C</h3>"),
                self.timing,
                self.address,
            ]
        )
        self.add_class("aphos-object-page")
        self.refresh()

    def _comparison_label(self) -> str:
        return " + ".join(c.label for c in self.comparisons)

    def _header(self) -> str:
        rows = _star_html("Variable", self.variable)
        for k, star in enumerate(self.comparisons):
            role = "Comparison" if len(self.comparisons) == 1 else f"Comparison {k + 1}"
            rows += _star_html(role, star)
        if self.check is not None:
            rows += _star_html("Check", self.check)
        title = html.escape(self.variable.name or self.variable.label)
        back = page_link("search.ipynb", {"variable": self.variable.label})
        return (
            f"<h2>{title}</h2><table class='aphos-stars'>{rows}</table>"
            f'<p><small><a href="{html.escape(back)}" target="_top">Choose other stars'
            "</a></small></p>"
        )

    def options(self) -> dict:
        """The keyword arguments of :func:`differential_photometry` for the current choices."""
        excluded = sorted(name for name, box in self.observers.items() if not box.value)
        return {
            "aperture": self.apertures.choice("variable"),
            "comparison_aperture": self.apertures.choice("comparison"),
            "include_saturated": self.saturated.value,
            "exclude_observers": excluded or None,
        }

    def _photometry(self, **options) -> LightCurve:
        return differential_photometry(
            self.conn, self.variable, self.comparisons, check=self.check, **options
        )

    def _current_curve(self) -> LightCurve:
        """The curve for the current choices. At opening, with the apertures of the first
        read, that read's rows filtered: the page opens after one query, not two."""
        options = self.options()
        opening, self._opening = self._opening, None
        same_apertures = opening is not None and (
            (options["aperture"], options["comparison_aperture"])
            == (opening.meta["aperture"], opening.meta["comparison_aperture"])
        )
        if not same_apertures:
            return self._photometry(**options)
        return narrow_rows(
            opening,
            include_saturated=options["include_saturated"],
            exclude_observers=options["exclude_observers"],
        )

    def _with_apertures(self) -> LightCurve:
        """The current curve with every aperture's fluxes (the table's "All apertures")."""
        return self._photometry(**self.options(), with_apertures=True)

    def state(self) -> ObjectRequest:
        """The view as an address would ask for it: the stars and the current choices."""
        options = self.options()
        period = self.phase.period.value
        return self.request.with_changes(
            exclude=options["exclude_observers"] or [],
            aperture=options["aperture"],
            comparison_aperture=options["comparison_aperture"],
            saturated=options["include_saturated"],
            period=period if period > 0 else None,
            epoch=self.phase.epoch.value if period > 0 else None,
            time_axis=self.plot.time_axis.value,
        )

    def write_address(self) -> None:
        """Put the current view in the browser's address bar (replacing it in place)."""
        self.address.query = self.state().query()

    def refresh(self) -> None:
        """Recompute the light curve for the current choices and redraw everything.

        A failure (the catalogue gone, a bug) is logged and said in the page: in a widget
        callback it would otherwise vanish into the kernel's log, the page silently stale.
        """
        try:
            self.curve = self._current_curve()
            self.table.show(self.curve)  # first: it forgets an image the choices took away
            self.plot.chosen = self.table.chosen
            self.plot.show(self.curve, self.colours)
            self.downloads.show(self.curve)
            self.phase.show(self.curve, self.colours)
            note = self._empty_note()
            self.write_address()
        except Exception:  # the visitor gets a message whatever it was; the log has it
            note = failure_html(log_failure("object.ipynb redraw"))
        # Set last: a browser waiting for this version knows every part is redrawn.
        self.version += 1
        self.status.value = f'<span data-version="{self.version}"></span>{note}'

    def _empty_note(self) -> str:
        """The empty state for the current curve, as HTML ("" when there are points)."""
        options = self.options()
        points = self.plot.plot.points  # what the plot drew: finite magnitude and time
        hidden = 0
        if not len(self.curve) and not options["include_saturated"]:
            hidden = len(self._photometry(**{**options, "include_saturated": True}))
        text = empty_state(
            images=len(self.curve),
            points=points,
            observers_kept=sum(box.value for box in self.observers.values()),
            saturated_hidden=hidden,
        )
        if not text:
            return ""
        return f"<p class='aphos-empty' style={_EMPTY_STYLE}>{html.escape(text)}</p>"


def _with_auto_comparisons(conn, request: ObjectRequest) -> ObjectRequest:
    """The request with the comparison stars (and a check star, unless it names one) that
    :func:`aphos_lib.auto_comparison.choose_comparisons` picks: the page's address then
    names them, so a shared link shows the same stars later."""
    picked = choose_comparisons(conn, request.variable)
    return replace(request, comparisons=picked.comparisons, check=request.check or picked.check)


@failsafe_page("object.ipynb")
def object_page(
    query_string: str | None = None, conn: psycopg.Connection | None = None, **options
) -> widgets.Widget:
    """The object page for an address, or a message saying why there is none.

    Never raises: what the visitor can correct (an unknown star, stars without a common
    image, too many comparison stars) gets its message; anything else a short failure
    message, its traceback in the service's log.

    Parameters
    ----------
    query_string : str, optional
        The page's query string; ``$QUERY_STRING`` (set by Voila) by default.
    conn : psycopg.Connection, optional
        A read-only connection; :func:`aphos_lib.widgets.connection.reader` by default.
    **options
        Passed to :class:`ObjectPage` (``gl``, ``page_size``).
    """
    try:
        request = parse_request(query_string)
    except ValueError as error:
        return message(str(error))
    if conn is None:
        conn = reader()
    try:
        if request.comparisons == [AUTO_COMPARISON]:
            request = _with_auto_comparisons(conn, request)
        return ObjectPage(conn, request, **options)
    except NoComparisonStars as error:
        search = page_link("search.ipynb", {"variable": request.variable})
        return message(f"{error}.", kind="empty", link=("Choose comparison stars", search))
    except ObjectNotFound as error:
        return message(f"There is {error}: check the catalogue and id, or search for the star.")
    except NoCommonImage as error:
        search = page_link("search.ipynb", {"variable": request.variable})
        return message(str(error), kind="empty", link=("Choose another comparison star", search))
    except CurveTooLarge as error:
        return message(f"This light curve is too large to draw here: {error}.")
    except QueryCanceled:
        log_failure("object.ipynb (the catalogue's time limit)")
        return message(
            "The catalogue took too long to answer: try fewer comparison stars, "
            "or try again in a moment."
        )
