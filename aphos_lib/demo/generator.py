"""Generate the demo data set: SIPS files of several observers over an autumn season.

:func:`generate_demo_data` plans the season (:mod:`.schedule`), and for every exposure
puts the catalogue stars of the field on the chip (:mod:`.astrometry`), gives the variables
their magnitudes at the exposure's HJD (:mod:`.variables`), measures every source
(:mod:`.photometry`) and writes the file (:mod:`.sips_writer`); at the end it writes the
manifest (:mod:`.manifest`).

Everything random comes from one ``numpy.random.default_rng(seed)`` drawn in a fixed order,
and nothing depends on the machine's clock, time zone or locale, so a seed and a number of
images always give the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aphos_lib.demo.astrometry import Pointing, deproject, project
from aphos_lib.demo.manifest import MANIFEST_NAME, TYPICAL_BV, DemoManifest, FileInfo
from aphos_lib.demo.observers import CAMERAS, OBSERVERS, Camera, ObserverInfo
from aphos_lib.demo.observing import (
    airmass,
    altitude_deg,
    jd_from_unix_ms,
    moon_illumination,
)
from aphos_lib.demo.photometry import (
    Conditions,
    aperture_radii,
    enclosed_fraction,
    limiting_magnitude,
    measure_sources,
    peak_fraction,
    total_flux,
)
from aphos_lib.demo.schedule import Exposure, Session, plan_sessions
from aphos_lib.demo.sips_writer import (
    format_center_dec,
    format_center_ra,
    format_dec,
    format_fixed,
    format_flux,
    format_iso_ms,
    format_jd_ms,
    format_ra,
    render_sips,
    table_columns,
    write_sips,
)
from aphos_lib.demo.sky import SKY_SEED, FieldInfo, StarInfo, inject_variables
from aphos_lib.demo.sky import field_stars as sky_fields
from aphos_lib.demo.variables import model_magnitude
from aphos_lib.io.repeats import first_sources

__all__ = ["generate_demo_data"]

WIDTH, DEPTH = 768, 512
FILTER = "V       "  # SIPS pads the filter name to 8 characters
SOFTWARE = "SIPS Version 3.32 64bit (x64)"
POSITION_JITTER_ARCSEC = 0.5  # centroid error of a measured position, per axis
AUTO_APERTURE_FWHM = 3.0  # SIPS's ApAuto radius in units of the FWHM


@dataclass(frozen=True)
class _Catalogue:
    """A field's stars as arrays, and their catalogue columns formatted once."""

    stars: tuple[StarInfo, ...]
    ra: np.ndarray
    dec: np.ndarray
    mag: np.ndarray
    bv: np.ndarray  # NaN where the catalogue gives no colour
    variables: tuple[int, ...]
    text: dict[str, np.ndarray]
    # Stars of the field fainter than the catalogue's limit (RA, Dec, magnitude, brightest
    # first): the same on every image, so each is an APhoS source measured again and again.
    uncatalogued: tuple[np.ndarray, np.ndarray, np.ndarray] = (
        np.empty(0),
        np.empty(0),
        np.empty(0),
    )

    @classmethod
    def build(cls, stars: Sequence[StarInfo]) -> _Catalogue:
        ra = np.array([s.ra_deg for s in stars])
        dec = np.array([s.dec_deg for s in stars])
        bv = np.array([np.nan if s.bv is None else s.bv for s in stars])
        jk = np.array([np.nan if s.jk is None else s.jk for s in stars])
        mag = np.array([s.catalog_mag for s in stars])
        text = {
            "Name": [s.name or "" for s in stars],
            "Catalog": [s.catalog for s in stars],
            "CatalogId": [s.catalog_id for s in stars],
            "CatalogRA": format_ra(ra),
            "CatalogDec": format_dec(dec),
            "CatalogMag": format_fixed(mag, 2),
            "CatalogBV": format_fixed(bv, 2),
            "CatalogJK": format_fixed(jk, 2),
        }
        return cls(
            stars=tuple(stars),
            ra=ra,
            dec=dec,
            mag=mag,
            bv=bv,
            variables=tuple(i for i, s in enumerate(stars) if s.variability is not None),
            text={k: np.array(v, dtype=object) for k, v in text.items()},
            uncatalogued=_uncatalogued(stars, ra, dec, mag),
        )

    def index(self, catalog_id: str) -> int:
        return next(i for i, s in enumerate(self.stars) if s.catalog_id == catalog_id)

    def magnitudes(self, hjd: float) -> np.ndarray:
        mag = self.mag.copy()
        for i in self.variables:
            star = self.stars[i]
            mag[i] = model_magnitude(star.catalog_mag, star.variability, [hjd])[0]
        return mag

    def passband_magnitudes(self, hjd: float, colour_term: float) -> np.ndarray:
        """The magnitudes a camera with this colour term measures (see ``Camera``): a star
        whose colour the catalogue does not give has a typical one."""
        colour = np.where(np.isnan(self.bv), TYPICAL_BV, self.bv)
        return self.magnitudes(hjd) - colour_term * colour


