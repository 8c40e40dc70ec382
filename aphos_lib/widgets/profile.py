"""The public profile page of an observer: who they are and what they contributed."""

from __future__ import annotations

import datetime as dt
import html
import urllib.parse

from IPython.display import HTML

from aphos_lib import queries
from aphos_lib.observers import ObserverNotFound, get_observer, site_note, site_text
from aphos_lib.widgets.connection import reader
from aphos_lib.widgets.failsafe import failsafe_page
from aphos_lib.widgets.home import LINK_STYLE
from aphos_lib.widgets.urls import first, query_params

__all__ = ["OWNER_LINKS", "profile_page", "profile_summary"]

# Pages only the signed-in owner can use (the api service checks who they are), and the
# upload page in their own workspace, reached through the api service's entry, which asks
# for a username first when there is none yet.
# The api service's page of an observer shows its owner the upload log with report links.
UPLOAD_PAGE = "/services/api/upload"
OWNER_LINKS = [
    ("Edit your profile", "/services/api/profile"),
    ("Your upload log", "/services/api/observers/{username}"),
    ("Upload photometry", UPLOAD_PAGE),
]


def _when(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "none yet"


def profile_summary(conn, username: str) -> dict[str, object]:
    """What an observer's public page shows, as values (ObserverNotFound when unknown).

    ``first_upload``/``last_upload`` are when their first and last uploads were received;
    ``site`` is their site as text ("" when not given) and ``site_note`` what it changes in
    light curves.
    """
    observer = get_observer(conn, username)
    first_upload, last_upload = queries.observers.upload_span(observer.username).one(conn)
    return {
        "username": observer.username,
        "description": observer.description,
        "uploads": observer.uploads,
        "images": observer.images,
        "fluxes": observer.fluxes,
        "first_upload": first_upload,
        "last_upload": last_upload,
        "first_image": observer.first_image,
        "last_image": observer.last_image,
        "site": site_text(observer.longitude_deg, observer.latitude_deg, observer.height_m),
        "site_note": site_note(observer.longitude_deg, observer.latitude_deg),
    }


def _summary_html(s: dict[str, object]) -> str:
    counts = [
        ("Uploads", f"{s['uploads']:,}", "uploads"),
        ("Images", f"{s['images']:,}", "images"),
        ("Fluxes", f"{s['fluxes']:,}", "fluxes"),
        ("First upload", _when(s["first_upload"]), "first-upload"),
        ("Last upload", _when(s["last_upload"]), "last-upload"),
        (
            "Images taken",
            f"{_when(s['first_image'])} to {_when(s['last_image'])}"
            if s["first_image"]
            else "none yet",
            "nights",
        ),
        ("Site", s["site"] or "not given", "site"),
    ]
    rows = "".join(
        f'<tr class="aphos-profile-{key}"><th style="text-align:left;'
        f'padding-right:1em">{label}</th><td>{html.escape(value)}</td></tr>'
        for label, value, key in counts
    )
    description = html.escape(str(s["description"] or "")) or "<i>No description yet.</i>"
    name = urllib.parse.quote(str(s["username"]), safe="")
    owner = " · ".join(
        f'<a href="{href.format(username=name)}" target="_top" style="{LINK_STYLE}">{label}</a>'
        for label, href in OWNER_LINKS
    )
    return (
        f'<h2 class="aphos-profile-username">{html.escape(str(s["username"]))}</h2>'
        f'<p class="aphos-profile-description" style="max-width:50em;white-space:pre-wrap">'
        f"{description}</p><table class='aphos-profile-summary'>{rows}</table>"
        f'<p class="aphos-profile-site-note" style="max-width:50em">'
        f"{html.escape(str(s['site_note']))}</p>"
        f'<p class="aphos-profile-owner">Is this you? (sign-in needed) {owner}</p>'
        f'<p><a href="search.ipynb" target="_top" style="{LINK_STYLE}">Search the '
        "catalogue</a></p>"
    )


@failsafe_page("profile.ipynb")
def profile_page(conn=None, username: str | None = None) -> HTML:
    """The profile of ``username`` (default: the page address's ``username=``), as HTML.

    An unknown or missing username gives a page that says so. Plain HTML, not widgets:
    nothing on it changes. ``conn`` defaults to
    :func:`aphos_lib.widgets.connection.reader`. Never raises (see
    :func:`~aphos_lib.widgets.failsafe.failsafe_page`).
    """
    if conn is None:
        conn = reader()
    if username is None:
        username = first(query_params(), "username", "")
    if not username:
        body = (
            '<p class="aphos-profile-missing">Give an observer\'s name in the address: '
            "<code>profile.ipynb?username=NAME</code>.</p>"
        )
    else:
        try:
            body = _summary_html(profile_summary(conn, username))
        except ObserverNotFound:
            body = (
                f'<p class="aphos-profile-not-found">No observer is called '
                f"<b>{html.escape(username)}</b>.</p>"
            )
    return HTML(f'<div class="aphos-profile">{body}</div>')
