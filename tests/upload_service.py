"""The api service on a loopback port, signed in through a stand-in for the hub's token check.

Only who is signed in is stood in for (a fixed table of tokens, as the hub would answer for
them); the service's application, HTTP, the catalogue, the queue and the worker are real.
tests/test_hub_uploads.py runs the same endpoints behind a real hub.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from aphos_lib.db.catalogue import Catalogue
from aphos_lib.web.app import create_app
from aphos_lib.web.profiles import save_profile
from aphos_lib.web.service_auth import ServiceAuth
from aphos_lib.web.settings import ApiSettings, UploadLimits

from conftest import serve_in_thread

REPO = Path(__file__).resolve().parents[1]
PREFIX = "/services/api/"
BASE = "/services/api/api/v2/uploads"
# token -> (hub user, username chosen; None: no username yet)
OBSERVERS = {
    "tok-alice": ("google-1", "Alice"),
    "tok-bob": ("google-2", "Bob"),
    "tok-nameless": ("google-3", None),
    "tok-carol": ("google-4", "Carol"),
    "tok-dan": ("google-5", "Dan"),
    "tok-erin": ("google-6", "Erin"),
}


class StandInHub:
    """What ServiceAuth asks of jupyterhub's HubOAuth, for the tokens of :data:`OBSERVERS`."""

    cookie_name = "stand-in-cookie"
    access_scopes = {"access:services!service=api"}

    async def user_for_token(self, token, use_cache=True, *, sync=True):
        if token not in OBSERVERS:
            return None
        return {"kind": "user", "name": OBSERVERS[token][0], "scopes": list(self.access_scopes)}

    def check_scopes(self, required, model):
        return set(required) & set(model["scopes"])


@contextlib.contextmanager
def environment(**values: str | None) -> Iterator[None]:
    """Set (or, with None, remove) environment variables for the block."""
    saved = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
        yield
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


@contextlib.contextmanager
def serve_api(catalogue: Catalogue, home: Path) -> Iterator[str]:
    """The api service (create_app) on 127.0.0.1, its observers' profiles made; its URL."""
    with catalogue.connect("writer") as conn:
        for hub_user, username in OBSERVERS.values():
            if username:
                save_profile(conn, hub_user, username)
    settings = ApiSettings(
        catalogue=catalogue,
        auth=ServiceAuth(PREFIX, hub_auth=StandInHub()),
        published_dir=home / "published",
        upload_limits=UploadLimits.from_environment(),
    )
    app = create_app(settings)
    with serve_in_thread(app, "the api service") as url:
        yield url


def headers(who: str) -> dict[str, str]:
    return {"Authorization": f"token tok-{who}"}


@contextlib.contextmanager
def running_worker(catalogue: Catalogue, home: Path) -> Iterator[subprocess.Popen]:
    """The worker process the hub's worker service runs, storing into ``catalogue``; its log
    is ``home/worker.log``. Its job kernels read the database login from the environment."""
    env = {
        "APHOS_HOME": str(home),
        "APHOS_DATABASE_URL": catalogue.conninfo("writer"),
        "APHOS_DATABASE_URL_WRITER": catalogue.conninfo("writer"),
        "APHOS_DATABASE_URL_READER": catalogue.conninfo("reader"),
    }
    with open(home / "worker.log", "wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "aphos_lib.jobs.runner"],
            cwd=REPO,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield worker
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


@contextlib.contextmanager
def api_and_worker(embedded_server, prefix: str) -> Iterator[tuple[str, Catalogue, Path]]:
    """A catalogue cloned from ``embedded_server``, the api service and a worker on it, and
    their ``APHOS_HOME`` (made with ``prefix``): ``(api url, catalogue, home)``. Everything is
    removed afterwards."""
    import shutil

    from conftest import make_home

    home = make_home(prefix)
    catalogue, dbname = embedded_server.clone()
    try:
        with (
            environment(APHOS_HOME=str(home), APHOS_UPLOADS_DIR=None),
            serve_api(catalogue, home) as url,
            running_worker(catalogue, home),
        ):
            yield url, catalogue, home
    finally:
        catalogue.dispose()
        embedded_server.drop(dbname)
        shutil.rmtree(home, ignore_errors=True)