def _uncatalogued(stars, ra: np.ndarray, dec: np.ndarray, mag: np.ndarray) -> tuple:
    """A field's stars below the catalogue's limit: 15% as many as its catalogue stars, over
    the same area, 0.3-2 mag fainter than its faintest, from a seed of the field's own."""
    if not len(stars):
        return np.empty(0), np.empty(0), np.empty(0)
    seed = [int(c) for c in stars[0].catalog_id.encode()]
    rng = np.random.default_rng([SKY_SEED, *seed, 2])
    n = max(50, int(0.15 * len(stars)))
    out_ra = rng.uniform(ra.min(), ra.max(), n)
    out_dec = rng.uniform(dec.min(), dec.max(), n)
    out_mag = np.sort(np.round(mag.max() + rng.uniform(0.3, 2.0, n), 2))
    return out_ra, out_dec, out_mag


def _brightest(star: StarInfo) -> float:
    if star.variability is None:
        return star.catalog_mag
    t = np.linspace(2459450.0, 2459460.0, 200_001)
    return float(model_magnitude(star.catalog_mag, star.variability, t).min())


def _safe_exposures(camera: Camera, field: FieldInfo, catalogue: _Catalogue) -> tuple[float, ...]:
    """Exposure times that keep the target and its comparison star below saturation.

    Observers choose them that way. The worst case is the star at its brightest, at the
    zenith, without clouds, centred on a pixel, in seeing 15 % better than the camera's
    best night (the per-image scatter of the FWHM); the peak must stay below 95 % of the
    saturation level then. Longer exposures are allowed, so the brightest field stars
    saturate in most images as they do in real data.
    """
    bright = min(
        _brightest(catalogue.stars[catalogue.index(field.target_catalog_id)]),
        _brightest(catalogue.stars[catalogue.index(field.comparison_catalog_id)]),
    )
    fwhm = 0.85 * camera.fwhm_px[0]
    safe = []
    for t in camera.exposure_times_s:
        best = Conditions(t, 1.0, 0.0, fwhm, camera.sky_adu_per_s * t, (0.0, 0.0), 3 * fwhm)
        peak = float(total_flux(bright, camera, best)) * float(peak_fraction(fwhm))
        if peak < 0.95 * (camera.saturation_adu - camera.bias_adu - best.sky_adu):
            safe.append(t)
    return tuple(safe) or (min(camera.exposure_times_s),)


def _heliocentric_jd(
    sessions: Sequence[Session], observers: dict[str, ObserverInfo], fields: dict[str, FieldInfo]
) -> dict[tuple[int, int], tuple[str, str]]:
    """GJD and HJD strings of every exposure, keyed by (session, exposure) index.

    astropy is called once per observer and field with all the times at once: the
    heliocentric correction of the field centre, at the observer's site.
    """
    import astropy.units as u
    from astropy.coordinates import EarthLocation, SkyCoord
    from astropy.time import Time

    groups: dict[tuple[str, str], list[tuple[int, int, str]]] = {}
    for s, session in enumerate(sessions):
        for e, exposure in enumerate(session.exposures):
            groups.setdefault((session.observer, session.field), []).append(
                (s, e, format_jd_ms(exposure.mid_ms))
            )
    out = {}
    for (username, field_name), items in sorted(groups.items()):
        observer, field = observers[username], fields[field_name]
        site = EarthLocation.from_geodetic(
            observer.longitude_deg * u.deg,
            observer.latitude_deg * u.deg,
            observer.elevation_m * u.m,
        )
        gjd = np.array([float(text) for *_, text in items])
        times = Time(gjd, format="jd", scale="utc", location=site)
        target = SkyCoord(field.centre_ra_deg * u.deg, field.centre_dec_deg * u.deg)
        hjd = gjd + times.light_travel_time(target, kind="heliocentric").to_value(u.day)
        for (s, e, gjd_text), value in zip(items, hjd.tolist(), strict=True):
            out[(s, e)] = (gjd_text, f"{value:.8f}")
    return out


