"""A search as its address: the search page's parameters, checked, and the links it makes.

Pure functions and one dataclass, so the whole search page's logic is testable without a
browser: :class:`SearchQuery` reads the page's query parameters, :meth:`SearchQuery.validate`
turns them into :func:`aphos_lib.search.search_objects` arguments and per-field messages,
:meth:`SearchQuery.params` writes them back for the shareable link.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace

from aphos_lib.coordinates import format_dec, format_ra, parse_dec, parse_ra, parse_radius
from aphos_lib.search import ORDERS, SearchResult, parse_object_ref
from aphos_lib.widgets.urls import first, page_link

__all__ = ["DEFAULT_RADIUS", "PAGE_SIZE", "SearchQuery", "object_link", "page_label", "result_rows"]

PAGE_SIZE = 100
DEFAULT_RADIUS = "5arcmin"
# Search fields, in the order of the form and of the address.
FILTERS = ("ra", "dec", "radius", "name", "min_mag", "max_mag", "catalog", "id")


@dataclass(frozen=True)
class SearchQuery:
    """What the search form holds, as typed (strings), plus the page, order and picks.

    ``variable``, ``comparison`` (a list; more than one for an ensemble) and ``check`` are
    objects picked from the results, as ``CATALOG:ID``.
    """

    ra: str = ""
    dec: str = ""
    radius: str = ""
    name: str = ""
    min_mag: str = ""
    max_mag: str = ""
    catalog: str = ""
    id: str = ""
    sort: str = ""
    offset: int = 0
    variable: str = ""
    comparison: tuple[str, ...] = field(default_factory=tuple)
    check: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, list[str]]) -> SearchQuery:
        """The query in a page address (see :func:`aphos_lib.widgets.urls.query_params`).

        Examples
        --------
        >>> SearchQuery.from_params({"name": ["GK Cep"], "offset": ["100"]}).offset
        100
        """
        values = {f.name: first(params, f.name, "") for f in fields(cls)}
        try:
            offset = max(int(values["offset"] or 0), 0)
        except ValueError:
            offset = 0
        refs = tuple(v.strip() for v in params.get("comparison", []) if v.strip())
        return cls(**{**values, "offset": offset, "comparison": refs})

    def searching(self) -> bool:
        """Whether the address asks for a search (any filter given, or a later page)."""
        return any(getattr(self, name) for name in FILTERS) or self.offset > 0

    def params(self, *, picks: bool = True) -> dict[str, object]:
        """The query parameters of this search (empty fields left out), for a link.

        Examples
        --------
        >>> SearchQuery(name="GK", offset=0).params()
        {'name': 'GK'}
        """
        values = {name: getattr(self, name) for name in FILTERS}
        if not (self.ra or self.dec):
            values["radius"] = ""
        values.update(sort=self.sort, offset=self.offset or None)
        if picks:
            values.update(
                variable=self.variable, comparison=list(self.comparison), check=self.check
            )
        return {k: v for k, v in values.items() if v not in ("", None, [])}

    def link(self) -> str:
        """The relative address of this search, picks included (``search.ipynb?...``)."""
        return page_link("search.ipynb", self.params())

    def with_changes(self, **changes) -> SearchQuery:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def validate(self) -> tuple[dict[str, object], dict[str, str]]:
        """The ``search_objects`` arguments, and a message for each field that is wrong.

        A position needs both RA and Dec; the radius defaults to ``DEFAULT_RADIUS``.

        Examples
        --------
        >>> SearchQuery(ra="21 41 55.3", dec="+71 18 38.6").validate()[0]["radius"]
        0.08333333333333333
        >>> SearchQuery(ra="25 00 00", dec="10").validate()[1]
        {'ra': "'25 00 00': right ascension must be below 24 h"}
        """
        args: dict[str, object] = {"limit": PAGE_SIZE, "offset": self.offset}
        errors: dict[str, str] = {}
        if self.ra or self.dec or self.radius:
            for name, parse in (("ra", parse_ra), ("dec", parse_dec)):
                value = getattr(self, name)
                if not value:
                    errors[name] = "a cone needs both RA and Dec"
                    continue
                try:
                    args[name] = parse(value)
                except ValueError as error:
                    errors[name] = str(error)
            try:
                args["radius"] = parse_radius(self.radius or DEFAULT_RADIUS)
            except ValueError as error:
                errors["radius"] = str(error)
        for name in ("min_mag", "max_mag"):
            value = getattr(self, name)
            if value:
                try:
                    args[name] = float(value)
                    if not math.isfinite(args[name]):
                        raise ValueError
                except ValueError:
                    errors[name] = f"{value!r} is not a magnitude (a number such as 12.5)"
        if "min_mag" in args and "max_mag" in args and args["min_mag"] > args["max_mag"]:
            errors["max_mag"] = "the faint limit must not be brighter than the bright limit"
        if self.name:
            args["name"] = self.name
        if self.catalog:
            args["catalog"] = self.catalog
        if self.id:
            args["catalog_id"] = self.id
        if self.sort:
            key = self.sort.lstrip("-")
            if key not in ORDERS or (key == "distance" and "ra" not in args):
                errors["sort"] = f"cannot sort by {self.sort!r}"
            else:
                args["order"] = self.sort
        for name in ("variable", "check", *(["comparison"] * bool(self.comparison))):
            for ref in self.comparison if name == "comparison" else [getattr(self, name)]:
                if ref:
                    try:
                        parse_object_ref(ref)
                    except ValueError as error:
                        errors[name] = str(error)
        return args, errors


def object_link(variable: str, comparison, check: str = "") -> str | None:
    """The object page's relative address, once a variable and a comparison are picked.

    Examples
    --------
    >>> object_link("UCAC4:1-2", ["UCAC4:1-3"])
    'object.ipynb?variable=UCAC4:1-2&comparison=UCAC4:1-3'
    >>> object_link("UCAC4:1-2", []) is None
    True
    """
    if not variable or not comparison:
        return None
    return page_link(
        "object.ipynb", {"variable": variable, "comparison": list(comparison), "check": check}
    )


def page_label(result: SearchResult) -> str:
    """Where this page lies among all matches: ``showing 101-200 of 2,345``.

    Examples
    --------
    >>> import pandas as pd
    >>> page_label(SearchResult(pd.DataFrame({"a": range(100)}), 2345, 100, 100))
    'showing 101-200 of 2,345'
    """
    if not len(result):
        return f"no objects match (of {result.total:,})" if result.offset else "no objects match"
    return f"showing {result.offset + 1:,}-{result.offset + len(result):,} of {result.total:,}"


# (heading, sort key) of the results table's columns.
COLUMNS = [
    ("Name", "name"),
    ("Catalogue", "catalog"),
    ("Id", "catalog_id"),
    ("RA", "ra"),
    ("Dec", "dec"),
    ("Mag", "mag"),
    ("Fluxes", "n_fluxes"),
    ("Distance", "distance"),
]


def _also_known_as(row) -> str:
    """The leading catalogue id, then the star's other catalogues' names of it."""
    others = [
        i for i in getattr(row, "identifiers", None) or () if i != f"{row.catalog} {row.catalog_id}"
    ]
    return row.catalog_id + (f" (= {', '.join(others)})" if others else "")


def result_rows(result: SearchResult) -> list[dict[str, str]]:
    """The page's rows as the table shows them: RA and Dec sexagesimal, the distance in
    arcminutes (cones only), the ``CATALOG:ID`` ref for picking.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"catalog": ["UCAC4"], "catalog_id": ["805-031770"],
    ...     "name": ["GK Cep"], "ra_deg": [322.7464583], "dec_deg": [70.8232167],
    ...     "mag": [7.1], "n_fluxes": [42]})
    >>> result_rows(SearchResult(frame, 1, 100, 0))[0]["RA"]
    '21:30:59.15'
    """
    rows = []
    for r in result.frame.itertuples(index=False):
        distance = getattr(r, "distance_deg", None)
        rows.append(
            {
                "ref": f"{r.catalog}:{r.catalog_id}",
                "Name": r.name if isinstance(r.name, str) else "",
                "Catalogue": r.catalog,
                "Id": _also_known_as(r),
                "RA": format_ra(r.ra_deg, "colon", 2),
                "Dec": format_dec(r.dec_deg, "colon", 1),
                "Mag": "" if r.mag is None or math.isnan(r.mag) else f"{r.mag:.2f}",
                "Fluxes": f"{int(r.n_fluxes):,}",
                "Distance": "" if distance is None else f"{distance * 60:.2f}'",
            }
        )
    return rows
