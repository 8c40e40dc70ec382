"""The photometric solution of one image and aperture: the zero point and colour term that turn
its instrumental magnitudes into catalogue magnitudes.

Every SIPS export measures every star of its field, and most rows carry the star's catalogue
magnitude (``CatalogMag``) and colour (``CatalogBV``). For the stars fit to calibrate (matched,
unsaturated, with a flux), the solution is the robust fit of

    CatalogMag - m_inst = ZP + T (B-V - c0),        m_inst = -2.5 log10(flux)

where ``c0`` is the median colour of the stars fitted (so that ZP and T are nearly
uncorrelated, and ZP is the zero point of a typical star of the field). The fit is weighted
least squares with iterative clipping at :data:`CLIP_SIGMA` times a robust scatter (the MAD),
the weights ``1 / (sigma_inst**2 + sigma_cat**2)`` from the flux's deviation where SIPS gave one
and a floor for the catalogue's own error, the scatter of the residuals scaling the errors
(a reduced chi-square above 1 widens them, never narrows them). Where SIPS gave no deviations
a star's noise is the robust scatter of the residuals of stars as bright as it. Variables and
blends fall to the clipping; saturated rows (in any aperture: past linearity) never enter. The
colour term is fitted only when enough stars with a colour span a wide enough range
(:data:`MIN_COLOUR_STARS`, :data:`MIN_COLOUR_RANGE`); otherwise it is None and the zero point
alone is fitted.

A calibrated magnitude is then ``m_inst + ZP + T (B-V - c0)``, its error the flux's and the
solution's at that colour (:meth:`PhotometricSolution.calibrate`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "CATALOGUE_ERROR",
    "CLIP_SIGMA",
    "MIN_COLOUR_RANGE",
    "MIN_COLOUR_STARS",
    "MAX_FIT_STARS",
    "MIN_STARS",
    "PhotometricSolution",
    "calibrated_magnitudes",
    "fit_solution",
    "instrumental_magnitudes",
]

#: The catalogue magnitudes' own error (mag): UCAC4's APASS magnitudes are good to a few
#: hundredths; it keeps the brightest stars from taking all the weight.
CATALOGUE_ERROR = 0.03
#: Residuals further than this many robust standard deviations are left out, and the fit redone.
CLIP_SIGMA = 3.0
#: Fewer stars than this give no solution.
MIN_STARS = 5
#: At most this many stars, evenly spaced in brightness, are fitted.
MAX_FIT_STARS = 400
#: A colour term needs this many stars with a colour, spanning at least MIN_COLOUR_RANGE (the
#: 5-95% range of their B-V, mag).
MIN_COLOUR_STARS = 20
MIN_COLOUR_RANGE = 0.3
_MAX_ITERATIONS = 10
_MAD_TO_SIGMA = 1.4826
_POGSON = 2.5 / math.log(10.0)  # mag per unit relative flux error


def instrumental_magnitudes(flux, deviation=None) -> tuple[np.ndarray, np.ndarray]:
    """``-2.5 log10(flux)`` and its error ``1.0857 deviation / flux`` (NaN where the flux is not
    positive or the deviation unknown).

    Examples
    --------
    >>> mag, err = instrumental_magnitudes([100.0, 1000.0, -5.0], [10.0, None, 1.0])
    >>> mag[:2].round(4).tolist(), round(float(err[0]), 4), bool(np.isnan(mag[2]))
    ([-5.0, -7.5], 0.1086, True)
    """
    flux = np.asarray(flux, dtype=float)
    dev = np.full(flux.shape, np.nan) if deviation is None else _floats(deviation)
    with np.errstate(divide="ignore", invalid="ignore"):
        good = flux > 0
        mag = np.where(good, -2.5 * np.log10(np.where(good, flux, 1.0)), np.nan)
        err = np.where(good, _POGSON * dev / np.where(good, flux, 1.0), np.nan)
    return mag, err


def _floats(values) -> np.ndarray:
    """Floats, NaN for None."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        return values
    return np.array([np.nan if v is None else v for v in values], dtype=float)


