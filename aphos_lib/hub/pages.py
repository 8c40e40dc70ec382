"""The few HTML pages of the api service: the profile form and public profiles.

Plain, escaped HTML with stable ids for tests and browsers; no template engine needed.
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from aphos_lib.hub.profiles import Profile

__all__ = ["HOME_PAGE", "NEXT_PAGES", "UPLOAD_PAGE", "known_next_page", "page",
           "profile_form", "public_profile_page", "upload_log_html"]

HOME_PAGE = "/services/dashboards/"
# The upload page runs in the observer's own server. Through the hub's spawn page: a server
# that is not running yet is started (with the hub's progress page) and the observer goes on
# to the upload page, instead of the hub's "server not running" page (424) with a button.
UPLOAD_PAGE = ("/hub/spawn?next="
               + quote("/hub/user-redirect/voila/render/dashboards/upload.ipynb", safe=""))
# Where the profile form may send the observer once a username is chosen (``next=``): names,
# never addresses, so that no link can make the form redirect anywhere else.
NEXT_PAGES = {"upload": UPLOAD_PAGE}


def known_next_page(value: str | None) -> str:
    """``value`` when it names one of :data:`NEXT_PAGES`, else "" (anything else is ignored).

    Examples
    --------
    >>> known_next_page("upload"), known_next_page("https://elsewhere.example/")
    ('upload', '')
    """
    return value if value in NEXT_PAGES else ""


def page(title: str, body: str) -> str:
    """A complete page with the platform's navigation."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)} - APhoS</title>
