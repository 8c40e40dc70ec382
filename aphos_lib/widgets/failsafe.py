"""A dashboard never shows a raw error: a short message for the visitor, the traceback logged.

Voila shows an exception that escapes a cell as "There was an error when executing cell [1]"
(and with ``show_tracebacks`` the whole traceback): nothing a visitor can act on, and the
internals of the page for anyone to read. Each public page's function is wrapped in
:func:`failsafe_page`: when it raises, the page shows a short message with a reference, and
the traceback goes to the dashboards service's log under the same reference, so an operator
can find the visitor's failure. Widget callbacks use :func:`log_failure` the same way.

>>> from aphos_lib.widgets.failsafe import failsafe_page
>>> @failsafe_page("example")
... def broken():
...     raise RuntimeError("boom")
>>> "aphos-page-failure" in broken().data  # doctest: +SKIP
True
"""

from __future__ import annotations

import functools
import html
import logging
import os
import secrets
import sys
from collections.abc import Callable
from typing import TypeVar

from IPython.display import HTML

__all__ = ["FAILURE_TEXT", "failsafe_page", "failure_html", "log_failure", "logger"]

T = TypeVar("T")

FAILURE_TEXT = (
    "Sorry, this page could not be shown: something went wrong on our side. "
    "Try again in a moment; if it keeps failing, tell us the reference below."
)


def _logger() -> logging.Logger:
    """The dashboards' logger, writing to the process's own stderr.

    In a dashboard kernel ``sys.stderr`` is the page's output (Voila would show what is
    written there to the visitor) and ``sys.__stderr__`` is the kernel's, which the service
    logs: the handler writes to the latter and does not propagate to a root handler that
    might write to the former.
    """
    log = logging.getLogger("aphos.dashboards")
    if not log.handlers:
        handler = logging.StreamHandler(sys.__stderr__)
        handler.setFormatter(logging.Formatter("%(asctime)s aphos %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    return log


logger = _logger()


def log_failure(what: str) -> str:
    """Log the exception being handled with its traceback and the page's address; return the
    reference the visitor is shown (8 hex digits, in the log line too).

    Call it from an ``except`` block.
    """
    reference = secrets.token_hex(4)
    query = os.environ.get("QUERY_STRING", "")
    logger.error("%s failed (reference %s, query %r)", what, reference, query, exc_info=True)
    return reference


def failure_html(reference: str, *, links: str = "") -> str:
    """The message shown in place of a page (or part of one) that failed."""
    home = '<a href="index.ipynb" target="_top">home page</a>'
    search = '<a href="search.ipynb" target="_top">search</a>'
    return (
        f'<div class="aphos-page-failure" style="padding:1em;border:1px solid #c99;'
        f'background:#fff6f0;max-width:50em"><p>{html.escape(FAILURE_TEXT)}</p>'
        f"<p><small>Reference: <code class='aphos-failure-reference'>"
        f"{html.escape(reference)}</code></small></p>"
        f"<p>{links or f'Go to the {home} or {search} the catalogue.'}</p></div>"
    )


def failsafe_page(name: str) -> Callable[[Callable[..., T]], Callable[..., T | HTML]]:
    """Decorate a page's function: on any exception, log it and return a short message.

    Parameters
    ----------
    name : str
        The page, as the log names it (``"object.ipynb"``).
    """

    def decorate(build: Callable[..., T]) -> Callable[..., T | HTML]:
        @functools.wraps(build)
        def page(*args, **kwargs):
            try:
                return build(*args, **kwargs)
            except Exception:  # a visitor sees a message whatever went wrong; the log has it
                return HTML(failure_html(log_failure(name)))

        return page

    return decorate
