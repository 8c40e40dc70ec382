"""Finding catalogue objects: cone, name, magnitude range, catalogue and catalogue id.

Every filter combines with the others. Results are ordered by distance for a cone, else by
catalogue and id, and paged (``limit``, ``offset``) with the total number of matches, so
nothing is silently cut at 100 as in the original APhoS. Each object carries its number of
fluxes, which the ingest maintains: a search never counts fluxes.

This module reads the arguments and shapes the results; the statements, and how a cone is
found fast with the position index, are in :mod:`aphos_lib.queries.objects`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import psycopg

from aphos_lib.coordinates import parse_radius, sky_position
from aphos_lib.name_resolution import NameNotResolved, ResolvedName, resolve_name
from aphos_lib.queries import objects
from aphos_lib.queries.objects import ORDERS, ObjectFilter, cone_boxes
from aphos_lib.settings import NameResolution

__all__ = [
    "MAX_PAGING",
    "ORDERS",
    "CatalogObject",
    "ObjectNotFound",
    "SearchResult",
    "catalogs",
    "get_object",
    "parse_object_ref",
    "cone_boxes",
    "resolve_object",
    "resolve_objects",
    "search_objects",
]

# The largest limit or offset a search takes: PostgreSQL's LIMIT and OFFSET are bigint.
MAX_PAGING = 2**63 - 1

# The columns of a search's rows (aphos_lib.queries.objects.search), as the frame names them.
COLUMNS = [
    "object_id",
    "catalog",
    "catalog_id",
    "name",
    "ra_deg",
    "dec_deg",
    "mag",
    "bv",
    "jk",
    "n_fluxes",
    "star",
    "identifiers",
]
_UNITS = {
    "ra_deg": "deg",
    "dec_deg": "deg",
    "mag": "mag",
    "bv": "mag",
    "jk": "mag",
    "distance_deg": "deg",
}


class ObjectNotFound(LookupError):
    """No catalogue object with that catalogue and id."""


@dataclass(frozen=True)
class CatalogObject:
    """A catalogue star as the archive knows it.

    ``ra_deg``/``dec_deg`` are the catalogue's position (ICRS, degrees), ``mag``, ``bv`` and
    ``jk`` the catalogue's magnitude and colours, ``n_fluxes`` the number of fluxes stored.
    """

    id: int
    catalog: str
    catalog_id: str
    name: str | None
    ra_deg: float
    dec_deg: float
    mag: float | None
    bv: float | None
    jk: float | None
    n_fluxes: int
    star: int | None = None
    identifiers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "identifiers", tuple(self.identifiers or ()))

    @property
    def label(self) -> str:
        """``CATALOG:ID``, the form the CLI and downloads use."""
        return f"{self.catalog}:{self.catalog_id}"

    def to_dict(self) -> dict[str, Any]:
        """The object as JSON-ready values (the internal id left out)."""
        return {
            "catalog": self.catalog,
            "catalog_id": self.catalog_id,
            "name": self.name,
            "ra_deg": self.ra_deg,
            "dec_deg": self.dec_deg,
            "mag": self.mag,
            "bv": self.bv,
            "jk": self.jk,
            "n_fluxes": self.n_fluxes,
            "star": self.star,
            "identifiers": list(self.identifiers),
        }


@dataclass
class SearchResult:
    """One page of a search: the objects, and how many match in all.

    ``frame`` is a pandas DataFrame with units in its column names (``ra_deg``, ``mag``,
    ``distance_deg`` for a cone); ``total`` counts every match, not just this page.
    ``resolved`` is set when the name searched for is no stored object's: the position CDS
    Sesame gave for it, around which the page's objects were found.
    """

    frame: pd.DataFrame
    total: int
    limit: int
    offset: int
    resolved: ResolvedName | None = None

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def has_more(self) -> bool:
        """Whether pages after this one hold more matches."""
        return self.offset + len(self.frame) < self.total

    def to_pandas(self) -> pd.DataFrame:
        """The page as a DataFrame (a copy)."""
        return self.frame.copy()

    def to_table(self):
        """The page as an astropy Table with units, the total in its ``meta``."""
        from astropy.table import Table

        table = Table.from_pandas(self.frame, units=_units(self.frame))
        table.meta.update(total=self.total, limit=self.limit, offset=self.offset)
        return table

    def objects(self) -> list[CatalogObject]:
        """The page's objects as :class:`CatalogObject` values."""
        return [_object(row) for row in self.frame[COLUMNS].itertuples(index=False)]

    def _repr_html_(self) -> str:
        shown = f"{self.offset + 1}-{self.offset + len(self.frame)}" if len(self.frame) else "0"
        return f"<p>{shown} of {self.total} objects</p>" + self.frame.to_html(index=False)


