"""The reader's limits hold even when a reader's session SETs its own timeout and read-only off.

A reader can ``SET statement_timeout = 0``: PostgreSQL cannot forbid it. The watchdog
(:mod:`aphos_lib.db.reader_limits`) cancels its statement anyway, and privileges, not the
read-only setting, keep it from creating anything.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from aphos_lib.db.catalogue import ROLE_NAMES
from aphos_lib.db.reader_limits import ReaderWatchdog, reader_login

pytestmark = [pytest.mark.catalogue, pytest.mark.serial]
LIMIT_S = 1.0
CREATIONS = (
    "CREATE TEMP TABLE scratch (x int)",
    "CREATE TABLE public.scratch (x int)",
    "CREATE FUNCTION public.f() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "SELECT lo_create(0)",
    "SELECT lo_from_bytea(0, 'x')",
    "DELETE FROM flux",
    # what would let a reader stall others or the disk: the ingest's and migrations' lock
    # keys, and its own temporary files' limit
    "SELECT pg_advisory_lock(7046117200)",
    "SELECT pg_try_advisory_xact_lock_shared(4270001)",
    "SET temp_file_limit = -1",
)


@pytest.fixture
def reader(server, catalogue) -> Iterator[tuple[str, str]]:
    """A reader's own login to the catalogue: its URL and its name.

    The embedded catalogue has one (``aphos_reader``). The tests' external server lets the
    reader switch role from the owner's login, which no watchdog can tell apart: there a
    login of its own is made a member of the reader, as an administrator would.
    """
    if server.kind == "embedded":
        assert reader_login(catalogue) == ROLE_NAMES["reader"]
        yield catalogue.conninfo("reader"), ROLE_NAMES["reader"]
        return
    assert reader_login(catalogue) is None
    login = f"aphos_reader_t{uuid.uuid4().hex[:8]}"
    role = sql.Identifier(login)
    with psycopg.connect(server.superuser, autocommit=True) as conn:
        member_of = sql.Identifier(ROLE_NAMES["reader"])
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(role, member_of))
        conn.execute(sql.SQL("GRANT {} TO {}").format(role, sql.Identifier(ROLE_NAMES["writer"])))
    database = make_url(catalogue.url("owner")).database
    url = make_url(server.superuser).set(username=login, database=database)
    try:
        yield url.render_as_string(hide_password=False), login
    finally:
        with psycopg.connect(server.superuser, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                (login,),
            )
            conn.execute(sql.SQL("DROP ROLE {}").format(role))


def test_a_reader_that_lifts_its_timeout_is_stopped_by_the_watchdog(catalogue, reader):
    url, login = reader
    with ReaderWatchdog(catalogue, limit_s=LIMIT_S, interval_s=0.25, login=login) as watchdog:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET statement_timeout = 0")
            conn.execute("SET default_transaction_read_only = off")
            start = time.monotonic()
            with pytest.raises(psycopg.errors.QueryCanceled):
                conn.execute("SELECT pg_sleep(30)")
            elapsed = time.monotonic() - start
            # Only the statement was stopped: the session goes on, and a short one is left be.
            assert conn.execute("SELECT count(*) FROM image").fetchone() == (0,)
            conn.execute("SELECT pg_sleep(0.3)")
    assert LIMIT_S <= elapsed < LIMIT_S + 3
    assert watchdog.cancelled == 1
    print(f"\nreader's pg_sleep(30), statement_timeout 0: cancelled after {elapsed:.2f} s")


def test_a_reader_with_read_only_off_can_create_nothing(catalogue, reader):
    url, _ = reader
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET default_transaction_read_only = off")
        for statement in CREATIONS:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
    with catalogue.connect("writer", autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE scratch (x int)")  # the writer keeps its temp tables


def test_a_reader_idle_inside_a_transaction_is_ended(catalogue, reader):
    url, login = reader
    with ReaderWatchdog(
        catalogue, limit_s=LIMIT_S, interval_s=0.25, login=login, idle_s=LIMIT_S
    ) as watchdog:
        with psycopg.connect(url) as conn:  # not autocommit: the SELECT opens a transaction
            conn.execute("SELECT count(*) FROM image")
            time.sleep(LIMIT_S + 1.5)
            with pytest.raises(psycopg.OperationalError):
                conn.execute("SELECT 1")
        with psycopg.connect(url) as conn:  # a session that commits is left be
            conn.execute("SELECT count(*) FROM image")
            conn.commit()
            time.sleep(LIMIT_S + 1.0)
            assert conn.execute("SELECT 1").fetchone() == (1,)
    assert watchdog.cancelled == 1
