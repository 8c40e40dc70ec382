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

__all__ = [
    "CATALOGUE_ERROR",
    "CLIP_SIGMA",
    "MIN_COLOUR_RANGE",
    "MIN_COLOUR_STARS",
    "MIN_STARS",
    "PhotometricSolution",
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
        inst_err = np.asarray(instrumental_err, dtype=float)
        if self.colour_term is None:
            zp_var = np.full(inst.shape, self.zero_point_err**2)
            return inst + self.zero_point, np.sqrt(inst_err**2 + zp_var)
        c = (
            np.full(inst.shape, np.nan)
            if colour is None
            else np.broadcast_to(_floats(np.atleast_1d(colour)), inst.shape)
        )
        known = np.isfinite(c)
        dc = np.where(known, c - self.colour_ref, 0.0)
        zp_var = (
            self.zero_point_err**2 + dc**2 * self.colour_term_err**2 + 2.0 * dc * self.covariance
        )
        unknown_spread = abs(self.colour_term) * (self.colour_max - self.colour_min) / 4.0
        zp_var = zp_var + np.where(known, 0.0, unknown_spread**2)
        mag = inst + self.zero_point + self.colour_term * dc
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
    cat = np.asarray(catalogue_mag, dtype=float)
    inst = np.asarray(instrumental, dtype=float)
    err = (
        np.full(cat.shape, np.nan)
        if instrumental_err is None
        else np.asarray(instrumental_err, dtype=float)
    )
    bv = np.full(cat.shape, np.nan) if colour is None else np.asarray(colour, dtype=float)
    keep = np.isfinite(cat) & np.isfinite(inst)
    if usable is not None:
        keep &= np.asarray(usable, dtype=bool)
    if keep.sum() < MIN_STARS:
        return None
    with_colour = keep & np.isfinite(bv)
    colours = bv[with_colour]
    use_colour = with_colour.sum() >= MIN_COLOUR_STARS and (
        np.percentile(colours, 95) - np.percentile(colours, 5) >= MIN_COLOUR_RANGE
    )
    if use_colour:
        keep = with_colour  # one set of stars for both terms
    # A star's error: its flux's (the median of those known where SIPS gave none) and the
    # catalogue's.
    y = cat - inst
    colour_ref = float(np.median(bv[keep])) if use_colour else None
    dc = bv - colour_ref if use_colour else np.zeros(cat.shape)
    known_err = np.isfinite(err) & keep
    if known_err.sum() < 0.5 * keep.sum():
        # Too few deviations: each star's noise is the scatter of stars as bright as it.
        err = _noise_by_brightness(y, dc, inst, keep, use_colour)
    else:
        err = np.where(np.isfinite(err), err, np.median(err[known_err]))
    sigma = np.sqrt(err**2 + CATALOGUE_ERROR**2)
    fitted = keep.copy()
    for _ in range(_MAX_ITERATIONS):
        if fitted.sum() < MIN_STARS:
            return None
        coef, _, _ = _weighted_fit(y[fitted], dc[fitted], sigma[fitted], use_colour)
        # Residuals in units of each star's expected error; their robust spread says how
        # much larger than expected the errors are.
        z = (y - coef[0] - coef[1] * dc) / sigma
        spread = _MAD_TO_SIGMA * np.median(np.abs(z[fitted] - np.median(z[fitted])))
        now = keep & (np.abs(z) <= CLIP_SIGMA * max(spread, 1e-9))
        if np.array_equal(now, fitted):
            break
        fitted = now
    n = int(fitted.sum())
    if n < MIN_STARS:
        return None
    coef, cov, residual = _weighted_fit(y[fitted], dc[fitted], sigma[fitted], use_colour)
    parameters = 2 if use_colour else 1
    chi2 = float(np.sum((residual / sigma[fitted]) ** 2))
    cov = cov * max(1.0, chi2 / max(n - parameters, 1))
    fitted_cat = cat[fitted]
    return PhotometricSolution(
        zero_point=float(coef[0]),
        zero_point_err=float(math.sqrt(cov[0, 0])),
        colour_term=float(coef[1]) if use_colour else None,
        colour_term_err=float(math.sqrt(cov[1, 1])) if use_colour else None,
        colour_ref=colour_ref,
        covariance=float(cov[0, 1]) if use_colour else 0.0,
        rms=float(np.sqrt(np.mean(residual**2))),
        n_stars=n,
        n_clipped=int(keep.sum()) - n,
        mag_min=float(fitted_cat.min()),
        mag_max=float(fitted_cat.max()),
        colour_min=float(bv[fitted].min()) if use_colour else None,
        colour_max=float(bv[fitted].max()) if use_colour else None,
    )


# Stars of similar brightness share a noise estimate when SIPS gave no deviations: this many
# bins of instrumental magnitude, each of at least _MIN_PER_BIN stars.
_NOISE_BINS = 6
_MIN_PER_BIN = 15


def _noise_by_brightness(
    y: np.ndarray, dc: np.ndarray, inst: np.ndarray, keep: np.ndarray, use_colour: bool
) -> np.ndarray:
    """Each fitted star's noise (mag) from the robust scatter of the residuals of an unweighted
    fit among the stars of its brightness bin, the catalogue's error taken out (NaN for the
    stars not fitted)."""
    coef, _, _ = _weighted_fit(y[keep], dc[keep], np.ones(int(keep.sum())), use_colour)
    residual = y - coef[0] - coef[1] * dc
    order = np.argsort(inst[keep])
    bins = max(1, min(_NOISE_BINS, order.size // _MIN_PER_BIN))
    noise = np.full(y.shape, np.nan)
    kept = np.flatnonzero(keep)
    for part in np.array_split(order, bins):
        r = residual[kept[part]]
        spread = _MAD_TO_SIGMA * np.median(np.abs(r - np.median(r)))
        noise[kept[part]] = math.sqrt(max(spread**2 - CATALOGUE_ERROR**2, 0.0))
    return noise


def _weighted_fit(
    y: np.ndarray, dc: np.ndarray, sigma: np.ndarray, use_colour: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted least squares of ``y = a + b dc`` (or ``y = a``): coefficients, their
    covariance (from the weights alone) and the residuals."""
    w = 1.0 / sigma**2
    design = np.column_stack([np.ones_like(y), dc]) if use_colour else np.ones((y.size, 1))
    normal = design.T @ (design * w[:, None])
    cov = np.linalg.inv(normal)
    coef = cov @ (design.T @ (w * y))
    if not use_colour:
        coef = np.array([coef[0], 0.0])
        cov = np.array([[cov[0, 0], 0.0], [0.0, 0.0]])
    residual = y - (coef[0] + coef[1] * dc)
    return coef, cov, residual
