"""Variability statistics of every catalogue object, per filter, kept up to date as images arrive.

Every image's calibrated magnitudes (ApAuto, its photometric solution:
:mod:`aphos_lib.photometric_solution`) of every object it measured feed, once per batch of
files, a running state per object and filter (``object_variability``, migration 0020). No
query ever scans fluxes for them: the variable finder (:mod:`aphos_lib.variable_finder`) reads
the states of a field's stars.

For the points ``m_i`` (magnitudes) with errors ``s_i`` at times ``t_i`` of one object in one
filter, with weights ``w_i = 1 / s_i**2``:

- ``n``, the weighted mean ``sum(w m) / sum(w)``, the weighted standard deviation
  (``sqrt(n / (n - 1) * sum(w (m - mean)**2) / sum(w))``) and the chi-square per degree of
  freedom against a constant (``sum(w (m - mean)**2) / (n - 1)``): exact, from running sums.
- ``err_rms``: the root mean square of the errors, the scatter a constant star would show.
- von Neumann's ``eta``: the mean square of successive differences in time over the variance
  (small for a star that changes slowly compared with its sampling). Successive differences
  are summed as points arrive; a batch whose points come before the last stored one (a late
  upload of an old night) adds its own differences but is not joined to the stored points.
  Exact when nights arrive in time order.
- Stetson's ``J`` from pairs of successive points less than :data:`PAIR_DAYS` apart:
  ``mean(sign(P) sqrt(|P|))`` with ``P = n / (n - 1) * d_i d_j`` and
  ``d = (m - mean) / s``. A pair's ``P`` uses the object's mean at the time the pair arrived
  (the mean with its batch): a constant star's mean settles within its first nights.
- ``robust_std`` (the interquartile range / 1.349) and ``amplitude`` (the 5-95% range) from
  a summary of :data:`SUMMARY_SIZE` quantiles: the points themselves while there are no more
  than that, then the values at evenly spaced quantiles, merged with each batch's points
  (quantiles within about 1/SUMMARY_SIZE in rank).

Points whose flux is saturated or not positive, in images without a solution, or of an object
measured twice in one image (two sources matched to one star), are left out; a flux without a
deviation takes its solution's RMS as its error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import psycopg

from aphos_lib.db import binary_copy as bc
from aphos_lib.photometric_solution import PhotometricSolution, instrumental_magnitudes
from aphos_lib.queries import variability as statements

__all__ = [
    "PAIR_DAYS",
    "STATE",
    "STATISTICS",
    "SUMMARY_SIZE",
    "ImagePoints",
    "add_points",
    "empty_states",
    "exposure_jd",
    "fold_variability",
    "image_points",
    "pending_row",
    "merge_states",
    "quantiles",
    "rebuild_variability",
    "statistics",
]

#: Successive points closer than this (days) form a pair for Stetson's J: 30 minutes, a
#: fraction of any eclipse or pulsation observers follow, several exposures of a night.
PAIR_DAYS = 30.0 / 1440.0
#: How a pending image's magnitudes and errors are packed: float32 keeps 1e-6 mag at 16 mag
#: and halves what every file's transaction writes.
POINT_DTYPE = "<f4"
#: The number of values the quantile summary of an object's magnitudes keeps.
SUMMARY_SIZE = 64

#: The running state of one object in one filter, stored as its bytes (little-endian).
STATE = np.dtype(
    [
        ("n", "<f8"),  # points
        ("ref", "<f8"),  # the first point's magnitude: sums of x = m - ref keep their digits
        ("sw", "<f8"),  # sum of weights 1/s^2
        ("swx", "<f8"),  # sum of w x
        ("swx2", "<f8"),  # sum of w x^2
        ("sx", "<f8"),  # sum of x
        ("sx2", "<f8"),  # sum of x^2
        ("svar", "<f8"),  # sum of s^2
        ("sd2", "<f8"),  # sum of squared successive differences
        ("nd", "<f8"),  # their number
        ("sj", "<f8"),  # sum of sign(P) sqrt|P| over close pairs
        ("nj", "<f8"),  # their number
        ("last_t", "<f8"),  # the latest point: time (JD), magnitude, error
        ("last_m", "<f8"),
        ("last_s", "<f8"),
        ("summary", "<f4", (SUMMARY_SIZE,)),  # sorted; NaN past min(n, SUMMARY_SIZE)
    ]
)
#: What :func:`statistics` derives from a state, in the order of ``object_variability``'s
#: columns.
STATISTICS = (
    "n",
    "mean_mag",
    "std_mag",
    "err_rms",
    "chi2_dof",
    "robust_std",
    "eta",
    "stetson_j",
    "amplitude",
    "first_jd",
    "last_jd",
)
_IQR_TO_SIGMA = 1.349


@dataclass(frozen=True)
class ImagePoints:
    """One image's calibrated magnitudes of the objects it measured, for the batch's fold.

    Attributes
    ----------
    filter : str
        The image's filter (``""`` when its header named none).
    jd : float
        The exposure's middle (JD, UTC).
    object_ids : numpy.ndarray
        int64, one per point.
    magnitudes, errors : numpy.ndarray
        float64, calibrated (ApAuto).
    """

    filter: str
    jd: float
    object_ids: np.ndarray
    magnitudes: np.ndarray
    errors: np.ndarray


def image_points(
    object_ids: np.ndarray,
    flux,
    flux_dev,
    saturated,
    colour,
    solution: PhotometricSolution | None,
    *,
    filter: str | None,
    jd: float,
) -> ImagePoints | None:
    """The points one image gives its objects' statistics: calibrated ApAuto magnitudes.

    Parameters
    ----------
    object_ids : numpy.ndarray
        Each row's object id (negative: none).
    flux, flux_dev, saturated, colour : array-like
        Each row's ApAuto flux, its deviation (NaN unknown), its saturation and the object's
        catalogue B-V (NaN unknown).
    solution : PhotometricSolution or None
        The image's ApAuto solution; None gives no points.
    filter : str or None
    jd : float

    Returns
    -------
    ImagePoints or None
        None when the image gives no point.

    Examples
    --------
    >>> s = PhotometricSolution(20.0, 0.005, None, None, None, 0.0, 0.02, 50, 2, 9.0, 13.0,
    ...                         None, None)
    >>> p = image_points(np.array([5, 6, 6, -1]), [1e4, 1e3, 2e3, 5e3], [10.0, np.nan, 1, 1],
    ...                  [False] * 4, [np.nan] * 4, s, filter="V", jd=2460000.5)
    >>> p.object_ids.tolist(), p.magnitudes.round(3).tolist()   # 6 twice: left out
    ([5], [10.0])
    """
    if solution is None:
        return None
    ids = np.asarray(object_ids, dtype=np.int64)
    inst, inst_err = instrumental_magnitudes(flux, flux_dev)
    usable = (ids >= 0) & np.isfinite(inst) & ~np.asarray(saturated, dtype=bool)
    unique, counts = np.unique(ids[usable], return_counts=True)
    usable &= np.isin(ids, unique[counts == 1])
    if not usable.any():
        return None
    inst_err = np.where(np.isfinite(inst_err), inst_err, solution.rms)
    mag, err = solution.calibrate(inst[usable], inst_err[usable], np.asarray(colour)[usable])
    good = np.isfinite(mag) & (err > 0)
    if not good.any():
        return None
    # At the precision they are kept in until the fold (POINT_DTYPE), whichever way they
    # come: a rebuild from the stored images gives the states the ingest gave.
    packed = [v.astype(POINT_DTYPE).astype(float) for v in (mag[good], err[good])]
    return ImagePoints(filter or "", float(jd), ids[usable][good], *packed)


def merge_states(
    states: np.ndarray, group: np.ndarray, t: np.ndarray, m: np.ndarray, s: np.ndarray
) -> np.ndarray:
    """The states of ``len(states)`` objects after adding new points.

    Parameters
    ----------
    states : numpy.ndarray
        :data:`STATE` records, one per object (:func:`empty_states` for objects without
        points).
    group : numpy.ndarray
        For each new point, the index of its object in ``states``; points sorted by object,
        then time.
    t, m, s : numpy.ndarray
        The points' times (JD), magnitudes and errors.

    Returns
    -------
    numpy.ndarray
        New :data:`STATE` records (the old are left as they were).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> m = 12 + 0.01 * rng.standard_normal(10)
    >>> one = merge_states(empty_states(1), np.zeros(10, int), np.arange(10.0), m,
    ...                    np.full(10, 0.01))
    >>> half = merge_states(empty_states(1), np.zeros(5, int), np.arange(5.0), m[:5],
    ...                     np.full(5, 0.01))
    >>> two = merge_states(half, np.zeros(5, int), np.arange(5.0, 10.0), m[5:],
    ...                    np.full(5, 0.01))
    >>> bool(np.allclose(statistics(one)["chi2_dof"], statistics(two)["chi2_dof"]))
    True
    """
    out = states.copy()
    n_groups = len(states)
    if not len(group):
        return out
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    ends = np.r_[starts[1:], len(group)]
    at = group[starts]  # the objects that have new points
    out["ref"][at] = np.where(states["n"][at] > 0, states["ref"][at], m[starts])
    x = m - out["ref"][group]
    w = 1.0 / s**2
    for name, values in (
        ("n", np.ones_like(m)),
        ("sw", w),
        ("swx", w * x),
        ("swx2", w * x * x),
        ("sx", x),
        ("sx2", x * x),
        ("svar", s * s),
    ):
        out[name][at] += np.add.reduceat(values, starts)

    # Successive differences: within the new points, and from the stored latest point to the
    # first new one when the new points come after it.
    same = group[1:] == group[:-1]
    diff = np.where(same, m[1:] - m[:-1], 0.0)
    out["sd2"][at] += np.add.reduceat(np.r_[diff**2, 0.0], starts)
    out["nd"][at] += np.add.reduceat(np.r_[same, False].astype(float), starts)
    old = states[at]
    joined = (old["n"] > 0) & (t[starts] >= old["last_t"])
    out["sd2"][at] += np.where(joined, (m[starts] - old["last_m"]) ** 2, 0.0)
    out["nd"][at] += joined

    # Stetson's J over close pairs, with each object's mean after this batch.
    n = out["n"]
    mean = out["ref"] + np.divide(
        out["swx"], out["sw"], out=np.zeros(n_groups), where=out["sw"] > 0
    )
    scale = np.sqrt(np.divide(n, n - 1, out=np.zeros(n_groups), where=n > 1))
    delta = scale[group] * (m - mean[group]) / s
    close = same & (t[1:] - t[:-1] <= PAIR_DAYS)
    p = np.where(close, delta[1:] * delta[:-1], 0.0)
    out["sj"][at] += np.add.reduceat(np.r_[np.sign(p) * np.sqrt(np.abs(p)), 0.0], starts)
    out["nj"][at] += np.add.reduceat(np.r_[close, False].astype(float), starts)
    pair = joined & (t[starts] - old["last_t"] <= PAIR_DAYS)
    old_delta = scale[at] * (old["last_m"] - mean[at]) / np.where(pair, old["last_s"], 1.0)
    p0 = np.where(pair, old_delta * delta[starts], 0.0)
    out["sj"][at] += np.sign(p0) * np.sqrt(np.abs(p0))
    out["nj"][at] += pair

    # The latest point.
    last = ends - 1
    later = (old["n"] == 0) | (t[last] >= old["last_t"])
    for name, values in (("last_t", t), ("last_m", m), ("last_s", s)):
        out[name][at] = np.where(later, values[last], old[name])

    out["summary"][at] = _merge_summaries(old["summary"], old["n"], m, starts, ends)
    return out


def _merge_summaries(
    summaries: np.ndarray, counts: np.ndarray, m: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> np.ndarray:
    """Each object's quantile summary with its new points added (all objects at once)."""
    k = SUMMARY_SIZE
    groups = len(starts)
    sizes = ends - starts
    kept = np.minimum(counts, k).astype(np.int64)
    # One row per object: its kept values, then its new points; +inf (sorted last) elsewhere.
    values = np.full((groups, k + int(sizes.max())), np.inf)
    values[:, :k] = np.where(np.arange(k)[None, :] < kept[:, None], summaries, np.inf)
    row = np.repeat(np.arange(groups), sizes)
    values[row, k + np.arange(len(m)) - np.repeat(starts, sizes)] = m
    order = np.argsort(values, axis=1)
    values = np.take_along_axis(values, order, axis=1)
    # A kept value stands for counts / kept points, a new point for one, padding for none.
    old_weight = counts / np.maximum(kept, 1)
    weights = np.where(order < k, old_weight[:, None], 1.0)
    weights[np.isinf(values)] = 0.0
    total = counts + sizes

    out = np.full((groups, k), np.nan)
    exact = total <= k  # every point kept as it is
    head = values[exact, :k]
    out[exact] = np.where(np.isinf(head), np.nan, head)
    if (~exact).any():
        v, wt, tot = values[~exact], weights[~exact], total[~exact]
        # The padding takes each row's largest value: the summary's top stays flat.
        finite = (kept + sizes)[~exact]
        largest = np.take_along_axis(v, (finite - 1)[:, None], axis=1)
        v = np.where(np.isinf(v), largest, v)
        centres = (np.cumsum(wt, axis=1) - wt / 2) / tot[:, None]
        offset = 2.0 * np.arange(len(v))[:, None]
        targets = (np.arange(k) + 0.5) / k
        out[~exact] = np.interp(
            (targets[None, :] + offset).ravel(), (centres + offset).ravel(), v.ravel()
        ).reshape(len(v), k)
    return out.astype(np.float32)


