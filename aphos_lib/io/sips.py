"""Reader for the CSV files that the SIPS photometry software exports, one file per image.

A SIPS file is a ``Key;Value`` header (``ExposureBegin`` and ``ExposureEnd`` are mandatory,
every other line is kept as written), a table header row naming the columns (``RA``, ``Dec``
and ``ApAuto`` are mandatory), and one row per measured source. :func:`read_sips` turns it into
a :class:`SipsFile` whose ``rows`` is the canonical frame (:data:`CANONICAL_COLUMNS`) that the
ingest and every other reader produce.

A row that cannot be read is reported with its 1-based line number in the file and the reason,
and the other rows are kept. A file without its mandatory parts raises :class:`SipsFormatError`
with a message naming what is missing.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from aphos_lib.io import columns as conv
from aphos_lib.io.encoding import decode_text

__all__ = [
    "CANONICAL_COLUMNS",
    "HeaderLine",
    "RejectedRow",
    "SipsFile",
    "SipsFormatError",
    "read_sips",
]

MANDATORY_HEADER = ("ExposureBegin", "ExposureEnd")
# SIPS headers have about 25 lines; the table header is looked for in this many first.
_HEADER_SEARCH_LINES = 1000
MANDATORY_COLUMNS = ("RA", "Dec", "ApAuto")

# SIPS column -> (canonical name, kind). Apertures Ap<N>/Ap<N>Dev are matched by pattern.
_KNOWN_COLUMNS: dict[str, tuple[str, str]] = {
    "name": ("name", "text"),
    "x": ("x", "number"),
    "y": ("y", "number"),
    "adu": ("adu", "number"),
    "ra": ("ra_deg", "ra"),
    "dec": ("dec_deg", "dec"),
    "catalog": ("catalog", "text"),
    "catalogid": ("catalog_id", "text"),
    "catalogra": ("catalog_ra_deg", "ra"),
    "catalogdec": ("catalog_dec_deg", "dec"),
    "catalogmag": ("catalog_mag", "number"),
    "catalogbv": ("catalog_bv", "number"),
    "catalogjk": ("catalog_jk", "number"),
    "back": ("background", "number"),
    "backdev": ("background_dev", "number"),
    "apauto": ("ap_auto", "flux"),
    "apautodev": ("ap_auto_dev", "deviation"),
}
_APERTURE = re.compile(r"^ap(\d+)(dev)?$")

#: Columns of the canonical frame before the per-aperture ones (``ap1``, ``ap1_dev``,
#: ``ap1_saturated``, ...).
CANONICAL_COLUMNS = (
    "line",
    "name",
    "x",
    "y",
    "adu",
    "ra_deg",
    "dec_deg",
    "catalog",
    "catalog_id",
    "catalog_ra_deg",
    "catalog_dec_deg",
    "catalog_mag",
    "catalog_bv",
    "catalog_jk",
    "background",
    "background_dev",
    "ap_auto",
    "ap_auto_dev",
    "ap_auto_saturated",
)


class SipsFormatError(ValueError):
    """The file as a whole cannot be read (a mandatory part is missing or unreadable)."""


@dataclass(frozen=True)
class HeaderLine:
    """One line of the header, as written (``raw``) and split at the first ``;``."""

    line: int
    key: str
    value: str | None
    raw: str


@dataclass(frozen=True)
class RejectedRow:
    """A table row that was not stored: its 1-based line number in the file and why."""

    line: int
    reason: str


@dataclass
class SipsFile:
    """One SIPS export: its header, its table in canonical form and what was rejected.

    Attributes
    ----------
    source : str
        The file name used in messages.
    sha256 : str
        Hex SHA-256 of the file's bytes; it identifies the image (a re-upload is a duplicate).
    encoding : str
        The encoding the text was decoded with.
    header : list of HeaderLine
        Every header line in file order, kept as written.
    columns : list of str
        The table header row as written.
    table_line : int
        Line number of the table header row.
    apertures : int
        Number of numbered apertures (``Ap1..ApN``).
    rows : pyarrow.Table
        The rows that were read, in canonical columns (see :data:`CANONICAL_COLUMNS`).
    rejected : list of RejectedRow
        Rows that were not read, with line and reason.
    exposure_begin, exposure_end : datetime
        Timezone-aware UTC.
    warnings : list of str
        Things the reader noticed that did not stop it (e.g. an unreadable optional header).
    """

    source: str
    sha256: str
    encoding: str
    header: list[HeaderLine]
    columns: list[str]
    table_line: int
    apertures: int
    rows: pa.Table
    rejected: list[RejectedRow]
    exposure_begin: datetime
    exposure_end: datetime
    warnings: list[str] = field(default_factory=list)

    @property
    def exposure_middle(self) -> datetime:
        """Middle of the exposure (UTC), the time a measurement refers to."""
        return self.exposure_begin + (self.exposure_end - self.exposure_begin) / 2

    def header_value(self, key: str) -> str | None:
        """The stripped value of the first header line with this key, or None."""
        for line in self.header:
            if line.key == key:
                return None if line.value is None else line.value.strip()
        return None

    def header_float(self, key: str) -> float | None:
        """A numeric header value, or None when it is absent, empty or not a number."""
        text = self.header_value(key)
        if not text:
            return None
        try:
            return conv.parse_number(text)
        except ValueError:
            return None

    def to_pandas(self):
        """The canonical frame as a pandas DataFrame (nulls as NaN / None)."""
        return self.rows.to_pandas()


def read_sips(
    source: str | Path | bytes, *, name: str | None = None, encoding: str | None = None
) -> SipsFile:
    """Read a SIPS CSV export.

    Parameters
    ----------
    source : str, Path or bytes
        A path, or the file's content.
    name : str, optional
        The file name to use in messages (defaults to the path's name).
    encoding : str, optional
        Force an encoding; by default UTF-8 (with or without BOM) is tried, then
        Windows-1250 or ISO-8859-1 (see :func:`aphos_lib.io.encoding.decode_text`).

    Returns
    -------
    SipsFile

    Raises
    ------
    SipsFormatError
        When mandatory header lines or columns are missing or unreadable.

    Examples
    --------
    >>> sips = read_sips(b"ExposureBegin;2021-11-06T16:27:45.652\\n"
    ...                  b"ExposureEnd;2021-11-06T16:29:15.653\\n"
    ...                  b"Name;RA;Dec;ApAuto\\n;21 41 55.318;+71 18 38.60;saturated\\n")
    >>> sips.rows.num_rows, sips.rows["ap_auto_saturated"][0].as_py()
    (1, True)
    """
    if isinstance(source, bytes):
        data, label = source, name or "<bytes>"
    else:
        path = Path(source)
        data, label = path.read_bytes(), name or path.name
    head_end = _table_body_offset(data)
    if head_end >= 0 and data[head_end:].isascii():
        # The usual file: decode only the header; the ASCII table goes to the CSV parser as
        # the file's own bytes (CRLF included: the parser takes both line ends).
        text, used_encoding = decode_text(data[:head_end], encoding)
        lines = text.split("\n")[:-1]
        table_at = len(lines) - 1
        body = data[head_end:]
    else:
        text, used_encoding = decode_text(data, encoding)
        lines = text.split("\n")
        table_at = _find_table_header([ln.rstrip("\r") for ln in lines])
        if table_at >= 0:
            body = "\n".join(lines[table_at + 1 :]).replace("\r\n", "\n").encode("utf-8")
            lines = lines[: table_at + 1]
    lines = [ln.rstrip("\r") for ln in lines]
    if lines and lines[-1] == "":
        lines.pop()

    header = [_header_line(i + 1, lines[i]) for i in range(table_at if table_at >= 0 else 0)]
    problems = []
    missing = [k for k in MANDATORY_HEADER if not any(h.key == k for h in header)]
    if table_at < 0:
        header = [_header_line(i + 1, ln) for i, ln in enumerate(lines) if _looks_like_header(ln)]
        missing = [k for k in MANDATORY_HEADER if not any(h.key == k for h in header)]
        lacking = _table_header_lacking_columns(lines)
        if lacking:
            problems.append(
                f"the table header row (line {lacking[0]}) lacks the mandatory "
                f"column{'s' if len(lacking[1]) > 1 else ''} " + ", ".join(lacking[1])
            )
        else:
            problems.append(
                "no table header row was found (a line naming the columns, with at least "
                + ", ".join(MANDATORY_COLUMNS)
                + ", such as 'Name;X;Y;ADU;RA;Dec;...;ApAuto;Ap1;...')"
            )
    if missing:
        problems.insert(
            0, "missing header line" + ("s " if len(missing) > 1 else " ") + " and ".join(missing)
        )
    if problems:
        raise SipsFormatError(f"{label}: " + "; ".join(problems))

    begin = _parse_time(header, "ExposureBegin", label)
    end = _parse_time(header, "ExposureEnd", label)
    if end < begin:
        raise SipsFormatError(
            f"{label}: ExposureEnd {end:%Y-%m-%dT%H:%M:%S} is before "
            f"ExposureBegin {begin:%Y-%m-%dT%H:%M:%S}"
        )

    names = [c.strip() for c in lines[table_at].split(";")]
    plan, apertures, warnings = _plan_columns(names, label)
    rows, rejected = _read_rows(body, table_at + 2, names, plan, apertures)
    return SipsFile(
        source=label,
        sha256=hashlib.sha256(data).hexdigest(),
        encoding=used_encoding,
        header=header,
        columns=names,
        table_line=table_at + 1,
        apertures=apertures,
        rows=rows,
        rejected=rejected,
        exposure_begin=begin,
        exposure_end=end,
        warnings=warnings,
    )


def _table_body_offset(data: bytes) -> int:
    """Byte offset just after the table header row, or -1 when it is not near the top.

    Column names are ASCII, so the header row is found in the raw bytes without decoding the
    file (Latin-1 maps every byte to one character, enough to compare names). Lines are taken
    one at a time: the header row is usually about the 25th, and the table after it is long.
    """
    start = 0
    for _ in range(_HEADER_SEARCH_LINES):
        end = data.find(b"\n", start)
        if end < 0:
            return -1
        if _is_table_header(data[start:end].decode("latin-1").rstrip("\r")):
            return end + 1
        start = end + 1
    return -1


def _find_table_header(lines: list[str]) -> int:
    for i, ln in enumerate(lines):
        if _is_table_header(ln):
            return i
    return -1


def _is_table_header(line: str) -> bool:
    return {"ra", "dec", "apauto"} <= {c.strip().lower() for c in line.split(";")}


def _table_header_lacking_columns(lines: list[str]) -> tuple[int, list[str]] | None:
    """A row that names several SIPS columns but not all mandatory ones: (line, missing)."""
    for i, ln in enumerate(lines):
        names = {c.strip().lower() for c in ln.split(";")}
        if len(names & _KNOWN_COLUMNS.keys()) >= 3:
            missing = [c for c in MANDATORY_COLUMNS if c.lower() not in names]
            return i + 1, missing
    return None


def _looks_like_header(line: str) -> bool:
    return line.count(";") == 1


def _header_line(number: int, raw: str) -> HeaderLine:
    key, sep, value = raw.partition(";")
    return HeaderLine(number, key.strip(), value if sep else None, raw)


def _parse_time(header: list[HeaderLine], key: str, label: str) -> datetime:
    line = next(h for h in header if h.key == key)
    text = (line.value or "").strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise SipsFormatError(
            f"{label}: line {line.line}: {key} {text!r} is not a time like "
            "'2021-11-06T16:27:45.652'"
        ) from None
    # SIPS writes UTC without a zone; an explicit offset is honoured.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class _Column:
    index: int
    source: str
    target: str
    kind: str


def _plan_columns(names: list[str], label: str) -> tuple[list[_Column], int, list[str]]:
    """Map the file's columns to canonical ones; reject duplicates and aperture gaps."""
    plan: list[_Column] = []
    seen: dict[str, int] = {}
    warnings: list[str] = []
    aperture_numbers: set[int] = set()
    for i, raw in enumerate(names):
        key = raw.lower()
        if not key:
            continue
        if key in seen:
            raise SipsFormatError(f"{label}: column {raw!r} appears twice in the table header")
        seen[key] = i
        if key in _KNOWN_COLUMNS:
            target, kind = _KNOWN_COLUMNS[key]
        elif m := _APERTURE.match(key):
            number = int(m[1])
            if number == 0:
                raise SipsFormatError(f"{label}: aperture columns are numbered from Ap1")
            aperture_numbers.add(number)
            target, kind = (f"ap{number}_dev", "deviation") if m[2] else (f"ap{number}", "flux")
        else:
            warnings.append(f"column {raw!r} is not a SIPS column APhoS knows; it is not stored")
            continue
        plan.append(_Column(i, raw, target, kind))
    apertures = max(aperture_numbers, default=0)
    gaps = sorted(set(range(1, apertures + 1)) - aperture_numbers)
    if gaps:
        raise SipsFormatError(
            f"{label}: aperture columns must be Ap1..Ap{apertures}; missing "
            + ", ".join(f"Ap{g}" for g in gaps)
        )
    return plan, apertures, warnings


_LONE_CR = re.compile(rb"\r(?!\n)")


def _read_rows(
    body: bytes, first_line: int, names: list[str], plan: list[_Column], apertures: int
) -> tuple[pa.Table, list[RejectedRow]]:
    """Read the table body (``first_line`` is its line number in the file)."""
    width = len(names)
    if body and not body.endswith(b"\n"):
        body += b"\n"
    total, blank_lines, lone_cr = _scan_lines(body)
    if lone_cr:
        # A lone CR is not a line end in a SIPS file, but the CSV parser would start a row
        # there; as a space it leaves the line one row, reported if it is then wrong.
        body = _LONE_CR.sub(b" ", body)
    physical = None
    if blank_lines:
        # Blank lines are not rows; the CSV parser would not count them in its row numbers,
        # so drop them here and keep each remaining line's number in the file.
        kept = [(i, ln) for i, ln in enumerate(body.split(b"\n")[:-1]) if ln.rstrip(b"\r")]
        physical = np.array([i for i, _ in kept], dtype=np.int64) + first_line
        body = b"".join(ln + b"\n" for _, ln in kept)
        total = len(kept)

    def line_of(row_numbers: np.ndarray) -> np.ndarray:  # 1-based CSV rows -> file lines
        return row_numbers - 1 + first_line if physical is None else physical[row_numbers - 1]

    out: dict[str, pa.Array] = {}
    errors: dict[int, list[str]] = {}

    def note(column: str, converted_errors: dict[int, str]) -> None:
        for i, reason in converted_errors.items():
            errors.setdefault(i, []).append(f"{column}: {reason}")

    numeric = [c for c in plan if c.kind in _NUMERIC_KINDS]
    table, typed, short = _typed_read(body, width, numeric) if total else (None, None, [])
    if typed is None:
        table, short = _split_fields(body, width)
    else:
        out.update(typed)
    rejected = [
        RejectedRow(
            int(line_of(np.array([r.number]))[0]),
            f"expected {width} fields separated by ';', found {r.actual_columns}",
        )
        for r in short
        if r.text.strip()  # whitespace-only lines are not rows either
    ]
    good_rows = np.arange(1, total + 1)
    if short:
        good_rows = np.setdiff1d(good_rows, [r.number for r in short])
    good_lines = line_of(good_rows)
    n = table.num_rows
    assert n == len(good_lines), "CSV rows and line numbers must agree"
    out["line"] = pa.array(good_lines.astype(np.int32))

    angles = []
    for col in plan:
        if typed is not None and col.kind in _NUMERIC_KINDS:
            continue
        raw = table.column(col.index).combine_chunks()
        if typed is None or col.kind == "text":
            raw = pc.utf8_trim_whitespace(raw)  # padded angles go to the scalar rules anyway
        if col.kind == "text":
            out[col.target] = conv.to_text(raw)
        elif col.kind in ("ra", "dec"):
            angles.append((col, raw))
        else:
            c = conv.to_numbers(raw, allow_saturated=col.kind in ("flux", "deviation"))
            note(col.source, c.errors)
            out[col.target] = c.to_arrow()
            if col.kind == "flux":
                out[f"{col.target}_saturated"] = pa.array(c.saturated)
    converted = conv.to_angles_many([(raw, col.kind == "ra") for col, raw in angles])
    for (col, _), c in zip(angles, converted, strict=True):
        note(col.source, c.errors)
        out[col.target] = c.to_arrow()
        if col.target in ("ra_deg", "dec_deg"):
            # A measured position is required: an empty RA or Dec makes the row unusable.
            for i in np.flatnonzero(c.null).tolist():
                errors.setdefault(i, []).append(f"{col.source}: is empty")

    if "catalog" in out and "catalog_id" in out:
        has_cat = pc.is_valid(out["catalog"]).to_numpy(zero_copy_only=False)
        has_id = pc.is_valid(out["catalog_id"]).to_numpy(zero_copy_only=False)
        for i in np.flatnonzero(has_cat != has_id).tolist():
            errors.setdefault(i, []).append(
                "Catalog and CatalogId must both be given or both be empty"
            )

    keep = np.ones(n, dtype=bool)
    for i, reasons in errors.items():
        keep[i] = False
        rejected.append(RejectedRow(int(good_lines[i]), "; ".join(reasons)))
    rejected.sort(key=lambda r: r.line)
    table = _canonical(out, n, apertures)
    return (table if keep.all() else table.filter(pa.array(keep))), rejected


def _scan_lines(body: bytes) -> tuple[int, bool, bool]:
    """The number of lines of a body that ends with a newline, whether any is blank, and
    whether it holds a lone CR (one not followed by LF).

    One numpy pass over the bytes: ``bytes.count`` and ``in`` walk a 500 kB table several
    times slower. A lone CR becomes a space, so it changes neither answer.
    """
    text = np.frombuffer(body, dtype=np.uint8)
    ends = np.flatnonzero(text == ord("\n"))
    gaps = np.diff(ends)  # 1: "\n\n"; 2 with a CR between: "\n\r\n"
    blank = (
        body.startswith((b"\n", b"\r\n"))
        or bool((gaps == 1).any())
        or bool(((gaps == 2) & (text[ends[:-1] + 1] == ord("\r"))).any())
    )
    crs = np.flatnonzero(text == ord("\r"))  # the body ends with LF: crs + 1 is in it
    return len(ends), blank, bool((text[crs + 1] != ord("\n")).any())


_NUMERIC_KINDS = ("number", "flux", "deviation")


def _csv(data: bytes, width: int, types: dict[str, pa.DataType]) -> tuple[pa.Table, list]:
    """Parse the body; rows with another number of fields are skipped and returned."""
    short: list = []

    def skip(row) -> str:
        short.append(row)
        return "skip"

    table = pacsv.read_csv(
        io.BytesIO(data),
        # One thread, so that the skipped rows come with their row numbers.
        read_options=pacsv.ReadOptions(
            column_names=[str(i) for i in range(width)],
            use_threads=False,
            block_size=max(1 << 20, len(data) + 1),
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=";",
            quote_char=False,
            escape_char=False,
            newlines_in_values=False,
            ignore_empty_lines=True,
            invalid_row_handler=skip,
        ),
        # Only typed (numeric) columns turn empty cells into nulls; strings stay as written.
        convert_options=pacsv.ConvertOptions(
            column_types=types,
            null_values=[""],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    return table, short


def _split_fields(text: bytes, width: int) -> tuple[pa.Table, list]:
    """Split the rows into string columns with pyarrow's CSV parser (C++)."""
    if not text:
        empty = pa.table({str(i): pa.array([], pa.string()) for i in range(width)})
        return empty, []
    return _csv(text, width, {str(i): pa.string() for i in range(width)})


def _typed_read(
    text: bytes, width: int, numeric: list[_Column]
) -> tuple[pa.Table | None, dict[str, pa.Array] | None, list]:
    """Split the rows and convert every numeric column in one C++ pass, when the file allows.

    The fast path for a well-formed file: ``saturated`` is read as NaN (and must account for
    every NaN), empty cells as null. Anything irregular (a bad number, padding, a NaN or
    infinity written in the file, ``saturated`` outside a flux column) returns no table and
    the file goes through the per-column path, which words the row errors.
    """
    saturated = conv.SATURATED.encode()
    saturated_cells = text.count(saturated)
    types = {str(i): pa.string() for i in range(width)}
    types.update({str(c.index): pa.float64() for c in numeric})
    try:
        table, short = _csv(
            text.replace(saturated, b"nan") if saturated_cells else text, width, types
        )
    except pa.ArrowInvalid:
        return None, None, []
    # Every NaN must be a 'saturated' of a row that was read (skipped rows don't count).
    expected = saturated_cells - sum(r.text.count("nan") for r in short)
    out: dict[str, pa.Array] = {}
    nans = 0
    for col in numeric:
        values = table.column(col.index).combine_chunks()
        array = values.to_numpy(zero_copy_only=False)  # NaN for empty cells and 'saturated'
        missing = np.isnan(array)
        nan = missing
        if values.null_count:
            nan = missing & values.is_valid().to_numpy(zero_copy_only=False)
        if np.isinf(array).any() or (nan.any() and col.kind not in ("flux", "deviation")):
            return None, None, []
        nans += int(nan.sum())
        # Built from numpy with the mask: several times cheaper than pc.if_else.
        out[col.target] = pa.array(array, mask=missing, type=pa.float64()) if nan.any() else values
        if col.kind == "flux":
            out[f"{col.target}_saturated"] = pa.array(nan)
    if nans != expected:
        return None, None, []
    return table, out, short


def _canonical(out: dict[str, pa.Array], n: int, apertures: int) -> pa.Table:
    """Order the columns canonically, adding absent optional ones as nulls."""
    names = list(CANONICAL_COLUMNS)
    for k in range(1, apertures + 1):
        names += [f"ap{k}", f"ap{k}_dev", f"ap{k}_saturated"]
    arrays = []
    for name in names:
        if name in out:
            arrays.append(out[name])
        elif name.endswith("_saturated"):
            arrays.append(pa.array(np.zeros(n, dtype=bool)))
        elif name in ("name", "catalog", "catalog_id"):
            arrays.append(pa.nulls(n, pa.string()))
        else:
            arrays.append(pa.nulls(n, pa.float64()))
    return pa.table(arrays, names=names)
