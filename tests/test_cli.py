"""The ``aphos`` command as an observer runs it: embedded database, ingest, stats."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from aphos_lib.db.migrate import head_revision

from conftest import EXTERNAL_DEFAULT, FIXTURES, external_url, fixture_path, make_home

pytestmark = [pytest.mark.catalogue, pytest.mark.slow]
APHOS = str(Path(sys.executable).with_name("aphos"))


def run(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([APHOS, *args], env=env, capture_output=True, text=True, timeout=300)
    if check and done.returncode != 0:
        raise AssertionError(f"aphos {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return done


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APHOS_")}
    env.update(extra)
    return env


def _aphos_home(prefix: str) -> Iterator[tuple[Path, dict[str, str]]]:
    """An APHOS_HOME and the environment naming it; its database stopped and removed after."""
    path = make_home(prefix)
    env = clean_env(APHOS_HOME=str(path))
    try:
        yield path, env
    finally:
        subprocess.run([APHOS, "db", "stop"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def home():
    yield from _aphos_home("aphos-cli-")


def test_db_start_status_url_and_stop(home):
    path, env = home
    assert run("db", "status", env=env, check=False).returncode == 3
    started = run("db", "start", env=env).stdout
    assert "embedded PostgreSQL 18" in started
    assert f"schema at revision {head_revision()}" in started
    assert "running" in run("db", "status", env=env).stdout
    reader = run("db", "url", "--role", "reader", env=env).stdout.strip()
    with psycopg.connect(reader) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("aphos_reader",)
        assert conn.execute("SHOW transaction_read_only").fetchone() == ("on",)
    assert (path / "pgdata" / "PG_VERSION").read_text().strip() == "18"
    run("db", "stop", env=env)
    assert run("db", "status", env=env, check=False).returncode == 3
    run("db", "start", env=env)  # and again, for the tests below


def test_ingest_json_reports_every_file_and_exit_code(home):
    _, env = home
    names = [
        "correct_file.csv",
        "correct_file_shorter_header.csv",
        "correct_file_missing_scheme.csv",
        "few_lines_incorrect.csv",
        "incorrect_missing_initial_info.csv",
        "scheme_missing.csv",
    ]
    done = run(
        "ingest",
        "--observer",
        "novak",
        "--json",
        *[str(fixture_path(n)) for n in names],
        env=env,
        check=False,
    )
    assert done.returncode == 1  # two files were rejected
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(o["file"], o["status"], o["fluxes"], o["matched"], o["unmatched"]) for o in lines] == [
        ("correct_file.csv", "stored", 2671, 1987, 684),
        ("correct_file_shorter_header.csv", "stored", 178, 178, 0),
        ("correct_file_missing_scheme.csv", "stored", 1, 1, 0),
        ("few_lines_incorrect.csv", "stored", 66, 66, 0),
        ("incorrect_missing_initial_info.csv", "rejected", 0, 0, 0),
        ("scheme_missing.csv", "rejected", 0, 0, 0),
    ]
    assert lines[3]["rejected_rows"] == [
        {"line": 32, "reason": "expected 26 fields separated by ';', found 20"},
        {"line": 35, "reason": "Dec: '+67 aa 07.24' is not a sexagesimal angle like '12 34 56.7'"},
    ]
    assert lines[4]["error"].startswith("incorrect_missing_initial_info.csv: missing header")
    assert set(lines[0]) == {
        "file",
        "status",
        "fluxes",
        "matched",
        "unmatched",
        "rejected_rows",
        "rejected_count",
        "warnings",
        "warning_count",
        "new_sources",
        "error",
    }
    assert (lines[0]["rejected_count"], lines[3]["rejected_count"]) == (0, 2)
    assert lines[0]["new_sources"] == 658 + 26  # the unmatched rows and the second sources
    assert lines[0]["warning_count"] == len(lines[0]["warnings"]) == 26
    assert lines[0]["warnings"][4] == (
        "line 2355: a second source matched to UCAC4 778-043526 (line 2277 is nearer); "
        "stored without the catalogue match"
    )
    again = run(
        "ingest", "--observer", "novak", "--json", str(fixture_path("correct_file.csv")), env=env
    )
    assert json.loads(again.stdout)["status"] == "duplicate"
    stats = json.loads(run("stats", "--json", env=env).stdout)
    assert stats["images"] == 4 and stats["fluxes"] == 2671 + 178 + 1 + 66
    assert stats["observers"] == 1


def test_ingest_human_output_names_file_line_and_reason(home):
    _, env = home
    done = run(
        "ingest",
        "--observer",
        "svoboda",
        str(fixture_path("few_lines_incorrect.csv")),
        str(fixture_path("scheme_missing.csv")),
        env=env,
        check=False,
    )
    assert done.returncode == 1
    out = done.stdout
    assert "few_lines_incorrect.csv: stored 66 fluxes (66 matched, 0 unmatched), 2 rows" in out
    assert "few_lines_incorrect.csv: line 32: expected 26 fields" in out
    assert "scheme_missing.csv: rejected: scheme_missing.csv: no table header row" in out


@pytest.fixture
def fresh_home():
    """A catalogue of its own: what a file founds does not depend on the tests before it."""
    yield from _aphos_home("aphos-cli-fresh-")


def test_ingest_lists_the_first_rejected_rows_and_counts_them_all(fresh_home, tmp_path):
    _, env = fresh_home
    data = fixture_path("correct_file.csv").read_bytes()
    head, _, body = data.partition(b"\r\nName;")
    table_header, _, rows = body.partition(b"\r\n")
    thrice = tmp_path / "thrice.csv"  # the table pasted three times: 2 x 2,671 repeated rows
    thrice.write_bytes(head + b"\r\nName;" + table_header + b"\r\n" + rows * 3)
    out = run("ingest", "--observer", "dvorak", str(thrice), env=env).stdout.splitlines()
    assert out[0] == (
        "thrice.csv: stored 2671 fluxes (1987 matched, 684 unmatched: 684 new APhoS sources), "
        "5342 rows rejected"
    )
    assert out[1] == "  thrice.csv: line 2696: duplicate of line 25"
    assert [line.split(": ")[1] for line in out[1:21]] == [f"line {n}" for n in range(2696, 2716)]
    assert out[21] == "  thrice.csv: ... and 5322 more rows rejected"
    assert out[22] == (
        "  thrice.csv: warning: line 2267: a second source matched to UCAC4 "
        "796-032365 (line 2017 is nearer); stored without the catalogue match"
    )
    assert len(out) == 22 + 20 + 1 and out[-1] == "  thrice.csv: ... and 6 more warnings"
    done = json.loads(run("ingest", "--observer", "kral", "--json", str(thrice), env=env).stdout)
    assert (done["fluxes"], done["rejected_count"], done["warning_count"]) == (2671, 5342, 26)
    assert len(done["rejected_rows"]) == 1000 and len(done["warnings"]) == 26
    assert done["rejected_rows"][-1] == {"line": 3695, "reason": "duplicate of line 1024"}


def test_ingest_says_how_many_new_sources_a_file_founded(home, tmp_path):
    _, env = home
    text = fixture_path("correct_file.csv").read_bytes().decode("latin-1")
    head, _, body = text.partition("\r\nName;")
    table_header, _, rows = body.partition("\r\n")
    unmatched = [
        r.split(";") for r in rows.split("\r\n") if r.count(";") > 12 and not r.split(";")[6]
    ]
    # Three of its uncatalogued stars, moved 3 degrees south where no source is yet.
    moved = [";".join([*f[:5], f"+65 2{i} 00.00", *f[6:]]) for i, f in enumerate(unmatched[:3])]
    far = tmp_path / "far.csv"
    far.write_bytes(
        (
            head.replace("2021-11-06", "2021-11-08")
            + "\r\nName;"
            + table_header
            + "\r\n"
            + "\r\n".join(moved)
            + "\r\n"
        ).encode("latin-1")
    )
    out = run("ingest", "--observer", "novak", str(far), env=env).stdout.splitlines()
    assert out == ["far.csv: stored 3 fluxes (0 matched, 3 unmatched: 3 new APhoS sources)"]


def test_bad_observer_name_is_refused(home):
    _, env = home
    done = run(
        "ingest", "--observer", "x", str(fixture_path("correct_file.csv")), env=env, check=False
    )
    assert done.returncode == 2 and "must be 2-32 characters" in done.stderr


def test_external_database_url_is_used_and_nothing_embedded_starts(tmp_path):
    server = external_url()
    if server is None:
        pytest.skip(f"no external PostgreSQL answers at {EXTERNAL_DEFAULT}")
    name = "aphos_cli_external"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    env = clean_env(APHOS_HOME=str(tmp_path / "home"), APHOS_DATABASE_URL=url)
    try:
        assert "nothing embedded to start" in run("db", "start", env=env).stdout
        upgraded = run("db", "upgrade", env=env).stdout.strip()
        assert upgraded == f"schema at revision {head_revision()}"
        done = run(
            "ingest", "--observer", "novak", "--json", str(FIXTURES / "correct_file.csv"), env=env
        )
        assert json.loads(done.stdout)["fluxes"] == 2671
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM flux").fetchone() == (2671,)
            version = conn.execute("SELECT current_setting('server_version_num')::int").fetchone()
            assert version[0] // 10000 == 15
        assert not (tmp_path / "home" / "pgdata").exists()
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