def empty_states(n: int) -> np.ndarray:
    """``n`` states of objects without points.

    Examples
    --------
    >>> empty_states(2)["n"].tolist()
    [0.0, 0.0]
    """
    states = np.zeros(n, STATE)
    states["summary"] = np.nan
    return states


def quantiles(states: np.ndarray, q) -> np.ndarray:
    """Quantiles of each state's magnitudes from its summary (Hazen's definition while every
    point is kept): shape ``(len(states), len(q))``.

    Examples
    --------
    >>> st = merge_states(empty_states(1), np.zeros(4, int), np.arange(4.0),
    ...                   np.array([1.0, 2.0, 3.0, 4.0]), np.ones(4))
    >>> quantiles(st, [0.5]).tolist()
    [[2.5]]
    """
    q = np.atleast_1d(np.asarray(q, dtype=float))
    rows = len(states)
    kept = np.minimum(states["n"], SUMMARY_SIZE).astype(int)
    if not rows:
        return np.empty((0, len(q)))
    # Every row at once: each row's values at Hazen positions (i + 0.5) / kept, the unused
    # positions past 1 holding its last value, rows 2 apart on one axis for one np.interp.
    i = np.arange(SUMMARY_SIZE)[None, :]
    used = i < kept[:, None]
    width = np.maximum(kept, 1)[:, None]
    x = np.where(used, (i + 0.5) / width, 1.0 + (i - kept[:, None] + 1) * 1e-6)
    last = np.take_along_axis(states["summary"], np.maximum(kept - 1, 0)[:, None], axis=1)
    y = np.where(used, states["summary"], last).astype(float)
    offset = 2.0 * np.arange(rows)[:, None]
    # Below a row's first position its first value (np.interp would reach the row before).
    at = np.maximum(q[None, :], 0.5 / width) + offset
    out = np.interp(at.ravel(), (x + offset).ravel(), y.ravel()).reshape(rows, len(q))
    out[kept == 0] = np.nan
    return out


