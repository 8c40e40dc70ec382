"""The original APhoS REST API: its own Python client works against ours, values agree.

The client (``aphos-openapi`` 2.5.3 from PyPI) pins astropy 5.2 and urllib3 1.x, so it runs in
its own Python 3.11 virtual environment (``scripts/ensure-client-venv``), against a real
uvicorn server on loopback serving the demo catalogue.
"""

from __future__ import annotations

import json
import math
import subprocess
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from aphos_lib.photometry import differential_photometry
from aphos_lib.search import search_objects

from conftest import http_get as get

pytestmark = [pytest.mark.catalogue, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[1]
GK, GK_CMP = "UCAC4:805-031770", "UCAC4:803-032417"


@pytest.fixture(scope="session")
def client_python() -> Path:
    """The Python of the original client's virtual environment (built once, then reused)."""
    done = subprocess.run(
        [str(REPO / "scripts" / "ensure-client-venv")], capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return Path(done.stdout.strip().splitlines()[-1])


def none_if_not_finite(values):
    return [None if v is None or not math.isfinite(v) else v for v in values]


def test_the_original_python_client_works_against_us(
    client_python, api_url, demo_catalogue, tmp_path
):
    done = subprocess.run(
        [
            str(client_python),
            str(REPO / "tests" / "aphos_client_checks.py"),
            api_url,
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])

    with demo_catalogue.connect("reader", autocommit=True) as conn:
        curve = differential_photometry(conn, GK, GK_CMP, include_saturated=True)
        night = curve.data.night.iloc[0]
        chosen = differential_photometry(
            conn,
            GK,
            GK_CMP,
            include_saturated=True,
            aperture={night: 3},
            comparison_aperture={night: 4},
        )
        cone = search_objects(conn, ra="21 30 59.15", dec="+70 49 23.58", radius="10arcmin")
        faint = search_objects(conn, min_mag=11.5, max_mag=11.7, limit=100)
        n_objects = search_objects(conn, limit=0).total

    # The rows SIPS matched to nothing are APhoS sources: a catalogue of their own.
    assert report["catalogs"] == ["All catalogues", "UCAC4", "USNO-B1.0", "APHOS"]
    gk = report["object"]
    assert (gk["id"], gk["name"], gk["catalog"]) == ("805-031770", "GK Cep", "UCAC4")
    assert gk["fluxesCount"] == gk["fluxes"] == 142 and gk["magnitude"] == 8.42
    position = SkyCoord(
        gk["rightAsc"], gk["declination"].replace("°", "d").replace("'", "m").replace('"', "s")
    )
    assert position.separation(SkyCoord(322.746458333, 70.823216667, unit="deg")).arcsec < 0.01
    assert report["missing_object"] and report["missing_user"]
    assert report["by_name"] == ["805-031770"]
    assert report["by_cone"] == sorted(cone.frame.catalog_id) and len(report["by_cone"]) > 3
    assert report["by_magnitude"] == sorted(faint.frame.catalog_id)
    assert report["by_everything"] == ["805-031770"]
    assert report["unfiltered"] == min(100, n_objects)

    comparison = report["comparison"]
    assert (comparison["variable"], comparison["comparison"]) == ("805-031770", "803-032417")
    assert comparison["rows"] == len(curve)
    assert comparison["magnitudes"] == pytest.approx(none_if_not_finite(curve.data.magnitude))
    assert comparison["users"] == curve.data.observer.tolist()
    # The client's own aperture choice (indexes from 0) gives our per-night apertures 3 and 4.
    applied = report["apertures_set"]
    assert applied["night"] == night.isoformat()
    expected = np.round(chosen.data.magnitude.to_numpy(), 7)
    assert applied["magnitudes"] == pytest.approx(none_if_not_finite(expected), abs=1e-7)
    on_night = (curve.data.night == night).to_numpy()
    assert [u for u, n in zip(applied["used"], on_night, strict=True) if n] == [["2", "3"]] * int(
        on_night.sum()
    )

    assert report["user"] == {"username": "novak", "description": None}
    lines = Path(report["graph_file"]).read_text().splitlines()
    assert lines[0].split() == ['"Variable', 'ID"', "805-031770"]
    assert len(lines) - 4 == report["graph_points"] == int(np.isfinite(curve.data.magnitude).sum())


def test_errors_are_json_with_an_id_and_never_a_trace(api_url):
    cases = [
        ("/api/space-objects/search?spaceObjectId=000-000000", 404, "SpaceObject not found"),
        ("/api/space-objects/search", 400, "spaceObjectId"),
        (
            "/api/space-objects/comparison?originalId=805-031770&referenceId=nope",
            404,
            "Reference object not found",
        ),
        ("/api/space-objects/search-by-params?coordinates=junk", 400, "Coordinates value"),
        ("/api/space-objects/search-by-params?minMag=-1", 400, "minMag"),
        ("/api/users/nobody-at-all", 404, "User not found"),
    ]
    for path, status, message in cases:
        code, body = get(api_url + path)
        assert code == status, path
        assert set(body) == {"id", "message"} and message in body["message"], path
        assert "Traceback" not in body["message"] and "SELECT" not in body["message"]


ORIGINAL_CLIENT = {"User-Agent": "OpenAPI-Generator/1.0.0/python"}


def lenient_get(url: str, headers: dict[str, str]) -> object:
    """GET as the original client reads: Python's json.loads, NaN tokens accepted."""
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def test_unknown_values_are_null_never_zero_and_never_nan(api_url):
    # http_get parses strictly, as a browser: no NaN or Infinity token anywhere.
    fluxes = api_url + "/api/space-objects/search?spaceObjectId=805-031770"
    code, body = get(fluxes)
    assert code == 200
    # dvorak exports no deviations: the original would have said 0.
    dvorak = [f for f in body["fluxes"] if f["addedBy"] == "dvorak"]
    assert dvorak and all(f["apAutoDev"] is None for f in dvorak)
    assert all(f["apAutoDev"] != 0 for f in body["fluxes"])
    comparison = (
        api_url + "/api/space-objects/comparison?originalId=805-031770&referenceId=807-030174"
    )
    code, saturated = get(comparison)
    rows = saturated["data"]
    flagged = [r for r in rows if "saturated" in (r["apAuto"], r["cmpApAuto"])]
    # The magnitude of a saturated row is the text the original client reads as -inf.
    assert flagged and all(
        r["magnitude"] == "-Infinity" and r["deviation"] is None for r in flagged
    )
    assert all(isinstance(r["magnitude"], float) for r in rows if r not in flagged)


def test_the_original_client_alone_gets_the_originals_nan_tokens(api_url):
    # Its generated code types deviations as numbers only: null would make it refuse them.
    fluxes = api_url + "/api/space-objects/search?spaceObjectId=805-031770"
    body = lenient_get(fluxes, ORIGINAL_CLIENT)
    dvorak = [f for f in body["fluxes"] if f["addedBy"] == "dvorak"]
    assert dvorak and all(math.isnan(f["apAutoDev"]) for f in dvorak)
    rows = lenient_get(
        api_url + "/api/space-objects/comparison?originalId=805-031770&referenceId=807-030174",
        ORIGINAL_CLIENT,
    )["data"]
    flagged = [r for r in rows if "saturated" in (r["apAuto"], r["cmpApAuto"])]
    assert flagged and all(r["magnitude"] == -math.inf and r["deviation"] is None for r in flagged)
    # Another Python program gets standard JSON.
    body = lenient_get(fluxes, {"User-Agent": "python-requests/2.32"})
    assert all(f["apAutoDev"] is None for f in body["fluxes"] if f["addedBy"] == "dvorak")
