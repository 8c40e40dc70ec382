"""The variable-star finder page in Chromium: the ranked field, the plot, the links to light
curves against automatic comparisons, and the empty states a new observer meets.

Expected values come from aphos_lib.variable_finder.find_variables on the same catalogue.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from aphos_lib.variable_finder import find_variables
from aphos_lib.widgets.variables_page import TABLE_ROWS

from browser.browser_harness import assert_page_ran, open_dashboard, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FIELD = {"ra": "21 41 55.3", "dec": "+71 18 38.6", "radius": "1.5deg"}
STATUS = ".aphos-variables .aphos-status"


def table_rows(page) -> list[list[str]]:
    """The candidates table's rows (its heading left out), cell by cell."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('.aphos-candidates tr'))
        .slice(1).map(tr => Array.from(tr.cells).map(c => c.textContent))""")


def test_the_field_is_ranked_as_the_finder_ranks_it_and_a_star_opens_its_light_curve(
    page, voila_url, demo_catalogue
):
    with demo_catalogue.connect("reader", autocommit=True) as conn:
        found = find_variables(conn, **FIELD)
    open_dashboard(page, voila_url, "variables", FIELD, ready=".aphos-candidates")
    expect(page.locator(STATUS)).to_contain_text(f"{len(found)} stars ranked in filter V")
    rows = table_rows(page)
    assert len(rows) == min(TABLE_ROWS, len(found))
    assert [r[1] for r in rows] == found.frame["label"].head(len(rows)).tolist()
    assert rows[0][2] == "GK Cep (known)"
    # One dot per ranked star in the plot.
    expect(page.locator(".aphos-variables-plot .dot")).to_have_count(len(found))
    assert parse_qs(urlsplit(page.url).query) == {k: [v] for k, v in FIELD.items()}
    screenshot(page, "variables-gk-cep-field")

    # Clicking a dot names the star and links its light curve (GK Cep: the red one).
    dots = page.locator(".aphos-variables-plot .dot")
    gk_cep = int(found.frame.index[found.frame["label"] == "UCAC4 805-031770"][0])
    dots.nth(gk_cep).click()
    expect(page.locator(".aphos-chosen")).to_contain_text("#1 UCAC4 805-031770 (GK Cep)")
    expect(page.locator(".aphos-chosen a")).to_have_attribute(
        "href", "object.ipynb?variable=UCAC4:805-031770&comparison=auto"
    )

    # The best candidate's light curve, against comparison stars the page chose itself: the
    # address then names them, so the link can be shared.
    with page.expect_navigation():
        page.locator(".aphos-candidates a").first.click()
    page.wait_for_selector(".aphos-object-page", state="visible")
    assert_page_ran(page, "object")
    query = parse_qs(urlsplit(page.url).query)
    assert query["variable"] == ["UCAC4:805-031770"]
    assert len(query["comparison"]) == 5 and "auto" not in query["comparison"]
    assert len(query["check"]) == 1
    expect(page.locator(".aphos-object-header")).to_contain_text("Comparison 5")
    screenshot(page, "variables-gk-cep-auto-comparisons")


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({}, "Give a field's centre and radius"),
        ({"ra": "8 00 00", "dec": "-45 00 00", "radius": "10arcmin"}, "No star in this field"),
        ({"ra": "8 00 00", "dec": "-45 00 00", "radius": "5deg"}, "at most 2 degrees"),
        ({"ra": "25 99 99", "dec": "+95", "radius": "1deg"}, ""),
    ],
    ids=["no-field", "empty-field", "too-wide", "unreadable"],
)
def test_every_address_opens_with_a_message_saying_what_to_do(page, voila_url, params, says):
    open_dashboard(page, voila_url, "variables", params, ready=".aphos-find")
    status = page.locator(STATUS)
    expect(status).not_to_be_empty()
    if says:
        expect(status).to_contain_text(says)
    assert page.locator(".aphos-candidates tr").count() == 0


def test_a_new_observers_single_image_has_no_statistics_yet(page, odd_voila_url):
    """The odd catalogue's stars (a few images at most): the page says there is not enough
    yet instead of ranking noise."""
    open_dashboard(page, odd_voila_url, "variables", FIELD, ready=".aphos-find")
    expect(page.locator(STATUS)).to_contain_text("No star in this field has enough")
    screenshot(page, "variables-new-observer")
