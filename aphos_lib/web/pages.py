"""The few HTML pages of the api service: the profile form and public profiles.

Plain, escaped HTML with stable ids for tests and browsers; no template engine needed.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from urllib.parse import quote

from aphos_lib.observers import SITE_FIELDS, Observer, site_note, site_text
from aphos_lib.theme import html_page
from aphos_lib.uploads.status import LOG_REJECTED_ROWS
from aphos_lib.web.profiles import SITE_KEYS

__all__ = [
    "HOME_PAGE",
    "LOG_UPLOADS",
    "NEXT_PAGES",
    "UPLOAD_PAGE",
    "known_next_page",
    "page",
    "profile_form",
    "public_profile_page",
    "upload_log_html",
]

HOME_PAGE = "/services/dashboards/"
# The upload page runs in the observer's own server. Through the hub's spawn page: a server
# that is not running yet is started (with the hub's progress page) and the observer goes on
# to the upload page, instead of the hub's "server not running" page (424) with a button.
UPLOAD_PAGE = "/hub/spawn?next=" + quote(
    "/hub/user-redirect/voila/render/dashboards/upload.ipynb", safe=""
)
# Where the profile form may send the observer once a username is chosen (``next=``): names,
# never addresses, so that no link can make the form redirect anywhere else.
NEXT_PAGES = {"upload": UPLOAD_PAGE}
# The uploads the log on a page shows, newest first (each with every file); the API pages
# through all of them.
LOG_UPLOADS = 50


def known_next_page(value: str | None) -> str:
    """``value`` when it names one of :data:`NEXT_PAGES`, else "" (anything else is ignored).

    Examples
    --------
    >>> known_next_page("upload"), known_next_page("https://elsewhere.example/")
    ('upload', '')
    """
    return value if value in NEXT_PAGES else ""


def page(
    title: str, body: str, *, current: str | None = None, signed_in: bool | None = True
) -> str:
    """A complete page with the site's header and look (:func:`aphos_lib.theme.html_page`).

    ``signed_in`` defaults to True: most of these pages are only shown to a signed-in
    observer. ``body`` is HTML its caller has escaped.
    """
    return html_page(
        title, f"<h1>{escape(title)}</h1>\n{body}", current=current, signed_in=signed_in
    )


def profile_form(
    prefix: str,
    xsrf: str,
    profile: Observer | None,
    *,
    username: str = "",
    description: str = "",
    site: dict[str, str] | None = None,
    error: str = "",
    next_page: str = "",
    log: tuple[int, list[dict]] | None = None,
) -> str:
    """The form where an observer chooses (first sign-in) or edits their public profile.

    Parameters
    ----------
    username, description, site : str, dict
        What the form shows instead of the saved profile (an input refused, shown again):
        ``site`` maps :data:`aphos_lib.web.profiles.SITE_KEYS` to their text.
    next_page : str
        A key of :data:`NEXT_PAGES`: the form says why a username is needed first, offers a
        way back, and saving continues there (e.g. ``upload``: the upload page).
    log : (int, list of dict), optional
        The observer's upload log (:func:`aphos_lib.uploads.status.list_uploads` with
        ``files=True``: how many uploads in all, the latest), shown below the form.
    """
    if profile is not None and not username:
        username, description = profile.username, profile.description
    site = {k: (site or {}).get(k, _number(getattr(profile, k, None))) for k in SITE_KEYS}
    next_page = known_next_page(next_page)
    if profile is None and next_page == "upload":
        intro = (
            "Before you upload photometry, choose the public username other observers "
            "will see beside your uploads. It is unique (whatever the case) and you can "
            "change it later. Saving takes you on to the upload page. "
            f'<a id="profile-back" href="{HOME_PAGE}">Not now: back to the home '
            "page</a>."
        )
    elif profile is None:
        intro = (
            "Choose the public username other observers will see beside your uploads. "
            "It is unique (whatever the case) and you can change it later."
        )
    else:
        public = f"{prefix}observers/{profile.username}"
        intro = (
            f'Your public profile (<a id="profile-public" href="{escape(public)}">as '
            "others see it</a>) and your upload log."
        )
    error_html = f'<p class="error" id="profile-error">{escape(error)}</p>' if error else ""
    next_field = (
        f'<input type="hidden" name="next" value="{escape(next_page)}">' if next_page else ""
    )
    own_log = (
        f"<h2>Your upload log</h2>{upload_log_html(*log, prefix)}"
        if profile is not None and log is not None
        else ""
    )
    return page(
        "Your APhoS profile" if profile is None else f"Profile of {profile.username}",
        current="profile",
        body=f"""<p id="profile-intro">{intro}</p>{error_html}
