"""The search page's logic without a browser: the query in the address, checks, links, and
the page's widgets driven from Python on the demo catalogue."""

from __future__ import annotations

import pytest

from aphos_lib.coordinates import parse_dec, parse_ra
from aphos_lib.search import search_objects
from aphos_lib.widgets.search import SearchPage, row_cells
from aphos_lib.widgets.search_query import (
    DEFAULT_RADIUS,
    SearchQuery,
    object_link,
    page_label,
    result_rows,
)
from aphos_lib.widgets.urls import first, page_link, query_params

CONE = {"ra": "21 30 59.15", "dec": "+70 49 23.58", "radius": "30arcmin"}


def test_the_address_round_trips_signs_spaces_and_repeated_comparisons(monkeypatch):
    query = SearchQuery(
        **CONE,
        name="GK Cep",
        min_mag="9",
        sort="-mag",
        offset=200,
        variable="UCAC4:805-031770",
        comparison=("UCAC4:805-031804", "UCAC4:804-031083"),
    )
    link = query.link()
    assert "dec=%2B70+49+23.58" in link and link.startswith("search.ipynb?")
    assert "comparison=UCAC4:805-031804&comparison=UCAC4:804-031083" in link
    monkeypatch.setenv("QUERY_STRING", link.partition("?")[2])
    assert SearchQuery.from_params(query_params()) == query
    assert first({"a": ["", " x "]}, "a") == "x" and first({}, "a", "d") == "d"
    assert page_link("profile.ipynb", {"username": ""}) == "profile.ipynb"


def test_an_address_without_a_search_does_not_search_and_a_bad_offset_is_the_first_page():
    assert not SearchQuery.from_params(query_params("variable=A:1")).searching()
    assert SearchQuery.from_params({"offset": ["-5"]}).offset == 0
    assert SearchQuery.from_params({"offset": ["ten"], "name": ["x"]}).offset == 0
    assert SearchQuery(radius="3arcmin").params() == {}  # a radius alone is no search


def test_checks_name_each_wrong_field_and_convert_the_right_ones():
    args, errors = SearchQuery(
        **CONE, min_mag="8", max_mag="12.5", catalog="UCAC4", id="805-03*", sort="mag"
    ).validate()
    assert errors == {}
    assert args == {
        "ra": parse_ra("21 30 59.15"),
        "dec": parse_dec("+70 49 23.58"),
        "radius": 0.5,
        "min_mag": 8.0,
        "max_mag": 12.5,
        "catalog": "UCAC4",
        "catalog_id": "805-03*",
        "order": "mag",
        "limit": 100,
        "offset": 0,
    }
    assert SearchQuery(ra="21h30m59.15s", dec="70.8").validate()[0]["radius"] == 5 / 60
    assert DEFAULT_RADIUS == "5arcmin"
    wrong = SearchQuery(
        ra="21 30 59.15",
        radius="3 parsecs",
        min_mag="faint",
        max_mag="nan",
        sort="distance",
        variable="GK Cep",
    )
    _, errors = wrong.validate()
    assert set(errors) == {"dec", "radius", "min_mag", "max_mag", "variable"}
    assert errors["dec"] == "a cone needs both RA and Dec"
    assert "is not a radius" in errors["radius"] and "not a magnitude" in errors["min_mag"]
    assert "CATALOG:ID" in errors["variable"]
    _, errors = SearchQuery(min_mag="12", max_mag="9", sort="distance").validate()
    assert errors == {
        "max_mag": "the faint limit must not be brighter than the bright limit",
        "sort": "cannot sort by 'distance'",
    }
    assert SearchQuery(dec="+91").validate()[1]["dec"].startswith("declination 91")


def test_object_page_link_needs_a_variable_and_a_comparison():
    assert object_link("", ["A:1"]) is None and object_link("A:1", []) is None
    assert object_link("A:1", ["A:2", "A:3"], "A:4") == (
        "object.ipynb?variable=A:1&comparison=A:2&comparison=A:3&check=A:4"
    )


def _column(page: SearchPage, heading: str) -> dict:
    return next(c for c in page.table.columns if c["heading"] == heading)


@pytest.fixture
def reader(demo_catalogue):
    with demo_catalogue.connect("reader", autocommit=True) as conn:
        yield conn


@pytest.mark.catalogue
def test_rows_and_page_labels_for_a_cone(reader):
    result = search_objects(reader, **CONE)
    rows = result_rows(result)
    assert page_label(result) == f"showing 1-{len(rows)} of {result.total}"
    gk = rows[0]
    assert (gk["Name"], gk["ref"], gk["RA"], gk["Dec"], gk["Distance"]) == (
        "GK Cep",
        "UCAC4:805-031770",
        "21:30:59.15",
        "+70:49:23.6",
        "0.00'",
    )
    assert gk["Fluxes"] == f"{int(result.frame.n_fluxes.iloc[0]):,}"
    total = search_objects(reader, limit=1).total  # stars and APhoS sources
    last = search_objects(reader, limit=100, offset=total - 3)
    assert page_label(last) == f"showing {total - 2:,}-{total:,} of {total:,}"
    assert page_label(search_objects(reader, name="no such star")) == "no objects match"


