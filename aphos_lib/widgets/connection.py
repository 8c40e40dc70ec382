"""The catalogue connection a dashboard holds while it is open."""

from __future__ import annotations

import psycopg

from aphos_lib.db.catalogue import Catalogue

__all__ = ["reader"]


def reader() -> psycopg.Connection:
    """A read-only connection to the catalogue named by the environment.

    In autocommit, so a page left open between clicks holds no transaction (and so no
    snapshot that would keep the database from vacuuming). The dashboards service sets
    ``APHOS_DATABASE_URL`` to the reader role's login; without it this is the embedded
    catalogue, which must already be running.
    """
    return Catalogue.from_environment(start=False).connect("reader", autocommit=True)
