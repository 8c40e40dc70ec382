"""Vectorised conversion of text columns, with per-row reasons for what cannot be read.

Each converter takes a pyarrow string array (one value per table row) and returns the typed
values plus a dict ``{row index: reason}`` for the rows it could not read. The fast path is
pyarrow compute over the whole column; whatever it does not accept falls back, value by value,
to the same scalar function that produces the error message, so the rules live in one place
(:mod:`aphos_lib.coordinates` for angles, :func:`parse_number` for numbers).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aphos_lib.coordinates import AngleParseError, parse_sexagesimal

SATURATED = "saturated"

_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


def parse_number(text: str) -> float:
    """Read one decimal number the way the SIPS reader does.

    Raises
    ------
    ValueError
        When ``text`` (already stripped) is not a finite decimal number.
    """
    if not _NUMBER.match(text):
        raise ValueError(f"{text!r} is not a number")
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


@dataclass
class Converted:
    """A converted column: values (NaN where null), a null mask and the rows that failed."""

    values: np.ndarray
    null: np.ndarray
    errors: dict[int, str]
    saturated: np.ndarray | None = None

    def to_arrow(self) -> pa.Array:
        return pa.array(self.values, mask=self.null, type=pa.float64())


def _blank(col: pa.Array) -> np.ndarray:
    return pc.equal(col, "").to_numpy(zero_copy_only=False)


def _fallback(
    col: pa.Array, rows: np.ndarray, parse: Callable[[str], float], out: np.ndarray
) -> dict[int, str]:
    """Parse the given rows one by one, filling ``out`` and collecting the reasons."""
    errors: dict[int, str] = {}
    for i in rows.tolist():
        text = col[i].as_py()
        try:
            out[i] = parse(text)
        except ValueError as exc:
            errors[i] = str(exc)
    return errors


def to_numbers(col: pa.Array, *, allow_saturated: bool) -> Converted:
    """Convert a stripped string column to float64.

    Empty values become null. With ``allow_saturated`` the word ``saturated`` becomes null with
    its own flag set, so a saturated flux is never confused with a missing one or with 0.
    """
    n = len(col)
    try:
        # Most columns (positions, ADU, background, unsaturated fluxes) are all numbers.
        values = pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)
        if np.isfinite(values).all():
            no = np.zeros(n, dtype=bool)
            return Converted(values, no, {}, no)
    except pa.ArrowInvalid:
        pass
    blank = _blank(col)
    saturated = (
        pc.equal(col, SATURATED).to_numpy(zero_copy_only=False)
        if allow_saturated
        else np.zeros(n, dtype=bool)
    )
    null = blank | saturated
    masked = pc.if_else(pa.array(null), None, col)
    values = np.full(n, np.nan)
    try:
        cast = pc.cast(masked, pa.float64()).to_numpy(zero_copy_only=False)
        # Arrow also accepts 'nan' and 'inf'; those go to the scalar parser to be refused.
        suspect = ~null & ~np.isfinite(cast)
        values = np.where(null, np.nan, cast)
    except pa.ArrowInvalid:
        suspect = ~null
    errors = _fallback(col, np.flatnonzero(suspect), parse_number, values) if suspect.any() else {}
    return Converted(values, null, errors, saturated)


def to_angles(col: pa.Array, *, hours: bool) -> Converted:
    """Convert a stripped sexagesimal column (RA in hours or Dec in degrees) to degrees."""
    return to_angles_many([(col, hours)])[0]


def to_angles_many(columns: list[tuple[pa.Array, bool]]) -> list[Converted]:
    """Convert several sexagesimal columns at once, each with its ``hours`` flag.

    The fast path handles ``DD MM SS.s`` and ``DD:MM:SS.s`` with integer degrees and minutes,
    minutes below 60 and seconds below 60; every other value goes through
    :func:`aphos_lib.coordinates.parse_sexagesimal`, which also words the errors. The columns
    are processed as one array because each pyarrow call has a fixed cost that matters more
    than the per-value work for a few thousand rows.
    """
    if not columns:
        return []
    sizes = [len(c) for c, _ in columns]
    col = pa.concat_arrays([c for c, _ in columns]) if len(columns) > 1 else columns[0][0]
    hours = np.repeat([h for _, h in columns], sizes)
    n = len(col)
    blank = _blank(col)
    values = np.full(n, np.nan)
    slow = ~blank
    present = np.flatnonzero(~blank)
    try:
        # Only the present values are split (filtering strings is cheaper than lists), and
        # colons replaced only when there are any.
        text = col.filter(pa.array(~blank)) if len(present) < n else col
        if _holds(text, ":"):
            text = pc.replace_substring(text, ":", " ")
        parts = pc.split_pattern(text, " ")
        if np.all(pc.list_value_length(parts).to_numpy(zero_copy_only=False) == 3):
            flat = pc.cast(pc.list_flatten(parts), pa.float64())
            dms = flat.to_numpy(zero_copy_only=False).reshape(-1, 3)
            # The first field is the whole value's start: a written minus, "-00" included
            # (cast to -0.0), is its sign bit.
            negative = np.signbit(dms[:, 0])
            is_ra = hours[present]
            first, minutes, seconds = np.abs(dms[:, 0]), dms[:, 1], dms[:, 2]
            value = first + minutes / 60.0 + seconds / 3600.0
            ok = (
                (first == np.floor(first))
                & (minutes == np.floor(minutes))
                & (minutes < 60)
                & (seconds >= 0)
                & (seconds < 60)
            )
            ok &= np.where(is_ra, ~negative & (first < 24), value <= 90)
            values[present] = np.where(is_ra, value * 15.0, np.where(negative, -value, value))
            slow = np.zeros(n, dtype=bool)
            slow[present[~ok]] = True
    except (pa.ArrowInvalid, ValueError):
        slow = ~blank
    errors: dict[int, str] = {}
    for i in np.flatnonzero(slow).tolist():
        try:
            values[i] = parse_sexagesimal(col[i].as_py(), hours=bool(hours[i]))
        except ValueError as exc:
            errors[i] = str(exc)
    out, start = [], 0
    for size in sizes:
        stop = start + size
        out.append(
            Converted(
                values[start:stop],
                blank[start:stop],
                {i - start: e for i, e in errors.items() if start <= i < stop},
            )
        )
        start = stop
    return out


def _holds(col: pa.Array, char: str) -> bool:
    """Whether a string array's data holds ``char`` (an ASCII character), in one numpy pass."""
    data = col.buffers()[2]
    return data is not None and bool((np.frombuffer(data, dtype=np.uint8) == ord(char)).any())


def to_text(col: pa.Array) -> pa.Array:
    """Empty strings become null; everything else is kept as written (already stripped)."""
    return pc.if_else(pc.equal(col, ""), None, col)


__all__ = [
    "SATURATED",
    "AngleParseError",
    "Converted",
    "parse_number",
    "to_angles",
    "to_numbers",
    "to_text",
]
