"""Writing one image's measurements as a SIPS CSV export, byte for byte in SIPS's format.

The format is that of the published SIPS 3.32 files (``correct_file.csv``): ``Key;Value``
header lines, the table header row, then one row per source with ``;`` between fields,
numbers with a fixed number of decimals, ``saturated`` in place of a flux, empty fields for
missing values, and a line ending after the last row too.

Sexagesimal strings are built from integers (milliseconds of time, hundredths of an arc
second), so a value that rounds up carries into the minute (``59.9996 s`` is written as the
next minute's ``00.000``, never as ``60.000``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = [
    "FULL_HEADER_KEYS",
    "SATURATED",
    "SHORT_HEADER_KEYS",
    "format_center_dec",
    "format_center_ra",
    "format_dec",
    "format_fixed",
    "format_flux",
    "format_iso_ms",
    "format_jd_ms",
    "format_ra",
    "render_sips",
    "table_columns",
    "write_sips",
]

SATURATED = "saturated"
FULL_HEADER_KEYS = (
    "ExposureBegin",
    "Exposure",
    "ExposureEnd",
    "ExposureTime",
    "JDBegin",
    "JDEnd",
    "GJD",
    "HJD",
    "Filter",
    "CenterRA",
    "CenterDec",
    "CenterRAHour",
    "CenterRADeg",
    "CenterDecDeg",
    "Width",
    "Depth",
    "PixelScaleX",
    "PixelScaleY",
    "Object",
    "Instrument",
    "Telescope",
    "Observer",
    "Software",
)
SHORT_HEADER_KEYS = ("ExposureBegin", "ExposureEnd")
CATALOGUE_COLUMNS = (
    "Name",
    "X",
    "Y",
    "ADU",
    "RA",
    "Dec",
    "Catalog",
    "CatalogId",
    "CatalogRA",
    "CatalogDec",
    "CatalogMag",
    "CatalogBV",
    "CatalogJK",
    "Back",
    "BackDev",
)

# 1970-01-01T00:00 UTC is JD 2440587.5, i.e. 210 866 760 000 000 ms after JD 0.
_JD0_MS = 210_866_760_000_000
_DAY_MS = 86_400_000


def table_columns(apertures: int, deviations: bool) -> list[str]:
    """The table header of an export with ``apertures`` fixed apertures.

    Examples
    --------
    >>> table_columns(2, True)[-6:]
    ['ApAuto', 'ApAutoDev', 'Ap1', 'Ap1Dev', 'Ap2', 'Ap2Dev']
    """
    columns = list(CATALOGUE_COLUMNS)
    for flux in ["ApAuto"] + [f"Ap{k}" for k in range(1, apertures + 1)]:
        columns.append(flux)
        if deviations:
            columns.append(f"{flux}Dev")
    return columns


def format_ra(ra_deg) -> list[str]:
    """Right ascensions as SIPS writes them, hours: ``21 41 55.318``.

    Examples
    --------
    >>> format_ra([322.74645833, 359.9999999])
    ['21 30 59.150', '00 00 00.000']
    """
    ms = np.rint(np.mod(np.asarray(ra_deg, dtype=float), 360.0) * 240_000.0).astype(np.int64)
    ms %= _DAY_MS
    return [
        f"{h:02d} {m:02d} {s // 1000:02d}.{s % 1000:03d}"
        for h, m, s in zip(
            (ms // 3_600_000).tolist(),
            (ms // 60_000 % 60).tolist(),
            (ms % 60_000).tolist(),
            strict=True,
        )
    ]


def _dec_parts(dec_deg) -> tuple[list[str], list[int], list[int], list[int]]:
    value = np.asarray(dec_deg, dtype=float)
    centi = np.rint(np.abs(value) * 360_000.0).astype(np.int64)
    # -0.001" rounds to zero and is written +00 00 00.00, not with a minus sign.
    signs = np.where((value < 0) & (centi > 0), "-", "+").tolist()
    return (
        signs,
        (centi // 360_000).tolist(),
        (centi // 6000 % 60).tolist(),
        (centi % 6000).tolist(),
    )


def format_dec(dec_deg) -> list[str]:
    """Declinations as SIPS writes them, degrees: ``+71 18 38.60``.

    Examples
    --------
    >>> format_dec([70.82321667, -0.5, 69.53333333])
    ['+70 49 23.58', '-00 30 00.00', '+69 32 00.00']
    """
    return [
        f"{sign}{d:02d} {m:02d} {c // 100:02d}.{c % 100:02d}"
        for sign, d, m, c in zip(*_dec_parts(dec_deg), strict=True)
    ]


def format_center_ra(ra_deg: float) -> str:
    """The header's ``CenterRA``: ``21h 46m 13.358s``."""
    h, m, s = format_ra([ra_deg])[0].split()
    return f"{h}h {m}m {s}s"