def statistics(states: np.ndarray) -> dict[str, np.ndarray]:
    """The statistics of :data:`STATISTICS` (but the first and last JD) from states.

    Examples
    --------
    >>> st = merge_states(empty_states(1), np.zeros(3, int), np.arange(3.0) / 1440,
    ...                   np.array([10.0, 10.2, 10.1]), np.full(3, 0.1))
    >>> {k: round(float(v[0]), 3) for k, v in statistics(st).items() if k != "eta"}
    ... # doctest: +NORMALIZE_WHITESPACE
    {'n': 3.0, 'mean_mag': 10.1, 'std_mag': 0.1, 'err_rms': 0.1, 'chi2_dof': 1.0,
     'robust_std': 0.111, 'stetson_j': -0.612, 'amplitude': 0.2}
    """
    n, sw = states["n"], states["sw"]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = states["ref"] + states["swx"] / sw
        chi2 = np.maximum(states["swx2"] - states["swx"] ** 2 / sw, 0.0)
        dof = np.where(n > 1, n - 1, np.nan)
        variance = np.maximum(states["sx2"] - states["sx"] ** 2 / n, 0.0) / dof
        q = quantiles(states, [0.05, 0.25, 0.75, 0.95])
        return {
            "n": n,
            "mean_mag": mean,
            "std_mag": np.sqrt(chi2 / sw * n / dof),
            "err_rms": np.sqrt(states["svar"] / n),
            "chi2_dof": chi2 / dof,
            "robust_std": (q[:, 2] - q[:, 1]) / _IQR_TO_SIGMA,
            "eta": np.where(
                (states["nd"] > 0) & (variance > 0), states["sd2"] / states["nd"] / variance, np.nan
            ),
            "stetson_j": np.where(states["nj"] > 0, states["sj"] / states["nj"], np.nan),
            "amplitude": q[:, 3] - q[:, 0],
        }


