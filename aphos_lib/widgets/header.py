"""The site's header on a dashboard: the theme's stylesheet and navigation as cell output.

Each dashboard notebook shows it in its first cell, above its title, with one call
(:func:`page_header`), so the Voila pages share the look of the hub's and the api service's
pages (:mod:`aphos_lib.theme`) without a Voila template of their own: the same notebook then
looks the same on the public dashboards service and in an observer's own server.
"""

from __future__ import annotations

from IPython.display import HTML

from aphos_lib.theme import DASHBOARDS, site_header, theme_style

__all__ = ["page_header"]


def page_header(current: str | None = None, *, workspace: bool = False) -> HTML:
    """The stylesheet and header of the dashboard ``current`` (``home``, ``search``...).

    Parameters
    ----------
    current : str, optional
        The page shown, marked in the navigation (a key of :data:`aphos_lib.theme.NAVIGATION`
        or ``home``).
    workspace : bool
        The page runs in the observer's own server (the upload page): the public dashboards
        are linked by their absolute address, and the observer is signed in (the hub lets no
        one else in), so the header offers "Sign out". The public pages link the other
        dashboards relatively and offer "Sign in": their kernels never see who is visiting.

    Examples
    --------
    >>> 'href="search.ipynb"' in page_header("home").data
    True
    """
    header = site_header(
        current,
        signed_in=workspace or None,
        dashboards=DASHBOARDS if workspace else "",
        workspace=workspace,
    )
    return HTML(theme_style() + header)
