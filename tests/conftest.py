"""Shared fixtures: real PostgreSQL catalogues, one fresh database per test.

The catalogue tests run on the embedded PostgreSQL 18, and again on an external server: the
one named by ``APHOS_TEST_DATABASE_URL`` or, when that is unset, the PostgreSQL service at
127.0.0.1:5432 when it answers. Each test gets its own database cloned from a migrated
template, so tests never see each other's rows.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from aphos_lib.db.bootstrap import embedded_catalogue
from aphos_lib.db.catalogue import Catalogue
from aphos_lib.db.embedded import EmbeddedPostgres
from aphos_lib.db.migrate import upgrade
from aphos_lib.db.reader_limits import restrict_database

# Real SIPS exports with what each must give (tests/data/sips/README.md).
FIXTURES = Path(__file__).resolve().parent / "data" / "sips"
EXTERNAL_DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"
# Unique per test session: sessions running at once on the shared external server must not
# drop each other's template.
TEMPLATE = f"aphos_test_template_{uuid.uuid4().hex[:8]}"
# Test servers need no durability; this makes each test's CREATE DATABASE and COPY cheaper.
TEST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


# The 26 rows of correct_file.csv that SIPS matched to a catalogue star another row of the
# file, 1-3 px away and nearer the star's catalogue position, is matched to: distinct sources,
# stored without the match ("a second source matched to ..."), so that the image has one source
# per star.
CORRECT_FILE_UNLINKED = [
    2267,
    2291,
    2339,
    2349,
    2355,
    2356,
    2359,
    2378,
    2379,
    2397,
    2416,
    2432,
    2447,
    2449,
    2468,
    2489,
    2500,
    2516,
    2528,
    2551,
    2561,
    2563,
    2576,
    2591,
    2595,
    2597,
]
# What each fixture file must give (their README; correct_file.csv's 26 second sources are
# unmatched): status, fluxes, matched, unmatched rows and the line numbers of the rows
# reported as rejected.
FIXTURE_OUTCOMES = {
    "correct_file.csv": ("stored", 2671, 1987, 684, []),
    "correct_file_missing_scheme.csv": ("stored", 1, 1, 0, []),
    "correct_file_shorter_header.csv": ("stored", 178, 178, 0, []),
    "few_lines_incorrect.csv": ("stored", 66, 66, 0, [32, 35]),
    "incorrect_missing_initial_info.csv": ("rejected", 0, 0, 0, []),
    "scheme_missing.csv": ("rejected", 0, 0, 0, []),
}


def pytest_collection_modifyitems(config, items):
    """Under ``make test``'s two workers, the hub tests run on one, one after another.

    Their platforms share the workspaces' system accounts (``aphos-alice``...) and homes.
    """
    for item in items:
        if item.get_closest_marker("hub"):
            item.add_marker(pytest.mark.xdist_group("hub"))


@pytest.fixture(scope="session", autouse=True)
def sesame_knowing_no_name() -> Iterator[None]:
    """No test asks the real CDS Sesame: a name search that matches no stored name asks this
    stand-in, which knows no name (tests/sesame_standin.py; tests of name resolution start
    their own)."""
    from sesame_standin import SesameStandIn

    standin = SesameStandIn()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("APHOS_SESAME_URL", standin.url)
        yield
    standin.close()


def fixture_path(name: str) -> Path:
    path = FIXTURES / name
    if not path.exists():
        pytest.fail(f"fixture {path} is missing from the checkout")
    return path


def identity_files(tmp_path: Path) -> list[Path]:
    """Four SIPS files whose every row is stored: nulls, saturated values, several apertures
    and none, a non-ASCII name and no Filter, and no star repeated."""
    named = tmp_path / "named.csv"
    named.write_bytes(
        "ExposureBegin;2021-11-06T16:27:45\nExposureEnd;2021-11-06T16:29:15\n"
        "Name;X;Y;RA;Dec;Catalog;CatalogId;ApAuto\n"
        "Šárka;10.0;20.0;05 00 00.0;+10 00 00.0;UCAC4;500-000001;100\n"
        ";;;05 01 00.0;+10 01 00.0;;;saturated\n".encode()
    )
    return [
        fixture_path("correct_file_shorter_header.csv"),
        fixture_path("few_lines_incorrect.csv"),
        fixture_path("correct_file_missing_scheme.csv"),
        named,
    ]


def make_home(prefix: str = "aphos-test-") -> Path:
    """A temporary APHOS_HOME the unprivileged database user can enter (pytest's are 0700)."""
    home = Path(tempfile.mkdtemp(prefix=prefix))  # TMPDIR when set, else /tmp
    home.chmod(0o755)
    return home


@dataclass
class Server:
    """A PostgreSQL server the tests may create databases on."""

    kind: str
    superuser: str  # libpq URL of a superuser on the maintenance database
    template: Catalogue  # the migrated template database

    def clone(self) -> tuple[Catalogue, str]:
        name = f"aphos_t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.superuser, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {} OWNER {}").format(
                    sql.Identifier(name),
                    sql.Identifier(TEMPLATE),
                    sql.Identifier(self.template_owner),
                )
            )
            restrict_database(conn, name)  # database privileges do not come with a template
        return self.template.for_database(name), name

    @property
    def template_owner(self) -> str:
        with psycopg.connect(self.superuser) as conn:
            return conn.execute(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (TEMPLATE,)
            ).fetchone()[0]

    def drop(self, name: str) -> None:
        with psycopg.connect(self.superuser, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def external_url() -> str | None:
    """The external PostgreSQL the tests may use, or None when none answers."""
    url = os.environ.get("APHOS_TEST_DATABASE_URL")
    if url:
        return url
    try:
        psycopg.connect(EXTERNAL_DEFAULT, connect_timeout=2).close()
    except psycopg.Error:
        return None
    return EXTERNAL_DEFAULT


@pytest.fixture(scope="session")
def embedded_server() -> Iterator[Server]:
    home = make_home()
    try:
        template = embedded_catalogue(home, dbname=TEMPLATE, settings=TEST_SETTINGS)
        template.dispose()  # a template must have no connections when it is cloned
        yield Server("embedded", EmbeddedPostgres(home).superuser_dsn(), template)
    finally:
        EmbeddedPostgres(home).stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def external_server() -> Iterator[Server]:
    url = external_url()
    if url is None:
        pytest.skip(
            f"no external PostgreSQL answers at {EXTERNAL_DEFAULT} and "
            "APHOS_TEST_DATABASE_URL is not set"
        )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(TEMPLATE))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE)))
    from sqlalchemy.engine import make_url

    template = Catalogue.external(
        make_url(url).set(database=TEMPLATE).render_as_string(hide_password=False)
    )
    upgrade(template)
    template.dispose()
    yield Server("external", url, template)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(TEMPLATE))
        )


