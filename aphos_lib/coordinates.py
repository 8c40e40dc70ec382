"""Sexagesimal angles as observers and SIPS write them.

This is the one place that decides what an angle string means. The SIPS reader's vectorised
fast path only accepts the common, unambiguous form and sends everything else here, so the
rules (and the wording of every error) live in one function.

Rules
-----
- RA is in hours (``21 41 55.318``), Dec in degrees (``+71 18 38.60``).
- Fields are separated by spaces, colons, or unit letters (``21h41m55.3s``, ``71d18m38.6s``,
  ``71°18'38.6"``).
- The sign belongs to the whole angle: ``-00 10 00`` is -0.1667 deg and ``+00 30 00`` is
  +0.5 deg. (The original APhoS read the sign from the degrees field and so put every
  declination between 0 and -1 deg on the wrong side of the equator.)
- Minutes must be below 60 and seconds at most 60. Exactly ``60`` seconds is accepted as the
  carry that SIPS writes when it rounds 59.995... up (the published SIPS test files contain
  ``+69 31 60.00``); anything above is an error.
- RA must be below 24 h (a rounding carry to exactly 24 h wraps to 0 h); |Dec| at most 90 deg.
"""

from __future__ import annotations

import math
import re

import numpy as np

__all__ = [
    "AngleParseError",
    "format_dec",
    "format_ra",
    "parse_dec",
    "parse_radius",
    "parse_ra",
    "parse_sexagesimal",
    "sky_position",
    "split_sexagesimal",
    "unit_vectors",
    "vector_separation_arcsec",
]


class AngleParseError(ValueError):
    """An angle string that cannot be read; the message says why."""


_SEXAGESIMAL = re.compile(
    r"""^\s*(?P<sign>[+-]?)\s*
        (?P<a>\d+(?:\.\d*)?)\s*(?:[hHdD°:]\s*|\s+)
        (?P<b>\d+(?:\.\d*)?)\s*(?:[mM':′]\s*|\s+)
        (?P<c>\d+(?:\.\d*)?|\.\d+)\s*(?:[sS"″]|'')?\s*$""",
    re.VERBOSE,
)


def split_sexagesimal(text: str) -> tuple[int, float, float, float]:
    """Split a sexagesimal string into its sign and three fields, without range checks.

    Parameters
    ----------
    text : str
        For example ``"21 41 55.318"``, ``"-00:10:00"`` or ``"21h41m55.3s"``.

    Returns
    -------
    tuple
        ``(sign, first, minutes, seconds)`` with ``sign`` being +1 or -1.

    Raises
    ------
    AngleParseError
        When the string does not have three numeric fields.

    Examples
    --------
    >>> split_sexagesimal("-00 10 00")
    (-1, 0.0, 10.0, 0.0)
    """
    match = _SEXAGESIMAL.match(text)
    if match is None:
        stripped = text.strip()
        if not stripped:
            raise AngleParseError("is empty")
        raise AngleParseError(f"{stripped!r} is not a sexagesimal angle like '12 34 56.7'")
    sign = -1 if match["sign"] == "-" else 1
    return sign, float(match["a"]), float(match["b"]), float(match["c"])


def parse_sexagesimal(text: str, *, hours: bool) -> float:
    """Read a sexagesimal angle and return it in degrees.

    Parameters
    ----------
    text : str
        The angle as written, e.g. ``"21 41 55.318"`` (hours) or ``"+71 18 38.60"`` (degrees).
    hours : bool
        True for right ascension (hours, must be below 24), False for declination
        (degrees, at most 90 in absolute value).

    Returns
    -------
    float
        The angle in degrees.

    Raises
    ------
    AngleParseError
        With a message naming the problem (bad form, minutes or seconds out of range,
        RA of 24 h or more, |Dec| above 90 deg).

    Examples
    --------
    >>> parse_sexagesimal("+00 30 00", hours=False)
    0.5
    >>> round(parse_sexagesimal("-00 10 00", hours=False), 4)
    -0.1667
    >>> parse_sexagesimal("01 00 00", hours=True)
    15.0
    """
    sign, first, minutes, seconds = split_sexagesimal(text)
    stripped = text.strip()
    if minutes >= 60:
        raise AngleParseError(f"{stripped!r}: minutes {minutes:g} must be below 60")
    if seconds > 60:
        raise AngleParseError(f"{stripped!r}: seconds {seconds:g} must be below 60")
    if (first != int(first) and (minutes or seconds)) or (minutes != int(minutes) and seconds):
        raise AngleParseError(f"{stripped!r}: only the last field may have a fraction")
    value = first + minutes / 60.0 + seconds / 3600.0
    if hours:
        if sign < 0:
            raise AngleParseError(f"{stripped!r}: right ascension cannot be negative")
        if first >= 24 or value > 24:
            raise AngleParseError(f"{stripped!r}: right ascension must be below 24 h")
        # 23 59 60.000 is SIPS rounding 23 59 59.9996 up: it is 0 h, not an error.
        return math.fmod(value, 24.0) * 15.0
    if value > 90:
        raise AngleParseError(f"{stripped!r}: declination must be within -90..+90 deg")
    return sign * value


