"""Names the archive does not hold, resolved by CDS Sesame: the answer, its caches, the cone.

Sesame is a stand-in on 127.0.0.1 (tests/sesame_standin.py) that counts what it is asked;
the catalogue is real PostgreSQL holding ``correct_file.csv`` (GK Cep's field, GK Cep named).
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import psycopg
import pytest

from aphos_lib import cli, cli_queries
from aphos_lib.name_resolution import (
    NameNotResolved,
    ResolvedName,
    ResolverUnavailable,
    forget_answers,
    name_key,
    parse_sesame,
    resolve_name,
)
from aphos_lib.search import search_objects
from aphos_lib.settings import NameResolution

from conftest import fixture_path, free_port, http_get, serve_in_thread
from sesame_standin import SesameStandIn, found, nothing_found

# GK Cep's catalogue position (UCAC4 805-031770), as the stand-in gives it for other names.
GK_CEP = (322.7464583, 70.8232167)
OFFLINE = "is not a name known here, and resolving it needs the network"


@pytest.fixture
def archive(catalogue):
    from aphos_lib.ingest import ingest_files

    ingest_files(catalogue, [fixture_path("correct_file.csv")], observer="novak")
    return catalogue


@pytest.fixture
def sesame(monkeypatch):
    """Sesame knowing GK Cep by two names the archive does not store."""
    standin = SesameStandIn(
        {
            "GK Cephei": found("GK Cephei", *GK_CEP),
            "UCAC4 805-031770": found("UCAC4 805-031770", *GK_CEP, database="VizieR"),
        }
    )
    monkeypatch.setenv("APHOS_SESAME_URL", standin.url)
    forget_answers()  # a previous test's stand-in may have had this one's port
    try:
        yield standin
    finally:
        standin.close()
        forget_answers()


@pytest.fixture
def offline(monkeypatch):
    """Sesame's address is a closed port: no network."""
    monkeypatch.setenv("APHOS_SESAME_URL", f"http://127.0.0.1:{free_port()}/cgi-bin/nph-sesame")
    forget_answers()
    yield
    forget_answers()


def kept(catalogue) -> list[tuple]:
    with catalogue.connect("owner") as conn:
        return conn.execute(
            "SELECT name_key, ra_deg, dec_deg, source FROM resolved_name"
        ).fetchall()


# --- Sesame's answers -------------------------------------------------------------------------


def test_the_first_position_of_an_answer_is_taken_with_its_database():
    text = (
        "# GK Cep\t#Q1\n"
        "#=Si=Simbad, all IDs (via url):    1    41ms\n"
        "%J.E [0.2819 0.3347 90] A 2020yCat.1350....0G\n"
        "%J 322.7464583 +70.8232167 = 21:30:59.15 +70:49:23.6\n"
        "#=V=VizieR (local):    1\n"
        "%J 322.75 +70.82 = 21:31.0 +70:49\n"
    )
    assert parse_sesame(text) == (322.7464583, 70.8232167, "Simbad")
    assert parse_sesame(found("X", 1.5, -2.25, "NED")) == (1.5, -2.25, "NED")
    assert parse_sesame(nothing_found("X")) is None


def test_positions_out_of_range_or_unreadable_are_skipped():
    text = "#=S=Simbad:\n%J 400.0 +10.0 = x\n%J abc def\n%J 10.0 -95 = x\n%J 12.5 -30.5 = x\n"
    assert parse_sesame(text) == (12.5, -30.5, "Simbad")
    assert parse_sesame("#=S=Simbad:\n%J 400.0 +10.0\n") is None


def test_a_page_that_is_not_a_sesame_answer_is_an_unavailable_sesame():
    with pytest.raises(ResolverUnavailable, match="not a Sesame answer"):
        parse_sesame("<html><body>Service temporarily unavailable</body></html>")
    with pytest.raises(ResolverUnavailable):
        parse_sesame("")


def test_names_are_kept_in_lower_case_with_whitespace_collapsed():
    assert name_key("\tGK   Cep \n") == "gk cep"
    settings = NameResolution.from_environment(
        {"APHOS_SESAME_URL": "http://mirror.example.org/sesame/", "APHOS_SESAME_TIMEOUT": "1.5"}
    )
    assert (settings.sesame_url, settings.timeout, settings.cone_arcsec) == (
        "http://mirror.example.org/sesame/",
        1.5,
        10.0,
    )


# --- the search ---------------------------------------------------------------------------------


@pytest.mark.catalogue
def test_a_stored_name_is_found_without_asking_sesame(archive, sesame):
    with archive.connect("reader", autocommit=True) as reader:
        result = search_objects(reader, name="gk cep")
        assert result.frame.catalog_id.tolist() == ["805-031770"]
        assert result.resolved is None
        # Other filters that leave the stored name out: no match, and still no question.
        assert search_objects(reader, name="GK Cep", max_mag=5.0).total == 0
    assert sesame.asked == []