def _units(frame: pd.DataFrame) -> dict[str, str]:
    return {c: u for c, u in _UNITS.items() if c in frame.columns}


def _object(row) -> CatalogObject:
    # Rows from a DataFrame carry NaN where the database had NULL.
    return CatalogObject(*(None if isinstance(v, float) and math.isnan(v) else v for v in row))


def parse_object_ref(ref: str) -> tuple[str, str]:
    """Split ``CATALOG:ID`` (e.g. ``UCAC4:805-031770``) into catalogue and id.

    Examples
    --------
    >>> parse_object_ref("UCAC4:805-031770")
    ('UCAC4', '805-031770')
    """
    catalog, sep, catalog_id = ref.partition(":")
    if not sep or not catalog.strip() or not catalog_id.strip():
        raise ValueError(f"{ref!r} is not an object like 'UCAC4:805-031770' (CATALOG:ID)")
    return catalog.strip(), catalog_id.strip()


def get_object(conn: psycopg.Connection, catalog: str, catalog_id: str) -> CatalogObject:
    """The catalogue object with this catalogue and id.

    The catalogue's name is matched regardless of case (``ucac4`` finds ``UCAC4``).

    Raises
    ------
    ObjectNotFound
        When the archive holds no such object.
    """
    row = objects.by_catalog_id(catalog.strip(), catalog_id.strip()).one(conn)
    if row is None:  # perhaps the catalogue's name in another case
        row = objects.by_catalog_id(_catalog_name(conn, catalog), catalog_id.strip()).one(conn)
    if row is None:
        raise ObjectNotFound(f"no object {catalog}:{catalog_id} in the catalogue")
    return _object(row)


def resolve_object(conn: psycopg.Connection, ref) -> CatalogObject:
    """An object from any of the ways it can be named.

    ``ref`` is a :class:`CatalogObject` (returned as is), a ``"CATALOG:ID"`` string such as
    ``"UCAC4:805-031770"``, or a ``(catalog, catalog_id)`` pair.
    """
    if isinstance(ref, CatalogObject):
        return ref
    if isinstance(ref, str):
        return get_object(conn, *parse_object_ref(ref))
    if isinstance(ref, tuple | list) and len(ref) == 2:
        return get_object(conn, str(ref[0]), str(ref[1]))
    raise TypeError(f"cannot name an object with {ref!r}: use 'CATALOG:ID' or (catalog, id)")


def resolve_objects(conn: psycopg.Connection, refs) -> list[CatalogObject]:
    """Several objects, named in any of the ways :func:`resolve_object` takes, in one query.

    Raises
    ------
    ObjectNotFound
        When the archive holds one of them under no catalogue name of any case.
    """
    pairs = {}
    for k, ref in enumerate(refs):
        if isinstance(ref, str):
            pairs[k] = parse_object_ref(ref)
        elif isinstance(ref, tuple | list) and len(ref) == 2:
            pairs[k] = (str(ref[0]).strip(), str(ref[1]).strip())
    found = {}
    if pairs:
        keys = list(pairs)
        for row in objects.by_catalog_ids([pairs[k] for k in keys]).rows(conn):
            found[keys[row[-1] - 1]] = _object(row[:-1])
    # The rest one by one: objects given as such, and names that need another look (the
    # catalogue's name in another case) or are unknown (a clear error).
    return [found[k] if k in found else resolve_object(conn, ref) for k, ref in enumerate(refs)]