def _header(
    observer: ObserverInfo,
    target_name: str,
    exposure: Exposure,
    gjd: str,
    hjd: str,
    pointing: Pointing,
) -> list[tuple[str, str]]:
    begin = format_iso_ms(exposure.begin_ms)
    end = format_iso_ms(exposure.end_ms)
    if observer.header == "short":
        return [("ExposureBegin", begin), ("ExposureEnd", end)]
    scale = f"{observer.pixel_scale_arcsec:.8f}"
    return [
        ("ExposureBegin", begin),
        ("Exposure", format_iso_ms(exposure.mid_ms)),
        ("ExposureEnd", end),
        ("ExposureTime", f"{exposure.exposure_s:.8f}"),
        ("JDBegin", format_jd_ms(exposure.begin_ms)),
        ("JDEnd", format_jd_ms(exposure.end_ms)),
        ("GJD", gjd),
        ("HJD", hjd),
        ("Filter", FILTER),
        ("CenterRA", format_center_ra(pointing.ra_deg)),
        ("CenterDec", format_center_dec(pointing.dec_deg)),
        ("CenterRAHour", f"{pointing.ra_deg / 15.0:.8f}"),
        ("CenterRADeg", f"{pointing.ra_deg:.8f}"),
        ("CenterDecDeg", f"{pointing.dec_deg:.8f}"),
        ("Width", str(WIDTH)),
        ("Depth", str(DEPTH)),
        ("PixelScaleX", scale),
        ("PixelScaleY", scale),
        # Observers who type an object name type the target's; the others leave it empty.
        ("Object", target_name if observer.observer_name else ""),
        ("Instrument", observer.instrument),
        ("Telescope", observer.telescope),
        ("Observer", observer.observer_name),
        ("Software", SOFTWARE),
    ]


class _SessionSky:
    """Conditions shared by a session's exposures: pointing, seeing, moonlight, clouds."""

    def __init__(
        self,
        rng: np.random.Generator,
        session: Session,
        camera: Camera,
        framing: tuple[float, float],
    ):
        self.rng = rng
        self.framing = (
            framing[0] + rng.normal(0.0, 2.0 / 60.0),
            framing[1] + rng.normal(0.0, 2.0 / 60.0),
        )
        self.rotation = camera.rotation_deg + rng.normal(0.0, 0.3)
        self.fwhm = rng.uniform(*camera.fwhm_px)
        # A clear night, or one with passing cirrus that dims every star alike.
        self.cirrus = rng.random() < 0.3
        first = session.exposures[0]
        moon = float(moon_illumination(jd_from_unix_ms(first.mid_ms)))
        # The Moon, when up, brightens the sky; whether it was up is left to chance.
        self.sky_rate = camera.sky_adu_per_s * (1.0 + 4.0 * moon * rng.uniform(0.0, 1.0))
        self.gradient = (rng.normal(0.0, 0.03), rng.normal(0.0, 0.03))

    def pointing(self, field: FieldInfo, scale: float) -> Pointing:
        xi = self.framing[0] + self.rng.normal(0.0, 8.0 / 3600.0)
        eta = self.framing[1] + self.rng.normal(0.0, 8.0 / 3600.0)
        ra, dec = deproject(xi, eta, field.centre_ra_deg, field.centre_dec_deg)
        return Pointing(float(ra), float(dec), scale, self.rotation, WIDTH, DEPTH)

    def conditions(self, exposure: Exposure, airmass_value: float) -> Conditions:
        clouds = self.rng.gamma(1.5, 0.25) if self.cirrus else abs(self.rng.normal(0.0, 0.02))
        fwhm = self.fwhm * float(np.exp(self.rng.normal(0.0, 0.05)))
        sky = self.sky_rate * exposure.exposure_s * (1.0 + 0.2 * (airmass_value - 1.0))
        return Conditions(
            exposure_s=exposure.exposure_s,
            airmass=airmass_value,
            clouds_mag=float(clouds),
            fwhm_px=fwhm,
            sky_adu=sky,
            gradient=self.gradient,
            auto_radius_px=AUTO_APERTURE_FWHM * fwhm,
        )


