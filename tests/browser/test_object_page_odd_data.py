"""The object page opens whatever the data: one observer, one point, only saturated images,
stars that share no image, an ensemble with a check star, every observer left out.

Issue 20: the page failed with only "There was an error when executing cell [1]" whenever it
opened with one observer's data (every new observer's first field, every shared address that
excludes all observers but one). The odd cases are a catalogue of crafted copies of a real
SIPS export (tests/odd_catalogue.py) behind its own dashboards service; the addresses that
exclude observers are opened on the demo catalogue, as they were shared. Each case is opened
by its address and checked as a visitor reads it, and saved as a 1,280 x 800 screenshot.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from psycopg import sql

from aphos_lib.photometry import differential_photometry

import odd_catalogue as odd
from browser.browser_harness import ARTIFACTS, open_dashboard, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SCREEN = {"width": 1280, "height": 800}
DEMO_GK_CEP, DEMO_CMP = "UCAC4:805-031770", "UCAC4:803-032417"
DEMO_OBSERVERS = ["dvorak", "kowalski", "novak", "smith", "svoboda"]


@pytest.fixture(scope="module")
def odd_reader(odd_catalogue):
    with odd_catalogue.connect("reader", autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="module")
def demo_reader(demo_catalogue):
    with demo_catalogue.connect("reader", autocommit=True) as conn:
        yield conn


def open_object(
    page, url, variable=odd.GK_CEP, comparison=odd.CMP, ready=None, failure=False, **params
) -> None:
    """Open the object page at 1,280 x 800 and wait until its curve is drawn (or ``ready``)."""
    page.set_viewport_size(SCREEN)
    open_dashboard(
        page,
        url,
        "object",
        {"variable": variable, "comparison": comparison, **params},
        ready=ready or ".aphos-point-count [data-points]",
        failure=failure,
    )


def dots(page) -> int:
    return page.locator(".aphos-lightcurve path.dot").count()


def rows_shown(page) -> int:
    return int(page.locator(".aphos-table-position span").get_attribute("data-rows"))


def empty_state(page) -> str:
    shown = page.locator(".aphos-status .aphos-empty")
    return shown.inner_text() if shown.count() else ""


def redraw(page, action) -> None:
    """Do ``action`` and wait until the kernel has redrawn every part of the page."""
    before = page.locator(".aphos-status span").get_attribute("data-version")
    action()
    page.wait_for_function(
        "v => document.querySelector('.aphos-status span').getAttribute('data-version') !== v",
        arg=before,
    )


def wait_for_dots(page, n: int) -> None:
    page.wait_for_function(
        "n => document.querySelectorAll('.aphos-lightcurve path.dot').length === n", arg=int(n)
    )


def test_one_observer_one_night(page, odd_voila_url, odd_reader):
    open_object(page, odd_voila_url)
    curve = differential_photometry(odd_reader, odd.GK_CEP, odd.CMP)
    assert set(curve.data.observer) == {odd.OBSERVER} and len(set(curve.data.night)) == 1
    assert dots(page) == rows_shown(page) == len(curve) == 3
    assert "GK Cep" in page.locator(".aphos-object-header").inner_text()
    assert page.locator(".aphos-images td.uploader").all_inner_texts() == [odd.OBSERVER] * 3
    assert empty_state(page) == ""
    # The AAVSO report's observer: the only one, chosen (the dropdown refused them before).
    observer = page.locator(".aphos-aavso-observer select")
    assert observer.locator("option").all_inner_texts() == [odd.OBSERVER]
    assert observer.input_value() == odd.OBSERVER
    page.locator(".aphos-aavso-obscode input").fill("XYZ")
    page.locator(".aphos-aavso-obscode input").press("Enter")
    page.locator(".aphos-aavso-filter input").fill("V")  # one image has no Filter header
    page.locator(".aphos-aavso-filter input").press("Enter")
    page.wait_for_selector("a.aphos-download-aavso")
    screenshot(page, "object-one-observer")

    # Every aperture choice on the one night: the curve is the library's, the page stays up.
    redraw(
        page, lambda: page.locator(".aphos-aperture-comparison select").select_option(label="Ap10")
    )
    ap10 = differential_photometry(odd_reader, odd.GK_CEP, odd.CMP, comparison_aperture=10)
    wait_for_dots(page, np.isfinite(ap10.data.magnitude).sum())
    assert rows_shown(page) == 3 and page.aphos_errors == []


def test_one_point(page, odd_voila_url):
    open_object(page, odd_voila_url, comparison=odd.ONE_POINT)
    assert dots(page) == rows_shown(page) == 1
    assert page.locator(".aphos-point-count").inner_text() == "1 point with a magnitude"
    page.locator("button.aphos-find-period").click()
    page.wait_for_selector(".aphos-period-message :text('at least 3 magnitudes')")
    screenshot(page, "object-one-point")
    assert page.aphos_errors == []


def test_only_saturated_points_say_to_show_them(page, odd_voila_url):
    open_object(page, odd_voila_url, comparison=odd.SATURATED)
    assert dots(page) == rows_shown(page) == 0
    assert empty_state(page) == (
        "All 3 images are saturated: tick 'Show saturated' to list "
        "them (a saturated image has no magnitude)."
    )
    assert page.locator(".aphos-images").inner_text() == "No images."
    screenshot(page, "object-only-saturated")
    redraw(page, lambda: page.locator(".aphos-saturated input").check())
    assert rows_shown(page) == 3 and dots(page) == 0
    assert page.locator(".aphos-images td.magnitude").all_inner_texts() == ["saturated"] * 3
    assert empty_state(page).startswith("None of these 3 images gives a magnitude")
    assert page.aphos_errors == []


def test_stars_that_share_no_image(page, odd_voila_url):
    open_object(page, odd_voila_url, comparison=odd.ELSEWHERE, ready=".aphos-object-message")
    text = page.locator(".aphos-object-message").inner_text()
    assert text.startswith("These stars share no image:")
    action = page.locator(".aphos-object-message a.aphos-message-action")
    assert action.inner_text() == "Choose another comparison star"
    assert action.get_attribute("href") == f"search.ipynb?variable={odd.GK_CEP}"
    screenshot(page, "object-no-common-image")


def test_an_ensemble_with_a_check_star(page, odd_voila_url, odd_reader):
    open_object(page, odd_voila_url, comparison=odd.ENSEMBLE, check=odd.CHECK)
    curve = differential_photometry(odd_reader, odd.GK_CEP, odd.ENSEMBLE, check=odd.CHECK)
    assert dots(page) == rows_shown(page) == len(curve) == 3
    header = page.locator(".aphos-object-header").inner_text()
    assert "Comparison 1" in header and "Comparison 2" in header and "Check" in header
    checks = page.locator(".aphos-images td.check_magnitude").all_inner_texts()
    assert checks == [f"{m:.4f}" for m in curve.data.check_magnitude]
    screenshot(page, "object-ensemble-check")
    assert page.aphos_errors == []


def test_every_observer_left_out_by_the_address(page, odd_voila_url):
    open_object(page, odd_voila_url, exclude=odd.OBSERVER)
    assert dots(page) == rows_shown(page) == 0
    assert empty_state(page) == "Every observer is left out: tick one or more observers above."
    screenshot(page, "object-every-observer-left-out")
    redraw(page, lambda: page.locator(f".aphos-observer-{odd.OBSERVER} input").check())
    wait_for_dots(page, 3)
    assert empty_state(page) == ""


@pytest.mark.parametrize("kept", [["svoboda"], []])
def test_a_shared_address_that_keeps_one_observer_or_none(page, voila_url, demo_reader, kept):
    """The issue's address: every observer but one excluded (then all of them)."""
    exclude = [o for o in DEMO_OBSERVERS if o not in kept]
    open_object(page, voila_url, DEMO_GK_CEP, DEMO_CMP, exclude=exclude)
    curve = differential_photometry(demo_reader, DEMO_GK_CEP, DEMO_CMP, exclude_observers=exclude)
    assert dots(page) == rows_shown(page) == len(curve)
    assert (len(curve) > 0) == bool(kept)
    assert set(page.locator(".aphos-images td.uploader").all_inner_texts()) == set(kept)
    ticked = page.locator(".aphos-observer input:checked")
    assert ticked.count() == len(kept)
    observer = page.locator(".aphos-aavso-observer select")
    if kept:
        assert observer.input_value() == "svoboda"
        assert empty_state(page) == ""
        screenshot(page, "object-one-observer-kept")
    else:
        assert empty_state(page).startswith("Every observer is left out")
        screenshot(page, "object-no-observer-kept")
    assert page.aphos_errors == []


