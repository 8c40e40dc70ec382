"""The demo sky: three fields and the catalogue stars in them, variables included.

- ``gk_cep``: the real UCAC4 stars around the Algol-type binary GK Cep, from the published
  SIPS export (shipped as ``data/gk_cep_field.csv``, see :mod:`.build_field_data`). GK Cep
  and EK Cep are the eclipsing binaries; everything else is constant.
- ``demo_rr1``: a synthetic field around an RRab star, DEMO RR1.
- ``demo_ds1``: a synthetic field of constant stars and a low-amplitude delta Scuti star,
  DEMO DS1.

The synthetic fields come from a fixed random seed of their own, not from the generator's
seed: the sky is the same in every demo data set and only the observations differ.

``inject_variables(fields, n, seed)`` turns ``n`` ordinary stars of each field into variables
(``kind`` ``"injected"``) of random amplitudes, for tests of the variable finder.

``field_stars(n)`` fills each field up to about ``n`` catalogue stars, as many as a real
SIPS export of one image matches: the stars above stay as they are and faint constant
stars (down to :data:`FAINT_LIMIT_MAG`) are added, again from a fixed seed of each field's.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from aphos_lib.demo.astrometry import deproject, project

__all__ = ["FieldInfo", "StarInfo", "field_stars", "ucac4_zone"]

# Random seed of the synthetic fields; changing it changes the demo's catalogue.
SKY_SEED = 20211106
FIELD_RADIUS_DEG = 1.5
# Faint end of the stars added by ``field_stars(n)``, and the slope of their counts.
FAINT_LIMIT_MAG = 13.5
FAINT_SLOPE = 0.28
# Key of the random stream of the added faint stars (with the field's index).
_FAINT_STREAM = 1
# Stars closer than this to the target or its comparison star would share their apertures.
_CLEARANCE_DEG = 0.03


@dataclass(frozen=True)
class FieldInfo:
    """A field that the observers point at.

    Attributes
    ----------
    name : str
        Identifier, also the first part of each file name (``gk_cep_20211106T162745.csv``).
    centre_ra_deg, centre_dec_deg : float
        Nominal centre (the target star); the HJD in the files is computed for it.
    target_catalog_id : str
        The variable the field is observed for.
    comparison_catalog_id : str
        A constant star of similar magnitude and colour near the target.
    """

    name: str
    centre_ra_deg: float
    centre_dec_deg: float
    target_catalog_id: str
    comparison_catalog_id: str


@dataclass(frozen=True)
class StarInfo:
    """A catalogue star of a demo field.

    Attributes
    ----------
    field : str
        Name of the field the star belongs to.
    catalog, catalog_id : str
        ``"UCAC4"`` and its ``ZZZ-NNNNNN`` identifier.
    name : str or None
        Designation written in SIPS's Name column (``"GK Cep"``), None for most stars.
    ra_deg, dec_deg : float
        Catalogue position (the same values as the files' ``CatalogRA``/``CatalogDec``).
    catalog_mag, bv, jk : float
        Catalogue V magnitude, B-V (None where the catalogue has none) and J-K.
    kind : str
        ``"constant"``, ``"eclipsing"``, ``"pulsating"`` or ``"injected"`` (an ordinary star
        made variable: :func:`inject_variables`).
    variability : dict or None
        ``{"model": ..., parameters}`` for :func:`aphos_lib.demo.variables.model_magnitude`.
    """

    field: str
    catalog: str
    catalog_id: str
    name: str | None
    ra_deg: float
    dec_deg: float
    catalog_mag: float
    bv: float | None
    jk: float | None
    kind: str
    variability: dict[str, Any] | None


GK_CEP = "805-031770"
GK_CEP_COMPARISON = "803-032417"
EK_CEP = "799-031271"

# GK Cep: the period and the depths of the minima of this beta Lyr-like light curve follow the
# brief for the demo (P = 0.936 d, minima of 0.3 and 0.2 mag); the epoch is the night of
# the fixture image. EK Cep's period is the published one, its epoch and depths are demo values.
VARIABILITY: dict[str, tuple[str, dict[str, Any]]] = {
    GK_CEP: (
        "eclipsing",
        {
            "model": "eclipsing",
            "mag_max": 8.42,
            "period_d": 0.936,
            "epoch_hjd": 2459525.3,
            "depth_primary": 0.30,
            "depth_secondary": 0.20,
            "eclipse_sigma_phase": 0.08,
            "ellipsoidal_amplitude": 0.04,
            "secondary_phase": 0.5,
        },
    ),
    EK_CEP: (
        "eclipsing",
        {
            "model": "eclipsing",
            "mag_max": 8.70,
            "period_d": 4.427796,
            "epoch_hjd": 2459501.4710,
            "depth_primary": 0.65,
            "depth_secondary": 0.08,
            "eclipse_sigma_phase": 0.012,
            "ellipsoidal_amplitude": 0.0,
            "secondary_phase": 0.5,
        },
    ),
}


@dataclass(frozen=True)
class _Synthetic:
    """Recipe of a synthetic field: where it is, its variable and what else is in it."""

    name: str
    ra_deg: float
    dec_deg: float
    n_stars: int
    bright_mags: tuple[float, ...]
    target_name: str
    target_mag: float
    target_bv: float
    target_jk: float
    target_kind: str
    target_variability: dict[str, Any]
    comparison_mag: float
    comparison_bv: float


SYNTHETIC = (
    _Synthetic(
        name="demo_rr1",
        ra_deg=30.921875,
        dec_deg=33.686750,
        n_stars=220,
        bright_mags=(5.61, 6.38, 7.12),
        target_name="DEMO RR1",
        target_mag=10.55,
        target_bv=0.36,
        target_jk=0.27,
        target_kind="pulsating",
        target_variability={
            "model": "rrab",
            "mag_max": 10.15,
            "amplitude": 0.80,
            "period_d": 0.5667,
            "epoch_hjd": 2459480.4312,
            "harmonics": 6,
        },
        comparison_mag=10.31,
        comparison_bv=0.52,
    ),
    _Synthetic(
        name="demo_ds1",
        ra_deg=351.021250,
        dec_deg=48.210000,
        n_stars=180,
        bright_mags=(5.48, 6.57),
        target_name="DEMO DS1",
        target_mag=9.62,
        target_bv=0.27,
        target_jk=0.14,
        target_kind="pulsating",
        target_variability={
            "model": "multiperiodic",
            "mag_mean": 9.62,
            "periods_d": [0.0937, 0.07243],
            "semi_amplitudes": [0.028, 0.011],
            "epoch_hjd": 2459490.2170,
        },
        comparison_mag=9.48,
        comparison_bv=0.41,
    ),
)


def ucac4_zone(dec_deg) -> np.ndarray:
    """UCAC4 zone of a declination: 0.2 deg wide bands numbered from 1 at the south pole."""
    return np.floor((np.asarray(dec_deg) + 90.0) / 0.2).astype(int) + 1


def _round_to_catalogue(ra_deg: np.ndarray, dec_deg: np.ndarray) -> tuple[np.ndarray, ...]:
    # Catalogue positions to the precision of the files' CatalogRA/CatalogDec (1 ms, 0.01"),
    # so that the manifest and the files say exactly the same thing.
    return np.round(ra_deg * 240_000.0) / 240_000.0, np.round(dec_deg * 360_000.0) / 360_000.0


def _ucac4_ids(
    ra_deg: np.ndarray,
    dec_deg: np.ndarray,
    used: set[tuple[int, int]] | None = None,
    per_zone: float = 120_000.0,
) -> list[str]:
    # Within a zone UCAC4 numbers its stars in order of RA; about 1.2e5 stars per zone at
    # these declinations gives running numbers of the right size. A number already in
    # ``used`` (zone, number) is taken by another star: the next free one is used.
    zone = ucac4_zone(dec_deg)
    number = np.floor(ra_deg / 360.0 * per_zone).astype(int) + 1
    used = set() if used is None else used
    ids = []
    for z, n in zip(zone.tolist(), number.tolist(), strict=True):
        while (z, n) in used:
            n += 1
        used.add((z, n))
        ids.append(f"{z:03d}-{n:06d}")
    return ids


def _magnitudes(
    rng: np.random.Generator, n: int, low: float, high: float, a: float = 0.28
) -> np.ndarray:
    # Star counts grow by a factor ~1.9 per magnitude (log N ~ 0.28 m), as in the fixture's
    # UCAC4 stars between V = 8.5 and 12; drawn by inverting the cumulative distribution.
    u = rng.random(n)
    lo, hi = 10.0 ** (a * low), 10.0 ** (a * high)
    return np.log10(lo + u * (hi - lo)) / a


def _colours(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    giant = rng.random(n) < 0.35
    bv = np.where(giant, rng.normal(1.15, 0.30, n), rng.normal(0.55, 0.25, n))
    bv = np.clip(bv, -0.25, 2.1)
    jk = np.clip(0.04 + 0.58 * bv + rng.normal(0.0, 0.07, n), -0.2, 1.8)
    return np.round(bv, 2), np.round(jk, 2)


def _disc_positions(
    rng: np.random.Generator, n: int, comp_xy: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    # Uniform over the disc of the field, in standard coordinates around the target; a star
    # too close to the target or to its comparison star (where their apertures overlap) is
    # drawn again.
    r = FIELD_RADIUS_DEG * np.sqrt(rng.random(n))
    theta = rng.uniform(0.0, 2 * np.pi, n)
    xi, eta = r * np.sin(theta), r * np.cos(theta)
    for _ in range(100):
        close = (np.hypot(xi, eta) < _CLEARANCE_DEG) | (
            np.hypot(xi - comp_xy[0], eta - comp_xy[1]) < _CLEARANCE_DEG
        )
        if not close.any():
            break
        k = int(close.sum())
        r_new = FIELD_RADIUS_DEG * np.sqrt(rng.random(k))
        t_new = rng.uniform(0.0, 2 * np.pi, k)
        xi[close], eta[close] = r_new * np.sin(t_new), r_new * np.cos(t_new)
    return xi, eta


def _synthetic_field(recipe: _Synthetic, index: int) -> tuple[FieldInfo, tuple[StarInfo, ...]]:
    rng = np.random.default_rng([SKY_SEED, index])
    n_field = recipe.n_stars - 2 - len(recipe.bright_mags)
    mags = np.concatenate([np.array(recipe.bright_mags), _magnitudes(rng, n_field, 7.5, 12.0)])
    n = mags.size
    comp_pa = rng.uniform(0.0, 2 * np.pi)
    comp_r = rng.uniform(0.3, 0.5)
    comp_xy = np.array([comp_r * np.sin(comp_pa), comp_r * np.cos(comp_pa)])
    xi, eta = _disc_positions(rng, n, comp_xy)
    xi = np.concatenate([[0.0, comp_xy[0]], xi])
    eta = np.concatenate([[0.0, comp_xy[1]], eta])
    mags = np.concatenate([[recipe.target_mag, recipe.comparison_mag], mags])
    ra, dec = deproject(xi, eta, recipe.ra_deg, recipe.dec_deg)
    ra, dec = _round_to_catalogue(ra, dec)
    bv, jk = _colours(rng, n + 2)
    bv[0], jk[0] = recipe.target_bv, recipe.target_jk
    bv[1], jk[1] = recipe.comparison_bv, round(0.04 + 0.58 * recipe.comparison_bv, 2)
    # About 3 % of UCAC4 stars lack an APASS B magnitude and so a B-V.
    no_bv = rng.random(n + 2) < 0.03
    no_bv[:2] = False
    ids = _ucac4_ids(ra, dec)
    stars = []
    for i in range(n + 2):
        target = i == 0
        stars.append(
            StarInfo(
                field=recipe.name,
                catalog="UCAC4",
                catalog_id=ids[i],
                name=recipe.target_name if target else None,
                ra_deg=float(ra[i]),
                dec_deg=float(dec[i]),
                catalog_mag=round(float(mags[i]), 2),
                bv=None if no_bv[i] else float(bv[i]),
                jk=float(jk[i]),
                kind=recipe.target_kind if target else "constant",
                variability=dict(recipe.target_variability) if target else None,
            )
        )
    info = FieldInfo(recipe.name, stars[0].ra_deg, stars[0].dec_deg, ids[0], ids[1])
    return info, tuple(sorted(stars, key=lambda s: (s.catalog_mag, s.ra_deg)))


def _gk_cep_stars() -> list[StarInfo]:
    text = resources.files("aphos_lib.demo").joinpath("data/gk_cep_field.csv").read_text("ascii")
    stars = []
    for row in csv.DictReader(text.splitlines()):
        kind, variability = VARIABILITY.get(row["catalog_id"], ("constant", None))
        stars.append(
            StarInfo(
                field="gk_cep",
                catalog="UCAC4",
                catalog_id=row["catalog_id"],
                name=row["name"] or None,
                ra_deg=float(row["ra_deg"]),
                dec_deg=float(row["dec_deg"]),
                catalog_mag=float(row["catalog_mag"]),
                bv=float(row["bv"]) if row["bv"] else None,
                jk=float(row["jk"]) if row["jk"] else None,
                kind=kind,
                variability=dict(variability) if variability else None,
            )
        )
    return stars


def _faint_stars(
    info: FieldInfo, stars: tuple[StarInfo, ...], index: int, n_stars: int
) -> list[StarInfo]:
    """Constant stars fainter than the field's own, to make ``n_stars`` in all.

    Their counts go on growing by :data:`FAINT_SLOPE` dex per magnitude from the faintest
    star of the field down to :data:`FAINT_LIMIT_MAG`, uniform over the field's disc like
    the synthetic fields' stars, with colours drawn the same way and UCAC4 numbers of the
    size the field's own stars have, none of them taken twice.
    """
    n = n_stars - len(stars)
    if n <= 0:
        return []
    rng = np.random.default_rng([SKY_SEED, index, _FAINT_STREAM])
    existing_mag = np.array([s.catalog_mag for s in stars])
    low = float(existing_mag.max())
    mags = np.round(_magnitudes(rng, n, low, max(FAINT_LIMIT_MAG, low + 0.5), FAINT_SLOPE), 2)
    by_id = {s.catalog_id: s for s in stars}
    comp = by_id[info.comparison_catalog_id]
    comp_xi, comp_eta = project(comp.ra_deg, comp.dec_deg, info.centre_ra_deg, info.centre_dec_deg)
    xi, eta = _disc_positions(rng, n, np.array([float(comp_xi), float(comp_eta)]))
    ra, dec = deproject(xi, eta, info.centre_ra_deg, info.centre_dec_deg)
    ra, dec = _round_to_catalogue(ra, dec)
    bv, jk = _colours(rng, n)
    # Fainter stars lack an APASS B magnitude somewhat more often than bright ones.
    no_bv = rng.random(n) < 0.05
    # Numbers of the size of the field's own: stars per zone in proportion to RA.
    used = {(int(s.catalog_id[:3]), int(s.catalog_id[4:])) for s in stars}
    own_ra = np.array([s.ra_deg for s in stars])
    own_number = np.array([int(s.catalog_id[4:]) for s in stars])
    per_zone = float(np.median(own_number / np.maximum(own_ra, 1.0) * 360.0))
    ids = _ucac4_ids(ra, dec, used, per_zone)
    return [
        StarInfo(
            field=info.name,
            catalog="UCAC4",
            catalog_id=ids[i],
            name=None,
            ra_deg=float(ra[i]),
            dec_deg=float(dec[i]),
            catalog_mag=float(mags[i]),
            bv=None if no_bv[i] else float(bv[i]),
            jk=float(jk[i]),
            kind="constant",
            variability=None,
        )
        for i in range(n)
    ]


@cache
def _all_fields() -> tuple[tuple[FieldInfo, tuple[StarInfo, ...]], ...]:
    gk = _gk_cep_stars()
    gk_cep = next(s for s in gk if s.catalog_id == GK_CEP)
    fields = [
        (
            FieldInfo("gk_cep", gk_cep.ra_deg, gk_cep.dec_deg, GK_CEP, GK_CEP_COMPARISON),
            tuple(gk),
        )
    ]
    fields += [_synthetic_field(recipe, index) for index, recipe in enumerate(SYNTHETIC, 2)]
    return tuple(fields)


@cache
def _filled_fields(n_stars: int) -> tuple[tuple[FieldInfo, tuple[StarInfo, ...]], ...]:
    filled = []
    for index, (info, stars) in enumerate(_all_fields(), 1):
        faint = sorted(
            _faint_stars(info, stars, index, n_stars), key=lambda s: (s.catalog_mag, s.ra_deg)
        )
        filled.append((info, stars + tuple(faint)))
    return tuple(filled)


def field_stars(
    n_stars: int | None = None,
) -> dict[str, tuple[FieldInfo, tuple[StarInfo, ...]]]:
    """Every demo field with its stars, brightest first.

    Parameters
    ----------
    n_stars : int or None
        None: the fields' own stars (180 to 290 a field). A number: each field filled up to
        that many stars with faint constant stars (:func:`_faint_stars`) after its own, which
        stay exactly as they are; a field that has as many already gets none.

    Returns
    -------
    dict
        ``{field name: (FieldInfo, stars)}`` in the order gk_cep, demo_rr1, demo_ds1.

    Examples
    --------
    >>> fields = field_stars()
    >>> list(fields)
    ['gk_cep', 'demo_rr1', 'demo_ds1']
    >>> fields["gk_cep"][0].target_catalog_id
    '805-031770'
    >>> [len(stars) for _, stars in field_stars(1000).values()]
    [1000, 1000, 1000]
    """
    if n_stars is None:
        fields = _all_fields()
    else:
        if isinstance(n_stars, bool) or int(n_stars) != n_stars or n_stars < 0:
            raise ValueError(f"n_stars must be a whole number >= 0, not {n_stars!r}")
        fields = _filled_fields(int(n_stars))
    return {info.name: (info, stars) for info, stars in fields}


#: The brightness range (catalogue V) of the stars :func:`inject_variables` may choose.
INJECT_MAG_RANGE = (9.0, 13.0)
#: The range of injected amplitudes (peak to peak, mag), drawn log-uniformly.
INJECT_AMPLITUDES = (0.01, 0.5)


def inject_variables(
    fields: dict[str, tuple[FieldInfo, tuple[StarInfo, ...]]], per_field: int, seed: int
) -> dict[str, tuple[FieldInfo, tuple[StarInfo, ...]]]:
    """The fields with ``per_field`` of each field's constant stars made variable.

    Stars between :data:`INJECT_MAG_RANGE` that are not the field's comparison star become,
    in turn, contact binaries (eclipses as wide as GK Cep's, a secondary 0.8 times the
    primary's depth, periods 0.25-1.2 d) and RRab stars (periods 0.45-0.75 d), their
    amplitudes drawn log-uniformly from :data:`INJECT_AMPLITUDES` (the primary's depth, or
    the RRab's peak-to-peak), epochs anywhere in autumn 2021. ``kind`` is ``"injected"``.

    Examples
    --------
    >>> sky = inject_variables(field_stars(), 3, seed=2)
    >>> sorted({s.kind for _, stars in sky.values() for s in stars})
    ['constant', 'eclipsing', 'injected', 'pulsating']
    >>> sum(s.kind == "injected" for _, stars in sky.values() for s in stars)
    9
    """
    rng = np.random.default_rng(seed)
    out = {}
    for name, (info, stars) in fields.items():
        candidates = [
            k
            for k, s in enumerate(stars)
            if s.kind == "constant"
            and s.catalog_id != info.comparison_catalog_id
            and INJECT_MAG_RANGE[0] <= s.catalog_mag <= INJECT_MAG_RANGE[1]
        ]
        chosen = rng.choice(candidates, size=min(per_field, len(candidates)), replace=False)
        changed = list(stars)
        for n, k in enumerate(sorted(int(c) for c in chosen)):
            star = stars[k]
            amplitude = float(np.exp(rng.uniform(*np.log(INJECT_AMPLITUDES))))
            epoch = float(rng.uniform(2459450.0, 2459550.0))
            if n % 2 == 0:
                variability = {
                    "model": "eclipsing",
                    "mag_max": star.catalog_mag,
                    "period_d": float(rng.uniform(0.25, 1.2)),
                    "epoch_hjd": epoch,
                    "depth_primary": amplitude,
                    "depth_secondary": 0.8 * amplitude,
                    "eclipse_sigma_phase": 0.09,
                    "ellipsoidal_amplitude": 0.0,
                    "secondary_phase": 0.5,
                }
            else:
                variability = {
                    "model": "rrab",
                    "mag_max": star.catalog_mag - amplitude / 2,
                    "amplitude": amplitude,
                    "period_d": float(rng.uniform(0.45, 0.75)),
                    "epoch_hjd": epoch,
                }
            changed[k] = replace(star, kind="injected", variability=variability)
        out[name] = (info, tuple(changed))
    return out