@pytest.mark.catalogue
def test_a_name_not_stored_is_resolved_and_the_cone_around_it_finds_the_star(archive, sesame):
    with archive.connect("reader", autocommit=True) as reader:
        result = search_objects(reader, name="GK  Cephei")
        assert sesame.asked == ["GK Cephei"]
        assert result.resolved == ResolvedName("GK Cephei", *GK_CEP, "Simbad")
        assert result.frame.catalog_id.tolist()[0] == "805-031770"
        assert result.frame.name.tolist()[0] == "GK Cep"
        assert (result.frame.distance_deg <= 10 / 3600).all() and result.total == len(result)
        # The other filters still hold around the position.
        assert search_objects(reader, name="gk cephei", min_mag=9.0).total == result.total - 1
        assert search_objects(reader, name="UCAC4 805-031770").resolved.source == "VizieR"
        # A reader keeps the answers in its process, never in the catalogue.
        again = search_objects(reader, name="gk cephei")
        assert again.frame.catalog_id.tolist() == result.frame.catalog_id.tolist()
    assert sesame.asked == ["GK Cephei", "UCAC4 805-031770"]
    assert kept(archive) == []


@pytest.mark.catalogue
def test_a_writer_keeps_the_answer_in_the_catalogue_for_every_connection(archive, sesame):
    with archive.connect("writer", autocommit=True) as writer:
        assert search_objects(writer, name="GK Cephei").resolved.source == "Simbad"
    assert kept(archive) == [("gk cephei", *GK_CEP, "Simbad")]
    forget_answers()  # a new process: only the catalogue remembers
    with archive.connect("writer", autocommit=True) as writer:
        assert search_objects(writer, name="gk  CEPHEI").frame.catalog_id[0] == "805-031770"
    forget_answers()
    with archive.connect("reader", autocommit=True) as reader:
        assert resolve_name(reader, "Gk Cephei") == ResolvedName("Gk Cephei", *GK_CEP, "Simbad")
    assert sesame.asked == ["GK Cephei"]


@pytest.mark.catalogue
def test_a_writer_in_a_transaction_keeps_the_answer_with_it(archive, sesame):
    with archive.connect("writer") as writer:  # not autocommit: the caller's transaction
        search_objects(writer, name="GK Cephei")
        writer.rollback()
    assert kept(archive) == []
    with archive.connect("writer") as writer:
        search_objects(writer, name="UCAC4 805-031770")
        writer.commit()
    assert [k[0] for k in kept(archive)] == ["ucac4 805-031770"]


@pytest.mark.catalogue
def test_the_reader_may_read_the_kept_answers_but_not_add_to_them(archive):
    with archive.connect("reader", autocommit=True) as reader:
        # Its read-only default is only a default: a kernel may turn it off. Privileges hold.
        reader.execute("SET default_transaction_read_only = off")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            reader.execute(
                "INSERT INTO resolved_name (name_key, ra_deg, dec_deg, source)"
                " VALUES ('gk cep', 0, 0, 'forged')"
            )
        assert reader.execute("SELECT count(*) FROM resolved_name").fetchone() == (0,)
    with archive.connect("writer", autocommit=True) as writer:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            writer.execute("DELETE FROM resolved_name")


@pytest.mark.catalogue
def test_a_name_sesame_does_not_know_finds_nothing_and_says_so(archive, sesame):
    with archive.connect("writer", autocommit=True) as writer:
        result = search_objects(writer, name="No Such Star")
        assert (result.total, result.resolved) == (0, None)
        with pytest.raises(NameNotResolved, match="CDS Sesame knows no object named 'No Such"):
            resolve_name(writer, " No  Such Star ")
    assert sesame.asked == ["No Such Star"]  # remembered for a while, never kept
    assert kept(archive) == []


@pytest.mark.catalogue
def test_offline_a_name_not_stored_says_it_needs_the_network(archive, offline):
    with archive.connect("reader", autocommit=True) as reader:
        assert search_objects(reader, name="GK Cep").total == 1  # stored names need no network
        with pytest.raises(ValueError, match=OFFLINE) as raised:
            search_objects(reader, name="GK Cephei")
    message = str(raised.value)
    assert isinstance(raised.value, ResolverUnavailable)
    assert message.startswith("'GK Cephei' is not a name known here")
    assert "(127.0.0.1) could not be reached (Connection refused)" in message
    assert "Traceback" not in message and "httpx" not in message and "\n" not in message


