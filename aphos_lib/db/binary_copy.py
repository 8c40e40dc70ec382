"""PostgreSQL binary COPY payloads built from numpy columns, without a Python loop per row.

PostgreSQL reads binary COPY about twice as fast as text here (no float parsing on the server:
about 230,000 flux rows/s against 130,000), and building the stream row by row in Python would
cost more than the server's work. Every field is therefore encoded for all rows at once into a
byte matrix plus a mask of the bytes that exist (a NULL keeps only its 4-byte length of -1), and
the stream is ``matrix[mask]``: numpy's boolean indexing walks the rows in order, which is
exactly the row-major layout of the COPY format.

Format: https://www.postgresql.org/docs/current/sql-copy.html (Binary Format) and the array
wire format of ``array_recv`` (ndim, has-null flag, element type oid, then per dimension its
length and lower bound, then each element as a length and its bytes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Field",
    "bool_array",
    "boolean",
    "encode",
    "float8",
    "float8_array",
    "int4",
    "int8",
    "text",
]

_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_TRAILER = b"\xff\xff"
_NULL = np.frombuffer(b"\xff\xff\xff\xff", dtype=np.uint8)
_OID_BOOL = 16
_OID_FLOAT8 = 701


@dataclass(frozen=True)
class Field:
    """One column encoded for every row: bytes per row and which of them are present."""

    data: np.ndarray  # (n, width) uint8
    keep: np.ndarray  # (n, width) bool


def _length_prefix(n: int, length: int, null: np.ndarray | None) -> np.ndarray:
    prefix = np.empty((n, 4), dtype=np.uint8)
    prefix[:] = np.frombuffer(int(length).to_bytes(4, "big", signed=True), dtype=np.uint8)
    if null is not None:
        prefix[null] = _NULL
    return prefix


def _fixed(values: np.ndarray, dtype: str, null: np.ndarray | None) -> Field:
    n = len(values)
    array = np.ascontiguousarray(values, dtype=dtype)
    body = array.view(np.uint8).reshape(n, array.dtype.itemsize)
    data = np.concatenate([_length_prefix(n, body.shape[1], null), body], axis=1)
    keep = np.ones(data.shape, dtype=bool)
    if null is not None:
        keep[null, 4:] = False
    return Field(data, keep)


def int4(values: np.ndarray) -> Field:
    """A non-null int4 column."""
    return _fixed(values, ">i4", None)


def int8(values: np.ndarray, null: np.ndarray | None = None) -> Field:
    """An int8 column; ``null`` marks the NULL rows."""
    return _fixed(np.where(null, 0, values) if null is not None else values, ">i8", null)


def float8(values: np.ndarray, null: np.ndarray | None = None) -> Field:
    """A float8 column; NULL where ``null`` is set (by default where the value is NaN)."""
    values = np.asarray(values, dtype=np.float64)
    if null is None:
        null = np.isnan(values)
    return _fixed(values, ">f8", null if null.any() else None)


def boolean(values: np.ndarray) -> Field:
    """A non-null boolean column."""
    return _fixed(np.asarray(values, dtype=bool).astype(np.uint8), "u1", None)


def text(values: Sequence[str | None]) -> Field:
    """A text column (UTF-8); None is NULL. Cheap when most values are NULL."""
    n = len(values)
    encoded = [None if v is None else v.encode("utf-8") for v in values]
    width = max((len(b) for b in encoded if b is not None), default=0)
    data = np.zeros((n, 4 + width), dtype=np.uint8)
    keep = np.zeros((n, 4 + width), dtype=bool)
    keep[:, :4] = True
    data[:, :4] = _NULL
    for i, b in enumerate(encoded):
        if b is not None:
            data[i, :4] = np.frombuffer(len(b).to_bytes(4, "big"), dtype=np.uint8)
            data[i, 4 : 4 + len(b)] = np.frombuffer(b, dtype=np.uint8)
            keep[i, 4 : 4 + len(b)] = True
    return Field(data, keep)


def _array(elements: list[Field], oid: int, any_null: np.ndarray, elem_size: int) -> Field:
    """A one-dimensional array column from its per-element fields (all rows same length)."""
    n = len(any_null)
    count = len(elements)
    if count == 0:
        # An empty array: ndim 0, no null flag, the element type, nothing else.
        head = np.frombuffer(
            (0).to_bytes(4, "big") + (0).to_bytes(4, "big") + oid.to_bytes(4, "big"), np.uint8
        )
        data = np.concatenate([_length_prefix(n, 12, None), np.tile(head, (n, 1))], axis=1)
        return Field(data, np.ones(data.shape, dtype=bool))
    head = np.empty((n, 20), dtype=np.uint8)
    head[:] = np.frombuffer(
        (1).to_bytes(4, "big") + (0).to_bytes(4, "big") + oid.to_bytes(4, "big")
        + count.to_bytes(4, "big") + (1).to_bytes(4, "big"),
        dtype=np.uint8,
    )  # fmt: skip
    head[any_null, 7] = 1
    body = np.concatenate([e.data for e in elements], axis=1)
    body_keep = np.concatenate([e.keep for e in elements], axis=1)
    nulls = sum((~e.keep[:, 4]).astype(np.int64) for e in elements)
    length = 20 + count * (4 + elem_size) - nulls * elem_size
    prefix = np.ascontiguousarray(length, dtype=">i4").view(np.uint8).reshape(n, 4)
    data = np.concatenate([prefix, head, body], axis=1)
    keep = np.concatenate([np.ones((n, 24), dtype=bool), body_keep], axis=1)
    return Field(data, keep)


def float8_array(
    columns: Sequence[np.ndarray], n: int, nulls: Sequence[np.ndarray] | None = None
) -> Field:
    """A float8[] column whose k-th element comes from ``columns[k]`` (NaN or ``nulls`` = NULL)."""
    if nulls is None:
        nulls = [np.isnan(np.asarray(c, dtype=np.float64)) for c in columns]
    elements = [
        _fixed(np.asarray(c, dtype=np.float64), ">f8", m)
        for c, m in zip(columns, nulls, strict=True)
    ]
    any_null = np.zeros(n, dtype=bool)
    for m in nulls:
        any_null |= m
    return _array(elements, _OID_FLOAT8, any_null, 8)


def bool_array(columns: Sequence[np.ndarray], n: int) -> Field:
    """A bool[] column (no NULL elements) whose k-th element comes from ``columns[k]``."""
    elements = [boolean(c) for c in columns]
    return _array(elements, _OID_BOOL, np.zeros(n, dtype=bool), 1)


def encode(fields: Sequence[Field]) -> bytes:
    """The complete binary COPY stream (header, rows, trailer) for the given columns."""
    n = fields[0].data.shape[0] if fields else 0
    count = np.empty((n, 2), dtype=np.uint8)
    count[:] = np.frombuffer(len(fields).to_bytes(2, "big"), dtype=np.uint8)
    data = np.concatenate([count] + [f.data for f in fields], axis=1)
    keep = np.concatenate([np.ones((n, 2), dtype=bool)] + [f.keep for f in fields], axis=1)
    return _HEADER + data[keep].tobytes() + _TRAILER
