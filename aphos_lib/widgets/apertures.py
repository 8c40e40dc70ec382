"""The aperture panel: one aperture per night for the variable and for the comparison.

A night is :func:`~aphos_lib.photometry.differential_photometry`'s (one observer's session,
local noon to local noon, named by the date it began). Every night starts at ApAuto; the
panel shows one night at a time (a night list of 5,000 images holds a hundred nights, and a
hundred pairs of dropdowns would slow the page down) and lists the nights whose choice
differs from the default. "All nights" sets the default.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import ipywidgets as widgets
import pandas as pd
import psycopg

from aphos_lib import queries
from aphos_lib.lightcurve import LightCurve
from aphos_lib.photometry import AUTO, ApertureChoice

__all__ = ["ALL_NIGHTS", "AperturePanel", "aperture_options", "nights_of"]

ALL_NIGHTS = "all"  # the night dropdown's value for the default


def nights_of(conn: psycopg.Connection, curve: LightCurve) -> pd.DataFrame:
    """The nights of a light curve with how many apertures their images have.

    Returns
    -------
    pandas.DataFrame
        One row per night, in date order: ``night`` (date), ``observers`` (comma-separated),
        ``images`` and ``apertures`` (the most apertures an image of that night has: SIPS
        numbers them 1..N).
    """
    data = curve.data
    if not len(data):
        return pd.DataFrame(columns=["night", "observers", "images", "apertures"])
    ids = [int(i) for i in data["image_id"]]
    counts = dict(queries.images.aperture_counts(ids).rows(conn))
    frame = pd.DataFrame(
        {
            "night": data["night"],
            "observer": data["observer"],
            "apertures": [counts.get(i) or 0 for i in ids],
        }
    )
    rows = [
        {
            "night": night,
            "observers": ", ".join(sorted(set(g["observer"]))),
            "images": len(g),
            "apertures": int(g["apertures"].max()),
        }
        for night, g in frame.groupby("night", sort=True)
    ]
    return pd.DataFrame(rows, columns=["night", "observers", "images", "apertures"])


def aperture_options(apertures: int) -> list[tuple[str, int]]:
    """Dropdown options: ApAuto, then Ap1..ApN.

    Examples
    --------
    >>> aperture_options(3)
    [('auto', 0), ('Ap1', 1), ('Ap2', 2), ('Ap3', 3)]
    """
    return [("auto", AUTO)] + [(f"Ap{k}", k) for k in range(1, apertures + 1)]


def _label(aperture: int) -> str:
    return "auto" if aperture == AUTO else f"Ap{aperture}"


class AperturePanel(widgets.VBox):
    """Choose each night's aperture for the variable and the comparison.

    Parameters
    ----------
    on_change : callable
        Called with no arguments after a choice changed.
    """

    def __init__(self, on_change: Callable[[], None]):
        self.on_change = on_change
        self.nights = pd.DataFrame(columns=["night", "observers", "images", "apertures"])
        self.choices = {"variable": {ALL_NIGHTS: AUTO}, "comparison": {ALL_NIGHTS: AUTO}}
        self.night = widgets.Dropdown(
            description="Night", options=[("All nights", ALL_NIGHTS)], layout={"width": "28em"}
        ).add_class("aphos-night")
        self.dropdowns = {
            star: widgets.Dropdown(
                description=star.capitalize(), options=aperture_options(0), layout={"width": "14em"}
            ).add_class(f"aphos-aperture-{star}")
            for star in ("variable", "comparison")
        }
        self.summary = widgets.HTML().add_class("aphos-aperture-summary")
        self._quiet = False
        self.night.observe(self._night_picked, "value")
        for star, dropdown in self.dropdowns.items():
            dropdown.observe(lambda change, star=star: self._picked(star, change["new"]), "value")
        title = widgets.HTML("<b>Apertures</b> (ApAuto unless chosen; one choice per night)")
        super().__init__(
            [title, widgets.HBox([self.night, *self.dropdowns.values()]), self.summary]
        )
        self.add_class("aphos-aperture-panel")

    def set_nights(self, nights: pd.DataFrame) -> None:
        """The nights to choose from (see :func:`nights_of`)."""
        self.nights = nights
        options = [("All nights", ALL_NIGHTS)] + [
            (f"{r.night.isoformat()} ({r.observers}, {r.images} images)", r.night.isoformat())
            for r in nights.itertuples()
        ]
        self._quiet = True
        try:
            self.night.options = options
            self.night.value = ALL_NIGHTS
            self._show_night()
        finally:
            self._quiet = False
        self._summarise()

    def choice(self, star: str) -> ApertureChoice:
        """The :class:`ApertureChoice` of ``"variable"`` or ``"comparison"``."""
        picked = self.choices[star]
        nights = {dt.date.fromisoformat(n): k for n, k in picked.items() if n != ALL_NIGHTS}
        return ApertureChoice(picked[ALL_NIGHTS], nights)

    def set_choices(self, variable: ApertureChoice, comparison: ApertureChoice) -> None:
        """Start from these choices (an address's), without calling ``on_change``."""
        for star, choice in (("variable", variable), ("comparison", comparison)):
            picked = {ALL_NIGHTS: choice.default}
            picked.update(
                {night.isoformat(): k for night, k in choice.nights.items() if k != choice.default}
            )
            self.choices[star] = picked
        self._quiet = True
        try:
            self._show_night()
        finally:
            self._quiet = False
        self._summarise()

    def set_choice(self, star: str, night: dt.date | str | None, aperture: int) -> None:
        """Choose ``aperture`` (0: ApAuto) for ``star`` on ``night`` (None: all nights), as
        the dropdowns do."""
        key = ALL_NIGHTS if night is None else str(night)
        self.night.value = key
        self.dropdowns[star].value = aperture

    def _apertures(self, night: str) -> int:
        if night == ALL_NIGHTS:
            return int(self.nights["apertures"].max()) if len(self.nights) else 0
        row = self.nights[self.nights["night"].map(dt.date.isoformat) == night]
        return int(row["apertures"].iloc[0]) if len(row) else 0

    def _current(self, star: str, night: str) -> int:
        picked = self.choices[star]
        return picked.get(night, picked[ALL_NIGHTS])

    def _show_night(self) -> None:
        night = self.night.value
        # An address may choose an aperture beyond the images' count: offered, not refused.
        chosen = max(self._current(star, night) for star in self.dropdowns)
        options = aperture_options(max(self._apertures(night), chosen))
        for star, dropdown in self.dropdowns.items():
            # Options first, then the value, not in hold_trait_notifications() (which checks
            # the value against the old options); every caller is quiet meanwhile.
            dropdown.options = options
            dropdown.value = self._current(star, night)

    def _night_picked(self, _change) -> None:
        quiet, self._quiet = self._quiet, True
        try:
            self._show_night()
        finally:
            self._quiet = quiet

    def _picked(self, star: str, aperture: int | None) -> None:
        if self._quiet or aperture is None:
            return
        night = self.night.value
        if aperture == self._current(star, night):
            return
        picked = self.choices[star]
        if night == ALL_NIGHTS:
            picked[ALL_NIGHTS] = aperture
        elif aperture == picked[ALL_NIGHTS]:
            picked.pop(night, None)
        else:
            picked[night] = aperture
        self._summarise()
        self.on_change()

    def _summarise(self) -> None:
        parts = []
        for star in ("variable", "comparison"):
            picked = self.choices[star]
            nights = ", ".join(
                f"{n}: {_label(k)}" for n, k in sorted(picked.items()) if n != ALL_NIGHTS
            )
            parts.append(
                f"{star}: {_label(picked[ALL_NIGHTS])}" + (f" ({nights})" if nights else "")
            )
        self.summary.value = "<small>Chosen: " + "; ".join(parts) + "</small>"
