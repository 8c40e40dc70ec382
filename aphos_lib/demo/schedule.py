"""Which images were taken: observing sessions over an autumn season, runs of exposures.

Every observer gets a share of the sessions (clear nights) between :data:`SEASON_START` and
the end of November 2021, never two on one night. A session observes the field that is
best placed that night among those that are dark and above :data:`MIN_ALTITUDE_DEG` for
long enough, in a few runs of consecutive exposures spread over the time the field is up,
so that the light curves cover many phases of the variables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from aphos_lib.demo.observers import Camera, ObserverInfo
from aphos_lib.demo.observing import (
    UNIX_EPOCH_JD,
    altitude_deg,
    jd_from_unix_ms,
    sun_position_deg,
)
from aphos_lib.demo.sky import FieldInfo

__all__ = ["SEASON_NIGHTS", "SEASON_START_MS", "Exposure", "Session", "plan_sessions"]

SEASON_START_MS = 1_630_454_400_000  # 2021-09-01T00:00:00 UTC
SEASON_NIGHTS = 91  # to the night of 2021-11-30
MIN_ALTITUDE_DEG = 30.0
DARK_SUN_ALTITUDE_DEG = -12.0  # nautical twilight is dark enough for V photometry of bright stars
MIN_WINDOW_H = 1.5
IMAGES_PER_SESSION = 5.5
CAMPAIGN_IMAGES_PER_SESSION = 40  # a timing campaign's series through a night
CAMPAIGN_SEASONS = 3  # autumns 2021-2023: a timing baseline of about 1,170 cycles of GK Cep
FIELD_WEIGHTS = {"gk_cep": 0.55, "demo_rr1": 0.25, "demo_ds1": 0.2}
_GRID_STEP_MS = 5 * 60_000
_DAY_MS = 86_400_000


@dataclass(frozen=True)
class Exposure:
    """One image: times in integer milliseconds since 1970-01-01 UTC."""

    begin_ms: int
    end_ms: int
    exposure_s: float

    @property
    def mid_ms(self) -> int:
        # Rounded half up, as SIPS does: begin .652 and end .653 give a middle of .653.
        return (self.begin_ms + self.end_ms + 1) // 2


@dataclass(frozen=True)
class Session:
    """One observer's night on one field."""

    observer: str
    field: str
    night: int  # nights after the season's start (the evening's date)
    exposures: tuple[Exposure, ...]


def _night_grid_ms(night: int, longitude_deg: float) -> np.ndarray:
    # From local noon to the next local noon (mean solar time from the longitude).
    noon = SEASON_START_MS + night * _DAY_MS + int(round((12.0 - longitude_deg / 15.0) * 3.6e6))
    return noon + np.arange(0, _DAY_MS, _GRID_STEP_MS, dtype=np.int64)


