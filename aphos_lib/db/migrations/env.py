"""Alembic environment: online migrations only, as the catalogue's owner."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from aphos_lib.db.models import Base

# Any constant works; it only has to be the same for every process that migrates.
_MIGRATION_LOCK = 4_270_001


def run_migrations_online() -> None:
    catalogue = context.config.attributes["catalogue"]
    engine = catalogue.engine("owner")
    with engine.connect() as connection:
        # Two processes starting the platform at once must not both create the tables.
        connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK})
        connection.commit()
        try:
            context.configure(connection=connection, target_metadata=Base.metadata)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK})
            connection.commit()


run_migrations_online()