def _image_table(
    rng: np.random.Generator,
    catalogue: _Catalogue,
    observer: ObserverInfo,
    camera: Camera,
    pointing: Pointing,
    conditions: Conditions,
    hjd: float,
    watched: np.ndarray,
) -> list[list[str]]:
    """The formatted table columns of one image, rows sorted by ADU, brightest first."""
    n = catalogue.ra.size
    jitter = np.clip(rng.normal(0.0, 1.0, (2, n)), -3.0, 3.0) * POSITION_JITTER_ARCSEC / 3600.0
    ra = catalogue.ra + jitter[0] / np.cos(np.radians(catalogue.dec))
    dec = catalogue.dec + jitter[1]
    x, y = pointing.sky_to_pixel(ra, dec)
    on_chip = np.flatnonzero(pointing.inside(x, y))
    radii = aperture_radii(observer.apertures)
    stars = measure_sources(
        rng,
        catalogue.passband_magnitudes(hjd, camera.colour_term)[on_chip],
        x[on_chip],
        y[on_chip],
        camera=camera,
        conditions=conditions,
        radii=radii,
        width=WIDTH,
        height=DEPTH,
    )
    # SIPS misses a few catalogue stars that it could detect (blends, hot pixels, cosmics),
    # but never the star the observer centres the field on nor their comparison star.
    lost = rng.random(on_chip.size) < 0.01
    lost &= ~np.isin(on_chip, watched)
    keep = stars.detected & ~lost
    matched = on_chip[keep]

    # Sources without a catalogue match: mostly stars fainter than the catalogue's limit.
    n_extra = int(round(matched.size * rng.uniform(0.05, 0.10)))
    ex = rng.uniform(2.0, WIDTH - 3.0, n_extra)
    ey = rng.uniform(2.0, DEPTH - 3.0, n_extra)
    emag = np.maximum(limiting_magnitude(camera, conditions) - rng.exponential(0.7, n_extra), 9.5)
    # Drawn as before (the image's random stream stays as it was), then placed on the field's
    # uncatalogued stars where the image holds enough of them, brightest first; the rest are
    # one-off detections (cosmics, hot pixels).
    fx, fy = pointing.sky_to_pixel(*catalogue.uncatalogued[:2])
    inside = (fx >= 2.0) & (fx <= WIDTH - 3.0) & (fy >= 2.0) & (fy <= DEPTH - 3.0)
    take = np.flatnonzero(inside)[:n_extra]
    ex[: take.size], ey[: take.size] = fx[take], fy[take]
    emag[: take.size] = catalogue.uncatalogued[2][take]
    extra = measure_sources(
        rng,
        emag,
        ex,
        ey,
        camera=camera,
        conditions=conditions,
        radii=radii,
        width=WIDTH,
        height=DEPTH,
    )
    era, edec = pointing.pixel_to_sky(ex, ey)

    def both(a, b):
        return np.concatenate([a[keep], b])

    adu = both(stars.adu, extra.adu)
    px, py = both(x[on_chip], ex), both(y[on_chip], ey)
    order = np.lexsort((px, -adu))  # ADU descending like SIPS; ties in a fixed order
    # SIPS finds one source where two stars fall within a pixel of each other (a blend) and
    # never writes both; the ingest rejects such a second row as a repeat. The fainter goes,
    # unless it is a star the observer watches. Positions as written (two decimals).
    watched_first = np.concatenate([~np.isin(matched, watched), np.ones(n_extra, dtype=bool)])
    by_priority = np.lexsort((px, -adu, watched_first))
    blended = np.zeros(adu.size, dtype=bool)
    blended[by_priority] = ~first_sources(
        np.round(px[by_priority], 2), np.round(py[by_priority], 2)
    )
    order = order[~blended[order]]
    blank = np.full(n_extra, "", dtype=object)

    def text(key: str) -> list[str]:
        return np.concatenate([catalogue.text[key][matched], blank])[order].tolist()

    table = [
        text("Name"),
        format_fixed(px[order], 2),
        format_fixed(py[order], 2),
        [str(v) for v in adu[order].tolist()],
        format_ra(both(ra[on_chip], era)[order]),
        format_dec(both(dec[on_chip], edec)[order]),
    ]
    for key in (
        "Catalog",
        "CatalogId",
        "CatalogRA",
        "CatalogDec",
        "CatalogMag",
        "CatalogBV",
        "CatalogJK",
    ):
        table.append(text(key))
    table.append(format_fixed(both(stars.background, extra.background)[order], 3))
    table.append(format_fixed(both(stars.background_dev, extra.background_dev)[order], 3))
    flux = np.concatenate([stars.flux[keep], extra.flux])[order]
    dev = np.concatenate([stars.flux_dev[keep], extra.flux_dev])[order]
    saturated = np.concatenate([stars.saturated[keep], extra.saturated])[order]
    for k in range(flux.shape[1]):
        table.append(format_flux(flux[:, k], saturated[:, k]))
        if observer.exports_deviations:
            table.append(format_flux(dev[:, k], saturated[:, k]))
    return table