def test_a_failure_is_a_message_and_the_log_has_its_traceback(
    page, odd_voila_url, odd_catalogue, odd_reader
):
    """A reader that may not read the images (a broken deployment): the visitor reads a short
    message with a reference; the service's log has the traceback under that reference."""
    log = ARTIFACTS / "voila-odd.log"
    reader = sql.Identifier(odd_reader.info.user)
    with odd_catalogue.connect("owner", autocommit=True) as owner:
        owner.execute(sql.SQL("REVOKE SELECT ON image FROM {}").format(reader))
        try:
            open_object(page, odd_voila_url, ready=".aphos-page-failure", failure=True)
        finally:
            owner.execute(sql.SQL("GRANT SELECT ON image TO {}").format(reader))
    shown = page.locator(".aphos-page-failure").inner_text()
    assert shown.startswith("Sorry, this page could not be shown")
    reference = page.locator(".aphos-failure-reference").inner_text()
    assert re.fullmatch(r"[0-9a-f]{8}", reference)
    assert "Traceback" not in page.locator("body").inner_text()
    assert "permission denied" not in page.locator("body").inner_text()
    deadline = time.monotonic() + 10
    while f"reference {reference}" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    entry = log.read_text().split(f"object.ipynb failed (reference {reference}", 1)[1]
    assert "Traceback (most recent call last)" in entry[:20000]
    assert "InsufficientPrivilege: permission denied for table image" in entry[:20000]
    screenshot(page, "object-failure")
