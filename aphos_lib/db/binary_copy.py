"""PostgreSQL binary COPY payloads built from numpy columns, without a Python loop per row.

PostgreSQL reads binary COPY about twice as fast as text here (no float parsing on the server:
about 230,000 flux rows/s against 130,000), and building the stream row by row in Python would
cost more than the server's work.

In the binary format a value is a 4-byte length followed by its bytes, and a NULL is just the
length -1. The encoder lays every row out at full width in one preallocated byte matrix (a copy
of a template row with the constant bytes, then a few numpy slice assignments per column),
notes the byte ranges that a NULL or a shorter text does not have, and joins the runs between
them: the matrix is row-major, exactly the layout of the COPY stream. About 1 ms for a
2,100-row SIPS file.

Format: https://www.postgresql.org/docs/current/sql-copy.html (Binary Format) and the array
wire format of ``array_recv`` (ndim, has-null flag, element type oid, then per dimension its
length and lower bound, then each element as a length and its bytes).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Field",
    "bool_array",
    "boolean",
    "decode_points",
    "encode",
    "float8",
    "float8_array",
    "int4",
    "int8",
    "records",
    "text",
]

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


def records(values: np.ndarray) -> Field:
    """A non-null bytea column holding each element of a structured array as its bytes."""
    values = np.ascontiguousarray(values)
    return Field(values.view(f"V{values.dtype.itemsize}"), f"V{values.dtype.itemsize}", None)


def text(values: Sequence[str | None]) -> Field:
    """A text column (UTF-8); None is NULL."""
    n = len(values)
    if all(v is None for v in values):  # the usual case for SIPS names: no loop below
        return Field(
            np.zeros(n, dtype="S1"),
            "S1",
            _nulls(np.ones(n, dtype=bool)),
            lengths=np.zeros(n, dtype=np.int64),
        )
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


@dataclass(frozen=True)
class _Layout:
    """The full-width row of a list of columns, and the bytes that every row shares."""

    dtype: np.dtype  # "count", then per column k "f{k}" (arrays also "f{k}len", "f{k}head")
    starts: tuple[int, ...]  # byte offset of column k's value (its first element for arrays)
    template: np.ndarray  # one row as uint8: the count, constant lengths and array headers


def _shape(f: Field) -> tuple:
    """What of a column decides the row layout and which of its bytes are constant."""
    count = f.values.shape[1] if f.array_oid is not None else None
    return f.wire, f.size, f.array_oid, count, f.null is None, f.lengths is not None


@functools.lru_cache(maxsize=64)
def _layout(shapes: tuple[tuple, ...]) -> _Layout:
    """The row layout; the files of a batch share it, so it is built once per column shape."""
    # A structured type: numpy then copies (and byte-swaps) whole values, an array's elements
    # in one go, instead of single bytes.
    names, formats, offsets = ["count"], [">i2"], [0]
    at = 2
    for k, (wire, size, array_oid, count, _, _) in enumerate(shapes):
        element = np.dtype(
            {
                "names": ["p", "v"],
                "formats": [">i4", wire if size else "V0"],
                "offsets": [0, 4],
                "itemsize": 4 + size,
            }
        )
        if array_oid is None:
            names.append(f"f{k}")
            formats.append(element)
            offsets.append(at)
            at += element.itemsize
            continue
        head = 20 if count else 12
        names += [f"f{k}len", f"f{k}head", f"f{k}"]
        formats += [">i4", (np.uint8, head), (element, (count,))]
        offsets += [at, at + 4, at + 4 + head]
        at += 4 + head + count * element.itemsize
    dtype = np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": at})
    row = np.zeros(1, dtype=dtype)
    row["count"] = len(shapes)
    for k, (_, size, array_oid, count, never_null, is_text) in enumerate(shapes):
        if array_oid is not None:
            _array_template(row, f"f{k}", size, array_oid, count, never_null)
        elif not size:  # every value NULL
            row[f"f{k}"]["p"] = -1
        elif never_null and not is_text:
            row[f"f{k}"]["p"] = size
    starts = tuple(offsets[names.index(f"f{k}")] for k in range(len(shapes)))
    return _Layout(dtype, starts, row.view(np.uint8).copy())


def _array_template(
    row: np.ndarray, name: str, size: int, oid: int, count: int, never_null: bool
) -> None:
    """An array's constant bytes: its header (ndim, has-null, oid, length, lower bound), and
    its length and element lengths unless they depend on which elements are NULL."""
    if not count:  # an empty array: ndim 0, no null flag, the element type; nothing else
        row[f"{name}len"] = 12
        row[f"{name}head"] = np.concatenate([_be32(0), _be32(0), _be32(oid)])
        return
    head = np.concatenate([_be32(1), _be32(0), _be32(oid), _be32(count), _be32(1)])
    if never_null:
        row[f"{name}len"] = 20 + count * (4 + size)
        row[name]["p"] = size
    elif not size:  # every element NULL
        row[f"{name}len"] = 20 + count * 4
        row[name]["p"] = -1
        head[7] = 1
    row[f"{name}head"] = head


def encode(fields: Sequence[Field]) -> bytes:
    """The complete binary COPY stream (header, rows, trailer) for the given columns."""
    n = len(fields[0].values) if fields else 0
    layout = _layout(tuple(_shape(f) for f in fields))
    width = layout.template.size
    data = np.empty((n, width), dtype=np.uint8)
    data[:] = layout.template
    record = data.view(layout.dtype).reshape(n)
    row_at = np.arange(n, dtype=np.int64) * width
    drops: list[tuple[np.ndarray, np.ndarray]] = []  # (offset, length): bytes not sent
    for k, f in enumerate(fields):
        name, size, start = f"f{k}", f.size, layout.starts[k]
        slot = record[name]
        if size:
            slot["v"] = f.values
        if not size or f.null is None and f.lengths is None:
            continue  # lengths all in the template
        if f.lengths is not None:  # text: NULL is no bytes, a shorter text fewer
            slot["p"] = f.lengths if f.null is None else np.where(f.null, -1, f.lengths)
            short = np.flatnonzero(f.lengths < size)
            drops.append((row_at[short] + start + 4 + f.lengths[short], size - f.lengths[short]))
        elif f.array_oid is None:
            slot["p"] = np.where(f.null, -1, size)
            rows = np.flatnonzero(f.null)
            drops.append((row_at[rows] + start + 4, np.full(len(rows), size)))
        else:
            _array_nulls(f, record, name)
            rows, elements = np.nonzero(f.null)
            drops.append(
                (row_at[rows] + start + elements * (4 + size) + 4, np.full(len(rows), size))
            )
    return _stream(data.reshape(-1), drops)


def _array_nulls(f: Field, record: np.ndarray, name: str) -> None:
    """The lengths and has-null flags of an array column with some NULL elements."""
    size, count = f.size, f.values.shape[1]
    record[name]["p"] = np.where(f.null, -1, size)
    present = (~f.null).sum(axis=1)
    record[f"{name}len"] = 20 + 4 * count + present * size
    record[f"{name}head"][:, 7] = present < count


# Above one left-out byte range per this many bytes, a byte mask is cheaper than the join
# (measured: about 0.3 us per joined piece against 1 ms per MB for the mask).
_DENSE = 256


def _stream(flat: np.ndarray, drops: list[tuple[np.ndarray, np.ndarray]]) -> bytes:
    """Header, the full-width rows without the dropped byte ranges, trailer.

    NULLs are few in SIPS files, so the kept bytes are a few long runs: joining them costs
    far less than a boolean mask over every byte of the matrix.
    """
    starts = np.concatenate([s for s, _ in drops]) if drops else np.empty(0, dtype=np.int64)
    if not len(starts):
        return b"".join((_HEADER, memoryview(flat), _TRAILER))
    lengths = np.concatenate([n for _, n in drops])
    order = np.argsort(starts)
    starts, lengths = starts[order], lengths[order]
    if len(starts) * _DENSE > flat.size:
        keep = np.ones(flat.size, dtype=bool)
        # Every dropped byte's offset: each range's start repeated, plus 0..length-1.
        before = np.cumsum(lengths) - lengths
        keep[np.arange(lengths.sum()) + np.repeat(starts - before, lengths)] = False
        return b"".join((_HEADER, memoryview(flat[keep]), _TRAILER))
    view = memoryview(flat)
    ends = (starts + lengths).tolist()
    pieces = [view[a:b] for a, b in zip([0, *ends], [*starts.tolist(), flat.size], strict=True)]
    return b"".join([_HEADER, *pieces, _TRAILER])


def _elements(data: bytes, element: np.dtype, what: str) -> np.ndarray:
    """The elements of a one-dimensional, NULL-free array in ``array_send``'s format.

    ``element`` is one element on the wire (its 4-byte length first), all of one width, so
    the elements are read as one numpy record array. ``what`` names that width for errors.
    """
    ndim, has_null = int.from_bytes(data[0:4], "big"), int.from_bytes(data[4:8], "big")
    if ndim != 1 or has_null:
        raise ValueError("expected a one-dimensional array without NULLs")
    # Then the element type's oid, the length and the lower bound: 20 bytes of header.
    n = int.from_bytes(data[12:16], "big")
    if len(data) != 20 + n * element.itemsize:
        raise ValueError(f"array elements are not all {what}")
    items = np.frombuffer(data, dtype=element, offset=20, count=n)
    if not (items["length"] == element.itemsize - 4).all():
        raise ValueError(f"array elements are not all {what}")
    return items


_POINT_BIT = 0x80000000  # contrib cube's header: a point (one corner), and its dimension


def decode_points(data: bytes | None, dim: int) -> np.ndarray:
    """An array of ``cube`` points from its binary wire format, as an (n, dim) float64 matrix.

    Each element is ``cube_send``'s: a 4-byte header (the point flag and the dimension),
    then the coordinates as float8; every element must be a point of ``dim`` coordinates
    (``cube(float8[])`` makes one). ``None`` (the ``array_agg`` of no rows) gives no rows.
    """
    if data is None:
        return np.empty((0, dim))
    what = f"cube points of {dim} coordinates"
    element = np.dtype([("length", ">i4"), ("header", ">u4"), ("x", ">f8", (dim,))])
    items = _elements(data, element, what)
    if not (items["header"] == _POINT_BIT | dim).all():
        raise ValueError(f"array elements are not all {what}")
    return items["x"].astype(np.float64)
