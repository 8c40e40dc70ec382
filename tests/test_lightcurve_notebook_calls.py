"""The calls a notebook starts from: aphos_lib.connect/read/upload/LightCurve, and search
results that make their own light curves (``archive.search(...)[0].lightcurve(...)``)."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pandas as pd
import pytest

import aphos_lib
from aphos_lib.archive import Archive, Star, Stars
from aphos_lib.io.sips import read_sips
from aphos_lib.lightcurve import LightCurve
from aphos_lib.photometry import differential_photometry
from aphos_lib.search import CatalogObject, SearchResult

from conftest import fixture_path

GK_CEP, GK_CMP, GK_CHECK = "UCAC4:805-031770", "UCAC4:803-032417", "UCAC4:804-031083"
ENSEMBLE = [GK_CMP, "UCAC4:805-031759"]


# --- the top-level names -----------------------------------------------------------------


def test_the_top_level_names_are_the_librarys_own():
    from aphos_lib.archive import connect
    from aphos_lib.io import read_photometry
    from aphos_lib.uploads.client import upload

    assert aphos_lib.connect is connect and aphos_lib.read is read_photometry
    assert aphos_lib.upload is upload and aphos_lib.LightCurve is LightCurve
    assert {"connect", "read", "upload", "LightCurve"} <= set(dir(aphos_lib))
    assert sorted(aphos_lib.__all__) == ["LightCurve", "connect", "read", "upload"]
    with pytest.raises(AttributeError, match="no attribute 'lightcurves'"):
        aphos_lib.lightcurves  # noqa: B018


def test_importing_aphos_lib_loads_no_heavy_package():
    """``import aphos_lib`` (and so the CLI's start) stays cheap: everything loads on use."""
    heavy = ("numpy", "pandas", "matplotlib", "astropy", "psycopg", "sqlalchemy", "pyarrow")
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, aphos_lib; print(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "aphos_lib" in loaded
    assert [m for m in loaded if m.split(".")[0] in heavy] == []
    assert [m for m in loaded if m.startswith("aphos_lib.")] == []


def test_read_is_the_sips_reader():
    path = fixture_path("correct_file.csv")
    mine, theirs = aphos_lib.read(path), read_sips(path)
    assert mine.sha256 == theirs.sha256 and mine.rows.equals(theirs.rows)
    assert mine.exposure_begin == theirs.exposure_begin and len(mine.to_pandas()) > 1000


# --- search results make light curves ----------------------------------------------------


@pytest.fixture
def archive(demo_catalogue):
    with aphos_lib.connect(demo_catalogue.conninfo("reader")) as archive:
        yield archive


def frames_equal(a: LightCurve, b: LightCurve) -> None:
    pd.testing.assert_frame_equal(a.data, b.data)
    assert a.meta.keys() == b.meta.keys()
    assert {k: v for k, v in a.meta.items() if k != "queried_at"} == {
        k: v for k, v in b.meta.items() if k != "queried_at"
    }


@pytest.mark.catalogue
def test_a_found_star_makes_its_own_light_curve(archive):
    found = archive.search(name="GK Cep")
    assert isinstance(found, Stars) and isinstance(found, SearchResult) and len(found) == 1
    star = found[0]
    assert isinstance(star, Star) and star.label == GK_CEP and star.name == "GK Cep"
    assert star == found.objects()[0] == star.object and star.archive is archive
    assert hash(star) == hash(star.object) and {star, star.object} == {star.object}
    assert repr(star) == f"<Star {GK_CEP} (GK Cep), 8.42 mag, {star.n_fluxes} fluxes>"
    assert {"label", "ra_deg", "mag", "lightcurve"} <= set(dir(star))
    curve = star.lightcurve(GK_CMP, check=GK_CHECK)
    frames_equal(curve, archive.lightcurve(GK_CEP, GK_CMP, check=GK_CHECK))
    # The curve names catalogue objects: it holds no connection.
    assert type(curve.variable) is CatalogObject and type(curve.meta["check"]) is CatalogObject
    assert len(curve) > 100


@pytest.mark.catalogue
def test_stars_name_comparisons_ensembles_and_check_stars(archive):
    near = archive.search(ra="21 30 59.15", dec="+70 49 23.58", radius="1deg", limit=500)
    by_label = {star.label: star for star in near}
    assert len(by_label) == len(near) > 3 and near[-1] == near.objects()[-1]
    assert [s.label for s in near[:3]] == [o.label for o in near.objects()[:3]]
    variable, check = by_label[GK_CEP], by_label[GK_CHECK]
    ensemble = [by_label[ref] for ref in ENSEMBLE]
    curve = variable.lightcurve(ensemble, check=check, aperture=3, comparison_aperture=3)
    frames_equal(
        curve,
        archive.lightcurve(GK_CEP, ENSEMBLE, check=GK_CHECK, aperture=3, comparison_aperture=3),
    )
    assert [type(c) for c in curve.meta["comparisons"]] == [CatalogObject, CatalogObject]
    frames_equal(archive.lightcurve(variable, by_label[GK_CMP]), variable.lightcurve(GK_CMP))
    assert archive.object(variable) == variable.object
    with pytest.raises(IndexError):
        near[len(near)]


@pytest.mark.catalogue
def test_a_page_without_its_archive_makes_no_stars(archive):
    found = archive.search(name="GK Cep")
    bare = Stars(found.frame, found.total, found.limit, found.offset)
    with pytest.raises(TypeError, match="without its archive"):
        bare[0]


def test_a_stars_light_curve_spells_out_the_librarys_parameters():
    """Shift-Tab on ``star.lightcurve`` shows every option, the same as the library's."""
    ours = list(inspect.signature(Star.lightcurve).parameters.values())[1:]  # after self
    theirs = list(inspect.signature(differential_photometry).parameters.values())[2:]
    assert [(p.name, p.kind, p.default) for p in ours] == [
        (p.name, p.kind, p.default) for p in theirs
    ]
    ours = list(inspect.signature(Archive.lightcurve).parameters.values())[2:]
    assert [p.name for p in ours] == [p.name for p in theirs]
