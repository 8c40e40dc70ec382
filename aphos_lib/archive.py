"""The archive as an analysis notebook sees it: one object, one-line calls.

>>> import aphos_lib
>>> archive = aphos_lib.connect()                       # doctest: +SKIP
>>> archive.search(name="GK Cep")                        # doctest: +SKIP
>>> curve = archive.lightcurve("UCAC4:805-031770", "UCAC4:803-032417")   # doctest: +SKIP

It connects as the read-only role: nothing done through it can change the catalogue.
"""

from __future__ import annotations

import psycopg

from aphos_lib.db.catalogue import Catalogue
from aphos_lib.observers import Observer, get_observer
from aphos_lib.photometry import differential_photometry
from aphos_lib.search import CatalogObject, SearchResult, catalogs, resolve_object, search_objects
from aphos_lib.stats import catalogue_stats

__all__ = ["Archive", "connect"]


class Archive:
    """Search the catalogue and make light curves over one read-only connection.

    Parameters
    ----------
    conn : psycopg.Connection
        A connection to the catalogue; :func:`connect` makes one for the reader role.
    """

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def search(self, **filters) -> SearchResult:
        """Find objects; see :func:`aphos_lib.search.search_objects` for the filters."""
        return search_objects(self.conn, **filters)

    def object(self, ref) -> CatalogObject:
        """One object by ``"CATALOG:ID"``, ``(catalog, id)`` or a :class:`CatalogObject`."""
        return resolve_object(self.conn, ref)

    def catalogs(self) -> list[str]:
        """The catalogues the archive holds objects of."""
        return catalogs(self.conn)

    def observer(self, username: str) -> Observer:
        """An observer's public profile and totals."""
        return get_observer(self.conn, username)

    def lightcurve(self, variable, comparison, **options):
        """Differential photometry; see :func:`aphos_lib.photometry.differential_photometry`."""
        return differential_photometry(self.conn, variable, comparison, **options)

    def stats(self) -> dict[str, int]:
        """Counts of objects, images, fluxes and observers."""
        return catalogue_stats(self.conn)


def connect(url: str | None = None) -> Archive:
    """Open the archive read-only.

    Parameters
    ----------
    url : str, optional
        A libpq URL to connect with. By default the reader role of the catalogue configured
        by the environment: ``APHOS_DATABASE_URL_READER``/``APHOS_DATABASE_URL``, else the
        embedded catalogue under ``$APHOS_HOME`` (started when needed).
    """
    if url is None:
        url = Catalogue.from_environment().conninfo("reader")
    conn = psycopg.connect(url, autocommit=True)
    return Archive(conn)
