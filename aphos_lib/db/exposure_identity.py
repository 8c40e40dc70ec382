"""The identity of an exposure: what makes two files the same image, however they are encoded.

An observer who sends an image again (re-exported with other line ends, a BOM, another text
encoding, a blank line more at the end) sends the same exposure in other bytes. The image table
is therefore unique per observer on :func:`exposure_identity`, a SHA-256 of what was read, not
of the bytes: the exposure's begin and end, its filter, its number of apertures and rows, and
every value of every row in the canonical frame, column by column. The row's line number is
left out (it says where a value was written, not what was measured), and so is the rest of the
header, which is kept as written.

The values are hashed in their PostgreSQL binary form (big-endian, a missing float as NaN,
text as UTF-8 preceded by the lengths, -1 for a missing one), so that migration 0011 computes
the same identity in SQL from the stored rows of the images that existed before it
(:data:`aphos_lib.queries.ingest.STORED_IDENTITY`; the migration keeps its own copy, as
migrations do).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aphos_lib.queries.ingest import IDENTITY_FLOAT_COLUMNS, IDENTITY_TEXT_COLUMNS

__all__ = ["TEXT_COLUMNS", "FLOAT_COLUMNS", "exposure_identity"]

# The values an identity covers, in order; the stored images' identity is computed by SQL
# from the same list (aphos_lib.queries.ingest.STORED_IDENTITY).
TEXT_COLUMNS = IDENTITY_TEXT_COLUMNS
FLOAT_COLUMNS = IDENTITY_FLOAT_COLUMNS
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def exposure_identity(
    begin: datetime, end: datetime, filter_name: str | None, apertures: int, rows: pa.Table
) -> bytes:
    """The SHA-256 that identifies an exposure among its observer's images.

    Parameters
    ----------
    begin, end : datetime
        The exposure's begin and end (timezone-aware).
    filter_name : str or None
        The filter as stored (the ``Filter`` header, stripped; None when absent or empty).
    apertures : int
        The number of numbered apertures.
    rows : pyarrow.Table
        Every row read from the file, in file order, in canonical columns
        (:data:`aphos_lib.io.sips.CANONICAL_COLUMNS` and ``ap1`` ... ``apN``).

    Returns
    -------
    bytes
        32 bytes.

    Examples
    --------
    >>> from aphos_lib.io.sips import read_sips
    >>> head = b"ExposureBegin;2021-11-06T16:27:45\\nExposureEnd;2021-11-06T16:29:15\\n"
    >>> table = b"Name;RA;Dec;ApAuto\\n;21 41 55.3;+71 18 38.6;100.5\\n"
    >>> def identity(data):
    ...     s = read_sips(data)
    ...     return exposure_identity(s.exposure_begin, s.exposure_end, None, 0, s.rows)
    >>> identity(head + table) == identity((head + table).replace(b"\\n", b"\\r\\n") + b"\\n")
    True
    >>> identity(head + table) == identity(head + table.replace(b"100.5", b"100.6"))
    False
    """
    n = rows.num_rows
    digest = hashlib.sha256()
    digest.update(_be((begin - _EPOCH) // _MICROSECOND, ">i8"))
    digest.update(_be((end - _EPOCH) // _MICROSECOND, ">i8"))
    digest.update(_be(apertures, ">i4") + _be(n, ">i8"))
    for part in _texts(pa.array([filter_name], pa.string())):
        digest.update(part)
    for name in TEXT_COLUMNS:
        for part in _texts(rows[name]):
            digest.update(part)
    for name in FLOAT_COLUMNS:
        digest.update(_floats(rows[name]))
    digest.update(_flags(rows["ap_auto_saturated"]))
    for suffix in ("", "_dev"):
        for k in range(1, apertures + 1):
            digest.update(_floats(rows[f"ap{k}{suffix}"]))
    for k in range(1, apertures + 1):
        digest.update(_flags(rows[f"ap{k}_saturated"]))
    return digest.digest()


def _be(value: int, kind: str) -> bytes:
    return np.array(value, dtype=kind).tobytes()


def _floats(column: pa.ChunkedArray) -> bytes:
    values = np.asarray(column.to_numpy(), dtype=np.float64)  # nulls as NaN
    nan = np.isnan(values)
    if nan.any():
        values = np.where(nan, np.nan, values)  # one NaN, as float8send('NaN') writes it
    return values.astype(">f8").tobytes()


def _flags(column: pa.ChunkedArray) -> bytes:
    return np.asarray(column.to_numpy(), dtype=np.uint8).tobytes()


def _texts(column: pa.ChunkedArray | pa.Array) -> tuple[bytes, memoryview | bytes]:
    """The lengths (-1 for a missing text) and the UTF-8 bytes of a text column."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    missing = column.is_null().to_numpy(zero_copy_only=False)
    if column.null_count:
        column = pc.fill_null(column, "")
    offsets = np.frombuffer(column.buffers()[1], dtype=np.int32)
    offsets = offsets[column.offset : column.offset + len(column) + 1]
    lengths = np.diff(offsets).astype(">i4")
    lengths[missing] = -1
    data = column.buffers()[2]
    text = b"" if data is None else memoryview(data)[offsets[0] : offsets[-1]]
    return lengths.tobytes(), text
