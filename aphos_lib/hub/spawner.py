"""Observers' workspaces as local processes: one Unix account each when the hub runs as root.

:class:`WorkspaceSpawner` is JupyterHub's ``LocalProcessSpawner`` with the mapping of the
littlest JupyterHub: hub user ``google-1001`` runs as the system account ``aphos-google-1001``
(:func:`aphos_lib.accounts.workspace_account`), created on the first spawn, with its home
``$APHOS_HOME/users/<hub user>`` owned by it and closed to others (0700). Run as a normal user
the hub cannot switch accounts: every workspace runs as that user, in the same homes, and
nothing separates them (``make demo`` says so when it starts). A hub that ``make demo`` runs
as its own account (``aphos-hub``) asks the launcher (:mod:`aphos_lib.hub.launcher`) to do
what needs root: create the account, prepare the home and start the server as that account.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import subprocess
import sys
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner
from traitlets import Unicode

from aphos_lib import accounts
from aphos_lib.hub.as_account import runner_command
from aphos_lib.hub.workspace_files import WORKSPACE_DASHBOARDS, populate_home

__all__ = ["WORKSPACE_DASHBOARDS", "WorkspaceSpawner", "open_workspace", "prepare_workspace"]

SHELL = "/bin/bash"  # for JupyterLab's terminal; the account itself has no login shell
# The environment the home's files are copied in (as the observer's account).
_COPY_ENVIRONMENT = ("APHOS_PUBLISHED_DIR", "APHOS_SHARED_NOTEBOOKS", "APHOS_WORKSPACE_DASHBOARDS")


def _account_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    os.lchown(path, uid, gid)
    if path.is_symlink() or not path.is_dir():
        return
    for parent, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            os.lchown(os.path.join(parent, name), uid, gid)


def prepare_workspace(
    home: Path,
    environment: dict[str, str],
    account: pwd.struct_passwd | None = None,
    *,
    new_account: bool = False,
) -> None:
    """Before a workspace starts: its home, then its files (:func:`populate_home`).

    With ``account`` (run as root), the home belongs to that account and is closed to every
    other (mode 0700), and its files are written by a process of that account: root never
    touches what is inside a home the observer controls, where a planted link would lead it
    anywhere. Only a home made before its account existed (an earlier run as a normal user,
    with no process of the new account running yet) is handed over whole.
    """
    home.mkdir(parents=True, exist_ok=True)
    Path(environment["APHOS_PUBLISHED_DIR"]).mkdir(parents=True, exist_ok=True)
    if account is None:
        populate_home(home, environment)
        return
    uid, gid = account.pw_uid, account.pw_gid
    if new_account and home.stat().st_uid != uid:
        _chown_tree(home, uid, gid)
    os.lchown(home, uid, gid)  # users/ is root's: the observer cannot swap the home itself
    home.chmod(0o700)
    copy_env = {k: environment[k] for k in _COPY_ENVIRONMENT if k in environment}
    # A session of its own: a Ctrl-C in make demo's terminal goes to the whole foreground
    # group, and a copy still starting printed a KeyboardInterrupt traceback into the log.
    # It is short and bounded; the platform's stop does not need to interrupt it.
    subprocess.run(
        [sys.executable, "-m", "aphos_lib.hub.workspace_files", str(home), json.dumps(copy_env)],
        user=uid,
        group=gid,
        extra_groups=[],
        cwd=home,
        check=True,
        timeout=120,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)},
        start_new_session=True,
    )


def open_workspace(hub_user: str, home: Path, environment: dict[str, str]) -> pwd.struct_passwd:
    """As root: the hub user's account (created on the first spawn) and its home, prepared.

    Raises
    ------
    aphos_lib.accounts.AccountError
        The account cannot be created, or exists but was made for something else.
    """
    name = accounts.workspace_account(hub_user)
    new_account = not _account_exists(name)
    entry = accounts.ensure_account(
        name,
        comment=accounts.WORKSPACE_COMMENT.format(hub_user),
        home=home,
        check_comment=True,
    )
    prepare_workspace(home, environment, entry, new_account=new_account)
    return entry


class WorkspaceSpawner(LocalProcessSpawner):
    """A local JupyterLab per hub user, as that user's own system account when run as root."""

    home_dir_template = Unicode(
        "/tmp/{username}",
        config=True,
        help="The workspace's home; {username} is the hub user name.",
    )

    @property
    def home_dir(self) -> str:
        return self.home_dir_template.format(username=self.user.name)

    @property
    def system_user(self) -> str | None:
        """The account the workspace runs as; None when the hub cannot switch (not root)."""
        return accounts.workspace_account(self.user.name) if accounts.isolated() else None

    def make_preexec_fn(self, name):
        home = self.home_dir
        if accounts.launcher_socket():
            return None  # the launcher switches the account and enters the home
        if self.system_user is None:

            def stay() -> None:
                os.chdir(home)

            return stay
        entry = pwd.getpwnam(self.system_user)
        uid, gid = entry.pw_uid, entry.pw_gid

        def switch() -> None:
            # Its own group only: never the hub's supplementary groups.
            os.setgroups([gid])
            os.setgid(gid)
            os.setuid(uid)
            os.chdir(home)

        return switch

    def user_env(self, env: dict) -> dict:
        env["USER"] = self.system_user or self.user.name
        env["HOME"] = self.home_dir
        env["SHELL"] = SHELL
        if accounts.launcher_socket():
            # For the runner client only; it does not hand it on to the workspace.
            env[accounts.LAUNCHER_ENV] = accounts.launcher_socket()
        return env

    async def move_certs(self, paths):
        return paths  # no internal TLS on one machine

    async def start(self):
        """Create the account (first spawn) and prepare the home, then start the server.

        A hub run as its own account (:func:`aphos_lib.accounts.launcher_socket`) runs the
        server through the runner client instead: the launcher, root, does both (with its own
        settings, not the hub's) and starts the server as the workspace's account.
        """
        if accounts.launcher_socket():
            command = list(self.cmd)
            self.cmd = [*runner_command("workspace"), *command]
            try:
                return await super().start()
            finally:
                self.cmd = command
        home = Path(self.home_dir)
        if self.system_user:
            await asyncio.to_thread(open_workspace, self.user.name, home, dict(self.environment))
        else:
            await asyncio.to_thread(prepare_workspace, home, dict(self.environment))
        return await super().start()
