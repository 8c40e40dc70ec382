"""Observers' workspaces as local processes: one Unix account each when the hub runs as root.

:class:`WorkspaceSpawner` is JupyterHub's ``LocalProcessSpawner`` with the mapping of the
littlest JupyterHub: hub user ``google-1001`` runs as the system account ``aphos-google-1001``
(:func:`aphos_lib.accounts.workspace_account`), created on the first spawn, with its home
``$APHOS_HOME/users/<hub user>`` owned by it and closed to others (0700). Run as a normal user
the hub cannot switch accounts: every workspace runs as that user, in the same homes, and
nothing separates them (``make demo`` says so when it starts).
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner
from traitlets import Unicode

from aphos_lib import accounts

__all__ = ["WORKSPACE_DASHBOARDS", "WorkspaceSpawner", "prepare_workspace"]

# Dashboards that act for the signed-in observer (in dashboards/workspace/): served by their own
# server, never by the public dashboards service (which has no hub token of theirs).
WORKSPACE_DASHBOARDS = ("upload.ipynb",)
SHELL = "/bin/bash"  # for JupyterLab's terminal; the account itself has no login shell


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    os.lchown(path, uid, gid)
    if path.is_symlink() or not path.is_dir():
        return
    for parent, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            os.lchown(os.path.join(parent, name), uid, gid)


def prepare_workspace(home: Path, environment: dict[str, str],
                      account: pwd.struct_passwd | None = None) -> None:  # fmt: skip
    """Before a workspace starts: its home, the shared notebooks and the published area.

    ``shared-notebooks/`` is a fresh copy of ``notebooks/`` at each start (an observer's edits
    stay theirs once they copy a notebook out of it); ``dashboards/`` holds a fresh copy of the
    dashboards that act for the observer and so run in their own server with their hub token
    (:data:`WORKSPACE_DASHBOARDS`: the upload page, opened by JupyterLab's Voila at
    ``/user/<name>/voila/render/dashboards/upload.ipynb``); ``published/`` links to the
    published area, which only the api service writes (its own account when run as root;
    read-only in each pod on Kubernetes). With ``account``, the home and everything put in it
    belong to that account, and the home is closed to every other (mode 0700).
    """
    home.mkdir(parents=True, exist_ok=True)
    published = Path(environment["APHOS_PUBLISHED_DIR"])
    published.mkdir(parents=True, exist_ok=True)
    link = home / "published"
    if not link.is_symlink() and not link.exists():
        link.symlink_to(published, target_is_directory=True)
    fresh = []
    source = Path(environment.get("APHOS_SHARED_NOTEBOOKS", ""))
    if source.is_dir():
        target = home / "shared-notebooks"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, target, ignore=shutil.ignore_patterns(".*", "__pycache__"))
        fresh.append(target)
    dashboards = Path(environment.get("APHOS_WORKSPACE_DASHBOARDS", ""))
    if dashboards.is_dir():
        target = home / "dashboards"
        target.mkdir(exist_ok=True)
        for name in WORKSPACE_DASHBOARDS:
            shutil.copyfile(dashboards / name, target / name)
        fresh.append(target)
    if account is None:
        return
    uid, gid = account.pw_uid, account.pw_gid
    if home.stat().st_uid != uid:
        # A home made before the account (a run as a normal user): all of it becomes theirs.
        _chown_tree(home, uid, gid)
    else:
        for path in (link, *fresh):
            _chown_tree(path, uid, gid)
    home.chmod(0o700)


class WorkspaceSpawner(LocalProcessSpawner):
    """A local JupyterLab per hub user, as that user's own system account when run as root."""

    home_dir_template = Unicode(
        "/tmp/{username}", config=True,
        help="The workspace's home; {username} is the hub user name.",
    )  # fmt: skip

    @property
    def home_dir(self) -> str:
        return self.home_dir_template.format(username=self.user.name)

    @property
    def system_user(self) -> str | None:
        """The account the workspace runs as; None when the hub cannot switch (not root)."""
        return accounts.workspace_account(self.user.name) if accounts.isolated() else None

    def _account(self) -> pwd.struct_passwd:
        return accounts.ensure_account(
            self.system_user, comment=accounts.WORKSPACE_COMMENT.format(self.user.name),
            home=Path(self.home_dir), check_comment=True,
        )  # fmt: skip

    def make_preexec_fn(self, name):
        home = self.home_dir
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
        return env

    async def move_certs(self, paths):
        return paths  # no internal TLS on one machine

    async def start(self):
        """Create the account (first spawn) and prepare the home, then start the server."""
        account = await asyncio.to_thread(self._account) if self.system_user else None
        await asyncio.to_thread(prepare_workspace, Path(self.home_dir),
                                dict(self.environment), account)  # fmt: skip
        return await super().start()
