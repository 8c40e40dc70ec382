"""The object page in Chromium: what it shows and downloads is what aphos_lib computes.

The oracle of every check is a separate call of ``differential_photometry`` with the same
choices, on the same demo catalogue the page reads. Light-curve points are counted as
bqplot's SVG ``path.dot`` (a curve this short is drawn in SVG, see ``WEBGL_FROM``).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest

from aphos_lib.photometry import differential_photometry

from browser.browser_harness import open_dashboard, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]
GK_CEP, GK_CMP = "UCAC4:805-031770", "UCAC4:803-032417"
BRIGHT = "UCAC4:807-030174"  # saturated in 81 of its 142 images with GK Cep
NIGHT = "2021-11-06"
PAGE_SIZE = 50
TALL = {"width": 1280, "height": 2600}  # Voila scrolls inside the page: show all of it


@pytest.fixture(scope="module")
def reader(demo_catalogue):
    with demo_catalogue.connect("reader", autocommit=True) as conn:
        yield conn


def open_object(page, voila_url, comparison=GK_CMP, **params):
    open_dashboard(
        page,
        voila_url,
        "object",
        {"variable": GK_CEP, "comparison": comparison, **params},
        ready=".aphos-point-count [data-points]",
    )


def version(page) -> str:
    return page.locator(".aphos-status span").get_attribute("data-version")


def wait_for_redraw(page, before: str) -> None:
    """Until the kernel has recomputed the curve and sent every part of the page (its
    refresh counter, set last, moved on)."""
    page.wait_for_function(
        "v => document.querySelector('.aphos-status span').getAttribute('data-version') !== v",
        arg=before,
    )


def wait_for_dots(page, n: int, figure: str = ".aphos-lightcurve") -> None:
    page.wait_for_function(
        "([n, f]) => document.querySelectorAll(f + ' path.dot').length === n", arg=[int(n), figure]
    )


def eventually(condition, timeout: float = 30.0, message=lambda: "") -> None:
    """Wait until ``condition()`` holds (for what the DOM cannot be asked in one selector)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"the page did not change in time {message()}"
        time.sleep(0.1)


def dots(page) -> int:
    return page.locator(".aphos-lightcurve path.dot").count()


def rows_shown(page) -> int:
    return int(page.locator(".aphos-table-position span").get_attribute("data-rows"))


def table_page(page, number: int) -> list[dict[str, str]]:
    """Table page ``number`` (0-based) as the user reads it: the pager clicked from page 1."""
    if page.locator("button.aphos-page-first").is_enabled():
        page.locator("button.aphos-page-first").click()
        page.wait_for_selector(".aphos-table-position:has-text('page 1 of')")
    for k in range(number):
        page.locator("button.aphos-page-next").click()
        page.wait_for_selector(f".aphos-table-position:has-text('page {k + 2} of')")
    return page.locator(".aphos-images tbody tr").evaluate_all(
        """rows => rows.map(r => ({image_id: r.dataset.imageId, night: r.dataset.night,
            magnitude: r.querySelector('td.magnitude').textContent,
            var_aperture: r.querySelector('td.var_aperture').textContent,
            uploader: r.querySelector('td.uploader').textContent}))"""
    )


def expected(curve, number: int) -> list[dict[str, str]]:
    data = curve.data.iloc[number * PAGE_SIZE : (number + 1) * PAGE_SIZE]
    return [
        {
            "image_id": str(r.image_id),
            "night": r.night.isoformat(),
            "magnitude": "saturated" if r.saturated else f"{r.magnitude:.4f}",
            "var_aperture": "auto" if r.var_aperture == 0 else f"Ap{r.var_aperture}",
            "uploader": r.observer,
        }
        for r in data.itertuples()
    ]


