"""Query parameters in and links out: a dashboard's state lives in its address.

Voila gives a page's query string to its kernel as ``QUERY_STRING``; every page reads it
through :func:`query_params`. Links between pages are relative (``object.ipynb?...``), so they
work under the hub (``/services/dashboards/voila/render/``) and on a bare Voila alike.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import parse_qs, urlencode

__all__ = ["first", "page_link", "query_params"]

# Object refs (CATALOG:ID) and id prefixes stay readable in a shared link.
_SAFE = ":*"  # never "+": in a query it means a space


def query_params(query_string: str | None = None) -> dict[str, list[str]]:
    """The page's query parameters, each name with all its values in order.

    Parameters
    ----------
    query_string : str, optional
        Defaults to ``$QUERY_STRING``, which Voila sets for the page's kernel.

    Examples
    --------
    >>> query_params("variable=UCAC4:1-2&comparison=A:1&comparison=A:2")
    {'variable': ['UCAC4:1-2'], 'comparison': ['A:1', 'A:2']}
    """
    if query_string is None:
        query_string = os.environ.get("QUERY_STRING", "")
    return parse_qs(query_string.lstrip("?"), keep_blank_values=False)


def first(params: Mapping[str, list[str]], name: str, default: str | None = None) -> str | None:
    """The first value of a query parameter, stripped, or ``default`` when absent or blank.

    Examples
    --------
    >>> first({"ra": [" 21 41 55.3 "]}, "ra")
    '21 41 55.3'
    """
    for value in params.get(name, []):
        if value.strip():
            return value.strip()
    return default


def page_link(page: str, params: Mapping[str, object] | None = None) -> str:
    """A relative link to a dashboard with these parameters; None and "" values are left out,
    lists repeat the parameter.

    Examples
    --------
    >>> page_link("object.ipynb", {"variable": "UCAC4:1-2", "comparison": ["A:1", "A:2"]})
    'object.ipynb?variable=UCAC4:1-2&comparison=A:1&comparison=A:2'
    >>> page_link("search.ipynb", {"ra": "21 41 55.3", "name": None})
    'search.ipynb?ra=21+41+55.3'
    """
    pairs: list[tuple[str, str]] = []
    for name, value in (params or {}).items():
        values = value if isinstance(value, list | tuple) else [value]
        pairs += [(name, str(v)) for v in values if v is not None and str(v) != ""]
    query = urlencode(pairs, safe=_SAFE)
    return f"{page}?{query}" if query else page