@pytest.mark.catalogue
def test_a_sesame_too_slow_is_given_up_after_the_timeout(archive, monkeypatch):
    standin = SesameStandIn({"GK Cephei": found("GK Cephei", *GK_CEP)}, delay=3.0)
    monkeypatch.setenv("APHOS_SESAME_URL", standin.url)
    monkeypatch.setenv("APHOS_SESAME_TIMEOUT", "0.5")
    forget_answers()
    try:
        with archive.connect("reader", autocommit=True) as reader:
            started = time.monotonic()
            with pytest.raises(ResolverUnavailable, match="did not answer within 0.5 s"):
                search_objects(reader, name="GK Cephei")
            assert time.monotonic() - started < 2.0
            # The next searches are told at once, without waiting for Sesame again.
            started = time.monotonic()
            with pytest.raises(ResolverUnavailable, match=f"'V1500 Cyg' {OFFLINE}.*0.5 s"):
                search_objects(reader, name="V1500 Cyg")
            assert time.monotonic() - started < 0.3
            assert standin.asked == ["GK Cephei"]
    finally:
        standin.close()
        forget_answers()


@pytest.mark.catalogue
def test_only_the_start_of_a_long_answer_is_read(archive, sesame):
    filler = "#" + "x" * 99 + "\n"
    sesame.answers["gk cephei"] = found("GK Cephei", *GK_CEP) + filler * 5000  # 500 KB
    # The position past the first 64 KiB:
    sesame.answers["ucac4 805-031770"] = filler * 1000 + found("UCAC4 805-031770", *GK_CEP)
    with archive.connect("reader", autocommit=True) as reader:
        assert search_objects(reader, name="GK Cephei").resolved is not None
        assert search_objects(reader, name="UCAC4 805-031770").total == 0


# --- what the API, the command line and the search page show ---------------------------------


@pytest.mark.catalogue
def test_the_api_says_what_a_name_was_resolved_to_and_when_it_cannot_be(archive, monkeypatch):
    from aphos_lib.web.app import create_app
    from aphos_lib.web.settings import ApiSettings

    standin = SesameStandIn({"GK Cephei": found("GK Cephei", *GK_CEP)})
    monkeypatch.setenv("APHOS_SESAME_URL", standin.url)
    forget_answers()
    try:
        with serve_in_thread(create_app(ApiSettings(catalogue=archive)), "the API") as url:
            status, page = http_get(f"{url}/api/v2/objects?name=GK%20Cephei")
            assert status == 200
            assert page["resolved"] == {
                "name": "GK Cephei",
                "ra_deg": GK_CEP[0],
                "dec_deg": GK_CEP[1],
                "source": "Simbad",
            }
            assert page["objects"][0]["catalog_id"] == "805-031770"
            status, page = http_get(f"{url}/api/v2/objects?name=GK%20Cep")
            assert status == 200 and "resolved" not in page
            monkeypatch.setenv("APHOS_SESAME_URL", f"http://127.0.0.1:{free_port()}/sesame")
            status, body = http_get(f"{url}/api/v2/objects?name=V1500%20Cyg")
            assert status == 400 and OFFLINE in body["message"]
            assert "Traceback" not in body["message"]
            status, body = http_get(f"{url}/api/space-objects/search-by-params?name=V1500%20Cyg")
            assert status == 400 and OFFLINE in str(body)
    finally:
        standin.close()
        forget_answers()


@pytest.mark.catalogue
def test_the_command_line_says_what_a_name_was_resolved_to_and_when_it_cannot_be(
    archive, sesame, monkeypatch, capsys
):
    monkeypatch.setattr(cli_queries, "Catalogue", SimpleNamespace(from_environment=lambda: archive))
    assert cli.main(["search", "--name", "GK Cephei"]) == 0
    out = capsys.readouterr().out
    assert "no stored name matches; objects around GK Cephei: 21 30 59.15 +70 49 23.6" in out
    assert "805-031770" in out
    monkeypatch.setenv("APHOS_SESAME_URL", f"http://127.0.0.1:{free_port()}/sesame")
    assert cli.main(["search", "--name", "V1500 Cyg"]) == 2
    done = capsys.readouterr()
    assert done.out == ""
    assert done.err.startswith(f"aphos search: 'V1500 Cyg' {OFFLINE}")
    assert "Traceback" not in done.err and len(done.err.splitlines()) == 1


@pytest.mark.catalogue
def test_the_search_page_says_what_a_name_was_resolved_to_and_when_it_cannot_be(
    archive, sesame, monkeypatch
):
    from aphos_lib.widgets.search import SearchPage
    from aphos_lib.widgets.search_query import SearchQuery

    with archive.connect("reader", autocommit=True) as reader:
        page = SearchPage(reader, SearchQuery(name="GK Cephei"))
        assert "No stored name matches; GK Cephei: 21 30 59.15" in page.status.value
        assert "the objects around it" in page.status.value
        assert page.rows[0]["ref"] == "UCAC4:805-031770"
        monkeypatch.setenv("APHOS_SESAME_URL", f"http://127.0.0.1:{free_port()}/sesame")
        page = SearchPage(reader, SearchQuery(name="V1500 Cyg"))
        assert 'class="aphos-error"' in page.status.value and OFFLINE in page.status.value
        assert page.rows == []
