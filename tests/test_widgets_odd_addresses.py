"""The public pages opened with odd addresses: garbage parameters, unknown ids, control
characters. Each page answers with its own content or message, never the failure message
(that is for the unexpected) and never an exception."""

from __future__ import annotations

import pytest

from aphos_lib.widgets.home import home_page
from aphos_lib.widgets.object_page import ObjectPage, object_page
from aphos_lib.widgets.profile import profile_page
from aphos_lib.widgets.search import search_page

pytestmark = pytest.mark.catalogue
GK_CEP, GK_CMP = "UCAC4:805-031770", "UCAC4:803-032417"

SEARCH = [
    "foo=bar&&&=x",
    "offset=-5&sort=bogus",
    "offset=99999999999999999999999",
    "ra=abc&dec=%00&radius=-1",
    "min_mag=nan&max_mag=inf",
    "name=%00",
    "catalog=%00",
    "id=%00",
    "name=%25%27%22%3C",
    "sort=-distance",
    "variable=%3Cscript%3E&comparison=x:y",
    "variable=UCAC4:999-999999&check=%00",
    "radius=1e308&ra=0&dec=0",
    "ra=23+59+59.9999&dec=-90&radius=180",
]
PROFILE = [
    "username=%3Cscript%3Ealert(1)%3C/script%3E",
    "username=%00",
    "username=",
    "username=novak&username=svoboda",
    "username=" + "x" * 5000,
    "foo=bar",
]
OBJECT = [
    f"variable={GK_CEP}&comparison={GK_CEP}",
    f"variable={GK_CEP}&comparison={GK_CMP}&comparison={GK_CMP}",
    f"variable={GK_CEP}&comparison={GK_CMP}&check={GK_CEP}",
    f"variable={GK_CEP}&comparison={GK_CMP}&check={GK_CMP}",
    f"variable={GK_CEP}&comparison={GK_CMP}&webgl=banana&exclude=%00&foo=bar",
    f"variable={GK_CEP}%00&comparison={GK_CMP}",
    "variable=%00:%00&comparison=a:b",
    f"variable={GK_CEP}&comparison={GK_CMP}&check=nonsense",
]


@pytest.fixture
def reader(demo_catalogue):
    with demo_catalogue.connect("reader", autocommit=True) as conn:
        yield conn


def _text(shown) -> str:
    return getattr(shown, "data", None) or str(shown)


@pytest.mark.parametrize("query", SEARCH)
def test_search_with_an_odd_address(reader, monkeypatch, query):
    monkeypatch.setenv("QUERY_STRING", query)
    shown = search_page(reader)
    assert "aphos-page-failure" not in _text(shown)


@pytest.mark.parametrize("query", PROFILE)
def test_profile_with_an_odd_address(reader, monkeypatch, query):
    monkeypatch.setenv("QUERY_STRING", query)
    text = profile_page(reader).data
    assert "aphos-page-failure" not in text and "<script>" not in text


def test_home_with_an_odd_address(reader, monkeypatch):
    monkeypatch.setenv("QUERY_STRING", "foo=bar&%3Cscript%3E=1&username=%00")
    assert "aphos-stats" in home_page(reader).data


@pytest.mark.parametrize("query", OBJECT)
def test_object_page_with_an_odd_address(reader, query):
    shown = object_page(query, conn=reader)
    assert isinstance(shown, ObjectPage) or "aphos-object-message" in shown._dom_classes, shown