<form method="post" action="{escape(prefix)}profile" id="profile-form">
<input type="hidden" name="_xsrf" value="{escape(xsrf)}">{next_field}
<p><label>Username <input name="username" id="username" required value="{escape(username)}"
  pattern="[A-Za-z][A-Za-z0-9_.\\-]{{1,31}}" maxlength="32"></label>
  (2-32 characters: a letter, then letters, digits, _ . -)</p>
<p><label>Description<br><textarea name="description" id="description" rows="4" cols="60"
  maxlength="2000">{escape(description)}</textarea></label></p>
{_site_fields(site)}
<p><button type="submit" id="save-profile">Save</button></p>
</form>{own_log}""",
    )


def _number(value: float | None) -> str:
    """A saved number as a form shows it again (all its digits); "" for None."""
    return "" if value is None else repr(float(value))


# Each site field's label and input bounds (the server checks them again).
_SITE_LABELS = {
    "longitude_deg": "Longitude (°, east positive)",
    "latitude_deg": "Latitude (°, north positive)",
    "height_m": "Height (m)",
}


def _site_fields(site: dict[str, str]) -> str:
    """The site's three optional inputs, with what they are for."""
    inputs = "".join(
        f'<label>{_SITE_LABELS[name]} <input name="{name}" id="{name}" type="number" '
        f'step="any" min="{low:g}" max="{high:g}" size="10" '
        f'value="{escape(site.get(name, ""))}"></label> '
        for name, _, low, high in SITE_FIELDS
    )
    return (
        f'<fieldset id="site"><legend>Your site (optional)</legend><p>{inputs}</p>'
        '<p class="muted">Light curves of your images give BJD_TDB computed at your site '
        "when it has a longitude and a latitude, else at the Earth's centre (within "
        "21.3 ms); your nights run from local noon at the longitude. Leave a field empty to "
        "clear it.</p></fieldset>"
    )


def _when(value: str | dt.datetime | None) -> str:
    """A time of the log (ISO 8601 or a datetime, with its offset) as ``YYYY-MM-DD HH:MM UTC``.

    Examples
    --------
    >>> _when("2026-12-05T08:59:30+01:00")
    '2026-12-05 07:59 UTC'
    """
    if not value:
        return ""
    when = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _plural(n: int, word: str, plural: str = "") -> str:
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


def _rejected_rows(f: dict) -> str:
    """What became of a file beyond its counts: its error, its first rejected rows."""
    parts = []
    if f["error"]:
        # The ingest names the file in its error (for logs and the command line); here the
        # file's row names it already.
        error = f["error"].removeprefix(f"{f['filename']}: ")
        parts.append(f"<p class='file-error'>{escape(error)}</p>")
    if f["rejected_rows"]:
        rows = "".join(
            f"<li><span class='line'>line {int(r['line']):,}</span>: "
            f"{escape(str(r['reason']))}</li>"
            for r in f["rejected_rows"]
        )
        more = f["rejected_count"] - len(f["rejected_rows"])
        more_html = (
            f"<li class='more'>and {_plural(more, 'more row')} rejected</li>" if more > 0 else ""
        )
        parts.append(f"<ul class='rejected-rows'>{rows}{more_html}</ul>")
    return "".join(parts)


