"""Where the catalogue database is and how each role connects to it.

Three database roles (docs/architecture.md, security model):

- ``owner`` runs the migrations and owns the tables;
- ``writer`` is used only by the ingest, the api and the worker services;
- ``reader`` is used by dashboards and user kernels: SELECT only, read-only transactions and a
  statement timeout, so nothing a user's kernel holds can change the catalogue.

By default the catalogue is the embedded PostgreSQL under ``$APHOS_HOME`` (``./var``): its owner
and writer log in over the unix socket by peer authentication (only from the system accounts
that :mod:`aphos_lib.db.access` names), the reader with a generated password kept in
``$APHOS_HOME/secrets``. ``APHOS_DATABASE_URL``
selects an external PostgreSQL >= 15 instead (the owner's URL) and then nothing embedded
starts; ``APHOS_DATABASE_URL_WRITER`` and ``APHOS_DATABASE_URL_READER`` give the other roles
their own logins, and without them they connect with the owner's login and switch role at
connection start (fine for development, not a security boundary).
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psycopg
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

__all__ = ["ROLE_NAMES", "Catalogue", "aphos_home"]

ROLE_NAMES = {"owner": "aphos_owner", "writer": "aphos_writer", "reader": "aphos_reader"}
DATABASE = "aphos"
READER_STATEMENT_TIMEOUT = "60s"
# Idle raw connections a catalogue keeps per role for reuse (see Catalogue.pooled).
POOLED_PER_ROLE = 4


def aphos_home(env: Mapping[str, str] | None = None) -> Path:
    """``$APHOS_HOME``: where the embedded database and secrets live (``env``: the process's
    environment by default). The one place its default is decided.

    By default the ``var`` folder of the APhoS checkout the current directory is in (so a
    notebook opened in ``notebooks/`` finds ``make demo``'s catalogue), else ``./var``.
    """
    env = os.environ if env is None else env
    if env.get("APHOS_HOME"):
        return Path(env["APHOS_HOME"]).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "aphos_lib" / "db").is_dir() and (folder / "pyproject.toml").is_file():
            return folder / "var"
    return here / "var"


def _sqlalchemy_url(url: str) -> str:
    """Use the psycopg 3 driver whatever form of PostgreSQL URL was given."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _with_role(url: str, role: str) -> str:
    parsed = make_url(url)
    query = dict(parsed.query)
    query["options"] = f"-crole={role}"
    return parsed.set(query=query).render_as_string(hide_password=False)


@dataclass
class Catalogue:
    """Connection details of one catalogue database, per role.

    Parameters
    ----------
    urls : dict
        SQLAlchemy URLs for ``owner``, ``writer`` and ``reader``.
    embedded_home : Path, optional
        Set when the database is the embedded server under this home.

    Examples
    --------
    >>> cat = Catalogue.external("postgresql://me@db.example.org/aphos")
    >>> cat.url("reader").endswith("options=-crole%3Daphos_reader")
    True
    """

    urls: dict[str, str]
    embedded_home: Path | None = None
    _engines: dict[str, Engine] = field(default_factory=dict, repr=False)
    _idle: dict[str, list[psycopg.Connection]] = field(default_factory=dict, repr=False)
    _idle_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def external(
        cls, url: str, *, writer_url: str | None = None, reader_url: str | None = None
    ) -> Catalogue:
        """A catalogue on an external PostgreSQL; ``url`` is the owner's."""
        owner = _sqlalchemy_url(url)
        return cls(
            {
                "owner": owner,
                "writer": _sqlalchemy_url(writer_url)
                if writer_url
                else _with_role(owner, ROLE_NAMES["writer"]),
                "reader": _sqlalchemy_url(reader_url)
                if reader_url
                else _with_role(owner, ROLE_NAMES["reader"]),
            }
        )

    @classmethod
    def embedded(cls, home: Path | None = None, *, start: bool = True) -> Catalogue:
        """The embedded catalogue under ``home`` (``$APHOS_HOME``), started and set up.

        Starting is idempotent and safe from several processes at once; the first start
        creates the roles and the database, and brings the schema to the latest migration.
        """
        from aphos_lib.db import bootstrap

        return bootstrap.embedded_catalogue(home or aphos_home(), start=start, upgrade=start)

    @classmethod
    def from_environment(cls, *, start: bool = True) -> Catalogue:
        """The external catalogue named by ``APHOS_DATABASE_URL``, else the embedded one."""
        url = os.environ.get("APHOS_DATABASE_URL")
        if url:
            return cls.external(
                url,
                writer_url=os.environ.get("APHOS_DATABASE_URL_WRITER"),
                reader_url=os.environ.get("APHOS_DATABASE_URL_READER"),
            )
        return cls.embedded(start=start)

    def for_database(self, dbname: str) -> Catalogue:
        """The same server and roles, another database (tests clone one per test)."""
        return Catalogue(
            {
                role: make_url(u).set(database=dbname).render_as_string(hide_password=False)
                for role, u in self.urls.items()
            },
            embedded_home=self.embedded_home,
        )

    def url(self, role: str = "owner") -> str:
        """The SQLAlchemy URL (``postgresql+psycopg://...``) for a role."""
        return self.urls[role]

    def conninfo(self, role: str = "owner") -> str:
        """A libpq URL for a role, for psycopg or psql."""
        return (
            make_url(self.urls[role])
            .set(drivername="postgresql")
            .render_as_string(hide_password=False)
        )

    def engine(self, role: str = "owner") -> Engine:
        """A SQLAlchemy engine for a role, created once per catalogue."""
        if role not in self._engines:
            self._engines[role] = create_engine(self.urls[role], pool_pre_ping=True)
        return self._engines[role]

    def connect(self, role: str = "owner", **kwargs) -> psycopg.Connection:
        """A raw psycopg connection for a role (COPY and other bulk work)."""
        return psycopg.connect(self.conninfo(role), **kwargs)

    @contextmanager
    def pooled(self, role: str = "writer") -> Iterator[psycopg.Connection]:
        """A raw connection for a role, kept open for the next caller when this one is done.

        Logging in costs about 6 ms per connection here (SCRAM), as much as storing a third
        of a SIPS file, and an ingest batch uses two. A connection goes back only when it
        is idle (no transaction left open) and the block raised nothing; otherwise it is
        closed. Callers never wait for one: when none is idle, a new one is opened.
        """
        conn = self._take_idle(role) or psycopg.connect(self.conninfo(role))
        try:
            yield conn
        except BaseException:
            conn.close()
            raise
        idle = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        with self._idle_lock:
            pool = self._idle.setdefault(role, [])
            if idle and not conn.closed and len(pool) < POOLED_PER_ROLE:
                pool.append(conn)
                return
        conn.close()

    def _take_idle(self, role: str) -> psycopg.Connection | None:
        while True:
            with self._idle_lock:
                pool = self._idle.get(role)
                if not pool:
                    return None
                conn = pool.pop()
            # Still connected? (The server may have restarted.) An empty query at the libpq
            # level: through psycopg it would open a transaction on this connection.
            result = conn.pgconn.exec_(b"")
            if result.status == psycopg.pq.ExecStatus.EMPTY_QUERY:
                return conn
            conn.close()

    def dispose(self) -> None:
        """Close every pooled connection."""
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()
        with self._idle_lock:
            pools, self._idle = self._idle, {}
        for conn in (c for pool in pools.values() for c in pool):
            conn.close()


def new_password() -> str:
    """A random password that needs no quoting in a URL."""
    return secrets.token_urlsafe(24)


def socket_url(user: str, password: str | None, socket_dir: Path, port: int, dbname: str) -> str:
    """A SQLAlchemy URL over a unix socket; without a password for a peer-authenticated role."""
    login = quote(user) if password is None else f"{quote(user)}:{quote(password)}"
    return (
        f"postgresql+psycopg://{login}@/{quote(dbname)}?host={quote(str(socket_dir))}&port={port}"
    )
