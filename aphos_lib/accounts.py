"""Unix system accounts: one per observer's workspace and one per service, when run as root.

Run as root (``make demo`` on a fresh server), the platform separates its parts as the
littlest JupyterHub does: each hub user's workspace runs as an unprivileged account of its
own (:func:`workspace_account`, created on first spawn), and the api, worker and dashboards
services each as theirs (:data:`SERVICE_ACCOUNTS`); PostgreSQL already runs as its own
(``aphos-pg``, :mod:`aphos_lib.db.embedded`). The hub itself runs as :data:`HUB_ACCOUNT` and
asks a small launcher that stays root to switch accounts for it
(:mod:`aphos_lib.hub.launcher`, :func:`launcher_socket`). Files, secrets and database logins
then belong to the account that uses them. Run as a normal user, everything runs as that one
user and nothing is isolated (:func:`isolated` is False).

Examples
--------
>>> workspace_account("local-novak")
'aphos-local-novak'
>>> workspace_account("google-108234567890123456789")
'aphos-google-10823456789-f58efb2'
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import re
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "HUB_ACCOUNT",
    "LAUNCHER_ENV",
    "SERVICE_ACCOUNTS",
    "WRITER_ACCOUNTS",
    "WRITER_GROUP",
    "AccountError",
    "ensure_account",
    "ensure_group",
    "isolated",
    "launcher_socket",
    "unreachable_directory",
    "workspace_account",
]

#: The account each hub-managed service runs as, when run as root.
SERVICE_ACCOUNTS = {"api": "aphos-api", "worker": "aphos-worker", "dashboards": "aphos-dashboards"}
#: The account the hub (and its proxy) runs as when ``make demo`` is run as root.
HUB_ACCOUNT = "aphos-hub"
#: The embedded PostgreSQL's account (it refuses to run as root), and the variable naming another.
DEFAULT_SYSTEM_USER = "aphos-pg"
SYSTEM_USER_ENV = "APHOS_PG_SYSTEM_USER"
#: Where the hub finds the launcher that switches accounts for it (set by aphos_lib.hub.run).
LAUNCHER_ENV = "APHOS_LAUNCHER_SOCKET"
#: The services that log in to the catalogue as its writer (by peer authentication).
WRITER_ACCOUNTS = (SERVICE_ACCOUNTS["api"], SERVICE_ACCOUNTS["worker"])
#: The group of the writer services: they share the uploaded files and the job reports.
WRITER_GROUP = "aphos-writer"
WORKSPACE_PREFIX = "aphos-"
WORKSPACE_COMMENT = "APhoS workspace of {}"
NOLOGIN = "/usr/sbin/nologin"
# useradd's limit on Linux; shorter names also keep `ps` and `ls -l` readable.
MAX_NAME = 32
_PLAIN = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class AccountError(RuntimeError):
    """A system account cannot be created or is not the one expected."""


def launcher_socket() -> str | None:
    """The launcher's socket, when this process (the hub, not root) switches accounts with it.

    ``aphos_lib.hub.run``, run as root, starts the hub as :data:`HUB_ACCOUNT` with
    :data:`LAUNCHER_ENV` set; a hub run as root without it switches accounts itself.
    """
    if os.geteuid() == 0:
        return None
    return os.environ.get(LAUNCHER_ENV) or None


def isolated() -> bool:
    """Whether workspaces and services run as accounts of their own.

    Only root can switch accounts: the process itself when root, or the launcher for a hub
    started by ``aphos_lib.hub.run`` as :data:`HUB_ACCOUNT`.
    """
    return os.geteuid() == 0 or launcher_socket() is not None


def _reserved() -> set[str]:
    return {
        *SERVICE_ACCOUNTS.values(),
        HUB_ACCOUNT,
        DEFAULT_SYSTEM_USER,
        os.environ.get(SYSTEM_USER_ENV) or DEFAULT_SYSTEM_USER,
        WRITER_GROUP,
    }


def workspace_account(hub_user: str) -> str:
    """The Unix account of a hub user's workspace: ``aphos-<name>``, at most 32 characters.

    A name that is not plain lower-case letters, digits, ``_`` and ``-``, that is too long,
    or that would be a service's account gets a hash of the hub name instead of its tail,
    so two hub users never share an account.
    """
    name = WORKSPACE_PREFIX + hub_user
    if _PLAIN.match(hub_user) and len(name) <= MAX_NAME and name not in _reserved():
        return name
    digest = hashlib.sha256(hub_user.encode()).hexdigest()[:7]
    stem = re.sub(r"[^a-z0-9_-]+", "-", hub_user.lower()).strip("-_")
    stem = stem[: MAX_NAME - len(WORKSPACE_PREFIX) - len(digest) - 1].rstrip("-_")
    return f"{WORKSPACE_PREFIX}{stem}-{digest}" if stem else f"{WORKSPACE_PREFIX}{digest}"


def _run(argv: list[str]) -> str:
    try:
        # Its own session: Ctrl-C in the platform's terminal must not cut useradd short.
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=60, check=False, start_new_session=True
        )
    except FileNotFoundError as exc:
        raise AccountError(f"{argv[0]} not found: create the account yourself") from exc
    return (result.stdout + result.stderr).strip()


def ensure_group(name: str) -> grp.struct_group:
    """The system group ``name``, created with ``groupadd --system`` when missing."""
    last = ""
    for _ in range(20):
        try:
            return grp.getgrnam(name)
        except KeyError:
            last = _run(["groupadd", "--system", name])
        # Another process may hold /etc/group's lock while it creates the same group.
        time.sleep(0.1)
    raise AccountError(f"could not create the system group {name!r}: {last}")


def ensure_account(
    name: str,
    *,
    comment: str = "",
    groups: Iterable[str] = (),
    home: Path | None = None,
    check_comment: bool = False,
) -> pwd.struct_passwd:
    """The unprivileged system account ``name``, created with ``useradd`` when missing.

    It gets a group of its own, no login shell, and no home created here (the caller makes the
    directories it needs). ``groups`` are added to an existing account too.

    Parameters
    ----------
    check_comment : bool
        Refuse an existing account whose comment is not ``comment``: a workspace must never
        run as an account that was made for something else.

    Raises
    ------
    AccountError
        When the account cannot be created, is root, or (``check_comment``) is another's.
    """
    groups = list(groups)
    for group in groups:
        ensure_group(group)
    last = ""
    for _ in range(20):
        try:
            entry = pwd.getpwnam(name)
            break
        except KeyError:
            argv = [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--shell",
                NOLOGIN,
                "--home-dir",
                str(home or "/nonexistent"),
            ]
            if comment:
                argv += ["--comment", comment]
            if groups:
                argv += ["--groups", ",".join(groups)]
            last = _run([*argv, name])
        time.sleep(0.1)  # another process may be creating the same account
    else:
        raise AccountError(f"could not create the system account {name!r}: {last}")
    if entry.pw_uid == 0:
        raise AccountError(f"the account {name!r} is root; it must be unprivileged")
    if check_comment and entry.pw_gecos.split(",")[0] != comment:
        raise AccountError(
            f"the account {name!r} exists but was not made for this ({entry.pw_gecos!r}, "
            f"expected {comment!r}); remove it or rename the hub user"
        )
    missing = [g for g in groups if name not in grp.getgrnam(g).gr_mem]
    if missing:
        _run(["usermod", "--append", "--groups", ",".join(missing), name])
    return entry


def unreachable_directory(target: Path) -> Path | None:
    """The first directory on the way to ``target`` that other accounts cannot enter, if any.

    Workspaces and services run the same Python as the hub: each directory above it must
    have the search bit for others.
    """
    target = Path(os.path.realpath(target))
    for directory in [*reversed(target.parents), target]:
        try:
            mode = directory.stat().st_mode
        except OSError:
            return directory
        if directory.is_dir() and not mode & 0o001:
            return directory
    return None