def _files_table(files: list[dict]) -> str:
    rows = []
    for f in files:
        status = f["status"] or "waiting"
        rows.append(
            f"<tr class='file file-{escape(status)}'><td class='num'>{f['position'] + 1}</td>"
            f"<td class='filename'>{escape(f['filename'] or '')}</td>"
            f"<td class='outcome'>{escape(status)}</td><td class='num'>{f['fluxes']:,}</td>"
            f"<td class='num'>{f['matched']:,}</td><td class='num'>{f['unmatched']:,}</td>"
            f"<td class='num'>{f['new_sources']:,}</td>"
            f"<td class='num'>{f['rejected_count']:,}</td></tr>"
        )
        detail = _rejected_rows(f)
        if detail:
            rows.append(f"<tr class='file-detail'><td></td><td colspan='7'>{detail}</td></tr>")
    return (
        "<table class='upload-files'><colgroup><col class='c-pos'><col class='c-name'>"
        "<col class='c-outcome'><col class='c-n'><col class='c-n'><col class='c-n'>"
        "<col class='c-n'><col class='c-n'></colgroup><thead><tr><th class='num'>#</th>"
        "<th>File</th><th>Outcome</th><th class='num'>Fluxes</th><th class='num'>Matched</th>"
        "<th class='num'>Unmatched</th>"
        "<th class='num' title='APhoS sources the file founded: unmatched rows where no "
        "source was yet'>New sources</th><th class='num'>Rejected rows</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _upload_html(u: dict, prefix: str, *, open_: bool) -> str:
    # The job's state while it waits, runs or has failed; then what became of the upload
    # (stored, partial, rejected).
    state = u["state"] if u["job_state"] in (None, "done") else u["job_state"]
    total = u["files_total"]
    counts = [
        f"{u['stored']:,} stored",
        _plural(u["duplicates"], "duplicate"),
        f"{u['rejected']:,} rejected",
    ]
    progress = f" ({u['files_done']:,} of {total:,} done)" if state in ("queued", "running") else ""
    summary = (
        f"<span class='upload-title'>Upload {u['id']}</span>"
        f"<span class='upload-when'>{_when(u['created_at'])}</span>"
        f"<span class='upload-state state-{escape(state)}'>{escape(state)}</span>"
        f"<span class='upload-counts'>{_plural(total, 'file')}{progress}: "
        f"{', '.join(counts)}</span>"
        f"<span class='upload-fluxes'>{_plural(u['fluxes'], 'flux', 'fluxes')}</span>"
        + (
            f"<span class='upload-rows'>{_plural(u['rejected_rows'], 'row')} rejected</span>"
            if u["rejected_rows"]
            else ""
        )
    )
    report = (
        f"<a class='upload-report' href='{escape(prefix)}api/v2/uploads/{u['id']}"
        "/report?format=html'>Job report</a> (what the job did with each file)"
        if u["has_report"]
        else "<span class='muted'>No job report yet.</span>"
    )
    # The job's own error; the files' errors are in their rows, not repeated here.
    job_error = (
        f"<p class='error upload-error'>{escape(u['job_error'])}</p>" if u.get("job_error") else ""
    )
    files = _files_table(u["files"]) if u.get("files") else "<p class='muted'>No files.</p>"
    return (
        f"<details class='upload upload-{escape(u['state'])}' id='upload-{u['id']}'"
        f"{' open' if open_ else ''}><summary>{summary}</summary>"
        f"<div class='upload-body'><p class='upload-links'>{report}</p>{job_error}{files}"
        "</div></details>"
    )


def upload_log_html(total: int, entries: list[dict], prefix: str = "/services/api/") -> str:
    """The owner's upload log: one collapsible entry per upload, the newest open.

    Each entry's summary gives the upload's time, state, files and their stored, duplicate
    and rejected counts; inside are the link to the job's report and each file's outcome
    with its counts and its first rejected rows (line and reason, with how many in all).

    Parameters
    ----------
    total : int
        How many uploads the observer has (the log says when it shows fewer).
    entries : list of dict
        The latest, from :func:`aphos_lib.uploads.status.list_uploads` with ``files=True``.
    prefix : str
        The api service's address.
    """
    if not entries:
        return "<p id='upload-log'>You have not uploaded anything yet.</p>"
    uploads = "".join(_upload_html(u, prefix, open_=i == 0) for i, u in enumerate(entries))
    shown = (
        f"The latest {len(entries):,} of your {total:,} uploads (all of them: "
        f"<code>GET {escape(prefix)}api/v2/uploads</code>). "
        if total > len(entries)
        else ""
    )
    note = (
        f"<p class='muted'>{shown}Open an upload to see its files; a file's first "
        f"{LOG_REJECTED_ROWS} rejected rows are listed with their line in the file.</p>"
    )
    return f"<div id='upload-log' class='upload-log'>{note}{uploads}</div>"


def _site_html(profile: Observer) -> str:
    """The site on a public profile, with what it changes in light curves."""
    lon, lat, height = profile.longitude_deg, profile.latitude_deg, profile.height_m
    where = escape(site_text(lon, lat, height)) or "<em>not given</em>"
    return (
        f"<p id='site'>Site: <span id='site-value'>{where}</span></p>"
        f"<p id='site-note' class='muted'>{escape(site_note(lon, lat))}</p>"
    )


def public_profile_page(
    profile: Observer,
    *,
    own: bool,
    log: tuple[int, list[dict]] | None = None,
    signed_in: bool | None = None,
) -> str:
    """An observer's public page: username, description, site and their uploads' counts.

    Parameters
    ----------
    own : bool
        The signed-in observer is this one: a link to edit the profile, and ``log`` (their
        upload log, :func:`upload_log_html`) in place of the public list of uploads.
    signed_in : bool or None
        Whether the visitor is signed in (the header's "Sign in" or "Sign out").
    """
    rows = "".join(
        f"<tr><td class='num'>{u['id']}</td><td>{_when(u['created_at'])}</td>"
        f"<td>{escape(u['state'])}</td><td class='num'>{u['stored']:,} / {u['files']:,}</td>"
        f"<td class='num'>{u['fluxes']:,}</td></tr>"
        for u in profile.recent_uploads
    )
    uploads = (
        f"<table id='uploads'><tr><th class='num'>Upload</th><th>When</th><th>State</th>"
        f"<th class='num'>Files stored</th><th class='num'>Fluxes</th></tr>{rows}</table>"
        if rows
        else "<p id='uploads'>No uploads yet.</p>"
    )
    edit = '<p><a href="/services/api/profile">Edit your profile</a></p>' if own else ""
    t = profile.upload_totals
    totals = (
        f"<p id='upload-totals'>{_plural(t['uploads'], 'upload')}, "
        f"{_plural(t['files'], 'file')}: {t['stored']:,} stored, "
        f"{_plural(t['duplicates'], 'duplicate')}, {t['rejected']:,} rejected; "
        f"{_plural(t['fluxes'], 'flux', 'fluxes')}.</p>"
        if t
        else ""
    )
    if own and log is not None:
        listing = (
            "<p class='muted'>Others see the counts of each upload; the files, rejected "
            f"rows and job reports below are yours alone.</p>"
            f"<h2>Your upload log</h2>{upload_log_html(*log)}"
        )
    else:
        listing = uploads
    description = escape(profile.description) or "<em>No description.</em>"
    return page(
        profile.username,
        f"<p id='description' class='description'>{description}</p>"
        f"{_site_html(profile)}{edit}<h2>Uploads</h2>{totals}{listing}",
        current="profile" if own else None,
        signed_in=signed_in,
    )
