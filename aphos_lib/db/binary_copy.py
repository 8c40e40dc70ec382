"""PostgreSQL binary COPY payloads built from numpy columns, without a Python loop per row.

PostgreSQL reads binary COPY about twice as fast as text here (no float parsing on the server:
about 230,000 flux rows/s against 130,000), and building the stream row by row in Python would
cost more than the server's work.

In the binary format a value is a 4-byte length followed by its bytes, and a NULL is just the
length -1. The encoder lays every row out at full width in one preallocated byte matrix (a few
numpy slice assignments per column), marks the bytes that a NULL or a shorter text does not
have, and takes ``matrix[keep]``: numpy's boolean indexing walks the rows in order, which is
exactly the row-major layout of the COPY stream. About 2 ms for a 2,671-row SIPS file.

Format: https://www.postgresql.org/docs/current/sql-copy.html (Binary Format) and the array
wire format of ``array_recv`` (ndim, has-null flag, element type oid, then per dimension its
length and lower bound, then each element as a length and its bytes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Field", "bool_array", "boolean", "encode", "float8", "float8_array", "int4", "int8",
           "text"]  # fmt: skip

_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_TRAILER = b"\xff\xff"
_OID_BOOL = 16
_OID_FLOAT8 = 701


@dataclass(frozen=True)
class Field:
    """A column: values with their wire type (e.g. ``>f8``) and where they are NULL.

    ``values`` is (n,) for a scalar column, or (n, k) for a one-dimensional array column of
    k elements per row (``array_oid`` set). ``null`` has the same shape (None: never NULL).
    For text, ``values`` is a fixed-width bytes array and ``lengths`` each row's byte length.
    """

    values: np.ndarray
    wire: str
    null: np.ndarray | None
    array_oid: int | None = None
    lengths: np.ndarray | None = None

    @property
    def size(self) -> int:
        """Bytes of one value on the wire (0 when every value is NULL)."""
        if self.null is not None and self.null.all():
            return 0
        return np.dtype(self.wire).itemsize


def int4(values: np.ndarray) -> Field:
    """A non-null int4 column."""
    return Field(np.asarray(values), ">i4", None)


def int8(values: np.ndarray, null: np.ndarray | None = None) -> Field:
    """An int8 column; ``null`` marks the NULL rows."""
    return Field(np.asarray(values), ">i8", _nulls(null))


def float8(values: np.ndarray, null: np.ndarray | None = None) -> Field:
    """A float8 column; NULL where ``null`` is set (by default where the value is NaN)."""
    values = np.asarray(values, dtype=np.float64)
    return Field(values, ">f8", _nulls(np.isnan(values) if null is None else null))


def boolean(values: np.ndarray) -> Field:
    """A non-null boolean column."""
    return Field(np.asarray(values, dtype=bool), "u1", None)


def text(values: Sequence[str | None]) -> Field:
    """A text column (UTF-8); None is NULL."""
    n = len(values)
    if all(v is None for v in values):  # the usual case for SIPS names: no loop below
        return Field(np.zeros(n, dtype="S1"), "S1", _nulls(np.ones(n, dtype=bool)),
                     lengths=np.zeros(n, dtype=np.int64))  # fmt: skip
    present = [i for i, v in enumerate(values) if v is not None]
    encoded = [values[i].encode("utf-8") for i in present]
    width = max(1, max(len(b) for b in encoded))
    data = np.zeros(n, dtype=f"S{width}")
    data[present] = encoded
    lengths = np.zeros(n, dtype=np.int64)
    lengths[present] = [len(b) for b in encoded]
    null = np.ones(n, dtype=bool)
    null[present] = False
    return Field(data, f"S{width}", _nulls(null), lengths=lengths)


def float8_array(
    columns: Sequence[np.ndarray], n: int, nulls: Sequence[np.ndarray] | None = None
) -> Field:
    """A float8[] column whose k-th element comes from ``columns[k]`` (NaN or ``nulls`` = NULL)."""
    values = np.empty((n, len(columns)), dtype=np.float64)
    for k, c in enumerate(columns):
        values[:, k] = c
    null = np.isnan(values) if nulls is None else np.stack(nulls, axis=1).reshape(n, -1)
    return Field(values, ">f8", _nulls(null), _OID_FLOAT8)


def bool_array(columns: Sequence[np.ndarray], n: int) -> Field:
    """A bool[] column (no NULL elements) whose k-th element comes from ``columns[k]``."""
    values = np.empty((n, len(columns)), dtype=bool)
    for k, c in enumerate(columns):
        values[:, k] = c
    return Field(values, "u1", None, _OID_BOOL)


def _nulls(mask: np.ndarray | None) -> np.ndarray | None:
    return mask if mask is not None and mask.any() else None


def _be32(value: int) -> np.ndarray:
    return np.frombuffer(int(value).to_bytes(4, "big", signed=True), dtype=np.uint8)


def encode(fields: Sequence[Field]) -> bytes:
    """The complete binary COPY stream (header, rows, trailer) for the given columns."""
    n = len(fields[0].values) if fields else 0
    # The full-width row as a structured type: numpy then copies (and byte-swaps) whole
    # values, an array's elements in one go, instead of single bytes.
    names, formats, offsets = ["count"], [">i2"], [0]
    at = 2
    for k, f in enumerate(fields):
        size = f.size
        element = np.dtype({"names": ["p", "v"], "formats": [">i4", f.wire if size else "V0"],
                            "offsets": [0, 4], "itemsize": 4 + size})  # fmt: skip
        if f.array_oid is None:
            names.append(f"f{k}")
            formats.append(element)
            offsets.append(at)
            at += element.itemsize
            continue
        count = f.values.shape[1]
        names += [f"f{k}len", f"f{k}head", f"f{k}"]
        formats += [">i4", (np.uint8, 20 if count else 12), (element, (count,))]
        offsets += [at, at + 4, at + (24 if count else 16)]
        at += (24 if count else 16) + count * element.itemsize
    data = np.empty((n, at), dtype=np.uint8)
    record = data.view(np.dtype({"names": names, "formats": formats, "offsets": offsets,
                                 "itemsize": at})).reshape(n)  # fmt: skip
    keep = np.ones((n, at), dtype=bool)
    record["count"] = len(fields)
    for k, f in enumerate(fields):
        if f.array_oid is not None:
            _array_header(f, record, f"f{k}")
        slot, size = record[f"f{k}"], f.size
        start = offsets[names.index(f"f{k}")]
        if size:
            slot["v"] = f.values
        if f.lengths is not None:
            slot["p"] = f.lengths if f.null is None else np.where(f.null, -1, f.lengths)
            keep[:, start + 4 : start + 4 + size] = np.arange(size) < f.lengths[:, None]
        elif f.null is None or not size:
            slot["p"] = size if size else -1
        else:
            slot["p"] = np.where(f.null, -1, size)
            if f.array_oid is None:
                keep[:, start + 4 : start + 4 + size] = ~f.null[:, None]
            else:
                count = f.values.shape[1]
                view = keep[:, start : start + count * (4 + size)].reshape(n, count, 4 + size)
                view[:, :, 4:] = ~f.null[:, :, None]
    return _HEADER + data[keep].tobytes() + _TRAILER


def _array_header(f: Field, record: np.ndarray, name: str) -> None:
    """Write an array's length prefix and header (ndim, has-null, oid, length, lower bound)."""
    n, count = f.values.shape
    size = f.size
    if not count:
        # An empty array: ndim 0, no null flag, the element type; nothing else.
        record[f"{name}len"] = 12
        record[f"{name}head"] = np.concatenate([_be32(0), _be32(0), _be32(f.array_oid)])
        return
    if f.null is None:
        record[f"{name}len"] = 20 + count * (4 + size)
        has_null = np.zeros(n, dtype=bool)
    else:
        present = (~f.null).sum(axis=1)
        record[f"{name}len"] = 20 + 4 * count + present * size
        has_null = present < count
    head = np.empty((n, 20), dtype=np.uint8)
    head[:] = np.concatenate([_be32(1), _be32(0), _be32(f.array_oid), _be32(count), _be32(1)])
    head[:, 7] = has_null
    record[f"{name}head"] = head
