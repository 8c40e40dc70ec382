"""Analysis steps the shared notebooks take, each one call: stars, apertures, periods, observers.

- :func:`rank_comparison_stars`: candidate comparison stars near a variable, ranked by how
  steady each is against the others (:func:`ensemble_scatter` does the arithmetic).
- :func:`aperture_scatter` and :func:`best_apertures`: the check star's scatter in every
  aperture, night by night, and the aperture each night does best in.
- :func:`resolve_period`: whether a periodogram's peak is the period or half of it (two
  similar eclipses a cycle), by an F-test of the light curve folded on twice the peak.
- :func:`observer_offsets` and :func:`combine_observers`: each observer's zero-point offset
  from a common model of a periodic star, and one curve with the offsets removed.
- :func:`pin_as_of` and :func:`fingerprint`: pinning an analysis to the data uploaded by a
  time, and a short digest that shows a rerun used the same data.

The functions take an :class:`aphos_lib.archive.Archive` (``aphos_lib.connect()``) or a
:class:`aphos_lib.lightcurve.LightCurve` and return pandas DataFrames or small dataclasses.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from aphos_lib import queries
from aphos_lib.lightcurve import LightCurve
from aphos_lib.photometry import AUTO

__all__ = [
    "PeriodChoice",
    "aperture_scatter",
    "best_apertures",
    "combine_observers",
    "ensemble_scatter",
    "fingerprint",
    "observer_offsets",
    "pin_as_of",
    "rank_comparison_stars",
    "resolve_period",
]

_POGSON = 2.5 / math.log(10)
_MAD_TO_STD = 1.482602218505602  # 1 / Phi^-1(3/4): the MAD of a normal sample times this


# --- comparison stars --------------------------------------------------------------------


def ensemble_scatter(flux, deviation=None) -> pd.DataFrame:
    """How steady each star is against the others, from a table of fluxes.

    Each star's instrumental magnitudes are taken relative to their own median, and in each
    image a zero point from the other stars is subtracted, so clouds, airmass and exposure
    time cancel. The zero point is found twice: first as the median of the others (a
    variable star among them barely moves it), then as their mean weighted by 1/scatter^2
    from the first pass, leaving out stars that scatter more than three times the typical
    star (the variables). A star's residual in an image is its relative magnitude minus the
    zero point of the others; its scatter includes a little of theirs, less the more stars
    there are.

    Parameters
    ----------
    flux : array_like, shape (images, stars)
        Fluxes; NaN (or any value <= 0) where a star was not measured or is saturated.
    deviation : array_like, shape (images, stars), optional
        The fluxes' deviations, for the expected scatter.

    Returns
    -------
    pandas.DataFrame
        One row per star (in the input's order): ``images`` (residuals computed),
        ``scatter_mag`` (standard deviation of the residuals), ``robust_scatter_mag`` (from
        their median absolute deviation, which a few bad images do not inflate) and
        ``expected_mag`` (median photometric error, NaN without deviations).

    Examples
    --------
    >>> flux = np.array([[100.0, 200.0, 400.0], [50.0, 100.0, 200.0], [100.0, 260.0, 400.0]])
    >>> ensemble_scatter(flux)["images"].tolist()
    [3, 3, 3]
    >>> bool(ensemble_scatter(flux)["scatter_mag"].idxmax() == 1)  # the one that changed
    True
    """
    f = np.asarray(flux, dtype=float)
    if f.ndim != 2:
        raise ValueError(f"flux must be a 2-D table (images, stars), not shape {f.shape}")
    if f.shape[1] < 2:
        raise ValueError("a star's scatter needs at least one other star to compare with")
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.where(f > 0, -2.5 * np.log10(f), np.nan)
    relative = m - _nanmedian(m, axis=0)
    n_stars = m.shape[1]
    residuals = [
        relative[:, k] - _nanmedian(np.delete(relative, k, axis=1), axis=1) for k in range(n_stars)
    ]
    first = np.array([_std(r) for r in residuals])
    steady = np.isfinite(first) & (first > 0) & (first <= 3 * np.nanmedian(first))
    weight = np.where(steady, 1 / np.where(steady, first, 1) ** 2, 0.0)
    for k in range(n_stars):
        w = np.delete(weight, k)
        if not w.any():
            continue  # no steady star besides this one: keep the median's zero point
        others = np.delete(relative, k, axis=1)
        known = np.isfinite(others)
        total = (known * w).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            zero_point = np.where(known, others, 0.0) @ w / total
        residuals[k] = relative[:, k] - np.where(total > 0, zero_point, np.nan)
    rows = []
    for r in residuals:
        r = r[np.isfinite(r)]
        robust = float(_MAD_TO_STD * np.median(np.abs(r - np.median(r)))) if len(r) else math.nan
        rows.append((len(r), _std(r), robust))
    frame = pd.DataFrame(rows, columns=["images", "scatter_mag", "robust_scatter_mag"])
    frame["expected_mag"] = math.nan
    if deviation is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            error = np.where(f > 0, _POGSON * np.asarray(deviation, dtype=float) / f, np.nan)
        frame["expected_mag"] = _nanmedian(error, axis=0)
    return frame


def _std(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    return float(np.std(values, ddof=1)) if len(values) > 1 else math.nan


def _nanmedian(values: np.ndarray, axis: int) -> np.ndarray:
    """``np.nanmedian`` without its warning for rows that are all NaN (they stay NaN)."""
    values = np.asarray(values, dtype=float)
    out = np.full(np.delete(values.shape, axis), np.nan)
    filled = np.isfinite(values).any(axis=axis)
    if filled.any():
        taken = np.compress(filled, values, axis=1 - axis)
        out[filled] = np.nanmedian(taken, axis=axis)
    return out


def rank_comparison_stars(
    archive,
    variable,
    candidates=None,
    *,
    radius="1deg",
    max_mag_difference: float = 1.5,
    min_coverage: float = 0.8,
    limit: int = 30,
    aperture="auto",
    observers=None,
    as_of=None,
) -> pd.DataFrame:
    """Candidate comparison stars for ``variable``, steadiest first.

    Parameters
    ----------
    archive : aphos_lib.archive.Archive
        The archive (``aphos_lib.connect()``).
    variable : str, tuple or CatalogObject
        The variable star, e.g. ``"UCAC4:805-031770"``.
    candidates : list, optional
        The stars to compare. By default the stars within ``radius`` of the variable, at most
        ``max_mag_difference`` magnitudes brighter or fainter than it, measured in at least
        ``min_coverage`` of as many images as the variable, nearest first (``limit`` of them).
    radius : float or str
        The search radius: degrees, or with a unit (``"30arcmin"``).
    aperture : str, int or mapping
        The aperture the stars are measured in (see :func:`differential_photometry`).
    observers, as_of : optional
        Passed to :func:`differential_photometry`: whose images, and the data uploaded by when.

    Returns
    -------
    pandas.DataFrame
        One row per candidate: ``rank``, ``star`` (``CATALOG:ID``), ``name``, ``mag``,
        ``bv``, ``distance_deg`` (from the variable), ``images`` (in which the star and the
        variable have fluxes), ``saturated`` (images where the star is saturated), and the
        columns of :func:`ensemble_scatter`. Sorted by ``scatter_mag``: a good comparison
        star is near the top, a variable one sinks to the bottom.

    Examples
    --------
    >>> ranking = rank_comparison_stars(archive, "UCAC4:805-031770")  # doctest: +SKIP
    >>> ensemble = ranking.star[:3].tolist()                          # doctest: +SKIP
    """
    var = archive.object(variable)
    if candidates is None:
        stars = _nearby_stars(archive, var, radius, max_mag_difference, min_coverage, limit)
    else:
        stars = [archive.object(c) for c in candidates]
    stars = [s for s in stars if s.id != var.id]
    if len(stars) < 3:
        raise ValueError(
            f"ranking comparison stars needs at least 3 candidates, found "
            f"{len(stars)}: widen the radius or the magnitude range"
        )
    columns = {}
    for star in stars:
        curve = archive.lightcurve(
            var,
            star,
            include_saturated=True,
            aperture=aperture,
            comparison_aperture=aperture,
            observers=observers,
            as_of=as_of,
        )
        data = curve.data.set_index("image_id")
        columns[star.id] = data[["cmp_flux", "cmp_flux_dev", "cmp_saturated"]]
    images = sorted(set().union(*(c.index for c in columns.values())))
    flux = np.column_stack([columns[s.id]["cmp_flux"].reindex(images) for s in stars])
    dev = np.column_stack([columns[s.id]["cmp_flux_dev"].reindex(images) for s in stars])
    saturated = np.column_stack(
        [columns[s.id]["cmp_saturated"].reindex(images).fillna(False).astype(bool) for s in stars]
    )
    flux = np.where(saturated, np.nan, flux)  # a saturated flux is never a measurement
    scatter = ensemble_scatter(flux, dev)
    frame = pd.DataFrame(
        {
            "star": [s.label for s in stars],
            "name": [s.name for s in stars],
            "mag": [s.mag for s in stars],
            "bv": [s.bv for s in stars],
            "distance_deg": [_separation_deg(var, s) for s in stars],
            "saturated": saturated.sum(axis=0),
        }
    )
    frame = pd.concat([frame, scatter], axis=1)
    frame = frame.sort_values(["scatter_mag", "star"], na_position="last", kind="stable")
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    columns_order = [
        "rank",
        "star",
        "name",
        "mag",
        "bv",
        "distance_deg",
        "images",
        "saturated",
        "scatter_mag",
        "robust_scatter_mag",
        "expected_mag",
    ]
    return frame[columns_order].reset_index(drop=True)


def _nearby_stars(archive, var, radius, max_mag_difference, min_coverage, limit):
    mags = {}
    if var.mag is not None and max_mag_difference is not None:
        mags = {"min_mag": var.mag - max_mag_difference, "max_mag": var.mag + max_mag_difference}
    found = archive.search(ra=var.ra_deg, dec=var.dec_deg, radius=radius, limit=limit + 1, **mags)
    wanted = min_coverage * var.n_fluxes
    return [s for s in found.objects() if s.id != var.id and s.n_fluxes >= wanted][:limit]


def _separation_deg(a, b) -> float:
    ra1, dec1, ra2, dec2 = map(math.radians, (a.ra_deg, a.dec_deg, b.ra_deg, b.dec_deg))
    h = (
        math.sin((dec2 - dec1) / 2) ** 2
        + math.cos(dec1) * math.cos(dec2) * math.sin((ra2 - ra1) / 2) ** 2
    )
    return math.degrees(2 * math.asin(min(1.0, math.sqrt(h))))


# --- apertures ---------------------------------------------------------------------------


def _aperture_matrix(data: pd.DataFrame, prefix: str) -> np.ndarray:
    """A star's fluxes as (images, 1 + N): ApAuto then Ap1..ApN; NaN where saturated/missing."""
    auto = data[f"{prefix}_ap_auto"].to_numpy(dtype=float)
    auto_sat = data[f"{prefix}_ap_auto_saturated"].to_numpy(dtype=bool)
    lists = data[f"{prefix}_ap"].tolist()
    flags = data[f"{prefix}_ap_saturated"].tolist()
    width = 1 + max((len(v) for v in lists if v is not None), default=0)
    flux = np.full((len(data), width), np.nan)
    flux[:, 0] = np.where(auto_sat, np.nan, auto)
    for i, (values, saturated) in enumerate(zip(lists, flags, strict=True)):
        if values is None:
            continue
        row = np.array([np.nan if v is None else v for v in values], dtype=float)
        if saturated is not None:
            row[np.array([bool(s) for s in saturated], dtype=bool)] = np.nan
        flux[i, 1 : 1 + len(row)] = row
    return flux


def _comparison_prefixes(data: pd.DataFrame) -> list[str]:
    if "cmp_ap" in data:
        return ["cmp"]
    prefixes = []
    k = 1
    while f"cmp{k}_ap" in data:
        prefixes.append(f"cmp{k}")
        k += 1
    return prefixes


def aperture_scatter(curve: LightCurve) -> pd.DataFrame:
    """The check star's scatter in every aperture, per night and observer.

    The check star is measured against the comparison (or the ensemble's summed fluxes) in
    the same aperture, for ApAuto and each of Ap1..ApN; saturated fluxes are left out.

    Parameters
    ----------
    curve : LightCurve
        Made with a check star and ``with_apertures=True``.

    Returns
    -------
    pandas.DataFrame
        ``night``, ``observer``, ``aperture`` (0 is ApAuto), ``images`` (check magnitudes
        in that aperture) and ``check_std`` (their standard deviation; NaN with fewer than
        two), one row per night, observer and aperture. With one aperture for all nights
        this equals ``check_std`` of :meth:`LightCurve.night_summary`.
    """
    data = curve.data
    if "check_ap" not in data or "check_ap_auto" not in data:
        raise ValueError("aperture_scatter needs a curve made with check= and with_apertures=True")
    check = _aperture_matrix(data, "check")
    members = [_aperture_matrix(data, p) for p in _comparison_prefixes(data)]
    width = max([check.shape[1]] + [m.shape[1] for m in members])
    check = _pad(check, width)
    reference = np.sum([_pad(m, width) for m in members], axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mags = np.where((check > 0) & (reference > 0), -2.5 * np.log10(check / reference), np.nan)
    rows = []
    keys = list(zip(data["night"], data["observer"], strict=True))
    for night, observer in sorted(set(keys)):
        mine = np.array([k == (night, observer) for k in keys])
        for aperture in range(width):
            values = mags[mine, aperture]
            values = values[np.isfinite(values)]
            std = float(np.std(values, ddof=1)) if len(values) > 1 else math.nan
            rows.append((night, observer, aperture, len(values), std))
    return pd.DataFrame(rows, columns=["night", "observer", "aperture", "images", "check_std"])


def _pad(matrix: np.ndarray, width: int) -> np.ndarray:
    if matrix.shape[1] >= width:
        return matrix
    return np.hstack([matrix, np.full((matrix.shape[0], width - matrix.shape[1]), np.nan)])


def best_apertures(scatter: pd.DataFrame, min_images: int = 3) -> dict[str, int | str]:
    """The aperture each night does best in: the least check-star scatter.

    A night that several observers observed gets the aperture with the least mean scatter
    over them, among the apertures every one of them measured the check star in. An
    observer's night with fewer than ``min_images`` check magnitudes does not count (the
    scatter of two points is mostly luck); a night where none counts is left out and keeps
    the default aperture.

    Parameters
    ----------
    scatter : pandas.DataFrame
        From :func:`aperture_scatter`.
    min_images : int
        The fewest check magnitudes an observer's night needs in an aperture for its
        scatter to count.

    Returns
    -------
    dict
        ``{"YYYY-MM-DD": aperture}`` with ``"auto"`` for ApAuto, to pass as ``aperture=``
        and ``comparison_aperture=`` of :meth:`Archive.lightcurve`.

    Examples
    --------
    >>> table = pd.DataFrame({"night": ["2021-11-06"] * 3, "observer": ["novak"] * 3,
    ...                       "aperture": [0, 1, 2], "images": [5, 5, 5],
    ...                       "check_std": [0.03, 0.01, 0.02]})
    >>> best_apertures(table)
    {'2021-11-06': 1}
    """
    choice: dict[str, int | str] = {}
    for night, group in scatter.groupby("night", sort=True):
        # Only apertures that every observer of the night measured the check star in.
        has = group.groupby("aperture")["images"].min()
        available = set(has.index[has > 0])
        counted = group[(group["images"] >= max(min_images, 2)) & group["aperture"].isin(available)]
        mean = counted.groupby("aperture")["check_std"].agg(lambda s: s.mean(skipna=False))
        counted_observers = counted.groupby("aperture")["observer"].nunique()
        mean = mean[counted_observers == counted_observers.max()].dropna() if len(mean) else mean
        if mean.empty:
            continue
        best = int(mean.idxmin())
        choice[str(night)] = "auto" if best == AUTO else best
    return choice


# --- periods -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodChoice:
    """Whether a light curve repeats with a period or with twice that period.

    ``period`` is the one to use: twice the tested peak when ``doubled``. The F-test
    compares a Fourier model with ``nterms`` harmonics of the peak's period (RMS
    ``rms_single``) with one of twice that period, which can tell the two halves of the
    cycle apart (RMS ``rms_double``); ``p_value`` is the chance that the improvement is noise.
    """

    period: float
    peak_period: float
    doubled: bool
    f_statistic: float
    p_value: float
    rms_single: float
    rms_double: float
    nterms: int

    def __str__(self) -> str:
        verdict = (
            "twice the peak: the two halves of the cycle differ"
            if self.doubled
            else "the peak itself: the halves of a doubled cycle do not differ"
        )
        return (
            f"period {self.period:.6f} d, {verdict} (F = {self.f_statistic:.1f}, "
            f"p = {self.p_value:.2g}; RMS {self.rms_single:.4f} -> {self.rms_double:.4f} "
            "mag)"
        )


def _fourier(phase: np.ndarray, harmonics) -> np.ndarray:
    columns = [np.ones_like(phase)]
    for h in harmonics:
        columns += [np.cos(2 * np.pi * h * phase), np.sin(2 * np.pi * h * phase)]
    return np.column_stack(columns)


def _rss(design: np.ndarray, y: np.ndarray) -> float:
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    return float(np.sum((y - design @ coef) ** 2))


def resolve_period(
    curve: LightCurve, period: float, nterms: int = 3, alpha: float = 1e-3, time: str = "hjd"
) -> PeriodChoice:
    """Decide between a periodogram peak's period and twice it.

    An eclipsing binary with two eclipses a cycle shows its strongest Lomb-Scargle peak at
    half its period. Folded on twice the peak, such a curve has two different halves (the
    primary and secondary eclipses); a pulsating star's halves are the same. The test: fit
    ``nterms`` harmonics of 1/period, then also the odd harmonics of 1/(2 period), and ask
    with an F-test whether the odd ones explain more than noise would.

    Parameters
    ----------
    curve : LightCurve
    period : float
        The peak's period in days, e.g. ``curve.periodogram().best_period``.
    nterms : int
        Harmonics of the single-period model (the doubled one has twice as many).
    alpha : float
        The p-value below which the doubled period is taken.

    Returns
    -------
    PeriodChoice
    """
    from scipy import stats

    if not period > 0:
        raise ValueError(f"period {period} must be positive")
    rows = curve.data[np.isfinite(curve.data["magnitude"].to_numpy())]
    t, y = rows[time].to_numpy(dtype=float), rows["magnitude"].to_numpy(dtype=float)
    n = len(y)
    p_single, p_double = 1 + 2 * nterms, 1 + 4 * nterms
    if n <= p_double + 1:
        raise ValueError(f"{n} magnitudes are too few for {nterms} harmonics")
    phase = np.mod((t - t.min()) / (2 * period), 1.0)  # phase on the doubled period
    rss_single = _rss(_fourier(phase, range(2, 2 * nterms + 1, 2)), y)
    rss_double = _rss(_fourier(phase, range(1, 2 * nterms + 1)), y)
    dof = n - p_double
    f_stat = ((rss_single - rss_double) / (p_double - p_single)) / (rss_double / dof)
    p_value = float(stats.f.sf(f_stat, p_double - p_single, dof))
    doubled = p_value < alpha
    return PeriodChoice(
        period=2 * period if doubled else period,
        peak_period=period,
        doubled=doubled,
        f_statistic=float(f_stat),
        p_value=p_value,
        rms_single=math.sqrt(rss_single / n),
        rms_double=math.sqrt(rss_double / n),
        nterms=nterms,
    )


# --- several observers -------------------------------------------------------------------


def observer_offsets(
    curve: LightCurve,
    period: float,
    *,
    nterms: int = 4,
    reference: str | None = None,
    time: str = "hjd",
) -> pd.DataFrame:
    """Each observer's magnitude offset from a common model of a periodic star.

    One least-squares fit of a Fourier series in phase (``nterms`` harmonics of 1/period)
    plus a constant per observer. Offsets are relative to ``reference`` (default: the
    observer with the most magnitudes), whose offset is 0: they show how far each observer's
    zero point differs (filters, colour terms, apertures), and :func:`combine_observers`
    removes them.

    Parameters
    ----------
    curve : LightCurve
        The curve with several observers' images.
    period : float
        The star's period in days.
    nterms : int
        Harmonics of the model light curve.
    reference : str, optional
        The observer the others are measured against.

    Returns
    -------
    pandas.DataFrame
        ``observer``, ``images`` (magnitudes), ``offset_mag`` (to subtract from that
        observer's magnitudes), ``offset_error_mag`` (one standard error), and
        ``residual_std_mag`` (that observer's scatter about the model), by observer name.
    """
    if not period > 0:
        raise ValueError(f"period {period} must be positive")
    rows = curve.data[np.isfinite(curve.data["magnitude"].to_numpy())]
    observers = sorted(set(rows["observer"]))
    if not observers:
        raise ValueError("the curve has no magnitudes")
    counts = rows["observer"].value_counts()
    if reference is None:
        reference = max(observers, key=lambda o: counts[o])  # ties: the first by name
    if reference not in observers:
        raise ValueError(f"observer {reference!r} has no magnitudes in this curve")
    t = rows[time].to_numpy(dtype=float)
    y = rows["magnitude"].to_numpy(dtype=float)
    who = rows["observer"].to_numpy()
    phase = np.mod((t - t.min()) / period, 1.0)
    indicators = np.column_stack([(who == o).astype(float) for o in observers])
    design = np.hstack([indicators, _fourier(phase, range(1, nterms + 1))[:, 1:]])
    if len(y) <= design.shape[1]:
        raise ValueError(
            f"{len(y)} magnitudes are too few for {len(observers)} observers and {nterms} harmonics"
        )
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ coef
    sigma2 = float(np.sum(residual**2) / (len(y) - design.shape[1]))
    cov = sigma2 * np.linalg.pinv(design.T @ design)
    r = observers.index(reference)
    out = []
    for k, observer in enumerate(observers):
        variance = cov[k, k] + cov[r, r] - 2 * cov[k, r]
        mine = residual[who == observer]
        out.append(
            (
                observer,
                int(counts[observer]),
                float(coef[k] - coef[r]),
                math.sqrt(max(variance, 0.0)),
                float(np.std(mine, ddof=1)) if len(mine) > 1 else math.nan,
            )
        )
    return pd.DataFrame(
        out, columns=["observer", "images", "offset_mag", "offset_error_mag", "residual_std_mag"]
    )


def combine_observers(curve: LightCurve, offsets) -> LightCurve:
    """One light curve of several observers, each observer's offset removed.

    Parameters
    ----------
    curve : LightCurve
    offsets : pandas.DataFrame or mapping
        From :func:`observer_offsets`, or ``{observer: offset_mag}``.

    Returns
    -------
    LightCurve
        The same rows with ``magnitude`` minus the observer's offset, the offset in an
        ``offset_mag`` column and in ``meta["observer_offsets"]``. It folds, bins, finds
        periods and downloads like any curve.
    """
    if isinstance(offsets, pd.DataFrame):
        offsets = dict(zip(offsets["observer"], offsets["offset_mag"], strict=True))
    offsets = {str(k): float(v) for k, v in offsets.items()}
    missing = sorted(set(curve.data["observer"]) - set(offsets))
    if missing:
        raise ValueError(f"no offset for observer(s) {', '.join(missing)}")
    data = curve.data.copy()
    data["offset_mag"] = data["observer"].map(offsets).astype(float)
    data["magnitude"] = data["magnitude"] - data["offset_mag"]
    return LightCurve(data, {**curve.meta, "observer_offsets": offsets})


# --- reproducibility ---------------------------------------------------------------------


def pin_as_of(archive, as_of=None) -> dt.datetime:
    """The time an analysis is pinned to: ``as_of`` when given, else the catalogue's now.

    Pass the result as ``as_of=`` to every :meth:`Archive.lightcurve` call, and write it into
    the notebook's parameters: a rerun then sees the same images even after more uploads.
    The catalogue's own clock is used (uploads are stamped by it), never this machine's.

    Parameters
    ----------
    archive : aphos_lib.archive.Archive
    as_of : datetime or ISO 8601 string, optional
        A timezone-aware time, e.g. ``"2026-11-24T12:00:00+00:00"``.

    Returns
    -------
    datetime.datetime
        Timezone-aware, in UTC.
    """
    if as_of is None:
        as_of = queries.service.now().value(archive.conn)
    elif isinstance(as_of, str):
        as_of = dt.datetime.fromisoformat(as_of)
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware (e.g. 2026-11-24T12:00:00+00:00)")
    return as_of.astimezone(dt.UTC)


_FINGERPRINT_COLUMNS = ("image_id", "observer", "jd", "hjd", "magnitude", "deviation")


def fingerprint(curve: LightCurve) -> str:
    """A short digest of a light curve's data: equal digests, the same magnitudes.

    SHA-256 (first 16 hex digits) of the images, observers, times, magnitudes and
    deviations, written at full precision; the query time and other metadata do not enter.

    Examples
    --------
    >>> fingerprint(archive.lightcurve(var, cmp, as_of=pinned))  # doctest: +SKIP
    '3f1c9a0b7d2e4c55'
    """
    digest = hashlib.sha256()
    data = curve.data
    for column in _FINGERPRINT_COLUMNS:
        digest.update(column.encode())
        for value in data[column].tolist():
            digest.update(repr(value).encode())
            digest.update(b"\x00")
    return digest.hexdigest()[:16]
