"""Browser tests: the dashboards in Debian's Chromium, driven by Playwright, on demo data.

One Voila server (on ``dashboards/``, the demo catalogue's reader login) serves the whole
session and one Chromium each test module; each test gets a fresh browser context and page.
Chromium is never Playwright's own download: ``make test`` installs Debian's ``chromium``
(scripts/ensure-browser).

Helpers for tests are in browser_harness.py: ``dashboard_url`` builds a page's address,
``open_dashboard`` loads it and waits until its widgets are drawn, ``screenshot`` saves a PNG
under ``tests/artifacts/screenshots/``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from aphos_lib.hub.configurer import service_environment
from aphos_lib.hub.dashboards import preheated_pages, voila_arguments
from aphos_lib.hub.settings import HubSettings
from aphos_lib.widgets.urls import PREHEATED_READY

from browser.browser_harness import ARTIFACTS, DASHBOARDS, ROOT
from conftest import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PAGE_TIMEOUT_MS = 30_000  # a page's first load starts a kernel and runs every cell


@pytest.fixture(scope="session", params=["embedded"])
def demo_catalogue(request, demo_files):
    """The demo catalogue on the embedded server only: one Voila for the whole session.

    Overrides tests/conftest.py's fixture of the same name (which also runs on the external
    server); the dashboards read through the same aphos_lib calls whatever the server.
    """
    from aphos_lib.demo.load import load_demo

    server = request.getfixturevalue(f"{request.param}_server")
    cat, name = server.clone()
    directory, _ = demo_files
    try:
        assert load_demo(cat, directory=directory) == 0
        yield cat
    finally:
        cat.dispose()
        server.drop(name)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except (urllib.error.URLError, ConnectionError):
        return False


def _wait_for(ready, what: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    """Until ``ready()``; fail with Voila's log when it exits or ``timeout`` passes first."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process.poll() is not None:
            pytest.fail(
                f"Voila exited with {process.returncode} before {what}:\n{log.read_text()[-3000:]}"
            )
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} in {timeout:.0f} s:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


@contextlib.contextmanager
def _voila(catalogue, arguments, log: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    """``python -m *arguments(port)`` (a Voila) on a free port, reading ``catalogue`` as the
    reader, with none of this machine's Jupyter configuration (``config_file_paths`` empty, an
    empty ``JUPYTER_CONFIG_DIR``): its URL and its process."""
    port = free_port()
    config_dir = Path(tempfile.mkdtemp(prefix="aphos-voila-config-"))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        **service_environment(catalogue, "reader"),
        "JUPYTER_CONFIG_DIR": str(config_dir),
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable,
        "-m",
        *arguments(port),
        "--Voila.config_file_paths=[]",
        "--VoilaConfiguration.show_tracebacks=True",
    ]
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield f"http://127.0.0.1:{port}", process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(config_dir, ignore_errors=True)


@contextlib.contextmanager
def _dashboards_service(catalogue, log: Path, pool: int) -> Iterator[str]:
    """The dashboards service on ``dashboards/`` reading ``catalogue`` as the reader role, run
    as the service runs (its module and arguments: kernel culling and ceiling, a preheated
    pool of ``pool`` kernels per page, closing tabs shutting their kernels down); its URL once
    every preheated kernel is ready."""

    def arguments(port: int) -> list[str]:
        service = voila_arguments(DASHBOARDS, port=port, idle_timeout=120, pool_size=pool)
        return ["aphos_lib.hub.dashboards", *service]

    with _voila(catalogue, arguments, log) as (url, process):
        # health, not the root: that would render the home page, taking a kernel.
        _wait_for(lambda: _answers(url + "/health"), f"answer at {url}", process, log, timeout=60)
        # Every preheated kernel's imports done: a page the first test opens while eight
        # kernels still import would time the start-up, not the page.
        pooled = pool * len(preheated_pages(DASHBOARDS))
        _wait_for(
            lambda: log.read_text().count(PREHEATED_READY) >= pooled,
            f"{pooled} preheated kernels ready",
            process,
            log,
            timeout=180,
        )
        yield url


@pytest.fixture(scope="session")
def voila_url(demo_catalogue) -> Iterator[str]:
    """The dashboards service reading the demo catalogue, with the service's default pool."""
    with _dashboards_service(
        demo_catalogue, ARTIFACTS / "voila.log", HubSettings.dashboard_kernel_pool
    ) as url:
        yield url


@pytest.fixture(scope="module")
def odd_voila_url(odd_catalogue) -> Iterator[str]:
    """The dashboards service reading the odd cases' catalogue (tests/odd_catalogue.py): one
    observer, one point, only saturated... A pool of one kernel per page: a module opens a
    handful of pages, and the session's demo service runs beside it."""
    with _dashboards_service(odd_catalogue, ARTIFACTS / "voila-odd.log", 1) as url:
        yield url


@pytest.fixture(scope="module")
def campaign_voila_url(campaign_catalogue) -> Iterator[str]:
    """The dashboards service reading the demo's timing campaign (nights through minima); no
    preheated kernels: one page is opened, and their start would cost more than it saves."""
    catalogue, _ = campaign_catalogue
    with _dashboards_service(catalogue, ARTIFACTS / "voila-campaign.log", 0) as url:
        yield url


@pytest.fixture(scope="module")
def two_catalogue_voila_url(two_catalogue_catalogue) -> Iterator[str]:
    """The dashboards service reading one night of GK Cep's field matched to UCAC4 by one
    observer and to USNO-B1.0 by another (tests/conftest.py); a pool of one kernel."""
    log = ARTIFACTS / "voila-two-catalogues.log"
    with _dashboards_service(two_catalogue_catalogue, log, 1) as url:
        yield url


@pytest.fixture(scope="module")
def workspace_voila_url(demo_catalogue) -> Iterator[str]:
    """A plain Voila on ``dashboards/workspace/`` (the upload page), as an observer's own
    server serves it: the public dashboards service never does."""
    log = ARTIFACTS / "voila-workspace.log"

    def arguments(port: int) -> list[str]:
        folder = str(DASHBOARDS / "workspace")
        return ["voila", folder, "--no-browser", "--Voila.ip=127.0.0.1", f"--Voila.port={port}"]

    with _voila(demo_catalogue, arguments, log) as (url, process):
        _wait_for(lambda: _answers(url + "/"), f"answer at {url}", process, log, timeout=60)
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium, headless, one per test module (Playwright gives it a fresh profile).

    Per module, not per session: while Playwright's sync API is running, its event loop is
    the thread's running loop, and every later test that calls ``asyncio.run`` (the hub
    tests do) would fail. Launching takes under a second.
    """
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (Debian's chromium package)")
    from playwright.sync_api import sync_playwright

    # Playwright's driver makes its artifacts folder and the browser's profile in its
    # temporary directory and removes them when it closes them; a Ctrl-C that reaches the
    # driver first (the whole process group gets it) leaves them. The driver gets a folder of
    # its own, removed with the fixture, whatever another process's browser is doing.
    private = tempfile.mkdtemp(prefix="aphos-playwright-")
    saved = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = private  # read by the driver as it starts
    try:
        manager = sync_playwright()
        playwright = manager.__enter__()
    finally:
        if saved is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved
    try:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        manager.__exit__(None, None, None)
        shutil.rmtree(private, ignore_errors=True)


@pytest.fixture
def page(browser) -> Iterator[object]:
    """A fresh browser context and page; page errors are collected in ``page.aphos_errors``."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    page.aphos_errors = []
    page.on("pageerror", lambda error: page.aphos_errors.append(str(error)))
    try:
        yield page
    finally:
        context.close()
