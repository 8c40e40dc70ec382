"""The demo data set's manifest: what was simulated, so that tests can check what comes out.

``manifest.json`` sits beside the observers' folders. It lists the observers, the fields,
every catalogue star with its variability model and parameters, and every file with its
times. :class:`DemoManifest` reads and writes it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from aphos_lib.demo.observers import ObserverInfo
from aphos_lib.demo.sky import FieldInfo, StarInfo
from aphos_lib.demo.variables import model_magnitude

__all__ = ["MANIFEST_NAME", "TYPICAL_BV", "DemoManifest", "FileInfo"]

MANIFEST_NAME = "manifest.json"
TYPICAL_BV = 0.65  # the colour of a star the catalogue gives none (a field star's typical)
FORMAT = "aphos-demo-manifest"
VERSION = 1
HJD_DEFINITION = (
    "HJD in the files is GJD (UTC JD of mid-exposure) plus astropy's heliocentric light "
    "travel time (Time.light_travel_time, kind='heliocentric') to the field centre "
    "(centre_ra_deg, centre_dec_deg), at the observer's site"
)


@dataclass(frozen=True)
class FileInfo:
    """One SIPS file of the demo.

    Attributes
    ----------
    path : str
        Relative to the output folder, ``/``-separated: ``novak/gk_cep_20211106T162745.csv``.
    observer, field : str
        Username and field name.
    exposure_begin, exposure_end : str
        The header's UTC times, ``2021-11-06T16:27:45.652``.
    exposure_time_s : float
        The header's ``ExposureTime``.
    gjd, hjd : float
        JD (UTC) of mid-exposure and the HJD written in the header (also for files whose
        short header does not show them).
    rows : int
        Number of table rows (sources).
    center_ra_deg, center_dec_deg : float
        Plate centre (``CenterRADeg``/``CenterDecDeg``).
    airmass : float
        Airmass of the field centre at mid-exposure.
    zero_points : tuple of float
        The zero points the simulation used, ApAuto then Ap1..ApN: ``V - v`` at B-V = 0
        for ``v = -2.5 log10(flux)`` in that aperture (atmosphere, exposure time and the
        aperture's share of a star's light included).
    colour_term : float
        The camera's colour term: ``V - v = zero point + colour_term (B-V)``.
    """

    path: str
    observer: str
    field: str
    exposure_begin: str
    exposure_end: str
    exposure_time_s: float
    gjd: float
    hjd: float
    rows: int
    center_ra_deg: float
    center_dec_deg: float
    airmass: float
    zero_points: tuple[float, ...] = ()
    colour_term: float = 0.0


def _build(cls, data: dict[str, Any]):
    types = {f.name: str(f.type) for f in fields(cls)}
    # JSON has lists where a field holds a tuple.
    return cls(
        **{
            k: tuple(v) if types[k].startswith("tuple") and isinstance(v, list) else v
            for k, v in data.items()
            if k in types
        }
    )


@dataclass(frozen=True)
class DemoManifest:
    """Everything the demo generator simulated.

    Attributes
    ----------
    seed, images : int
        The arguments the data set was generated with.
    field_stars : int or None
        The ``field_stars`` argument: None for the fields' own stars, else the number of
        catalogue stars each field was filled up to. Written as the top-level key
        ``field_stars`` only when it is not None, so that the manifest of the default data
        set stays as it was.
    injected : int
        The ``injected`` argument: ordinary stars made variable in each field (written as
        ``injected`` only when not 0).
    observers : tuple of ObserverInfo
        Usernames, sites, apertures, deviation columns, header style, encoding.
    fields : tuple of FieldInfo
        Field names, centres, target and comparison stars.
    stars : tuple of StarInfo
        Every catalogue star of every field, with its variability model.
    files : tuple of FileInfo
        Every file written, in the order written.

    Examples
    --------
    >>> import tempfile
    >>> from aphos_lib.demo import generate_demo_data
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     manifest = generate_demo_data(Path(tmp), images=3)
    ...     again = DemoManifest.load(Path(tmp))
    >>> again == manifest, len(manifest.files)
    (True, 3)
    >>> round(float(manifest.model_magnitude("805-031770", 2459525.3)[0]), 3)  # GK Cep minimum
    8.72
    """

    seed: int
    images: int
    observers: tuple[ObserverInfo, ...]
    fields: tuple[FieldInfo, ...]
    stars: tuple[StarInfo, ...]
    files: tuple[FileInfo, ...]
    field_stars: int | None = None
    injected: int = 0

    def observer(self, username: str) -> ObserverInfo:
        """The observer with this username."""
        return next(o for o in self.observers if o.username == username)

    def field(self, name: str) -> FieldInfo:
        """The field with this name."""
        return next(f for f in self.fields if f.name == name)

    def star(self, catalog_id: str) -> StarInfo:
        """The star with this UCAC4 identifier."""
        return next(s for s in self.stars if s.catalog_id == catalog_id)

    def model_magnitude(self, catalog_id: str, hjd) -> np.ndarray:
        """V magnitude the simulation gave the star at the times ``hjd``."""
        star = self.star(catalog_id)
        return model_magnitude(star.catalog_mag, star.variability, np.atleast_1d(hjd))

    def colour_term(self, username: str) -> float:
        """The colour term of this observer's camera (0 in a manifest written before cameras
        had one)."""
        return next((f.colour_term for f in self.files if f.observer == username), 0.0)

    def measured_magnitude(self, catalog_id: str, hjd, colour_term: float) -> np.ndarray:
        """What a camera with this colour term measures of the star at the times ``hjd``, up
        to its zero point: ``V - colour_term (B-V)`` (a typical colour where the catalogue
        gives none). Differences of two stars' are their differential magnitudes."""
        star = self.star(catalog_id)
        colour = TYPICAL_BV if star.bv is None else star.bv
        return self.model_magnitude(catalog_id, hjd) - colour_term * colour

    def to_dict(self) -> dict[str, Any]:
        """The manifest as JSON-ready data."""
        data: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "seed": self.seed,
            "images": self.images,
        }
        if self.field_stars is not None:
            data["field_stars"] = self.field_stars
        if self.injected:
            data["injected"] = self.injected
        data.update(
            {
                "hjd_definition": HJD_DEFINITION,
                "observers": [asdict(o) for o in self.observers],
                "fields": [asdict(f) for f in self.fields],
                "stars": [asdict(s) for s in self.stars],
                "files": [asdict(f) for f in self.files],
            }
        )
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DemoManifest:
        """Inverse of :meth:`to_dict`."""
        if data.get("format") != FORMAT:
            raise ValueError("not an APhoS demo manifest")
        return cls(
            seed=data["seed"],
            images=data["images"],
            observers=tuple(_build(ObserverInfo, o) for o in data["observers"]),
            fields=tuple(_build(FieldInfo, f) for f in data["fields"]),
            stars=tuple(_build(StarInfo, s) for s in data["stars"]),
            files=tuple(_build(FileInfo, f) for f in data["files"]),
            field_stars=data.get("field_stars"),
            injected=data.get("injected", 0),
        )

    def save(self, out_dir: Path) -> Path:
        """Write ``manifest.json`` into ``out_dir`` (UTF-8, LF, stable key order)."""
        path = Path(out_dir) / MANIFEST_NAME
        text = json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n"
        path.write_bytes(text.encode("utf-8"))
        return path

    @classmethod
    def load(cls, out_dir: Path) -> DemoManifest:
        """Read the manifest that :func:`generate_demo_data` wrote into ``out_dir``.

        Parameters
        ----------
        out_dir : Path
            The folder given to :func:`generate_demo_data` (or the manifest file itself).
        """
        path = Path(out_dir)
        if path.is_dir():
            path = path / MANIFEST_NAME
        return cls.from_dict(json.loads(path.read_bytes().decode("utf-8")))