# --- Positions and radii as observers type them in a search -----------------------------------

_DECIMAL = re.compile(
    r"^\s*(?P<value>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(?P<unit>[a-z°'\"″′]*)\s*$"
)
_HOUR_UNITS = {"h", "hr", "hour", "hours"}
_DEGREE_UNITS = {"", "d", "deg", "degree", "degrees", "°"}
_RADIUS_UNITS = {
    **dict.fromkeys(_DEGREE_UNITS, 1.0),
    **dict.fromkeys(("'", "′", "m", "arcmin", "amin"), 1 / 60),
    **dict.fromkeys(('"', "″", "''", "s", "arcsec", "asec"), 1 / 3600),
    "mas": 1 / 3_600_000,
}


def _quantity_degrees(value) -> float | None:
    """Degrees of an astropy Angle or Quantity, None for anything else."""
    to = getattr(value, "to_value", None)
    if to is None:
        return None
    import astropy.units as u

    return float(to(u.deg))


def _typed(value) -> tuple[float | None, str, re.Match | None]:
    """What a typed angle is: degrees when it is a number or an astropy quantity (else None),
    its text, and the match of that text as a plain number with an optional unit (None when
    the text is something else, e.g. sexagesimal)."""
    degrees = _quantity_degrees(value)
    if degrees is None and isinstance(value, int | float):
        degrees = float(value)
    if degrees is not None:
        return degrees, "", None
    text = str(value).strip()
    return None, text, _DECIMAL.match(text.lower())


def parse_ra(value) -> float:
    """Read a right ascension as observers type it and return degrees in [0, 360).

    A sexagesimal string is in hours (``21 41 55.3``, ``21:41:55.3``, ``21h41m55.3s``); a
    bare number, or a string holding one, is in degrees (``325.48``), unless it carries an
    hour unit (``21.7h``). Astropy angles and quantities keep their units.

    Examples
    --------
    >>> round(parse_ra("21 41 55.3"), 5)
    325.48042
    >>> parse_ra("325.5")
    325.5
    >>> parse_ra("1.5h")
    22.5
    """
    degrees, text, match = _typed(value)
    if degrees is None:
        if match is None:
            return parse_sexagesimal(text, hours=True)
        unit = match["unit"]
        if unit in _HOUR_UNITS:
            degrees = float(match["value"]) * 15.0
        elif unit in _DEGREE_UNITS:
            degrees = float(match["value"])
        else:
            raise AngleParseError(f"{text!r}: unknown unit {unit!r} for a right ascension")
    if not 0 <= degrees <= 360 or math.isnan(degrees):
        raise AngleParseError(f"right ascension {degrees:g} deg must be within 0..360 deg")
    return math.fmod(degrees, 360.0)


def parse_dec(value) -> float:
    """Read a declination (sexagesimal or decimal, in degrees) and return degrees.

    Examples
    --------
    >>> round(parse_dec("+71 18 38.6"), 5)
    71.31072
    >>> parse_dec("-0.5")
    -0.5
    """
    degrees, text, match = _typed(value)
    if degrees is None:
        if match is None:
            return parse_sexagesimal(text, hours=False)
        if match["unit"] not in _DEGREE_UNITS:
            raise AngleParseError(f"{text!r}: unknown unit {match['unit']!r} for a declination")
        degrees = float(match["value"])
    if not -90 <= degrees <= 90:
        raise AngleParseError(f"declination {degrees:g} deg must be within -90..+90 deg")
    return degrees


def parse_radius(value) -> float:
    """Read a search radius and return degrees.

    A bare number is in degrees; a string may carry a unit: ``20arcsec``, ``20"``,
    ``3arcmin``, ``3'``, ``0.5deg``. Astropy quantities keep their units.

    Examples
    --------
    >>> parse_radius("3arcmin")
    0.05
    >>> parse_radius(0.5)
    0.5
    """
    degrees, text, match = _typed(value)
    if degrees is None:
        if match is None or match["unit"] not in _RADIUS_UNITS:
            raise AngleParseError(
                f"{text!r} is not a radius like '0.5', '0.5deg', '3arcmin' or '20arcsec'"
            )
        degrees = float(match["value"]) * _RADIUS_UNITS[match["unit"]]
    if not 0 < degrees <= 180:
        raise AngleParseError(f"radius {degrees:g} deg must be above 0 and at most 180 deg")
    return degrees


