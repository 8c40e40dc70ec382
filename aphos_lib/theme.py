"""One look for every page: the site's stylesheet and its header with the navigation.

The dashboards (Voila), the api service's pages and the hub's own pages (its Jinja templates,
through ``template_vars``) all use :data:`THEME_CSS` and :func:`site_header`, so that a visitor
sees one site: the APhoS name, the same navigation, links that look like links, the same font
and colours, and content no wider than a page can be read at.

Plain strings, no dependencies: every layer may import this module.

Examples
--------
>>> header = site_header("search", signed_in=False)
>>> 'aria-current="page"' in header and ">Sign in</a>" in header
True
>>> html_page("Signed in", "<p>Done.</p>").startswith("<!doctype html>")
True
"""

from __future__ import annotations

from html import escape

__all__ = ["DASHBOARDS", "NAVIGATION", "THEME_CSS", "html_page", "site_header", "theme_style"]

#: Where the public dashboards are rendered behind the hub (absolute: the api service's and
#: the hub's pages, and the upload page in an observer's own server, link to them).
DASHBOARDS = "/services/dashboards/voila/render/"

#: The header's links: (key, label, address). A dashboard's address is relative to
#: ``dashboards`` in :func:`site_header`; the others are absolute paths of the platform.
NAVIGATION = [
    ("search", "Search", "search.ipynb"),
    ("variables", "Find variables", "variables.ipynb"),
    ("profile", "My profile", "/services/api/profile"),
    ("upload", "Upload", "/services/api/upload"),
    ("api-docs", "API docs", "/services/api/api/docs"),
]

# The colours of the original APhoS pages' Bootstrap look: a dark header, blue links.
_LINK, _VISITED, _TEXT, _MUTED, _LINE = "#1a5fb4", "#613583", "#212529", "#5e6670", "#dee2e6"
# The pages the theme styles as a whole: Voila's, the api service's and the hub's (the ones
# whose body starts with the header). A dashboard opened in JupyterLab keeps JupyterLab's look.
_PAGE = "body[data-voila], body:has(> .aphos-header)"
_FONT = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans", '
    '"Liberation Sans", Arial, sans-serif'
)

#: The site's stylesheet. Selectors are scoped to the site's own classes where a page
#: (JupyterLab's widgets in Voila, Bootstrap in the hub) has its own rules for the same
#: elements; the link colours are set on every link because both draw them otherwise.
THEME_CSS = f"""
:root {{ --aphos-link: {_LINK}; --aphos-text: {_TEXT}; --aphos-muted: {_MUTED};
  --aphos-line: {_LINE}; --aphos-font: {_FONT}; }}
{_PAGE} {{ font-family: var(--aphos-font); color: var(--aphos-text);
  --jp-ui-font-family: var(--aphos-font); --jp-content-font-family: var(--aphos-font); }}
:is({_PAGE}) a:where(:link, :visited):not(.btn) {{
  color: var(--aphos-link); text-decoration: underline; }}
:is({_PAGE}) a:where(:hover):not(.btn) {{ color: #0b3d78; }}
body.aphos-page {{ margin: 0; background: #fff; }}
.aphos-header {{ background: #24292f; color: #fff; max-width: 1200px; margin: 16px auto 1.2em;
  border-radius: 6px; font-size: 15px; line-height: 1.4; }}
.aphos-header-inner {{ padding: .55em 1em; display: flex;
  flex-wrap: wrap; align-items: center; gap: .3em 1.4em; box-sizing: border-box; }}
/* Above the page-wide link colour: more specific (a hub button keeps its own). */
body header.aphos-header a:is(:link, :visited) {{ color: #fff; text-decoration: underline;
  text-underline-offset: .2em; }}
body header.aphos-header a.aphos-brand {{ font-weight: 700; font-size: 1.25em;
  text-decoration: none; letter-spacing: .02em; margin-right: .6em; }}
.aphos-header a.aphos-brand span {{ font-weight: 400; font-size: .75em; opacity: .8; }}
.aphos-header nav {{ flex: 1; }}
header.aphos-header ul.aphos-nav {{ display: flex; flex-wrap: wrap; gap: .3em 1.2em;
  margin: 0; padding: 0; list-style: none; }}
header.aphos-header ul.aphos-nav li {{ margin: 0; padding: 0; }}
body header.aphos-header a[aria-current="page"] {{ font-weight: 700;
  text-decoration-thickness: 2px; }}
.aphos-account {{ margin-left: auto; }}
.aphos-content {{ max-width: 1200px; margin: 0 auto; padding: 0 1em 2em;
  box-sizing: border-box; font-size: 15px; line-height: 1.5; }}
.aphos-content p, .aphos-content li, .aphos-content label {{ max-width: 50em; }}
.aphos-content h1 {{ font-size: 1.8em; font-weight: 500; margin: .4em 0 .6em; }}
.aphos-content h2 {{ font-size: 1.35em; font-weight: 500; margin: 1.4em 0 .5em; }}
.aphos-content table {{ border-collapse: collapse; }}
.aphos-content th, .aphos-content td {{ padding: .25em .6em; border-bottom: 1px solid
  var(--aphos-line); text-align: left; vertical-align: top; }}
.aphos-content .num {{ text-align: right; font-variant-numeric: tabular-nums; }}
.aphos-content .error {{ color: #a51d2d; }}
.aphos-content .muted {{ color: var(--aphos-muted); }}
.aphos-content input, .aphos-content textarea, .aphos-content button {{ font: inherit; }}
.aphos-content textarea {{ width: 100%; max-width: 40em; box-sizing: border-box; }}
body[data-voila] .jp-LabShell, body[data-voila] .lm-BoxPanel {{ background: #fff; }}
body[data-voila] #rendered_cells, body[data-voila] .lm-BoxPanel-child {{ max-width: 1200px;
  margin: 0 auto; box-sizing: border-box; }}
/* In Voila the header is a cell's output, already inside the page's margins. */
body[data-voila] .aphos-header {{ margin-top: 0; }}
.upload-log details.upload {{ border: 1px solid var(--aphos-line); border-radius: 6px;
  margin: 0 0 .6em; background: #fff; }}
.upload-log summary {{ cursor: pointer; padding: .5em .8em; display: flex; flex-wrap: wrap;
  gap: .2em 1.2em; align-items: baseline; background: #f6f8fa; border-radius: 6px; }}
.upload-log details[open] > summary {{ border-bottom: 1px solid var(--aphos-line);
  border-radius: 6px 6px 0 0; }}
.upload-log summary::-webkit-details-marker {{ display: none; }}
.upload-log summary::before {{ content: "\\25B8"; width: .8em; color: var(--aphos-muted); }}
.upload-log details[open] > summary::before {{ content: "\\25BE"; }}
.upload-log .upload-title {{ font-weight: 600; }}
.upload-log .upload-state {{ padding: 0 .5em; border-radius: 1em; background: #e7ecf2; }}
.upload-log .state-failed, .upload-log .state-rejected {{ background: #f6d6d9; }}
.upload-log .state-partial {{ background: #fbeccd; }}
.upload-log .state-stored {{ background: #d8eedd; }}
.upload-log .upload-body {{ padding: .4em .8em .8em; }}
.upload-files {{ width: 100%; table-layout: fixed; font-size: .95em; }}
.upload-files col.c-pos {{ width: 3.5em; }}
.upload-files col.c-outcome {{ width: 7em; }}
.upload-files col.c-n {{ width: 8em; }}
.upload-files td.filename, .upload-files .file-detail td {{ overflow-wrap: anywhere; }}
.upload-files tr.file-rejected td.outcome {{ color: #a51d2d; font-weight: 600; }}
.upload-files tr.file-detail td {{ border-bottom: 1px solid var(--aphos-line);
  padding-top: 0; }}
.upload-files tr.file:has(+ tr.file-detail) td {{ border-bottom: none; }}
.upload-files .file-error {{ color: #a51d2d; margin: .1em 0; }}
.upload-files ul.rejected-rows {{ margin: .1em 0; padding-left: 1.2em; color: #3d4349; }}
.upload-files ul.rejected-rows .line {{ font-variant-numeric: tabular-nums; }}
.aphos-report .anchor-link {{ display: none; }}
.aphos-report h1 {{ font-size: 1.35em; }}
.aphos-report table {{ font-size: .9em; }}
.aphos-report .output_html {{ overflow-x: auto; }}
.aphos-report pre {{ white-space: pre-wrap; overflow-wrap: anywhere; }}
"""