@pytest.fixture(params=["embedded", "external"])
def server(request) -> Server:
    return request.getfixturevalue(f"{request.param}_server")


@pytest.fixture
def catalogue(server: Server) -> Iterator[Catalogue]:
    """A freshly migrated, empty catalogue database, on each PostgreSQL the tests can reach."""
    cat, name = server.clone()
    try:
        yield cat
    finally:
        cat.dispose()
        server.drop(name)


@pytest.fixture
def writer(catalogue: Catalogue) -> Iterator[psycopg.Connection]:
    with catalogue.connect("writer") as conn:
        yield conn


@pytest.fixture(scope="session")
def demo_files() -> Iterator[tuple[Path, object]]:
    """The demo data set (300 SIPS files and their manifest), written once per session."""
    from aphos_lib.demo import generate_demo_data

    directory = make_home("aphos-demo-files-")
    try:
        yield directory, generate_demo_data(directory, seed=1, images=300)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session", params=["embedded", "external"])
def demo_catalogue(request, demo_files) -> Iterator[Catalogue]:
    """A catalogue holding the demo data, loaded once per server; tests only read it."""
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


@pytest.fixture(scope="session")
def campaign_catalogue(embedded_server) -> Iterator[tuple[Catalogue, object]]:
    """The demo's timing campaign (1,200 images, even series of about 40 a night, sessions
    planned around GK Cep's minima) in its own catalogue, with its manifest; read only."""
    from aphos_lib.demo.load import load_demo
    from aphos_lib.demo.manifest import DemoManifest

    directory = make_home("aphos-campaign-")
    cat, name = embedded_server.clone()
    try:
        assert load_demo(cat, seed=3, images=1200, campaign=True, directory=directory) == 0
        yield cat, DemoManifest.load(directory)
    finally:
        cat.dispose()
        embedded_server.drop(name)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def odd_catalogue(embedded_server) -> Iterator[Catalogue]:
    """The odd cases a page must open with (one observer, one point, only saturated, no
    common image...): crafted copies of a fixture export, see tests/odd_catalogue.py."""
    from odd_catalogue import load_odd_catalogue

    cat, name = embedded_server.clone()
    directory = make_home("aphos-odd-files-")
    try:
        load_odd_catalogue(cat, fixture_path("correct_file.csv"), directory)
        yield cat
    finally:
        cat.dispose()
        embedded_server.drop(name)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def two_catalogue_catalogue(embedded_server) -> Iterator[Catalogue]:
    """One night of GK Cep's field from two observers whose SIPS matched it to different
    catalogues: ``correct_file.csv`` (UCAC4) by ``novak`` and its USNO-B1.0 copy
    (tests/sips_copies.py) by ``vesely``; read only."""
    from aphos_lib.ingest import ingest_files

    from sips_copies import usno_copy

    cat, name = embedded_server.clone()
    directory = make_home("aphos-two-catalogues-")
    try:
        text = fixture_path("correct_file.csv").read_bytes().decode("latin-1")
        usno = directory / "usno.csv"
        usno.write_bytes(usno_copy(text).encode("latin-1"))
        for path, observer in ((fixture_path("correct_file.csv"), "novak"), (usno, "vesely")):
            assert all(o.ok for o in ingest_files(cat, [path], observer=observer))
        yield cat
    finally:
        cat.dispose()
        embedded_server.drop(name)
        shutil.rmtree(directory, ignore_errors=True)


