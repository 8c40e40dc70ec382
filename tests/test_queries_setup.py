"""The database set-up's statements, looked at without running them (aphos_lib.queries.setup)."""

from __future__ import annotations

from aphos_lib.db.reader_limits import ADVISORY_LOCKS, LARGE_OBJECT_WRITERS
from aphos_lib.queries import setup


def test_names_are_quoted_as_identifiers_and_passwords_as_literals():
    odd = 'a"b; DROP ROLE x'
    assert setup.login_role(odd, "it's", create=True).text() == (
        "CREATE ROLE \"a\"\"b; DROP ROLE x\" LOGIN PASSWORD 'it''s'"
    )
    assert setup.login_role("r", None, create=False).text() == 'ALTER ROLE "r" LOGIN PASSWORD NULL'
    assert setup.create_database(odd, "o").text().startswith('CREATE DATABASE "a""b; DROP ROLE x"')
    assert setup.grant_role("reader", odd).text() == 'GRANT "reader" TO "a""b; DROP ROLE x"'


def test_the_readers_defaults_and_limits():
    assert setup.read_only_by_default("aphos_reader").text() == (
        'ALTER ROLE "aphos_reader" SET default_transaction_read_only = on'
    )
    assert (
        setup.statement_timeout("aphos_reader", "60s")
        .text()
        .endswith("SET statement_timeout = '60s'")
    )
    assert (
        setup.temp_file_limit("aphos_reader", "2GB").text().endswith("SET temp_file_limit = '2GB'")
    )


def test_every_guarded_function_is_revoked_from_public_and_granted_by_name():
    for signature in ADVISORY_LOCKS + LARGE_OBJECT_WRITERS:
        assert setup.revoke_function(signature).text() == (
            f"REVOKE EXECUTE ON FUNCTION pg_catalog.{signature} FROM PUBLIC"
        )
        assert setup.grant_function(signature, "w").text() == (
            f'GRANT EXECUTE ON FUNCTION pg_catalog.{signature} TO "w"'
        )


def test_the_watchdog_cancels_then_terminates_and_ends_idle_transactions():
    q = setup.overrunning_sessions("aphos_reader", 60.0, 70.0, 600.0)
    assert q.params == {"login": "aphos_reader", "limit": 60.0, "terminate": 70.0, "idle": 600.0}
    text = " ".join(q.text().split())
    assert "now() - query_start <= make_interval(secs => %(terminate)s)" in text
    assert "THEN pg_cancel_backend(pid) ELSE pg_terminate_backend(pid)" in text
    assert "usename = %(login)s AND pid <> pg_backend_pid()" in text  # never itself
    assert "state LIKE 'idle in transaction%%'" in text  # a literal % once rendered
    assert "now() - state_change > make_interval(secs => %(idle)s)" in text
