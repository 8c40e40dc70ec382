"""One star under two catalogues, as a visitor sees it (issue 22).

Two observers measured GK Cep's field on one night; one observer's SIPS matched the stars to
UCAC4, the other's to USNO-B1.0 (tests/conftest.py ``two_catalogue_catalogue``). The search
page lists each star once with both its ids and finds it by either; the object page, opened
by the USNO-B1.0 ids, names both and plots both observers' points in one light curve.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from aphos_lib.photometry import differential_photometry
from aphos_lib.search import search_objects

from browser.browser_harness import open_dashboard, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SCREEN = {"width": 1280, "height": 800}
GK_CEP = ("UCAC4", "805-031770")
CMP = ("UCAC4", "803-032417")
ROWS = ".aphos-results .aphos-result-row"


def usno(star: tuple[str, str]) -> tuple[str, str]:
    """The id tests/sips_copies.py gives the star in the USNO-B1.0 copy."""
    return "USNO-B1.0", "1" + star[1].replace("-", "")


@pytest.fixture(scope="module")
def reader(two_catalogue_catalogue):
    with two_catalogue_catalogue.connect("reader", autocommit=True) as conn:
        yield conn


def shown_rows(page) -> list[list[str]]:
    return page.evaluate(f"""() => Array.from(document.querySelectorAll({ROWS!r}))
        .map(tr => Array.from(tr.cells).map(td => td.textContent))""")


def search_by_id(page, catalog_id: str) -> None:
    box = page.locator(".aphos-id input")
    box.fill(catalog_id)
    box.press("Enter")
    page.locator(".aphos-search-button").click()


def test_the_search_lists_a_star_once_with_both_ids_and_finds_it_by_either(
    page, two_catalogue_voila_url, reader
):
    page.set_viewport_size(SCREEN)
    open_dashboard(page, two_catalogue_voila_url, "search", ready=".aphos-search-button")
    stars = search_objects(reader, limit=0).total
    objects = reader.execute("SELECT count(*) FROM catalog_object").fetchone()[0]
    assert objects > stars > 0  # the two catalogues' objects are fewer stars
    for asked in (GK_CEP[1], usno(GK_CEP)[1]):
        search_by_id(page, asked)
        expect(page.locator(".aphos-page-label")).to_have_text("showing 1-1 of 1")
        (row,) = shown_rows(page)
        assert row[0] == "GK Cep"
        assert f"{GK_CEP[1]} (= {' '.join(usno(GK_CEP))})" in row
    screenshot(page, "search-two-catalogues")
    assert page.aphos_errors == []


def test_the_object_page_by_its_usno_ids_names_both_and_plots_every_observer(
    page, two_catalogue_voila_url, reader
):
    page.set_viewport_size(SCREEN)
    variable, comparison = (":".join(usno(s)) for s in (GK_CEP, CMP))
    open_dashboard(
        page,
        two_catalogue_voila_url,
        "object",
        {"variable": variable, "comparison": comparison},
        ready=".aphos-point-count [data-points]",
    )
    curve = differential_photometry(reader, variable, comparison)
    assert sorted(curve.data.observer) == ["novak", "vesely"]  # one image from each
    assert page.locator(".aphos-lightcurve path.dot").count() == len(curve) == 2
    header = page.locator(".aphos-star-variable").inner_text()
    assert " ".join(GK_CEP) in header and " ".join(usno(GK_CEP)) in header
    assert sorted(page.locator(".aphos-images td.uploader").all_inner_texts()) == [
        "novak",
        "vesely",
    ]
    screenshot(page, "object-two-catalogues")
    assert page.aphos_errors == []