def fold_variability(conn: psycopg.Connection) -> int:
    """Add the points of the images stored since the last fold to their objects' states.

    In the fold's transaction (after :func:`aphos_lib.queries.ingest.fold_lock`): takes every
    pending image's points, reads the states of their objects, writes them back merged.

    Returns
    -------
    int
        The number of (object, filter) states written.
    """
    images = [
        ImagePoints(
            filt,
            jd,
            np.frombuffer(ids, "<i8"),
            np.frombuffer(mags, POINT_DTYPE).astype(float),
            np.frombuffer(errs, POINT_DTYPE).astype(float),
        )
        for filt, jd, ids, mags, errs in statements.take_pending().rows(conn)
    ]
    return add_points(conn, images)


def add_points(conn: psycopg.Connection, images: list[ImagePoints]) -> int:
    """Merge these images' points into their objects' stored states (in the caller's
    transaction, under the fold's lock); the number of (object, filter) states written."""
    if not images:
        return 0
    filters = sorted({image.filter for image in images})
    code = {f: k for k, f in enumerate(filters)}
    ids = np.concatenate([image.object_ids for image in images])
    sizes = [len(image.object_ids) for image in images]
    fcode = np.repeat([code[image.filter] for image in images], sizes)
    t = np.repeat([image.jd for image in images], sizes).astype(float)
    m = np.concatenate([image.magnitudes for image in images])
    s = np.concatenate([image.errors for image in images])
    order = np.lexsort((t, ids, fcode))
    ids, fcode, t, m, s = ids[order], fcode[order], t[order], m[order], s[order]
    first = np.r_[True, (ids[1:] != ids[:-1]) | (fcode[1:] != fcode[:-1])]
    key_ids = ids[first]
    key_filters = [filters[c] for c in fcode[first].tolist()]
    group = np.cumsum(first) - 1

    raw, first_jds = statements.states(key_ids, key_filters, empty_states(1).tobytes()).one(conn)
    states = np.frombuffer(raw, STATE).copy()
    stored_first = np.array(first_jds, dtype=float)
    merged = merge_states(states, group, t, m, s)
    stats = statistics(merged)
    stats["first_jd"] = np.fmin(stored_first, t[first])  # sorted by time within each key
    stats["last_jd"] = merged["last_t"]
    for query in statements.stage():
        query.run(conn)
    fields = [bc.int8(key_ids), bc.text(key_filters), bc.records(merged)]
    fields += [bc.int4(stats["n"].astype(np.int32))]
    fields += [bc.float8(stats[name]) for name in STATISTICS[1:]]
    with statements.copy_staged().copy(conn) as copy:
        copy.write(bc.encode(fields))
    statements.merge_staged().run(conn)
    return len(key_ids)