def test_table_light_curve_and_a_nights_aperture(page, voila_url, reader):
    page.set_viewport_size(TALL)
    open_object(page, voila_url)
    auto = differential_photometry(reader, GK_CEP, GK_CMP)
    assert dots(page) == np.isfinite(auto.data.magnitude).sum() == 142
    assert rows_shown(page) == 142
    assert page.locator(".aphos-table-position").inner_text().startswith("Images 1–50 of 142")
    assert table_page(page, 0) == expected(auto, 0)
    assert "GK Cep" in page.locator(".aphos-object-header").inner_text()
    screenshot(page, "object")

    # One night's variable aperture: that night's magnitudes become the library's for Ap3.
    options = [
        t.replace("\xa0", " ") for t in page.locator(".aphos-night select option").all_inner_texts()
    ]
    index = next(k for k, t in enumerate(options) if t.startswith(NIGHT))
    page.locator(".aphos-night select").select_option(index=index)
    page.wait_for_function(
        "() => document.querySelector('.aphos-aperture-variable select').options.length > 3"
    )
    before = version(page)
    page.locator(".aphos-aperture-variable select").select_option(label="Ap3")
    wait_for_redraw(page, before)
    ap3 = differential_photometry(reader, GK_CEP, GK_CMP, aperture={NIGHT: 3})
    position = int(np.flatnonzero(ap3.data.night.astype(str) == NIGHT)[0])
    shown = table_page(page, position // PAGE_SIZE)
    assert shown == expected(ap3, position // PAGE_SIZE)
    night_rows = [r for r in shown if r["night"] == NIGHT]
    assert len(night_rows) == 6 and {r["var_aperture"] for r in night_rows} == {"Ap3"}
    old = {r["image_id"]: r["magnitude"] for r in expected(auto, position // PAGE_SIZE)}
    assert all(old[r["image_id"]] != r["magnitude"] for r in night_rows)
    assert all(old[r["image_id"]] == r["magnitude"] for r in shown if r["night"] != NIGHT)
    assert "2021-11-06: Ap3" in page.locator(".aphos-aperture-summary").inner_text()
    screenshot(page, "object-aperture-changed")

    # Find period: the periodogram's best period, and the curve folded on it, two cycles.
    page.locator("button.aphos-find-period").click()
    wait_for_dots(page, 2 * 142, ".aphos-phase")
    best = ap3.periodogram(nterms=2).best_period
    period = float(page.locator(".aphos-period input").input_value())
    assert period == pytest.approx(round(best, 6), abs=1e-6)
    assert period == pytest.approx(0.936, rel=1e-3)  # GK Cep's, in the demo's model
    screenshot(page, "object-phase")

    # Zoom with the mouse wheel (bqplot's PanZoom), then back with "Reset view".
    axis = page.locator(".aphos-lightcurve .axis text")
    ticks = lambda: sorted(axis.evaluate_all("ts => ts.map(t => t.textContent)"))  # noqa: E731
    whole = ticks()
    page.locator(".aphos-lightcurve").scroll_into_view_if_needed()
    box = page.locator(".aphos-lightcurve").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -400)
    eventually(lambda: ticks() != whole)
    assert "2021-09-05" in whole and "2021-09-05" not in ticks()  # calendar dates (UTC)
    page.locator("button.aphos-reset").click()
    eventually(lambda: ticks() == whole, message=lambda: f"{ticks()} != {whole}")

    # Error bars off and on.
    bars = page.locator(".aphos-lightcurve path.line")
    visible = lambda: sum(bars.nth(k).is_visible() for k in range(bars.count()))  # noqa: E731
    assert visible() > 0
    page.locator(".aphos-errors input").uncheck()
    eventually(lambda: visible() == 0)
    page.locator(".aphos-errors input").check()
    eventually(lambda: visible() > 0)
    assert page.aphos_errors == []


def test_saturated_rows_and_excluded_observers(page, voila_url, reader):
    open_object(page, voila_url, comparison=BRIGHT)
    hidden = differential_photometry(reader, GK_CEP, BRIGHT)
    shown = differential_photometry(reader, GK_CEP, BRIGHT, include_saturated=True)
    assert rows_shown(page) == len(hidden) == 61 and dots(page) == 61
    before = version(page)
    page.locator(".aphos-saturated input").check()
    wait_for_redraw(page, before)
    assert rows_shown(page) == len(shown) == 142
    assert table_page(page, 0) == expected(shown, 0)
    assert page.locator(".aphos-images tr.saturated").count() == sum(
        shown.data.saturated.iloc[:PAGE_SIZE]
    )
    wait_for_dots(page, 61)  # a saturated image has no magnitude to plot
    page.set_viewport_size(TALL)
    screenshot(page, "object-saturated-shown")
    before = version(page)
    page.locator(".aphos-saturated input").uncheck()
    wait_for_redraw(page, before)
    assert rows_shown(page) == 61

    # Exclude one observer: exactly their rows and points go.
    without = differential_photometry(reader, GK_CEP, BRIGHT, exclude_observers=["novak"])
    before = version(page)
    page.locator(".aphos-observer-novak input").uncheck()
    wait_for_redraw(page, before)
    assert rows_shown(page) == len(without) == 61 - (hidden.data.observer == "novak").sum()
    wait_for_dots(page, np.isfinite(without.data.magnitude).sum())
    assert "novak" not in page.locator(".aphos-images td.uploader").all_inner_texts()
    assert table_page(page, 0) == expected(without, 0)
    assert page.aphos_errors == []


def _unstamped(text: str) -> str:
    return re.sub(r"^Queried at;.*$", "Queried at;", text, flags=re.M)


def download(page, key: str) -> tuple[str, str]:
    with page.expect_download() as info:
        page.locator(f"a.aphos-download-{key}").click()
    return info.value.suggested_filename, Path(info.value.path()).read_text(encoding="utf-8")


def test_each_download_is_the_librarys_file_and_uploaders_link_to_profiles(page, voila_url, reader):
    open_object(page, voila_url, exclude="dvorak")
    curve = differential_photometry(reader, GK_CEP, GK_CMP, exclude_observers=["dvorak"])
    stem = "UCAC4_805-031770-vs-UCAC4_803-032417"
    assert download(page, "txt") == (f"{stem}.txt", curve.to_txt())
    assert download(page, "csv") == (f"{stem}.csv", curve.to_csv())
    name, text = download(page, "csv_metadata")
    assert name == f"{stem}-metadata.csv"
    assert _unstamped(text) == _unstamped(curve.to_csv(metadata=True))
    assert "Excluded observers;dvorak" in text
    page.locator(".aphos-aavso-obscode input").fill("XYZ")
    page.locator(".aphos-aavso-obscode input").press("Enter")
    page.wait_for_selector(".aphos-downloads :text('choose whose report it is')")
    page.locator(".aphos-aavso-observer select").select_option(label="svoboda")
    page.wait_for_selector("a.aphos-download-aavso")
    aavso = curve.to_aavso(obscode="XYZ", observer="svoboda")
    assert download(page, "aavso") == (f"{stem}-aavso.txt", aavso)
    page.set_viewport_size(TALL)
    screenshot(page, "object-downloads")

    # The first row's uploader opens their public profile.
    first = curve.data.observer[0]
    link = page.locator(".aphos-images td.uploader a").first
    assert link.inner_text() == first
    assert link.get_attribute("href") == f"profile.ipynb?username={first}"
    link.click()
    page.wait_for_url(re.compile(r"/voila/render/profile\.ipynb\?username="))
    page.wait_for_selector(".aphos-profile-username")
    assert page.locator(".aphos-profile-username").inner_text() == first
    screenshot(page, "object-uploader-profile")


def test_unknown_object_gets_a_message_not_a_traceback(page, voila_url):
    open_dashboard(
        page,
        voila_url,
        "object",
        {"variable": "UCAC4:999-999999", "comparison": GK_CMP},
        ready=".aphos-object-message",
    )
    assert (
        "There is no object UCAC4:999-999999 in the catalogue"
        in page.locator(".aphos-object-message").inner_text()
    )
    screenshot(page, "object-unknown")
