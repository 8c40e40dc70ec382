"""An observer sets their site on the profile page: saved, shown, refused when wrong, used.

Through the api service's real routes (the form and ``PUT observers/{username}``), signed in
by the stand-in for the hub's token check (tests/upload_service.py), on a real catalogue.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import httpx
import pytest
from upload_service import PREFIX, environment, headers, serve_api

from aphos_lib.ingest import ingest_files
from aphos_lib.photometry import differential_photometry

from conftest import fixture_path, make_home

pytestmark = pytest.mark.catalogue

XSRF = "the-token"
PAGE = PREFIX + "observers/Dan"
# A pair of stars of correct_file.csv (tests/data).
VARIABLE, COMPARISON = "UCAC4:777-044861", "UCAC4:779-040824"


@pytest.fixture(scope="module")
def service(embedded_server) -> Iterator[dict]:
    home = make_home("aphos-profile-site-")
    catalogue, dbname = embedded_server.clone()
    try:
        with (
            environment(APHOS_HOME=str(home), APHOS_UPLOADS_DIR=None),
            serve_api(catalogue, home) as url,
        ):
            yield {"url": url, "catalogue": catalogue}
    finally:
        catalogue.dispose()
        embedded_server.drop(dbname)
        shutil.rmtree(home, ignore_errors=True)


def dan(service, xsrf: str | None = XSRF) -> httpx.Client:
    """Dan's browser: the hub's cookie and the ``_xsrf`` cookie."""
    cookies = {"stand-in-cookie": "tok-dan"}
    if xsrf:
        cookies["_xsrf"] = xsrf
    return httpx.Client(base_url=service["url"], cookies=cookies, timeout=60)


def site_of(service) -> tuple:
    r = httpx.get(service["url"] + PAGE)
    assert r.status_code == 200
    body = r.json()
    return body["longitude_deg"], body["latitude_deg"], body["height_m"]


def form(**fields) -> dict:
    return {"_xsrf": XSRF, "username": "Dan", "description": "CCD from Brno", **fields}


def test_the_form_saves_the_site_and_the_profile_shows_it(service):
    with dan(service) as browser:
        page = browser.get(PREFIX + "profile")
        assert page.status_code == 200
        for name in ("longitude_deg", "latitude_deg", "height_m"):
            assert f'name="{name}"' in page.text
        assert "21.3 ms" in page.text
        site = {"longitude_deg": "16.5833", "latitude_deg": " 49.2050 ", "height_m": "304"}
        r = browser.post(PREFIX + "profile", data=form(**site))
        assert r.status_code == 303 and r.headers["location"] == PAGE
        assert site_of(service) == (16.5833, 49.205, 304.0)
        # The form shows the saved values again.
        again = browser.get(PREFIX + "profile").text
        assert 'value="16.5833"' in again and 'value="49.205"' in again
        html = browser.get(PAGE, headers={"Accept": "text/html"}).text
    assert "<span id='site-value'>16.5833° E, 49.205° N, 304 m</span>" in html
    assert "computed at this site" in html and "21.3 ms" in html
    # A form without the site's fields (an older page) keeps them; an empty field clears one.
    with dan(service) as browser:
        r = browser.post(PREFIX + "profile", data=form())
        assert r.status_code == 303 and site_of(service) == (16.5833, 49.205, 304.0)
        r = browser.post(PREFIX + "profile", data=form(**{**site, "height_m": ""}))
        assert r.status_code == 303 and site_of(service) == (16.5833, 49.205, None)
    public = httpx.get(service["url"] + PAGE, headers={"Accept": "text/html"}).text
    assert "16.5833° E, 49.205° N</span>" in public


def test_put_sets_and_clears_the_site_with_the_xsrf_check(service):
    echo = {"X-XSRFToken": XSRF}
    with dan(service) as browser:
        body = {"longitude_deg": -70.7366, "latitude_deg": -30.2407, "height_m": 2715}
        r = browser.put(PAGE, json=body, headers=echo)
        assert r.status_code == 200, r.text
        saved = r.json()
        assert (saved["longitude_deg"], saved["latitude_deg"], saved["height_m"]) == (
            -70.7366,
            -30.2407,
            2715.0,
        )
        # Without the token a cookie session changes nothing.
        r = browser.put(PAGE, json={"longitude_deg": 1}, headers={})
        assert r.status_code == 403 and "XSRF" in r.json()["message"]
        assert site_of(service) == (-70.7366, -30.2407, 2715.0)
        html = browser.get(PAGE, headers={"Accept": "text/html"}).text
        assert "70.7366° W, 30.2407° S, 2715 m" in html
        # Only the fields sent change; null clears.
        r = browser.put(PAGE, json={"latitude_deg": None}, headers=echo)
        assert r.status_code == 200 and site_of(service) == (-70.7366, None, 2715.0)
    html = httpx.get(service["url"] + PAGE, headers={"Accept": "text/html"}).text
    assert "at the Earth&#x27;s centre until a longitude and a latitude are given" in html
    # A hub token needs no XSRF token; others may not change Dan's site.
    r = httpx.put(service["url"] + PAGE, json={"latitude_deg": "-30.2407"}, headers=headers("dan"))
    assert r.status_code == 200 and site_of(service) == (-70.7366, -30.2407, 2715.0)
    r = httpx.put(service["url"] + PAGE, json={"latitude_deg": 0}, headers=headers("erin"))
    assert r.status_code == 403 and site_of(service) == (-70.7366, -30.2407, 2715.0)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("longitude_deg", 180.5, "longitude in degrees east (west negative) must be between"),
        ("longitude_deg", "16,58", "must be a number, not '16,58'"),
        ("latitude_deg", "-90.01", "latitude in degrees north (south negative) must be between"),
        ("latitude_deg", "nan", "must be between -90 and 90"),
        ("height_m", 10001, "height above sea level in metres must be between -500 and 10000"),
        ("height_m", "Infinity", "must be between -500 and 10000"),
        ("height_m", True, "must be a number"),
        ("height_m", [1], "must be a number"),
        ("height_m", 10**400, "must be a number"),
    ],
)
def test_bad_values_are_refused_400_with_a_message(service, field, value, message):
    before = site_of(service)
    r = httpx.put(service["url"] + PAGE, json={field: value}, headers=headers("dan"))
    assert r.status_code == 400 and message in r.json()["message"], r.text
    assert site_of(service) == before


def test_the_form_refuses_a_bad_value_and_shows_it_escaped(service):
    before = site_of(service)
    with dan(service) as browser:
        bad = form(longitude_deg="<b>16</b>", latitude_deg="49.2", height_m="")
        r = browser.post(PREFIX + "profile", data=bad)
    assert r.status_code == 400
    assert (
        '<p class="error" id="profile-error">the longitude in degrees east (west negative) '
        "must be a number, not &#x27;&lt;b&gt;16&lt;/b&gt;&#x27;</p>" in r.text
    )
    assert 'value="&lt;b&gt;16&lt;/b&gt;"' in r.text and "<b>16</b>" not in r.text
    assert site_of(service) == before


def test_a_light_curve_of_the_observer_is_then_at_the_site(service):
    catalogue = service["catalogue"]
    ingest_files(catalogue, [fixture_path("correct_file.csv")], observer="Dan")
    r = httpx.put(service["url"] + PAGE, json={"latitude_deg": None}, headers=headers("dan"))
    assert r.status_code == 200
    with catalogue.connect("reader", autocommit=True) as conn:
        geocentre = differential_photometry(conn, VARIABLE, COMPARISON).data
    assert list(geocentre.observer) == ["Dan"] and not geocentre.bjd_at_site.any()
    site = {"longitude_deg": "16.5833", "latitude_deg": "49.205", "height_m": "304"}
    with dan(service) as browser:
        assert browser.post(PREFIX + "profile", data=form(**site)).status_code == 303
    with catalogue.connect("reader", autocommit=True) as conn:
        at_site = differential_photometry(conn, VARIABLE, COMPARISON).data
    assert at_site.bjd_at_site.all()
    # The site moves BJD_TDB by at most the Earth's radius over c (21.3 ms).
    shift_s = abs(at_site.bjd_tdb - geocentre.bjd_tdb).max() * 86400
    assert 0 < shift_s < 0.0213