def rebuild_variability(conn: psycopg.Connection, *, batch: int = 100) -> int:
    """Every object's statistics again from the stored images and their solutions, the
    images in exposure order (in the caller's transaction; the migration that adds them
    runs it); the number of images that gave points."""
    from aphos_lib.calibration import solutions_of

    for query in statements.clear():
        query.run(conn)
    image_ids = [row[0] for row in statements.images_in_time_order().rows(conn)]
    used = 0
    for start in range(0, len(image_ids), batch):
        chunk = image_ids[start : start + batch]
        solutions = solutions_of(conn, chunk)
        images = []
        for image_id in chunk:
            row = statements.image_points(image_id).one(conn)
            if row is None:
                continue
            filt, begin, end, ids, flux, dev, saturated, bv = row
            points = image_points(
                np.array(ids, dtype=np.int64),
                np.array(flux, dtype=float),
                np.array(dev, dtype=float),
                np.array(saturated, dtype=bool),
                np.array(bv, dtype=float),
                solutions.get((image_id, 0)),
                filter=filt,
                jd=exposure_jd(begin, end),
            )
            if points is not None:
                images.append(points)
        used += len(images)
        add_points(conn, images)
    return used


def pending_row(points: ImagePoints) -> tuple:
    """An image's points as the parameters of :func:`aphos_lib.queries.variability.pend`."""
    return (
        points.filter,
        points.jd,
        points.object_ids.astype("<i8").tobytes(),
        points.magnitudes.astype(POINT_DTYPE).tobytes(),
        points.errors.astype(POINT_DTYPE).tobytes(),
    )


def _julian_date(seconds: float) -> float:
    """A Unix time in seconds as a Julian date."""
    return seconds / 86400.0 + 2440587.5


def exposure_jd(begin, end) -> float:
    """The JD (UTC) of the middle of an exposure given as two aware datetimes.

    Examples
    --------
    >>> import datetime as dt
    >>> b = dt.datetime(2000, 1, 1, 11, 59, tzinfo=dt.UTC)
    >>> exposure_jd(b, b + dt.timedelta(minutes=2))
    2451545.0
    """
    return _julian_date((begin.timestamp() + end.timestamp()) / 2.0)
