"""The profile page in Chromium: a demo observer's counts are the catalogue's; unknown names."""

from __future__ import annotations

import pytest

from aphos_lib.widgets.profile import OWNER_LINKS

from browser.browser_harness import open_dashboard, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_demo_observer_shows_the_counts_sql_gives(page, voila_url, demo_catalogue):
    with demo_catalogue.connect("reader") as conn:
        images, fluxes, first_upload = conn.execute(
            "SELECT count(*), sum(i.flux_count), (SELECT min(created_at) FROM upload u"
            " WHERE u.observer_id = o.id) FROM image i JOIN observer o ON o.id = i.observer_id"
            " WHERE o.username = 'svoboda' GROUP BY o.id"
        ).fetchone()
        uploads = conn.execute(
            "SELECT count(*) FROM upload u JOIN observer o ON o.id = u.observer_id"
            " WHERE o.username = 'svoboda'"
        ).fetchone()[0]
    open_dashboard(
        page, voila_url, "profile", {"username": "SVOBODA"}, ready=".aphos-profile-summary"
    )
    assert page.locator(".aphos-profile-username").inner_text() == "svoboda"
    cell = lambda key: page.locator(f".aphos-profile-{key} td").inner_text()  # noqa: E731
    assert (cell("uploads"), cell("images"), cell("fluxes")) == (
        f"{uploads:,}",
        f"{images:,}",
        f"{fluxes:,}",
    )
    assert images > 0 and uploads == 1  # the demo stores one upload per observer
    assert cell("first-upload") == first_upload.strftime("%Y-%m-%d %H:%M UTC")
    hrefs = page.locator(".aphos-profile-owner a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    assert hrefs == [
        "/services/api/profile",
        "/services/api/observers/svoboda",
        "/services/api/upload",
    ]
    assert len(OWNER_LINKS) == 3
    screenshot(page, "profile")


def test_an_unknown_observer_is_said_to_be_unknown(page, voila_url):
    open_dashboard(
        page, voila_url, "profile", {"username": "nobody-here"}, ready=".aphos-profile-not-found"
    )
    assert "No observer is called nobody-here" in page.locator(".aphos-profile").inner_text()
    screenshot(page, "profile-unknown")