def sky_position(ra=None, dec=None, coord=None) -> tuple[float, float]:
    """RA and Dec in degrees (ICRS) from typed values or an astropy ``SkyCoord``.

    Examples
    --------
    >>> sky_position("00 00 00", "-00 10 00")
    (0.0, -0.16666666666666666)
    """
    if coord is not None:
        if ra is not None or dec is not None:
            raise ValueError("give either a SkyCoord or ra and dec, not both")
        icrs = coord.icrs
        return float(icrs.ra.deg), float(icrs.dec.deg)
    if ra is None or dec is None:
        raise ValueError("a position needs both ra and dec")
    return parse_ra(ra), parse_dec(dec)


# --- Writing angles ------------------------------------------------------------------------


def _fields(value: float, decimals: int) -> tuple[int, int, int, int]:
    """(first, minutes, whole seconds, fraction as an integer) of |value|, rounded once so a
    carry never writes 60 seconds."""
    scale = 10**decimals
    total = round(abs(value) * 3600 * scale)
    first, rest = divmod(total, 3600 * scale)
    minutes, rest = divmod(rest, 60 * scale)
    seconds, fraction = divmod(rest, scale)
    return first, minutes, seconds, fraction


def format_ra(ra_deg: float, style: str = "hms", decimals: int = 3) -> str:
    """A right ascension (degrees) in hours: ``21h30m59.150s`` (``style="hms"``),
    ``21 30 59.150`` (``"space"``) or ``21:30:59.150`` (``"colon"``).

    Examples
    --------
    >>> format_ra(322.7464583)
    '21h30m59.150s'
    >>> format_ra(359.99999999, "colon")
    '00:00:00.000'
    """
    hours, minutes, seconds, fraction = _fields(math.fmod(ra_deg, 360.0) / 15.0, decimals)
    hours %= 24  # 23:59:59.9996 rounds up to 24 h, which is 0 h
    tail = f".{fraction:0{decimals}d}" if decimals else ""
    if style == "hms":
        return f"{hours:02d}h{minutes:02d}m{seconds:02d}{tail}s"
    separator = {"space": " ", "colon": ":"}[style]
    return f"{hours:02d}{separator}{minutes:02d}{separator}{seconds:02d}{tail}"


def format_dec(dec_deg: float, style: str = "dms", decimals: int = 2) -> str:
    """A declination (degrees): ``+70°49'23.58"`` (``style="symbols"``, the original
    APhoS's), ``+70d49m23.58s`` (``"dms"``), ``+70 49 23.58`` (``"space"``) or
    ``+70:49:23.58`` (``"colon"``). The sign is always written, also for -0.

    Examples
    --------
    >>> format_dec(-10 / 60, "space")
    '-00 10 00.00'
    >>> print(format_dec(70.8232167, "symbols"))
    +70°49'23.58"
    """
    degrees, minutes, seconds, fraction = _fields(dec_deg, decimals)
    sign = "-" if dec_deg < 0 and (degrees or minutes or seconds or fraction) else "+"
    tail = f".{fraction:0{decimals}d}" if decimals else ""
    marks = {
        "symbols": ("°", "'", '"'),
        "dms": ("d", "m", "s"),
        "space": (" ", " ", ""),
        "colon": (":", ":", ""),
    }[style]
    return f"{sign}{degrees:02d}{marks[0]}{minutes:02d}{marks[1]}{seconds:02d}{tail}{marks[2]}"


def unit_vectors(ra_deg, dec_deg) -> np.ndarray:
    """Positions as unit vectors (one row each): what a k-d tree of the sky is built on.

    Examples
    --------
    >>> unit_vectors(np.array([90.0]), np.array([0.0])).round(12).tolist()
    [[0.0, 1.0, 0.0]]
    """
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    return np.column_stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)])


def vector_separation_arcsec(chord) -> np.ndarray:
    """The angle, in arcseconds, between unit vectors ``chord`` apart (exact at any angle).

    Examples
    --------
    >>> chord = 2 * math.sin(math.radians(1 / 3600) / 2)
    >>> round(float(vector_separation_arcsec(np.array([chord]))[0]), 12)
    1.0
    """
    return np.degrees(2 * np.arcsin(np.minimum(np.asarray(chord) / 2, 1.0))) * 3600