def format_center_dec(dec_deg: float) -> str:
    """The header's ``CenterDec``, with the degree sign: ``+68° 33' 34.59"``."""
    sign, d, m, c = (part[0] for part in _dec_parts([dec_deg]))
    return f"{sign}{d:02d}\N{DEGREE SIGN} {m:02d}' {c // 100:02d}.{c % 100:02d}\""


def format_iso_ms(ms: int) -> str:
    """UTC time of integer milliseconds since 1970 as ``2021-11-06T16:27:45.652``."""
    return str(np.datetime64(int(ms), "ms"))


def format_jd_ms(ms: int) -> str:
    """Julian date of integer milliseconds since 1970, to 8 decimals, rounded exactly."""
    numerator = (_JD0_MS + int(ms)) * 100_000_000
    units = (2 * numerator + _DAY_MS) // (2 * _DAY_MS)  # round half up
    return f"{units // 100_000_000}.{units % 100_000_000:08d}"


def format_fixed(values, decimals: int, missing=None) -> list[str]:
    """Numbers with a fixed number of decimals; empty where ``missing`` is True or NaN."""
    array = np.asarray(values, dtype=float)
    blank = np.isnan(array) if missing is None else np.asarray(missing) | np.isnan(array)
    spec = f".{decimals}f"
    return [
        "" if b else format(v, spec) for v, b in zip(array.tolist(), blank.tolist(), strict=True)
    ]


def format_flux(values, saturated) -> list[str]:
    """Fluxes (or their deviations) with 3 decimals, ``saturated`` where flagged."""
    return [
        SATURATED if s else f"{v:.3f}"
        for v, s in zip(np.asarray(values).tolist(), np.asarray(saturated).tolist(), strict=True)
    ]


def render_sips(
    header: Sequence[tuple[str, str]],
    columns: Sequence[str],
    table: Sequence[Sequence[str]],
    newline: str = "\r\n",
) -> str:
    """The text of a SIPS export.

    Parameters
    ----------
    header : sequence of (str, str)
        ``Key;Value`` lines in order, values already formatted.
    columns : sequence of str
        The table header (:func:`table_columns`).
    table : sequence of sequence of str
        The formatted values column by column, each as long as the table.
    newline : str
        ``"\\r\\n"`` as SIPS on Windows writes, or ``"\\n"``.

    Returns
    -------
    str
        Every line, the last one included, ends with ``newline``.

    Examples
    --------
    >>> render_sips([("ExposureBegin", "2021-11-06T16:27:45.652")], ["RA", "Dec"],
    ...             [["21 41 55.318"], ["+71 18 38.60"]], "\\n")
    'ExposureBegin;2021-11-06T16:27:45.652\\nRA;Dec\\n21 41 55.318;+71 18 38.60\\n'
    """
    if len(table) != len(columns):
        raise ValueError(f"{len(columns)} columns named but {len(table)} given")
    lines = [f"{key};{value}" for key, value in header]
    lines.append(";".join(columns))
    lines.extend(";".join(row) for row in zip(*table, strict=True))
    return newline.join(lines) + newline


def write_sips(path: Path, text: str, encoding: str) -> int:
    """Write the export's text in the observer's encoding; returns the number of bytes."""
    data = text.encode(encoding)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return len(data)