def schemathesis_env() -> dict[str, str]:
    """The environment for ``st run``: it loads this project's checks (``strict_json``)."""
    tests = str(Path(__file__).resolve().parent)
    path = os.pathsep.join(p for p in (tests, os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "SCHEMATHESIS_HOOKS": "schemathesis_hooks", "PYTHONPATH": path}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def strict_json(data: bytes | str) -> object:
    """Parse JSON as browsers do: ``NaN``, ``Infinity`` and ``-Infinity`` are refused."""

    def refuse(token: str):
        raise ValueError(f"{token} is not JSON")

    return json.loads(data, parse_constant=refuse)


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, object]:
    """GET a JSON document: (status, parsed body), also for error statuses.

    The body must be standard JSON (:func:`strict_json`).
    """
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, strict_json(response.read())
    except urllib.error.HTTPError as error:
        return error.code, strict_json(error.read())


@contextlib.contextmanager
def serve_in_thread(app, what: str) -> Iterator[str]:
    """Serve an ASGI ``app`` with uvicorn in a thread on a loopback port; its URL."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, f"{what} did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="session")
def api_url(demo_catalogue) -> Iterator[str]:
    """The REST API on the demo catalogue, served by uvicorn on a loopback port."""
    from aphos_lib.web.app import create_app
    from aphos_lib.web.settings import ApiSettings

    app = create_app(ApiSettings(catalogue=demo_catalogue))
    with serve_in_thread(app, "the API server") as url:
        yield url
