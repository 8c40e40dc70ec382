"""The time of one minimum or maximum of a light curve, by three methods.

Pure numpy on the points of one segment (one night's eclipse, one maximum), times in days:

- :func:`kwee_van_woerden`: the method of Kwee & van Woerden (1956, BAN 12, 327), what
  minima databases have received for seventy years: the curve reflected about trial times,
  the sum of squared differences fitted by a parabola.
- :func:`symmetric_polynomial`: a polynomial even in ``t - T`` (``a0 + a2 u^2 + a4 u^4``)
  fitted with ``T`` free, its error from a residual bootstrap: an independent cross-check
  that assumes the same symmetry but neither interpolation nor reflection.
- :func:`polynomial_extremum`: an ordinary polynomial's extremum with bootstrap errors, for
  asymmetric extrema such as the maxima of RR Lyrae stars.

Each returns an :class:`ExtremumTime`; a segment that cannot be timed raises
:class:`SegmentError` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "ExtremumTime",
    "SegmentError",
    "kwee_van_woerden",
    "polynomial_extremum",
    "symmetric_polynomial",
]

_BOOTSTRAP = 200
_MIN_POINTS = 7


class SegmentError(ValueError):
    """A segment has too few points or no extremum inside it."""


@dataclass(frozen=True)
class ExtremumTime:
    """The time of an extremum found by one method.

    Attributes
    ----------
    time : float
        The extremum's time, in the time scale of the input.
    error_d : float
        Its standard error, in days.
    method : str
        ``"kwee-van-woerden"``, ``"symmetric-polynomial"`` or ``"polynomial"``.
    n : int
        Points used.
    """

    time: float
    error_d: float
    method: str
    n: int


def _prepared(t, m) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(t, dtype=float)
    m = np.asarray(m, dtype=float)
    keep = np.isfinite(t) & np.isfinite(m)
    t, m = t[keep], m[keep]
    order = np.argsort(t, kind="stable")
    t, m = t[order], m[order]
    if len(t) < _MIN_POINTS:
        raise SegmentError(f"{len(t)} points: at least {_MIN_POINTS} are needed to time it")
    if t[-1] - t[0] <= 0:
        raise SegmentError("the points span no time")
    return t, m


def _core_half_width(t: np.ndarray, m: np.ndarray, centre: float) -> float:
    """How far the extremum's core reaches each side of ``centre``, the nearer side's.

    The core ends where the curve (a 5-point running mean) has come back to a quarter of
    the depth, or at the segment's end: beyond, the wings carry noise but no timing.
    """
    smooth = np.convolve(np.pad(m, 2, mode="edge"), np.ones(5) / 5, mode="valid")
    level = smooth.max() - 0.75 * (smooth.max() - min(smooth[0], smooth[-1]))
    half = min(centre - t[0], t[-1] - centre)
    left = np.nonzero((t < centre) & (smooth < level))[0]
    right = np.nonzero((t > centre) & (smooth < level))[0]
    if len(left):
        half = min(half, centre - t[left[-1]])
    if len(right):
        half = min(half, t[right[0]] - centre)
    return float(half)


def _point_scatter(t: np.ndarray, m: np.ndarray) -> float:
    """One point's noise: how far each point is from the line through its neighbours.

    For points of independent noise sigma that distance has variance
    ``sigma^2 (1 + w^2 + (1 - w)^2)`` (``w`` the interpolation weight); the curve itself adds
    only its curvature times the spacing squared. Robust: 1.4826 times the median absolute
    deviation of the normalised distances.
    """
    if len(t) < 5:
        return float(np.std(m))
    width = t[2:] - t[:-2]
    ok = width > 0
    w = (t[2:][ok] - t[1:-1][ok]) / width[ok]
    m0, m1, m2 = m[:-2][ok], m[1:-1][ok], m[2:][ok]
    if len(w) < 3:
        return float(np.std(m))
    residual = m1 - (w * m0 + (1 - w) * m2)
    scaled = residual / np.sqrt(1 + w * w + (1 - w) ** 2)
    return float(1.4826 * np.median(np.abs(scaled - np.median(scaled))))


def _merge_close(t: np.ndarray, m: np.ndarray, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Points closer than ``fraction`` of the mean spacing (0: at the same time) averaged.

    A spline through two points a few seconds apart swings wildly between its neighbours;
    their mean is what the data say there.
    """
    close = np.diff(t) <= fraction * (t[-1] - t[0]) / max(len(t) - 1, 1)
    if not close.any():
        return t, m
    group = np.concatenate([[0], np.cumsum(~close)])
    counts = np.bincount(group)
    return np.bincount(group, t) / counts, np.bincount(group, m) / counts


