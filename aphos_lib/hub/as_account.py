"""The runner client: how the hub, run as its own account, starts a process as another.

``make demo`` run as root starts the hub as ``aphos-hub`` (:data:`aphos_lib.accounts.HUB_ACCOUNT`),
which cannot switch accounts. For each workspace and service the hub runs this client
instead, as it would have run the process itself::

    python -m aphos_lib.hub.as_account workspace -- jupyterhub-singleuser ...
    python -m aphos_lib.hub.as_account service api

The client hands its request and its own stdin, stdout and stderr to the launcher
(:mod:`aphos_lib.hub.launcher`, root, in ``aphos_lib.hub.run``), which checks it and starts
the real process as the workspace's or the service's account on those descriptors, so its
log still reaches the hub's. The client then stands in for that process: SIGTERM and SIGHUP
sent to it are passed on, SIGINT as SIGTERM, and it exits with the process's exit code.
JupyterHub's own process management (a spawner's poll and stop, managed services restarted
when they exit, Ctrl-C) works on the client unchanged; should the client die, even by
SIGKILL, the launcher stops the process.

Messages are JSON lines. The client sends one request (with the three descriptors), then
``{"signal": N}`` for each signal; the launcher answers ``{"started": pid}`` or
``{"error": reason}``, then ``{"exit": code}``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys

from aphos_lib.accounts import LAUNCHER_ENV

__all__ = ["RELAYED_SIGNALS", "request_for", "runner_command", "main"]

#: The signals the client passes on to its process (what JupyterHub and Ctrl-C send).
RELAYED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# Exit codes: the launcher refused or cannot be reached (as a shell's "cannot execute").
REFUSED = 126


def runner_command(kind: str, name: str | None = None) -> list[str]:
    """The command prefix the hub runs instead of a workspace's or a service's command.

    Examples
    --------
    >>> runner_command("service", "api")[-3:]
    ['aphos_lib.hub.as_account', 'service', 'api']
    >>> runner_command("workspace")[-2:]
    ['workspace', '--']
    """
    base = [sys.executable, "-m", "aphos_lib.hub.as_account"]
    if kind == "service":
        return [*base, "service", name]
    return [*base, "workspace", "--"]


def request_for(args: list[str], environ: dict[str, str]) -> dict:
    """The request this client sends for its command line ``args`` (after the module name).

    A service names only itself: the launcher computes its command and environment, and
    keeps only the hub's ``JUPYTERHUB_*`` variables from ``environ``.

    Examples
    --------
    >>> request_for(["service", "api"], {"JUPYTERHUB_API_TOKEN": "t", "PATH": "/bin"})
    {'kind': 'service', 'name': 'api', 'env': {'JUPYTERHUB_API_TOKEN': 't'}}
    >>> request_for(["workspace", "--", "jupyterhub-singleuser"], {"JUPYTERHUB_USER": "u"})
    {'kind': 'workspace', 'argv': ['jupyterhub-singleuser'], 'env': {'JUPYTERHUB_USER': 'u'}}
    """
    env = {k: v for k, v in environ.items() if k != LAUNCHER_ENV}
    if len(args) == 2 and args[0] == "service":
        return {
            "kind": "service",
            "name": args[1],
            "env": {k: v for k, v in env.items() if k.startswith("JUPYTERHUB_")},
        }
    if len(args) >= 3 and args[:2] == ["workspace", "--"]:
        return {"kind": "workspace", "argv": args[2:], "env": env}
    raise SystemExit(
        "usage: python -m aphos_lib.hub.as_account (service NAME | workspace -- COMMAND...)"
    )


def _lines(sock: socket.socket):
    buffer = b""
    while True:
        data = sock.recv(4096)
        if not data:
            return
        buffer += data
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield json.loads(line)


def _exit_status(code: int) -> int:
    # A process killed by a signal exits, for the hub, as a shell reports it.
    return code if code >= 0 else 128 - code


def main(args: list[str] | None = None) -> int:
    """Run the command through the launcher; return the process's exit code."""
    request = request_for(sys.argv[1:] if args is None else args, dict(os.environ))
    path = os.environ.get(LAUNCHER_ENV)
    if not path:
        print(f"aphos: {LAUNCHER_ENV} is not set: no launcher to ask", file=sys.stderr)
        return REFUSED
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
        socket.send_fds(sock, [json.dumps(request).encode() + b"\n"], [0, 1, 2])
    except OSError as e:
        print(f"aphos: cannot reach the launcher at {path}: {e}", file=sys.stderr)
        return REFUSED

    def relay(signum, _frame) -> None:
        # SIGINT goes on as SIGTERM: every server and service stops on either, but one still
        # starting (importing) dies of SIGINT with a traceback ("Fatal Python error:
        # init_import_site"), and of SIGTERM quietly. JupyterHub stops a server with SIGINT.
        if signum == signal.SIGINT:
            signum = signal.SIGTERM
        try:
            sock.sendall(json.dumps({"signal": signum}).encode() + b"\n")
        except OSError:
            pass  # the launcher is gone: so is the process

    for sig in RELAYED_SIGNALS:
        signal.signal(sig, relay)
    try:
        for message in _lines(sock):
            if "error" in message:
                print(f"aphos: the launcher refused: {message['error']}", file=sys.stderr)
                return REFUSED
            if "exit" in message:
                return _exit_status(int(message["exit"]))
    except OSError as e:
        print(f"aphos: lost the launcher: {e}", file=sys.stderr)
        return REFUSED
    print("aphos: the launcher closed the connection", file=sys.stderr)
    return REFUSED


if __name__ == "__main__":
    sys.exit(main())
