"""Who may log in to the embedded PostgreSQL as which role: its pg_hba.conf and pg_ident.conf.

- the superuser (``postgres``) and the owner only over the unix socket, by peer
  authentication, from the server's own system account (and root);
- the writer only over the socket, by peer authentication, from the api's and the worker's
  accounts (and root, for ``aphos ingest``; and the server's account);
- the reader from anyone who has its password (scram-sha-256), over the socket or TCP on
  loopback. Workspaces are given that password: it is the public, read-only login.

Root is mapped because root can become any account anyway (``su aphos-pg``): mapping it
gives nothing away. Run as a normal user, the server's account is that user, so every part
of the platform (one account) can log in as every role, as before.
"""

from __future__ import annotations

from aphos_lib.accounts import WRITER_ACCOUNTS
from aphos_lib.db.catalogue import ROLE_NAMES

__all__ = ["ADMIN_MAP", "WRITER_MAP", "pg_hba", "pg_ident"]

ADMIN_MAP = "aphos_admin"
WRITER_MAP = "aphos_writer"
SUPERUSER = "postgres"


def pg_hba() -> str:
    """The server's ``pg_hba.conf``: any login not listed here is refused."""
    owner, writer, reader = ROLE_NAMES["owner"], ROLE_NAMES["writer"], ROLE_NAMES["reader"]
    return f"""\
# Written by aphos_lib.db.access at every start; see that module for who may log in as what.
# TYPE  DATABASE  USER                  ADDRESS        METHOD
local   all       {SUPERUSER},{owner}                  peer map={ADMIN_MAP}
local   all       {writer}                             peer map={WRITER_MAP}
local   all       {reader}                             scram-sha-256
host    all       {reader}              127.0.0.1/32   scram-sha-256
host    all       {reader}              ::1/128        scram-sha-256
"""


def pg_ident(server_account: str) -> str:
    """The server's ``pg_ident.conf``: which system accounts the peer logins map to."""
    rows = [
        (ADMIN_MAP, account, role)
        for account in (server_account, "root")
        for role in (SUPERUSER, ROLE_NAMES["owner"])
    ]
    rows += [
        (WRITER_MAP, account, ROLE_NAMES["writer"])
        for account in dict.fromkeys((server_account, "root", *WRITER_ACCOUNTS))
    ]
    lines = [
        "# Written by aphos_lib.db.access at every start.",
        "# MAPNAME      SYSTEM-USERNAME   PG-USERNAME",
    ]
    lines += [f"{m:<14} {a:<17} {r}" for m, a, r in rows]
    return "\n".join(lines) + "\n"
