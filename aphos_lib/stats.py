"""What the catalogue holds, in numbers."""

from __future__ import annotations

import psycopg

from aphos_lib import queries

__all__ = ["catalogue_stats"]


def catalogue_stats(conn: psycopg.Connection) -> dict[str, int]:
    """Counts of catalogue objects, images, fluxes and observers.

    Objects come from the maintained total and fluxes are summed from each image's stored
    count rather than counted row by row, so this stays instant at tens of millions of fluxes.

    Examples
    --------
    >>> catalogue_stats(conn)  # doctest: +SKIP
    {'objects': 1987, 'images': 4, 'fluxes': 2916, 'observers': 1}
    """
    row = queries.catalogue.totals().one(conn)
    return dict(zip(("objects", "images", "fluxes", "observers"), map(int, row), strict=True))
