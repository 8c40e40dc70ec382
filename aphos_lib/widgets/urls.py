"""Query parameters in and links out: a dashboard's state lives in its address.

Voila gives a page's query string to its kernel as ``QUERY_STRING``; every page reads it
through :func:`query_params`. A page preheated by Voila (a kernel started, and its imports run,
before anyone asks for it) gets that environment only once a request takes it: the page calls
:func:`wait_for_page_request` between its imports and its first read of the address. Links
between pages are relative (``object.ipynb?...``), so they work under the hub
(``/services/dashboards/voila/render/``) and on a bare Voila alike.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from urllib.parse import parse_qs, urlencode

__all__ = ["PREHEATED_READY", "first", "page_link", "query_params", "wait_for_page_request"]

# What a preheated kernel writes to the service's log once its page's imports are done, so an
# operator (and the browser tests) can tell the pool is ready, not just started.
PREHEATED_READY = "aphos: a preheated dashboard kernel is ready for its request"
# Object refs (CATALOG:ID) and id prefixes stay readable in a shared link.
_SAFE = ":*"  # never "+": in a query it means a space


def wait_for_page_request() -> None:
    """In a kernel Voila preheated, wait until a page request takes it; elsewhere return at once.

    Voila (``--preheat_kernel=True``) runs a pool of kernels through their notebook before any
    request, with ``VOILA_PREHEAT=True`` in their environment; Voila's ``wait_for_request``
    blocks until a request takes the kernel, then sets ``QUERY_STRING`` and the rest of the
    request's environment. Everywhere else (a kernel Voila starts for a request, papermill,
    JupyterLab) this returns at once, and without importing Voila, which takes seconds.

    Raises
    ------
    RuntimeError
        When a preheated kernel could not get its request from Voila: the page would
        otherwise show the wrong state (an empty address) as if it were right.
    """
    if os.environ.get("VOILA_PREHEAT") != "True":
        return
    from voila.utils import wait_for_request

    # The kernel's own stderr (sys.stderr is the page's output here) is the service's log.
    print(PREHEATED_READY, file=sys.__stderr__, flush=True)
    wait_for_request()
    # Once is enough: a second call, in this kernel or a process it starts, returns at once.
    os.environ["VOILA_PREHEAT"] = "False"
    if not os.environ.get("SERVER_SOFTWARE", "").startswith("voila/"):
        raise RuntimeError("this preheated page never received its request from Voila")


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
    >>> query_params("username=%00novak")
    {'username': ['novak']}
    """
    if query_string is None:
        query_string = os.environ.get("QUERY_STRING", "")
    params = parse_qs(query_string.lstrip("?"), keep_blank_values=False)
    # No name or id holds a NUL, and PostgreSQL refuses one in any text it is sent: an
    # address with %00 made the pages' queries fail instead of finding nothing.
    return {
        name.replace("\0", ""): [v.replace("\0", "") for v in values]
        for name, values in params.items()
    }


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
