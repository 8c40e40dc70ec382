"""Rebuild ``data/gk_cep_field.csv``, the real star list of the GK Cep demo field.

The demo ships the list as package data so that generating demo files never needs the
fixtures. This module records how the list was made: the UCAC4 stars that SIPS matched in
the published SIPS export ``correct_file.csv`` (one CCD image around GK Cep, 2021-11-06),
within :data:`RADIUS_DEG` of GK Cep, the :data:`MAX_STARS` brightest, one line per
catalogue star with the catalogue's own position, magnitude and colours.

Run it from the repository root when the source file changes::

    python -m aphos_lib.demo.build_field_data path/to/correct_file.csv
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

from aphos_lib.demo.astrometry import angular_separation_deg

__all__ = ["DATA_FILE", "MAX_STARS", "RADIUS_DEG", "build_gk_cep_field"]

DATA_FILE = Path(__file__).with_name("data") / "gk_cep_field.csv"
RADIUS_DEG = 1.5
MAX_STARS = 300
GK_CEP_ID = "805-031770"
# Names kept from the observer's Name column: real variable stars with a GCVS name. Labels
# such as "comp GK" are one observer's notes, not star names, and the WISE designation names
# a star whose variability the demo does not model, so those stars stay unnamed.
KEPT_NAMES = frozenset({"GK Cep", "EK Cep"})
COLUMNS = ("catalog_id", "name", "ra_deg", "dec_deg", "catalog_mag", "bv", "jk")


def _sexagesimal_deg(text: str, *, hours: bool) -> float:
    sign = -1.0 if text.strip().startswith("-") else 1.0
    a, b, c = (abs(float(part)) for part in text.split())
    value = a + b / 60.0 + c / 3600.0
    return value * 15.0 if hours else sign * value


def build_gk_cep_field(source: Path) -> list[dict[str, str]]:
    """Read the SIPS export and return the demo field's star list as CSV records.

    Parameters
    ----------
    source : Path
        The SIPS file ``correct_file.csv`` (ISO-8859-1, 23 header lines).

    Returns
    -------
    list of dict
        One record per catalogue star, brightest first, with the keys of :data:`COLUMNS`;
        the position in degrees to 1e-9 deg, so that it formats back to the catalogue's
        sexagesimal strings exactly.
    """
    lines = source.read_bytes().decode("iso-8859-1").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Name;"))
    table = list(csv.DictReader(lines[start:], delimiter=";"))
    stars: dict[str, dict[str, str]] = {}
    for row in table:
        # SIPS sometimes matches two detections to one catalogue star; the catalogue values
        # are the same on both rows, so the first is as good as any.
        if row["Catalog"] != "UCAC4" or row["CatalogId"] in stars:
            continue
        stars[row["CatalogId"]] = row
    rows = list(stars.values())
    ra = np.array([_sexagesimal_deg(r["CatalogRA"], hours=True) for r in rows])
    dec = np.array([_sexagesimal_deg(r["CatalogDec"], hours=False) for r in rows])
    centre = stars[GK_CEP_ID]
    sep = angular_separation_deg(
        ra,
        dec,
        _sexagesimal_deg(centre["CatalogRA"], hours=True),
        _sexagesimal_deg(centre["CatalogDec"], hours=False),
    )
    mag = np.array([float(r["CatalogMag"]) for r in rows])
    inside = np.flatnonzero(sep <= RADIUS_DEG)
    chosen = inside[np.lexsort((ra[inside], mag[inside]))][:MAX_STARS]
    return [
        {
            "catalog_id": rows[i]["CatalogId"],
            "name": rows[i]["Name"] if rows[i]["Name"] in KEPT_NAMES else "",
            "ra_deg": f"{ra[i]:.9f}",
            "dec_deg": f"{dec[i]:.9f}",
            "catalog_mag": rows[i]["CatalogMag"],
            "bv": rows[i]["CatalogBV"],
            "jk": rows[i]["CatalogJK"],
        }
        for i in chosen
    ]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    records = build_gk_cep_field(Path(args[0]))
    DATA_FILE.parent.mkdir(exist_ok=True)
    with DATA_FILE.open("w", encoding="ascii", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    print(f"wrote {len(records)} stars to {DATA_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
