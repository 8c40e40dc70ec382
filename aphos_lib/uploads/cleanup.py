"""Clean-up of abandoned upload files.

The api service writes an upload's files under its reserved id before the upload exists in
the catalogue. When that request never completes (the service was killed mid-upload, the
database refused the upload), the folder stays behind with no ``upload`` row to name it.
:func:`remove_abandoned` removes such folders once they are old enough that no request can
still be writing them.
"""

from __future__ import annotations

import shutil
import time

import psycopg

from aphos_lib import queries
from aphos_lib.jobs.storage import uploads_dir

__all__ = ["remove_abandoned"]


def remove_abandoned(conn: psycopg.Connection, *, older_than_s: float = 3600.0) -> list[str]:
    """Remove upload folders that no upload owns, untouched for ``older_than_s`` seconds.

    Parameters
    ----------
    conn : psycopg.Connection
        As the writer role.
    older_than_s : float
        A folder written to more recently may belong to a request still in progress.

    Returns
    -------
    list of str
        The folders removed (their names: the upload ids that were never recorded).
    """
    root = uploads_dir()
    if not root.is_dir():
        return []
    cutoff = time.time() - older_than_s
    candidates = {
        int(p.name): p
        for p in root.iterdir()
        if p.is_dir() and p.name.isdigit() and p.stat().st_mtime < cutoff
    }
    if not candidates:
        return []
    owned = {i for (i,) in queries.uploads.existing(candidates).rows(conn)}
    removed = []
    for upload_id, folder in sorted(candidates.items()):
        if upload_id not in owned:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed
