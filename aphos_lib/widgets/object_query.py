"""The object page as its address: the stars and every choice, read and written back.

``object.ipynb?variable=CAT:ID&comparison=CAT:ID[&comparison=...][&check=CAT:ID]`` names the
stars; the choices follow, each left out while it has its default, so the shortest address
is the plain page:

``exclude``
    an observer left out (repeated; usernames, any case);
``aperture``, ``comparison_aperture``
    the variable's and the comparison's aperture on every night: ``auto`` or ``1``..``N``;
``night_aperture``, ``night_comparison_aperture``
    one night's aperture, ``YYYY-MM-DD:N`` (repeated), as the REST API's ``/v2/lightcurve``
    spells them;
``saturated=1``
    saturated images listed;
``period``, ``epoch``
    the phase plot's period (days) and epoch (HJD);
``time=hjd``
    the light curve's time axis in HJD instead of calendar dates;
``webgl=1`` or ``0``
    WebGL or SVG points (by the curve's length when absent).

:func:`parse_request` reads it (an unreadable choice falls back to its default: a shared
address with a typo still opens the page) and :meth:`ObjectRequest.query` writes it.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace

from aphos_lib.photometry import AUTO, ApertureChoice
from aphos_lib.search import parse_object_ref
from aphos_lib.widgets.urls import first, page_link, query_params

__all__ = ["TIME_AXES", "ObjectRequest", "parse_request"]

TIME_AXES = ("date", "hjd")  # the light curve's time axis: calendar dates (UTC) or HJD
MAX_PERIOD = 1e5  # days; the period field's bound
# SIPS numbers a handful of apertures; a larger number in an address is a typo (and one
# beyond PostgreSQL's integer would fail the page's query).
MAX_APERTURE = 999


@dataclass(frozen=True)
class ObjectRequest:
    """What an object page's address asks for (object refs as ``CATALOG:ID``)."""

    variable: str
    comparisons: list[str]
    check: str | None = None
    exclude: list[str] = field(default_factory=list)
    webgl: bool | None = None  # WebGL points (``webgl=1``), SVG (``webgl=0``), None: by size
    aperture: ApertureChoice = field(default_factory=ApertureChoice)
    comparison_aperture: ApertureChoice = field(default_factory=ApertureChoice)
    saturated: bool = False
    period: float | None = None
    epoch: float | None = None
    time_axis: str = "date"

    def with_changes(self, **changes) -> ObjectRequest:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def params(self) -> dict[str, object]:
        """The query parameters of this view, defaults left out, in the address's order.

        Examples
        --------
        >>> ObjectRequest("A:1", ["A:2"], aperture=ApertureChoice(2, {})).params()
        {'variable': 'A:1', 'comparison': ['A:2'], 'aperture': '2'}
        """
        values: dict[str, object] = {
            "variable": self.variable,
            "comparison": list(self.comparisons),
            "check": self.check,
            "exclude": sorted(self.exclude, key=str.lower),
        }
        for name, choice in (
            ("aperture", self.aperture),
            ("comparison_aperture", self.comparison_aperture),
        ):
            values[name] = None if choice.default == AUTO else str(choice.default)
            values[f"night_{name}"] = [
                f"{night.isoformat()}:{_aperture_text(k)}"
                for night, k in sorted(choice.nights.items())
            ]
        values["saturated"] = "1" if self.saturated else None
        if self.period:
            values["period"] = _number_text(self.period)
            values["epoch"] = None if self.epoch is None else _number_text(self.epoch)
        values["time"] = None if self.time_axis == "date" else self.time_axis
        values["webgl"] = None if self.webgl is None else str(int(self.webgl))
        return {k: v for k, v in values.items() if v not in (None, "", [])}

    def query(self) -> str:
        """The URL-encoded query string of this view (what follows ``?``).

        Examples
        --------
        >>> ObjectRequest("A:1", ["A:2"], exclude=["novak"], saturated=True).query()
        'variable=A:1&comparison=A:2&exclude=novak&saturated=1'
        """
        return page_link("object.ipynb", self.params()).partition("?")[2]


def _aperture_text(aperture: int) -> str:
    return "auto" if aperture == AUTO else str(aperture)


def _number_text(value: float) -> str:
    """Short and exact enough: 10 significant digits keep an HJD epoch to 1e-3 s."""
    return f"{value:.12g}"


#: ``comparison=auto``: the page chooses the comparison stars (and a check star) itself.
AUTO_COMPARISON = "auto"


def parse_request(query_string: str | None = None) -> ObjectRequest:
    """Read the page's address (default ``$QUERY_STRING``).

    Raises
    ------
    ValueError
        When the variable or the comparison is missing or not ``CATALOG:ID``.

    Examples
    --------
    >>> r = parse_request("variable=UCAC4:805-031770&comparison=UCAC4:803-032417"
    ...                   "&exclude=novak&night_aperture=2021-11-06:3&period=0.936")
    >>> r.exclude, r.aperture.describe(), r.period
    (['novak'], 'auto; 2021-11-06: 3', 0.936)
    """
    params = query_params(query_string)
    variable = first(params, "variable")
    comparisons = [c.strip() for c in params.get("comparison", []) if c.strip()]
    if not variable or not comparisons:
        raise ValueError(
            "The address must name a variable star and a comparison star: "
            "object.ipynb?variable=CATALOG:ID&comparison=CATALOG:ID. "
            "Pick them on the search page."
        )
    if comparisons == [AUTO_COMPARISON]:
        comparisons = [AUTO_COMPARISON]  # chosen when the page opens (auto_comparison)
    for ref in [variable, *comparisons, *params.get("check", [])]:
        if ref != AUTO_COMPARISON:
            parse_object_ref(ref)
    period = _positive(first(params, "period"))
    time_axis = (first(params, "time") or "date").lower()
    return ObjectRequest(
        variable,
        comparisons,
        first(params, "check"),
        [e.strip() for e in params.get("exclude", []) if e.strip()],
        _flag(first(params, "webgl")),
        aperture=_choice(params, "aperture"),
        comparison_aperture=_choice(params, "comparison_aperture"),
        saturated=bool(_flag(first(params, "saturated"))),
        period=period,
        epoch=_finite(first(params, "epoch")) if period else None,
        time_axis=time_axis if time_axis in TIME_AXES else "date",
    )


def _flag(value: str | None) -> bool | None:
    return None if value is None else value.lower() in ("1", "true", "yes", "on")


def _aperture(value: str | None) -> int | None:
    """An aperture number from the address (0: ApAuto), None when unreadable."""
    try:
        number = ApertureChoice.parse(value).default if value is not None else None
    except (ValueError, OverflowError):
        return None
    return number if number is None or number <= MAX_APERTURE else None


def _choice(params: dict[str, list[str]], name: str) -> ApertureChoice:
    """``aperture=N`` and its ``night_aperture=YYYY-MM-DD:N`` items (unreadable ones left
    out: a shared address with a typo still opens the page)."""
    default = _aperture(first(params, name))
    nights: dict[dt.date, int] = {}
    for item in params.get(f"night_{name}", []):
        night, _, number = item.strip().partition(":")
        aperture = _aperture(number) if number.strip() else None
        try:
            day = dt.date.fromisoformat(night.strip())
        except ValueError:
            continue
        if aperture is not None:
            nights[day] = aperture
    return ApertureChoice(AUTO if default is None else default, nights)


def _finite(value: str | None) -> float | None:
    try:
        number = float(value) if value is not None else math.nan
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _positive(value: str | None) -> float | None:
    number = _finite(value)
    return number if number is not None and 0 < number <= MAX_PERIOD else None
