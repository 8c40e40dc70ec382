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

__all__ = ["AngleParseError", "parse_sexagesimal", "split_sexagesimal"]


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