@dataclass(frozen=True)
class PhotometricSolution:
    """The fit of one image and aperture (see the module).

    Attributes
    ----------
    zero_point, zero_point_err : float
        ZP (mag) and its standard error, at the reference colour.
    colour_term, colour_term_err : float or None
        T (mag per mag of B-V) and its error; None when no colour term was fitted.
    colour_ref : float or None
        ``c0``, the median B-V of the stars fitted (None without a colour term).
    covariance : float
        Covariance of ZP and T (0 without a colour term).
    rms : float
        Root mean square of the residuals of the stars kept (mag).
    n_stars, n_clipped : int
        Stars kept in the fit, and left out by the clipping.
    mag_min, mag_max : float
        Catalogue magnitude range of the stars kept.
    colour_min, colour_max : float or None
        Their B-V range (None without a colour term).
    """

    zero_point: float
    zero_point_err: float
    colour_term: float | None
    colour_term_err: float | None
    colour_ref: float | None
    covariance: float
    rms: float
    n_stars: int
    n_clipped: int
    mag_min: float
    mag_max: float
    colour_min: float | None
    colour_max: float | None

    def to_dict(self) -> dict:
        """The solution as a plain dict (the database row's values and the JSON)."""
        return asdict(self)

    def calibrate(
        self, instrumental, instrumental_err, colour=None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Calibrated magnitudes and errors: the flux's error and the solution's at each colour.

        A star without a colour (NaN or None) takes the reference colour; the colour term's
        share of its error is then ``|T|`` times the spread of the fitted colours' range / 4.

        Examples
        --------
        >>> s = PhotometricSolution(20.0, 0.01, 0.1, 0.02, 0.5, 0.0, 0.02, 50, 2, 9.0, 13.0,
        ...                         0.1, 1.2)
        >>> mag, err = s.calibrate([-10.0], [0.01], [1.5])
        >>> round(float(mag[0]), 3), round(float(err[0]), 4)
        (10.1, 0.0245)
        """
        inst = np.asarray(instrumental, dtype=float)
        c = np.full(inst.shape, np.nan) if colour is None else _floats(np.atleast_1d(colour))
        return calibrated_magnitudes(
            inst,
            np.asarray(instrumental_err, dtype=float),
            np.broadcast_to(c, inst.shape),
            **{k: _nan(v) for k, v in self.to_dict().items() if k in _CALIBRATION_FIELDS},
        )


_CALIBRATION_FIELDS = (
    "zero_point",
    "zero_point_err",
    "colour_term",
    "colour_term_err",
    "colour_ref",
    "covariance",
    "colour_min",
    "colour_max",
)


def _nan(value) -> float:
    return np.nan if value is None else float(value)


def calibrated_magnitudes(
    instrumental,
    instrumental_err,
    colour,
    *,
    zero_point,
    zero_point_err,
    colour_term,
    colour_term_err,
    colour_ref,
    covariance,
    colour_min,
    colour_max,
) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated magnitudes and errors, element by element: each element may have its own
    solution (a light curve's images). A NaN colour term means none was fitted; a NaN colour
    takes the reference colour, its share of the error ``|T|`` times the fitted colours'
    range / 4.

    Examples
    --------
    >>> mag, err = calibrated_magnitudes([-10.0, -10.0], [0.01, 0.01], [1.5, np.nan],
    ...     zero_point=20.0, zero_point_err=0.01, colour_term=np.array([0.1, np.nan]),
    ...     colour_term_err=0.02, colour_ref=0.5, covariance=0.0, colour_min=0.1,
    ...     colour_max=1.2)
    >>> mag.round(3).tolist(), err.round(4).tolist()
    ([10.1, 10.0], [0.0245, 0.0141])
    """
    inst = np.asarray(instrumental, dtype=float)
    inst_err = np.asarray(instrumental_err, dtype=float)
    colour = np.asarray(colour, dtype=float)
    term = np.asarray(colour_term, dtype=float)
    has_term = np.isfinite(term)
    known = np.isfinite(colour) & has_term
    dc = np.where(known, colour - colour_ref, 0.0)
    term_err = np.where(has_term, colour_term_err, 0.0)
    zp_var = (
        zero_point_err**2 + dc**2 * term_err**2 + 2.0 * dc * np.where(has_term, covariance, 0.0)
    )
    spread = np.where(has_term & ~known, np.abs(term) * (colour_max - colour_min) / 4.0, 0.0)
    zp_var = zp_var + np.nan_to_num(spread) ** 2
    mag = inst + zero_point + np.where(has_term, term, 0.0) * dc
    return mag, np.sqrt(inst_err**2 + np.maximum(zp_var, 0.0))


def fit_solution(
    catalogue_mag,
    instrumental,
    instrumental_err=None,
    colour=None,
    *,
    usable=None,
) -> PhotometricSolution | None:
    """Fit the zero point (and colour term, where the colours allow) of one image and aperture.

    Parameters
    ----------
    catalogue_mag : array_like
        Each row's catalogue magnitude (NaN where unknown).
    instrumental, instrumental_err : array_like
        ``-2.5 log10(flux)`` and its error (NaN error: unknown, the fit's scatter stands in).
    colour : array_like, optional
        Catalogue B-V (NaN where unknown).
    usable : array_like of bool, optional
        Rows allowed in the fit (e.g. not saturated in any aperture).

    Returns
    -------
    PhotometricSolution or None
        None when fewer than :data:`MIN_STARS` stars remain.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> cat = rng.uniform(9, 14, 400); bv = rng.uniform(0.2, 1.6, 400)
    >>> inst = cat - 21.3 - 0.08 * (bv - 0.9) + rng.normal(0, 0.01, 400)
    >>> s = fit_solution(cat, inst, np.full(400, 0.01), bv)
    >>> round(s.zero_point + s.colour_term * (0.9 - s.colour_ref), 2), round(s.colour_term, 2)
    (21.3, 0.08)
    """
    inst = np.asarray(instrumental, dtype=float)
    err = None if instrumental_err is None else np.asarray(instrumental_err, dtype=float)[None]
    return fit_solutions(catalogue_mag, inst[None], err, colour, usable=usable)[0]


def fit_solutions(
    catalogue_mag, instrumental, instrumental_err=None, colour=None, *, usable=None
) -> list[PhotometricSolution | None]:
    """:func:`fit_solution` for several apertures of one image at once: ``instrumental`` and
    ``instrumental_err`` have one row per aperture (the clipping of every aperture runs in
    the same array operations: a dozen apertures of 2,000 stars in a few milliseconds).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> cat = rng.uniform(9, 14, 400)
    >>> inst = np.stack([cat - 20.0, cat - 20.5]) + rng.normal(0, 0.01, (2, 400))
    >>> [round(s.zero_point, 2) for s in fit_solutions(cat, inst, np.full((2, 400), 0.01))]
    [20.0, 20.5]
    """
    cat = np.asarray(catalogue_mag, dtype=float)
    inst = np.atleast_2d(np.asarray(instrumental, dtype=float))
    apertures = inst.shape[0]
    err = (
        np.full(inst.shape, np.nan)
        if instrumental_err is None
        else np.atleast_2d(np.asarray(instrumental_err, dtype=float))
    )
    bv = np.full(cat.shape, np.nan) if colour is None else np.asarray(colour, dtype=float)
    rows = np.isfinite(cat)
    if usable is not None:
        rows &= np.asarray(usable, dtype=bool)
    with_colour = rows & np.isfinite(bv)
    colours = bv[with_colour]
    use_colour = bool(
        colours.size >= MIN_COLOUR_STARS
        and np.percentile(colours, 95) - np.percentile(colours, 5) >= MIN_COLOUR_RANGE
    )
    if use_colour:
        rows = with_colour  # one set of stars for both terms
    if rows.sum() > MAX_FIT_STARS:
        # Evenly spaced in brightness (ApAuto), over the whole range fitted: the fit of 2,000
        # costs four times as much and the zero point's error hardly changes (the
        # catalogue's own error dominates); the brightest alone sit nearest the detector's
        # non-linearity (a real export's 400 brightest: RMS 0.35 mag against 0.24).
        candidates = np.flatnonzero(rows & np.isfinite(inst[0]))
        ranked = candidates[np.argsort(inst[0][candidates], kind="stable")]
        chosen = ranked[np.linspace(0, ranked.size - 1, MAX_FIT_STARS).round().astype(int)]
        cat, bv, rows = cat[chosen], bv[chosen], rows[chosen]
        inst, err = inst[:, chosen], err[:, chosen]
        colours = bv[rows & np.isfinite(bv)] if use_colour else colours
    keep = rows[None] & np.isfinite(inst)
    y = cat[None] - inst
    colour_ref = float(np.median(colours)) if use_colour else None
    dc = np.where(rows, bv - colour_ref, 0.0) if use_colour else np.zeros(cat.shape)
    known = np.isfinite(err) & keep
    guessed = (known.sum(axis=1) < 0.5 * keep.sum(axis=1)) | ~known.any(axis=1)
    noise = np.where(np.isfinite(err), err, _row_medians(err, known))
    if guessed.any():
        # Too few deviations: each star's noise is the scatter of stars as bright as it.
        noise[guessed] = _noise_by_brightness(y[guessed], dc, inst[0], keep[guessed], use_colour)
    sigma = np.sqrt(noise**2 + CATALOGUE_ERROR**2)
    sigma = np.where(keep, sigma, np.inf)
    fitted = keep.copy()
    done = fitted.sum(axis=1) < MIN_STARS
    for _ in range(_MAX_ITERATIONS):
        a, b, _ = _weighted_fits(y, dc, sigma, fitted, use_colour)
        # Residuals in units of each star's expected error; their robust spread says how
        # much larger than expected the errors are.
        z = (y - a[:, None] - b[:, None] * dc) / sigma
        centre = _row_medians(z, fitted)
        spread = _MAD_TO_SIGMA * _row_medians(np.abs(z - centre), fitted)
        now = keep & (np.abs(z) <= CLIP_SIGMA * np.maximum(spread, 1e-9))
        now[done] = fitted[done]
        changed = (now != fitted).any(axis=1)
        fitted = now
        done |= ~changed | (fitted.sum(axis=1) < MIN_STARS)
        if done.all():
            break
    a, b, cov = _weighted_fits(y, dc, sigma, fitted, use_colour)
    solutions: list[PhotometricSolution | None] = []
    parameters = 2 if use_colour else 1
    for k in range(apertures):
        n = int(fitted[k].sum())
        if n < MIN_STARS:
            solutions.append(None)
            continue
        residual = (y[k] - a[k] - b[k] * dc)[fitted[k]]
        chi2 = float(np.sum((residual / sigma[k][fitted[k]]) ** 2))
        c = cov[k] * max(1.0, chi2 / max(n - parameters, 1))
        fitted_cat = cat[fitted[k]]
        solutions.append(
            PhotometricSolution(
                zero_point=float(a[k]),
                zero_point_err=float(math.sqrt(c[0, 0])),
                colour_term=float(b[k]) if use_colour else None,
                colour_term_err=float(math.sqrt(c[1, 1])) if use_colour else None,
                colour_ref=colour_ref,
                covariance=float(c[0, 1]) if use_colour else 0.0,
                rms=float(np.sqrt(np.mean(residual**2))),
                n_stars=n,
                n_clipped=int(keep[k].sum()) - n,
                mag_min=float(fitted_cat.min()),
                mag_max=float(fitted_cat.max()),
                colour_min=float(bv[fitted[k]].min()) if use_colour else None,
                colour_max=float(bv[fitted[k]].max()) if use_colour else None,
            )
        )
    return solutions


# Stars of similar brightness share a noise estimate when SIPS gave no deviations: this many
# bins of instrumental magnitude, each of at least _MIN_PER_BIN stars.
_NOISE_BINS = 6
_MIN_PER_BIN = 15


def _noise_by_brightness(
    y: np.ndarray, dc: np.ndarray, brightness: np.ndarray, keep: np.ndarray, use_colour: bool
) -> np.ndarray:
    """Each fitted star's noise (mag) in each row of ``y`` (an aperture): the robust scatter
    of the residuals of an unweighted fit among the stars of its bin of ``brightness``, the
    catalogue's error taken out (NaN for the stars not fitted)."""
    a, b, _ = _weighted_fits(y, dc, np.ones(y.shape), keep, use_colour)
    residual = y - a[:, None] - b[:, None] * dc
    order = np.argsort(np.where(np.isfinite(brightness), brightness, np.inf))
    bins = max(1, min(_NOISE_BINS, int(keep.any(axis=0).sum()) // _MIN_PER_BIN))
    noise = np.full(y.shape, np.nan)
    for part in np.array_split(order, bins):
        r, m = residual[:, part], keep[:, part]
        spread = _MAD_TO_SIGMA * _row_medians(np.abs(r - _row_medians(r, m)), m)
        value = np.sqrt(np.maximum(spread**2 - CATALOGUE_ERROR**2, 0.0))
        noise[:, part] = np.where(m, value, np.nan)
    return noise


def _row_medians(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The median of each row's values where ``mask`` holds, as a column (NaN for none): one
    sort of the whole array (numpy's nanmedian goes row by row)."""
    ordered = np.sort(np.where(mask, values, np.inf), axis=1)
    n = mask.sum(axis=1)
    rows = np.arange(values.shape[0])
    low, high = np.maximum((n - 1) // 2, 0), np.maximum(n // 2, 0)
    with np.errstate(invalid="ignore"):
        median = np.where(n > 0, 0.5 * (ordered[rows, low] + ordered[rows, high]), np.nan)
    return median[:, None]


def _weighted_fits(
    y: np.ndarray, dc: np.ndarray, sigma: np.ndarray, fitted: np.ndarray, use_colour: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted least squares of ``y = a + b dc`` (or ``y = a``) for each row of ``y`` over its
    ``fitted`` stars: ``a``, ``b`` and their 2x2 covariances (from the weights alone)."""
    w = np.where(fitted, 1.0 / sigma**2, 0.0)
    s = w.sum(axis=1)
    sy = (w * np.where(fitted, y, 0.0)).sum(axis=1)
    cov = np.zeros((y.shape[0], 2, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        if not use_colour:
            cov[:, 0, 0] = 1.0 / s
            return sy / s, np.zeros(y.shape[0]), cov
        wx = w * dc
        sx, sxx = wx.sum(axis=1), (wx * dc).sum(axis=1)
        sxy = (wx * np.where(fitted, y, 0.0)).sum(axis=1)
        det = s * sxx - sx**2
        cov[:, 0, 0], cov[:, 1, 1] = sxx / det, s / det
        cov[:, 0, 1] = cov[:, 1, 0] = -sx / det
        return (sxx * sy - sx * sxy) / det, (s * sxy - sx * sy) / det, cov


def image_solutions(rows, apertures: int) -> dict[int, PhotometricSolution]:
    """The solutions of one image, per aperture (0: ``ApAuto``, k: ``Ap<k>``), from its rows in
    the canonical columns of :mod:`aphos_lib.io.sips` (a ``pyarrow.Table``); an aperture with
    too few usable stars has none.

    Rows SIPS matched to a catalogue star with a magnitude take part; a row saturated in any
    aperture takes part in none (past linearity), nor does a row whose flux is not positive.

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> mag = rng.uniform(9, 13, 100)
    >>> flux = 10 ** (-0.4 * (mag - 20.0))
    >>> rows = pa.table({"catalog_mag": mag, "catalog_bv": np.full(100, np.nan),
    ...                  "ap_auto": flux, "ap_auto_dev": flux * 0.01,
    ...                  "ap_auto_saturated": np.zeros(100, bool)})
    >>> round(image_solutions(rows, 0)[0].zero_point, 3)
    20.0
    """
    names = rows.column_names
    cat = _column(rows, "catalog_mag")
    bv = _column(rows, "catalog_bv") if "catalog_bv" in names else np.full(cat.shape, np.nan)
    keys = [("ap_auto", 0)] + [(f"ap{k}", k) for k in range(1, apertures + 1)]
    usable = np.isfinite(cat)
    for key, _ in keys:
        saturated = f"{key}_saturated"
        if saturated in names:
            usable &= ~rows[saturated].to_numpy(zero_copy_only=False).astype(bool)
    fluxes, deviations = [], []
    for key, _ in keys:
        deviation = f"{key}_dev"
        dev = _column(rows, deviation) if deviation in names else None
        inst, err = instrumental_magnitudes(_column(rows, key), dev)
        fluxes.append(inst)
        deviations.append(err)
    fits = fit_solutions(cat, np.stack(fluxes), np.stack(deviations), bv, usable=usable)
    return {aperture: fit for (_, aperture), fit in zip(keys, fits, strict=True) if fit}


def _column(rows, name: str) -> np.ndarray:
    """A numeric column as floats, NaN where null."""
    column = pc.fill_null(rows[name].cast(pa.float64()), math.nan)
    return column.to_numpy()
