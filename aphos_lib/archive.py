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
from aphos_lib.lightcurve import LightCurve
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

    def search(
        self,
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
        """Find objects; every given filter must hold.

        Parameters
        ----------
        ra, dec : str, float or astropy Angle, optional
            Cone centre: ``"21 41 55.3"`` (RA in hours when sexagesimal) or degrees.
        radius : float, str or astropy Quantity, optional
            Cone radius: degrees, or with a unit (``"3arcmin"``); required with a position.
        coord : astropy.coordinates.SkyCoord, optional
            The cone centre as a SkyCoord, instead of ``ra``/``dec``.
        name : str, optional
            Case-insensitive part of the object's name.
        min_mag, max_mag : float, optional
            Catalogue magnitude range, inclusive.
        catalog : str, optional
            Catalogue, e.g. ``"UCAC4"``.
        catalog_id : str, optional
            Catalogue id, exact; a trailing ``*`` makes it a prefix.
        limit, offset : int
            The page of results.
        order : str, optional
            See :func:`aphos_lib.search.search_objects`.

        Returns
        -------
        aphos_lib.search.SearchResult
        """
        return search_objects(
            self.conn,
            ra=ra,
            dec=dec,
            radius=radius,
            coord=coord,
            name=name,
            min_mag=min_mag,
            max_mag=max_mag,
            catalog=catalog,
            catalog_id=catalog_id,
            limit=limit,
            offset=offset,
            order=order,
        )

    def object(self, ref) -> CatalogObject:
        """One object by ``"CATALOG:ID"``, ``(catalog, id)`` or a :class:`CatalogObject`."""
        return resolve_object(self.conn, ref)

    def catalogs(self) -> list[str]:
        """The catalogues the archive holds objects of."""
        return catalogs(self.conn)

    def observer(self, username: str) -> Observer:
        """An observer's public profile and totals."""
        return get_observer(self.conn, username)

    def lightcurve(
        self,
        variable,
        comparison,
        *,
        check=None,
        aperture="auto",
        comparison_aperture="auto",
        check_aperture=None,
        include_saturated: bool = False,
        observers=None,
        exclude_observers=None,
        as_of=None,
        with_apertures: bool = False,
    ) -> LightCurve:
        """The differential light curve of ``variable`` against ``comparison``.

        Parameters
        ----------
        variable : str, tuple or CatalogObject
            ``"UCAC4:805-031770"``, ``("UCAC4", "805-031770")`` or an object.
        comparison : object or list of objects
            The comparison star, or several (an ensemble: fluxes summed).
        check : object, optional
            A check star, against the same comparison.
        aperture, comparison_aperture, check_aperture : str, int or mapping
            ``"auto"`` (ApAuto), a number 1..N, or ``{night: aperture}``.
        include_saturated : bool
            Also the rows where a star is saturated (they have no magnitude).
        observers, exclude_observers : list of str, optional
            Keep only these observers, or leave these out.
        as_of : datetime or ISO string, optional
            Only data uploaded by then, to repeat an analysis exactly.
        with_apertures : bool
            Also every aperture's fluxes of each star.

        Returns
        -------
        aphos_lib.lightcurve.LightCurve

        See Also
        --------
        aphos_lib.photometry.differential_photometry : the same, given a connection.
        """
        return differential_photometry(
            self.conn,
            variable,
            comparison,
            check=check,
            aperture=aperture,
            comparison_aperture=comparison_aperture,
            check_aperture=check_aperture,
            include_saturated=include_saturated,
            observers=observers,
            exclude_observers=exclude_observers,
            as_of=as_of,
            with_apertures=with_apertures,
        )

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
