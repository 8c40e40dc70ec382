"""The read-only connection pools of the api service, opened on first use."""

from __future__ import annotations

import threading
from collections.abc import Callable

import psycopg
from psycopg_pool import ConnectionPool

from aphos_lib.db.catalogue import Catalogue

__all__ = ["LazyPool"]


class LazyPool:
    """A pool of read-only connections opened on first use, so that creating the application
    never needs the database.

    Parameters
    ----------
    catalogue : callable
        Returns the catalogue to read (called when the pool opens).
    size : int
        At most this many connections.
    name : str
        The pool's name in psycopg's log.
    statement_timeout : float
        Seconds a query may run on these connections.
    """

    def __init__(
        self, catalogue: Callable[[], Catalogue], size: int, name: str, statement_timeout: float
    ) -> None:
        self.size, self.name = size, name
        self._catalogue = catalogue
        self._timeout_ms = max(1, round(statement_timeout * 1000))
        self._pool: ConnectionPool | None = None
        self._lock = threading.Lock()

    def _configure(self, conn: psycopg.Connection) -> None:
        # The reader role's own timeout is the catalogue's ceiling for every client; the API
        # answers well before the proxy in front of it gives up.
        conn.execute(f"SET statement_timeout = {self._timeout_ms}")

    def pool(self) -> ConnectionPool:
        """The open pool (opened now when it is not yet)."""
        with self._lock:
            if self._pool is None:
                self._pool = ConnectionPool(
                    self._catalogue().conninfo("reader"),
                    min_size=1,
                    max_size=self.size,
                    open=True,
                    name=self.name,
                    kwargs={"autocommit": True},
                    configure=self._configure,
                    check=ConnectionPool.check_connection,
                )
            return self._pool

    def connection(self):
        """A connection for a ``with`` block (``ConnectionPool.connection``)."""
        return self.pool().connection()

    def close(self) -> None:
        """Close the pool, if it was opened; the next use opens a new one."""
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None