def _observable(
    grid_ms: np.ndarray, observer: ObserverInfo, field: FieldInfo, sun: tuple[np.ndarray, ...]
) -> tuple[int, int]:
    """The longest stretch of the night when it is dark and the field is high enough."""
    jd = jd_from_unix_ms(grid_ms)
    lon, lat = observer.longitude_deg, observer.latitude_deg
    dark = altitude_deg(jd, sun[0], sun[1], lon, lat) < DARK_SUN_ALTITUDE_DEG
    up = altitude_deg(jd, field.centre_ra_deg, field.centre_dec_deg, lon, lat) > MIN_ALTITUDE_DEG
    ok = np.concatenate([[False], dark & up, [False]])
    edges = np.flatnonzero(np.diff(ok.astype(np.int8)))
    if edges.size == 0:
        # Never happens for the demo's sites and fields; an hour around local midnight keeps
        # the plan valid if someone adds a field that a site cannot see.
        midnight = int(grid_ms[grid_ms.size // 2])
        return midnight - 1_800_000, midnight + 1_800_000
    starts, stops = edges[0::2], edges[1::2]
    best = int(np.argmax(stops - starts))
    return int(grid_ms[starts[best]]), int(grid_ms[stops[best] - 1])


def _around_minimum(
    rng: np.random.Generator, window: tuple[int, int], epoch_jd: float, period_d: float
) -> tuple[int, int]:
    """Narrow a night's window to +-0.12 in phase around a minimum inside it, if any."""
    start, stop = (float(jd_from_unix_ms(t)) for t in window)
    half = period_d / 2
    first = np.ceil((start - epoch_jd) / half)
    times = epoch_jd + half * np.arange(first, np.floor((stop - epoch_jd) / half) + 1)
    if times.size == 0:
        return window
    centre_ms = (float(rng.choice(times)) - UNIX_EPOCH_JD) * _DAY_MS
    reach_ms = 0.12 * period_d * _DAY_MS
    narrowed = (
        max(window[0], int(centre_ms - reach_ms)),
        min(window[1], int(centre_ms + reach_ms)),
    )
    return narrowed if narrowed[1] - narrowed[0] >= 3_600_000 else window


def _runs(rng: np.random.Generator, count: int) -> list[int]:
    sizes: list[int] = []
    while sum(sizes) < count:
        sizes.append(int(rng.integers(1, 5)))
    sizes[-1] -= sum(sizes) - count
    return [s for s in sizes if s > 0]


def _place_runs(
    rng: np.random.Generator,
    window: tuple[int, int],
    count: int,
    exposure_s: float,
    readout_s: float,
) -> tuple[Exposure, ...]:
    sizes = _runs(rng, count)
    cadence_ms = int(round((exposure_s + readout_s) * 1000))
    durations = [size * cadence_ms for size in sizes]
    free = window[1] - window[0] - sum(durations)
    # Random gaps between the runs, so that the runs spread over the whole window; when the
    # window is too short for them all the runs follow each other from its start.
    gaps = rng.dirichlet(np.ones(len(sizes) + 1)) * max(free, 0)
    exposures = []
    t = window[0]
    for size, duration, gap in zip(sizes, durations, gaps[:-1], strict=True):
        t += int(gap)
        begin = t
        for _ in range(size):
            # Shutter and clock jitter of a millisecond or two, as in real headers.
            end = begin + int(round(exposure_s * 1000)) + int(rng.integers(0, 3))
            exposures.append(Exposure(begin, end, exposure_s))
            begin = begin + cadence_ms + int(rng.integers(0, 1500))
        t += duration + size * 1500
    return tuple(exposures)


def _place_series(
    rng: np.random.Generator, window: tuple[int, int], count: int, exposure_s: float
) -> tuple[Exposure, ...]:
    """A monitoring series: ``count`` exposures evenly over the window, as a timing observer
    takes them through a minimum (a few seconds of jitter)."""
    step = (window[1] - window[0]) / max(count, 1)
    exposures = []
    for k in range(count):
        begin = window[0] + int(k * step) + int(rng.integers(0, 3000))
        end = begin + int(round(exposure_s * 1000)) + int(rng.integers(0, 3))
        exposures.append(Exposure(begin, end, exposure_s))
    return tuple(exposures)


def plan_sessions(
    rng: np.random.Generator,
    images: int,
    observers: Sequence[ObserverInfo],
    cameras: Mapping[str, Camera],
    fields: Sequence[FieldInfo],
    exposure_choices: Mapping[tuple[str, str], Sequence[float]],
    minima: Mapping[str, tuple[float, float]] | None = None,
    campaign: bool = False,
) -> list[Session]:
    """Plan the season: sessions with their exposures, ``images`` exposures in all.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of every random choice.
    images : int
        Total number of exposures (at least 1).
    observers : sequence of ObserverInfo
        Who observes; each gets sessions in proportion to their camera's ``weight``.
    cameras : mapping
        Camera of each observer (read-out time, weight).
    fields : sequence of FieldInfo
        The fields to choose from each night.
    exposure_choices : mapping
        ``{(username, field): exposure times in s}`` that keep the field's target and
        comparison star unsaturated with that observer's camera.
    minima : mapping, optional
        ``{field: (epoch_jd, period_d)}`` of fields whose target is an eclipsing binary.
        Observers of eclipsing binaries plan many nights around a predicted minimum
        (primary or secondary) to time it; half of such sessions here do, when a minimum
        falls in the night.
    campaign : bool
        A timing campaign instead of a season's survey: sessions of about
        :data:`CAMPAIGN_IMAGES_PER_SESSION` exposures, each an even series over its window
        (through the minimum when one was planned), not runs of 1 to 4 scattered over it,
        in the autumns of :data:`CAMPAIGN_SEASONS` successive years.

    Returns
    -------
    list of Session
        Ordered by observer (as given) and night.
    """
    if images < 1:
        raise ValueError("images must be at least 1")
    per_session = CAMPAIGN_IMAGES_PER_SESSION if campaign else IMAGES_PER_SESSION
    n_sessions = max(1, min(images, int(round(images / per_session))))
    weights = np.array([cameras[o.username].weight for o in observers])
    if n_sessions >= len(observers):
        per_observer = 1 + rng.multinomial(n_sessions - len(observers), weights / weights.sum())
    else:
        per_observer = np.zeros(len(observers), dtype=int)
        chosen = rng.choice(len(observers), n_sessions, replace=False, p=weights / weights.sum())
        per_observer[chosen] = 1
    # A campaign observes the same autumn season in successive years.
    seasons = CAMPAIGN_SEASONS if campaign else 1
    available = np.concatenate([365 * k + np.arange(SEASON_NIGHTS) for k in range(seasons)])
    per_observer = np.minimum(per_observer, len(available))

    planned: list[tuple[ObserverInfo, int, FieldInfo, tuple[int, int]]] = []
    for observer, count in zip(observers, per_observer.tolist(), strict=True):
        nights = np.sort(rng.choice(available, count, replace=False))
        for night in nights.tolist():
            grid = _night_grid_ms(night, observer.longitude_deg)
            sun = sun_position_deg(jd_from_unix_ms(grid))
            windows = [_observable(grid, observer, f, sun) for f in fields]
            hours = np.array([(w[1] - w[0]) / 3.6e6 for w in windows])
            good = hours >= MIN_WINDOW_H
            if good.any():
                p = np.array([FIELD_WEIGHTS.get(f.name, 0.2) for f in fields]) * good
                pick = int(rng.choice(len(fields), p=p / p.sum()))
            else:
                pick = int(np.argmax(hours))
            window = windows[pick]
            if minima and fields[pick].name in minima and rng.random() < 0.5:
                window = _around_minimum(rng, window, *minima[fields[pick].name])
            planned.append((observer, night, fields[pick], window))

    # Every session gets at least one image; the rest go where the nights are longer.
    lengths = np.array([max(w[1] - w[0], _GRID_STEP_MS) for *_, w in planned], dtype=float)
    counts = 1 + rng.multinomial(images - len(planned), lengths / lengths.sum())
    sessions = []
    for (observer, night, field, window), count in zip(planned, counts.tolist(), strict=True):
        camera = cameras[observer.username]
        exposure_s = float(rng.choice(exposure_choices[(observer.username, field.name)]))
        if campaign:
            exposures = _place_series(rng, window, count, exposure_s)
        else:
            exposures = _place_runs(rng, window, count, exposure_s, camera.readout_s)
        sessions.append(Session(observer.username, field.name, night, exposures))
    return sessions