<style>body{{font-family:sans-serif;max-width:50em;margin:2em auto;padding:0 1em}}
.error{{color:#a00}} table{{border-collapse:collapse}} td,th{{padding:.2em .6em;
border-bottom:1px solid #ddd;text-align:left}}</style></head>
<body><nav><a href="/hub/home">Workspace</a> | <a href="/services/dashboards/">Dashboards</a>
| <a href="/services/api/profile">My profile</a></nav>
<h1>{escape(title)}</h1>
{body}
</body></html>"""


def profile_form(prefix: str, xsrf: str, profile: Profile | None, *, username: str = "",
                 description: str = "", error: str = "", next_page: str = "",
                 log: list[dict] | None = None) -> str:  # fmt: skip
    """The form where an observer chooses (first sign-in) or edits their public profile.

    Parameters
    ----------
    next_page : str
        A key of :data:`NEXT_PAGES`: the form says why a username is needed first, offers a
        way back, and saving continues there (e.g. ``upload``: the upload page).
    log : list of dict, optional
        The observer's upload log (:func:`aphos_lib.uploads.status.list_uploads`), shown
        below the form.
    """
    if profile is not None and not username:
        username, description = profile.username, profile.description
    next_page = known_next_page(next_page)
    if profile is None and next_page == "upload":
        intro = ("Before you upload photometry, choose the public username other observers "
                 "will see beside your uploads. It is unique (whatever the case) and you can "
                 "change it later. Saving takes you on to the upload page. "
                 f'<a id="profile-back" href="{HOME_PAGE}">Not now: back to the home '
                 "page</a>.")  # fmt: skip
    elif profile is None:
        intro = ("Choose the public username other observers will see beside your uploads. "
                 "It is unique (whatever the case) and you can change it later.")  # fmt: skip
    else:
        public = f"{prefix}observers/{profile.username}"
        intro = (f'Your public profile (<a id="profile-public" href="{escape(public)}">as '
                 "others see it</a>) and your upload log.")  # fmt: skip
    error_html = f'<p class="error" id="profile-error">{escape(error)}</p>' if error else ""
    next_field = (f'<input type="hidden" name="next" value="{escape(next_page)}">'
                  if next_page else "")  # fmt: skip
    own_log = (f"<h2>Your upload log</h2>{upload_log_html(log, prefix)}"
               if profile is not None and log is not None else "")  # fmt: skip
    return page(
        "Your APhoS profile" if profile is None else f"Profile of {profile.username}",
        f"""<p id="profile-intro">{intro}</p>{error_html}
<form method="post" action="{escape(prefix)}profile" id="profile-form">
<input type="hidden" name="_xsrf" value="{escape(xsrf)}">{next_field}
<p><label>Username <input name="username" id="username" required value="{escape(username)}"
  pattern="[A-Za-z][A-Za-z0-9_.\\-]{{1,31}}" maxlength="32"></label>
  (2-32 characters: a letter, then letters, digits, _ . -)</p>
<p><label>Description<br><textarea name="description" id="description" rows="4" cols="60"
  maxlength="2000">{escape(description)}</textarea></label></p>
<p><button type="submit" id="save-profile">Save</button></p>
</form>{own_log}""",
    )


def upload_log_html(entries: list[dict], prefix: str = "/services/api/") -> str:
    """The owner's upload log: each upload's time, files, counts, messages and report link."""
    if not entries:
        return "<p id='upload-log'>You have not uploaded anything yet.</p>"
    rows = []
    for u in entries:
        report = (f"<a class='upload-report' href='{escape(prefix)}api/v2/uploads/{u['id']}"
                  "/report?format=html'>report</a>" if u["has_report"] else "")  # fmt: skip
        messages = "".join(f"<li>{escape(m)}</li>" for m in u["messages"])
        rows.append(
            f"<tr class='upload-{escape(u['state'])}'><td>{u['id']}</td>"
            f"<td>{escape(str(u['created_at']))[:19].replace('T', ' ')}</td>"
            f"<td>{escape(u['job_state'] or u['state'])}</td>"
            f"<td>{u['files_done']} / {u['files_total']}</td><td>{u['stored']}</td>"
            f"<td>{u['duplicates']}</td><td>{u['rejected']}</td><td>{u['fluxes']:,}</td>"
            f"<td>{u['rejected_rows']}</td><td><ul>{messages}</ul></td><td>{report}</td></tr>"
        )
    return ("<table id='upload-log'><tr><th>upload</th><th>when (UTC)</th><th>state</th>"
            "<th>files done</th><th>stored</th><th>duplicates</th><th>rejected files</th>"
            "<th>fluxes</th><th>rejected rows</th><th>messages</th><th>job</th></tr>"
            f"{''.join(rows)}</table>")  # fmt: skip


def public_profile_page(profile: Profile, *, own: bool, log: list[dict] | None = None) -> str:
    """An observer's public page: username, description and uploads.

    With ``log`` (the owner's own page) it also shows the upload log with messages and links
    to each job's report.
    """
    rows = "".join(
        f"<tr><td>{u['id']}</td><td>{escape(str(u['created_at']))[:19]}</td>"
        f"<td>{escape(u['state'])}</td><td>{u['stored']} / {u['files']}</td>"
        f"<td>{u['fluxes']:,}</td></tr>"
        for u in profile.uploads
    )
    uploads = (
        f"<table id='uploads'><tr><th>upload</th><th>when (UTC)</th><th>state</th>"
        f"<th>files stored</th><th>fluxes</th></tr>{rows}</table>"
        if rows else "<p id='uploads'>No uploads yet.</p>"
    )  # fmt: skip
    edit = '<p><a href="/services/api/profile">Edit your profile</a></p>' if own else ""
    t = profile.totals
    totals = (f"<p id='upload-totals'>{t['uploads']} uploads, {t['files']} files: "
              f"{t['stored']} stored, {t['duplicates']} duplicates, {t['rejected']} rejected; "
              f"{t['fluxes']:,} fluxes.</p>" if t else "")  # fmt: skip
    own_log = f"<h2>Your upload log</h2>{upload_log_html(log)}" if own and log is not None else ""
    return page(
        profile.username,
        f"<p id='description'>{escape(profile.description) or '<em>No description.</em>'}</p>"
        f"{edit}<h2>Uploads</h2>{totals}{uploads}{own_log}",
    )
