"""A catalogue of the odd cases a page must open with, from crafted copies of a real export.

The demo data has five observers on every field; a new observer's first field has one. Here
one observer (``OBSERVER``) uploads four files made from the SIPS fixture
``correct_file.csv`` (GK Cep's field, 2021-11-06): the export itself and two copies 30 and
60 minutes later (the last without a ``Filter`` header line), all one night, and a fourth
file on the next night with a few stars and not GK Cep. Rows are taken out of some copies so
that each pair of stars below is one case:

======================  ===============================================================
GK Cep against          gives
======================  ===============================================================
``CMP``                 3 points, one observer, one night
``ONE_POINT``           1 point (the star is only in the first image)
``SATURATED``           3 images, every one saturated: nothing left while they are hidden
``ELSEWHERE``           no image in common (the star is only in the next night's file)
``ENSEMBLE`` + check    an ensemble of two with a check star, 3 points
======================  ===============================================================
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from aphos_lib.ingest import ingest_files

__all__ = [
    "CHECK",
    "CMP",
    "ELSEWHERE",
    "ENSEMBLE",
    "GK_CEP",
    "OBSERVER",
    "ONE_POINT",
    "SATURATED",
    "crafted_files",
    "load_odd_catalogue",
]

OBSERVER = "firstlight"
GK_CEP = "UCAC4:805-031770"
CMP = "UCAC4:803-032417"
SATURATED = "UCAC4:807-030174"  # saturated in correct_file.csv, in every aperture
ONE_POINT = "UCAC4:784-035568"
ELSEWHERE = "UCAC4:801-032283"
ENSEMBLE = [CMP, "UCAC4:792-035514"]
CHECK = "UCAC4:779-040824"
# The stars of the next night's file: not GK Cep, so ELSEWHERE never shares its image.
NEXT_NIGHT_STARS = {ELSEWHERE, CMP, "UCAC4:792-035514"}

_TIMES = ("ExposureBegin", "Exposure", "ExposureEnd")
_DAYS = ("JDBegin", "JDEnd", "GJD", "HJD")


def _catalog_id(ref: str) -> str:
    return ref.split(":", 1)[1]


def _shifted(
    lines: list[str], minutes: float, *, keep, filter_line: bool = True, gk_cep_factor: float = 1.0
) -> list[str]:
    """The export's lines ``minutes`` later, with only the rows whose catalogue id ``keep``
    accepts (unmatched rows are kept), and GK Cep's fluxes scaled (so the curve is not flat)."""
    out = []
    in_table = False
    for line in lines:
        key, _, value = line.partition(";")
        if not in_table and key in _TIMES:
            t = dt.datetime.fromisoformat(value) + dt.timedelta(minutes=minutes)
            line = f"{key};{t.isoformat(timespec='milliseconds')}"
        elif not in_table and key in _DAYS:
            line = f"{key};{float(value) + minutes / 1440:.8f}"
        elif not in_table and key == "Filter" and not filter_line:
            continue
        elif key == "Name":
            in_table = True
        elif in_table:
            fields = line.split(";")
            catalog_id = fields[7]
            if catalog_id and not keep(catalog_id):
                continue
            if catalog_id == _catalog_id(GK_CEP) and gk_cep_factor != 1.0:
                fields[15:] = [
                    f"{float(v) * gk_cep_factor:.3f}" if v != "saturated" else v
                    for v in fields[15:]
                ]
                line = ";".join(fields)
        out.append(line)
    return out


def crafted_files(original: Path, directory: Path) -> list[Path]:
    """Write the four files (ISO-8859-1, CRLF, as SIPS writes them) into ``directory``."""
    lines = original.read_bytes().decode("latin-1").split("\r\n")
    if lines[-1] == "":
        lines = lines[:-1]
    one_point, elsewhere = _catalog_id(ONE_POINT), _catalog_id(ELSEWHERE)
    next_night = {_catalog_id(r) for r in NEXT_NIGHT_STARS}
    variants = {
        "first.csv": _shifted(lines, 0, keep=lambda c: c != elsewhere),
        "second.csv": _shifted(
            lines, 30, keep=lambda c: c not in (one_point, elsewhere), gk_cep_factor=0.95
        ),
        "third-no-filter.csv": _shifted(
            lines,
            60,
            keep=lambda c: c not in (one_point, elsewhere),
            filter_line=False,
            gk_cep_factor=0.9,
        ),
        "next-night.csv": _shifted(lines, 24 * 60 + 30, keep=lambda c: c in next_night),
    }
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in variants.items():
        path = directory / name
        path.write_bytes(("\r\n".join(text) + "\r\n").encode("latin-1"))
        paths.append(path)
    return paths


def load_odd_catalogue(catalogue, original: Path, directory: Path) -> None:
    """Ingest the crafted files into ``catalogue`` as :data:`OBSERVER`'s one upload."""
    outcomes = ingest_files(catalogue, crafted_files(original, directory), observer=OBSERVER)
    assert [o.status for o in outcomes] == ["stored"] * 4, outcomes
