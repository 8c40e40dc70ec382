"""The object page's view in Chromium (issue 20, items 4, 5 and 7): calendar dates on the
time axis, a point's HJD on hover, HJD as an axis option, a night chosen in the image table
ringed in the light curve, the light curve saved as a PNG, every aperture of both stars listed
on demand, the empty plot hidden, and the address bar holding every choice, so that the
copied address opens the same view in a fresh browser.

The oracle is ``differential_photometry`` on the same demo catalogue the page reads. Points
are bqplot's SVG ``path.dot`` (a curve this short is drawn in SVG); the rings of a chosen
night are the dots without fill.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from aphos_lib.photometry import differential_photometry

from browser.browser_harness import open_dashboard, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]
GK_CEP, GK_CMP = "UCAC4:805-031770", "UCAC4:803-032417"
BRIGHT = "UCAC4:807-030174"  # saturated in 81 of its 142 images with GK Cep
NIGHT = "2021-11-06"  # kowalski's six images of GK Cep
OBSERVERS = ["dvorak", "kowalski", "novak", "smith", "svoboda"]
PAGE_SIZE = 50
TALL = {"width": 1280, "height": 2600}
# The x axis's labels: bqplot draws the axes in the figure's order, the time axis first.
X_TICKS = (
    "Array.from(document.querySelector('.aphos-lightcurve g.axis')"
    ".querySelectorAll('.tick text'), t => t.textContent)"
)
READY = ".aphos-point-count [data-points]"


@pytest.fixture(scope="module")
def reader(demo_catalogue):
    with demo_catalogue.connect("reader", autocommit=True) as conn:
        yield conn


def open_object(page, voila_url, comparison=GK_CMP, **params) -> None:
    open_dashboard(
        page,
        voila_url,
        "object",
        {"variable": GK_CEP, "comparison": comparison, **params},
        ready=READY,
    )


def redraw(page, action) -> None:
    """Do ``action`` and wait until the kernel has redrawn every part of the page."""
    before = page.locator(".aphos-status span").get_attribute("data-version")
    action()
    page.wait_for_function(
        "v => document.querySelector('.aphos-status span').getAttribute('data-version') !== v",
        arg=before,
    )


def x_ticks(page) -> list[str]:
    return page.evaluate(f"() => {X_TICKS}")


def rings(page) -> int:
    """The light curve's ringed points (dots drawn without fill)."""
    return page.locator(".aphos-lightcurve path.dot").evaluate_all(
        "ds => ds.filter(d => getComputedStyle(d).fill === 'none').length"
    )


def filled_dots(page) -> int:
    return page.locator(".aphos-lightcurve path.dot").count() - rings(page)


