"""Readers of photometry exports: one reader per dialect, one canonical frame out.

Each reader returns an object with the file's header, its rows in the canonical columns of
:data:`aphos_lib.io.sips.CANONICAL_COLUMNS` and its rejected rows. SIPS is the dialect APhoS
observers use today; another export (AAVSO extended format, say) plugs in beside it here.

Examples
--------
>>> from aphos_lib.io import READERS
>>> sorted(READERS)
['sips']
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from aphos_lib.io.sips import CANONICAL_COLUMNS, RejectedRow, SipsFile, SipsFormatError, read_sips

#: Reader per dialect name.
READERS: dict[str, Callable[..., Any]] = {"sips": read_sips}


def read_photometry(source: str | Path | bytes, dialect: str = "sips", **options: Any) -> Any:
    """Read a photometry export with the reader registered for ``dialect``.

    This is ``aphos_lib.read``.

    Parameters
    ----------
    source : str, Path or bytes
        A path, or the file's content.
    dialect : str
        The export's format; ``"sips"`` (see :data:`READERS`).
    **options
        Passed to the reader, e.g. ``encoding=`` (see :func:`aphos_lib.io.sips.read_sips`).

    Returns
    -------
    SipsFile
        The header, the rows as the canonical frame (``.rows``, ``.to_pandas()``) and the
        rejected rows with their line numbers.
    """
    try:
        reader = READERS[dialect]
    except KeyError:
        raise ValueError(
            f"no reader for {dialect!r}; known dialects: {', '.join(sorted(READERS))}"
        ) from None
    return reader(source, **options)


__all__ = [
    "CANONICAL_COLUMNS",
    "READERS",
    "RejectedRow",
    "SipsFile",
    "SipsFormatError",
    "read_photometry",
    "read_sips",
]
