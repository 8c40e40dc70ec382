"""The home and about page: what APhoS is, what it holds, and where everything is."""

from __future__ import annotations

import html

from IPython.display import HTML

from aphos_lib import queries
from aphos_lib.stats import catalogue_stats
from aphos_lib.widgets.connection import reader
from aphos_lib.widgets.failsafe import failsafe_page
from aphos_lib.widgets.urls import page_link

__all__ = ["LINKS", "LINK_STYLE", "home_page", "observers_list", "stats_table"]

# Voila's theme draws links like plain text; an HTML widget's links need their own colour.
LINK_STYLE = "color:#1a5fb4;text-decoration:underline"

# (label, address, what it is). Dashboards are linked relatively; hub and service pages by
# absolute path, as the hub serves them (sign-in, workspace and api service). The sign-in
# says nothing of how: the hub's login page says whether it is Google or the local demo's.
LINKS = [
    (
        "Search the catalogue",
        "search.ipynb",
        "find stars by position, name, magnitude or catalogue id, then open a light curve",
    ),
    (
        "Upload photometry",
        "/services/api/upload",
        "send your SIPS exports to the archive (in your own workspace; sign-in needed)",
    ),
    (
        "Your profile",
        "/services/api/profile",
        "your public username, description and upload log (sign-in needed)",
    ),
    (
        "Shared notebooks",
        "/hub/user-redirect/lab/tree/shared-notebooks",
        "analysis notebooks to start from, in your workspace (sign-in needed)",
    ),
    (
        "Published notebooks",
        "/services/api/published",
        "notebooks observers chose to publish, readable by anyone",
    ),
    (
        "API documentation",
        "/services/api/api/docs",
        "the REST API (OpenAPI): search, light curves and downloads from any program",
    ),
    ("Sign in", "/hub/login", "to upload, keep a profile and run notebooks in a workspace"),
]

ABOUT = (
    "APhoS, the Amateur Photometric Survey, is an archive of photometry of variable stars "
    "measured by amateur observers. Every observer uploads the fluxes of all stars in their "
    "images; anyone can then pick a variable and comparison stars and get a differential "
    "light curve from every observer's data, without an account."
)


def stats_table(stats: dict[str, int]) -> str:
    """The catalogue's counts as an HTML table, one row per count (``aphos-stat-<name>``).

    Examples
    --------
    >>> "1,987" in stats_table({"objects": 1987})
    True
    """
    rows = "".join(
        f'<tr class="aphos-stat aphos-stat-{name}"><th style="text-align:left;padding-right:1em">'
        f'{html.escape(name.capitalize())}</th><td style="text-align:right" '
        f'data-value="{value}">{value:,}</td></tr>'
        for name, value in stats.items()
    )
    return f'<table class="aphos-stats">{rows}</table>'


def _links() -> str:
    items = "".join(
        f'<li><a class="aphos-link" href="{html.escape(href)}" target="_top" style="{LINK_STYLE}">'
        f"{html.escape(label)}</a>: {html.escape(what)}</li>"
        for label, href, what in LINKS
    )
    return f'<ul class="aphos-links">{items}</ul>'


def observers_list(conn, limit: int = 50) -> str:
    """Links to the profiles of the observers with the most images (at most ``limit``)."""
    rows = queries.observers.by_images(limit).rows(conn)
    profile = lambda name: html.escape(page_link("profile.ipynb", {"username": name}))  # noqa: E731
    items = ", ".join(
        f'<a class="aphos-observer" href="{profile(u)}" target="_top" style="{LINK_STYLE}">'
        f"{html.escape(u)}</a> ({n:,} images)"
        for u, n in rows
    )
    return f'<p class="aphos-observers" style="max-width:50em">{items or "None yet."}</p>'


@failsafe_page("index.ipynb")
def home_page(conn=None) -> HTML:
    """The home page: about APhoS, the catalogue's counts and links to every part.

    Plain HTML, not widgets: nothing on it changes, and so the page's HTML itself holds the
    counts (no widget state to fetch over the kernel's websocket). Never raises (see
    :func:`~aphos_lib.widgets.failsafe.failsafe_page`).

    Parameters
    ----------
    conn : psycopg.Connection, optional
        A connection to the catalogue (the reader role is enough); by default
        :func:`aphos_lib.widgets.connection.reader`.
    """
    if conn is None:
        conn = reader()
    stats = catalogue_stats(conn)
    return HTML(
        f'<div class="aphos-home"><p style="max-width:50em">{html.escape(ABOUT)}</p>'
        f"<h3>The archive holds</h3>{stats_table(stats)}"
        f"<h3>Where to go</h3>{_links()}"
        f"<h3>Observers</h3>{observers_list(conn)}</div>"
    )
