"""Flux counts added per batch: a file's counts and star names wait in ``flux_count_pending``.

Updating ~2,000 objects' ``flux_count`` in every file's transaction was a third of the ingest's
time (bench/ingest.py: 61,000 fluxes/s with it, 93,000 without): each file rewrote the rows of
its field's stars, and a field's next file rewrote them again. Now a file's transaction only
appends one row here (its objects and their numbers of fluxes, the stars it names and their
names, as arrays) in the same transaction as its fluxes, and
:func:`aphos_lib.ingest.fold_flux_counts` adds the pending counts to ``catalog_object`` once per
batch of files, one update per star, naming the stars still unnamed. Rows a killed ingest
left are folded by the next one. The fold is then the only writer of existing catalogue rows.

The table is the writer's (who may delete from it, and from no other table; its id
sequence too); the reader
role gets no access.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

READER = "aphos_reader"
WRITER = "aphos_writer"


def upgrade() -> None:
    op.create_table(
        "flux_count_pending",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("object_ids", sa.ARRAY(sa.BigInteger), nullable=False),
        sa.Column("counts", sa.ARRAY(sa.Integer), nullable=False),
        sa.Column("named_ids", sa.ARRAY(sa.BigInteger), nullable=False),
        sa.Column("names", sa.ARRAY(sa.Text), nullable=False),
    )
    # A file's arrays (~16 kB) are stored out of line, uncompressed: compressing them cost
    # more than the rest of their insert, and they live only until the next fold.
    op.execute(
        "ALTER TABLE flux_count_pending ALTER object_ids SET STORAGE EXTERNAL, "
        "ALTER counts SET STORAGE EXTERNAL, ALTER named_ids SET STORAGE EXTERNAL, "
        "ALTER names SET STORAGE EXTERNAL"
    )
    op.execute(f"REVOKE ALL ON flux_count_pending FROM {READER}")
    # The writer deletes nothing elsewhere; here a fold empties what it added to the objects.
    op.execute(f"GRANT DELETE ON flux_count_pending TO {WRITER}")


def downgrade() -> None:
    # Fold what is pending first, so no count is lost.
    op.execute("""
        UPDATE catalog_object o SET flux_count = o.flux_count + p.n
        FROM (SELECT u.object_id, sum(u.n) AS n
              FROM flux_count_pending, unnest(object_ids, counts) AS u(object_id, n)
              GROUP BY u.object_id) p
        WHERE o.id = p.object_id
    """)
    op.execute("""
        UPDATE catalog_object o SET name = p.name
        FROM (SELECT DISTINCT ON (u.object_id) u.object_id, u.name
              FROM flux_count_pending f, unnest(named_ids, names) AS u(object_id, name)
              ORDER BY u.object_id, f.id) p
        WHERE o.id = p.object_id AND o.name IS NULL
    """)
    op.drop_table("flux_count_pending")