def _zero_points(camera: Camera, conditions: Conditions, apertures: int) -> tuple[float, ...]:
    """The zero points the image's photometric solutions should find, ApAuto then Ap1..ApN:
    ``V - v`` at B-V = 0, ``v = -2.5 log10(flux in the aperture)`` (the atmosphere, the
    exposure and the share of a star's light the aperture holds)."""
    radii = np.concatenate([[conditions.auto_radius_px], aperture_radii(apertures)])
    extinction = camera.extinction * conditions.airmass + conditions.clouds_mag
    zero_points = (
        camera.zero_point
        - extinction
        + 2.5 * np.log10(conditions.exposure_s)
        + 2.5 * np.log10(enclosed_fraction(radii, conditions.fwhm_px))
    )
    return tuple(round(float(z), 6) for z in zero_points)


def _file_name(field: str, begin_ms: int) -> str:
    stamp = format_iso_ms(begin_ms)[:19].replace("-", "").replace(":", "")
    return f"{field}_{stamp}.csv"


def _remove_previous(out_dir: Path) -> None:
    # Files of an earlier run into the same folder would be loaded with the new ones; only
    # the CSV files that run's manifest lists, inside the folder, are removed.
    if not (out_dir / MANIFEST_NAME).is_file():
        return
    try:
        previous = DemoManifest.load(out_dir)
    except (ValueError, KeyError, TypeError):
        return
    root = out_dir.resolve()
    for info in previous.files:
        path = (out_dir / info.path).resolve()
        if path.suffix == ".csv" and path.is_relative_to(root):
            path.unlink(missing_ok=True)


