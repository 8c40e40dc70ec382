"""The object page's timing panel in Chromium: a timing campaign's GK Cep minima, timed on a
click, listed as the library lists them, with the O-C diagram and each minimum's night."""

from __future__ import annotations

import pytest

from aphos_lib.photometry import differential_photometry

from browser.browser_harness import open_dashboard, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]
GK_CEP, CMP = "UCAC4:805-031770", "UCAC4:803-032417"


def test_the_timing_panel_times_the_campaigns_minima(page, campaign_voila_url, campaign_catalogue):
    catalogue, _ = campaign_catalogue
    with catalogue.connect("reader", autocommit=True) as conn:
        expected = differential_photometry(conn, GK_CEP, CMP).o_c().table
    page.set_viewport_size({"width": 1280, "height": 800})
    open_dashboard(
        page,
        campaign_voila_url,
        "object",
        {"variable": GK_CEP, "comparison": CMP},
        ready=".aphos-point-count [data-points]",
    )
    page.locator(".aphos-timing-run").click()
    page.wait_for_selector(".aphos-timing-result table.aphos-timings", timeout=60_000)
    shown = page.locator(".aphos-timing-result table.aphos-timings tbody tr td:first-child")
    assert shown.all_inner_texts() == [f"{t:.5f}" for t in expected["time"]]
    assert len(expected) >= 5
    # The O-C diagram and the minima's nights, drawn (not just placed).
    page.wait_for_function(
        "[...document.querySelectorAll('.aphos-timing-panel img')]"
        ".filter(i => i.naturalWidth > 0).length === 2",
        timeout=60_000,
    )
    page.locator(".aphos-timing-panel img").last.scroll_into_view_if_needed()
    screenshot(page, "object-timing-panel")
    assert page.aphos_errors == []