def address(page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def wait_for_address(page, name: str, value: str | None) -> None:
    """Until the address bar has ``name=value`` (None: no ``name``)."""
    page.wait_for_function(
        "([n, v]) => new URLSearchParams(location.search).getAll(n).includes(v) || "
        "(v === null && !new URLSearchParams(location.search).has(n))",
        arg=[name, value],
    )


def test_calendar_dates_on_the_axis_hjd_on_hover_and_as_an_option(page, voila_url, reader):
    open_object(page, voila_url)
    data = differential_photometry(reader, GK_CEP, GK_CMP).data
    whole = x_ticks(page)
    assert whole and all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", t) for t in whole), whole
    first, last = data.time_utc.min().date(), data.time_utc.max().date()
    assert all(first.isoformat() <= t <= last.isoformat() for t in whole), (whole, first, last)

    # Wheel zoom still works on the date axis; far enough in, the labels name the hours.
    page.locator(".aphos-lightcurve").scroll_into_view_if_needed()
    box = page.locator(".aphos-lightcurve").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + box["height"] / 2)
    for _ in range(6):
        page.mouse.wheel(0, -600)
        page.wait_for_timeout(150)
    page.wait_for_function(f"() => {X_TICKS}.some(t => /^\\d\\d-\\d\\d \\d\\d:\\d\\d$/.test(t))")
    page.locator("button.aphos-reset").click()
    page.wait_for_function(f"w => {X_TICKS}.join() === w", arg=",".join(whole))

    # "Point details": hovering a point shows its time, HJD, magnitude, error, observer, night.
    page.locator(".aphos-mouse-mode button", has_text="Point details").click()
    # bqplot's PanZoom covers the marks with a rect that takes their hover: gone now.
    page.wait_for_function(
        "() => !document.querySelector('.aphos-lightcurve rect[pointer-events=all]')"
    )
    page.locator(".aphos-lightcurve path.dot").nth(7).hover()
    tooltip = page.locator(".bqplot_tooltip_div").filter(has_text="HJD")
    tooltip.first.wait_for(state="visible")
    text = tooltip.first.inner_text()
    when = re.search(r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) UTC", text).group(1)
    row = data[data.time_utc.dt.strftime("%Y-%m-%d %H:%M:%S") == when].iloc[0]
    assert f"HJD {row.hjd:.5f}" in text
    assert f"Δm {row.magnitude:.4f}" in text
    assert f"{row.observer}, night {row.night}" in text
    screenshot(page, "object-point-details")

    # HJD as the time axis: numbers, and the address says so.
    page.locator(".aphos-time-axis button", has_text="HJD").click()
    page.wait_for_function(f"() => {X_TICKS}.some(t => /^24594\\d\\d\\.\\d$/.test(t))")
    wait_for_address(page, "time", "hjd")
    assert page.locator(".aphos-lightcurve .axislabel").all_text_contents()[0] == "HJD"
    screenshot(page, "object-hjd-axis")
    assert page.aphos_errors == []


def test_the_light_curve_saved_as_a_png(page, voila_url):
    open_object(page, voila_url)
    with page.expect_download() as info:
        page.locator("button.aphos-save-png").click()
    assert info.value.suggested_filename == "UCAC4_805-031770-vs-UCAC4_803-032417-lightcurve.png"
    png = Path(info.value.path()).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    assert width >= 1000 and height >= 380, (width, height)  # the figure, as drawn
    assert len(png) > 20_000  # 142 points, axes, legend: not an empty image


