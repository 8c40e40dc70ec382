"""Copies of a SIPS export as other observers' SIPS would write the same night: matched
against another catalogue, or with other astrometry."""

from __future__ import annotations

__all__ = ["jittered", "usno_copy"]


def usno_copy(text: str) -> str:
    """correct_file.csv as another observer's SIPS would export it against USNO-B1.0: other
    ids, catalogue positions 0.3" north, magnitudes 0.3 fainter."""
    out = []
    for line in text.split("\r\n"):
        fields = line.split(";")
        if len(fields) > 12 and fields[6] == "UCAC4":
            deg, minutes, seconds = fields[9].split()
            if float(seconds) < 59:
                fields[9] = f"{deg} {minutes} {float(seconds) + 0.3:05.2f}"
            fields[6], fields[7] = "USNO-B1.0", "1" + fields[7].replace("-", "")
            if fields[10]:
                fields[10] = f"{float(fields[10]) + 0.3:.2f}"
        out.append(";".join(fields))
    return "\r\n".join(out)


def jittered(text: str, arcsec: float) -> str:
    """The same export with every measured Dec moved by ``arcsec`` (another observer's
    astrometry of the same night)."""
    out = []
    for line in text.split("\r\n"):
        fields = line.split(";")
        if len(fields) > 12 and fields[5][:1] in "+-" and fields[0] != "Name":
            deg, minutes, seconds = fields[5].split()
            if 1 <= float(seconds) < 59:
                fields[5] = f"{deg} {minutes} {float(seconds) + arcsec:05.2f}"
        out.append(";".join(fields))
    return "\r\n".join(out)
