"""The files a workspace starts with, put in its home by the observer's own account.

The home belongs to the observer, who can plant symbolic links in it from their kernel. The hub
runs as root, so it must never open, copy, remove or chown anything inside a home: a link
``dashboards/upload.ipynb -> /etc/shadow`` would have root overwrite that file. The hub only
creates the home itself (in ``users/``, which is root's) and runs :func:`populate_home` as the
observer's account (``python -m aphos_lib.hub.workspace_files HOME ENVIRONMENT_JSON``), where a
link can only lead where the observer could already write.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

__all__ = ["WORKSPACE_DASHBOARDS", "populate_home"]

# Dashboards that act for the signed-in observer (in dashboards/workspace/): served by their own
# server, never by the public dashboards service (which has no hub token of theirs).
WORKSPACE_DASHBOARDS = ("upload.ipynb",)


def _clear(path: Path) -> None:
    """Remove ``path`` whatever it is (a link is removed, never followed)."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


def populate_home(home: Path, environment: Mapping[str, str]) -> None:
    """Fresh copies of the shared notebooks and the workspace dashboards, and the published link.

    ``shared-notebooks/`` is a fresh copy of ``notebooks/`` at each start (an observer's edits
    stay theirs once they copy a notebook out of it); ``dashboards/`` holds a fresh copy of the
    dashboards that act for the observer and so run in their own server with their hub token
    (:data:`WORKSPACE_DASHBOARDS`: the upload page, opened by JupyterLab's Voila at
    ``/user/<name>/voila/render/dashboards/upload.ipynb``); ``published/`` links to the
    published area, which only the api service writes.
    """
    link = home / "published"
    if not link.is_symlink() and not link.exists():
        link.symlink_to(Path(environment["APHOS_PUBLISHED_DIR"]), target_is_directory=True)
    source = Path(environment.get("APHOS_SHARED_NOTEBOOKS", ""))
    if source.is_dir():
        target = home / "shared-notebooks"
        _clear(target)
        shutil.copytree(source, target, ignore=shutil.ignore_patterns(".*", "__pycache__"))
    dashboards = Path(environment.get("APHOS_WORKSPACE_DASHBOARDS", ""))
    if dashboards.is_dir():
        target = home / "dashboards"
        if target.is_symlink() or (target.exists() and not target.is_dir()):
            _clear(target)
        target.mkdir(exist_ok=True)
        for name in WORKSPACE_DASHBOARDS:
            _clear(target / name)
            shutil.copyfile(dashboards / name, target / name)


if __name__ == "__main__":
    populate_home(Path(sys.argv[1]), json.loads(sys.argv[2]))
