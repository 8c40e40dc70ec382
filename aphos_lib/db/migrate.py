"""Running the Alembic migrations from Python (``aphos db upgrade`` and the tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from aphos_lib.db.catalogue import Catalogue

__all__ = ["alembic_config", "current_revision", "head_revision", "upgrade"]

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(catalogue: Catalogue) -> Config:
    """An Alembic configuration for the catalogue, as its owner, with no ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["catalogue"] = catalogue
    return config


def upgrade(catalogue: Catalogue, revision: str = "head") -> str:
    """Migrate the catalogue's schema to ``revision`` and return the revision it is at.

    Concurrent callers are serialised by an advisory lock taken in the migration environment.
    """
    current = current_revision(catalogue)
    if revision == "head" and current == head_revision():
        return current  # already there: skip loading Alembic's machinery
    command.upgrade(alembic_config(catalogue), revision)
    return current_revision(catalogue)


def current_revision(catalogue: Catalogue) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with catalogue.engine("owner").connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    """The latest revision shipped with this version of aphos_lib."""
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()