def catalogs(conn: psycopg.Connection) -> list[str]:
    """The catalogues the archive holds objects of, sorted (e.g. ``['UCAC4', 'USNO-B1.0']``).

    Read by skipping through the (catalogue, id) index, one probe per catalogue, so it stays
    instant with any number of objects.
    """
    return [r[0] for r in objects.catalogs().rows(conn)]


def _catalog_name(conn: psycopg.Connection, catalog: str) -> str:
    """The stored spelling of a catalogue name given in any case."""
    wanted = catalog.strip()
    for known in catalogs(conn):
        if known.lower() == wanted.lower():
            return known
    return wanted


def search_objects(
    conn: psycopg.Connection,
    *,
    ra=None,
    dec=None,
    radius=None,
    coord=None,
    name: str | None = None,
    min_mag: float | None = None,
    max_mag: float | None = None,
    catalog: str | None = None,
    catalog_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
    order: str | None = None,
) -> SearchResult:
    """Search the catalogue; every given filter must hold.

    Parameters
    ----------
    conn : psycopg.Connection
        A connection to the catalogue (the read-only role is enough).
    ra, dec : str, float or astropy Angle, optional
        Cone centre as observers type it: ``"21 41 55.3"``, ``"21:41:55.3"`` or
        ``"21h41m55.3s"`` (RA in hours when sexagesimal), or decimal degrees.
    radius : float, str or astropy Quantity, optional
        Cone radius: degrees, or a string with a unit (``"3arcmin"``, ``"20arcsec"``).
        Required with a position.
    coord : astropy.coordinates.SkyCoord, optional
        The cone centre as a SkyCoord, instead of ``ra``/``dec``.
    name : str, optional
        Case-insensitive substring of the object's name. When no stored name matches (and
        no cone is given), the name is resolved by CDS Sesame and the objects within
        ``APHOS_NAME_CONE_ARCSEC`` (10") of its position are found instead
        (``SearchResult.resolved`` says so); :mod:`aphos_lib.name_resolution` raises a
        ``ValueError`` when Sesame cannot be reached.
    min_mag, max_mag : float, optional
        Catalogue magnitude range, inclusive.
    catalog : str, optional
        Catalogue name (any case), e.g. ``"UCAC4"``.
    catalog_id : str, optional
        Catalogue id, exact; a trailing ``*`` makes it a prefix (``"805-03*"``).
    limit, offset : int
        The page: at most ``limit`` objects (default 100) after skipping ``offset``.
    order : str, optional
        Sort by ``mag``, ``name``, ``catalog``, ``catalog_id``, ``ra``, ``dec``,
        ``n_fluxes`` or (for a cone) ``distance``; a leading ``-`` sorts descending.
        Default: distance for a cone, else catalogue and id.

    Returns
    -------
    SearchResult
        The page and the total number of matches.

    Examples
    --------
    >>> search_objects(conn, ra="21 41 55.3", dec="+71 18 38.6", radius="5arcmin")  # doctest: +SKIP
    """
    if limit < 0 or offset < 0:
        raise ValueError("limit and offset must not be negative")
    if max(limit, offset) > MAX_PAGING:  # PostgreSQL's bigint would refuse it, unexplained
        raise ValueError(f"limit and offset must be at most {MAX_PAGING:,}")
    if min_mag is not None and max_mag is not None and min_mag > max_mag:
        raise ValueError(f"min_mag {min_mag} is above max_mag {max_mag}")
    cone = None
    if coord is not None or ra is not None or dec is not None:
        if radius is None:
            raise ValueError("a cone search needs a radius")
        cone = (*sky_position(ra, dec, coord), parse_radius(radius))
    elif radius is not None:
        raise ValueError("a radius needs a position (ra and dec, or coord)")
    where = ObjectFilter(
        cone=cone,
        name=name,
        min_mag=min_mag,
        max_mag=max_mag,
        catalog=_catalog_name(conn, catalog) if catalog else None,
        catalog_id=catalog_id,
    )
    page, total = _page(conn, where, limit, offset, order)
    if total == 0 and cone is None and name and name.strip():
        if (around := _search_around_name(conn, where, limit, offset, order)) is not None:
            return around
    return SearchResult(_frame(page, cone is not None), total, limit, offset)


