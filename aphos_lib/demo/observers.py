"""The demo observers: where they observe, with what camera, and how their SIPS exports look.

They differ on purpose in everything that an ingest must cope with: the number of apertures
(10, 12 or 6), whether deviation columns are exported, the full 23-line header or only
``ExposureBegin``/``ExposureEnd``, ISO-8859-1 with CRLF or UTF-8 with LF, and the longitude,
which decides when their nights are.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CAMERAS", "OBSERVERS", "Camera", "ObserverInfo"]


@dataclass(frozen=True)
class ObserverInfo:
    """One observer as the manifest describes them.

    Attributes
    ----------
    username : str
        Public username; also the folder the observer's files are written to.
    longitude_deg, latitude_deg : float
        Site, east longitude positive (WGS84).
    elevation_m : float
        Site height above the ellipsoid, used for the (tiny) topocentric part of HJD.
    apertures : int
        Number of fixed apertures ``Ap1..ApN`` besides ``ApAuto``.
    exports_deviations : bool
        Whether ``ApAutoDev`` and ``Ap<k>Dev`` follow their fluxes.
    header : str
        ``"full"`` (the 23 lines of ``correct_file.csv``) or ``"short"`` (only
        ``ExposureBegin`` and ``ExposureEnd``, like ``correct_file_shorter_header.csv``).
    encoding : str
        ``"iso-8859-1"`` or ``"utf-8"``.
    newline : str
        ``"\\r\\n"`` or ``"\\n"``.
    observer_name, instrument, telescope : str
        What the observer typed into SIPS (written in the full header; may be empty).
    pixel_scale_arcsec : float
        Plate scale of the camera and lens.
    """

    username: str
    longitude_deg: float
    latitude_deg: float
    elevation_m: float
    apertures: int
    exports_deviations: bool
    header: str
    encoding: str
    newline: str
    observer_name: str
    instrument: str
    telescope: str
    pixel_scale_arcsec: float


@dataclass(frozen=True)
class Camera:
    """Detector and optics numbers that only the simulation needs.

    ``zero_point`` is the V magnitude giving 1 ADU/s above the atmosphere for a star of
    B-V = 0. The fixture's GK Cep image implies about 16.4 for the Moravian G2-0402 with a 58 mm
    lens (1.06e5 ADU for V = 8.42 in 90 s at airmass ~1.3). ``colour_term`` is how the
    camera's V passband differs from the catalogue's: a star of colour B-V gives the flux of
    V - colour_term (B-V), so that V - v = ZP + colour_term (B-V), as a photometric solution
    finds it (V filters on CCDs: a few hundredths to a tenth). The demo's cameras have none
    yet: comparing observers' curves without calibrated magnitudes (the analysis tests and
    notebook 04) would show their colour terms as offsets.
    """

    zero_point: float
    gain: float  # e-/ADU
    read_noise_e: float
    bias_adu: float
    sky_adu_per_s: float  # dark-sky background per pixel
    saturation_adu: float
    extinction: float  # V mag per airmass at the site
    rotation_deg: float  # how the camera sits on the mount
    readout_s: float  # download and housekeeping between exposures
    fwhm_px: tuple[float, float]  # range of the star image's FWHM over the nights
    exposure_times_s: tuple[float, ...]
    weight: float  # share of the sessions
    colour_term: float = 0.0  # V - v = ZP + colour_term (B-V)


# Sites are real towns with amateur observers in the APhoS community's region, plus one
# observer in Arizona whose nights fall at other UTC hours and so at other binary phases.
OBSERVERS: tuple[ObserverInfo, ...] = (
    ObserverInfo(
        username="novak",
        longitude_deg=16.5833,
        latitude_deg=49.2050,
        elevation_m=300.0,
        apertures=10,
        exports_deviations=False,
        header="full",
        encoding="iso-8859-1",
        newline="\r\n",
        observer_name="",
        instrument="",
        telescope="",
        pixel_scale_arcsec=31.85907419,
    ),
    ObserverInfo(
        username="svoboda",
        longitude_deg=14.7808,
        latitude_deg=49.9106,
        elevation_m=528.0,
        apertures=10,
        exports_deviations=True,
        header="full",
        encoding="iso-8859-1",
        newline="\r\n",
        observer_name="Petr Svoboda",
        instrument="G2-0402",
        telescope="Sonnar 2.8/90",
        pixel_scale_arcsec=20.62650000,
    ),
    ObserverInfo(
        username="dvorak",
        longitude_deg=15.0543,
        latitude_deg=50.7663,
        elevation_m=400.0,
        apertures=12,
        exports_deviations=False,
        header="short",
        encoding="iso-8859-1",
        newline="\r\n",
        observer_name="",
        instrument="",
        telescope="",
        pixel_scale_arcsec=31.85907419,
    ),
    ObserverInfo(
        username="kowalski",
        longitude_deg=19.9383,
        latitude_deg=50.0614,
        elevation_m=220.0,
        apertures=6,
        exports_deviations=True,
        header="full",
        encoding="utf-8",
        newline="\n",
        observer_name="Paweł Kowalski",
        instrument="Moravian G2-0402",
        telescope="Samyang 85mm f/1.4",
        pixel_scale_arcsec=21.83982353,
    ),
    ObserverInfo(
        username="smith",
        longitude_deg=-110.7346,
        latitude_deg=31.6803,
        elevation_m=1400.0,
        apertures=10,
        exports_deviations=False,
        header="full",
        encoding="iso-8859-1",
        newline="\r\n",
        observer_name="John Smith",
        instrument="G2-0402",
        telescope="Canon EF 135mm f/2",
        pixel_scale_arcsec=13.75100000,
    ),
)

# fmt: off
CAMERAS: dict[str, Camera] = {
    "novak": Camera(
        zero_point=16.40, gain=1.5, read_noise_e=12.0, bias_adu=2700.0, sky_adu_per_s=3.0,
        saturation_adu=60000.0, extinction=0.25, rotation_deg=97.0, readout_s=8.0,
        fwhm_px=(1.1, 1.8), exposure_times_s=(60.0, 90.0, 120.0), weight=0.30,
    ),
    "svoboda": Camera(
        zero_point=16.50, gain=1.3, read_noise_e=10.0, bias_adu=1000.0, sky_adu_per_s=2.2,
        saturation_adu=62000.0, extinction=0.22, rotation_deg=183.0, readout_s=6.0,
        fwhm_px=(1.3, 2.2), exposure_times_s=(60.0, 90.0, 120.0), weight=0.20,
    ),
    "dvorak": Camera(
        zero_point=16.30, gain=1.5, read_noise_e=12.0, bias_adu=2750.0, sky_adu_per_s=3.5,
        saturation_adu=60000.0, extinction=0.27, rotation_deg=4.0, readout_s=9.0,
        fwhm_px=(1.1, 1.8), exposure_times_s=(30.0, 60.0, 90.0), weight=0.20,
    ),
    "kowalski": Camera(
        zero_point=17.00, gain=1.0, read_noise_e=9.0, bias_adu=400.0, sky_adu_per_s=6.0,
        saturation_adu=60000.0, extinction=0.28, rotation_deg=271.0, readout_s=3.0,
        fwhm_px=(1.4, 2.4), exposure_times_s=(30.0, 60.0, 120.0), weight=0.15,
    ),
    "smith": Camera(
        zero_point=17.30, gain=2.3, read_noise_e=15.0, bias_adu=1200.0, sky_adu_per_s=1.2,
        saturation_adu=62000.0, extinction=0.16, rotation_deg=352.0, readout_s=5.0,
        fwhm_px=(1.8, 3.0), exposure_times_s=(30.0, 45.0, 60.0), weight=0.15,
    ),
}
# fmt: on
