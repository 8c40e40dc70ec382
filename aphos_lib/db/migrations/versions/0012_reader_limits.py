"""The reader can create nothing, and the writer may watch its sessions.

PostgreSQL lets any session ``SET`` its own ``statement_timeout`` and
``default_transaction_read_only``: the reader's role settings are only defaults. So writing is
prevented by privileges instead, and the timeout is enforced by a watchdog in the worker
(:mod:`aphos_lib.db.reader_limits`):

- PUBLIC (and so the reader) may no longer create temporary tables in the catalogue, nor
  objects in the ``public`` schema (PostgreSQL 15's default, made explicit for older
  clusters); the writer keeps temporary tables;
- the writer becomes a member of the reader, so that it can see the reader's statements and
  cancel them (it can already read everything the reader can);
- large objects, which need no privilege to create, are created only by the owner and the
  writer.

The last two need a superuser (or the roles' administrator): when the migrating role is not
one, they are skipped with a notice, and ``aphos db`` bootstrap or an administrator does them
(the embedded catalogue's bootstrap always does).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

WRITER = "aphos_writer"
READER = "aphos_reader"
OWNER = "aphos_owner"
LARGE_OBJECT_WRITERS = ("lo_create(oid)", "lo_creat(integer)", "lo_from_bytea(oid, bytea)")
# Session-long advisory locks would let a reader stall the ingest's fold and the migrations.
ADVISORY_LOCKS = tuple(
    f"pg_{try_}advisory_{xact}lock{shared}({args})"
    for try_ in ("", "try_")
    for xact in ("", "xact_")
    for shared in ("", "_shared")
    for args in ("bigint", "integer, integer")
)


def _as_superuser(statement: str) -> None:
    """Run ``statement``; without the privilege, say so and go on.

    Roles and their memberships and settings belong to the whole server, not to the database:
    two databases of one server migrating at once race on them. The loser of a ``GRANT`` race
    sees a unique violation (the grant is in place: done), of an ``ALTER ROLE ... SET`` race
    "tuple concurrently updated" (tried again).
    """
    quoted = statement.replace("'", "''")
    op.execute(
        f"""
        DO $$
        DECLARE
          attempt integer := 0;
        BEGIN
          LOOP
            BEGIN
              EXECUTE '{quoted}';
              EXIT;
            EXCEPTION
              WHEN insufficient_privilege OR undefined_object THEN
                RAISE NOTICE 'skipped (%): {quoted}', SQLERRM;
                EXIT;
              WHEN unique_violation THEN
                EXIT;
              WHEN internal_error THEN
                attempt := attempt + 1;
                IF attempt > 10 THEN
                  RAISE;
                END IF;
                PERFORM pg_sleep(0.05 * attempt);
            END;
          END LOOP;
        END $$;
        """
    )


def upgrade() -> None:
    op.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    op.execute(
        f"""
        DO $$
        BEGIN
          EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
          EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO {WRITER}', current_database());
        END $$;
        """
    )
    _as_superuser(f"GRANT {READER} TO {WRITER}")
    # Only the functions' owner (a superuser) changes anything here; others get a warning.
    for function in LARGE_OBJECT_WRITERS:
        _as_superuser(f"REVOKE EXECUTE ON FUNCTION pg_catalog.{function} FROM PUBLIC")
        _as_superuser(f"GRANT EXECUTE ON FUNCTION pg_catalog.{function} TO {WRITER}")
    for function in ADVISORY_LOCKS:
        _as_superuser(f"REVOKE EXECUTE ON FUNCTION pg_catalog.{function} FROM PUBLIC")
        # One role a statement: an external server may have no aphos_owner role.
        for role in (WRITER, OWNER):
            _as_superuser(f"GRANT EXECUTE ON FUNCTION pg_catalog.{function} TO {role}")
    # A superuser-only setting: a reader's session cannot raise it.
    _as_superuser(f"ALTER ROLE {READER} SET temp_file_limit = '2GB'")


def downgrade() -> None:
    # The reader's temp_file_limit and its membership in the writer belong to the server, and
    # another database of the server (another APhoS, a test running beside) may rely on them:
    # downgrading this database leaves them be.
    for function in ADVISORY_LOCKS:
        _as_superuser(f"GRANT EXECUTE ON FUNCTION pg_catalog.{function} TO PUBLIC")
    for function in LARGE_OBJECT_WRITERS:
        _as_superuser(f"GRANT EXECUTE ON FUNCTION pg_catalog.{function} TO PUBLIC")
    op.execute(
        """
        DO $$
        BEGIN
          EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO PUBLIC', current_database());
        END $$;
        """
    )
