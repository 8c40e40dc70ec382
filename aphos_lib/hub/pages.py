"""The few HTML pages of the api service: the profile form and public profiles.

Plain, escaped HTML with stable ids for tests and browsers; no template engine needed.
"""

from __future__ import annotations

from html import escape

from aphos_lib.hub.profiles import Profile

__all__ = ["page", "profile_form", "public_profile_page", "upload_log_html"]


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
                 description: str = "", error: str = "") -> str:  # fmt: skip
    """The form where an observer chooses (first sign-in) or edits their public profile."""
    if profile is not None and not username:
        username, description = profile.username, profile.description
    intro = ("Choose the public username other observers will see beside your uploads. "
             "It is unique (whatever the case) and you can change it later."
             if profile is None else "Your public profile.")  # fmt: skip
    error_html = f'<p class="error" id="profile-error">{escape(error)}</p>' if error else ""
    return page(
        "Your APhoS profile" if profile is None else f"Profile of {profile.username}",
        f"""<p>{intro}</p>{error_html}
<form method="post" action="{escape(prefix)}profile" id="profile-form">
<input type="hidden" name="_xsrf" value="{escape(xsrf)}">
<p><label>Username <input name="username" id="username" required value="{escape(username)}"
  pattern="[A-Za-z][A-Za-z0-9_.\\-]{{1,31}}" maxlength="32"></label>
  (2-32 characters: a letter, then letters, digits, _ . -)</p>
<p><label>Description<br><textarea name="description" id="description" rows="4" cols="60"
  maxlength="2000">{escape(description)}</textarea></label></p>
<p><button type="submit" id="save-profile">Save</button></p>
</form>""",
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
