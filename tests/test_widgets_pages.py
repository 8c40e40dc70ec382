"""The home and profile pages' content without a browser, against the catalogue's own SQL."""

from __future__ import annotations

import datetime as dt

import pytest

from aphos_lib.observers import site_text
from aphos_lib.stats import catalogue_stats
from aphos_lib.widgets.home import LINK_STYLE, LINKS, home_page, stats_table
from aphos_lib.widgets.profile import profile_page, profile_summary

pytestmark = pytest.mark.catalogue


@pytest.fixture
def reader(demo_catalogue):
    with demo_catalogue.connect("reader", autocommit=True) as conn:
        yield conn


def test_home_shows_the_counts_and_every_link(reader):
    stats = catalogue_stats(reader)
    text = home_page(reader).data
    assert stats_table(stats) in text and f"{stats['fluxes']:,}" in text
    assert all(f'href="{href}"' in text for _, href, _ in LINKS)
    (svoboda_images,) = reader.execute(
        "SELECT count(*) FROM image i JOIN observer o ON o.id = i.observer_id"
        " WHERE o.username = 'svoboda'"
    ).fetchone()
    assert (
        f'href="profile.ipynb?username=svoboda" target="_top" style="{LINK_STYLE}">svoboda</a>'
        f" ({svoboda_images:,} images)" in text
    )


def test_profile_summary_is_what_sql_counts(reader):
    images, fluxes, first_image = reader.execute(
        "SELECT count(*), sum(flux_count), min(exposure_mid) FROM image i JOIN observer o"
        " ON o.id = i.observer_id WHERE o.username = 'kowalski'"
    ).fetchone()
    summary = profile_summary(reader, "Kowalski")
    assert (summary["username"], summary["images"], summary["fluxes"], summary["uploads"]) == (
        "kowalski",
        images,
        fluxes,
        1,
    )
    assert summary["first_image"] == first_image
    assert isinstance(summary["first_upload"], dt.datetime)
    assert summary["first_upload"] == summary["last_upload"]
    html = profile_page(reader, "kowalski").data
    assert f"<td>{fluxes:,}</td>" in html and "No description yet." in html
    # The demo observers have their sites: BJD_TDB is computed there.
    site = reader.execute(
        "SELECT longitude_deg, latitude_deg, height_m FROM observer WHERE username = 'kowalski'"
    ).fetchone()
    assert None not in site and summary["site"] == site_text(*site)
    assert f"<td>{summary['site']}</td>" in html and "computed at this site" in html


def test_unknown_or_missing_username(reader, monkeypatch):
    unknown = profile_page(reader, "<script>").data
    assert "aphos-profile-not-found" in unknown
    assert "&lt;script&gt;" in unknown and "<script>" not in unknown
    monkeypatch.setenv("QUERY_STRING", "")
    assert "aphos-profile-missing" in profile_page(reader).data
    monkeypatch.setenv("QUERY_STRING", "username=novak")
    assert ">novak</h2>" in profile_page(reader).data
