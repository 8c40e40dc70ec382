"""The launcher: the one part that stays root, so that the hub need not.

Run as root, ``make demo`` (:mod:`aphos_lib.hub.run`) starts the hub as the unprivileged
account ``aphos-hub`` (:data:`aphos_lib.accounts.HUB_ACCOUNT`), as JupyterHub's SudoSpawner
does: the hub holds no secret but the reader's login, and cannot switch accounts. This
launcher, a thread of the root process, switches them for it. It serves a Unix socket in a
directory only ``aphos-hub`` may enter, and answers only connections whose peer (checked with
``SO_PEERCRED``) is that account. A request comes from the runner client
(:mod:`aphos_lib.hub.as_account`) with the client's stdin, stdout and stderr, and is one of:

- **workspace**: the hub user is the client's ``JUPYTERHUB_USER``; the process runs as
  :func:`~aphos_lib.accounts.workspace_account` of it (created on the first spawn, refused
  when the account exists but was made for something else), in its home, prepared here
  (:func:`aphos_lib.hub.spawner.open_workspace`) with this process's settings. The command and
  environment are the client's: they only ever run with that workspace's rights.
- **service**: only a name of :data:`aphos_lib.accounts.SERVICE_ACCOUNTS`. The command, the
  environment and the database login are computed here as the hub configuration computes them
  (:mod:`aphos_lib.hub.configurer`); of the client's environment only the ``JUPYTERHUB_*``
  variables the hub gives a service are kept. A compromised hub cannot run anything of its
  choosing as the api or the worker, which hold the writer's login.

Never root, never another account. The process runs in a session of its own; the signals
the client relays go to it (as JupyterHub would send them to a process it started itself),
its exit code goes back to the client, and if the client goes away (even killed by SIGKILL)
its process group gets SIGTERM, then SIGKILL after :data:`TERM_GRACE_S`.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import select
import signal
import socket
import stat
import struct
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from aphos_lib import accounts
from aphos_lib.db.catalogue import Catalogue
from aphos_lib.hub.as_account import RELAYED_SIGNALS
from aphos_lib.hub.settings import HubSettings

__all__ = ["Launch", "Launcher", "RequestRefused", "TERM_GRACE_S", "plan", "socket_path"]

#: Seconds a process gets after SIGTERM, once its client is gone, before SIGKILL.
TERM_GRACE_S = 5
# The environment a service gets from this process, as JupyterHub's env_keep would give it.
ENV_KEEP = (
    "CONDA_DEFAULT_ENV",
    "CONDA_ROOT",
    "LANG",
    "LC_ALL",
    "LD_LIBRARY_PATH",
    "PATH",
    "PYTHONPATH",
    "VIRTUAL_ENV",
)
SHELL = "/bin/bash"  # for JupyterLab's terminal; the account itself has no login shell
MAX_REQUEST = 1 << 20
_UNIX_PATH_MAX = 107


class RequestRefused(ValueError):
    """A request the launcher will not run; the message goes back to the hub's log."""