def generate_demo_data(
    out_dir: Path,
    *,
    seed: int = 1,
    images: int = 300,
    field_stars: int | None = None,
    campaign: bool = False,
    injected: int = 0,
) -> DemoManifest:
    """Write a demo data set of SIPS files and its manifest.

    Five observers with different cameras, apertures and export settings observe three
    fields (GK Cep with its real UCAC4 stars, and two synthetic fields with an RRab and a
    delta Scuti star) on clear nights of autumn 2021. Each image is one SIPS export in the
    observer's dialect.

    Parameters
    ----------
    out_dir : Path
        Folder to write into (created if needed). Files go to
        ``out_dir/<username>/<field>_<YYYYMMDDTHHMMSS>.csv`` (exposure begin, UTC) and the
        manifest to ``out_dir/manifest.json``. Files listed by a manifest already in the
        folder are removed first.
    seed : int
        Seed of ``numpy.random.default_rng``; the same seed and ``images`` give
        byte-identical files.
    images : int
        Number of files (images) to write, at least 1.
    field_stars : int or None
        None: each field has its own 180 to 290 catalogue stars, and an image 130 to 320
        rows. A number N: each field is filled up to N catalogue stars with faint constant
        stars (:func:`aphos_lib.demo.sky.field_stars`), the same ones whatever the seed,
        so that an image has as many rows as a real SIPS export: N = 2500 gives most
        images 1,500 to 2,700 rows, fewer through cirrus or moonlight and on the narrow
        chips. The fields' own stars, variables and comparison stars stay as they are.
    campaign : bool
        A timing campaign instead of a season's survey: sessions of about 40 exposures in an
        even series, half of GK Cep's through a minimum, in the autumns of 2021 to 2023, so
        that minima can be timed (:func:`aphos_lib.demo.schedule.plan_sessions`).
    injected : int
        Make this many ordinary stars of each field variable
        (:func:`aphos_lib.demo.sky.inject_variables`, from ``seed``): the manifest lists
        them with ``kind`` ``"injected"`` and their models.

    Returns
    -------
    DemoManifest
        What was simulated: observers, fields, stars with their variability, files.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     manifest = generate_demo_data(Path(tmp), seed=1, images=4)
    ...     first = (Path(tmp) / manifest.files[0].path).read_bytes().split(b"\\r\\n")[0]
    >>> len(manifest.files), first[:14]
    (4, b'ExposureBegin;')
    """
    out_dir = Path(out_dir)
    rng = np.random.default_rng(seed)
    sky = sky_fields(field_stars)
    if injected:
        sky = inject_variables(sky, injected, seed)
    fields = {name: info for name, (info, _) in sky.items()}
    catalogues = {name: _Catalogue.build(stars) for name, (_, stars) in sky.items()}
    observers = {o.username: o for o in OBSERVERS}

    # Each observer frames each field their own way, around the target and its comparison.
    framing: dict[tuple[str, str], tuple[float, float]] = {}
    choices: dict[tuple[str, str], tuple[float, ...]] = {}
    for observer in OBSERVERS:
        for name, field in fields.items():
            cat = catalogues[name]
            comp = cat.index(field.comparison_catalog_id)
            xi, eta = project(
                cat.ra[comp], cat.dec[comp], field.centre_ra_deg, field.centre_dec_deg
            )
            framing[(observer.username, name)] = (
                float(xi) / 2 + rng.normal(0.0, 0.08),
                float(eta) / 2 + rng.normal(0.0, 0.08),
            )
            choices[(observer.username, name)] = _safe_exposures(
                CAMERAS[observer.username], field, cat
            )

    minima = {}
    for name, field in fields.items():
        target = catalogues[name].stars[catalogues[name].index(field.target_catalog_id)]
        if target.kind == "eclipsing":
            minima[name] = (target.variability["epoch_hjd"], target.variability["period_d"])
    sessions = plan_sessions(
        rng, images, OBSERVERS, CAMERAS, list(fields.values()), choices, minima, campaign
    )
    times = _heliocentric_jd(sessions, observers, fields)

    out_dir.mkdir(parents=True, exist_ok=True)
    _remove_previous(out_dir)
    files = []
    for s, session in enumerate(sessions):
        observer, camera = observers[session.observer], CAMERAS[session.observer]
        field, catalogue = fields[session.field], catalogues[session.field]
        target_name = catalogue.stars[catalogue.index(field.target_catalog_id)].name or ""
        watched = np.array(
            [catalogue.index(field.target_catalog_id), catalogue.index(field.comparison_catalog_id)]
        )
        session_sky = _SessionSky(rng, session, camera, framing[(observer.username, field.name)])
        for e, exposure in enumerate(session.exposures):
            gjd, hjd = times[(s, e)]
            jd = float(jd_from_unix_ms(exposure.mid_ms))
            x_air = float(
                airmass(
                    altitude_deg(
                        jd,
                        field.centre_ra_deg,
                        field.centre_dec_deg,
                        observer.longitude_deg,
                        observer.latitude_deg,
                    )
                )
            )
            pointing = session_sky.pointing(field, observer.pixel_scale_arcsec)
            conditions = session_sky.conditions(exposure, x_air)
            table = _image_table(
                rng, catalogue, observer, camera, pointing, conditions, float(hjd), watched
            )
            text = render_sips(
                _header(observer, target_name, exposure, gjd, hjd, pointing),
                table_columns(observer.apertures, observer.exports_deviations),
                table,
                observer.newline,
            )
            relative = f"{observer.username}/{_file_name(field.name, exposure.begin_ms)}"
            write_sips(out_dir / relative, text, observer.encoding)
            files.append(
                FileInfo(
                    path=relative,
                    observer=observer.username,
                    field=field.name,
                    exposure_begin=format_iso_ms(exposure.begin_ms),
                    exposure_end=format_iso_ms(exposure.end_ms),
                    exposure_time_s=exposure.exposure_s,
                    gjd=float(gjd),
                    hjd=float(hjd),
                    rows=len(table[0]),
                    center_ra_deg=round(pointing.ra_deg, 8),
                    center_dec_deg=round(pointing.dec_deg, 8),
                    airmass=round(x_air, 4),
                    zero_points=_zero_points(camera, conditions, observer.apertures),
                    colour_term=camera.colour_term,
                )
            )

    manifest = DemoManifest(
        seed=seed,
        images=images,
        field_stars=field_stars,
        injected=injected,
        observers=tuple(OBSERVERS),
        fields=tuple(fields.values()),
        stars=tuple(star for _, stars in sky.values() for star in stars),
        files=tuple(files),
    )
    manifest.save(out_dir)
    return manifest
