"""The reader's limits, enforced where a reader's session cannot undo them.

``ALTER ROLE ... SET statement_timeout`` and ``default_transaction_read_only`` only give the
reader defaults: PostgreSQL lets every session ``SET`` them, and cannot forbid it. So:

- writing is prevented by privileges, not by the read-only setting: the reader has SELECT
  only, and neither the reader nor PUBLIC may create temporary tables in the catalogue or
  objects in ``public``, nor create large objects (migration 0012, :func:`restrict_database`);
- the statement timeout is enforced from outside by :class:`ReaderWatchdog`: a loop in a
  platform service (the worker) that cancels every statement of the reader's login that has
  run longer than the limit, and ends the session when a cancel did not stop it.

The watchdog connects as the writer, which is granted the reader role (bootstrap, migration
0012): members of a role see its sessions' statements and may cancel them, and the writer can
already read everything the reader can. When the reader shares the owner's login and only
switches role (``Catalogue.external`` without a reader URL: development only) its sessions
cannot be told apart and the watchdog watches nothing.
"""

from __future__ import annotations

import logging
import threading

import psycopg
from sqlalchemy.engine import make_url

from aphos_lib import queries
from aphos_lib.db.catalogue import ROLE_NAMES, Catalogue

__all__ = [
    "ADVISORY_LOCKS",
    "IDLE_IN_TRANSACTION_LIMIT_S",
    "READER_LIMIT_S",
    "ReaderWatchdog",
    "cancel_overrunning",
    "reader_login",
    "restrict_as_superuser",
    "restrict_database",
]

log = logging.getLogger("aphos_lib.db.reader_limits")

# A reader's statement may run this long (seconds), whatever it SETs.
READER_LIMIT_S = 60.0
# How often the watchdog looks (seconds): a statement runs at most this much over the limit.
WATCH_INTERVAL_S = 5.0
# A statement still running this long after the limit ignored its cancel: its session ends.
TERMINATE_AFTER_S = 10.0
# A reader's session may stay idle inside a transaction this long (seconds): long enough for
# an observer thinking between two cells of a notebook, short enough to bound its locks.
IDLE_IN_TRANSACTION_LIMIT_S = 600.0
# A reader's temporary files (sorts and hashes spilled to disk) may take this much; a
# superuser-only setting, which a session cannot raise.
READER_TEMP_FILE_LIMIT = "2GB"


def reader_login(catalogue: Catalogue) -> str | None:
    """The login the reader's sessions have, or None when they share another role's login."""
    url = make_url(catalogue.url("reader"))
    if "-crole" in str(url.query.get("options", "")):
        return None
    return url.username


def cancel_overrunning(
    conn: psycopg.Connection,
    login: str,
    limit_s: float = READER_LIMIT_S,
    idle_s: float = IDLE_IN_TRANSACTION_LIMIT_S,
) -> list[int]:
    """Cancel the statements of ``login`` running longer than ``limit_s``; their pids.

    A statement still running :data:`TERMINATE_AFTER_S` past the limit has its session ended,
    and so has a session idle inside a transaction for longer than ``idle_s``.
    """
    overrunning = queries.setup.overrunning_sessions(
        login, limit_s, limit_s + TERMINATE_AFTER_S, idle_s
    )
    return [pid for pid, _ in overrunning.rows(conn)]


class ReaderWatchdog:
    """A thread that enforces the reader's statement timeout every ``interval_s`` seconds.

    Parameters
    ----------
    catalogue : Catalogue
        Watched through its writer login.
    limit_s : float
        The longest a reader's statement may run.
    interval_s : float
        Seconds between looks.
    login : str, optional
        The login to watch; by default the reader's (:func:`reader_login`).
    idle_s : float
        The longest a reader's session may stay idle inside a transaction.

    Examples
    --------
    >>> with ReaderWatchdog(catalogue, limit_s=60):  # doctest: +SKIP
    ...     serve()
    """

    def __init__(
        self,
        catalogue: Catalogue,
        *,
        limit_s: float = READER_LIMIT_S,
        interval_s: float = WATCH_INTERVAL_S,
        login: str | None = None,
        idle_s: float = IDLE_IN_TRANSACTION_LIMIT_S,
    ) -> None:
        self.catalogue, self.limit_s, self.interval_s = catalogue, limit_s, interval_s
        self.idle_s = idle_s
        self.login = login or reader_login(catalogue)
        self.cancelled = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> ReaderWatchdog:
        if self.login is None:
            log.warning("the reader shares another role's login: its timeout is not enforced")
            return self
        self._thread = threading.Thread(target=self._run, name="reader-watchdog", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.interval_s + 5)

    def __enter__(self) -> ReaderWatchdog:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _run(self) -> None:
        conn = None
        while not self._stop.is_set():
            try:
                if conn is None or conn.closed:
                    conn = self.catalogue.connect("writer", autocommit=True, connect_timeout=5)
                pids = cancel_overrunning(conn, self.login, self.limit_s, self.idle_s)
                if pids:
                    self.cancelled += len(pids)
                    log.info("cancelled reader statements over %g s: %s", self.limit_s, pids)
            except psycopg.Error as e:  # the database restarting: try again next time
                log.warning("reader watchdog: %s", e)
                if conn is not None:
                    conn.close()
                conn = None
            self._stop.wait(self.interval_s)
        if conn is not None:
            conn.close()


# Large objects need no privilege to create: a reader that switched read-only off could fill
# the disk with them. Functions' privileges live in each database (a template passes them on).
LARGE_OBJECT_WRITERS = ("lo_create(oid)", "lo_creat(integer)", "lo_from_bytea(oid, bytea)")


ADVISORY_LOCKS = tuple(
    f"pg_{try_}advisory_{xact}lock{shared}({args})"
    for try_ in ("", "try_")
    for xact in ("", "xact_")
    for shared in ("", "_shared")
    for args in ("bigint", "integer, integer")
)


def restrict_database(conn: psycopg.Connection, dbname: str) -> None:
    """Take temporary tables from PUBLIC in ``dbname``; the database owner and writer keep them.

    Database privileges are not copied by ``CREATE DATABASE ... TEMPLATE``: a database made
    from a migrated template needs this again (migration 0012 does it for the catalogue).
    """
    queries.setup.revoke_temporary(dbname).run(conn)
    queries.setup.grant_temporary(dbname, ROLE_NAMES["writer"]).run(conn)


def restrict_as_superuser(conn: psycopg.Connection) -> None:
    """What only a superuser may do, in the database ``conn`` is on (the embedded bootstrap).

    The writer becomes a member of the reader (to watch its sessions), and large objects can
    be created only by the writer (and superusers).
    """
    setup = queries.setup
    reader, writer, owner = (ROLE_NAMES[k] for k in ("reader", "writer", "owner"))
    setup.grant_role(reader, writer).run(conn)
    # Session-long advisory locks would let a reader stall the ingest's fold and the migrations
    # (they take fixed keys): only the writer and the owner may take them.
    for function in ADVISORY_LOCKS:
        setup.revoke_function(function).run(conn)
        setup.grant_function(function, writer).run(conn)
        setup.grant_function(function, owner).run(conn)
    setup.temp_file_limit(reader, READER_TEMP_FILE_LIMIT).run(conn)
    for function in LARGE_OBJECT_WRITERS:
        setup.revoke_function(function).run(conn)
        setup.grant_function(function, writer).run(conn)
