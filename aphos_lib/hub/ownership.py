"""Who owns what under ``$APHOS_HOME``: prepared by the hub before anything starts.

Run as root (:func:`aphos_lib.accounts.isolated`), every part has its own account and its
files belong to it::

    hub/          aphos-hub, 0700    cookie secret, the hub's database, pid files
    launcher/     root:aphos-hub 0750  the launcher's socket (aphos_lib.hub.launcher)
    secrets/      root, 0700         the generated database passwords
    users/        root, 0711         observers' homes: each its own account's, 0700
    uploads/      aphos-api, 2750    received files; the worker (group aphos-writer) reads
    reports/      aphos-worker, 2750 executed job notebooks; the api (same group) reads
    published/    aphos-api, 0755    published notebooks: the api writes, everyone reads
    services/*/   each service, 0700 the service's HOME (Jupyter's runtime files)
    pgdata/ ...   aphos-pg           the embedded PostgreSQL (aphos_lib.db.embedded)

Run as a normal user everything is that user's, with the same modes where they matter.
"""

from __future__ import annotations

import os
import pwd
import sys
from pathlib import Path

from aphos_lib import accounts
from aphos_lib.hub.settings import HubSettings

__all__ = ["prepare_home", "prepare_hub_state", "service_home"]


def service_home(s: HubSettings, name: str) -> Path:
    """The HOME of a service (its account's own passwd home is not this instance's)."""
    return s.home / "services" / name


def _own(path: Path, uid: int, gid: int, mode: int) -> None:
    """Make ``path`` (a directory) ``uid:gid`` with ``mode``; its tree too when it was not."""
    path.mkdir(parents=True, exist_ok=True)
    if path.stat().st_uid != uid:
        # Made by an earlier run as another account (root, or a normal user): hand it all over.
        for parent, dirs, files in os.walk(path):
            for name in (*dirs, *files):
                os.lchown(os.path.join(parent, name), uid, gid)
    os.chown(path, uid, gid)
    path.chmod(mode)


def _check_reachable(s: HubSettings) -> None:
    """Refuse to start when the accounts could not run this Python or read the checkout."""
    targets = (Path(sys.executable), Path(os.__file__), Path(sys.prefix), s.workdir)
    for target in (*targets, s.notebooks_dir, s.dashboards_dir):
        closed = accounts.unreachable_directory(target)
        if closed is not None:
            raise accounts.AccountError(
                f"run as root, APhoS runs each workspace and service as an unprivileged account, "
                f"and those cannot enter {closed} on the way to {target}. Install Python and the "
                f"environment outside it (for example under /opt), or let them pass without "
                f"listing it: chmod o+x {closed} (scripts/ensure-venv does that when run as root)"
            )


def prepare_home(s: HubSettings) -> None:
    """Create the directories the hub and its services use, owned as the module says."""
    s.home.mkdir(parents=True, exist_ok=True)
    s.hub_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    s.hub_dir.chmod(0o700)  # also when an earlier version made it with the umask's mode
    s.users_dir.mkdir(parents=True, exist_ok=True)
    if not accounts.isolated():
        s.users_dir.chmod(0o755)
        return
    _check_reachable(s)
    # Others may enter users/ to reach their own home, but not list who has one.
    s.users_dir.chmod(0o711)
    for home in s.users_dir.iterdir():
        # Homes an earlier version made with the umask's mode (0755) close before any spawn.
        if home.is_dir() and not home.is_symlink():
            home.chmod(0o700)
    secrets = s.home / "secrets"
    if secrets.exists():
        _own(secrets, 0, 0, 0o700)
    writer = accounts.ensure_group(accounts.WRITER_GROUP)
    ids = {}
    for name, account in accounts.SERVICE_ACCOUNTS.items():
        groups = [accounts.WRITER_GROUP] if account in accounts.WRITER_ACCOUNTS else []
        entry = accounts.ensure_account(account, comment=f"APhoS {name} service", groups=groups)
        ids[name] = (entry.pw_uid, entry.pw_gid)
    (s.home / "services").mkdir(exist_ok=True)
    (s.home / "services").chmod(0o755)
    for name, (uid, gid) in ids.items():
        _own(service_home(s, name), uid, gid, 0o700)
    uploads = s.core.uploads_dir
    # setgid: what the api writes there stays in the group, so the worker can read it.
    _own(uploads, ids["api"][0], writer.gr_gid, 0o2750)
    _own(s.home / "reports", ids["worker"][0], writer.gr_gid, 0o2750)
    _own(s.published_dir, *ids["api"], 0o755)


def prepare_hub_state(s: HubSettings) -> pwd.struct_passwd:
    """As root: the hub's account, and its state directory handed to it (mode 0700).

    Files an earlier run left there as root (a hub that ran as root: its cookie secret, its
    database, pid files) become the hub's too, or it could not read them.
    """
    entry = accounts.ensure_account(accounts.HUB_ACCOUNT, comment="APhoS hub")
    uid, gid = entry.pw_uid, entry.pw_gid
    s.hub_dir.mkdir(parents=True, exist_ok=True)
    # The hub controls what is inside: walk by directory descriptors and never follow a
    # link, so that one swapped in during the walk cannot lead root's chown elsewhere.
    for _, dirs, files, fd in os.fwalk(s.hub_dir):
        for name in (*dirs, *files):
            if os.stat(name, dir_fd=fd, follow_symlinks=False).st_uid != uid:
                os.chown(name, uid, gid, dir_fd=fd, follow_symlinks=False)
    os.chown(s.hub_dir, uid, gid)
    s.hub_dir.chmod(0o700)
    return entry