def theme_style() -> str:
    """:data:`THEME_CSS` in a ``<style>`` element, to put in a page's head or output."""
    return f"<style data-aphos-theme>{THEME_CSS}</style>"


def site_header(
    current: str | None = None,
    *,
    signed_in: bool | None = None,
    dashboards: str = DASHBOARDS,
    workspace: bool = False,
) -> str:
    """The header every page starts with: the APhoS name and the navigation.

    Parameters
    ----------
    current : str, optional
        The key (of :data:`NAVIGATION`, or ``"home"``) of the page shown: marked
        ``aria-current="page"``.
    signed_in : bool or None
        True: a "Sign out" link; False or None (not known: the public dashboards cannot tell,
        their kernels never see the visitor's sign-in): a "Sign in" link.
    dashboards : str
        The address the dashboards' links are relative to: :data:`DASHBOARDS`, or ``""`` on
        the public dashboards themselves (relative links work under the hub and on a bare
        Voila alike).
    workspace : bool
        Also link the observer's workspace (hub pages of a signed-in observer).

    Returns
    -------
    str
        A ``<header class="aphos-header">``; every address is a constant of the platform.
    """

    def link(key: str, label: str, href: str) -> str:
        here = ' aria-current="page"' if key == current else ""
        return (
            f'<li><a class="aphos-nav-{key}" href="{escape(href)}" target="_top"{here}>'
            f"{escape(label)}</a></li>"
        )

    items = [
        link(key, label, href if href.startswith("/") else dashboards + href)
        for key, label, href in NAVIGATION
    ]
    if workspace:
        items.append(link("workspace", "My workspace", "/hub/home"))
    if signed_in:
        account = '<a class="aphos-sign-out" href="/hub/logout" target="_top">Sign out</a>'
    else:
        account = '<a class="aphos-sign-in" href="/hub/login" target="_top">Sign in</a>'
    home = dashboards + "index.ipynb" if dashboards else "index.ipynb"
    here = ' aria-current="page"' if current == "home" else ""
    return (
        f'<header class="aphos-header"><div class="aphos-header-inner">'
        f'<a class="aphos-brand" href="{escape(home)}" target="_top"{here}>APhoS '
        f"<span>Amateur Photometric Survey</span></a>"
        f'<nav aria-label="APhoS"><ul class="aphos-nav">{"".join(items)}</ul></nav>'
        f'<span class="aphos-account">{account}</span></div></header>'
    )


def html_page(
    title: str, body: str, *, current: str | None = None, signed_in: bool | None = None
) -> str:
    """A complete themed page: head with the stylesheet, the header, ``body`` in the content.

    ``title`` is escaped; ``body`` is HTML its caller has built (and escaped).
    """
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} - APhoS</title>{theme_style()}</head>\n"
        f"<body class='aphos-page'>"
        f"{site_header(current, signed_in=signed_in, workspace=bool(signed_in))}"
        f'<main class="aphos-content">\n{body}\n</main></body></html>'
    )
