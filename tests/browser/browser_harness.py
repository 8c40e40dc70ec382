"""Helpers for the browser tests: dashboard addresses, loading a page, screenshots.

The fixtures (Voila server, Chromium, a page per test) are in this folder's conftest.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aphos_lib.widgets.urls import page_link

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "aphos_lib" / "dashboards"
ARTIFACTS = ROOT / "tests" / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"


def dashboard_url(voila_url: str, name: str, params: dict | None = None) -> str:
    """The address of ``dashboards/<name>.ipynb`` with query parameters."""
    return f"{voila_url}/voila/render/" + page_link(f"{name}.ipynb", params)


def open_dashboard(
    page,
    voila_url: str,
    name: str,
    params: dict | None = None,
    ready: str | None = None,
    *,
    failure: bool = False,
) -> None:
    """Load a dashboard and wait until Voila has run it and ``ready`` (a CSS selector,
    default: any ``.aphos-`` widget) is drawn. Fails on a Python traceback in the page, and
    on the page's own failure message unless ``failure`` (a test that provokes one)."""
    page.goto(dashboard_url(voila_url, name, params), wait_until="domcontentloaded")
    page.wait_for_selector(ready or "[class*='aphos-']:not(style)", state="visible")
    assert_page_ran(page, name, failure=failure)


def assert_page_ran(page, name: str, *, failure: bool = False) -> None:
    """Fail with the traceback when a cell of the open dashboard raised or wrote to stderr,
    or (unless ``failure``) when the page shows its failure message
    (:mod:`aphos_lib.widgets.failsafe`; the traceback is then in the Voila log under the
    reference shown).

    Waits until Voila has run every cell (its spinner gone) before looking.
    """
    page.wait_for_function(
        "() => !document.querySelector('#loading, .voila-spinner')"
        " || document.readyState === 'complete'"
    )
    errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    if errors.count():
        pytest.fail(f"{name}.ipynb raised:\n" + "\n".join(errors.all_inner_texts()))
    if "There was an error" in page.locator("body").inner_text():
        pytest.fail(f"{name}.ipynb shows Voila's raw error")
    failed = page.locator(".aphos-page-failure")
    if not failure and failed.count():
        pytest.fail(
            f"{name}.ipynb shows its failure message (the Voila log has the traceback "
            f"under its reference): {failed.first.inner_text()}"
        )


def screenshot(page, name: str) -> Path:
    """Save the whole page as ``tests/artifacts/screenshots/<name>.png`` (a test artifact)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
