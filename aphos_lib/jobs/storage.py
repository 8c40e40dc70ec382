"""Where uploaded files wait for their ingest job: server-generated names only.

The api service writes each received file as ``<upload id>/<random hex>.csv`` under
:func:`uploads_dir`; the worker reads it back from ``upload_input.stored_name``. The client's
filename never becomes part of a path, so a name such as ``../../x`` is only metadata.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from aphos_lib.settings import Settings

__all__ = ["new_stored_name", "stored_path", "uploads_dir"]


def uploads_dir() -> Path:
    """The folder of uploaded files: ``$APHOS_UPLOADS_DIR``, else ``$APHOS_HOME/uploads``."""
    return Settings.from_environment().uploads_dir


def new_stored_name(upload_id: int) -> str:
    """A fresh name for one file of ``upload_id``, relative to :func:`uploads_dir`."""
    return f"{int(upload_id)}/{secrets.token_hex(16)}.csv"


def stored_path(stored_name: str) -> Path:
    """The absolute path of a stored file; refuses any name that would leave the folder."""
    root = uploads_dir()
    path = (root / stored_name).resolve()
    if not path.is_relative_to(root.resolve()):
        raise ValueError(f"not an upload's stored name: {stored_name!r}")
    return path