@dataclass
class Launch:
    """One process to start: what, where, and as whom."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path
    account: pwd.struct_passwd
    extra_groups: list[int] = field(default_factory=list)


def socket_path(s: HubSettings) -> Path:
    """Where the launcher listens: ``$APHOS_HOME/launcher/hub.sock`` unless that is too long.

    Examples
    --------
    >>> socket_path(HubSettings(home=Path("/srv/aphos")))
    PosixPath('/srv/aphos/launcher/hub.sock')
    """
    preferred = s.home / "launcher" / "hub.sock"
    if len(os.fsencode(preferred)) <= _UNIX_PATH_MAX:
        return preferred
    digest = hashlib.sha1(os.fsencode(s.home)).hexdigest()[:12]
    return Path(f"/tmp/aphos-launcher-{digest}/hub.sock")


def _prepare_directory(directory: Path, hub_gid: int) -> None:
    """root:aphos-hub 0750: the hub may reach the socket, nobody else may, nobody may swap it."""
    try:
        directory.mkdir(mode=0o700)
    except FileExistsError:
        pass
    info = directory.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != 0:
        # A predictable name in /tmp: someone may have put it there first to catch the hub.
        raise accounts.AccountError(
            f"{directory} exists but is not a directory owned by root; remove it"
        )
    os.chown(directory, 0, hub_gid)
    directory.chmod(0o750)


def _env(value) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise RequestRefused("the environment must map names to strings")
    return dict(value)


def _hub_user(env: dict[str, str]) -> str:
    name = env.get("JUPYTERHUB_USER", "")
    # The home is users/<hub user>: a name must never lead out of users/.
    if not name or name in (".", "..") or "/" in name or "\0" in name or len(name) > 255:
        raise RequestRefused(f"not a hub user name: {name!r}")
    return name


def _workspace(request: dict, s: HubSettings, catalogue: Catalogue) -> Launch:
    from aphos_lib.hub.configurer import workspace_environment
    from aphos_lib.hub.spawner import open_workspace

    argv = request.get("argv")
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        raise RequestRefused("a workspace needs a command")
    env = _env(request.get("env"))
    hub_user = _hub_user(env)
    home = s.users_dir / hub_user
    # The home's files come from this process's settings, never from the hub's request.
    entry = open_workspace(hub_user, home, workspace_environment(s, catalogue))
    env.update(USER=entry.pw_name, HOME=str(home), SHELL=SHELL)
    return Launch(argv, env, home, entry)


def _service(request: dict, s: HubSettings, catalogue: Catalogue) -> Launch:
    from aphos_lib.hub.configurer import service_command, service_process_environment
    from aphos_lib.hub.ownership import service_home

    name = request.get("name")
    if name not in accounts.SERVICE_ACCOUNTS:
        raise RequestRefused(f"no such service: {name!r}")
    try:
        entry = pwd.getpwnam(accounts.SERVICE_ACCOUNTS[name])
    except KeyError:
        raise RequestRefused(f"the account of the {name} service is missing") from None
    given = _env(request.get("env"))
    env = {k: os.environ[k] for k in ENV_KEEP if k in os.environ}
    env.update(service_process_environment(name, s, catalogue))
    env.update({k: v for k, v in given.items() if k.startswith("JUPYTERHUB_")})
    env.update(USER=entry.pw_name, HOME=str(service_home(s, name)), SHELL=accounts.NOLOGIN)
    # Its own groups (the writers share theirs), as JupyterHub's setuid gave them.
    groups = os.getgrouplist(entry.pw_name, entry.pw_gid)
    return Launch(service_command(name, s), env, s.workdir, entry, groups)


def plan(request: dict, s: HubSettings, catalogue: Catalogue) -> Launch:
    """Check a request and say what to start; workspaces get their account and home here.

    Raises
    ------
    RequestRefused
        Anything but a workspace or a known service, or a target account that is root or
        belongs to another part of the platform.
    aphos_lib.accounts.AccountError
        A workspace's account cannot be created or was made for something else.
    """
    kind = request.get("kind") if isinstance(request, dict) else None
    if kind == "workspace":
        launch = _workspace(request, s, catalogue)
        expected = accounts.workspace_account(_hub_user(launch.env))
    elif kind == "service":
        launch = _service(request, s, catalogue)
        expected = accounts.SERVICE_ACCOUNTS[request["name"]]
    else:
        raise RequestRefused(f"unknown request: {kind!r}")
    # Whatever the checks above: never root, never an account other than the expected one.
    if launch.account.pw_uid == 0 or launch.account.pw_name != expected:
        raise RequestRefused(f"will not run as {launch.account.pw_name!r}")
    return launch


def _peer_uid(conn: socket.socket) -> int:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


def _send(conn: socket.socket, message: dict) -> None:
    try:
        conn.sendall(json.dumps(message).encode() + b"\n")
    except OSError:
        pass  # the client is gone; its process is stopped below


def _read_request(conn: socket.socket) -> tuple[dict, list[int]]:
    data, fds, _, _ = socket.recv_fds(conn, 65536, 3)
    while data and not data.endswith(b"\n"):
        if len(data) > MAX_REQUEST:
            break
        more = conn.recv(65536)
        if not more:
            break
        data += more
    try:
        request = json.loads(data)
    except ValueError:
        request = None
    if len(fds) != 3 or not isinstance(request, dict):
        for fd in fds:
            os.close(fd)
        raise RequestRefused("a request is one JSON line with stdin, stdout and stderr")
    return request, fds


class Launcher:
    """The launcher thread of ``aphos_lib.hub.run``: starts processes as other accounts.

    Parameters
    ----------
    settings, catalogue
        This instance's settings and catalogue (root's view): services get their database
        login from here.
    hub : pwd.struct_passwd
        The hub's account: the only peer served.
    """

    def __init__(self, settings: HubSettings, catalogue: Catalogue, hub: pwd.struct_passwd):
        self.settings, self.catalogue, self.hub = settings, catalogue, hub
        self.path = socket_path(settings)
        self._listener: socket.socket | None = None
        self._children: dict[int, subprocess.Popen] = {}
        self._lock = threading.Lock()
        self._stopping = False

    def listen(self) -> Path:
        """Listen on :attr:`path` (connections wait until :meth:`serve`); return the path.

        Apart so that the caller can start the hub in between: a process forked while a
        thread runs may inherit a lock that thread held.
        """
        _prepare_directory(self.path.parent, self.hub.pw_gid)
        self.path.unlink(missing_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.path))
        os.chown(self.path, 0, self.hub.pw_gid)
        self.path.chmod(0o660)
        listener.listen(16)
        self._listener = listener
        return self.path

    def serve(self) -> None:
        """Answer connections in a thread (one more per connection) until :meth:`stop`."""
        threading.Thread(target=self._accept, name="aphos-launcher", daemon=True).start()

    def start(self) -> Path:
        """:meth:`listen`, then :meth:`serve`; the socket's path.

        Examples
        --------
        A launcher for the hub's account, serving until stopped (as root)::

            launcher = Launcher(HubSettings.from_environment(), Catalogue.from_environment(),
                                pwd.getpwnam("aphos-hub"))
            os.environ[accounts.LAUNCHER_ENV] = str(launcher.start())
            ...
            launcher.stop()
        """
        path = self.listen()
        self.serve()
        return path

    def stop(self, timeout: float = TERM_GRACE_S) -> None:
        """Stop listening, and stop every process still running (SIGTERM, then SIGKILL)."""
        self._stopping = True
        if self._listener is not None:
            self._listener.close()
            self.path.unlink(missing_ok=True)
        with self._lock:
            children = list(self._children.values())
        for child in children:
            _signal_group(child, signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(child, signal.SIGKILL)

    def children(self) -> list[int]:
        """The pids of the processes running now."""
        with self._lock:
            return list(self._children)

    def _accept(self) -> None:
        while not self._stopping:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # closed by stop()
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            if _peer_uid(conn) != self.hub.pw_uid:
                _send(conn, {"error": f"only {self.hub.pw_name!r} may ask"})
                return
            try:
                request, fds = _read_request(conn)
            except (RequestRefused, OSError) as e:
                _send(conn, {"error": str(e)})
                return
            try:
                launch = plan(request, self.settings, self.catalogue)
                child = self._start(launch, fds)
            except (
                RequestRefused,
                accounts.AccountError,
                OSError,
                subprocess.SubprocessError,
            ) as e:
                _send(conn, {"error": str(e)})
                return
            finally:
                for fd in fds:
                    os.close(fd)
            _send(conn, {"started": child.pid})
            try:
                code = self._follow(conn, child)
            finally:
                with self._lock:
                    self._children.pop(child.pid, None)
            _send(conn, {"exit": code})

    def _start(self, launch: Launch, fds: list[int]) -> subprocess.Popen:
        with self._lock:
            if self._stopping:
                raise RequestRefused("the platform is stopping")
            child = subprocess.Popen(
                launch.argv,
                stdin=fds[0],
                stdout=fds[1],
                stderr=fds[2],
                env=launch.env,
                cwd=launch.cwd,
                user=launch.account.pw_uid,
                group=launch.account.pw_gid,
                extra_groups=launch.extra_groups,
                start_new_session=True,
            )
            self._children[child.pid] = child
        return child

    def _follow(self, conn: socket.socket, child: subprocess.Popen) -> int:
        """Relay the client's signals until the process exits; stop it if the client goes."""
        # Readable once the process has exited; it stays unreaped (ours) until wait() below.
        pidfd = os.pidfd_open(child.pid)
        buffer = b""
        try:
            while True:
                ready, _, _ = select.select([conn, pidfd], [], [])
                if pidfd in ready:
                    return child.wait()
                data = conn.recv(4096)
                if not data:
                    _end(child)
                    return child.wait()
                buffer += data
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    try:
                        signum = int(json.loads(line)["signal"])
                    except (ValueError, KeyError, TypeError):
                        continue
                    if signum in RELAYED_SIGNALS and child.poll() is None:
                        child.send_signal(signum)
        finally:
            os.close(pidfd)


def _signal_group(child: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(child.pid, signum)  # its own session: the group is the process's pid
    except (ProcessLookupError, PermissionError):
        pass


def _end(child: subprocess.Popen) -> None:
    """The client is gone: SIGTERM to the process's group, SIGKILL if it stays."""
    _signal_group(child, signal.SIGTERM)
    try:
        child.wait(TERM_GRACE_S)
    except subprocess.TimeoutExpired:
        _signal_group(child, signal.SIGKILL)
