"""Images: one CCD exposure each, with its header values."""

from __future__ import annotations

from collections.abc import Iterable

from aphos_lib.queries.query import Query

__all__ = ["aperture_counts"]


def aperture_counts(image_ids: Iterable[int]) -> Query:
    """``(image id, apertures)`` of these images: how many apertures SIPS measured (1..N).

    Examples
    --------
    >>> aperture_counts([3, 1]).params
    ([3, 1],)
    """
    return Query(
        "SELECT id, apertures FROM image WHERE id = ANY(%s)", ([int(i) for i in image_ids],)
    )
