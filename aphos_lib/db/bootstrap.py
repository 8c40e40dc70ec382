"""Setting up the embedded catalogue: roles and their logins, the database, the schema.

The owner and the writer log in by peer authentication over the unix socket (which system
accounts may is :mod:`aphos_lib.db.access`): they have no password. The reader, the public
read-only login, has a generated one kept in ``$APHOS_HOME/secrets`` (root-only when root).

Idempotent and safe to run from several processes at once: the server start is serialised by
:class:`~aphos_lib.db.embedded.EmbeddedPostgres`, and role and database creation tolerate
another process having just done the same.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import psycopg

from aphos_lib import queries
from aphos_lib.db.catalogue import (
    DATABASE,
    READER_STATEMENT_TIMEOUT,
    ROLE_NAMES,
    Catalogue,
    new_password,
    socket_url,
)
from aphos_lib.db.embedded import EmbeddedPostgres, EmbeddedPostgresError
from aphos_lib.db.reader_limits import restrict_as_superuser

__all__ = ["embedded_catalogue", "ensure_roles", "role_password"]


def role_password(home: Path, role: str) -> tuple[str, bool]:
    """The role's password from ``home/secrets``, created (mode 0600) when missing.

    Returns the password and whether it was just created.
    """
    path = home / "secrets" / f"{ROLE_NAMES[role]}.password"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        return path.read_text().strip(), False
    except FileNotFoundError:
        password = new_password()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(password + "\n")
        return password, True


def ensure_roles(conn: psycopg.Connection, passwords: Mapping[str, str | None]) -> None:
    """Create the three login roles (or reset their passwords) and the reader's limits.

    A role whose password is None gets none: it can then log in only where pg_hba.conf
    allows peer authentication.
    """
    conn.autocommit = True
    for role, password in passwords.items():
        name = ROLE_NAMES[role]
        exists = queries.setup.role_exists(name).one(conn)
        try:
            queries.setup.login_role(name, password, create=not exists).run(conn)
        except psycopg.errors.DuplicateObject:
            # Another process created it between our check and our CREATE.
            queries.setup.login_role(name, password, create=False).run(conn)
    reader = ROLE_NAMES["reader"]
    queries.setup.read_only_by_default(reader).run(conn)
    queries.setup.statement_timeout(reader, READER_STATEMENT_TIMEOUT).run(conn)


def _has_peer_password(conn: psycopg.Connection) -> bool:
    """Whether the owner or the writer still has a password (set before they logged in by peer)."""
    peers = [ROLE_NAMES["owner"], ROLE_NAMES["writer"]]
    return bool(queries.setup.roles_with_password(peers).value(conn))


def ensure_database(conn: psycopg.Connection, dbname: str, owner: str) -> None:
    """Create the database owned by ``owner`` unless it exists."""
    conn.autocommit = True
    if queries.setup.database_exists(dbname).one(conn):
        return
    try:
        queries.setup.create_database(dbname, owner).run(conn)
    except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
        pass


def embedded_catalogue(
    home: Path,
    *,
    start: bool = True,
    dbname: str = DATABASE,
    settings: Mapping[str, str] | None = None,
    upgrade: bool = True,
) -> Catalogue:
    """Start (when asked) and set up the embedded catalogue under ``home``.

    Parameters
    ----------
    home : Path
        ``$APHOS_HOME``.
    start : bool
        Start the server when it is not running; otherwise it must already run.
    dbname : str
        The catalogue database's name.
    settings : mapping, optional
        Extra server settings (tests turn ``fsync`` off).
    upgrade : bool
        Bring the schema to the latest migration.
    """
    server = EmbeddedPostgres(home, settings=settings)
    status = server.start() if start else server.status()
    if not status.running:
        raise EmbeddedPostgresError(
            f"the embedded database under {home} is not running; start it with 'aphos db start'"
        )
    reader_password, created = role_password(home, "reader")
    passwords = {"owner": None, "writer": None, "reader": reader_password}
    with psycopg.connect(server.superuser_dsn(), autocommit=True) as conn:
        have = {r[0] for r in queries.setup.existing_roles(ROLE_NAMES.values()).rows(conn)}
        if created or have != set(ROLE_NAMES.values()) or _has_peer_password(conn):
            ensure_roles(conn, passwords)
            for role in ("owner", "writer"):  # kept by earlier versions; no longer used
                (home / "secrets" / f"{ROLE_NAMES[role]}.password").unlink(missing_ok=True)
        ensure_database(conn, dbname, ROLE_NAMES["owner"])
    catalogue = Catalogue(
        {
            role: socket_url(
                ROLE_NAMES[role], passwords[role], status.socket_dir, status.port, dbname
            )
            for role in ROLE_NAMES
        },
        embedded_home=home,
    )
    if upgrade:
        from aphos_lib.db.migrate import upgrade as run_upgrade

        run_upgrade(catalogue)
        # What migration 0012 leaves to a superuser: idempotent, so done at every start.
        with psycopg.connect(server.superuser_dsn(dbname), autocommit=True) as conn:
            restrict_as_superuser(conn)
    return catalogue
