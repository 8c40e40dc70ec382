"""One look on the dashboards, in Chromium at 1,280 x 800: every page starts with the site's
header (the APhoS name, Search, Find variables, My profile, Upload, API docs, Sign in or
out), its links look
like links, and nothing is wider than the window."""

from __future__ import annotations

import pytest

from aphos_lib.theme import DASHBOARDS, NAVIGATION

from browser.browser_harness import dashboard_url, open_dashboard, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LINK_BLUE = "rgb(26, 95, 180)"
GK_CEP, GK_CMP = "UCAC4:805-031770", "UCAC4:803-032417"  # as tests/browser/test_object_page.py
# The dashboards' address of each page in the header (relative on the public pages).
PUBLIC_HREFS = [
    "search.ipynb",
    "variables.ipynb",
    "/services/api/profile",
    "/services/api/upload",
    "/services/api/api/docs",
]


def header_links(page) -> list[tuple[str, str]]:
    links = page.locator("header.aphos-header a").evaluate_all(
        "links => links.map(a => [a.innerText.trim(), a.getAttribute('href')])"
    )
    return [tuple(link) for link in links]


def assert_looks_like_the_site(page, content_link: str) -> None:
    """One header above the page's title; links coloured and underlined; no sideways scroll."""
    assert page.locator("header.aphos-header").count() == 1
    header_top = page.locator("header.aphos-header").bounding_box()["y"]
    title_top = page.locator("h1").first.bounding_box()["y"]
    assert header_top < title_top
    link = page.locator(content_link).first
    style = link.evaluate(
        "a => [getComputedStyle(a).color, getComputedStyle(a).textDecorationLine]"
    )
    assert style == [LINK_BLUE, "underline"], content_link
    brand = page.locator("header .aphos-nav-search").evaluate("a => getComputedStyle(a).color")
    assert brand == "rgb(255, 255, 255)"  # white on the header's dark band
    font = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert font.startswith("system-ui"), font
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280, f"{width} px wide at 1,280"


@pytest.mark.parametrize(
    ("name", "params", "ready", "current", "content_link"),
    [
        ("index", None, ".aphos-home .aphos-stats", "home", ".aphos-links a"),
        ("search", {"name": "GK Cep"}, ".aphos-results", "search", ".aphos-search-link"),
        (
            "variables",
            {"ra": "21 41 55.3", "dec": "+71 18 38.6", "radius": "1.5deg"},
            ".aphos-candidates",
            "variables",
            ".aphos-candidates a",
        ),
        (
            "profile",
            {"username": "novak"},
            ".aphos-profile-summary",
            None,
            ".aphos-profile-owner a",
        ),
    ],
)
def test_each_public_dashboard_has_the_site_header(
    page, voila_url, name, params, ready, current, content_link
):
    open_dashboard(page, voila_url, name, params, ready=ready)
    links = header_links(page)
    assert links[0] == ("APhoS Amateur Photometric Survey", "index.ipynb")
    assert links[1:6] == [
        (label, href) for (_, label, _), href in zip(NAVIGATION, PUBLIC_HREFS, strict=True)
    ]
    assert links[-1] == ("Sign in", "/hub/login")
    current_link = page.locator("header.aphos-header [aria-current='page']")
    if current:
        assert current_link.count() == 1
    assert_looks_like_the_site(page, content_link)
    screenshot(page, f"theme-{name}")
    page.locator("header .aphos-nav-search").click()  # a relative link from any dashboard
    page.wait_for_selector(".aphos-search-form")
    assert page.url.startswith(dashboard_url(voila_url, "search"))
    assert page.aphos_errors == []


def test_the_object_page_has_the_site_header(page, voila_url):
    open_dashboard(
        page,
        voila_url,
        "object",
        {"variable": GK_CEP, "comparison": GK_CMP},
        ready=".aphos-point-count [data-points]",
    )
    assert header_links(page)[1][1] == "search.ipynb"
    assert_looks_like_the_site(page, "h1 ~ * a, .jp-RenderedMarkdown a")
    screenshot(page, "theme-object")


def test_the_upload_page_links_the_public_pages_and_offers_sign_out(page, workspace_voila_url):
    page.goto(f"{workspace_voila_url}/voila/render/upload.ipynb", wait_until="domcontentloaded")
    page.wait_for_selector(".aphos-upload-picker")
    links = dict((label, href) for label, href in header_links(page))
    assert links["Search"] == DASHBOARDS + "search.ipynb"
    assert links["Upload"] == "/services/api/upload"
    assert links["My workspace"] == "/hub/home" and links["Sign out"] == "/hub/logout"
    assert page.locator("header [aria-current='page']").inner_text() == "Upload"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1280
    screenshot(page, "theme-upload")
