"""The published area: notebooks observers publish for everyone, read-only in every workspace.

Publishing goes through the api service (``PUT /services/api/published/NAME``), which writes
``<root>/<username>/<NAME>.ipynb``; each workspace sees the whole area as ``published/``. Only
the api writes here, and only into the publishing observer's own folder.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import nbformat

from aphos_lib.observers import InvalidUsername, validate_username

__all__ = ["InvalidNotebook", "list_published", "publish", "read_published", "unpublish"]

MAX_BYTES = 5 * 1024 * 1024
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\.ipynb$")


class InvalidNotebook(ValueError):
    """A name or content that cannot be published; the message says why."""


def _path(root: Path, username: str, name: str) -> Path:
    """Where ``username``'s notebook ``name`` lies; only ever inside that observer's folder.

    ``username`` and ``name`` arrive already decoded from the URL (``%2e%2e`` is ``..``), so
    both are checked as they are, and the resolved path must still lie in the folder.
    """
    if not _NAME.match(name) or ".." in name:
        raise InvalidNotebook(
            f"{name!r}: a notebook name is letters, digits, '_', '.', '-' and ends in .ipynb"
        )
    try:
        validate_username(username)
    except InvalidUsername as e:
        raise InvalidNotebook(str(e)) from None
    path = root / username / name
    folder = (root / username).resolve()
    if folder.parent != root.resolve() or path.resolve().parent != folder:
        raise InvalidNotebook(f"{username}/{name}: not in the published area")
    return path


def publish(root: Path, username: str, name: str, content: bytes) -> Path:
    """Store (or replace) ``username``'s notebook ``name``; returns where it lies.

    The content must be a valid notebook of at most 5 MiB. The file is written whole (a
    temporary file renamed into place), so readers never see half a notebook.
    """
    path = _path(root, username, name)
    if len(content) > MAX_BYTES:
        raise InvalidNotebook(f"{name}: larger than {MAX_BYTES // 1024 // 1024} MiB")
    try:
        notebook = nbformat.reads(content.decode("utf-8"), as_version=4)
        nbformat.validate(notebook)
    except Exception as e:  # any parse or schema error means "not a notebook"
        raise InvalidNotebook(f"{name}: not a valid notebook ({e.__class__.__name__})") from e
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".publishing-")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        nbformat.write(notebook, out)
    os.chmod(tmp, 0o444)
    os.replace(tmp, path)
    return path


def read_published(root: Path, username: str, name: str) -> bytes | None:
    """The published notebook's bytes, or None when there is none."""
    path = _path(root, username, name)
    return path.read_bytes() if path.is_file() else None


def unpublish(root: Path, username: str, name: str) -> bool:
    """Remove ``username``'s notebook ``name``; whether there was one."""
    path = _path(root, username, name)
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def list_published(root: Path) -> list[dict]:
    """Every published notebook: ``username``, ``name``, ``bytes``, ``modified`` (POSIX time)."""
    if not root.is_dir():
        return []
    return [
        {
            "username": p.parent.name,
            "name": p.name,
            "bytes": p.stat().st_size,
            "modified": p.stat().st_mtime,
        }
        for p in sorted(root.glob("*/*.ipynb"))
    ]


def rename_publisher(root: Path, old: str, new: str) -> None:
    """Move an observer's folder when they change their username."""
    if old != new and (root / old).is_dir() and not (root / new).exists():
        (root / old).rename(root / new)