@pytest.mark.catalogue
def test_the_page_searches_pages_sorts_and_picks_like_search_objects(reader):
    page = SearchPage(reader, SearchQuery())
    assert page.result is None and page.table.rows == []
    page.search_button.click()
    total = search_objects(reader, limit=0).total
    assert page.page_label.value == f"showing 1-100 of {total:,}" and page.prev.disabled
    page.next.click()
    assert page.page_label.value == f"showing 101-200 of {total:,}"
    page.table.click_heading("mag")  # a new order starts at the first page
    assert page.table.heading_text("Mag") == "Mag \u25b2" and page.query.offset == 0
    assert [r["cells"] for r in page.table.rows] == [
        row_cells(r) for r in result_rows(search_objects(reader, order="mag"))
    ]
    page.table.click_heading("mag")  # again: the other way
    assert page.table.heading_text("Mag") == "Mag \u25bc"
    assert not _column(page, "Distance")["enabled"]  # not a cone
    expected = search_objects(reader, order="-mag")
    assert [r["ref"] for r in page.table.rows] == [r["ref"] for r in result_rows(expected)]
    assert [r["cells"] for r in page.table.rows] == [row_cells(r) for r in result_rows(expected)]
    assert page.query.offset == 0 and "sort=-mag" in page.share.value
    assert page.address.query == page.query.link().partition("?")[2]  # the address bar follows
    assert page.selection.value == "" and page.pick_variable.disabled
    page.table.selected = page.table.rows[0]["ref"]
    assert page.selection.value.startswith(f"selected: {page.table.rows[0]['ref']}")
    assert not page.pick_variable.disabled
    page.pick_variable.click()
    assert "aphos-object-link" not in page.picks.value  # no comparison yet
    for index in (1, 2, 1):  # the same comparison twice counts once
        page.table.selected = page.table.rows[index]["ref"]
        page.pick_comparison.click()
    refs = [r["ref"] for r in page.table.rows[:3]]
    link = object_link(refs[0], [refs[1], refs[2]])
    assert page.query.comparison == (refs[1], refs[2])
    assert f'href="{link.replace("&", "&amp;")}"' in page.picks.value
    page.table.selected = refs[1]
    page.pick_variable.click()  # the variable is no longer a comparison
    assert page.query.variable == refs[1] and page.query.comparison == (refs[2],)
    page.clear_picks.click()
    assert page.query.variable == "" and "aphos-object-link" not in page.picks.value


@pytest.mark.catalogue
def test_the_page_restores_an_address_and_links_slider_and_boxes(reader):
    query = SearchQuery(**CONE, min_mag="9", max_mag="13.5", variable="UCAC4:805-031770")
    page = SearchPage(reader, query)
    expected = search_objects(reader, **CONE, min_mag=9, max_mag=13.5)
    assert page.page_label.value == f"showing 1-{len(expected)} of {expected.total}"
    assert page.mag_slider.value == (9.0, 13.5)
    page.mag_slider.value = (10.0, 20.0)
    assert (page.min_mag.value, page.max_mag.value) == ("10.0", "")  # the slider's end: no limit
    page.max_mag.value = "12"
    assert page.mag_slider.value == (10.0, 12.0)
    page.min_mag.value = "bright"  # left as typed; the search names the mistake
    page.search_button.click()
    assert "not a magnitude" in page.errors["min_mag"].value
    assert "Correct the fields" in page.status.value
    # The earlier results are gone: they would read as this search's.
    assert page.table.rows == [] and page.page_label.value == "" and page.next.disabled
    assert "min_mag=bright" in page.address.query  # the address holds what was typed
    assert "Variable:</b> UCAC4:805-031770 (GK Cep)" in page.picks.value
    page = SearchPage(reader, SearchQuery(variable="UCAC4:805-031770", comparison=("UCAC4:1-1",)))
    assert page.result is None  # picks alone are no search
    assert "UCAC4:805-031770 (GK Cep)" in page.picks.value
    assert 'UCAC4:1-1 <span class="aphos-error">(not in the catalogue)' in page.picks.value


@pytest.mark.catalogue
def test_a_nul_typed_or_pasted_into_a_box_is_dropped(reader):
    page = SearchPage(reader, SearchQuery())
    page.name.value = "GK\x00 Cep"
    page.search_button.click()
    assert page.query.name == "GK Cep"
    assert page.page_label.value == "showing 1-1 of 1" and "aphos-error" not in page.status.value
