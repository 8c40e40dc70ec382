"""The archive as an analysis notebook sees it: one object, one-line calls.

>>> import aphos_lib
>>> archive = aphos_lib.connect()                       # doctest: +SKIP
>>> found = archive.search(name="GK Cep")                # doctest: +SKIP
>>> curve = found[0].lightcurve("UCAC4:803-032417")      # doctest: +SKIP
>>> curve = archive.lightcurve("UCAC4:805-031770", "UCAC4:803-032417")   # doctest: +SKIP
>>> calibrated = archive.lightcurve("UCAC4:805-031770")   # no comparison   # doctest: +SKIP

It connects as the read-only role: nothing done through it can change the catalogue. A
search's page indexes to :class:`Star` values: a catalogue object with the archive it came
from, so it makes its own light curve.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import psycopg

from aphos_lib.db.catalogue import Catalogue
from aphos_lib.lightcurve import LightCurve
from aphos_lib.observers import Observer, get_observer
from aphos_lib.photometry import differential_photometry
from aphos_lib.search import CatalogObject, SearchResult, catalogs, resolve_object, search_objects
from aphos_lib.stats import catalogue_stats
from aphos_lib.variable_finder import VariableCandidates, find_variables

__all__ = ["Archive", "Star", "Stars", "connect"]


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
        Stars
            The page (a :class:`aphos_lib.search.SearchResult`); ``found[0]`` is its first
            :class:`Star`.
        """
        found = search_objects(
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
        return Stars(**{f.name: getattr(found, f.name) for f in fields(found)}, archive=self)

    def object(self, ref) -> CatalogObject:
        """One object by ``"CATALOG:ID"``, ``(catalog, id)``, a :class:`CatalogObject` or a
        :class:`Star`."""
        return resolve_object(self.conn, _catalog_object(ref))

    def catalogs(self) -> list[str]:
        """The catalogues the archive holds objects of."""
        return catalogs(self.conn)

    def observer(self, username: str) -> Observer:
        """An observer's public profile and totals."""
        return get_observer(self.conn, username)

    def lightcurve(
        self,
        variable,
        comparison=None,
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
        """The light curve of ``variable``: calibrated, or against ``comparison``.

        Parameters
        ----------
        variable : str, tuple or CatalogObject
            ``"UCAC4:805-031770"``, ``("UCAC4", "805-031770")`` or an object.
        comparison : object or list of objects, optional
            The comparison star, or several (an ensemble: fluxes summed): a differential
            curve. Without one, calibrated magnitudes from each image's photometric solution
            (:func:`aphos_lib.calibrated_photometry.calibrated_photometry`; ``check`` and
            the comparison's apertures do not apply).
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
            _catalog_object(variable),
            _catalog_object(comparison),
            check=_catalog_object(check),
            aperture=aperture,
            comparison_aperture=comparison_aperture,
            check_aperture=check_aperture,
            include_saturated=include_saturated,
            observers=observers,
            exclude_observers=exclude_observers,
            as_of=as_of,
            with_apertures=with_apertures,
        )

    def variables(
        self, *, ra=None, dec=None, radius=None, coord=None, filter=None, min_points=10
    ) -> VariableCandidates:
        """A field's stars ranked by how much more than its noise they scatter.

        See :func:`aphos_lib.variable_finder.find_variables` for the parameters;
        ``found.ref(1)`` is the best candidate's ``CATALOG:ID``, ``found.plot()`` its scatter
        against magnitude.
        """
        return find_variables(
            self.conn,
            ra=ra,
            dec=dec,
            radius=radius,
            coord=coord,
            filter=filter,
            min_points=min_points,
        )

    def stats(self) -> dict[str, int]:
        """Counts of objects, images, fluxes and observers."""
        return catalogue_stats(self.conn)


class Star:
    """A catalogue object found in the archive: its catalogue data, and its light curve.

    Indexing a search's page gives one: ``archive.search(name="GK Cep")[0]``. Its catalogue
    fields (``label``, ``name``, ``ra_deg``, ``dec_deg``, ``mag``, ``n_fluxes`` ...) are those
    of its :class:`~aphos_lib.search.CatalogObject`, and it names the star wherever the
    archive takes one (a comparison, a check star).

    Attributes
    ----------
    object : aphos_lib.search.CatalogObject
        The catalogue's data.
    archive : Archive
        The archive it was found in, which makes its light curves.
    """

    __slots__ = ("archive", "object")

    def __init__(self, object: CatalogObject, archive: Archive):
        self.object = object
        self.archive = archive

    def __getattr__(self, name: str):
        if name in Star.__slots__:  # not set yet (a copy being made): no catalogue to ask
            raise AttributeError(name)
        return getattr(self.object, name)

    def __dir__(self) -> list[str]:
        return sorted({*object.__dir__(self), *dir(self.object)})

    def __eq__(self, other) -> bool:
        # The same star whichever way it was found: as a Star or as its catalogue object.
        if isinstance(other, Star):
            return self.object == other.object
        if isinstance(other, CatalogObject):
            return self.object == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.object)

    def __repr__(self) -> str:
        name = f" ({self.object.name})" if self.object.name else ""
        mag = "" if self.object.mag is None else f", {self.object.mag:.2f} mag"
        return f"<Star {self.object.label}{name}{mag}, {self.object.n_fluxes} fluxes>"

    def lightcurve(
        self,
        comparison=None,
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
        """This star's light curve: calibrated, or against ``comparison``.

        The same as ``archive.lightcurve(star, comparison, ...)``: see
        :meth:`Archive.lightcurve` for every parameter.

        Parameters
        ----------
        comparison : str, tuple, CatalogObject, Star or a list of them, optional
            The comparison star, or several (an ensemble: fluxes summed); without one,
            calibrated magnitudes.

        Returns
        -------
        aphos_lib.lightcurve.LightCurve
        """
        return self.archive.lightcurve(
            self.object,
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


@dataclass
class Stars(SearchResult):
    """One page of an archive search, whose items are :class:`Star` values.

    Everything a :class:`~aphos_lib.search.SearchResult` has (``frame``, ``total``,
    ``objects()``, ``to_table()`` ...); ``found[0]``, ``found[-1]``, ``found[:3]`` and
    iterating give stars that make their own light curves.
    """

    archive: Archive | None = field(default=None, repr=False, compare=False)

    def __getitem__(self, index: int | slice) -> Star | list[Star]:
        if self.archive is None:
            raise TypeError("a page without its archive cannot make stars")
        objects = self.objects()
        if isinstance(index, slice):
            return [Star(o, self.archive) for o in objects[index]]
        return Star(objects[index], self.archive)

    def __iter__(self):
        return iter(self[:])


def _catalog_object(ref):
    """A :class:`Star`'s catalogue object (in a list or tuple too); anything else as given."""
    if isinstance(ref, Star):
        return ref.object
    if isinstance(ref, list | tuple):
        return type(ref)(_catalog_object(r) for r in ref)
    return ref


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
