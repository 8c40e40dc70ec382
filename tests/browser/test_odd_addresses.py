"""The public pages opened with odd addresses: garbage parameters, unknown ids, a NUL, markup.

Each page answers with its own content or a message the visitor can act on: never Voila's
"There was an error when executing cell", never the page's failure message (that is for the
unexpected: tests/browser/test_object_page_odd_data.py), and never markup from the address
run as markup.
"""

from __future__ import annotations

import pytest

from browser.browser_harness import assert_page_ran, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SCREEN = {"width": 1280, "height": 800}
GK_CEP, GK_CMP = "UCAC4:805-031770", "UCAC4:803-032417"
SCRIPT = "%3Cscript%3Ealert(1)%3C/script%3E"


def open_raw(page, voila_url: str, name: str, query: str, ready: str) -> None:
    """Open ``<name>.ipynb?<query>`` exactly as typed (not re-encoded) and wait for ``ready``;
    fail on a raw error, the failure message, or a dialog (markup from the address run)."""
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.set_viewport_size(SCREEN)
    page.goto(f"{voila_url}/voila/render/{name}.ipynb?{query}", wait_until="domcontentloaded")
    page.wait_for_selector(ready, state="visible")
    assert_page_ran(page, name)
    assert dialogs == [] and page.aphos_errors == []


@pytest.mark.parametrize(
    ("query", "ready", "text"),
    [
        (
            "foo=bar&&&=x&offset=-5&sort=bogus&name=GK",
            ".aphos-error-sort",
            "cannot sort by 'bogus'",
        ),
        (
            "name=GK&offset=99999999999999999999999",
            ".aphos-status .aphos-error",
            "limit and offset must be at most",
        ),
        ("ra=abc&dec=%00&radius=-1", ".aphos-error-ra", "'abc'"),
        ("catalog=%00&id=%00&name=%00", ".aphos-search-button", ""),
        (f"variable={SCRIPT}&comparison=x:y", ".aphos-picks", "<script>alert(1)</script>"),
    ],
)
def test_search(page, voila_url, query, ready, text):
    open_raw(page, voila_url, "search", query, ready)
    assert text in page.locator(ready).inner_text()


def test_search_screenshot_of_odd_fields(page, voila_url):
    open_raw(
        page,
        voila_url,
        "search",
        f"ra=abc&dec=%00&min_mag=nan&variable={SCRIPT}",
        ".aphos-error-ra",
    )
    screenshot(page, "search-odd-address")


def test_home(page, voila_url):
    open_raw(page, voila_url, "index", f"foo=bar&{SCRIPT}=1&username=%00", ".aphos-stats")
    assert page.locator(".aphos-stat-images td").inner_text() == "300"


@pytest.mark.parametrize(
    ("query", "ready", "text"),
    [
        (
            f"username={SCRIPT}",
            ".aphos-profile-not-found",
            "No observer is called <script>alert(1)</script>.",
        ),
        ("username=%00", ".aphos-profile-missing", "Give an observer's name"),
        ("username=&foo=bar", ".aphos-profile-missing", "Give an observer's name"),
        ("username=" + "x" * 3000, ".aphos-profile-not-found", "No observer is called"),
        ("username=NOVAK&username=svoboda", ".aphos-profile-username", "novak"),
    ],
)
def test_profile(page, voila_url, query, ready, text):
    open_raw(page, voila_url, "profile", query, ready)
    assert text in page.locator(ready).inner_text()


@pytest.mark.parametrize(
    ("query", "ready", "text"),
    [
        (f"variable={GK_CEP}&comparison={GK_CEP}", ".aphos-point-count [data-points]", "points"),
        (
            f"variable={GK_CEP}&comparison={GK_CMP}&comparison={GK_CMP}&check={GK_CEP}",
            ".aphos-point-count [data-points]",
            "points",
        ),
        (
            f"variable={GK_CEP}&comparison={GK_CMP}&webgl=banana&exclude=%00&exclude=nobody&foo=1",
            ".aphos-point-count [data-points]",
            "142 points",
        ),
        (
            f"variable={GK_CEP}&comparison={GK_CMP}&check=nonsense",
            ".aphos-object-message",
            "'nonsense' is not an object like",
        ),
        ("variable=%00:%00&comparison=a:b", ".aphos-object-message", "is not an object like"),
        (f"variable={SCRIPT}", ".aphos-object-message", "must name a variable star"),
        ("", ".aphos-object-message", "must name a variable star"),
        (
            f"variable=UCAC4:000-000000&comparison={GK_CMP}",
            ".aphos-object-message",
            "There is no object UCAC4:000-000000 in the catalogue",
        ),
    ],
)
def test_object(page, voila_url, query, ready, text):
    open_raw(page, voila_url, "object", query, ready)
    assert text in page.locator(ready).inner_text()
