"""Which aperture a star is measured in, night by night: ApAuto or SIPS's aperture 1..N.

The light-curve reads, the REST API and the dashboards all take an :class:`ApertureChoice`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["AUTO", "ApertureChoice"]

AUTO = 0  # the aperture number that stands for ApAuto


@dataclass(frozen=True)
class ApertureChoice:
    """Which aperture a star is measured in, night by night.

    ``default`` applies to every night not named in ``nights``; apertures are numbered as in
    SIPS (1..N) and :data:`AUTO` (0) stands for ApAuto.

    Examples
    --------
    >>> ApertureChoice.parse("auto")
    ApertureChoice(default=0, nights={})
    >>> ApertureChoice.parse({"2021-11-06": 3}).for_night(dt.date(2021, 11, 6))
    3
    """

    default: int = AUTO
    nights: Mapping[dt.date, int] = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.nights is None:
            object.__setattr__(self, "nights", {})

    @staticmethod
    def _number(value) -> int:
        if value is None or (isinstance(value, str) and value.strip().lower() in ("auto", "")):
            return AUTO
        number = int(value)
        if number < 0:
            raise ValueError(f"aperture {value!r} must be 'auto' or a number from 1")
        return number

    @classmethod
    def parse(cls, value) -> ApertureChoice:
        """From ``"auto"``, an aperture number, or a mapping of nights to either.

        A mapping may name its default under the key ``"default"``.
        """
        if isinstance(value, ApertureChoice):
            return value
        if isinstance(value, Mapping):
            nights = {}
            default = AUTO
            for key, aperture in value.items():
                if key == "default":
                    default = cls._number(aperture)
                else:
                    nights[_night(key)] = cls._number(aperture)
            return cls(default, nights)
        return cls(cls._number(value), {})

    def for_night(self, night: dt.date) -> int:
        """The aperture number used on ``night``."""
        return self.nights.get(night, self.default)

    def describe(self) -> str:
        """A one-line summary, for metadata: ``auto``, ``3`` or ``auto; 2021-11-06: 3``."""
        name = "auto" if self.default == AUTO else str(self.default)
        exceptions = "; ".join(
            f"{n.isoformat()}: {'auto' if k == AUTO else k}" for n, k in sorted(self.nights.items())
        )
        return f"{name}; {exceptions}" if exceptions else name


def _night(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))
