"""The home page in Chromium: the counts it shows are the catalogue's; a closed page frees its
kernel."""

from __future__ import annotations

import json
import time

import pytest

from aphos_lib.stats import catalogue_stats
from aphos_lib.widgets.home import LINKS

from browser.browser_harness import ARTIFACTS, open_dashboard, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_home_shows_the_catalogue_counts_and_links(page, voila_url, demo_catalogue):
    open_dashboard(page, voila_url, "index", ready=".aphos-home .aphos-stats")
    with demo_catalogue.connect("reader") as conn:
        expected = catalogue_stats(conn)
    shown = {
        name: int(page.locator(f".aphos-stat-{name} td").get_attribute("data-value"))
        for name in expected
    }
    assert shown == expected
    assert page.locator(".aphos-stat-fluxes td").inner_text() == f"{expected['fluxes']:,}"
    hrefs = page.locator(".aphos-links a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    assert hrefs == [href for _, href, _ in LINKS]
    assert "/services/api/api/docs" in hrefs and "search.ipynb" in hrefs
    with demo_catalogue.connect("reader") as conn:
        observers = conn.execute("SELECT username FROM observer").fetchall()
    links = page.locator(".aphos-observers a")
    links_first = links.first.inner_text()
    assert sorted(links.all_inner_texts()) == sorted(u for (u,) in observers)
    screenshot(page, "home")
    links.first.click()  # a relative link to the observer's profile
    page.wait_for_selector(".aphos-profile-summary")
    assert page.locator(".aphos-profile-username").inner_text() == links_first
    assert page.aphos_errors == []


@pytest.mark.serial
def test_closing_a_page_shuts_its_kernel_down_at_once(page, voila_url):
    """Not after the idle timeout (120 s here): Voila's beacon on unload is accepted.

    A bound on time, so it runs in the serial part: beside the whole suite on two cores the
    beacon's request has waited over 30 s.
    """
    open_dashboard(page, voila_url, "index", ready=".aphos-home .aphos-stats")
    kernel = json.loads(page.locator("#jupyter-config-data").text_content())["kernelId"]
    page.close(run_before_unload=True)
    log = ARTIFACTS / "voila.log"
    deadline = time.monotonic() + 30
    while f"Kernel shutdown: {kernel}" not in log.read_text():
        assert time.monotonic() < deadline, f"kernel {kernel} still running 30 s after closing"
        time.sleep(0.2)
    assert f"403 POST /voila/api/shutdown/{kernel}" not in log.read_text()