def test_a_row_chosen_in_the_table_rings_its_nights_points(page, voila_url, reader):
    open_object(page, voila_url)
    data = differential_photometry(reader, GK_CEP, GK_CMP).data
    position = int(np.flatnonzero(data.night.astype(str) == NIGHT)[2])
    image = int(data.image_id.iloc[position])
    for k in range(position // PAGE_SIZE):
        page.locator("button.aphos-page-next").click()
        page.wait_for_selector(f".aphos-table-position:has-text('page {k + 2} of')")
    page.locator(f".aphos-images tr[data-image-id='{image}']").click()
    night = data[(data.night.astype(str) == NIGHT)]
    page.wait_for_function(
        "n => document.querySelectorAll('.aphos-images tr.chosen-night').length === n",
        arg=len(night) - 1,
    )
    assert page.locator(".aphos-images tr.chosen-image").get_attribute("data-image-id") == str(
        image
    )
    # The night's points ringed, and the image's with a second, larger ring.
    page.wait_for_function(
        "n => Array.from(document.querySelectorAll("
        "'.aphos-lightcurve path.dot')).filter(d => "
        "getComputedStyle(d).fill === 'none').length === n",
        arg=len(night) + 1,
    )
    assert filled_dots(page) == 142
    legend = page.locator(".aphos-lightcurve g.g_legend").text_content()
    assert f"night {NIGHT} (kowalski)" in legend
    page.locator(f".aphos-images tr[data-image-id='{image}']").scroll_into_view_if_needed()
    screenshot(page, "object-night-chosen-table")
    page.locator(".aphos-lightcurve").scroll_into_view_if_needed()
    screenshot(page, "object-night-chosen-plot")
    # Chosen again: the marks go.
    page.locator(f".aphos-images tr[data-image-id='{image}']").click()
    page.wait_for_function("() => !document.querySelector('.aphos-images tr.chosen-image')")
    page.wait_for_function(
        "() => !Array.from(document.querySelectorAll("
        "'.aphos-lightcurve path.dot')).some(d => "
        "getComputedStyle(d).fill === 'none')"
    )
    # With the keyboard: Enter on a focused row chooses it.
    page.locator(".aphos-images tr[data-pick]").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(".aphos-images tr.chosen-image")
    assert page.aphos_errors == []


def _flux_text(flux, deviation, saturated) -> str:
    text = f"{flux:.1f}" if flux is not None and np.isfinite(flux) else ""
    if text and deviation is not None and np.isfinite(deviation):
        text += f" ± {deviation:.1f}"
    return (text + " sat." if saturated else text) or "–"


def test_all_apertures_of_both_stars_on_demand(page, voila_url, reader):
    open_object(page, voila_url, comparison=BRIGHT, saturated="1")
    assert page.locator(".aphos-aperture-row").count() == 0
    page.locator(".aphos-all-apertures input").check()
    page.wait_for_selector(".aphos-aperture-row")
    oracle = differential_photometry(
        reader, GK_CEP, BRIGHT, include_saturated=True, with_apertures=True
    ).data
    assert page.locator(".aphos-aperture-row").count() == PAGE_SIZE
    shown = page.locator(".aphos-aperture-row").evaluate_all(
        """rows => rows.map(r => ({image: r.dataset.apertureOf,
            stars: Array.from(r.querySelectorAll('.aphos-aperture-table > tbody > tr'), tr => ({
                star: tr.className, head: tr.querySelector('th').textContent,
                cells: Array.from(tr.querySelectorAll('td'), td => td.textContent),
                chosen: Array.from(tr.querySelectorAll('td')).findIndex(
                    td => td.classList.contains('chosen'))}))}))"""
    )
    for row, expected in zip(shown, oracle.iloc[:PAGE_SIZE].itertuples(), strict=True):
        assert int(row["image"]) == expected.image_id
        stars = {s["star"].removeprefix("aphos-aperture-star-"): s for s in row["stars"]}
        assert list(stars) == ["var", "cmp"]
        assert stars["var"]["head"].startswith("Variable") and GK_CEP in stars["var"]["head"]
        assert stars["cmp"]["head"].startswith("Comparison") and BRIGHT in stars["cmp"]["head"]
        for prefix in ("var", "cmp"):
            values = [
                _flux_text(
                    getattr(expected, f"{prefix}_ap_auto"),
                    getattr(expected, f"{prefix}_ap_auto_dev"),
                    getattr(expected, f"{prefix}_ap_auto_saturated"),
                )
            ]
            values += [
                _flux_text(f, d, s)
                for f, d, s in zip(
                    getattr(expected, f"{prefix}_ap"),
                    getattr(expected, f"{prefix}_ap_dev"),
                    getattr(expected, f"{prefix}_ap_saturated"),
                    strict=True,
                )
            ]
            assert stars[prefix]["cells"] == values
            assert stars[prefix]["chosen"] == 0  # ApAuto, the default
    assert any("sat." in c for row in shown for s in row["stars"] for c in s["cells"])
    page.set_viewport_size(TALL)
    page.locator(".aphos-image-table").scroll_into_view_if_needed()
    screenshot(page, "object-all-apertures")
    page.set_viewport_size({"width": 1280, "height": 800})
    page.locator(".aphos-image-table").scroll_into_view_if_needed()
    screenshot(page, "object-all-apertures-1280")
    assert page.aphos_errors == []


def test_a_plot_without_points_is_hidden_until_there_are_some(page, voila_url, reader):
    open_object(page, voila_url, exclude=OBSERVERS)
    assert page.locator(".aphos-empty").inner_text().startswith("Every observer is left out")
    assert not page.locator(".aphos-lightcurve").is_visible()
    assert not page.locator("button.aphos-save-png").is_visible()
    screenshot(page, "object-every-observer-left-out")
    redraw(page, lambda: page.locator(".aphos-observer-novak input").check())
    page.wait_for_function(
        "() => document.querySelectorAll('.aphos-lightcurve path.dot').length === 19"
    )
    box = page.locator(".aphos-lightcurve").bounding_box()
    assert box["width"] > 1000 and box["height"] > 300  # drawn at its size, not squashed
    assert page.locator(".aphos-empty").count() == 0
    assert address(page)["exclude"] == ["dvorak", "kowalski", "smith", "svoboda"]
    page.locator(".aphos-lightcurve").scroll_into_view_if_needed()
    screenshot(page, "object-one-observer-ticked-back")


def test_the_address_holds_every_choice_and_reproduces_the_view(page, browser, voila_url, reader):
    open_object(page, voila_url, comparison=BRIGHT)
    assert address(page) == {"variable": [GK_CEP], "comparison": [BRIGHT]}
    redraw(page, lambda: page.locator(".aphos-observer-novak input").uncheck())
    wait_for_address(page, "exclude", "novak")
    options = [
        t.replace("\xa0", " ") for t in page.locator(".aphos-night select option").all_inner_texts()
    ]
    page.locator(".aphos-night select").select_option(
        index=next(k for k, t in enumerate(options) if t.startswith(NIGHT))
    )
    page.wait_for_function(
        "() => document.querySelector('.aphos-aperture-variable select').options.length > 3"
    )
    redraw(page, lambda: page.locator(".aphos-aperture-variable select").select_option(label="Ap3"))
    wait_for_address(page, "night_aperture", f"{NIGHT}:3")
    page.locator(".aphos-night select").select_option(index=0)  # all nights
    redraw(
        page, lambda: page.locator(".aphos-aperture-comparison select").select_option(label="Ap2")
    )
    wait_for_address(page, "comparison_aperture", "2")
    redraw(page, lambda: page.locator(".aphos-saturated input").check())
    wait_for_address(page, "saturated", "1")
    page.locator(".aphos-epoch input").fill("2459460.5")
    page.locator(".aphos-epoch input").press("Enter")
    page.locator(".aphos-period input").fill("0.936")
    page.locator(".aphos-period input").press("Enter")
    wait_for_address(page, "period", "0.936")
    wait_for_address(page, "epoch", "2459460.5")
    shared = page.url
    assert address(page) == {
        "variable": [GK_CEP],
        "comparison": [BRIGHT],
        "exclude": ["novak"],
        "night_aperture": [f"{NIGHT}:3"],
        "comparison_aperture": ["2"],
        "saturated": ["1"],
        "period": ["0.936"],
        "epoch": ["2459460.5"],
    }
    oracle = differential_photometry(
        reader,
        GK_CEP,
        BRIGHT,
        aperture={NIGHT: 3},
        comparison_aperture=2,
        include_saturated=True,
        exclude_observers=["novak"],
    )
    points = int(np.isfinite(oracle.data.magnitude).sum())
    view = _view(page)
    assert view["rows"] == len(oracle) and view["dots"] == points
    page.set_viewport_size(TALL)
    screenshot(page, "object-address-changed")

    # The copied address in a fresh browser context: the same view.
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        fresh = context.new_page()
        fresh.goto(shared, wait_until="domcontentloaded")
        fresh.wait_for_selector(READY, state="visible", timeout=30_000)
        fresh.wait_for_function(
            "n => document.querySelectorAll('.aphos-phase path.dot').length === n",
            arg=2 * points,
            timeout=30_000,
        )
        assert _view(fresh) == view
        assert fresh.url == shared  # read back and written back unchanged
        fresh.set_viewport_size(TALL)
        screenshot(fresh, "object-address-reopened")
    finally:
        context.close()
    assert page.aphos_errors == []


def _view(page) -> dict:
    """What the visitor sees of the choices: boxes, apertures, table, points, phase."""
    return {
        "observers": {
            o: page.locator(f".aphos-observer-{o} input").is_checked() for o in OBSERVERS
        },
        "saturated": page.locator(".aphos-saturated input").is_checked(),
        "apertures": page.locator(".aphos-aperture-summary").inner_text(),
        "rows": int(page.locator(".aphos-table-position span").get_attribute("data-rows")),
        "first_rows": page.locator(".aphos-images tbody tr[data-pick]").evaluate_all(
            "rs => rs.slice(0, 10).map(r => r.textContent)"
        ),
        "dots": filled_dots(page),
        "period": page.locator(".aphos-period input").input_value(),
        "epoch": page.locator(".aphos-epoch input").input_value(),
        "phase_dots": page.locator(".aphos-phase path.dot").count(),
    }