_EXACT = 0.002  # points whose scatter is below this fraction of the depth count as exact


def _interpolant(t: np.ndarray, m: np.ndarray, exact: bool):
    """Linear interpolation of the points, or a cubic spline when they are nearly exact.

    Linear, as Kwee and van Woerden did, whenever the points scatter: it passes their noise
    on unamplified, so the timing scatters as little as the data allow (an interpolating
    spline through noisy points doubles the scatter). Points exact to 1/500 of the depth are
    followed by a cubic spline instead: there linear interpolation's own error, tens of
    seconds for an unevenly sampled eclipse, would be the largest error left.
    """
    if exact:
        from scipy.interpolate import CubicSpline

        return CubicSpline(t, m)
    return lambda x: np.interp(x, t, m)


def _reflection(curve, centre: float, step: float, pairs: int) -> float:
    """Mean squared difference of the curve reflected about ``centre`` (``pairs`` pairs)."""
    k = step * np.arange(1, pairs + 1)
    return float(np.mean((curve(centre - k) - curve(centre + k)) ** 2))


def kwee_van_woerden(t, m, *, maximum: bool = False) -> ExtremumTime:
    """The time of a symmetric minimum (or maximum) by the Kwee-van Woerden method.

    The points are interpolated linearly (a cubic spline when they are nearly exact, see
    :func:`_interpolant`); the curve is reflected about
    trial times and ``S(T)``, the mean squared difference of ``K`` reflected pairs spaced as
    the points are, computed; a parabola through ``S`` at three trial times gives the time,
    and from its curvature and minimum the error: KvW's formula,
    ``sigma^2 = (4AC - B^2) / (4A^2 (Z - 1))`` with ``Z - 1 = K`` independent pairs. The
    trials start on a grid as fine as the points and close in twice around the best.

    Parameters
    ----------
    t, m : array_like
        Times (days) and magnitudes of the segment, which should hold both branches.
    maximum : bool
        Time a maximum of light (a minimum of magnitude) instead.

    Returns
    -------
    ExtremumTime

    Raises
    ------
    SegmentError
        Too few points, or the most symmetric reflection at the segment's edge.

    Examples
    --------
    >>> t = np.linspace(-0.1, 0.12, 41)
    >>> m = 10 + 0.5 * np.exp(-0.5 * ((t - 0.0123) / 0.03) ** 2)
    >>> round(kwee_van_woerden(t, m).time, 5)
    0.0123
    """
    t, m = _prepared(t, m)
    if maximum:
        m = -m
    noise = _point_scatter(t, m)
    exact = noise < _EXACT * float(np.ptp(m))
    # A spline needs its points apart; linear interpolation only distinct times.
    t, m = _merge_close(t, m, 0.25 if exact else 0.0)
    n = len(t)
    if n < _MIN_POINTS:
        raise SegmentError(f"{n} distinct times: at least {_MIN_POINTS} are needed to time it")
    origin = t[0]
    t = t - origin
    curve = _interpolant(t, m, exact)
    step = t[-1] / (n - 1)
    # Coarse: trial times on the grid, each reflected as far as the nearer end allows, with
    # at least a quarter of the points each side.
    least = max(3, n // 4)
    trials = step * np.arange(least, n - least)
    if len(trials) < 3:
        raise SegmentError(f"{n} points leave no room to reflect the curve")
    s = np.array(
        [_reflection(curve, c, step, int(min(c, t[-1] - c) / step + 1e-9)) for c in trials]
    )
    best = int(np.argmin(s))
    if best == 0 or best == len(trials) - 1:
        raise SegmentError("the curve is most symmetric at the segment's edge: no extremum in it")
    # Fine: parabolas through trials 4, 2 and 1 step apart (closer, noise would rule S).
    centre = float(trials[best])
    # As wide as the core allows, so that enough pairs remain to reflect.
    delta = max(step, min(4 * step, _core_half_width(t, m, centre) / 3))
    found = None
    for _ in range(4):
        # The same pairs for the three trials, so that S compares like with like; only
        # within the core: pairs in the flat wings add noise and no timing.
        pairs = int((_core_half_width(t, m, centre) - delta) / step + 1e-9)
        if pairs < 2:
            raise SegmentError("the extremum is too near the segment's edge to reflect it")
        s0, s1, s2 = (_reflection(curve, centre + x * delta, step, pairs) for x in (-1, 0, 1))
        a, b, c = (s0 + s2 - 2 * s1) / 2, (s2 - s0) / 2, s1
        if a <= 0:
            if found is not None:
                break  # noise rules at this scale: keep the last parabola
            if delta < 3 * step:  # too fine for the noise: try wider first
                delta *= 2
                continue
            raise SegmentError("the reflection has no minimum: the segment holds no extremum")
        x0 = float(np.clip(-b / (2 * a), -1.5, 1.5))
        found = (centre + x0 * delta, a, b, c, delta, pairs)
        centre, delta = centre + x0 * delta, delta / 2
    if found is None:
        raise SegmentError("the reflection has no minimum: the segment holds no extremum")
    centre, a, b, c, scale, pairs = found
    # KvW's (4AC - B^2) / (4A^2 (Z - 1)) is S_min / (A K), with S_min = 2 sigma^2 for points
    # of independent noise sigma. Interpolated values are smoother than the points (a spline
    # averages its neighbours), so S_min would understate the noise and the error with it:
    # sigma is taken from the points themselves, their point-to-point scatter.
    variance = 2 * noise**2 / (a * pairs) * scale * scale
    return ExtremumTime(float(centre + origin), float(np.sqrt(variance)), "kwee-van-woerden", n)


def _even_design(u: np.ndarray, terms: int) -> np.ndarray:
    """Columns 1, u^2, u^4 ... (``terms`` of them)."""
    u2 = u * u
    return np.stack([u2**k for k in range(terms)], axis=-1)


def _even_rss(t: np.ndarray, samples: np.ndarray, centres: np.ndarray, terms: int) -> np.ndarray:
    """Residual sum of squares of the even polynomial about each centre, for each sample.

    ``samples`` is (n, B); returns (len(centres), B). All centres at once, by the normal
    equations in a variable scaled to [-1, 1] (well conditioned for these few terms).
    """
    scale = float(np.max(np.abs(t - centres.mean()))) + float(np.ptp(centres)) or 1.0
    design = _even_design((t[None, :] - centres[:, None]) / scale, terms)  # (C, n, k)
    gram = np.einsum("cnk,cnl->ckl", design, design)
    rhs = np.einsum("cnk,nb->ckb", design, samples)
    coeffs = np.linalg.solve(gram, rhs)  # (C, k, B)
    total = np.einsum("nb,nb->b", samples, samples)
    return total[None, :] - np.einsum("ckb,ckb->cb", coeffs, rhs)


def _refine(centres: np.ndarray, rss: np.ndarray) -> np.ndarray:
    """The minimum of each column of ``rss`` over ``centres``, refined by a parabola."""
    best = np.clip(np.argmin(rss, axis=0), 1, len(centres) - 2)
    cols = np.arange(rss.shape[1])
    r0, r1, r2 = rss[best - 1, cols], rss[best, cols], rss[best + 1, cols]
    curvature = r0 + r2 - 2 * r1
    shift = np.where(curvature > 0, 0.5 * (r0 - r2) / np.where(curvature > 0, curvature, 1), 0.0)
    step = centres[1] - centres[0]
    return centres[best] + np.clip(shift, -1, 1) * step


def _scan(t, samples, low, high, terms, rounds=3) -> np.ndarray:
    """The best centre of each sample: a scan of [low, high], closed in ``rounds`` times."""
    centres = np.linspace(low, high, 41)
    for _ in range(rounds):
        best = _refine(centres, _even_rss(t, samples, centres, terms))
        step = centres[1] - centres[0]
        span = max(float(np.ptp(best)), step)
        centres = np.linspace(best.min() - span / 2 - step, best.max() + span / 2 + step, 41)
    return _refine(centres, _even_rss(t, samples, centres, terms))


def symmetric_polynomial(
    t, m, *, maximum: bool = False, bootstrap: int = _BOOTSTRAP, seed: int = 0
) -> ExtremumTime:
    """The time of a symmetric extremum from a polynomial even about it, with bootstrap errors.

    ``m = a0 + a2 (t - T)^2 + a4 (t - T)^4`` is fitted by least squares with ``T`` free
    (a scan of ``T`` over the middle half of the segment, refined twice); the error is the
    standard deviation of ``T`` refitted to ``bootstrap`` curves made of the fit plus its
    residuals drawn with replacement.

    Parameters
    ----------
    t, m : array_like
        Times (days) and magnitudes of the segment.
    maximum : bool
        Time a maximum of light instead of a minimum.
    bootstrap : int
        Resampled curves.
    seed : int
        Seed of the resampling, so that a result can be reproduced.

    Returns
    -------
    ExtremumTime

    Examples
    --------
    >>> t = np.linspace(-0.1, 0.12, 41)
    >>> m = 10 + 0.5 * np.exp(-0.5 * ((t - 0.0123) / 0.03) ** 2)
    >>> round(symmetric_polynomial(t, m).time, 4)
    0.0123
    """
    t, m = _prepared(t, m)
    if maximum:
        m = -m
    span = t[-1] - t[0]
    origin = t[0] + span / 2
    t = t - origin  # small numbers: the powers of a JD would lose every digit
    terms = 4 if len(t) >= 20 else 3
    best = float(_scan(t, m[:, None], -span / 4, span / 4, terms)[0])
    # Fit only what is symmetric about the extremum, so that a shape the polynomial does not
    # follow exactly errs alike on both sides.
    # The core of the extremum (a polynomial of a few even terms does not follow an eclipse's
    # flat wings).
    for _ in range(3):
        half = _core_half_width(t, m, best)
        inside = np.abs(t - best) <= half
        before = int(np.sum(t[inside] < best))
        if before < 3 or inside.sum() - before < 3 or inside.sum() < _MIN_POINTS:
            raise SegmentError("the best symmetric fit is too near the segment's edge")
        tw, mw = t[inside], m[inside]
        best = float(_scan(tw, mw[:, None], best - half / 4, best + half / 4, terms)[0])
    n = len(tw)
    design = _even_design(tw - best, terms)
    coeffs, *_ = np.linalg.lstsq(design, mw, rcond=None)
    u = tw - best
    slope = -sum(2 * k * coeffs[k] * u ** (2 * k - 1) for k in range(1, terms))  # d model / dT
    if not np.any(slope[u < 0] < 0):
        raise SegmentError("the fitted curve has no minimum: the segment holds no extremum")
    fit = design @ coeffs
    residual = mw - fit
    # The asymptotic error sets how wide the resampled curves' scans must be.
    sigma = np.sqrt(residual @ residual / max(n - terms - 1, 1))
    jacobian = np.column_stack([design, slope])
    try:
        asymptotic = sigma * np.sqrt(np.linalg.inv(jacobian.T @ jacobian)[-1, -1])
    except np.linalg.LinAlgError:
        asymptotic = half / 10
    width = float(np.clip(8 * asymptotic, 1e-6, half / 2))
    rng = np.random.default_rng(seed)
    samples = fit[:, None] + residual[rng.integers(0, n, size=(n, bootstrap))]
    times = _scan(tw, samples, best - width, best + width, terms, rounds=1)
    error = float(np.std(times, ddof=1))
    return ExtremumTime(float(best + origin), error, "symmetric-polynomial", n)


def polynomial_extremum(
    t,
    m,
    *,
    maximum: bool = True,
    degree: int = 5,
    bootstrap: int = _BOOTSTRAP,
    seed: int = 0,
) -> ExtremumTime:
    """The time of an extremum of an ordinary polynomial fitted to the segment.

    For extrema that are not symmetric (the steep rise and slow decline of an RR Lyrae
    star's maximum). The polynomial of ``degree`` is fitted by least squares to the
    extremum's core (within a quarter of the segment's range of it); its extremum is the
    time; the error is the standard deviation of the extremum
    of ``bootstrap`` polynomials fitted to the fit plus residuals drawn with replacement.

    Parameters
    ----------
    t, m : array_like
        Times (days) and magnitudes.
    maximum : bool
        A maximum of light (the least magnitude), else a minimum of light.
    degree : int
        Polynomial degree (5 follows an RR Lyrae star's top to seconds).
    bootstrap : int
        Resampled curves.
    seed : int
        Seed of the resampling.

    Returns
    -------
    ExtremumTime

    Examples
    --------
    >>> t = np.linspace(0, 0.2, 30)
    >>> m = 10 + 30 * (t - 0.08) ** 2 - 40 * (t - 0.08) ** 3
    >>> round(polynomial_extremum(t, m).time, 5)
    0.08
    """
    t, m = _prepared(t, m)
    sign = 1.0 if maximum else -1.0  # minimise sign * m
    # The extremum's core: where the curve (a 5-point running mean) is within a quarter of
    # the segment's range of its extremum, on each side separately (the shape may be
    # asymmetric); a polynomial of low degree follows that and not the whole branch.
    smooth = np.convolve(np.pad(sign * m, 2, mode="edge"), np.ones(5) / 5, mode="valid")
    peak = int(np.argmin(smooth))
    level = smooth[peak] + 0.25 * float(np.ptp(smooth))
    low, high = peak, peak
    while low > 0 and smooth[low - 1] <= level:
        low -= 1
    while high < len(t) - 1 and smooth[high + 1] <= level:
        high += 1
    parts = [(t[low : high + 1], m[low : high + 1])] if high - low + 1 >= 12 else []
    # The core first, then the whole segment; no more terms than a third of the points
    # carry, fewer when the extremum falls at an edge.
    for tp, mp in [*parts, (t, m)]:
        for k in range(min(degree, len(tp) // 3 - 1), 2, -1):
            try:
                return _polynomial_extremum(tp, mp, sign, k, bootstrap, seed)
            except SegmentError:
                continue
    raise SegmentError(f"{len(t)} points: no polynomial puts an extremum inside the segment")


def _polynomial_extremum(t, m, sign, degree, bootstrap, seed) -> ExtremumTime:
    origin, scale = t.mean(), (t[-1] - t[0]) / 2
    x = (t - origin) / scale
    design = np.vander(x, degree + 1)
    pinv = np.linalg.pinv(design)
    coeffs = pinv @ m
    fit = design @ coeffs
    residual = m - fit
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(t), size=(len(t), bootstrap))
    all_coeffs = np.concatenate([coeffs[:, None], pinv @ (fit[:, None] + residual[draws])], axis=1)
    grid = np.linspace(x[0], x[-1], 2001)
    curves = sign * (np.vander(grid, degree + 1) @ all_coeffs)  # (grid, 1 + B)
    best = np.argmin(curves, axis=0)
    if best[0] in (0, len(grid) - 1):
        raise SegmentError("the fitted polynomial's extremum is at the segment's edge")
    inside = (best > 0) & (best < len(grid) - 1)
    at = np.clip(best, 1, len(grid) - 2)
    cols = np.arange(curves.shape[1])
    c0, c1, c2 = curves[at - 1, cols], curves[at, cols], curves[at + 1, cols]
    curvature = c0 + c2 - 2 * c1
    shift = np.where(curvature > 0, 0.5 * (c0 - c2) / np.where(curvature > 0, curvature, 1), 0)
    xs = grid[at] + shift * (grid[1] - grid[0])
    times = origin + scale * xs
    error = float(np.std(times[1:][inside[1:]], ddof=1))
    return ExtremumTime(float(times[0]), error, "polynomial", len(t))