def _search_around_name(
    conn, where: ObjectFilter, limit: int, offset: int, order: str | None
) -> SearchResult | None:
    """The search in the cone around the position CDS Sesame gives for ``where.name``, a
    name no stored object carries; None when stored names match it (the other filters left
    them out) or when Sesame does not know the name either."""
    alone = ObjectFilter(name=where.name)
    if where != alone and objects.search(alone, limit=1, offset=0).rows(conn):
        return None
    settings = NameResolution.from_environment()
    try:
        found = resolve_name(conn, where.name, settings=settings)
    except NameNotResolved:
        return None
    cone = (found.ra_deg, found.dec_deg, settings.cone_arcsec / 3600.0)
    around = replace(where, name=None, cone=cone)
    page, total = _page(conn, around, limit, offset, order)
    return SearchResult(_frame(page, True), total, limit, offset, resolved=found)


# Each column's type, fixed rather than inferred from the page: a page whose stars all lack a
# B-V would otherwise get an object column of None instead of floats with NaN.
_KINDS = {
    "object_id": "int",
    "catalog": "str",
    "catalog_id": "str",
    "name": "str",
    "ra_deg": "float",
    "dec_deg": "float",
    "mag": "float",
    "bv": "float",
    "jk": "float",
    "n_fluxes": "int",
    "star": "int",
    "identifiers": "list",
    "distance_deg": "float",
}


def _frame(page: list[tuple], cone: bool) -> pd.DataFrame:
    """The page as a DataFrame with the same column types whatever it holds (even nothing)."""
    names = COLUMNS + (["distance_deg"] if cone else [])
    columns = list(zip(*page, strict=True)) if page else [()] * len(names)
    data = {}
    for name, values in zip(names, columns, strict=True):
        kind = _KINDS[name]
        if kind == "str":
            data[name] = pd.array(values, dtype="str")
        elif kind == "float":
            data[name] = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        elif kind == "list":
            data[name] = pd.Series([list(v or ()) for v in values], dtype=object)
        else:
            data[name] = np.array(values, dtype=np.int64)
    return pd.DataFrame(data, copy=False)


def _page(
    conn, where: ObjectFilter, limit: int, offset: int, order: str | None
) -> tuple[list[tuple], int]:
    """One page of the stars that match, and how many match in all."""
    if where.cone is None or not limit:
        page = objects.search(where, limit=limit, offset=offset, order=order).rows(conn)
        return page, _total(conn, where, page, limit, offset)
    # A cone's matches are all read to sort them by distance: counted in the same statement.
    rows = objects.search(where, limit=limit, offset=offset, order=order, counted=True).rows(conn)
    if not rows and offset:
        return rows, objects.count(where).value(conn)  # a page past the last match
    return [row[:-1] for row in rows], rows[0][-1] if rows else 0


def _total(conn, where: ObjectFilter, page, limit: int, offset: int) -> int:
    """How many objects match in all, counting only when the page cannot tell."""
    if limit and (0 < len(page) < limit or (not page and offset == 0)):
        return offset + len(page)  # the page holds the last match
    return objects.count(where).value(conn)
