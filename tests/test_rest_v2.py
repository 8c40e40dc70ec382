"""The paged /api/v2, the service's own documentation, and schemathesis over its schema."""

from __future__ import annotations

import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from astropy.time import Time

from aphos_lib.photometry import differential_photometry
from aphos_lib.search import search_objects

from conftest import http_get, schemathesis_env

pytestmark = [pytest.mark.catalogue, pytest.mark.slow]
GK, GK_CMP = "UCAC4:805-031770", "UCAC4:803-032417"


def v2(api_url: str, path: str, **params) -> tuple[int, object]:
    query = urllib.parse.urlencode(params, doseq=True)
    return http_get(f"{api_url}/api/v2/{path}" + (f"?{query}" if query else ""))


def text(url: str) -> tuple[str, str]:
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.headers["content-type"], response.read().decode()


def test_objects_are_paged_with_totals_and_no_cap(api_url, demo_catalogue):
    with demo_catalogue.connect("reader", autocommit=True) as conn:
        everything = search_objects(conn, limit=10_000)
    pages, offset = [], 0
    while True:
        status, page = v2(api_url, "objects", limit=250, offset=offset)
        assert status == 200 and page["total"] == everything.total
        pages += [o["catalog_id"] for o in page["objects"]]
        offset += 250
        if offset >= page["total"]:
            break
    assert pages == everything.frame.catalog_id.tolist() and len(pages) > 600
    status, cone = v2(api_url, "objects", ra="21 30 59.15", dec="+70 49 23.58", radius="5arcmin")
    assert cone["objects"][0]["catalog_id"] == "805-031770"
    assert cone["objects"][0]["distance_deg"] < 1e-6
    assert [o["distance_deg"] for o in cone["objects"]] == sorted(
        o["distance_deg"] for o in cone["objects"]
    )


def test_fluxes_are_paged_in_time_order_and_as_of_hides_later_uploads(api_url):
    status, first = v2(api_url, "objects/UCAC4/805-031770/fluxes", limit=100)
    assert status == 200 and first["total"] == first["object"]["n_fluxes"] == 142
    status, rest = v2(api_url, "objects/UCAC4/805-031770/fluxes", limit=100, offset=100)
    fluxes = first["fluxes"] + rest["fluxes"]
    assert len(fluxes) == 142 and len({f["image_id"] for f in fluxes}) == 142
    # The JD of mid-exposure agrees with astropy's for the UTC time (headers round theirs).
    utc = Time([f["time_utc"].removesuffix("+00:00") for f in fluxes], scale="utc")
    np.testing.assert_allclose([f["jd"] for f in fluxes], utc.jd, rtol=0, atol=1e-4)
    times = [f["time_utc"] for f in fluxes]
    assert times == sorted(times)
    status, past = v2(api_url, "objects/UCAC4/805-031770/fluxes", as_of="2000-01-01T00:00:00Z")
    assert past["total"] == 0 and past["fluxes"] == []


def test_lightcurve_json_and_downloads_equal_aphos_lib(api_url, demo_catalogue):
    with demo_catalogue.connect("reader", autocommit=True) as conn:
        plain = differential_photometry(conn, GK, GK_CMP)
        night = plain.data.night.iloc[0]
        chosen = differential_photometry(
            conn, GK, [GK_CMP, "UCAC4:804-031083"], aperture={night: 3}
        )
    status, body = v2(
        api_url,
        "lightcurve",
        variable=GK,
        comparison=[GK_CMP, "UCAC4:804-031083"],
        night_aperture=f"{night.isoformat()}:3",
    )
    assert status == 200 and len(body["rows"]) == len(chosen)
    np.testing.assert_allclose([r["magnitude"] for r in body["rows"]], chosen.data.magnitude)
    assert {r["var_aperture"] for r in body["rows"] if r["night"] == night.isoformat()} == {3}
    assert [c["catalog_id"] for c in body["comparisons"]] == ["803-032417", "804-031083"]
    kind, csv = text(
        f"{api_url}/api/v2/lightcurve?variable={GK}&comparison={GK_CMP}&format=csv&metadata=true"
    )
    assert kind.startswith("text/csv")
    assert _without_query_time(csv) == _without_query_time(plain.to_csv(metadata=True))
    status, error = v2(api_url, "lightcurve", variable=GK, comparison=GK_CMP, format="aavso")
    assert status == 400 and "obscode" in error["message"]
    status, error = v2(api_url, "lightcurve", variable=GK, comparison="UCAC4:000-000000")
    assert status == 404 and "000-000000" in error["message"]


def _without_query_time(download: str) -> list[str]:
    """A download's lines but the one that says when it was made."""
    return [line for line in download.splitlines() if not line.startswith("Queried at")]


def test_observer_profiles_and_catalogs(api_url):
    status, novak = v2(api_url, "observers/NOVAK")
    assert status == 200 and novak["username"] == "novak" and novak["images"] > 0
    assert novak["fluxes"] > novak["images"]
    assert v2(api_url, "observers/nobody-at-all")[0] == 404
    assert v2(api_url, "catalogs") == (200, ["APHOS", "UCAC4"])  # APhoS sources too


def test_documentation_is_served_by_the_service_without_internet(api_url):
    kind, page = text(f"{api_url}/api/docs")
    assert kind.startswith("text/html") and "swagger-ui-bundle.js" in page
    scripts = [part.split('"')[1] for part in page.split("src=")[1:]]
    assert scripts and all(s.startswith("/api/docs/static/") for s in scripts)
    kind, bundle = text(f"{api_url}/api/docs/static/swagger-ui-bundle.js")
    assert len(bundle) > 500_000
    status, schema = http_get(f"{api_url}/api/openapi.json")
    assert status == 200
    assert {"/api/space-objects/comparison", "/api/v2/lightcurve"} <= set(schema["paths"])
    statuses = {
        code
        for path in schema["paths"].values()
        for op in path.values()
        for code in op["responses"]
    }
    assert "422" not in statuses and {"400", "404"} <= statuses


def test_schemathesis_finds_no_server_error_and_no_schema_violation(api_url, tmp_path):
    schemathesis = Path(sys.executable).parent / "st"
    done = subprocess.run(
        [
            str(schemathesis),
            "run",
            f"{api_url}/api/openapi.json",
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance,"
            "content_type_conformance,strict_json",
            "--max-examples",
            "25",
            "--seed",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env=schemathesis_env(),
    )
    assert done.returncode == 0, done.stdout[-4000:]
