"""Setting up the database: its login roles, the reader's limits, the database and its grants.

Role, database and function names are composed as identifiers (``psycopg.sql``), never
pasted into the text; passwords and settings as literals, since PostgreSQL's ``CREATE``,
``ALTER`` and ``GRANT`` take no parameters. The embedded catalogue's bootstrap
(:mod:`aphos_lib.db.bootstrap`, :mod:`aphos_lib.db.reader_limits`) runs them as a superuser;
the reader's watchdog runs :func:`overrunning_sessions` as the writer.

Examples
--------
>>> grant_function("pg_advisory_lock(bigint)", "aphos_writer").text()
'GRANT EXECUTE ON FUNCTION pg_catalog.pg_advisory_lock(bigint) TO "aphos_writer"'
"""

from __future__ import annotations

from collections.abc import Iterable

from psycopg import sql

from aphos_lib.queries.query import Query

__all__ = [
    "create_database",
    "database_exists",
    "existing_roles",
    "grant_function",
    "grant_role",
    "grant_temporary",
    "login_role",
    "overrunning_sessions",
    "read_only_by_default",
    "revoke_function",
    "revoke_temporary",
    "role_exists",
    "roles_with_password",
    "statement_timeout",
    "temp_file_limit",
]


def role_exists(role: str) -> Query:
    """A row when the role exists.

    Examples
    --------
    >>> role_exists("aphos_reader").params
    ('aphos_reader',)
    """
    return Query("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))


def existing_roles(roles: Iterable[str]) -> Query:
    """Which of these roles exist, one row each.

    Examples
    --------
    >>> existing_roles(["aphos_owner", "aphos_reader"]).params
    (['aphos_owner', 'aphos_reader'],)
    """
    return Query("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", (list(roles),))


def roles_with_password(roles: Iterable[str]) -> Query:
    """How many of these roles have a password (superuser only: it reads ``pg_authid``).

    Examples
    --------
    >>> "rolpassword IS NOT NULL" in roles_with_password(["aphos_owner"]).text()
    True
    """
    return Query(
        "SELECT count(*) FROM pg_authid WHERE rolname = ANY(%s) AND rolpassword IS NOT NULL",
        (list(roles),),
    )


def login_role(role: str, password: str | None, *, create: bool) -> Query:
    """Create the login role (``create``) or reset its password; None leaves it none, so it
    logs in only where peer authentication is allowed.

    Examples
    --------
    >>> login_role("aphos_writer", None, create=True).text()
    'CREATE ROLE "aphos_writer" LOGIN PASSWORD NULL'
    >>> login_role("aphos_reader", "s3cret", create=False).text()
    'ALTER ROLE "aphos_reader" LOGIN PASSWORD \\'s3cret\\''
    """
    return Query(
        sql.SQL("{} ROLE {} LOGIN PASSWORD {}").format(
            sql.SQL("CREATE" if create else "ALTER"), sql.Identifier(role), sql.Literal(password)
        )
    )


def read_only_by_default(role: str) -> Query:
    """The role's sessions start read-only (a default a session may change).

    Examples
    --------
    >>> read_only_by_default("aphos_reader").text()
    'ALTER ROLE "aphos_reader" SET default_transaction_read_only = on'
    """
    return Query(
        sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(sql.Identifier(role))
    )


def statement_timeout(role: str, timeout: str) -> Query:
    """The role's default statement timeout (a default a session may change).

    Examples
    --------
    >>> statement_timeout("aphos_reader", "60s").text()
    'ALTER ROLE "aphos_reader" SET statement_timeout = \\'60s\\''
    """
    return Query(
        sql.SQL("ALTER ROLE {} SET statement_timeout = {}").format(
            sql.Identifier(role), sql.Literal(timeout)
        )
    )


def temp_file_limit(role: str, limit: str) -> Query:
    """The most temporary file space a session of the role may use (superuser only; a
    session cannot raise it).

    Examples
    --------
    >>> temp_file_limit("aphos_reader", "2GB").text()
    'ALTER ROLE "aphos_reader" SET temp_file_limit = \\'2GB\\''
    """
    return Query(
        sql.SQL("ALTER ROLE {} SET temp_file_limit = {}").format(
            sql.Identifier(role), sql.Literal(limit)
        )
    )


def grant_role(role: str, member: str) -> Query:
    """Make ``member`` a member of ``role``.

    Examples
    --------
    >>> grant_role("aphos_reader", "aphos_writer").text()
    'GRANT "aphos_reader" TO "aphos_writer"'
    """
    return Query(sql.SQL("GRANT {} TO {}").format(sql.Identifier(role), sql.Identifier(member)))


def database_exists(dbname: str) -> Query:
    """A row when the database exists.

    Examples
    --------
    >>> database_exists("aphos").params
    ('aphos',)
    """
    return Query("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))


def create_database(dbname: str, owner: str) -> Query:
    """Create the database, owned by ``owner``, in UTF-8.

    Examples
    --------
    >>> create_database("aphos", "aphos_owner").text()
    'CREATE DATABASE "aphos" OWNER "aphos_owner" ENCODING \\'UTF8\\' TEMPLATE template0'
    """
    return Query(
        sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0").format(
            sql.Identifier(dbname), sql.Identifier(owner)
        )
    )


def revoke_temporary(dbname: str) -> Query:
    """Take from PUBLIC the right to create temporary tables in the database.

    Examples
    --------
    >>> revoke_temporary("aphos").text()
    'REVOKE TEMPORARY ON DATABASE "aphos" FROM PUBLIC'
    """
    return Query(
        sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM PUBLIC").format(sql.Identifier(dbname))
    )


def grant_temporary(dbname: str, role: str) -> Query:
    """Let ``role`` create temporary tables in the database.

    Examples
    --------
    >>> grant_temporary("aphos", "aphos_writer").text()
    'GRANT TEMPORARY ON DATABASE "aphos" TO "aphos_writer"'
    """
    return Query(
        sql.SQL("GRANT TEMPORARY ON DATABASE {} TO {}").format(
            sql.Identifier(dbname), sql.Identifier(role)
        )
    )


# A function is named by its signature, ``name(argument types)``, which an identifier cannot
# quote: only the fixed signatures of aphos_lib.db.reader_limits are passed here.
def revoke_function(signature: str) -> Query:
    """Take from PUBLIC the right to call ``pg_catalog.<signature>``.

    Examples
    --------
    >>> revoke_function("lo_create(oid)").text()
    'REVOKE EXECUTE ON FUNCTION pg_catalog.lo_create(oid) FROM PUBLIC'
    """
    return Query(sql.SQL(f"REVOKE EXECUTE ON FUNCTION pg_catalog.{signature} FROM PUBLIC"))


def grant_function(signature: str, role: str) -> Query:
    """Let ``role`` call ``pg_catalog.<signature>``.

    Examples
    --------
    >>> grant_function("lo_create(oid)", "aphos_writer").text()
    'GRANT EXECUTE ON FUNCTION pg_catalog.lo_create(oid) TO "aphos_writer"'
    """
    return Query(
        sql.SQL(f"GRANT EXECUTE ON FUNCTION pg_catalog.{signature} TO {{}}").format(
            sql.Identifier(role)
        )
    )


# Each overrunning statement of the login: cancelled, or its session ended when cancelling it
# earlier did not stop it (a cancel arrives only when the backend checks for interrupts). A
# session left idle inside a transaction past its own limit holds its locks and snapshot
# (blocking migrations and vacuum): it is ended.
_OVERRUNNING = """
    SELECT pid, CASE WHEN state = 'active'
                      AND now() - query_start <= make_interval(secs => %(terminate)s)
                     THEN pg_cancel_backend(pid) ELSE pg_terminate_backend(pid) END
    FROM pg_stat_activity
    WHERE usename = %(login)s AND pid <> pg_backend_pid()
      AND ((state = 'active' AND now() - query_start > make_interval(secs => %(limit)s))
           OR (state LIKE 'idle in transaction%%'
               AND now() - state_change > make_interval(secs => %(idle)s)))
"""


def overrunning_sessions(login: str, limit_s: float, terminate_s: float, idle_s: float) -> Query:
    """Cancel the statements of ``login`` running longer than ``limit_s`` seconds, end the
    sessions whose statement still runs after ``terminate_s`` or that stayed idle inside a
    transaction longer than ``idle_s``; ``(pid, whether it was signalled)`` of each.

    The reader's limits enforced from outside its sessions
    (:class:`aphos_lib.db.reader_limits.ReaderWatchdog`).

    Examples
    --------
    >>> q = overrunning_sessions("aphos_reader", 60.0, 70.0, 600.0)
    >>> q.params["terminate"]
    70.0
    >>> "pg_terminate_backend(pid)" in q.text()
    True
    """
    params = {"login": login, "limit": limit_s, "terminate": terminate_s, "idle": idle_s}
    return Query(_OVERRUNNING, params)
