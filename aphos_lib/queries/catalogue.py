"""The catalogue as a whole: what it holds."""

from __future__ import annotations

from aphos_lib.queries.query import Query

__all__ = ["totals"]


def totals() -> Query:
    """One row: objects, images, fluxes and observers in the catalogue.

    The objects' count is the maintained total (``catalogue_totals``), the fluxes the sum of
    the images' counts: nothing is counted row by row.

    Examples
    --------
    >>> "catalogue_totals" in totals().text()
    True
    """
    return Query(
        """
        SELECT (SELECT objects FROM catalogue_totals),
               (SELECT count(*) FROM image),
               (SELECT coalesce(sum(flux_count), 0) FROM image),
               (SELECT count(*) FROM observer)
        """
    )
